/**
 * The action's publisher: the report files in the runner's temporary folder (their paths as
 * outputs), the report artifact, the job summary, and through the GitHub API the sticky pull
 * request comment, the commit status and the check run, when the token may write them. Also the
 * report's key and the step's end.
 */
import * as core from '@actions/core'
import * as github from '@actions/github'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ActionInputs } from '../config/inputs.js'
import { Outputs } from '../constants.js'
import type { ActionConclusion } from '../jobs/exit.js'
import type { Publisher, PublishPlan, ReportDocument } from '../jobs/publish.js'
import {
  reportArtifactName,
  uploadReportArtifact,
  writeReportFiles,
  type ReportFiles
} from '../report/artifact.js'
import type { EventInfo } from '../report/github-event.js'
import {
  createCheckRun,
  setCommitStatus,
  setOutputs,
  upsertComment,
  writeJobSummary,
  type Octokit
} from '../report/github.js'
import { redactText } from '../report/redact.js'
import { writeJsonFile } from '../results/io.js'
import { errorMessage } from '../util/index.js'

/** The key of a report: names its comment, artifact and files (`comment-key`, else scenario/job). */
export function commentKey(inputs: ActionInputs, scenario: string): string {
  return inputs.commentKey || [scenario, process.env.GITHUB_JOB].filter(Boolean).join('/')
}

/** Ends the step as the exit policy concluded: failed with its message, or the message as a notice. */
export function endStep(end: ActionConclusion): void {
  if (end.failed) core.setFailed(redactText(end.message ?? ''))
  else if (end.message) core.info(redactText(end.message))
}

/** The folder of a report's files: `$RUNNER_TEMP/perf-gate/<key>`. */
export function reportDir(key: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(env.RUNNER_TEMP || tmpdir(), 'perf-gate', key.replace(/[^A-Za-z0-9_.-]+/g, '-'))
}

/** What the action publishes for the gate or baseline report `key`, from its inputs and the event. */
export function actionPublishPlan(
  inputs: ActionInputs,
  event: EventInfo,
  key: string,
  failOnInconclusive: boolean
): PublishPlan {
  return {
    artifactName: inputs.artifact ? reportArtifactName(key) : null,
    comment: event.isPullRequest && event.prNumber !== null && inputs.comment,
    status: Boolean(event.headSha),
    check: Boolean(event.headSha) && inputs.checkRun,
    failOnInconclusive,
    redact: true
  }
}

export class GitHubPublisher implements Publisher {
  private octokit: Octokit | null = null

  constructor(
    private readonly inputs: ActionInputs,
    private readonly event: EventInfo
  ) {}

  async files(doc: ReportDocument): Promise<ReportFiles> {
    const files = await writeReportFiles(reportDir(doc.key), doc.result, doc.html, doc.markdown)
    if (doc.capacity) await writeJsonFile(join(files.dir, 'capacity.json'), doc.capacity)
    setOutputs({ [Outputs.ResultJson]: files.resultJson, [Outputs.ReportHtml]: files.reportHtml })
    return files
  }

  async artifact(name: string, files: ReportFiles): Promise<void> {
    try {
      const up = await uploadReportArtifact(name, files)
      if (up.reason) core.info(`perf-gate: report artifact not uploaded: ${up.reason}`)
    } catch (e) {
      core.warning(`perf-gate could not upload the report artifact: ${errorMessage(e)}`)
    }
  }

  async summary(markdown: string): Promise<void> {
    await writeJobSummary(markdown)
  }

  canWrite(): boolean {
    if (!this.inputs.githubToken) {
      core.info('perf-gate: no github-token, so no comment, status or check run')
      return false
    }
    if (!this.event.canWrite) {
      core.notice(
        `perf-gate: ${this.event.readOnlyReason ?? 'this run cannot write to the repository'}; the report is in the job summary`
      )
      return false
    }
    return true
  }

  private api(): Octokit {
    this.octokit ??= github.getOctokit(this.inputs.githubToken)
    return this.octokit
  }

  async comment(c: { marker: string; body: string }): Promise<void> {
    const { owner, repo, prNumber } = this.event
    if (prNumber === null) return
    const res = await upsertComment(this.api(), {
      owner,
      repo,
      issueNumber: prNumber,
      marker: c.marker,
      body: c.body,
      warn: core.warning
    })
    if (res) setOutputs({ [Outputs.CommentUrl]: res.url })
  }

  async status(s: Parameters<Publisher['status']>[0]): Promise<void> {
    const { owner, repo, headSha, runUrl } = this.event
    await setCommitStatus(this.api(), {
      owner,
      repo,
      sha: headSha,
      ...s,
      targetUrl: runUrl,
      warn: core.warning
    })
  }

  async check(c: Parameters<Publisher['check']>[0]): Promise<void> {
    const { owner, repo, headSha, runUrl } = this.event
    await createCheckRun(this.api(), { owner, repo, headSha, ...c, detailsUrl: runUrl, warn: core.warning })
  }
}
