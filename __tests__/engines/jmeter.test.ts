import fc from 'fast-check'
import { spawn } from 'node:child_process'
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  JMETER_SAVE_PROPERTIES,
  jmeterEngine,
  jmeterPlanParams,
  parseJmeterVersion
} from '../../src/engines/jmeter.js'
import { createJtlParser, jtlFailureKind, type JtlParser } from '../../src/engines/jmeter-jtl.js'
import type { EngineRunContext, StreamParser } from '../../src/engines/types.js'
import { defaultTaskMeta } from '../../src/results/model.js'
import type { Sample, SampleSink } from '../../src/model/index.js'
import { ResultView } from '../../src/results/query.js'
import { TaskRecorder } from '../../src/results/recorder.js'
import { startTarget, type TargetServer } from '../../src/target/server.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const fixtures = resolve(root, 'fixtures')
const JTL_FIXTURES = {
  '2.13-default': join(fixtures, 'jmeter', '2.13-default', 'results.jtl'),
  '2.13-full': join(fixtures, 'jmeter', '2.13-full', 'results.jtl'),
  'upstream-5.x': join(fixtures, 'jmeter', 'upstream-5.x', 'HTMLReportTestFile.csv')
} as const
const DEFAULT_213 =
  'timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,bytes,grpThreads,allThreads,Latency'.split(
    ','
  )

function collector(): { sink: SampleSink; samples: Sample[]; users: [number, number][] } {
  const samples: Sample[] = []
  const users: [number, number][] = []
  return {
    samples,
    users,
    sink: {
      sample: s => samples.push(s),
      check: () => undefined,
      activeUsers: (t, n) => users.push([t, n]),
      threshold: () => undefined
    }
  }
}

function feed(parser: StreamParser, chunks: (Buffer | string)[]): void {
  for (const c of chunks) parser.push(c)
  parser.end()
}

function cut(buf: Buffer, cuts: number[]): Buffer[] {
  const pts = [...new Set(cuts)].sort((a, b) => a - b)
  const out: Buffer[] = []
  let prev = 0
  for (const p of pts) {
    out.push(buf.subarray(prev, p))
    prev = p
  }
  out.push(buf.subarray(prev))
  return out
}

/**
 * An independent, simple reading of the fixture JTLs: one record per line (the fixtures have no
 * embedded newlines) and a regex for quoted/unquoted fields.
 */
function simpleRows(path: string): Record<string, string>[] {
  const lines = readFileSync(path, 'utf8')
    .split('\n')
    .filter(l => l.length > 0)
  const split = (line: string) => {
    const fields: string[] = []
    const re = /("(?:[^"]|"")*"|[^,]*)(,|$)/g
    let m: RegExpExecArray | null
    while ((m = re.exec(line)) !== null) {
      const f = m[1]
      fields.push(f.startsWith('"') ? f.slice(1, -1).replace(/""/g, '"') : f)
      if (m[2] === '') break
    }
    return fields
  }
  let names = DEFAULT_213
  let body = lines
  if (lines[0].startsWith('timeStamp,')) {
    names = split(lines[0])
    body = lines.slice(1)
  }
  return body.map(l => {
    const f = split(l)
    if (!/^\d{13}$/.test(f[0]) || f.length !== names.length) throw new Error(`unexpected fixture line: ${l}`)
    return Object.fromEntries(names.map((n, i) => [n, f[i]]))
  })
}

describe.each(Object.entries(JTL_FIXTURES))('JTL fixture %s', (_name, path) => {
  const rows = simpleRows(path)
  const isTx = (r: Record<string, string>) => r.responseMessage.startsWith('Number of samples in transaction')
  const requests = rows.filter(r => !isTx(r))
  const failed = requests.filter(r => r.success === 'false')
  const buf = readFileSync(path)
  const c = collector()
  const parser = createJtlParser(c.sink)
  feed(parser, [buf])
  const recorder = new TaskRecorder()
  feed(createJtlParser(recorder), [buf])
  const view = new ResultView([recorder.finish(defaultTaskMeta({ engine: 'jmeter' }))])
  const all = view.stats({ window: 'all' })

  it('samples = data rows minus transaction rows; nothing skipped', () => {
    expect(parser.skipped).toBe(0)
    expect(parser.rows).toBe(rows.length)
    expect(parser.transactions).toBe(rows.length - requests.length)
    expect(parser.samples).toBe(requests.length)
    expect(all.requests).toBe(requests.length)
    expect(parser.header).toBe(readFileSync(path, 'utf8').startsWith('timeStamp,'))
    expect(parser.problem()).toBeUndefined()
  })

  it('failures by kind', () => {
    expect(all.failures).toBe(failed.length)
    const refused = failed.filter(r => r.label === 'GET closed port (connection refused)')
    const slowAssert = failed.filter(r => r.label === 'GET /slow' && r.responseCode === '200')
    const fourXX = failed.filter(r => /^4\d\d$/.test(r.responseCode))
    const fiveXX = failed.filter(r => /^5\d\d$/.test(r.responseCode))
    expect(refused.length + slowAssert.length + fourXX.length + fiveXX.length).toBe(failed.length)
    expect(all.failuresByKind.connection).toBe(refused.length)
    expect(all.failuresByKind.assertion).toBe(slowAssert.length)
    expect(all.failuresByKind.http_4xx).toBe(fourXX.length)
    expect(all.failuresByKind.http_5xx).toBe(fiveXX.length)
    if (!path.includes('5.x')) {
      expect(refused.length).toBeGreaterThan(0)
      expect(slowAssert.length).toBeGreaterThan(0)
      expect(view.stats({ window: 'all', label: 'GET /slow' }).failuresByKind.assertion).toBe(
        slowAssert.length
      )
    }
  })

  it('per-label counts, latency and bytes', () => {
    const byLabel = new Map<string, number>()
    for (const r of requests) byLabel.set(r.label, (byLabel.get(r.label) ?? 0) + 1)
    expect(view.labels()).toEqual([...byLabel.keys()].sort())
    for (const [label, n] of byLabel) expect(view.stats({ window: 'all', label }).requests).toBe(n)
    const el = requests.map(r => Number(r.elapsed)).sort((a, b) => a - b)
    expect(all.maxMs).toBe(el[el.length - 1])
    expect(all.minMs).toBe(el[0])
    expect(all.meanMs).toBeCloseTo(el.reduce((a, b) => a + b, 0) / el.length, 9)
    const nearest = el[Math.max(1, Math.ceil(0.95 * el.length)) - 1]
    expect(Math.abs(all.p95Ms - nearest)).toBeLessThanOrEqual(nearest * 1e-3 + 0.001)
    const bytesIn = requests
      .filter(r => !r.responseCode.startsWith('Non HTTP'))
      .reduce((a, r) => a + Number(r.bytes), 0)
    expect(all.bytesIn).toBe(bytesIn)
    const sent = requests.reduce((a, r) => a + Number(r.sentBytes ?? 0), 0)
    expect(all.bytesOut).toBe(sent)
    expect(c.samples.every(s => (s.bytesOut === undefined) === (rows[0].sentBytes === undefined))).toBe(true)
  })

  it('endMs = timeStamp + elapsed; active users from allThreads', () => {
    const ends = requests.map(r => Number(r.timeStamp) + Number(r.elapsed))
    expect(c.samples.map(s => s.endMs)).toEqual(ends)
    expect(Math.max(...c.users.map(u => u[1]))).toBe(Math.max(...requests.map(r => Number(r.allThreads))))
  })

  it('identical results for any chunking (property)', () => {
    const whole = JSON.stringify(c.samples)
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: buf.length }), { maxLength: 40 }), cuts => {
        const d = collector()
        const p = createJtlParser(d.sink)
        feed(p, cut(buf, cuts))
        expect(p.skipped).toBe(0)
        expect(JSON.stringify(d.samples)).toBe(whole)
      }),
      { numRuns: 30 }
    )
  })
})

describe('JTL parser details', () => {
  const HEADER =
    'timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,failureMessage,bytes,sentBytes,grpThreads,allThreads,URL,Latency,IdleTime,Connect'

  it('a quoted responseMessage with commas, quotes and a newline parses', () => {
    const text = [
      HEADER,
      '1700000000000,12,"GET a, b",503,"Service, ""really"" \nunavailable",tg 1-1,text,false,,321,45,1,3,http://x/a,10,0,1',
      ''
    ].join('\r\n')
    const c = collector()
    const p = createJtlParser(c.sink)
    feed(p, [text])
    expect(p.skipped).toBe(0)
    expect(c.samples).toEqual([
      {
        label: 'GET a, b',
        endMs: 1700000000012,
        latencyUs: 12000,
        failure: 'http_5xx',
        bytesIn: 321,
        bytesOut: 45
      }
    ])
    expect(c.users).toEqual([[1700000000012, 3]])
  })

  it('leaves out sub-result rows that follow their parent; keeps look-alike labels', () => {
    const text = [
      HEADER,
      '1700000000000,30,home,200,OK,tg 1-1,text,true,,900,50,1,1,http://x/,5,0,1',
      '1700000000000,10,home-0,302,Found,tg 1-1,text,true,,100,50,1,1,http://x/,5,0,1',
      '1700000000010,20,home-1,200,OK,tg 1-1,text,true,,800,0,1,1,http://x/b,5,0,0',
      '1700000000100,5,item-1,200,OK,tg 1-1,text,true,,10,10,1,1,http://x/i,5,0,0'
    ].join('\n')
    const c = collector()
    const p = createJtlParser(c.sink)
    feed(p, [text])
    expect(c.samples.map(s => s.label)).toEqual(['home', 'item-1'])
    expect(p.subResults).toBe(2)
    expect(p.rows).toBe(4)
  })

  it('failure kinds', () => {
    expect(jtlFailureKind(true, '500')).toBeUndefined()
    expect(
      jtlFailureKind(
        false,
        'Non HTTP response code: java.net.ConnectException',
        'Non HTTP response message: Connection refused'
      )
    ).toBe('connection')
    expect(
      jtlFailureKind(false, 'Non HTTP response code: java.net.UnknownHostException', 'nope.invalid')
    ).toBe('connection')
    expect(jtlFailureKind(false, 'Non HTTP response code: java.net.NoRouteToHostException')).toBe(
      'connection'
    )
    expect(
      jtlFailureKind(false, 'Non HTTP response code: java.net.SocketTimeoutException', 'Read timed out')
    ).toBe('timeout')
    expect(
      jtlFailureKind(
        false,
        'Non HTTP response code: org.apache.http.conn.ConnectTimeoutException',
        'connect timed out'
      )
    ).toBe('timeout')
    expect(jtlFailureKind(false, 'Non HTTP response code: java.lang.IllegalArgumentException')).toBe('other')
    expect(jtlFailureKind(false, '404')).toBe('http_4xx')
    expect(jtlFailureKind(false, '502')).toBe('http_5xx')
    expect(jtlFailureKind(false, '200')).toBe('assertion')
    expect(jtlFailureKind(false, '304')).toBe('assertion')
    expect(jtlFailureKind(false, '101')).toBe('http_other')
    expect(jtlFailureKind(false, '')).toBe('other')
  })

  it('random bytes give skipped records and no samples (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 64, maxLength: 4096 }), bytes => {
        // Mostly binary noise with some line breaks so the splitter sees several records.
        const buf = Buffer.from(bytes.map((b, i) => (i % 53 === 52 ? 10 : b)))
        const c = collector()
        const p = createJtlParser(c.sink)
        feed(p, [buf])
        expect(c.samples).toHaveLength(0)
        expect(p.skipped).toBeGreaterThan(0)
        expect(p.problem()).toMatch(/no JMeter JTL \(CSV\) rows found/)
      }),
      { numRuns: 50 }
    )
  })

  it('a k6 NDJSON file is not a JTL', () => {
    const c = collector()
    const p = createJtlParser(c.sink)
    feed(p, [readFileSync(join(fixtures, 'k6', 'v0.48.0-default', 'results.json'))])
    expect(c.samples).toHaveLength(0)
    expect(p.skipped).toBeGreaterThan(0)
    expect(p.problem()).toMatch(/no JMeter JTL/)
  })

  it('tells an empty JTL, a header-only JTL and an XML JTL apart', () => {
    const empty = createJtlParser(collector().sink)
    empty.end()
    expect(empty.problem()).toMatch(/no results .*failed to load/)
    const headerOnly = createJtlParser(collector().sink)
    feed(headerOnly, [HEADER + '\n'])
    expect(headerOnly.problem()).toMatch(/header but no rows/)
    const xml = createJtlParser(collector().sink)
    feed(xml, ['<?xml version="1.0" encoding="UTF-8"?>\n<testResults version="1.2">\n'])
    expect(xml.problem()).toMatch(/XML/)
  })
})

function ctx(
  load: Partial<EngineRunContext['load']>,
  workDir: string,
  script = '/plans/p.jmx'
): EngineRunContext {
  return {
    script,
    load: { vus: 3, durationS: 20, rampUpS: 0, targetUrl: 'http://127.0.0.1:8080', ...load },
    workDir,
    tags: {},
    env: { FOO: 'bar' }
  }
}

describe('JMeter command', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'perf-gate-jmeter-cmd-'))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('builds the non-GUI command with forced save properties and a followed JTL file', async () => {
    writeFileSync(join(dir, 'results.jtl'), 'stale\n')
    const c = await jmeterEngine.command(ctx({ rampUpS: 5 }, dir), {
      PERF_GATE_JMETER_BIN: '/opt/jmeter/bin/jmeter'
    })
    expect(existsSync(join(dir, 'results.jtl'))).toBe(false)
    expect(c.command).toBe('/opt/jmeter/bin/jmeter')
    expect(c.samples).toEqual({ kind: 'file', path: join(dir, 'results.jtl') })
    expect(c.env).toEqual({ FOO: 'bar' })
    expect(c.args.slice(0, 14)).toEqual([
      '-n',
      '-t',
      '/plans/p.jmx',
      '-l',
      join(dir, 'results.jtl'),
      '-j',
      join(dir, 'jmeter.log'),
      '-Jthreads=3',
      '-Jrampup=5',
      '-Jduration=25',
      '-Jhost=127.0.0.1',
      '-Jport=8080',
      '-Jprotocol=http',
      '-Jjmeterengine.nongui.port=0'
    ])
    const props = c.args.slice(14)
    for (const [k, v] of [
      ['jmeter.save.saveservice.output_format', 'csv'],
      ['jmeter.save.saveservice.print_field_names', 'true'],
      ['jmeter.save.saveservice.timestamp_format', 'ms'],
      ['jmeter.save.saveservice.default_delimiter', ','],
      ['jmeter.save.saveservice.subresults', 'false'],
      ['sampleresult.timestamp.start', 'true'],
      ['jmeter.save.saveservice.assertion_results_failure_message', 'true'],
      ['jmeter.save.saveservice.sent_bytes', 'true'],
      ['jmeter.save.saveservice.thread_counts', 'true']
    ])
      expect(props).toContain(`-J${k}=${v}`)
    expect(props).toHaveLength(Object.keys(JMETER_SAVE_PROPERTIES).length)
    expect(props.every(a => a.startsWith('-J'))).toBe(true)
  })

  it('stages: max target as threads, first stage as ramp-up, total as duration; https default port', () => {
    const p = jmeterPlanParams({
      vus: 1,
      durationS: 1,
      rampUpS: 0,
      targetUrl: 'https://example.test/base',
      stages: [
        { durationS: 10, target: 4 },
        { durationS: 30, target: 12 },
        { durationS: 5.5, target: 0 }
      ]
    })
    expect(p).toEqual({
      threads: 12,
      rampup: 10,
      duration: 46,
      host: 'example.test',
      port: 443,
      protocol: 'https'
    })
  })

  it('clear errors for a bad target URL or a missing script', async () => {
    await expect(jmeterEngine.command(ctx({ targetUrl: 'ftp://x' }, dir), {})).rejects.toThrow(
      /jmeter: load.targetUrl "ftp:\/\/x" must be an http or https URL/
    )
    await expect(jmeterEngine.command(ctx({ targetUrl: 'not a url' }, dir), {})).rejects.toThrow(
      /not a valid URL/
    )
    await expect(jmeterEngine.command({ ...ctx({}, dir), script: undefined }, {})).rejects.toThrow(
      /jmeter: field "script"/
    )
  })

  it('only exit code 0 is a completion', () => {
    expect(jmeterEngine.completed(0)).toBe(true)
    expect(jmeterEngine.completed(1)).toBe(false)
    expect(jmeterEngine.completed(143)).toBe(false)
  })

  it('parses 2.13 and 5.x version output', () => {
    const banner5 = [
      '    _    ____   _    ____ _   _ _____       _ __  __ _____ _____ _____ ____',
      '   / \\  |  _ \\ / \\  / ___| | | | ____|     | |  \\/  | ____|_   _| ____|  _ \\',
      '  / _ \\ | |_) / _ \\| |   | |_| |  _|    _  | | |\\/| |  _|   | | |  _| | |_) |',
      ' / ___ \\|  __/ ___ \\ |___|  _  | |___  | |_| | |  | | |___  | | | |___|  _ <',
      '/_/   \\_\\_| /_/   \\_\\____|_| |_|_____|  \\___/|_|  |_|_____| |_| |_____|_| \\_\\ 5.6.3',
      '',
      'Copyright (c) 1999-2024 The Apache Software Foundation'
    ].join('\n')
    expect(parseJmeterVersion(banner5)).toBe('5.6.3')
    const old =
      'INFO 2026 [jmeter.s] (): Testlog (JTL) version: 2.2\nCopyright (c) 1998-2015\nVersion 2.13.19691222\n'
    expect(parseJmeterVersion(old)).toBe('2.13')
    expect(parseJmeterVersion('INFO Testplan (JMX) version: 2.2. Testlog (JTL) version: 2.2')).toBe('')
  })

  it('asks the real JMeter for its version', async () => {
    await expect(jmeterEngine.version(process.env)).resolves.toMatch(/^\d+\.\d+(\.\d+)?/)
    await expect(
      jmeterEngine.version({ ...process.env, PERF_GATE_JMETER_BIN: join(dir, 'missing') })
    ).resolves.toBe('')
  })
})

const PLAN = `<?xml version="1.0" encoding="UTF-8"?>
<jmeterTestPlan version="1.2" properties="2.8" jmeter="2.13">
  <hashTree>
    <TestPlan guiclass="TestPlanGui" testclass="TestPlan" testname="adapter test" enabled="true">
      <elementProp name="TestPlan.user_defined_variables" elementType="Arguments" guiclass="ArgumentsPanel" testclass="Arguments" enabled="true">
        <collectionProp name="Arguments.arguments"/>
      </elementProp>
    </TestPlan>
    <hashTree>
      <ThreadGroup guiclass="ThreadGroupGui" testclass="ThreadGroup" testname="tg" enabled="true">
        <stringProp name="ThreadGroup.on_sample_error">continue</stringProp>
        <elementProp name="ThreadGroup.main_controller" elementType="LoopController" guiclass="LoopControlPanel" testclass="LoopController" enabled="true">
          <boolProp name="LoopController.continue_forever">false</boolProp>
          <intProp name="LoopController.loops">-1</intProp>
        </elementProp>
        <stringProp name="ThreadGroup.num_threads">\${__P(threads)}</stringProp>
        <stringProp name="ThreadGroup.ramp_time">\${__P(rampup)}</stringProp>
        <boolProp name="ThreadGroup.scheduler">true</boolProp>
        <stringProp name="ThreadGroup.duration">\${__P(duration)}</stringProp>
        <stringProp name="ThreadGroup.delay">0</stringProp>
      </ThreadGroup>
      <hashTree>
${['/fast', '/flaky']
  .map(
    path => `        <HTTPSamplerProxy guiclass="HttpTestSampleGui" testclass="HTTPSamplerProxy" testname="GET ${path}" enabled="true">
          <elementProp name="HTTPsampler.Arguments" elementType="Arguments" guiclass="HTTPArgumentsPanel" testclass="Arguments" enabled="true">
            <collectionProp name="Arguments.arguments"/>
          </elementProp>
          <stringProp name="HTTPSampler.domain">\${__P(host)}</stringProp>
          <stringProp name="HTTPSampler.port">\${__P(port)}</stringProp>
          <stringProp name="HTTPSampler.protocol">\${__P(protocol)}</stringProp>
          <stringProp name="HTTPSampler.path">${path}</stringProp>
          <stringProp name="HTTPSampler.method">GET</stringProp>
          <boolProp name="HTTPSampler.use_keepalive">true</boolProp>
        </HTTPSamplerProxy>
        <hashTree/>`
  )
  .join('\n')}
        <ConstantTimer guiclass="ConstantTimerGui" testclass="ConstantTimer" testname="think" enabled="true">
          <stringProp name="ConstantTimer.delay">20</stringProp>
        </ConstantTimer>
        <hashTree/>
      </hashTree>
    </hashTree>
  </hashTree>
</jmeterTestPlan>
`

/** Runs a command and follows the JTL file it writes, as the runner does. */
async function runAndFollow(
  cmd: {
    command: string
    args: string[]
    env: Record<string, string>
    samples: { kind: string; path?: string }
  },
  parser: JtlParser,
  timeoutMs: number
): Promise<number | null> {
  expect(cmd.samples.kind).toBe('file')
  const path = cmd.samples.path!
  const child = spawn(cmd.command, cmd.args, {
    env: { ...process.env, ...cmd.env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  child.stdout.resume()
  child.stderr.resume()
  let fd: number | null = null
  let offset = 0
  const buf = Buffer.alloc(64 * 1024)
  const drain = () => {
    if (fd === null && existsSync(path)) fd = openSync(path, 'r')
    if (fd === null) return
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, offset)
      if (n <= 0) break
      offset += n
      parser.push(Buffer.from(buf.subarray(0, n)))
    }
  }
  const exited = new Promise<number | null>(res => child.on('exit', code => res(code)))
  const poll = setInterval(drain, 100)
  const killer = setTimeout(() => {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL')
  }, timeoutMs)
  try {
    const code = await exited
    drain()
    parser.end()
    return code
  } finally {
    clearInterval(poll)
    clearTimeout(killer)
    if (fd !== null) closeSync(fd)
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null)
      process.kill(child.pid, 'SIGKILL')
  }
}

describe('real JMeter run', () => {
  let target: TargetServer
  let dir: string
  beforeAll(async () => {
    target = await startTarget({ port: 0, seed: 7, maxSeconds: 60 })
    dir = mkdtempSync(join(tmpdir(), 'perf-gate-jmeter-run-'))
  })
  afterAll(async () => {
    await target.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('runs a plan against the sample target and parses its JTL live', async () => {
    const script = join(dir, 'plan.jmx')
    writeFileSync(script, PLAN)
    const workDir = join(dir, 'work')
    const cmd = await jmeterEngine.command(
      ctx({ vus: 2, durationS: 4, targetUrl: target.url }, workDir, script)
    )
    const recorder = new TaskRecorder()
    const parser = createJtlParser(recorder)
    const code = await runAndFollow(cmd, parser, 30_000)
    expect(code).toBe(0)
    expect(jmeterEngine.completed(code!)).toBe(true)
    expect(parser.problem()).toBeUndefined()
    expect(parser.header).toBe(true)
    expect(parser.skipped).toBe(0)
    const view = new ResultView([recorder.finish(defaultTaskMeta({ engine: 'jmeter' }))])
    const all = view.stats({ window: 'all' })
    const served = target.stats().byRoute
    expect(all.requests).toBeGreaterThan(0)
    expect(all.requests).toBe((served['/fast'] ?? 0) + (served['/flaky'] ?? 0))
    expect(view.stats({ window: 'all', label: 'GET /fast' }).requests).toBe(served['/fast'] ?? 0)
    const flaky = view.stats({ window: 'all', label: 'GET /flaky' })
    expect(flaky.requests).toBe(served['/flaky'] ?? 0)
    expect(flaky.failures).toBeGreaterThan(0)
    expect(flaky.failuresByKind.http_5xx).toBe(flaky.failures)
    expect(view.stats({ window: 'all', label: 'GET /fast' }).failures).toBe(0)
    expect(all.bytesIn).toBeGreaterThan(0)
  }, 60_000)

  it('a plan that cannot be loaded: JMeter 2.13 exits 0, the parser reports no results', async () => {
    const script = join(dir, 'broken.jmx')
    writeFileSync(script, '<jmeterTestPlan><hashTree>')
    const workDir = join(dir, 'work-broken')
    const cmd = await jmeterEngine.command(
      ctx({ vus: 1, durationS: 1, targetUrl: target.url }, workDir, script)
    )
    const parser = createJtlParser(collector().sink)
    const code = await runAndFollow(cmd, parser, 30_000)
    expect([0, 1]).toContain(code)
    expect(parser.rows).toBe(0)
    expect(parser.problem()).toMatch(/failed to load/)
  }, 60_000)
})
