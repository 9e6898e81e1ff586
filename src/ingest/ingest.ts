/**
 * Reading existing engine output files (and perf-gate result files) into task results.
 *
 * Each file's format is told from its first bytes unless an engine is given (`detect.ts`). Engine
 * files are streamed through the engine's parser into a `TaskRecorder`, so a file of any size is
 * read in bounded memory; each file becomes one task (`readers.ts`).
 */
import { formatOf } from './detect.js'
import type { IngestEngine } from './formats.js'
import { ingestEngineFile, ingestResultFile, type IngestedFile } from './readers.js'

export interface IngestOptions {
  /** Forces the parser of this engine (k6 still tells JSON from CSV). Result files are always read as such. */
  engine?: IngestEngine
  intervalMs?: number
  /** Scenario name recorded in the task meta. */
  scenario?: string
}

/**
 * Reads every file into task results. Result files keep their tasks; each engine file becomes one
 * task. Engine files are recorded at the interval of the result files when there are any.
 */
export async function ingestFiles(files: string[], opts: IngestOptions = {}): Promise<IngestedFile[]> {
  const formats = []
  for (const file of files) formats.push({ file, ...(await formatOf(file, opts.engine)) })
  const out: IngestedFile[] = new Array(files.length)
  let intervalMs = opts.intervalMs
  for (let i = 0; i < formats.length; i++) {
    const f = formats[i]
    if (f.format !== 'result') continue
    const read = await ingestResultFile(f.file, f.gzip)
    if (read.tasks.length) intervalMs ??= read.tasks[0].intervalMs
    out[i] = read
  }
  const engineFiles = formats.filter(f => f.format !== 'result')
  let k = 0
  for (let i = 0; i < formats.length; i++) {
    const f = formats[i]
    if (f.format === 'result') continue
    out[i] = await ingestEngineFile(f.file, f.format, {
      gzip: f.gzip,
      latin1: f.latin1,
      intervalMs,
      taskIndex: k++,
      taskCount: engineFiles.length,
      scenario: opts.scenario
    })
  }
  return out
}
