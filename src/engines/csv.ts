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
 */
import { StringDecoder } from 'node:string_decoder'

export interface CsvSplitterOptions {
  delimiter?: string
  /** Upper bound of one record's length in characters. Default 1 MiB. */
  maxRecordChars?: number
}

const State = { FieldStart: 0, Unquoted: 1, Quoted: 2, QuoteInQuoted: 3, Discard: 4 } as const
type State = (typeof State)[keyof typeof State]

const LF = 10
const CR = 13
const QUOTE = 34

export class CsvSplitter {
  private readonly decoder = new StringDecoder('utf8')
  private readonly delim: number
  private readonly maxChars: number
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
    this.maxChars = opts.maxRecordChars ?? 1 << 20
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

  private feed(text: string): void {
    const n = text.length
    const delim = this.delim
    let i = 0
    while (i < n) {
      switch (this.state) {
        case State.Discard: {
          const nl = text.indexOf('\n', i)
          if (nl === -1) return
          this.reset()
          i = nl + 1
          break
        }
        case State.FieldStart: {
          const c = text.charCodeAt(i)
          if (c === QUOTE) {
            this.state = State.Quoted
            i++
            this.recordChars++
          } else if (c === delim) {
            this.fields.push('')
            i++
            this.recordChars++
          } else if (c === LF) {
            this.state = State.Unquoted
            this.endField()
            this.endRecord()
            i++
          } else {
            this.state = State.Unquoted
          }
          break
        }
        case State.Unquoted: {
          let j = i
          const stop = Math.min(n, i + this.room())
          while (j < stop) {
            const c = text.charCodeAt(j)
            if (c === delim || c === LF) break
            j++
          }
          this.field += text.slice(i, j)
          this.recordChars += j - i
          if (j === stop) {
            i = j
          } else if (text.charCodeAt(j) === delim) {
            this.endField()
            this.state = State.FieldStart
            i = j + 1
          } else {
            this.endField()
            this.endRecord()
            i = j + 1
          }
          break
        }
        case State.Quoted: {
          const stop = Math.min(n, i + this.room())
          const q = text.indexOf('"', i)
          const j = q === -1 || q >= stop ? stop : q
          this.field += text.slice(i, j)
          this.recordChars += j - i
          if (j !== q) {
            i = j
          } else {
            this.state = State.QuoteInQuoted
            i = q + 1
          }
          break
        }
        case State.QuoteInQuoted: {
          const c = text.charCodeAt(i)
          if (c === QUOTE) {
            this.field += '"'
            this.state = State.Quoted
          } else if (c === delim) {
            this.endField()
            this.state = State.FieldStart
          } else if (c === LF) {
            this.endField()
            this.endRecord()
          } else if (c !== CR) {
            this.field += text[i]
            this.state = State.Unquoted
          }
          i++
          this.recordChars++
          break
        }
      }
      if (this.recordChars > this.maxChars && this.state !== State.Discard) {
        this.overflows++
        this.fields = []
        this.field = ''
        this.state = State.Discard
      }
    }
  }
}
