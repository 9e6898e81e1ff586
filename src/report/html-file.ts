/** Writes the HTML report of a report input to a file (the CLI's `--html`). */
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { renderHtml } from './html.js'
import type { ReportInput } from './types.js'

export async function writeHtmlReport(file: string, input: ReportInput): Promise<void> {
  await mkdir(dirname(file), { recursive: true })
  await writeFile(file, renderHtml(input))
}
