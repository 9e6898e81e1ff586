/**
 * Hardening, through the bundled CLI (dist/cli/index.js as a child process) against the sample
 * target on 127.0.0.1:
 * - SIGINT and SIGTERM stop the runners of `run`, `gate` and `gate --baseline`; a cancelled
 *   baseline job stores nothing and says CANCELLED;
 * - an unhealthy run (every response a 500) is not stored as a baseline;
 * - the dir store's index is a checked cache: an edited index changes nothing, run files that do
 *   not parse are named and skipped;
 * - imports keep their partial status, a run without any task result is an ERROR naming the
 *   tasks, and implausible values are refused naming the file and the field.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { startTarget, type TargetServer } from '../../src/target/server.js'
import { cliPath, expectUsageError, fixtures, runCli } from './spawn-cli.js'

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms))

async function runFilesUnder(dir: string): Promise<string[]> {
  let names: string[]
  try {
    names = (await readdir(dir, { recursive: true })).map(String)
  } catch {
    return []
  }
  return names.filter(n => /\d+-.+-\d+\.json$/.test(n) && !n.endsWith('index.json')).map(n => join(dir, n))
}

describe('perf-gate CLI hardening', () => {
  let target: TargetServer
  let dir: string

  beforeAll(async () => {
    target = await startTarget({ port: 0, maxSeconds: 600 })
    dir = await mkdtemp(join(tmpdir(), 'pg-cli-hard-'))
  })
  afterAll(async () => {
    await target?.close()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  const load = (scenario: string, store: string, duration = '2s') => [
    '--engine',
    'http',
    '--target',
    target.url,
    '--request',
    'GET /fast',
    '--vus',
    '2',
    '--duration',
    duration,
    '--scenario',
    scenario,
    '--baseline-store',
    `dir:${store}`,
    '--repo',
    'acme/shop'
  ]

  describe('signals', () => {
    it.each([
      ['run', 'SIGTERM'],
      ['run', 'SIGINT'],
      ['gate', 'SIGTERM'],
      ['gate', 'SIGINT'],
      ['baseline', 'SIGINT'],
      ['baseline', 'SIGTERM'],
      ['stress', 'SIGTERM'],
      ['stress', 'SIGINT']
    ] as const)(
      '%s: %s stops every runner',
      async (command, sig) => {
        const store = join(dir, `sig-${command}-${sig}`)
        const args =
          command === 'run'
            ? [
                'run',
                '--target',
                target.url,
                '--tasks',
                '2',
                '--vus',
                '2',
                '--duration',
                '60s',
                '--out',
                join(store, 'run.json')
              ]
            : command === 'gate'
              ? ['gate', ...load(`sig-${sig}`, store, '60s')]
              : command === 'stress'
                ? [
                    'stress',
                    '--target',
                    target.url,
                    '--request',
                    'GET /fast',
                    '--vus',
                    '2',
                    '--multiplier',
                    '2',
                    '--profile-param',
                    'steps=2',
                    '--duration',
                    '60s',
                    '--no-store'
                  ]
                : ['gate', '--baseline', '--replicates', '3', ...load(`sig-b-${sig}`, store, '60s')]
        const before = target.stats().served
        const child = spawn(process.execPath, [cliPath, ...args], {
          cwd: dir,
          env: { ...process.env, NO_COLOR: '1' },
          stdio: ['ignore', 'pipe', 'pipe']
        })
        let stdout = ''
        let stderr = ''
        child.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')))
        child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')))
        const exited = new Promise<number | null>(res => child.on('close', code => res(code)))
        let code: number | null | 'timeout'
        try {
          for (let i = 0; i < 100 && target.stats().served - before < 20; i++) await sleep(200)
          expect(target.stats().served - before).toBeGreaterThanOrEqual(20)
          process.kill(child.pid!, sig)
          code = await Promise.race([exited, sleep(45_000).then(() => 'timeout' as const)])
        } finally {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
        }
        // stress analyses what the stopped run recorded (0) or says it could not (1).
        if (command === 'stress') expect([0, 1]).toContain(code)
        else expect({ code, stderr }).toEqual({ code: 1, stderr })
        expect(stderr).toContain(`interrupted; stopping the tasks and collecting what they wrote (${sig})`)
        // The target sees no more load once the command has returned.
        const served = target.stats().served
        await sleep(1500)
        expect(target.stats().served).toBe(served)
        if (command === 'baseline') {
          expect(stdout).toMatch(/perf-gate CANCELLED/)
          expect(stdout).toMatch(/no baseline was stored/)
          expect(await runFilesUnder(store)).toEqual([])
        }
      },
      90_000
    )
  })

  it('a run whose every response is an error is not stored as a baseline', async () => {
    const store = join(dir, 'unhealthy')
    target.setFaults({ '/fast': { errorRate: 1 } })
    try {
      const r = await runCli(['gate', '--baseline', '--replicates', '1', ...load('unhealthy', store)], {
        timeoutMs: 60_000
      })
      expect(r.code).toBe(1)
      expect(r.stdout).toMatch(/perf-gate ERROR/)
      expect(r.stdout).toMatch(/unhealthy: the error rate in the steady window is 100\.0%, above the 5\.0%/)
      expect(await runFilesUnder(store)).toEqual([])
    } finally {
      target.setFaults({})
    }
    // Too few requests in the steady window: 1 VU for 1 s against a 20–200 ms route.
    const few = await runCli(
      [
        'gate',
        '--baseline',
        '--replicates',
        '1',
        ...load('few', store, '1s').map(a => (a === 'GET /fast' ? 'GET /slow' : a === '2' ? '1' : a))
      ],
      { timeoutMs: 60_000 }
    )
    expect(few.code).toBe(1)
    expect(few.stderr).toMatch(
      /not stored: unhealthy: \d+ request\(s\) in the steady window, fewer than the 100/
    )
    expect(await runFilesUnder(store)).toEqual([])
    // With an error-rate SLO that allows it, the same failures still break the SLO.
    target.setFaults({ '/fast': { errorRate: 0.5 } })
    try {
      const r = await runCli(
        [
          'gate',
          '--baseline',
          '--replicates',
          '1',
          '--threshold',
          'http_req_failed: rate<0.2',
          ...load('unhealthy-slo', store)
        ],
        { timeoutMs: 60_000 }
      )
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/not stored: unhealthy: .*breaks the SLO http_req_failed: rate<0\.2/)
      expect(await runFilesUnder(store)).toEqual([])
    } finally {
      target.setFaults({})
    }
  }, 150_000)

  it('the dir store checks its index against the run files and names the files it skips', async () => {
    const store = join(dir, 'index')
    const base = await runCli(['gate', '--baseline', '--replicates', '2', ...load('idx', store)], {
      timeoutMs: 90_000
    })
    expect(base.code).toBe(0)
    const files = await runFilesUnder(store)
    expect(files).toHaveLength(2)
    const indexPath = join(dirname(files[0]), 'index.json')
    const realP95 = (
      JSON.parse(await readFile(files[0], 'utf8')) as { record: { metrics: { p95Ms: number } } }
    ).record.metrics.p95Ms

    // An index whose p95 was multiplied by 100 is not believed: the gate reads the files.
    const index = JSON.parse(await readFile(indexPath, 'utf8')) as {
      records: { metrics: { p95Ms: number } }[]
    }
    for (const r of index.records) r.metrics.p95Ms *= 100
    await writeFile(indexPath, JSON.stringify(index))
    const judged = await runCli(['gate', '--report-dir', join(dir, 'idx-report'), ...load('idx', store)], {
      timeoutMs: 90_000
    })
    expect(judged.stderr).toMatch(/using 2 comparable baseline\(s\)/)
    expect(judged.stdout).not.toMatch(/-9\d\.\d%|−9\d\.\d%/)
    const rewritten = JSON.parse(await readFile(indexPath, 'utf8')) as {
      records: { metrics: { p95Ms: number } }[]
    }
    expect(rewritten.records.map(r => r.metrics.p95Ms)).toContain(realP95)
    expect(rewritten.records.every(r => r.metrics.p95Ms < realP95 * 50)).toBe(true)

    // Run files replaced by garbage are named and skipped; the index alone is no baseline.
    for (const f of files) await writeFile(f, 'garbage')
    const r = await runCli(['gate', ...load('idx', store)], { timeoutMs: 90_000 })
    for (const f of files) expect(r.stderr).toContain(`skipped ${f}: is not valid JSON`)
    expect(r.stderr).toMatch(/no comparable baseline found/)
    expect(r.stdout).toMatch(/no comparable baseline/)
  }, 240_000)

  describe('imports', () => {
    let runFile: string
    let run: {
      run: { expectedTasks: number; missingTasks: unknown[]; facts: Record<string, unknown> }
      tasks: { task: Record<string, unknown>; labels: Record<string, { minUs: number[]; maxUs: number[] }> }[]
    }
    const variant = async (name: string, edit: (doc: typeof run) => void): Promise<string> => {
      const doc = JSON.parse(JSON.stringify(run)) as typeof run
      edit(doc)
      const file = join(dir, name)
      await writeFile(file, JSON.stringify(doc))
      return file
    }

    beforeAll(async () => {
      runFile = join(dir, 'two-tasks.json')
      const r = await runCli(
        [
          'run',
          '--target',
          target.url,
          '--request',
          'GET /fast',
          '--tasks',
          '2',
          '--vus',
          '2',
          '--duration',
          '2s',
          '--out',
          runFile
        ],
        { cwd: dir, timeoutMs: 60_000 }
      )
      if (r.code !== 0) throw new Error(`perf-gate run failed: ${r.stderr}`)
      run = JSON.parse(await readFile(runFile, 'utf8')) as typeof run
      if (run.tasks.length !== 2) throw new Error(`expected 2 task results, got ${run.tasks.length}`)
    }, 90_000)

    it('a partial run result stays partial: not stored as a baseline, not judged', async () => {
      const partial = await variant('partial.json', d => {
        d.tasks = d.tasks.slice(0, 1)
        d.run.expectedTasks = 2
        d.run.missingTasks = [{ region: 'local', taskIndex: 1, reason: 'no result file' }]
      })
      const store = join(dir, 'imports')
      const b = await runCli(['gate', '--baseline', '--results', partial, '--baseline-store', `dir:${store}`])
      expect(b.code).toBe(1)
      expect(b.stdout).toMatch(/the run is partial: 1 of 2 task\(s\) missing \(local\/1: no result file\)/)
      expect(await runFilesUnder(store)).toEqual([])

      const aborted = await variant('aborted.json', d => {
        d.run.facts.aborted = true
        for (const t of d.tasks) t.task.status = 'aborted'
      })
      const g = await runCli(['gate', '--results', aborted, '--baseline-store', `dir:${store}`])
      expect(g.code).toBe(1)
      expect(g.stdout).toMatch(/perf-gate ERROR/)
      expect(g.stdout).toMatch(/has status 'aborted'/)
    })

    it('a run without any task result is an ERROR naming the missing tasks', async () => {
      const none = await variant('no-tasks.json', d => {
        d.tasks = []
        d.run.expectedTasks = 2
        d.run.missingTasks = [
          { region: 'us-east-1', taskIndex: 0, reason: 'no capacity' },
          { region: 'eu-west-1', taskIndex: 1, reason: 'no capacity' }
        ]
      })
      const r = await runCli(['gate', '--results', none, '--baseline-store', `dir:${join(dir, 'none')}`])
      expect(r.code).toBe(1)
      expect(r.stderr).not.toMatch(/no task results to report on/)
      expect(r.stdout).toMatch(/perf-gate ERROR/)
      expect(r.stdout).toMatch(/us-east-1\/0: no capacity; eu-west-1\/1: no capacity/)
    })

    it.each([
      [
        'endedMs before startedMs',
        (d: typeof run) => {
          d.tasks[0].task.endedMs = (d.tasks[0].task.startedMs as number) - 1000
        },
        "field 'tasks[0].task.endedMs'"
      ],
      [
        'a latency of 1e12 ms',
        (d: typeof run) => {
          const s = Object.values(d.tasks[1].labels)[0]
          s.maxUs[0] = 1e15
        },
        "field 'tasks[1].labels."
      ]
    ])('a run result with %s is refused naming the file and field', async (name, edit, field) => {
      const file = await variant(`bad-${name.replace(/\W+/g, '-')}.json`, edit)
      const store = join(dir, 'bad')
      const line = expectUsageError(
        await runCli(['gate', '--baseline', '--results', file, '--baseline-store', `dir:${store}`]),
        file
      )
      expect(line).toContain(field)
      expect(await runFilesUnder(store)).toEqual([])
    })

    it.each([
      ['negative', -5, 'is -5 ms; latencies must be between 0 and 3600000 ms'],
      ['1e12 ms', 1e12, 'is 1000000000000 ms; latencies must be between 0 and 3600000 ms']
    ])('a k6 file with a %s latency is refused naming the file', async (name, value, detail) => {
      // The k6 fixture with its first request's duration replaced.
      const text = await readFile(join(fixtures, 'k6', 'v0.48.0-default', 'results.json'), 'utf8')
      const lines = text.split('\n')
      const i = lines.findIndex(l => l.startsWith('{"metric":"http_req_duration","type":"Point"'))
      expect(i).toBeGreaterThan(0)
      lines[i] = lines[i].replace(/"value":[^,]+,/, `"value":${value},`)
      const file = join(dir, `k6-${name.replace(/\W+/g, '-')}.json`)
      await writeFile(file, lines.join('\n'))
      const store = join(dir, 'bad-k6')
      const line = expectUsageError(
        await runCli(['gate', '--baseline', '--results', file, '--baseline-store', `dir:${store}`]),
        file
      )
      expect(line).toContain(detail)
      expect(await runFilesUnder(store)).toEqual([])
    })
  })
})
