/**
 * The run's artifact: the merged result JSON and the self-contained HTML report, written to a
 * folder and uploaded with @actions/artifact when the Actions runtime is available.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { knownSecrets, redactDeep, redactText } from './redact.js'

export interface ReportFiles {
  dir: string
  resultJson: string
  reportHtml: string
  reportMd: string
}

/** Writes the report files into `dir`, redacted (src/report/redact.ts). */
export async function writeReportFiles(
  dir: string,
  result: unknown,
  html: string,
  markdown: string
): Promise<ReportFiles> {
  await mkdir(dir, { recursive: true })
  const files = {
    dir,
    resultJson: join(dir, 'result.json'),
    reportHtml: join(dir, 'report.html'),
    reportMd: join(dir, 'report.md')
  }
  const secrets = knownSecrets()
  await writeFile(files.resultJson, JSON.stringify(redactDeep(result, secrets)) + '\n')
  await writeFile(files.reportHtml, redactText(html, secrets))
  await writeFile(files.reportMd, redactText(markdown, secrets))
  return files
}

/** Artifact names allow neither `/` nor a few other characters. */
export function reportArtifactName(key: string): string {
  return `perf-gate-report-${key.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^-+|-+$/g, '') || 'run'}`
}

/** Uploads the report files; returns the artifact id, or a reason why it could not. */
export async function uploadReportArtifact(
  name: string,
  files: ReportFiles,
  env: NodeJS.ProcessEnv = process.env
): Promise<{ id: number | null; reason: string | null }> {
  if (!env.ACTIONS_RUNTIME_TOKEN || !env.ACTIONS_RESULTS_URL)
    return { id: null, reason: 'the Actions artifact service is not available (no ACTIONS_RUNTIME_TOKEN)' }
  const { DefaultArtifactClient } = await import('@actions/artifact')
  const client = new DefaultArtifactClient()
  const res = await client.uploadArtifact(
    name,
    [files.resultJson, files.reportHtml, files.reportMd],
    files.dir,
    {
      retentionDays: 30
    }
  )
  return { id: res.id ?? null, reason: null }
}
