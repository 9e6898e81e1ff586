/**
 * Capacity records in a dir: store: the file layout and damaged files (what every store promises
 * about capacity records is in store-contract.test.ts).
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

it('keeps one file per run under _capacity/<owner>/<name>/<scenario>', async () => {
  for (const i of [3, 1, 2]) await store.putCapacity(capacityRecord(`run-${i}`, T0 + i * 1000))
  expect(readdirSync(join(dir, '_capacity', 'octo', 'shop', 'checkout')).sort()).toEqual(
    [1, 2, 3].map(i => `${T0 + i * 1000}-run-${i}.json`)
  )
})

it('skips damaged files and names the record it will not overwrite', async () => {
  const a = capacityRecord('a', T0 + 1000)
  await store.putCapacity(a)
  writeFileSync(join(dir, '_capacity', 'octo', 'shop', 'checkout', `${T0 + 3000}-junk.json`), '{"schema":1')
  const q = { repo: 'octo/shop', scenario: 'checkout', limit: 10 }
  expect((await store.listCapacity(q)).map(r => r.runId)).toEqual(['a'])
  await expect(store.putCapacity({ ...a, capacityRps: 1 })).rejects.toThrow(
    /capacity record 1800000001000-a already exists; records are immutable/
  )
})

it('names the field of an invalid record and where it was read', () => {
  expect(() => parseCapacityRecord('f.json', { schema: 'perf-gate/baseline' })).toThrow(
    /^f.json: field 'schema'/
  )
})
