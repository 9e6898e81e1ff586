/**
 * Reading k6 output: the NDJSON stream of `--out json`, `--out csv` files (for `summarize`) and the
 * end-of-test summary's thresholds.
 *
 * Per HTTP request k6 writes about ten points with the same tags and time; one `http_req_duration`
 * point becomes one perf-gate `Sample`: label = tag `name`, completion time = point `time`, latency
 * = value (ms → µs). `checks` points become check outcomes, `vus` points active users, and `Metric`
 * lines carry the script's thresholds. k6 has no per-request byte counts, so samples carry no
 * bytes. The same point handling serves both formats.
 */
import type { FailureKind, SampleSink, ThresholdSpec } from '../model/index.js'
import { LineSplitter, failureFromStatus } from './common.js'
import { CsvSplitter } from './csv.js'
import type { StreamParser } from './types.js'

type Tags = Record<string, string>

/** A k6 output parser; besides the stream interface it tells whether the input was k6 output at all. */
export interface K6Parser extends StreamParser {
  /** Lines/rows recognised as k6 output (metric definitions and points). */
  readonly recognized: number
  /** Samples (HTTP requests) emitted. */
  readonly samples: number
  /** A one-line explanation when the input held no k6 output, else undefined. */
  problem(): string | undefined
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?([Zz]|[+-]\d{2}:?\d{2})$/

/**
 * Epoch ms of an RFC 3339 timestamp with any number of fractional digits, keeping sub-ms precision
 * as a fraction (`2026-11-25T05:50:05.514761328Z` → 1795585805514.7613). NaN when malformed.
 */
export function parseRfc3339Ms(s: string): number {
  const m = RFC3339.exec(s)
  if (!m) return Number.NaN
  let ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])
  const zone = m[8]
  if (zone !== 'Z' && zone !== 'z') {
    const sign = zone[0] === '-' ? -1 : 1
    const digits = zone.slice(1).replace(':', '')
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000
  }
  if (m[7]) ms += Number(`0.${m[7]}`) * 1000
  return ms
}

/**
 * Epoch ms of a k6 CSV `timestamp` in any of k6's `timeFormat`s: `unix` (s), `unix_milli`,
 * `unix_micro`, `unix_nano` (told apart by their digit count) or `rfc3339[_nano]`.
 */
export function parseK6CsvTime(s: string): number {
  if (/^\d+$/.test(s)) {
    const len = s.length
    if (len <= 11) return Number(s) * 1000
    if (len <= 14) return Number(s)
    const cut = len <= 17 ? 3 : 6
    return Number(s.slice(0, len - cut)) + Number(`0.${s.slice(len - cut)}`)
  }
  if (/^\d+\.\d+$/.test(s)) return Number(s) * 1000
  return parseRfc3339Ms(s)
}

/** k6 network error codes (`error_code` tag): 1000–1399 = generic, DNS, TCP and TLS errors. */
function isNetworkErrorCode(code: number): boolean {
  return code >= 1000 && code < 1400
}

/** 1050 = request timeout, 1211 = TCP dial timeout. */
const TIMEOUT_CODES = new Set([1050, 1211])

/**
 * Whether a k6 HTTP request failed, and how. The `expected_response` tag (present whenever a
 * response callback is active, which is k6's default) decides failure; without it a status of 0
 * (network error) or ≥ 400 is a failure. Network errors (status 0 or an `error_code` of 1000–1399)
 * are `timeout` for codes 1050/1211 or a timeout message, else `connection`; the rest follow the
 * HTTP status (a 2xx/3xx the script declared unexpected is `http_other`).
 */
export function k6FailureKind(tags: Tags): FailureKind | undefined {
  const status = tags.status === undefined || tags.status === '' ? Number.NaN : Number(tags.status)
  const code = tags.error_code ? Number(tags.error_code) : Number.NaN
  const network = status === 0 || (Number.isNaN(status) && isNetworkErrorCode(code))
  const expected = tags.expected_response
  let failed: boolean
  if (expected === 'true' || expected === 'false') failed = expected === 'false'
  else failed = network || status >= 400 || (Number.isNaN(status) && !!tags.error)
  if (!failed) return undefined
  if (network || (status === 0 && isNetworkErrorCode(code))) {
    if (TIMEOUT_CODES.has(code) || /time(d)?[ _-]?out|deadline exceeded/i.test(tags.error ?? ''))
      return 'timeout'
    return 'connection'
  }
  if (Number.isFinite(status)) return failureFromStatus(status) ?? 'http_other'
  return 'other'
}

/**
 * Thresholds from a k6 end-of-test summary: the legacy `--summary-export` file
 * (`metrics[m].thresholds = {expr: crossed}`) or the `handleSummary` data
 * (`metrics[m].thresholds = {expr: {ok}}`). Unlike the NDJSON stream, these include thresholds on
 * submetrics such as `http_req_duration{name:slow}`. Unknown shapes give an empty list.
 */
export function k6ThresholdsFromSummary(doc: unknown): ThresholdSpec[] {
  const out: ThresholdSpec[] = []
  if (!isRecord(doc) || !isRecord(doc.metrics)) return out
  for (const [metric, body] of Object.entries(doc.metrics)) {
    if (!isRecord(body) || !isRecord(body.thresholds)) continue
    for (const expr of Object.keys(body.thresholds)) if (expr.trim()) out.push({ metric, expr })
  }
  return out
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function stringTags(v: unknown): Tags {
  const tags: Tags = {}
  if (!isRecord(v)) return tags
  for (const [k, x] of Object.entries(v)) if (x !== null && x !== undefined) tags[k] = String(x)
  return tags
}

/** Turns k6 points into sink calls; shared by the NDJSON and CSV parsers. */
class PointHandler {
  samples = 0

  constructor(private readonly sink: SampleSink) {}

  point(metric: string, endMs: number, value: number, tags: Tags): void {
    switch (metric) {
      case 'http_req_duration': {
        const failure = k6FailureKind(tags)
        this.sink.sample({
          label: tags.name || tags.url || '(unnamed)',
          endMs,
          latencyUs: value * 1000,
          ...(failure ? { failure } : {})
        })
        this.samples++
        break
      }
      case 'checks':
        this.sink.check(tags.check ?? '(unnamed)', value !== 0)
        break
      case 'vus':
        this.sink.activeUsers(endMs, value)
        break
      default:
        break
    }
  }

  /** Registers the thresholds of a `Metric` line: strings or `{threshold, abortOnFail}` objects. */
  thresholds(metric: string, list: unknown): void {
    if (!Array.isArray(list)) return
    for (const t of list) {
      if (typeof t === 'string') {
        if (t.trim()) this.sink.threshold({ metric, expr: t })
      } else if (isRecord(t) && typeof t.threshold === 'string' && t.threshold.trim()) {
        this.sink.threshold({
          metric,
          expr: t.threshold,
          ...(typeof t.abortOnFail === 'boolean' ? { abortOnFail: t.abortOnFail } : {})
        })
      }
    }
  }
}

function describe(kind: string, recognized: number, skipped: number): string | undefined {
  if (recognized > 0) return undefined
  if (skipped > 0) return `no k6 ${kind} output found (${skipped} unreadable lines)`
  return `no k6 ${kind} output found (the input was empty)`
}

/** The Point metrics PointHandler uses; k6 writes about ten Points per request, most of them unused. */
const USED_POINT_METRICS = new Set(['http_req_duration', 'checks', 'vus'])
const POINT_PREFIX = '{"metric":"'

/**
 * The metric of a Point line in k6's own field order (`{"metric":"NAME","type":"Point",…}`), read
 * without parsing the line; null for any other shape, which then goes through JSON.parse.
 */
function pointMetricOf(text: string): string | null {
  if (!text.startsWith(POINT_PREFIX)) return null
  const end = text.indexOf('"', POINT_PREFIX.length)
  if (end < 0 || !text.startsWith('","type":"Point","data":{', end)) return null
  return text.charCodeAt(text.length - 1) === 125 /* } */ ? text.slice(POINT_PREFIX.length, end) : null
}

/** A parser for k6 `--out json` NDJSON (plain text; decompress `.gz` files before feeding). */
export function createK6JsonParser(sink: SampleSink): K6Parser {
  const points = new PointHandler(sink)
  let recognized = 0
  let skipped = 0

  const line = (text: string): void => {
    // Points of metrics nothing reads are counted without being parsed: most of the stream.
    const metric = pointMetricOf(text)
    if (metric !== null && !USED_POINT_METRICS.has(metric)) {
      recognized++
      return
    }
    if (!text.trim()) return
    let o: unknown
    try {
      o = JSON.parse(text)
    } catch {
      skipped++
      return
    }
    if (!isRecord(o) || !isRecord(o.data)) {
      skipped++
      return
    }
    const data = o.data
    if (o.type === 'Metric') {
      const name = typeof data.name === 'string' ? data.name : typeof o.metric === 'string' ? o.metric : ''
      if (!name) {
        skipped++
        return
      }
      recognized++
      points.thresholds(name, data.thresholds)
      return
    }
    if (o.type !== 'Point' || typeof o.metric !== 'string') {
      skipped++
      return
    }
    const endMs = typeof data.time === 'string' ? parseRfc3339Ms(data.time) : Number.NaN
    const value = data.value
    if (!Number.isFinite(endMs) || typeof value !== 'number' || !Number.isFinite(value)) {
      skipped++
      return
    }
    recognized++
    points.point(o.metric, endMs, value, stringTags(data.tags))
  }

  const splitter = new LineSplitter(line)
  return {
    push: chunk => splitter.push(chunk),
    end: () => splitter.end(),
    get skipped() {
      return skipped
    },
    get recognized() {
      return recognized
    },
    get samples() {
      return points.samples
    },
    problem: () => describe('--out json', recognized, skipped)
  }
}

const CSV_FIXED = new Set(['metric_name', 'timestamp', 'metric_value', 'extra_tags', 'metadata'])

/**
 * A parser for k6 `--out csv` files. Columns are found by header name; every column other than
 * metric_name/timestamp/metric_value/extra_tags/metadata is a tag, and `extra_tags` (`k=v&k2=v2`)
 * adds custom tags. Empty cells are absent tags. CSV has no metric definitions, so no thresholds.
 * With the default `timeFormat=unix` times have whole-second resolution.
 */
export function createCsvParser(sink: SampleSink): K6Parser {
  const points = new PointHandler(sink)
  let recognized = 0
  let skipped = 0
  let header: string[] | null = null
  let iName = -1
  let iTime = -1
  let iValue = -1
  let iExtra = -1

  const record = (fields: string[]): void => {
    if (!header) {
      if (fields.includes('metric_name') && fields.includes('timestamp') && fields.includes('metric_value')) {
        header = fields
        iName = fields.indexOf('metric_name')
        iTime = fields.indexOf('timestamp')
        iValue = fields.indexOf('metric_value')
        iExtra = fields.indexOf('extra_tags')
        recognized++
      } else {
        skipped++
      }
      return
    }
    if (fields.length !== header.length) {
      skipped++
      return
    }
    const metric = fields[iName]
    const endMs = parseK6CsvTime(fields[iTime])
    const value = fields[iValue] === '' ? Number.NaN : Number(fields[iValue])
    if (!metric || !Number.isFinite(endMs) || !Number.isFinite(value)) {
      skipped++
      return
    }
    recognized++
    // Tags are built only for the metrics PointHandler reads.
    if (!USED_POINT_METRICS.has(metric)) return
    const tags: Tags = {}
    for (let i = 0; i < header.length; i++)
      if (!CSV_FIXED.has(header[i]) && fields[i] !== '') tags[header[i]] = fields[i]
    if (iExtra >= 0 && fields[iExtra])
      for (const pair of fields[iExtra].split('&')) {
        const eq = pair.indexOf('=')
        if (eq > 0) tags[pair.slice(0, eq)] = pair.slice(eq + 1)
      }
    points.point(metric, endMs, value, tags)
  }

  const splitter = new CsvSplitter(record)
  return {
    push: chunk => splitter.push(chunk),
    end: () => splitter.end(),
    get skipped() {
      return skipped + splitter.overflows
    },
    get recognized() {
      return recognized
    },
    get samples() {
      return points.samples
    },
    problem: () => describe('--out csv', recognized, skipped + splitter.overflows)
  }
}
