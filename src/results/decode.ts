/**
 * Lazy access to a label series' encoded histograms.
 */
import { inflateRawSync } from 'node:zlib'
import { readVarUint } from './hdr.js'
import type { LabelSeries } from './model.js'
import { errorMessage } from '../util/index.js'

export interface DecodedHist {
  bytes: Uint8Array
  /** starts[i]..ends[i] is the payload of interval idx[i]. */
  starts: Int32Array
  ends: Int32Array
}

const cache = new WeakMap<LabelSeries, DecodedHist>()

export class HistogramDataError extends Error {}

/** Inflates a series' histogram blob once and indexes its payloads. */
export function decodeHist(series: LabelSeries, where: string, useCache = true): DecodedHist {
  const hit = useCache ? cache.get(series) : undefined
  if (hit) return hit
  let bytes: Uint8Array
  try {
    bytes = inflateRawSync(Buffer.from(series.hist, 'base64'))
  } catch (e) {
    throw new HistogramDataError(
      `${where}: field 'hist' is not a valid compressed histogram (${errorMessage(e)})`
    )
  }
  const n = series.idx.length
  const starts = new Int32Array(n)
  const ends = new Int32Array(n)
  const pos = { p: 0 }
  for (let i = 0; i < n; i++) {
    let len: number
    try {
      len = readVarUint(bytes, pos)
    } catch {
      throw new HistogramDataError(`${where}: field 'hist' holds ${i} histograms, expected ${n}`)
    }
    starts[i] = pos.p
    pos.p += len
    ends[i] = pos.p
    if (pos.p > bytes.length)
      throw new HistogramDataError(`${where}: field 'hist' is truncated at interval ${i}`)
  }
  if (pos.p !== bytes.length)
    throw new HistogramDataError(
      `${where}: field 'hist' holds more histograms than the ${n} intervals listed`
    )
  const d = { bytes, starts, ends }
  if (useCache) cache.set(series, d)
  return d
}
