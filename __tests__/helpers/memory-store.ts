/** An in-memory baseline store for job tests, with switches that make each operation fail. */
import type { CapacityQuery, CapacityRecord } from '../../src/baseline/capacity.js'
import type { BaselineQuery, BaselineRecord } from '../../src/baseline/model.js'
import type { BaselineStore } from '../../src/baseline/store.js'
import type { RunResult } from '../../src/results/model.js'

export class MemoryBaselineStore implements BaselineStore {
  readonly kind = 'dir' as const
  readonly location = 'memory:baselines'
  readonly baselines: { record: BaselineRecord; run: RunResult }[] = []
  readonly capacity: CapacityRecord[] = []
  /** Errors the next calls of each operation throw. */
  failPut: Error | null = null
  failList: Error | null = null
  failLoad: Error | null = null
  /** The queries `list` was asked. */
  readonly queries: BaselineQuery[] = []

  async put(record: BaselineRecord, run: RunResult): Promise<void> {
    if (this.failPut) throw this.failPut
    this.baselines.push({ record, run })
  }

  async list(q: BaselineQuery): Promise<BaselineRecord[]> {
    this.queries.push(q)
    if (this.failList) throw this.failList
    return this.baselines
      .map(b => b.record)
      .filter(r => r.repo === q.repo && r.scenario === q.scenario && r.fingerprint === q.fingerprint)
      .sort((a, b) => a.createdMs - b.createdMs)
      .slice(-q.limit)
  }

  async load(record: BaselineRecord): Promise<RunResult> {
    if (this.failLoad) throw this.failLoad
    const hit = this.baselines.find(b => b.record.id === record.id)
    if (!hit) throw new Error(`no baseline ${record.id}`)
    return hit.run
  }

  async putCapacity(record: CapacityRecord): Promise<void> {
    if (this.failPut) throw this.failPut
    this.capacity.push(record)
  }

  async listCapacity(q: CapacityQuery): Promise<CapacityRecord[]> {
    return this.capacity
      .filter(r => r.repo === q.repo && r.scenario === q.scenario)
      .filter(r => q.fingerprint === undefined || r.fingerprint === q.fingerprint)
      .sort((a, b) => a.createdMs - b.createdMs)
      .slice(-q.limit)
  }
}
