import { inflateSync } from 'node:zlib'
import { build, encodeIntoCompressedBase64 } from 'hdr-histogram-js'
import fc from 'fast-check'
import { ByteSink, DenseCounts, HDR_HIGHEST_US, bucketIndex } from '../../src/results/hdr.js'

function libraryPayload(values: number[]): Uint8Array {
  const h = build({
    bitBucketSize: 64,
    lowestDiscernibleValue: 1,
    highestTrackableValue: HDR_HIGHEST_US,
    numberOfSignificantValueDigits: 3
  })
  for (const v of values) h.recordValue(v)
  // Compressed V2: 4-byte cookie, 4-byte length, zlib stream of the V2 encoding (40-byte header + payload).
  const compressed = Buffer.from(encodeIntoCompressedBase64(h), 'base64')
  return inflateSync(compressed.subarray(8)).subarray(40)
}

describe('HDR payload codec', () => {
  it('writes payloads byte-identical to hdr-histogram-js', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 50_000_000 }), { minLength: 1, maxLength: 300 }),
        values => {
          const d = new DenseCounts()
          for (const v of values) d.recordUs(v)
          const sink = new ByteSink()
          d.encodePayload(sink)
          expect(Buffer.from(sink.bytes()).equals(Buffer.from(libraryPayload(values)))).toBe(true)
        }
      ),
      { numRuns: 200 }
    )
  })

  it('reads back exactly what it wrote, and percentiles match the library', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 10_000_000 }), { minLength: 1, maxLength: 500 }),
        values => {
          const d = new DenseCounts()
          for (const v of values) d.recordUs(v)
          const sink = new ByteSink()
          d.encodePayload(sink)
          const back = new DenseCounts()
          expect(back.addPayload(sink.bytes(), 0, sink.length)).toBe(values.length)
          const lib = build({
            bitBucketSize: 64,
            lowestDiscernibleValue: 1,
            highestTrackableValue: HDR_HIGHEST_US,
            numberOfSignificantValueDigits: 3
          })
          for (const v of values) lib.recordValue(v)
          const mine = back.toHistogram()
          for (const p of [0, 50, 90, 95, 99, 99.9, 100])
            expect(mine.getValueAtPercentile(p)).toBe(lib.getValueAtPercentile(p))
        }
      ),
      { numRuns: 100 }
    )
  })

  it('clamps values above the trackable range instead of throwing', () => {
    const d = new DenseCounts()
    d.recordUs(HDR_HIGHEST_US * 10)
    expect(d.total).toBe(1)
    expect(d.maxIndex).toBe(bucketIndex(HDR_HIGHEST_US))
  })

  it('rejects a truncated payload', () => {
    const d = new DenseCounts()
    expect(() => d.addPayload(new Uint8Array([0x80]), 0, 1)).toThrow(/truncated/)
  })
})

describe('bucket index fast path', () => {
  it('agrees with the library on every kind of value', async () => {
    const { bucketIndex: fast, libraryBucketIndex } = await import('../../src/results/hdr.js')
    const edges: number[] = [
      0,
      1,
      2,
      1023,
      1024,
      2047,
      2048,
      2049,
      4095,
      4096,
      2 ** 20,
      2 ** 31 - 1,
      2 ** 31,
      2 ** 32 + 5,
      HDR_HIGHEST_US
    ]
    for (let k = 0; k < 31; k++) edges.push(2 ** k - 1, 2 ** k, 2 ** k + 1)
    for (const v of edges) expect(fast(v)).toBe(libraryBucketIndex(v))
    fc.assert(
      fc.property(fc.integer({ min: 0, max: HDR_HIGHEST_US }), v => fast(v) === libraryBucketIndex(v)),
      { numRuns: 20000 }
    )
  })
})

describe('DenseCounts.valueAtPercentile', () => {
  it('equals the library histogram of the same counts at every percentile', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: HDR_HIGHEST_US }), fc.integer({ min: 1, max: 5 })), {
          minLength: 1,
          maxLength: 300
        }),
        fc.constantFrom(0, 0.1, 1, 33.3333, 50, 90, 95, 99, 99.9, 99.99, 100),
        (values, p) => {
          const d = new DenseCounts()
          for (const [v, n] of values) d.recordUs(v, n)
          return d.valueAtPercentile(p) === d.toHistogram().getValueAtPercentile(p)
        }
      ),
      { numRuns: 500 }
    )
  })
})
