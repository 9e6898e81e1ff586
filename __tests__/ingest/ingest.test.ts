/**
 * Reading engine output and result files in process: the format is told from each file, engine
 * files become one task each at the result files' interval, and what cannot be read is refused
 * with one line naming the file.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { IngestError } from '../../src/ingest/formats.js'
import { ingestFiles } from '../../src/ingest/ingest.js'
import { defaultTaskMeta } from '../../src/results/model.js'
import { TaskRecorder } from '../../src/results/recorder.js'
import { synthSamples } from '../helpers/synthetic.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const fixtures = resolve(root, 'fixtures')
const k6Json = resolve(fixtures, 'k6', 'v0.48.0-default', 'results.json')
const k6Csv = resolve(fixtures, 'k6', 'v0.48.0-default', 'results.csv')
const jtl = resolve(fixtures, 'jmeter', '2.13-default', 'results.jtl')
const locust = resolve(fixtures, 'locust', 'hooks', 'requests.ndjson')

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pg-ingest-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function file(name: string, content: string | Buffer): string {
  const p = join(dir, name)
  writeFileSync(p, content)
  return p
}

describe('ingestFiles', () => {
  it('tells each engine format apart and makes one task per file, numbered in order', async () => {
    const read = await ingestFiles([k6Json, k6Csv, jtl, locust])
    expect(read.map(r => r.format)).toEqual(['k6-json', 'k6-csv', 'jmeter', 'locust'])
    expect(read.map(r => r.tasks[0].task.engine)).toEqual(['k6', 'k6', 'jmeter', 'locust'])
    expect(read.map(r => r.tasks[0].task.taskIndex)).toEqual([0, 1, 2, 3])
    for (const r of read) {
      expect(r.tasks).toHaveLength(1)
      expect(r.tasks[0].task.taskCount).toBe(4)
      expect(r.tasks[0].task.backend).toBe('import')
      expect(r.tasks[0].task.sources).toEqual([r.file])
      expect(r.samples).toBeGreaterThan(0)
    }
  })

  it('reads a gzipped file like the plain one', async () => {
    const gz = file('results.json.gz', gzipSync(readFileSync(k6Json)))
    const [plain, zipped] = await ingestFiles([k6Json, gz])
    expect(zipped.format).toBe('k6-json')
    expect(zipped.samples).toBe(plain.samples)
    expect(zipped.tasks[0].labels).toEqual(plain.tasks[0].labels)
  })

  it('keeps the tasks of a result file and records engine files at its interval', async () => {
    const rec = new TaskRecorder({ intervalMs: 5000 })
    for (const s of synthSamples({ seed: 3, samples: 200 })) rec.sample(s)
    const result = file('task.json', JSON.stringify(rec.finish(defaultTaskMeta({ engine: 'http' }))))
    const [engineFile, resultFile] = await ingestFiles([jtl, result])
    expect(resultFile.format).toBe('result')
    expect(resultFile.tasks[0].task.engine).toBe('http')
    expect(resultFile.tasks[0].intervalMs).toBe(5000)
    expect(engineFile.tasks[0].intervalMs).toBe(5000)
    expect(engineFile.tasks[0].task.taskCount).toBe(1)
  })

  it('refuses an implausible result file, naming the file and the field', async () => {
    const rec = new TaskRecorder()
    for (const s of synthSamples({ seed: 4, samples: 50 })) rec.sample(s)
    const task = rec.finish(defaultTaskMeta({ engine: 'http' }))
    const label = Object.keys(task.labels)[0]
    task.labels[label].minUs[0] = task.labels[label].maxUs[0] + 1
    const bad = file('bad.json', JSON.stringify(task))
    const err = await ingestFiles([bad]).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IngestError)
    expect((err as Error).message).toBe(
      `${bad}: field 'labels.${label}.minUs[0]': is ${task.labels[label].minUs[0]}, above maxUs ${task.labels[label].maxUs[0]}`
    )
  })

  it('refuses empty, unknown and missing files with one line naming them', async () => {
    const empty = file('empty.txt', '')
    await expect(ingestFiles([empty])).rejects.toThrow(`${empty}: is empty`)
    const prose = file('notes.txt', 'hello\nworld\n')
    await expect(ingestFiles([prose])).rejects.toThrow(
      `${prose}: unknown format; expected k6 JSON or CSV output`
    )
    const missing = join(dir, 'nope.jtl')
    await expect(ingestFiles([missing])).rejects.toThrow(`${missing}: no such file`)
  })

  it('forces the parser of a given engine, and says when the file holds no requests for it', async () => {
    const [asJmeter] = await ingestFiles([jtl], { engine: 'jmeter' })
    expect(asJmeter.format).toBe('jmeter')
    await expect(ingestFiles([locust], { engine: 'jmeter' })).rejects.toThrow(
      /no requests found in this JMeter JTL file \(\d+ records? could not be used\)/
    )
  })
})
