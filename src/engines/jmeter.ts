/**
 * The JMeter adapter.
 *
 * JMeter runs non-GUI and writes its JTL (CSV) to `<workDir>/results.jtl`, which the runner follows
 * while it grows (`samples: {kind: 'file'}`). The command forces the save-service properties, so the
 * file always starts with a header and has a known column set on any JMeter version.
 *
 * Why a file and not fd 3: JMeter writes the CSV header only when the result file does not exist
 * yet, and `/dev/fd/3` always exists, so the header would be missing and the column layout would
 * have to be guessed from the JMeter version. (JMeter 2.13 can write to `/dev/fd/3`; tried.)
 *
 * One JTL row = one sample, except Transaction Controller rows (they sum their children) and
 * sub-result rows (see `createJtlParser`).
 */
import { StringDecoder } from 'node:string_decoder'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import type { FailureKind, SampleSink } from '../model/index.js'
import { BODY_BYTES_ENV } from '../model/index.js'
import { resolveBinary, runForOutput } from './common.js'
import { CsvSplitter } from './csv.js'
import { rewritePlanForStages, stagesToThreadGroups } from './jmeter-stages.js'
import type { EngineCommand, EngineRunContext, ProcessEngine, StreamParser } from './types.js'
import type { TaskLoad } from '../model/index.js'
import { errorMessage } from '../util/index.js'

export const JMETER_BIN_ENV = 'PERF_GATE_JMETER_BIN'
export const JMETER_DEFAULT_BIN = 'jmeter'
/** The JTL file name inside the task's work directory. */
export const JTL_FILE = 'results.jtl'
export const JMETER_LOG_FILE = 'jmeter.log'

const SAVE = 'jmeter.save.saveservice.'

/**
 * Properties forced on every run. `idle_time=true` and the `false` ones pin the column count so a
 * headerless JTL could still be told apart (2.13: 16 columns, 3.1+: 17).
 */
export const JMETER_SAVE_PROPERTIES: Readonly<Record<string, string>> = {
  [`${SAVE}output_format`]: 'csv',
  [`${SAVE}print_field_names`]: 'true',
  [`${SAVE}timestamp_format`]: 'ms',
  [`${SAVE}default_delimiter`]: ',',
  [`${SAVE}subresults`]: 'false',
  'sampleresult.timestamp.start': 'true',
  [`${SAVE}assertion_results_failure_message`]: 'true',
  [`${SAVE}bytes`]: 'true',
  [`${SAVE}sent_bytes`]: 'true',
  [`${SAVE}thread_counts`]: 'true',
  [`${SAVE}url`]: 'true',
  [`${SAVE}latency`]: 'true',
  [`${SAVE}connect_time`]: 'true',
  [`${SAVE}idle_time`]: 'true',
  [`${SAVE}label`]: 'true',
  [`${SAVE}response_code`]: 'true',
  [`${SAVE}successful`]: 'true',
  [`${SAVE}data_type`]: 'true',
  [`${SAVE}response_message`]: 'true',
  [`${SAVE}thread_name`]: 'true',
  [`${SAVE}time`]: 'true',
  [`${SAVE}filename`]: 'false',
  [`${SAVE}hostname`]: 'false',
  [`${SAVE}encoding`]: 'false',
  [`${SAVE}sample_count`]: 'false'
}

/** The plan parameters a perf-gate JMeter plan reads with `${__P(name)}`. */
export interface JmeterPlanParams {
  threads: number
  rampup: number
  duration: number
  host: string
  port: number
  protocol: 'http' | 'https'
}

/**
 * Thread Group parameters for a task's load (JMeter wants whole numbers).
 * - No stages: `threads` = vus, `rampup` = rampUpS, `duration` = rampUpS + durationS. JMeter's
 *   scheduler duration counts from the start of the ramp-up, so this keeps the full load for
 *   `durationS` seconds.
 * - Stages: `threads` = the highest stage target, `rampup` = the first stage's duration,
 *   `duration` = the sum of all stage durations. These are only the plan's properties: with stages
 *   the adapter also rewrites the plan into one thread group per load layer (`jmeter-stages.ts`),
 *   which follows the stages themselves.
 */
export function jmeterPlanParams(load: TaskLoad): JmeterPlanParams {
  let url: URL
  try {
    url = new URL(load.targetUrl)
  } catch {
    throw new Error(`engine jmeter: load.targetUrl "${load.targetUrl}" is not a valid URL`)
  }
  const protocol = url.protocol.replace(/:$/, '')
  if (protocol !== 'http' && protocol !== 'https')
    throw new Error(`engine jmeter: load.targetUrl "${load.targetUrl}" must be an http or https URL`)
  const port = url.port ? Number(url.port) : protocol === 'https' ? 443 : 80
  let threads: number
  let rampup: number
  let duration: number
  if (load.stages && load.stages.length) {
    threads = Math.max(...load.stages.map(s => s.target))
    rampup = load.stages[0].durationS
    duration = load.stages.reduce((a, s) => a + s.durationS, 0)
  } else {
    threads = load.vus
    rampup = load.rampUpS
    duration = load.rampUpS + load.durationS
  }
  return {
    threads: Math.max(1, Math.round(threads)),
    rampup: Math.max(0, Math.round(rampup)),
    duration: Math.max(1, Math.ceil(duration)),
    host: url.hostname,
    port,
    protocol
  }
}

/**
 * The JMeter command line (without the binary):
 * `-n -t <plan> -l <workDir>/results.jtl -j <workDir>/jmeter.log -Jthreads=… -Jrampup=…
 * -Jduration=… -Jhost=… -Jport=… -Jprotocol=… -Jjmeterengine.nongui.port=0 -J<save properties>`,
 * plus `-Jbody_bytes=N` when the volume profile sets PERF_GATE_BODY_BYTES. `plan` is the script,
 * or its stepped rewrite.
 */
export function jmeterArgs(ctx: EngineRunContext, plan = ctx.script): string[] {
  if (!ctx.script || !plan)
    throw new Error('engine jmeter: field "script" is empty (expected the path of a .jmx test plan)')
  const p = jmeterPlanParams(ctx.load)
  const args = [
    '-n',
    '-t',
    plan,
    '-l',
    join(ctx.workDir, JTL_FILE),
    '-j',
    join(ctx.workDir, JMETER_LOG_FILE),
    `-Jthreads=${p.threads}`,
    `-Jrampup=${p.rampup}`,
    `-Jduration=${p.duration}`,
    `-Jhost=${p.host}`,
    `-Jport=${p.port}`,
    `-Jprotocol=${p.protocol}`,
    '-Jjmeterengine.nongui.port=0'
  ]
  for (const [k, v] of Object.entries(JMETER_SAVE_PROPERTIES)) args.push(`-J${k}=${v}`)
  const bodyBytes = ctx.env[BODY_BYTES_ENV]
  if (bodyBytes !== undefined && /^\d+$/.test(bodyBytes)) args.push(`-Jbody_bytes=${bodyBytes}`)
  return args
}

/** Stepped plans written for a task (by work directory), removed once JMeter has exited. */
const steppedPlans = new Map<string, string>()

/**
 * Writes the plan rewritten for the task's stages and returns its path. It goes next to the
 * original (hidden, removed after the run), so relative paths in the plan (CSV data files) still
 * resolve; when that directory is not writable, into the work directory.
 */
export async function writeSteppedPlan(ctx: EngineRunContext): Promise<string> {
  const script = ctx.script!
  let xml: string
  try {
    xml = await readFile(script, 'utf8')
  } catch (e) {
    throw new Error(`engine jmeter: cannot read the test plan ${script}: ${errorMessage(e)}`)
  }
  const text = rewritePlanForStages(xml, stagesToThreadGroups(ctx.load.stages ?? []))
  const name = `.${basename(script, '.jmx')}.perf-gate-${process.pid}-${randomBytes(4).toString('hex')}.jmx`
  for (const dir of [dirname(script), ctx.workDir]) {
    const path = join(dir, name)
    try {
      await writeFile(path, text, { flag: 'wx' })
      steppedPlans.set(ctx.workDir, path)
      return path
    } catch {
      // not writable: try the next place
    }
  }
  throw new Error(`engine jmeter: cannot write the stepped test plan into ${ctx.workDir}`)
}

/**
 * The JMeter version from `jmeter --version` output: 2.13 prints `Version 2.13.19691222` (the last
 * part is a build stamp, dropped → '2.13'); 3.x+ print an ASCII-art banner whose last line ends
 * with the version (`… \_\ 5.6.3`). '' when neither is found.
 */
export function parseJmeterVersion(text: string): string {
  const old = /^\s*Version\s+(\d+)\.(\d+)(?:\.(\d+))?/m.exec(text)
  if (old) return old[3] && old[3].length < 6 ? `${old[1]}.${old[2]}.${old[3]}` : `${old[1]}.${old[2]}`
  for (const line of text.split(/\r?\n/)) {
    const m =
      /^[\s/\\|_()<>.'`,-]*[/\\|_][\s/\\|_()<>.'`,-]*\s(\d+\.\d+(?:\.\d+)?(?:-[0-9A-Za-z.]+)?)\s*$/.exec(line)
    if (m) return m[1]
  }
  return ''
}

// ---------------------------------------------------------------------------------------------
// JTL parsing

/** The 2.13 default columns (no header: `print_field_names` defaults to false there). */
const LAYOUT_213_DEFAULT = [
  'timeStamp',
  'elapsed',
  'label',
  'responseCode',
  'responseMessage',
  'threadName',
  'dataType',
  'success',
  'bytes',
  'grpThreads',
  'allThreads',
  'Latency'
]
/** 2.13 with failureMessage, URL, IdleTime and Connect on (2.13 has no sentBytes). */
const LAYOUT_213_FULL = [
  'timeStamp',
  'elapsed',
  'label',
  'responseCode',
  'responseMessage',
  'threadName',
  'dataType',
  'success',
  'failureMessage',
  'bytes',
  'grpThreads',
  'allThreads',
  'URL',
  'Latency',
  'IdleTime',
  'Connect'
]
/** JMeter 3.1+ (5.x) defaults, also what the forced properties give on those versions. */
const LAYOUT_5X = [
  'timeStamp',
  'elapsed',
  'label',
  'responseCode',
  'responseMessage',
  'threadName',
  'dataType',
  'success',
  'failureMessage',
  'bytes',
  'sentBytes',
  'grpThreads',
  'allThreads',
  'URL',
  'Latency',
  'IdleTime',
  'Connect'
]
const HEADERLESS: ReadonlyMap<number, string[]> = new Map([
  [LAYOUT_213_DEFAULT.length, LAYOUT_213_DEFAULT],
  [LAYOUT_213_FULL.length, LAYOUT_213_FULL],
  [LAYOUT_5X.length, LAYOUT_5X]
])

interface Columns {
  width: number
  timeStamp: number
  elapsed: number
  label: number
  responseCode: number
  responseMessage: number
  threadName: number
  dataType: number
  success: number
  failureMessage: number
  bytes: number
  sentBytes: number
  allThreads: number
}

function columnsOf(names: string[]): Columns | null {
  const at = (n: string) => names.indexOf(n)
  const c: Columns = {
    width: names.length,
    timeStamp: at('timeStamp'),
    elapsed: at('elapsed'),
    label: at('label'),
    responseCode: at('responseCode'),
    responseMessage: at('responseMessage'),
    threadName: at('threadName'),
    dataType: at('dataType'),
    success: at('success'),
    failureMessage: at('failureMessage'),
    bytes: at('bytes'),
    sentBytes: at('sentBytes'),
    allThreads: at('allThreads')
  }
  return c.timeStamp === 0 && c.elapsed >= 0 && c.label >= 0 && c.success >= 0 ? c : null
}

const COLUMNS_BY_WIDTH: ReadonlyMap<number, Columns> = new Map(
  [...HEADERLESS].map(([w, names]) => [w, columnsOf(names)!])
)

const NON_HTTP = 'Non HTTP response code'
const TX_MESSAGE = 'Number of samples in transaction'
const TIMEOUT_RE = /SocketTimeoutException|ConnectTimeoutException|timed out|timeout/i
const CONNECTION_RE =
  /ConnectException|NoRouteToHost|UnknownHost|Connection refused|Connection reset|SocketException|NoHttpResponseException|SSLException|SSLHandshakeException|Broken pipe/i

/**
 * The failure kind of a JTL row. `success=true` is a success whatever the code. Otherwise:
 * non-HTTP errors (`Non HTTP response code: <exception>`) are `timeout` for socket/connect
 * timeouts, `connection` for refused/unreachable/unknown host/reset/TLS errors, else `other`;
 * HTTP 4xx/5xx → http_4xx/http_5xx; a 2xx/3xx marked failed (an assertion) → `assertion`;
 * other numeric codes → http_other; anything else → other.
 */
export function jtlFailureKind(success: boolean, code: string, message = ''): FailureKind | undefined {
  if (success) return undefined
  if (code.startsWith(NON_HTTP)) {
    const text = `${code} ${message}`
    if (TIMEOUT_RE.test(text)) return 'timeout'
    if (CONNECTION_RE.test(text)) return 'connection'
    return 'other'
  }
  if (/^\d{3}$/.test(code)) {
    const n = Number(code)
    if (n >= 400 && n < 500) return 'http_4xx'
    if (n >= 500 && n < 600) return 'http_5xx'
    if (n >= 200 && n < 400) return 'assertion'
    return 'http_other'
  }
  return 'other'
}

/** A JTL parser; besides the stream interface it reports what it excluded and why input was unusable. */
export interface JtlParser extends StreamParser {
  /** Data rows read (samples + transaction rows + sub-result rows). */
  readonly rows: number
  readonly samples: number
  /** Transaction Controller rows left out (they repeat their children). */
  readonly transactions: number
  /** Sub-result rows (`<parent label>-<N>`) left out. */
  readonly subResults: number
  /** Whether a header line was seen. */
  readonly header: boolean
  /** A one-line explanation when the input held no usable JTL rows, else undefined. */
  problem(): string | undefined
}

const INT_RE = /^-?\d+$/
const SUB_RESULT_RE = /^(.*)-(\d+)$/

/**
 * A streaming parser for JMeter CSV JTL files.
 *
 * - Columns come from the header (first field `timeStamp`); without a header, the row's field count
 *   selects a known layout: 12 (2.13 default), 16 (2.13 with failureMessage/URL/IdleTime/Connect),
 *   17 (3.1+ default). Rows of any other width, or with a non-numeric `timeStamp`/`elapsed` or a
 *   `success` other than true/false, are skipped. `timeStamp` must be epoch ms (`timestamp_format=ms`).
 * - Sample: label = `label`, endMs = timeStamp + elapsed (timeStamp is the start, as forced by
 *   `sampleresult.timestamp.start=true` and set by JMeter's shipped properties), latency = elapsed
 *   (ms → µs), bytesIn = `bytes` (0 for non-HTTP errors, where `bytes` is the size of the stored
 *   exception text), bytesOut = `sentBytes` (JMeter ≥ 3.1), active users = `allThreads`.
 * - Transaction Controller rows (empty `dataType`, message `Number of samples in transaction …`)
 *   are not requests and are left out.
 * - Sub-results: JMeter ≥ 5.0 writes a sample's sub-results right after it, renamed
 *   `<label>-<N>`, unless `subresults=false` (which perf-gate sets). In other files a row labelled
 *   `<L>-<N>` is left out when the previous kept row of the same thread (or of the file) was
 *   labelled `<L>`; the parent already counts the request.
 */
export function createJtlParser(sink: SampleSink): JtlParser {
  let cols: Columns | null = null
  let header = false
  let xml = false
  let rows = 0
  let samples = 0
  let transactions = 0
  let subResults = 0
  let skipped = 0
  let lastParent: string | undefined
  const lastParentByThread = new Map<string, string>()

  const record = (f: string[]): void => {
    if (f[0] === 'timeStamp') {
      const c = columnsOf(f)
      if (c) {
        cols = c
        header = true
      } else skipped++
      return
    }
    if (!header && rows === 0 && skipped === 0 && f[0].trimStart().startsWith('<?xml')) xml = true
    const c = header ? cols : (COLUMNS_BY_WIDTH.get(f.length) ?? null)
    if (!c || f.length !== c.width) {
      skipped++
      return
    }
    const ts = f[c.timeStamp]
    const el = f[c.elapsed]
    const ok = f[c.success].toLowerCase()
    if (!INT_RE.test(ts) || !INT_RE.test(el) || (ok !== 'true' && ok !== 'false')) {
      skipped++
      return
    }
    rows++
    const label = f[c.label]
    const message = c.responseMessage >= 0 ? f[c.responseMessage] : ''
    if ((c.dataType < 0 || f[c.dataType] === '') && message.startsWith(TX_MESSAGE)) {
      transactions++
      return
    }
    const thread = c.threadName >= 0 ? f[c.threadName] : ''
    const sub = SUB_RESULT_RE.exec(label)
    if (sub && (lastParentByThread.get(thread) === sub[1] || lastParent === sub[1])) {
      subResults++
      return
    }
    lastParent = label
    lastParentByThread.set(thread, label)

    const elapsed = Math.max(0, Number(el))
    const endMs = Number(ts) + elapsed
    const code = c.responseCode >= 0 ? f[c.responseCode] : ''
    const failure = jtlFailureKind(ok === 'true', code, message)
    const nonHttp = code.startsWith(NON_HTTP)
    const bytes = c.bytes >= 0 && !nonHttp ? Number(f[c.bytes]) : Number.NaN
    const sent = c.sentBytes >= 0 ? Number(f[c.sentBytes]) : Number.NaN
    sink.sample({
      label,
      endMs,
      latencyUs: elapsed * 1000,
      ...(failure ? { failure } : {}),
      ...(nonHttp ? { bytesIn: 0 } : Number.isFinite(bytes) ? { bytesIn: bytes } : {}),
      ...(Number.isFinite(sent) ? { bytesOut: sent } : {})
    })
    samples++
    if (c.allThreads >= 0) {
      const users = Number(f[c.allThreads])
      if (Number.isFinite(users) && f[c.allThreads] !== '') sink.activeUsers(endMs, users)
    }
  }

  // The delimiter is JMeter's `jmeter.save.saveservice.default_delimiter`: a comma unless the
  // first line says tab.
  let splitter: CsvSplitter | null = null
  let pending = ''
  const headDecoder = new StringDecoder('utf8')
  const start = (text: string) => {
    const nl = text.indexOf('\n')
    const first = nl < 0 ? text : text.slice(0, nl)
    const tab = first.startsWith('timeStamp\t') || (first.includes('\t') && !first.includes(','))
    splitter = new CsvSplitter(record, tab ? { delimiter: '\t' } : {})
    return splitter
  }
  const totalSkipped = () => skipped + (splitter?.overflows ?? 0)
  return {
    push: chunk => {
      if (splitter) return splitter.push(chunk)
      // Wait for the first line (or 64 KiB) before choosing the delimiter.
      pending += typeof chunk === 'string' ? chunk : headDecoder.write(chunk)
      if (pending.includes('\n') || pending.length > 65536) {
        start(pending).push(pending)
        pending = ''
      }
    },
    end: () => {
      if (!splitter) {
        pending += headDecoder.end()
        start(pending).push(pending)
      }
      splitter!.end()
    },
    get skipped() {
      return totalSkipped()
    },
    get rows() {
      return rows
    },
    get samples() {
      return samples
    },
    get transactions() {
      return transactions
    },
    get subResults() {
      return subResults
    },
    get header() {
      return header
    },
    problem(): string | undefined {
      if (rows > 0) return undefined
      if (xml)
        return 'the JTL is XML; perf-gate reads CSV JTL files (jmeter.save.saveservice.output_format=csv)'
      const bad = totalSkipped()
      if (bad > 0) return `no JMeter JTL (CSV) rows found (${bad} unreadable records)`
      if (header) return 'the JTL has a header but no rows: JMeter ran no samples (see jmeter.log)'
      return 'JMeter wrote no results (empty or missing JTL): the test plan may have failed to load (see jmeter.log)'
    }
  }
}

function binary(env: NodeJS.ProcessEnv = process.env): string {
  return resolveBinary(JMETER_BIN_ENV, JMETER_DEFAULT_BIN, env)
}

export const jmeterEngine: ProcessEngine = {
  name: 'jmeter',
  kind: 'process',
  binaryEnv: JMETER_BIN_ENV,
  installHint:
    'install Apache JMeter and put its bin folder on PATH: in a GitHub workflow add a step that downloads and unpacks the binary archive from https://jmeter.apache.org/download_jmeter.cgi (see docs/workflows.md)',
  defaultBinary: JMETER_DEFAULT_BIN,
  binary,
  /** Runs `jmeter --version` in a scratch directory (JMeter writes jmeter.log into its cwd). */
  async version(env: NodeJS.ProcessEnv = process.env): Promise<string> {
    const dir = mkdtempSync(join(tmpdir(), 'perf-gate-jmeter-version-'))
    try {
      const out = await runForOutput(binary(env), ['--version'], { env, cwd: dir, timeoutMs: 60_000 })
      return out === null ? '' : parseJmeterVersion(out)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  },
  /**
   * Removes a stale JTL first: JMeter appends to an existing file and then writes no header. The
   * returned `env` holds only the user's variables (to add to the runner's environment).
   */
  async command(ctx: EngineRunContext, env: NodeJS.ProcessEnv = process.env): Promise<EngineCommand> {
    jmeterArgs(ctx)
    mkdirSync(ctx.workDir, { recursive: true })
    const plan = ctx.load.stages?.length ? await writeSteppedPlan(ctx) : ctx.script
    const args = jmeterArgs(ctx, plan)
    const jtl = join(ctx.workDir, JTL_FILE)
    rmSync(jtl, { force: true })
    return { command: binary(env), args, env: { ...ctx.env }, samples: { kind: 'file', path: jtl } }
  },
  createParser: createJtlParser,
  /** Removes the stepped plan written for the task, if any. */
  async afterExit(ctx: EngineRunContext): Promise<void> {
    const path = steppedPlans.get(ctx.workDir)
    if (!path) return
    steppedPlans.delete(ctx.workDir)
    await rm(path, { force: true })
  },
  /**
   * JMeter exits 0 after a completed run, also when samples failed. JMeter 2.13 also exits 0 when
   * the plan cannot be loaded: callers must check the parser (`problem()`, no rows) as well.
   */
  completed: (exitCode: number) => exitCode === 0
}
