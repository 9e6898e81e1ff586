/**
 * Telling a file's format from its first bytes: a perf-gate task or run result, k6 `--out json`
 * NDJSON (`"type":"Metric"` / `"Point"` lines), k6 `--out csv` (`metric_name,` header), a JMeter JTL
 * (`timeStamp,` header, or a headerless numeric CSV row) or the Locust hook's request NDJSON
 * (`request_type`). Gzipped files are looked at decompressed.
 */
import { open, stat } from 'node:fs/promises'
import { gunzipSync } from 'node:zlib'
import { isUtf8 } from 'node:buffer'
import { describeFsError, IngestError, type IngestEngine, type InputFormat } from './formats.js'

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
