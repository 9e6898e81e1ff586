/** Durations as the scenario file, the flags and the profiles write them. */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/**
 * Parses a duration into seconds: `500ms`, `30s`, `2m`, `1h30m`, `1.5s`; a bare number (or numeric
 * string) is seconds. Returns null when the value is not a duration.
 */
export function parseDuration(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v : null
  if (typeof v !== 'string') return null
  const s = v.trim()
  if (s === '') return null
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s)
  const part = /(\d+(?:\.\d+)?)(ms|h|m|s)/y
  let ms = 0
  let pos = 0
  while (pos < s.length) {
    part.lastIndex = pos
    const m = part.exec(s)
    if (!m) return null
    ms += Number(m[1]) * UNIT_MS[m[2]]
    pos = part.lastIndex
  }
  return ms / 1000
}
