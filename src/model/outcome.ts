/**
 * How a job ends. The decision rule concludes PASS, FAIL or INCONCLUSIVE from data; a job adds
 * ERROR (it could not get the data) and CANCELLED (it was stopped before the end).
 */
export const OUTCOMES = ['PASS', 'FAIL', 'INCONCLUSIVE', 'ERROR', 'CANCELLED'] as const
export type Outcome = (typeof OUTCOMES)[number]

/** What the decision rule concludes from the data. */
export type RuleOutcome = Extract<Outcome, 'PASS' | 'FAIL' | 'INCONCLUSIVE'>

/** How a gate job ends: a verdict, or ERROR when there was nothing to judge. */
export type JobOutcome = Exclude<Outcome, 'CANCELLED'>
