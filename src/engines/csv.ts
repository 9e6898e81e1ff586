/**
 * A streaming CSV record splitter (RFC 4180 style), for engine outputs such as JMeter JTL files
 * and k6 `--out csv`.
 *
 * - Fields are separated by a one-character delimiter (`,` by default; JMeter also allows `\t`).
 * - A field that starts with `"` is quoted: it may hold delimiters, CR/LF and doubled quotes (`""`).
 * - Records end at LF outside quotes; a CR right before that LF is dropped. Empty lines are ignored.
 * - Lenient with broken input: a quote in the middle of an unquoted field is kept as text, text
 *   after a closing quote is appended to the field.
 * - A record longer than `maxRecordChars` (for example an unterminated quote in a foreign file) is
 *   dropped up to the next line break and counted in `overflows`, so memory stays bounded.
 * - `end()` emits a last record that has no line break.
 *
 * Records that are one whole line of the current chunk without quotes and without a CR (other than
 * the CR before the LF) take a fast path: the line is cut at its delimiters directly. Such a line
 * gives exactly the fields the state machine would give; every other record goes through the state
 * machine.
 */
import { StringDecoder } from 'node:string_decoder'

export interface CsvSplitterOptions {
  delimiter?: string
  /** Upper bound of one record's length in characters. Default 1 MiB. */
  maxRecordChars?: number
  /**
   * Sees every fast-path record (a whole line without quotes and CRs, see above) before it is cut
   * into fields, as `text.slice(start, end)` (the line without its line break). Returning true means
   * the record is consumed here: it is not cut into fields and `onRecord` is not called for it.
   * Returning false passes it on as usual. Other records always go to `onRecord` only.
   */
  plainLine?: (text: string, start: number, end: number) => boolean
}

const State = { FieldStart: 0, Unquoted: 1, Quoted: 2, QuoteInQuoted: 3, Discard: 4 } as const
type State = (typeof State)[keyof typeof State]

const LF = 10
const CR = 13
const QUOTE = 34

export class CsvSplitter {
  private readonly decoder = new StringDecoder('utf8')
  private readonly delim: number
  private readonly delimChar: string
  private readonly maxChars: number
  private readonly plainLine: ((text: string, start: number, end: number) => boolean) | undefined
  /** Field count of the last fast-path record: the initial size of the next one's array. */
  private width = 8
  private state: State = State.FieldStart
  private fields: string[] = []
  private field = ''
  private recordChars = 0
  private ended = false
  /** Records dropped because they exceeded `maxRecordChars`. */
  overflows = 0

  constructor(
    private readonly onRecord: (fields: string[]) => void,
    opts: CsvSplitterOptions = {}
  ) {
    const d = opts.delimiter ?? ','
    if (d.length !== 1 || d === '"' || d === '\n' || d === '\r')
      throw new Error(
        `CSV delimiter must be one character other than quote, CR or LF, got ${JSON.stringify(d)}`
      )
    this.delim = d.charCodeAt(0)
    this.delimChar = d
    this.maxChars = opts.maxRecordChars ?? 1 << 20
    this.plainLine = opts.plainLine
  }

  push(chunk: Buffer | string): void {
    if (this.ended) throw new Error('CsvSplitter: push() after end()')
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk)
    if (text.length) this.feed(text)
  }

  end(): void {
    if (this.ended) return
    const tail = this.decoder.end()
    if (tail.length) this.feed(tail)
    this.ended = true
    if (this.state === State.Discard) {
      this.reset()
      return
    }
    if (this.state !== State.FieldStart || this.fields.length) {
      this.endField()
      this.endRecord()
    }
  }

  private reset(): void {
    this.fields = []
    this.field = ''
    this.recordChars = 0
    this.state = State.FieldStart
  }

  private endField(): void {
    let f = this.field
    if (this.state === State.Unquoted && f.length && f.charCodeAt(f.length - 1) === CR) f = f.slice(0, -1)
    this.fields.push(f)
    this.field = ''
  }

  private endRecord(): void {
    const rec = this.fields
    this.reset()
    if (rec.length === 1 && rec[0] === '') return
    this.onRecord(rec)
  }

  /** Characters the current record may still take before it overflows (at least 1). */
  private room(): number {
    return Math.max(1, this.maxChars + 1 - this.recordChars)
  }

  /**
   * The fast path: emits the records of `text` from `from` on that are whole lines without quotes
   * and CRs (a CR right before the LF aside), and returns where the first other record starts (or
   * `text.length`). Must be called at the start of a record only.
   */
  private plainLines(text: string, from: number): number {
    const n = text.length
    const delimChar = this.delimChar
    const plainLine = this.plainLine
    let i = from
    let quote = text.indexOf('"', i)
    if (quote === -1) quote = n
    let cr = text.indexOf('\r', i)
    if (cr === -1) cr = n
    let d = text.indexOf(delimChar, i)
    if (d === -1) d = n
    while (i < n) {
      const nl = text.indexOf('\n', i)
      if (nl === -1 || quote < nl) return i
      let end = nl
      if (cr < nl) {
        if (cr !== nl - 1) return i
        end = cr
        cr = text.indexOf('\r', nl + 1)
        if (cr === -1) cr = n
      }
      if (nl - i > this.maxChars) return i
      if (end > i && !(plainLine !== undefined && plainLine(text, i, end))) {
        if (d < i) {
          d = text.indexOf(delimChar, i)
          if (d === -1) d = n
        }
        const fields = new Array<string>(this.width)
        let k = 0
        let start = i
        while (d < end) {
          fields[k++] = text.slice(start, d)
          start = d + 1
          d = text.indexOf(delimChar, start)
          if (d === -1) d = n
        }
        fields[k++] = text.slice(start, end)
        if (fields.length !== k) fields.length = k
        this.width = k
        this.onRecord(fields)
      }
      i = nl + 1
    }
    return i
  }

  /** Runs the state machine over `text`, taking the fast path at every record start. */
  private feed(text: string): void {
    const n = text.length
    let i = 0
    while (i < n) {
      if (this.state === State.FieldStart && this.fields.length === 0 && this.recordChars === 0) {
        i = this.plainLines(text, i)
        if (i >= n) break
      }
      switch (this.state) {
        case State.Discard:
          i = this.discard(text, i)
          break
        case State.FieldStart:
          i = this.fieldStart(text, i)
          break
        case State.Unquoted:
          i = this.unquoted(text, i)
          break
        case State.Quoted:
          i = this.quoted(text, i)
          break
        case State.QuoteInQuoted:
          i = this.quoteInQuoted(text, i)
          break
      }
      if (this.recordChars > this.maxChars && this.state !== State.Discard) {
        this.overflows++
        this.fields = []
        this.field = ''
        this.state = State.Discard
      }
    }
  }

  /** Skips an overflowing record up to its line break (the rest of `text` when there is none). */
  private discard(text: string, i: number): number {
    const nl = text.indexOf('\n', i)
    if (nl === -1) return text.length
    this.reset()
    return nl + 1
  }

  /** At the start of a field: a quote opens a quoted field, a delimiter or LF ends an empty one. */
  private fieldStart(text: string, i: number): number {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      this.state = State.Quoted
      this.recordChars++
      return i + 1
    }
    if (c === this.delim) {
      this.fields.push('')
      this.recordChars++
      return i + 1
    }
    this.state = State.Unquoted
    if (c !== LF) return i
    this.endField()
    this.endRecord()
    return i + 1
  }

  /** Takes unquoted text up to the next delimiter or LF (or as much as the record may still take). */
  private unquoted(text: string, i: number): number {
    const n = text.length
    const delim = this.delim
    let j = i
    const stop = Math.min(n, i + this.room())
    while (j < stop) {
      const c = text.charCodeAt(j)
      if (c === delim || c === LF) break
      j++
    }
    this.field += text.slice(i, j)
    this.recordChars += j - i
    if (j === stop) return j
    this.endField()
    if (text.charCodeAt(j) === delim) this.state = State.FieldStart
    else this.endRecord()
    return j + 1
  }

  /** Takes quoted text up to the next quote (or as much as the record may still take). */
  private quoted(text: string, i: number): number {
    const stop = Math.min(text.length, i + this.room())
    const q = text.indexOf('"', i)
    const j = q === -1 || q >= stop ? stop : q
    this.field += text.slice(i, j)
    this.recordChars += j - i
    if (j !== q) return j
    this.state = State.QuoteInQuoted
    return q + 1
  }

  /** After a quote inside a quoted field: `""` is a quote, else the quoted part has ended. */
  private quoteInQuoted(text: string, i: number): number {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      this.field += '"'
      this.state = State.Quoted
    } else if (c === this.delim) {
      this.endField()
      this.state = State.FieldStart
    } else if (c === LF) {
      this.endField()
      this.endRecord()
    } else if (c !== CR) {
      this.field += text[i]
      this.state = State.Unquoted
    }
    this.recordChars++
    return i + 1
  }
}
