/**
 * Reading existing engine output files (and perf-gate result files) into task results.
 *
 * Each file's format is told from its first bytes unless an engine is given: a perf-gate task or
 * run result, k6 `--out json` NDJSON (`"type":"Metric"` / `"Point"` lines), k6 `--out csv`
 * (`metric_name,` header), a JMeter JTL (`timeStamp,` header, or a headerless numeric CSV row) or
 * the Locust hook's request NDJSON (`request_type`). Gzipped files (`.gz`, k6 supports them) are
 * decompressed on the fly. Engine files are streamed through the engine's parser into a
 * `TaskRecorder`, so a file of any size is read in bounded memory; each file becomes one task.
 */
import { createReadStream } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import { createGunzip, gunzipSync } from 'node:zlib'
import { isUtf8 } from 'node:buffer'
import { createCsvParser, k6Engine } from '../engines/k6.js'
import { jmeterEngine } from '../engines/jmeter.js'
import { locustEngine } from '../engines/locust.js'
import type { StreamParser } from '../engines/types.js'
import type { SampleSink } from '../model/index.js'
import { parseJson, parseRunResult, parseTaskResult, ResultFileError } from '../results/io.js'
import { defaultTaskMeta, RUN_RESULT_SCHEMA, type RunResult, type TaskResult } from '../results/model.js'
import { DEFAULT_INTERVAL_MS, TaskRecorder } from '../results/recorder.js'
import { CheckedSink, checkTaskResults, type SampleFields } from '../results/sanity.js'
import { errorMessage } from '../util/index.js'

export const INPUT_FORMATS = ['result', 'k6-json', 'k6-csv', 'jmeter', 'locust'] as const
export type InputFormat = (typeof INPUT_FORMATS)[number]
export const INGEST_ENGINES = ['k6', 'locust', 'jmeter'] as const
export type IngestEngine = (typeof INGEST_ENGINES)[number]

const FORMAT_NAMES: Record<InputFormat, string> = {
  result: 'perf-gate result',
  'k6-json': 'k6 JSON',
  'k6-csv': 'k6 CSV',
  jmeter: 'JMeter JTL',
  locust: 'Locust request NDJSON'
}
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

/** A file that cannot be read or understood; the message is one line naming the file. */
export class IngestError extends Error {
  constructor(
    readonly file: string,
    detail: string
  ) {
    super(`${file}: ${detail}`)
    this.name = 'IngestError'
  }
}

const HEAD_BYTES = 64 * 1024

function isGzip(b: Buffer): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b
}

/** The first bytes of a file as text (decompressed when gzipped); throws an IngestError. */
export async function readHead(
  file: string
): Promise<{ text: string; gzip: boolean; binary: boolean; latin1: boolean }> {
  let fh
  try {
    const st = await stat(file)
    if (st.isDirectory()) throw new IngestError(file, 'is a directory, not a file')
    fh = await open(file, 'r')
    const buf = Buffer.alloc(HEAD_BYTES)
    const { bytesRead } = await fh.read(buf, 0, HEAD_BYTES, 0)
    let head = buf.subarray(0, bytesRead)
    const gzip = isGzip(head)
    if (gzip) {
      try {
        head = gunzipSync(head, { finishFlush: 2 /* Z_SYNC_FLUSH: accept a truncated stream */ })
      } catch {
        throw new IngestError(file, 'looks gzipped but cannot be decompressed')
      }
    }
    const sample = head.subarray(0, 4096)
    const binary = sample.includes(0) || !isMostlyText(sample)
    // Text that is not UTF-8 is read as Latin-1 (JMeter's default file encoding on many systems).
    const latin1 = !binary && !isUtf8(head.subarray(0, utf8Boundary(head)))
    return { text: head.toString(latin1 ? 'latin1' : 'utf8'), gzip, binary, latin1 }
  } catch (e) {
    if (e instanceof IngestError) throw e
    throw new IngestError(file, describeFsError(e))
  } finally {
    await fh?.close()
  }
}

function isMostlyText(b: Buffer): boolean {
  if (b.length === 0) return true
  let bad = 0
  for (const c of b) if (c < 9 || (c > 13 && c < 32) || c === 127) bad++
  return bad <= b.length * 0.02
}

/** The length of `b` without a UTF-8 sequence cut off at its end. */
function utf8Boundary(b: Buffer): number {
  let i = b.length
  for (let k = 0; k < 3 && i > 0 && (b[i - 1] & 0xc0) === 0x80; k++) i--
  return i > 0 && b[i - 1] >= 0xc0 ? i - 1 : b.length
}

export function describeFsError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code
  switch (code) {
    case 'ENOENT':
      return 'no such file'
    case 'EACCES':
    case 'EPERM':
      return 'permission denied'
    case 'EISDIR':
      return 'is a directory, not a file'
    default:
      return `cannot be read (${code ?? errorMessage(e)})`
  }
}

/** Splits one CSV line into fields, honouring double quotes. */
function splitCsvLine(line: string): string[] {
  const out: string[] = []
  let cur = ''
  let quoted = false
  for (let i = 0; i < line.length; i++) {
    const c = line[i]
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"'
        i++
      } else if (c === '"') quoted = false
      else cur += c
    } else if (c === '"' && cur === '') quoted = true
    else if (c === ',') {
      out.push(cur)
      cur = ''
    } else cur += c
  }
  out.push(cur)
  return out
}

const RESULT_SCHEMA_RE = /"schema"\s*:\s*"perf-gate\/(task|run)-result"/

/**
 * Tells a file's format from its first bytes (text); null when it is none of the known formats.
 */
export function detectFormat(head: string): InputFormat | null {
  const text = head.replace(/^\ufeff/, '')
  const trimmed = text.trimStart()
  if (trimmed === '') return null
  const nl = trimmed.indexOf('\n')
  const first = (nl === -1 ? trimmed : trimmed.slice(0, nl)).trim()
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let doc: unknown
    try {
      doc = JSON.parse(first)
    } catch {
      doc = undefined
    }
    if (doc && typeof doc === 'object' && !Array.isArray(doc)) {
      const o = doc as Record<string, unknown>
      if (typeof o.schema === 'string' && RESULT_SCHEMA_RE.test(`"schema":${JSON.stringify(o.schema)}`))
        return 'result'
      if ((o.type === 'Metric' || o.type === 'Point') && 'data' in o) return 'k6-json'
      if ('request_type' in o && ('response_time' in o || 'name' in o)) return 'locust'
      // perf-gate's Locust hook also writes active-user lines, often first.
      if (o.type === 'users' && 't' in o && 'n' in o) return 'locust'
      return null
    }
    // A pretty-printed or very long result document: its schema key appears near the top.
    if (trimmed.startsWith('{') && RESULT_SCHEMA_RE.test(trimmed.slice(0, 4096))) return 'result'
    return null
  }
  if (first.startsWith('metric_name,')) return 'k6-csv'
  if (first.startsWith('timeStamp,') || first.startsWith('timeStamp\t')) return 'jmeter'
  // JMeter's default_delimiter may be a tab.
  const cols = first.includes('\t') && !first.includes(',') ? first.split('\t') : splitCsvLine(first)
  if (
    cols.length >= 12 &&
    cols.length <= 40 &&
    /^\d{10,16}$/.test(cols[0]) &&
    /^\d+$/.test(cols[1]) &&
    cols.some(c => c === 'true' || c === 'false')
  )
    return 'jmeter'
  return null
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

export interface IngestOptions {
  /** Forces the parser of this engine (k6 still tells JSON from CSV). Result files are always read as such. */
  engine?: IngestEngine
  intervalMs?: number
  /** Scenario name recorded in the task meta. */
  scenario?: string
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

const UNKNOWN_FORMAT =
  'unknown format; expected k6 JSON or CSV output, a JMeter JTL, Locust request NDJSON or a perf-gate result ' +
  '(give --engine to force a parser)'

/** Decides how to read a file. */
export async function formatOf(
  file: string,
  engine?: IngestEngine
): Promise<{ format: InputFormat; gzip: boolean; latin1?: boolean }> {
  const head = await readHead(file)
  const found = await formatOfHead(file, head, engine)
  return head.latin1 ? { ...found, latin1: true } : found
}

async function formatOfHead(
  file: string,
  head: Awaited<ReturnType<typeof readHead>>,
  engine?: IngestEngine
): Promise<{ format: InputFormat; gzip: boolean }> {
  if (head.text.length === 0) throw new IngestError(file, 'is empty')
  if (head.binary) throw new IngestError(file, `${UNKNOWN_FORMAT.split(';')[0]} (binary data)`)
  const detected = detectFormat(head.text)
  if (detected === 'result') return { format: 'result', gzip: head.gzip }
  if (engine === 'k6')
    return {
      format: head.text.trimStart().startsWith('metric_name,') ? 'k6-csv' : 'k6-json',
      gzip: head.gzip
    }
  if (engine === 'jmeter') return { format: 'jmeter', gzip: head.gzip }
  if (engine === 'locust') return { format: 'locust', gzip: head.gzip }
  if (!detected) throw new IngestError(file, UNKNOWN_FORMAT)
  return { format: detected, gzip: head.gzip }
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
    throw new IngestError(file, `cannot be parsed as ${FORMAT_NAMES[format]}: ${errorMessage(e)}`)
  }
  if (recorder.samples === 0) {
    const why = parser.skipped
      ? `${parser.skipped} record${parser.skipped === 1 ? '' : 's'} could not be used`
      : 'it holds no request records'
    throw new IngestError(file, `no requests found in this ${FORMAT_NAMES[format]} file (${why})`)
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
    let doc: { tasks: TaskResult[]; run?: RunResult['run'] }
    try {
      doc = await readResult(f.file, f.gzip)
      checkTaskResults(f.file, doc.tasks, doc.run !== undefined)
    } catch (e) {
      if (e instanceof ResultFileError) throw new IngestError(f.file, e.message.slice(f.file.length + 2))
      throw new IngestError(f.file, describeFsError(e))
    }
    const { tasks, run } = doc
    // A run whose every task is missing (e.g. no capacity) is still a run: it is judged as partial.
    if (tasks.length === 0 && !run?.missingTasks.length)
      throw new IngestError(f.file, 'holds no task results')
    if (tasks.length) intervalMs ??= tasks[0].intervalMs
    out[i] = {
      file: f.file,
      format: 'result',
      tasks,
      ...(run ? { run } : {}),
      skipped: 0,
      samples: 0,
      warnings: []
    }
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

export function formatName(f: InputFormat): string {
  return FORMAT_NAMES[f]
}
