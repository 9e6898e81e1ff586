/**
 * The scenario fingerprint: a sha256 over the canonical form of what the system under test sees,
 * so that runs are compared only with runs of the same load.
 */
import { createHash } from 'node:crypto'
import type { Scenario } from './scenario.js'
import type { ExpandedProfile } from '../model/index.js'

/** JSON with object keys sorted at every level, so equal configs give equal text. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`
  }
  return JSON.stringify(v ?? null)
}

/**
 * sha256 of the canonical scenario: engine, script content hash, target, load shape (VUs,
 * duration, ramp-up, stages) and requests. Task count, interval, thresholds and env are left out:
 * they do not change the load the system under test sees.
 */
export function scenarioFingerprint(
  s: Pick<
    Scenario,
    'engine' | 'scriptHash' | 'target' | 'vus' | 'durationS' | 'rampUpS' | 'stages' | 'requests'
  > & { profile?: Pick<ExpandedProfile, 'name' | 'params'>; scriptLoad?: boolean }
): string {
  const doc = {
    engine: s.engine,
    script: s.scriptHash ?? null,
    target: s.target,
    load: { vus: s.vus, durationS: s.durationS, rampUpS: s.rampUpS, stages: s.stages ?? null },
    requests:
      s.requests?.map(r => ({
        label: r.label ?? null,
        method: (r.method ?? 'GET').toUpperCase(),
        path: r.path,
        headers: r.headers ?? {},
        body: r.body ?? null
      })) ?? null,
    // Only present with a profile, so the fingerprints of runs without one do not change.
    profile: s.profile ? { name: s.profile.name, params: s.profile.params } : undefined,
    // Only present for a k6 script's own load (whose options the script hash covers).
    scriptLoad: s.scriptLoad ? true : undefined
  }
  return createHash('sha256').update(canonicalJson(doc)).digest('hex')
}
