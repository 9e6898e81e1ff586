/**
 * The CLI's publisher: the report goes to the terminal, and the report files (result.json,
 * report.html, report.md, a stress run's capacity.json) to `--report-dir` when given. There is no
 * artifact, comment, status or check run outside GitHub Actions.
 */
import { join } from 'node:path'
import type { Publisher, ReportDocument } from '../jobs/publish.js'
import { writeReportFiles, type ReportFiles } from '../report/artifact.js'
import { writeJsonFile } from '../results/io.js'

export interface TerminalPublisherOptions {
  /** Where the report files go; none are written without it. */
  reportDir?: string
  /** Shows the report's markdown (each command prints it its own way). */
  show: (markdown: string) => void
}

export class TerminalPublisher implements Publisher {
  constructor(private readonly opts: TerminalPublisherOptions) {}

  async files(doc: ReportDocument): Promise<ReportFiles | null> {
    if (!this.opts.reportDir) return null
    const files = await writeReportFiles(this.opts.reportDir, doc.result, doc.html, doc.markdown)
    if (doc.capacity) await writeJsonFile(join(files.dir, 'capacity.json'), doc.capacity)
    return files
  }

  async artifact(): Promise<void> {}

  async summary(markdown: string): Promise<void> {
    this.opts.show(markdown)
  }

  canWrite(): boolean {
    return false
  }

  async comment(): Promise<void> {}

  async status(): Promise<void> {}

  async check(): Promise<void> {}
}
