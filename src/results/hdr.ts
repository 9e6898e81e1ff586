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

/**
 * Deflate level of the stored histogram blobs. Every writer uses the same level, so equal data gives
 * equal bytes; level 1 keeps merging a large fleet fast at a small cost in size.
 */
export const HIST_DEFLATE_LEVEL = 1

export const HISTOGRAM_PARAMS: HistogramParams = {
  encoding: HDR_ENCODING,
  lowestUs: HDR_LOWEST_US,
  highestUs: HDR_HIGHEST_US,
  digits: HDR_DIGITS
}

/** An empty library histogram with the result layout. */
export function newLibraryHistogram(): Histogram {
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
  lowestEquivalentValue(value: number): number
  highestEquivalentValue(value: number): number
  countsArrayLength: number
}
let layout: Layout | undefined
function getLayout(): Layout {
  if (!layout) layout = newLibraryHistogram() as unknown as Layout
  return layout
}

// Bucket layout for lowest = 1 and 3 significant digits: 2048 sub-buckets, the upper 1024 of each
// bucket after the first. Below 2^31 the index is computed here with clz32 (the library's own
// computation works on 64-bit leading zeros and costs several times more); the tests check both
// agree on every value. Larger values go to the library.
const SUB_BUCKET_HALF_MAGNITUDE = 10
const SUB_BUCKET_HALF_COUNT = 1 << SUB_BUCKET_HALF_MAGNITUDE
const SUB_BUCKET_MASK = 2 * SUB_BUCKET_HALF_COUNT - 1
const FAST_LIMIT = 2 ** 31

/** Index of the bucket that holds `valueUs` (clamped into the trackable range). */
export function bucketIndex(valueUs: number): number {
  let v = Math.round(valueUs)
  if (!(v >= 0)) v = 0
  if (v < FAST_LIMIT) {
    const bucket = 21 - Math.clz32(v | SUB_BUCKET_MASK)
    const sub = v >>> bucket
    return ((bucket + 1) << SUB_BUCKET_HALF_MAGNITUDE) + (sub - SUB_BUCKET_HALF_COUNT)
  }
  if (v > HDR_HIGHEST_US) v = HDR_HIGHEST_US
  return getLayout().countsArrayIndex(v)
}

/** The library's own bucket index, for checking the fast path. */
export function libraryBucketIndex(valueUs: number): number {
  return getLayout().countsArrayIndex(Math.min(HDR_HIGHEST_US, Math.max(0, Math.round(valueUs))))
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
  /** Indices that hold a non-zero count, in the order they were first touched. */
  touched: number[] = []
  total = 0
  minIndex = Number.POSITIVE_INFINITY
  maxIndex = -1

  constructor(initialLength = 256) {
    this.counts = new Float64Array(initialLength)
  }

  ensure(index: number): void {
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
    if (this.counts[index] === 0) this.touched.push(index)
    this.counts[index] += count
    this.total += count
    if (index < this.minIndex) this.minIndex = index
    if (index > this.maxIndex) this.maxIndex = index
  }

  recordUs(valueUs: number, count = 1): void {
    this.addAt(bucketIndex(valueUs), count)
  }

  addCounts(other: DenseCounts): void {
    for (const i of other.touched) this.addAt(i, other.counts[i])
  }

  /**
   * Adds one V2 payload (`bytes[start, end)`) into this accumulator and returns the number of
   * values it held. Throws on a malformed payload.
   */
  addPayload(bytes: Uint8Array, start: number, end: number): number {
    const limit = getLayout().countsArrayLength
    let counts = this.counts
    let pos = start
    let index = 0
    let added = 0
    let lo = -1
    let hi = -1
    while (pos < end) {
      // LEB128 (up to 9 bytes), then ZigZag. Values stay below 2^53, so plain arithmetic is exact.
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
      if (value & 1) {
        index += (value + 1) / 2
      } else {
        if (value !== 0) {
          if (index >= counts.length) {
            if (index >= limit) throw new Error('histogram payload exceeds the bucket range')
            this.ensure(index)
            counts = this.counts
          }
          const v = value / 2
          if (counts[index] === 0) this.touched.push(index)
          counts[index] += v
          added += v
          if (lo < 0) lo = index
          hi = index
        }
        index++
      }
    }
    if (index > limit) throw new Error('histogram payload exceeds the bucket range')
    if (added > 0) {
      this.total += added
      if (lo < this.minIndex) this.minIndex = lo
      if (hi > this.maxIndex) this.maxIndex = hi
    }
    return added
  }

  /** The touched indices in ascending order. */
  private sorted(): number[] {
    const t = this.touched
    let ordered = true
    for (let i = 1; i < t.length; i++) {
      if (t[i] < t[i - 1]) {
        ordered = false
        break
      }
    }
    if (ordered) return t
    if (t.length * 8 > this.maxIndex - this.minIndex) {
      // Dense: a scan of the range is cheaper than a sort.
      const counts = this.counts
      let k = 0
      for (let i = this.minIndex; i <= this.maxIndex; i++) if (counts[i] !== 0) t[k++] = i
      t.length = k
    } else {
      const a = Int32Array.from(t).sort()
      for (let i = 0; i < a.length; i++) t[i] = a[i]
    }
    return t
  }

  /** Encodes the counts as a V2 payload (byte-identical to hdr-histogram-js). */
  encodePayload(out: ByteSink): void {
    const counts = this.counts
    let next = 0
    for (const i of this.sorted()) {
      const gap = i - next
      if (gap > 1) writeZigZag(out, -gap)
      else if (gap === 1) writeZigZag(out, 0)
      writeZigZag(out, counts[i])
      next = i + 1
    }
  }

  clear(): void {
    const counts = this.counts
    for (const i of this.touched) counts[i] = 0
    this.touched.length = 0
    this.total = 0
    this.minIndex = Number.POSITIVE_INFINITY
    this.maxIndex = -1
  }

  /**
   * The value at a percentile, exactly as the library's `getValueAtPercentile` computes it on a
   * histogram holding these counts, without building one.
   */
  valueAtPercentile(percentile: number): number {
    if (this.total === 0) return 0
    const requested = Math.min(percentile, 100)
    const fp = (requested / 100) * this.total
    const ulp = Math.pow(2, Math.floor(Math.log2(fp)) - 52)
    const target = Math.max(Math.ceil(fp - ulp), 1)
    const counts = this.counts
    let running = 0
    for (const i of this.sorted()) {
      running += counts[i]
      if (running >= target) {
        const l = getLayout()
        const v = l.valueFromIndex(i)
        return percentile === 0 ? l.lowestEquivalentValue(v) : l.highestEquivalentValue(v)
      }
    }
    return 0
  }

  /**
   * A library histogram with these counts, for percentile queries. `into` is reset and reused
   * instead of allocating a new one (a histogram of the full range is hundreds of KiB).
   */
  toHistogram(into?: Histogram): Histogram {
    const h = into ?? newLibraryHistogram()
    if (into) into.reset()
    for (const i of this.sorted()) h.recordValueWithCount(bucketValue(i), this.counts[i])
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
