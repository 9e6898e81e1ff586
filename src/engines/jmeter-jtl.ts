/**
 * Reading JMeter's CSV JTL files: the known column layouts, the failure kind of a row, and a
 * streaming parser that turns rows into samples.
 */
import { StringDecoder } from 'node:string_decoder'
import type { FailureKind, SampleSink } from '../model/index.js'
import { CsvSplitter } from './csv.js'
import type { StreamParser } from './types.js'

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
 * Turns JTL records (already split into fields) into samples and active users, counting the rows
 * it keeps, those it leaves out (transactions, sub-results) and those it cannot use.
 */
class JtlRecords {
  header = false
  xml = false
  rows = 0
  samples = 0
  transactions = 0
  subResults = 0
  /** Records that could not be used (the splitter's overflows aside). */
  skipped = 0
  private cols: Columns | null = null
  private lastParent: string | undefined
  private readonly lastParentByThread = new Map<string, string>()

  constructor(private readonly sink: SampleSink) {}

  readonly record = (f: string[]): void => {
    if (f[0] === 'timeStamp') return this.headerRecord(f)
    if (!this.header && this.rows === 0 && this.skipped === 0 && f[0].trimStart().startsWith('<?xml'))
      this.xml = true
    const c = this.header ? this.cols : (COLUMNS_BY_WIDTH.get(f.length) ?? null)
    if (!c || !isDataRow(f, c)) {
      this.skipped++
      return
    }
    this.rows++
    if (this.leftOut(f, c)) return
    this.emit(f, c)
  }

  /** A header line sets the columns of the rows that follow. */
  private headerRecord(f: string[]): void {
    const c = columnsOf(f)
    if (c) {
      this.cols = c
      this.header = true
    } else this.skipped++
  }

  /** Whether a row is a Transaction Controller row or a sub-result row; counts it then. */
  private leftOut(f: string[], c: Columns): boolean {
    const label = f[c.label]
    const message = c.responseMessage >= 0 ? f[c.responseMessage] : ''
    if ((c.dataType < 0 || f[c.dataType] === '') && message.startsWith(TX_MESSAGE)) {
      this.transactions++
      return true
    }
    const thread = c.threadName >= 0 ? f[c.threadName] : ''
    const sub = SUB_RESULT_RE.exec(label)
    if (sub && (this.lastParentByThread.get(thread) === sub[1] || this.lastParent === sub[1])) {
      this.subResults++
      return true
    }
    this.lastParent = label
    this.lastParentByThread.set(thread, label)
    return false
  }

  /** The sample of a row, and the active users it reports. */
  private emit(f: string[], c: Columns): void {
    const elapsed = Math.max(0, Number(f[c.elapsed]))
    const endMs = Number(f[c.timeStamp]) + elapsed
    const code = c.responseCode >= 0 ? f[c.responseCode] : ''
    const message = c.responseMessage >= 0 ? f[c.responseMessage] : ''
    const failure = jtlFailureKind(f[c.success].toLowerCase() === 'true', code, message)
    const nonHttp = code.startsWith(NON_HTTP)
    const bytes = c.bytes >= 0 && !nonHttp ? Number(f[c.bytes]) : Number.NaN
    const sent = c.sentBytes >= 0 ? Number(f[c.sentBytes]) : Number.NaN
    this.sink.sample({
      label: f[c.label],
      endMs,
      latencyUs: elapsed * 1000,
      ...(failure ? { failure } : {}),
      ...(nonHttp ? { bytesIn: 0 } : Number.isFinite(bytes) ? { bytesIn: bytes } : {}),
      ...(Number.isFinite(sent) ? { bytesOut: sent } : {})
    })
    this.samples++
    if (c.allThreads >= 0) {
      const users = Number(f[c.allThreads])
      if (Number.isFinite(users) && f[c.allThreads] !== '') this.sink.activeUsers(endMs, users)
    }
  }
}

/** Whether a record fits the columns: their width, integer `timeStamp` and `elapsed`, and `success` true/false. */
function isDataRow(f: string[], c: Columns): boolean {
  if (f.length !== c.width) return false
  const ok = f[c.success].toLowerCase()
  return INT_RE.test(f[c.timeStamp]) && INT_RE.test(f[c.elapsed]) && (ok === 'true' || ok === 'false')
}

/**
 * A CSV splitter whose delimiter is JMeter's `jmeter.save.saveservice.default_delimiter`: a comma
 * unless the first line says tab. It waits for the first line (or 64 KiB) before choosing.
 */
class JtlSplitter {
  private splitter: CsvSplitter | null = null
  private pending = ''
  private readonly headDecoder = new StringDecoder('utf8')

  constructor(private readonly onRecord: (fields: string[]) => void) {}

  push(chunk: Buffer | string): void {
    if (this.splitter) return this.splitter.push(chunk)
    this.pending += typeof chunk === 'string' ? chunk : this.headDecoder.write(chunk)
    if (this.pending.includes('\n') || this.pending.length > 65536) {
      this.start(this.pending).push(this.pending)
      this.pending = ''
    }
  }

  end(): void {
    if (!this.splitter) {
      this.pending += this.headDecoder.end()
      this.start(this.pending).push(this.pending)
    }
    this.splitter!.end()
  }

  /** Records dropped for their length. */
  get overflows(): number {
    return this.splitter?.overflows ?? 0
  }

  private start(text: string): CsvSplitter {
    const nl = text.indexOf('\n')
    const first = nl < 0 ? text : text.slice(0, nl)
    const tab = first.startsWith('timeStamp\t') || (first.includes('\t') && !first.includes(','))
    this.splitter = new CsvSplitter(this.onRecord, tab ? { delimiter: '\t' } : {})
    return this.splitter
  }
}

/** Why the input held no usable JTL rows, or undefined when it held some. */
function jtlProblem(records: JtlRecords, skipped: number): string | undefined {
  if (records.rows > 0) return undefined
  if (records.xml)
    return 'the JTL is XML; perf-gate reads CSV JTL files (jmeter.save.saveservice.output_format=csv)'
  if (skipped > 0) return `no JMeter JTL (CSV) rows found (${skipped} unreadable records)`
  if (records.header) return 'the JTL has a header but no rows: JMeter ran no samples (see jmeter.log)'
  return 'JMeter wrote no results (empty or missing JTL): the test plan may have failed to load (see jmeter.log)'
}

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
  const records = new JtlRecords(sink)
  const splitter = new JtlSplitter(records.record)
  const totalSkipped = () => records.skipped + splitter.overflows
  return {
    push: chunk => splitter.push(chunk),
    end: () => splitter.end(),
    get skipped() {
      return totalSkipped()
    },
    get rows() {
      return records.rows
    },
    get samples() {
      return records.samples
    },
    get transactions() {
      return records.transactions
    },
    get subResults() {
      return records.subResults
    },
    get header() {
      return records.header
    },
    problem: () => jtlProblem(records, totalSkipped())
  }
}
