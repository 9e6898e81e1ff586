/** Capacity records for store tests. */
import {
  capacityId,
  CAPACITY_SCHEMA,
  CAPACITY_VERSION,
  type CapacityRecord
} from '../../src/baseline/capacity.js'

export function capacityRecord(
  runId: string,
  createdMs: number,
  o: Partial<Omit<CapacityRecord, 'id' | 'runId' | 'createdMs'>> = {}
): CapacityRecord {
  return {
    schema: CAPACITY_SCHEMA,
    version: CAPACITY_VERSION,
    id: capacityId(createdMs, runId),
    repo: 'octo/shop',
    scenario: 'checkout',
    fingerprint: 'fp-a',
    profile: 'stress',
    commit: 'c0ffee',
    ref: 'refs/heads/main',
    createdMs,
    runId,
    capacityRps: 80,
    peakRps: 82,
    breakingVus: 4,
    breaksAtVus: 6,
    breaksAtRps: 81,
    kneeVus: 4,
    kneeRps: 80,
    recoveryS: null,
    degraded: null,
    stoppedEarly: true,
    sentence: 'sustains 80 req/s at p95 < 65 ms (4 VUs); breaks at 81 req/s (6 VUs)',
    steps: [
      { label: 'step 1', vus: 2, rps: 40, p95Ms: 52, errorRate: 0, held: true },
      { label: 'step 2', vus: 4, rps: 80, p95Ms: 54, errorRate: 0, held: true },
      { label: 'step 3', vus: 6, rps: 81, p95Ms: 100, errorRate: 0, held: false },
      { label: 'step 4', vus: 8, rps: 0, p95Ms: null, errorRate: 0, held: null }
    ],
    ...o
  }
}
