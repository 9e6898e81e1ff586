/**
 * Publishing a report: what is published, in which order, through a small `Publisher` the caller
 * supplies. The action's publisher (src/action/publisher.ts) writes the files to the runner,
 * uploads the artifact and talks to GitHub; the CLI's (src/cli/publisher.ts) prints the report and
 * writes the files where it is told.
 *
 * Order: the report files, the artifact, the job summary, then, when the publisher can write to
 * the repository, the pull request comment, the commit status and the check run.
 */
import type { CapacityRecord } from '../baseline/capacity.js'
import type { ReportFiles } from '../report/artifact.js'
import {
  conclusionForOutcome,
  statusForOutcome,
  type CheckRunParams,
  type CommitState
} from '../report/github.js'
import { renderHtml } from '../report/html.js'
import { commentMarker, renderCheckOutput, renderJobSummary, renderMarkdown } from '../report/markdown.js'
import { redactDeep } from '../report/redact.js'
import type { ReportInput } from '../report/types.js'
import type { RunResult } from '../results/model.js'

/** The report files' contents. */
export interface ReportDocument {
  /** The report's key (scenario, or the action's comment key): names its folder. */
  key: string
  /** The run result, written as result.json. */
  result: RunResult | null
  html: string
  /** report.md, also the job summary. */
  markdown: string
  /** A stress run's capacity record, written as capacity.json. */
  capacity?: CapacityRecord | null
}

/** Where a report goes. Each method delivers one thing; `publishReport` decides what and when. */
export interface Publisher {
  /** Writes the report files; null when this publisher keeps none. */
  files(doc: ReportDocument): Promise<ReportFiles | null>
  /** Uploads the files as an artifact named `name`. */
  artifact(name: string, files: ReportFiles): Promise<void>
  /** Shows the report's markdown: the job summary, or the terminal. */
  summary(markdown: string): Promise<void>
  /** Whether the comment, status and check run can be written; when not, says why. */
  canWrite(): boolean
  /** Creates or updates the pull request's sticky comment identified by `marker`. */
  comment(c: { marker: string; body: string }): Promise<void>
  /** Sets the commit status `context`. */
  status(s: { context: string; state: CommitState; description: string }): Promise<void>
  /** Creates a completed check run. */
  check(c: Pick<CheckRunParams, 'name' | 'conclusion' | 'title' | 'summary'>): Promise<void>
}

/** What to publish besides the files and the summary. */
export interface PublishPlan {
  /** Upload the files as this artifact (none: no artifact). */
  artifactName: string | null
  /** The pull request comment (a pull request, and comments enabled). */
  comment: boolean
  /** The commit status (there is a commit to report on). */
  status: boolean
  /** The check run too (with the status). */
  check: boolean
  /** INCONCLUSIVE fails the status and the check run. */
  failOnInconclusive: boolean
  /**
   * Redact the report input and the run before rendering (the action: a secret cut by a size
   * limit would escape the redaction of the text). The files and the summary are redacted anyway.
   */
  redact: boolean
}

/** Publishes nothing beyond the files and the summary. */
export const LOCAL_PLAN: PublishPlan = {
  artifactName: null,
  comment: false,
  status: false,
  check: false,
  failOnInconclusive: false,
  redact: false
}

/** Writes the files, uploads the artifact and shows the summary; returns the files. */
export async function publishDocument(
  publisher: Publisher,
  doc: ReportDocument,
  artifactName: string | null
): Promise<ReportFiles | null> {
  const files = await publisher.files(doc)
  if (artifactName && files) await publisher.artifact(artifactName, files)
  await publisher.summary(doc.markdown)
  return files
}

/** The comment, the commit status and the check run of a gate or baseline report. */
async function publishToRepository(publisher: Publisher, input: ReportInput, plan: PublishPlan) {
  const outcome = input.verdict.outcome
  if (plan.comment) await publisher.comment({ marker: commentMarker(input.key), body: renderMarkdown(input) })
  if (!plan.status) return
  const context = `perf-gate/${input.scenario}`
  const st = statusForOutcome(outcome, input.verdict.reasons[0] ?? '', plan)
  await publisher.status({ context, state: st.state, description: st.description })
  if (!plan.check) return
  const out = renderCheckOutput(input)
  await publisher.check({
    name: context,
    conclusion: conclusionForOutcome(outcome, plan),
    title: out.title,
    summary: out.summary
  })
}

/** Publishes a gate or baseline report (see the module comment); returns the files. */
export async function publishReport(
  publisher: Publisher,
  input: ReportInput,
  result: RunResult | null,
  plan: PublishPlan
): Promise<ReportFiles | null> {
  if (plan.redact) {
    input = redactDeep(input)
    result = result && redactDeep(result)
  }
  const markdown = renderJobSummary(input)
  const doc = { key: input.key, result, html: renderHtml(input), markdown }
  const files = await publishDocument(publisher, doc, plan.artifactName)
  if (publisher.canWrite()) await publishToRepository(publisher, input, plan)
  return files
}
