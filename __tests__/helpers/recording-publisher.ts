/** A publisher that records what it was asked to publish, in order, for application-layer tests. */
import type { Publisher, ReportDocument } from '../../src/jobs/publish.js'
import type { ReportFiles } from '../../src/report/artifact.js'

export type PublishedCall =
  | { kind: 'files'; doc: ReportDocument }
  | { kind: 'artifact'; name: string; files: ReportFiles }
  | { kind: 'summary'; markdown: string }
  | { kind: 'comment'; marker: string; body: string }
  | { kind: 'status'; context: string; state: string; description: string }
  | { kind: 'check'; name: string; conclusion: string; title: string; summary: string }

export class RecordingPublisher implements Publisher {
  readonly calls: PublishedCall[] = []

  /** `writable`: whether comment, status and check may be written; `keepFiles`: whether files are kept. */
  constructor(
    private readonly writable = true,
    private readonly keepFiles = true
  ) {}

  kinds(): string[] {
    return this.calls.map(c => c.kind)
  }

  async files(doc: ReportDocument): Promise<ReportFiles | null> {
    this.calls.push({ kind: 'files', doc })
    if (!this.keepFiles) return null
    const dir = `/memory/${doc.key}`
    return {
      dir,
      resultJson: `${dir}/result.json`,
      reportHtml: `${dir}/report.html`,
      reportMd: `${dir}/report.md`
    }
  }

  async artifact(name: string, files: ReportFiles): Promise<void> {
    this.calls.push({ kind: 'artifact', name, files })
  }

  async summary(markdown: string): Promise<void> {
    this.calls.push({ kind: 'summary', markdown })
  }

  canWrite(): boolean {
    return this.writable
  }

  async comment(c: { marker: string; body: string }): Promise<void> {
    this.calls.push({ kind: 'comment', ...c })
  }

  async status(s: { context: string; state: string; description: string }): Promise<void> {
    this.calls.push({ kind: 'status', ...s })
  }

  async check(c: { name: string; conclusion: string; title: string; summary: string }): Promise<void> {
    this.calls.push({ kind: 'check', ...c })
  }
}
