/**
 * Timing overrides from an environment variable holding JSON of milliseconds, e.g.
 * `{"pollMs": 2000}`: for tests, and for networks slower than the defaults assume.
 */
export function timingOverrides<T extends object>(
  env: NodeJS.ProcessEnv,
  name: string,
  defaults: T
): Partial<T> {
  const raw = env[name]?.trim()
  if (!raw) return {}
  let doc: unknown
  try {
    doc = JSON.parse(raw)
  } catch {
    throw new Error(`${name}: expected JSON like {"pollMs": 2000}`)
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    throw new Error(`${name}: expected a JSON object`)
  const out: Record<string, number> = {}
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    if (!(k in defaults)) throw new Error(`${name}: unknown field ${k}`)
    if (typeof v !== 'number' || !(v > 0)) throw new Error(`${name}.${k}: expected milliseconds above 0`)
    out[k] = v
  }
  return out as Partial<T>
}
