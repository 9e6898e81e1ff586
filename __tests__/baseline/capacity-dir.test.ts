/**
 * Capacity records in a dir: store: written once, listed per repository and scenario (and
 * fingerprint), newest last, damaged files skipped, never mixed with baselines.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createBaselineStore, parseCapacityRecord, type BaselineStore } from '../../src/baseline/index.js'
import { capacityRecord } from '../helpers/capacity-record.js'

const T0 = 1_800_000_000_000
let dir: string
let store: BaselineStore

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'perf-gate-capacity-'))
  store = await createBaselineStore(`dir:${dir}`)
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

it('keeps one file per run under _capacity and lists them oldest first, at most limit', async () => {
  const recs = [3, 1, 2].map(i => capacityRecord(`run-${i}`, T0 + i * 1000, { capacityRps: 70 + i }))
  for (const r of recs) await store.putCapacity(r)
  expect(readdirSync(join(dir, '_capacity', 'octo', 'shop', 'checkout')).sort()).toEqual(
    [1, 2, 3].map(i => `${T0 + i * 1000}-run-${i}.json`)
  )
  const q = { repo: 'octo/shop', scenario: 'checkout', limit: 10 }
  expect((await store.listCapacity(q)).map(r => r.capacityRps)).toEqual([71, 72, 73])
  expect((await store.listCapacity({ ...q, limit: 2 })).map(r => r.runId)).toEqual(['run-2', 'run-3'])
  expect(await store.listCapacity({ ...q, scenario: 'search' })).toEqual([])
  // baselines of the same scenario are unaffected
  expect(
    await store.list({ repo: 'octo/shop', scenario: 'checkout', fingerprint: 'fp-a', limit: 5 })
  ).toEqual([])
})

it('filters by fingerprint, skips damaged files and never overwrites a record', async () => {
  const a = capacityRecord('a', T0 + 1000)
  await store.putCapacity(a)
  await store.putCapacity(capacityRecord('b', T0 + 2000, { fingerprint: 'fp-b' }))
  writeFileSync(join(dir, '_capacity', 'octo', 'shop', 'checkout', `${T0 + 3000}-junk.json`), '{"schema":1')
  const q = { repo: 'octo/shop', scenario: 'checkout', limit: 10 }
  expect((await store.listCapacity({ ...q, fingerprint: 'fp-a' })).map(r => r.runId)).toEqual(['a'])
  expect((await store.listCapacity(q)).map(r => r.runId)).toEqual(['a', 'b'])
  await expect(store.putCapacity({ ...a, capacityRps: 1 })).rejects.toThrow(
    /capacity record 1800000001000-a already exists; records are immutable/
  )
  expect((await store.listCapacity(q))[0].capacityRps).toBe(80)
})

it('refuses an invalid record, naming the field', async () => {
  await expect(
    store.putCapacity({ ...capacityRecord('x', T0), capacityRps: 'lots' as never })
  ).rejects.toThrow("capacity record: field 'capacityRps' of the capacity record")
  await expect(store.putCapacity({ ...capacityRecord('x', T0), id: 'other' })).rejects.toThrow(
    'capacity record other: the id must be <createdMs>-<runId>'
  )
  expect(() => parseCapacityRecord('f.json', { schema: 'perf-gate/baseline' })).toThrow(
    /^f.json: field 'schema'/
  )
})
