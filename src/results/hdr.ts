/**
 * Latency histograms.
 *
 * Bucket layout and percentile maths come from hdr-histogram-js (1 µs resolution, 3 significant
 * digits). Counts are stored as HdrHistogram V2 *payloads*: ZigZag LEB128 counts where a negative
 * value is a run of empty buckets. The payload bytes are identical to the payload the library's own
 * `encode()` writes; only the 40-byte per-histogram header is left out, because every histogram in a
 * result shares the same parameters (recorded once in the result's `histogram` field).
 *
 * Merging adds counts bucket by bucket, so it is exact, associative and commutative. The reader
 * decodes payloads straight into a dense accumulator instead of building one library histogram per
 * interval, which is what keeps a 1,000-task merge fast (see BENCHMARKS.md, P2).
 */
import { build, type Histogram } from 'hdr-histogram-js'

/** Lowest discernible value: 1 µs. */
export const HDR_LOWEST_US = 1 as const
/** Highest trackable value: one hour in µs. Larger latencies are clamped to it. */
export const HDR_HIGHEST_US = 3_600_000_000
/** Significant value digits (relative precision 10⁻³). */
export const HDR_DIGITS = 3 as const
/** Name of the stored encoding, written into every result. */
export const HDR_ENCODING = 'hdr-v2-payload+deflate-raw' as const

export interface HistogramParams {
  encoding: typeof HDR_ENCODING
  lowestUs: typeof HDR_LOWEST_US
  highestUs: number
  digits: typeof HDR_DIGITS
}

export const HISTOGRAM_PARAMS: HistogramParams = {
  encoding: HDR_ENCODING,
  lowestUs: HDR_LOWEST_US,
  highestUs: HDR_HIGHEST_US,
  digits: HDR_DIGITS
}

function newLibraryHistogram(): Histogram {
  return build({
    bitBucketSize: 64,
    autoResize: false,
    lowestDiscernibleValue: HDR_LOWEST_US,
    highestTrackableValue: HDR_HIGHEST_US,
    numberOfSignificantValueDigits: HDR_DIGITS
  })
}

/** The library's bucket layout, shared by every recorder and reader in the process. */
interface Layout {
  countsArrayIndex(value: number): number
  valueFromIndex(index: number): number
  countsArrayLength: number
}
let layout: Layout | undefined
function getLayout(): Layout {
  if (!layout) layout = newLibraryHistogram() as unknown as Layout
  return layout
}

/** Index of the bucket that holds `valueUs` (clamped into the trackable range). */
export function bucketIndex(valueUs: number): number {
  let v = Math.round(valueUs)
  if (!(v >= 0)) v = 0
  if (v > HDR_HIGHEST_US) v = HDR_HIGHEST_US
  return getLayout().countsArrayIndex(v)
}

/** Representative (lowest) value of a bucket, in µs. */
export function bucketValue(index: number): number {
  return getLayout().valueFromIndex(index)
}

/**
 * A dense, growable array of bucket counts. It is the accumulator for recording and for merging.
 */
export class DenseCounts {
  counts: Float64Array
  total = 0
  minIndex = Number.POSITIVE_INFINITY
  maxIndex = -1

  constructor(initialLength = 256) {
    this.counts = new Float64Array(initialLength)
  }

  private ensure(index: number): void {
    if (index < this.counts.length) return
    let n = this.counts.length * 2
    while (n <= index) n *= 2
    const limit = getLayout().countsArrayLength
    if (n > limit) n = Math.max(limit, index + 1)
    const next = new Float64Array(n)
    next.set(this.counts)
    this.counts = next
  }

  addAt(index: number, count: number): void {
    if (count === 0) return
    if (index >= this.counts.length) this.ensure(index)
    this.counts[index] += count
    this.total += count
    if (index < this.minIndex) this.minIndex = index
    if (index > this.maxIndex) this.maxIndex = index
  }

  recordUs(valueUs: number, count = 1): void {
    this.addAt(bucketIndex(valueUs), count)
  }

  addCounts(other: DenseCounts): void {
    for (let i = other.minIndex; i <= other.maxIndex; i++) {
      const c = other.counts[i]
      if (c !== 0) this.addAt(i, c)
    }
  }

  /**
   * Adds one V2 payload (`bytes[start, end)`) into this accumulator and returns the number of
   * values it held. Throws on a malformed payload.
   */
  addPayload(bytes: Uint8Array, start: number, end: number): number {
    let pos = start
    let index = 0
    let added = 0
    while (pos < end) {
      // LEB128, up to 9 bytes; values stay below 2^53 so plain arithmetic is exact.
      let b = bytes[pos++]
      let value = b & 0x7f
      if (b & 0x80) {
        let scale = 128
        let n = 1
        do {
          if (pos >= end) throw new Error('truncated histogram payload')
          b = bytes[pos++]
          value += (b & 0x7f) * scale
          scale *= 128
          n++
        } while (b & 0x80 && n < 9)
        if (b & 0x80) {
          if (pos >= end) throw new Error('truncated histogram payload')
          value += bytes[pos++] * scale
        }
      }
      // ZigZag
      const v = value % 2 === 0 ? value / 2 : -(value + 1) / 2
      if (v < 0) {
        index += -v
      } else {
        if (v > 0) {
          this.addAt(index, v)
          added += v
        }
        index++
      }
      if (index > getLayout().countsArrayLength) throw new Error('histogram payload exceeds the bucket range')
    }
    return added
  }

  /** Encodes the counts as a V2 payload (byte-identical to hdr-histogram-js). */
  encodePayload(out: ByteSink): void {
    if (this.maxIndex < 0) return
    const counts = this.counts
    let i = 0
    const limit = this.maxIndex + 1
    if (this.minIndex > 1) {
      writeZigZag(out, -this.minIndex)
      i = this.minIndex
    }
    while (i < limit) {
      const c = counts[i++]
      if (c !== 0) {
        writeZigZag(out, c)
        continue
      }
      let zeros = 1
      while (i < limit && counts[i] === 0) {
        zeros++
        i++
      }
      writeZigZag(out, zeros > 1 ? -zeros : 0)
    }
  }

  clear(): void {
    if (this.maxIndex >= 0) this.counts.fill(0, this.minIndex, this.maxIndex + 1)
    this.total = 0
    this.minIndex = Number.POSITIVE_INFINITY
    this.maxIndex = -1
  }

  /** A library histogram with these counts, for percentile queries. */
  toHistogram(): Histogram {
    const h = newLibraryHistogram()
    for (let i = Math.max(0, this.minIndex); i <= this.maxIndex; i++) {
      const c = this.counts[i]
      if (c !== 0) h.recordValueWithCount(bucketValue(i), c)
    }
    return h
  }
}

/** A growable byte buffer. */
export class ByteSink {
  buf: Uint8Array
  length = 0
  constructor(initial = 1024) {
    this.buf = new Uint8Array(initial)
  }
  push(b: number): void {
    if (this.length === this.buf.length) {
      const next = new Uint8Array(this.buf.length * 2)
      next.set(this.buf)
      this.buf = next
    }
    this.buf[this.length++] = b
  }
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length)
  }
}

export function writeZigZag(out: ByteSink, v: number): void {
  let value = v >= 0 ? v * 2 : -v * 2 - 1
  for (let n = 0; n < 8; n++) {
    if (value < 128) {
      out.push(value)
      return
    }
    out.push((value % 128) | 0x80)
    value = Math.floor(value / 128)
  }
  out.push(value)
}

export function writeVarUint(out: ByteSink, v: number): void {
  let value = v
  while (value >= 128) {
    out.push((value % 128) | 0x80)
    value = Math.floor(value / 128)
  }
  out.push(value)
}

export function readVarUint(bytes: Uint8Array, pos: { p: number }): number {
  let value = 0
  let scale = 1
  for (;;) {
    if (pos.p >= bytes.length) throw new Error('truncated varint')
    const b = bytes[pos.p++]
    value += (b & 0x7f) * scale
    if (!(b & 0x80)) return value
    scale *= 128
    if (scale > 2 ** 56) throw new Error('varint too long')
  }
}
