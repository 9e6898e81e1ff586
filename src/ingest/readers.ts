/**
 * Reading one file into task results: an engine output file streamed through its engine's parser
 * into a `TaskRecorder` (bounded memory, decompressed on the fly when gzipped), or a perf-gate task
 * or run result file, checked beyond its schema.
 */
import { createReadStream } from 'node:fs'
import { createGunzip } from 'node:zlib'
import { jmeterEngine } from '../engines/jmeter.js'
import { createCsvParser } from '../engines/k6-output.js'
import { k6Engine } from '../engines/k6.js'
import { locustEngine } from '../engines/locust.js'
import type { StreamParser } from '../engines/types.js'
import type { SampleSink } from '../model/index.js'
import { parseJson, parseRunResult, parseTaskResult, ResultFileError } from '../results/io.js'
import { defaultTaskMeta, RUN_RESULT_SCHEMA, type RunResult, type TaskResult } from '../results/model.js'
import { DEFAULT_INTERVAL_MS, TaskRecorder } from '../results/recorder.js'
import { CheckedSink, checkTaskResults, type SampleFields } from '../results/sanity.js'
import { errorMessage } from '../util/index.js'
import { describeFsError, formatName, IngestError, type IngestEngine, type InputFormat } from './formats.js'

/** Where each engine format keeps a request's latency and time, for messages. */
const SAMPLE_FIELDS: Record<Exclude<InputFormat, 'result'>, SampleFields> = {
  'k6-json': { latency: 'data.value', time: 'data.time' },
  'k6-csv': { latency: 'metric_value', time: 'timestamp' },
  jmeter: { latency: 'elapsed', time: 'timeStamp' },
  locust: { latency: 'response_time', time: 'start_time' }
}
const FORMAT_ENGINE: Record<Exclude<InputFormat, 'result'>, IngestEngine> = {
  'k6-json': 'k6',
  'k6-csv': 'k6',
  jmeter: 'jmeter',
  locust: 'locust'
}

function parserFor(format: Exclude<InputFormat, 'result'>, sink: SampleSink): StreamParser {
  switch (format) {
    case 'k6-json':
      return k6Engine.createParser(sink)
    case 'k6-csv':
      return createCsvParser(sink)
    case 'jmeter':
      return jmeterEngine.createParser(sink)
    case 'locust':
      return locustEngine.createParser(sink)
  }
}

export interface IngestedFile {
  file: string
  format: InputFormat
  tasks: TaskResult[]
  /** The run of a perf-gate run result file (expected and missing tasks, facts). */
  run?: RunResult['run']
  /** Records the parser could not use. */
  skipped: number
  samples: number
  /** Problems that did not stop the read (e.g. labels folded into one), one line each. */
  warnings: string[]
}

/** Streams one engine output file through its parser into a task result. */
export async function ingestEngineFile(
  file: string,
  format: Exclude<InputFormat, 'result'>,
  opts: {
    gzip?: boolean
    /** The file is Latin-1 text (read as such). */
    latin1?: boolean
    intervalMs?: number
    taskIndex?: number
    taskCount?: number
    scenario?: string
  } = {}
): Promise<IngestedFile> {
  const intervalMs = opts.intervalMs ?? DEFAULT_INTERVAL_MS
  const recorder = new TaskRecorder({ intervalMs })
  const parser = parserFor(
    format,
    new CheckedSink(recorder, SAMPLE_FIELDS[format], detail => new IngestError(file, detail), intervalMs)
  )
  const source = createReadStream(file, { highWaterMark: 256 * 1024 })
  const stream = opts.gzip ? source.pipe(createGunzip()) : source
  try {
    for await (const chunk of stream)
      parser.push(opts.latin1 ? (chunk as Buffer).toString('latin1') : (chunk as Buffer))
    parser.end()
  } catch (e) {
    source.destroy()
    if (e instanceof IngestError) throw e
    const code = (e as NodeJS.ErrnoException).code
    if (code && /^E[A-Z]+$/.test(code)) throw new IngestError(file, describeFsError(e))
    if (code?.startsWith('Z_') || code === 'ERR_ZLIB_INPUT') throw new IngestError(file, 'corrupt gzip data')
    throw new IngestError(file, `cannot be parsed as ${formatName(format)}: ${errorMessage(e)}`)
  }
  if (recorder.samples === 0) {
    const why = parser.skipped
      ? `${parser.skipped} record${parser.skipped === 1 ? '' : 's'} could not be used`
      : 'it holds no request records'
    throw new IngestError(file, `no requests found in this ${formatName(format)} file (${why})`)
  }
  const engine = FORMAT_ENGINE[format]
  const fold = recorder.foldWarning(engine)
  const task = recorder.finish(
    defaultTaskMeta({
      engine,
      scenario: opts.scenario ?? 'default',
      backend: 'import',
      region: 'local',
      taskIndex: opts.taskIndex ?? 0,
      taskCount: opts.taskCount ?? 1,
      status: 'ok',
      sources: [file],
      message: parser.skipped ? `${parser.skipped} records skipped` : ''
    })
  )
  return {
    file,
    format,
    tasks: [task],
    skipped: parser.skipped,
    samples: recorder.samples,
    warnings: fold ? [fold] : []
  }
}

/** A task or run result file (gzipped or not): its tasks, and its run for a run result. */
async function readResult(
  file: string,
  gzip: boolean
): Promise<{ tasks: TaskResult[]; run?: RunResult['run'] }> {
  const chunks: Buffer[] = []
  for await (const c of gzip ? createReadStream(file).pipe(createGunzip()) : createReadStream(file))
    chunks.push(c as Buffer)
  const doc = parseJson(file, Buffer.concat(chunks).toString('utf8'))
  const schema = (doc as { schema?: unknown } | null)?.schema
  if (schema !== RUN_RESULT_SCHEMA) return { tasks: [parseTaskResult(file, doc)] }
  const r = parseRunResult(file, doc)
  return { tasks: r.tasks, run: r.run }
}

/** Reads a task or run result file and checks it beyond its schema (`checkTaskResults`). */
export async function ingestResultFile(file: string, gzip: boolean): Promise<IngestedFile> {
  let doc: { tasks: TaskResult[]; run?: RunResult['run'] }
  try {
    doc = await readResult(file, gzip)
    checkTaskResults(file, doc.tasks, doc.run !== undefined)
  } catch (e) {
    if (e instanceof ResultFileError) throw new IngestError(file, e.message.slice(file.length + 2))
    throw new IngestError(file, describeFsError(e))
  }
  const { tasks, run } = doc
  // A run whose every task is missing (e.g. no capacity) is still a run: it is judged as partial.
  if (tasks.length === 0 && !run?.missingTasks.length) throw new IngestError(file, 'holds no task results')
  return {
    file,
    format: 'result',
    tasks,
    ...(run ? { run } : {}),
    skipped: 0,
    samples: 0,
    warnings: []
  }
}
