/** The exit policy shared by the action and the CLI: every outcome in every mode. */
import { actionConclusion, cliConclusion, exitCodeFor, failsJob, type JobMode } from '../../src/jobs/exit.js'
import { OUTCOMES, type Outcome } from '../../src/model/index.js'

/** Whether each outcome fails the job, per mode, without and with fail-on-inconclusive. */
const FAILS: Record<JobMode, Record<Outcome, [boolean, boolean]>> = {
  gate: {
    PASS: [false, false],
    FAIL: [true, true],
    INCONCLUSIVE: [false, true],
    ERROR: [true, true],
    CANCELLED: [false, false]
  },
  baseline: {
    PASS: [false, false],
    FAIL: [true, true],
    INCONCLUSIVE: [true, true],
    ERROR: [true, true],
    CANCELLED: [true, true]
  },
  stress: {
    PASS: [false, false],
    FAIL: [true, true],
    INCONCLUSIVE: [true, true],
    ERROR: [true, true],
    CANCELLED: [true, true]
  }
}

const MODES: JobMode[] = ['gate', 'baseline', 'stress']

describe('failsJob and exitCodeFor', () => {
  it('covers every outcome of the model', () => {
    for (const mode of MODES) expect(Object.keys(FAILS[mode]).sort()).toEqual([...OUTCOMES].sort())
  })

  for (const mode of MODES)
    for (const outcome of OUTCOMES)
      it(`${mode} ${outcome}`, () => {
        const [plain, strict] = FAILS[mode][outcome]
        expect(failsJob(outcome, mode)).toBe(plain)
        expect(failsJob(outcome, mode, { failOnInconclusive: true })).toBe(strict)
        expect(exitCodeFor(outcome, mode)).toBe(plain ? 1 : 0)
        expect(exitCodeFor(outcome, mode, { failOnInconclusive: true })).toBe(strict ? 1 : 0)
      })
})

describe('actionConclusion', () => {
  const reasons = ['p95 regressed', 'p99 regressed']

  it('gate: fails with the outcome and first reason, or says it as a notice', () => {
    const end = (outcome: Outcome) => ({ outcome, reasons, subject: 'checkout' })
    expect(actionConclusion(end('FAIL'), 'gate')).toEqual({
      failed: true,
      message: 'perf-gate checkout: FAIL — p95 regressed'
    })
    expect(actionConclusion(end('ERROR'), 'gate').failed).toBe(true)
    expect(actionConclusion(end('PASS'), 'gate')).toEqual({
      failed: false,
      message: 'perf-gate checkout: PASS — p95 regressed'
    })
    expect(actionConclusion({ outcome: 'PASS', reasons: [], subject: 'checkout' }, 'gate').message).toBe(
      'perf-gate checkout: PASS'
    )
    expect(actionConclusion(end('INCONCLUSIVE'), 'gate')).toEqual({
      failed: false,
      message: 'perf-gate checkout: INCONCLUSIVE — p95 regressed'
    })
    expect(actionConclusion(end('INCONCLUSIVE'), 'gate', { failOnInconclusive: true })).toEqual({
      failed: true,
      message: 'perf-gate checkout: INCONCLUSIVE — p95 regressed (fail-on-inconclusive)'
    })
  })

  it('baseline: fails with every reason, and says nothing when it stored', () => {
    expect(actionConclusion({ outcome: 'ERROR', reasons, subject: 'checkout' }, 'baseline')).toEqual({
      failed: true,
      message: 'perf-gate baseline: p95 regressed; p99 regressed'
    })
    expect(
      actionConclusion({ outcome: 'CANCELLED', reasons: ['cancelled'], subject: 'x' }, 'baseline').failed
    ).toBe(true)
    expect(
      actionConclusion({ outcome: 'PASS', reasons: ['stored 2'], subject: 'checkout' }, 'baseline')
    ).toEqual({
      failed: false,
      message: null
    })
  })

  it('stress: the analysis sentence, with the problems when it failed', () => {
    const subject = 'checkout (stress)'
    expect(
      actionConclusion({ outcome: 'PASS', reasons: [], subject, sentence: 'breaks at 40 VUs' }, 'stress')
    ).toEqual({ failed: false, message: 'perf-gate checkout (stress): breaks at 40 VUs' })
    expect(actionConclusion({ outcome: 'ERROR', reasons, subject, sentence: null }, 'stress')).toEqual({
      failed: true,
      message: 'perf-gate checkout (stress): no analysis — p95 regressed; p99 regressed'
    })
  })
})

describe('cliConclusion', () => {
  it('gate: always the outcome and its first reason', () => {
    expect(cliConclusion({ outcome: 'FAIL', reasons: ['slow', 'more'], subject: 's' }, 'gate')).toBe(
      'FAIL: slow'
    )
    expect(cliConclusion({ outcome: 'PASS', reasons: [], subject: 's' }, 'gate')).toBe('PASS')
  })

  it('stress: the problems when it failed; baseline: nothing', () => {
    expect(cliConclusion({ outcome: 'ERROR', reasons: ['a', 'b'], subject: 's' }, 'stress')).toBe(
      'ERROR: a; b'
    )
    expect(cliConclusion({ outcome: 'PASS', reasons: ['remark'], subject: 's' }, 'stress')).toBeNull()
    for (const outcome of OUTCOMES)
      expect(cliConclusion({ outcome, reasons: ['r'], subject: 's' }, 'baseline')).toBeNull()
  })
})
