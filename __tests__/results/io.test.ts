import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readResultFile, ResultFileError } from '../../src/results/io.js'
import { RUN_RESULT_SCHEMA, RESULT_VERSION } from '../../src/results/model.js'
import { ResultView } from '../../src/results/query.js'
import { synthSamples, taskFromSamples } from '../helpers/synthetic.js'

async function tmpFile(name: string, content: string | Buffer): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'pg-io-'))
  const f = join(dir, name)
  await writeFile(f, content)
  return f
}

describe('reading result files', () => {
  const good = taskFromSamples(synthSamples({ seed: 11, samples: 400 }))

  it('round-trips a task result and a run result', async () => {
    const f = await tmpFile('task.json', JSON.stringify(good))
    const [t] = await readResultFile(f)
    expect(new ResultView([t]).stats({ window: 'all' }).requests).toBe(400)
    const run = {
      schema: RUN_RESULT_SCHEMA,
      version: RESULT_VERSION,
      run: {
        runId: 'r',
        scenario: 's',
        fingerprint: 'f',
        backend: 'local',
        createdMs: 1,
        expectedTasks: 2,
        missingTasks: [],
        facts: {}
      },
      tasks: [good, good]
    }
    const g = await tmpFile('run.json', JSON.stringify(run))
    expect(await readResultFile(g)).toHaveLength(2)
  })

  it('names the file for non-JSON input', async () => {
    const f = await tmpFile('garbage.json', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2]))
    await expect(readResultFile(f)).rejects.toThrow(`${f}: is not valid JSON`)
  })

  it('names the schema field for a foreign JSON document', async () => {
    const f = await tmpFile('foreign.json', JSON.stringify({ hello: 'world' }))
    await expect(readResultFile(f)).rejects.toThrow(
      /field 'schema': is missing; this is not a perf-gate result/
    )
  })

  it('refuses newer versions with an upgrade hint', async () => {
    const f = await tmpFile('v9.json', JSON.stringify({ ...good, version: 9 }))
    await expect(readResultFile(f)).rejects.toThrow(
      /field 'version': is 9; this perf-gate reads result versions up to 1/
    )
  })

  it('names the nested field that is wrong', async () => {
    const label = Object.keys(good.labels)[0]
    const bad = JSON.parse(JSON.stringify(good))
    bad.labels[label].requests[0] = 'many'
    const f = await tmpFile('bad.json', JSON.stringify(bad))
    const err = await readResultFile(f).catch(e => e)
    expect(err).toBeInstanceOf(ResultFileError)
    expect(err.message).toContain(`field 'labels.${label}.requests[0]'`)
  })

  it('detects misaligned interval arrays', async () => {
    const label = Object.keys(good.labels)[0]
    const bad = JSON.parse(JSON.stringify(good))
    bad.labels[label].sumUs.pop()
    const f = await tmpFile('short.json', JSON.stringify(bad))
    await expect(readResultFile(f)).rejects.toThrow(`field 'labels.${label}.sumUs'`)
  })

  it('detects a corrupt histogram blob when it is used', async () => {
    const label = Object.keys(good.labels)[0]
    const bad = JSON.parse(JSON.stringify(good))
    bad.labels[label].hist = Buffer.from('not deflate data at all').toString('base64')
    const f = await tmpFile('corrupt.json', JSON.stringify(bad))
    const tasks = await readResultFile(f)
    expect(() => new ResultView(tasks, [f]).stats({ window: 'all' })).toThrow(/field 'hist'/)
  })

  it('detects a histogram that disagrees with the request counts', async () => {
    const a = taskFromSamples(synthSamples({ seed: 12, samples: 300 }))
    const label = Object.keys(a.labels)[0]
    a.labels[label].requests[0] += 1
    const { mergeTasks } = await import('../../src/results/merge.js')
    expect(() => mergeTasks([a], ['a.json'])).toThrow(/holds \d+ latencies but 'requests' says/)
  })
})
