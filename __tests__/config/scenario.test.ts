import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { checkTargetAllowed, isLoopbackHost } from '../../src/config/allow-list.js'
import { parseConfigText } from '../../src/config/config-file.js'
import { parseDuration } from '../../src/config/duration.js'
import { canonicalJson, scenarioFingerprint } from '../../src/config/fingerprint.js'
import { ConfigError } from '../../src/config/scenario.js'
import { parseRequestShorthand, parseThreshold } from '../../src/config/values.js'
import { loadScenario } from '../../src/plan/scenario.js'

let dir: string

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'perf-gate-config-'))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

function writeConfig(text: string, name = 'perf-gate.yml'): string {
  const p = join(dir, name)
  writeFileSync(p, text)
  return p
}

async function configError(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError)
    const msg = (e as Error).message
    expect(msg).not.toContain('\n')
    return msg
  }
  throw new Error('expected a ConfigError')
}

describe('parseDuration', () => {
  it.each([
    ['500ms', 0.5],
    ['30s', 30],
    ['2m', 120],
    ['1h30m', 5400],
    ['1h30m15s', 5415],
    ['1.5s', 1.5],
    ['45', 45],
    [12, 12],
    [0, 0],
    ['2m500ms', 120.5]
  ])('%p is %p seconds', (input, seconds) => {
    expect(parseDuration(input)).toBeCloseTo(seconds, 9)
  })

  it.each(['', 'ten', '30x', 's', '1h 30m', '-5s', '5s30', null, {}, [], -1, Number.NaN])(
    'rejects %p',
    input => {
      expect(parseDuration(input)).toBeNull()
    }
  )
})

describe('request shorthand and thresholds', () => {
  it('parses METHOD /path and a bare path', () => {
    expect(parseRequestShorthand('post /items')).toEqual({
      ok: true,
      value: { method: 'POST', path: '/items' }
    })
    expect(parseRequestShorthand('/fast?x=1')).toEqual({
      ok: true,
      value: { method: 'GET', path: '/fast?x=1' }
    })
  })

  it('refuses absolute URLs and unknown methods, so requests cannot leave the target', () => {
    const abs = parseRequestShorthand('GET http://example.com/x')
    expect(abs.ok).toBe(false)
    const bad = parseRequestShorthand('FETCH /x')
    expect(bad.ok).toBe(false)
    if (!bad.ok) expect(bad.error).toContain('METHOD /path')
  })

  it('parses k6 threshold syntax with and without a metric', () => {
    expect(parseThreshold('p(95) < 500')).toEqual({
      ok: true,
      value: { metric: 'http_req_duration', expr: 'p(95)<500' }
    })
    expect(parseThreshold('rate<0.01')).toEqual({
      ok: true,
      value: { metric: 'http_req_failed', expr: 'rate<0.01' }
    })
    expect(parseThreshold('http_req_duration{name:slow}: p(90)<300')).toEqual({
      ok: true,
      value: { metric: 'http_req_duration{name:slow}', expr: 'p(90)<300' }
    })
    expect(parseThreshold('p95 under 500').ok).toBe(false)
  })
})

describe('parseConfigText', () => {
  it('validates a full scenario into typed values', () => {
    const cfg = parseConfigText(
      `
allowed-hosts: [api.staging.example.com]
scenarios:
  checkout:
    engine: http
    target: http://127.0.0.1:8080
    requests:
      - GET /fast
      - { label: create, method: post, path: /items, headers: { x-a: 1 }, body: { a: 1 } }
    vus: 10
    duration: 2m
    ramp-up: 500ms
    tasks: 2
    interval: 1s
    thresholds: ['p(95)<500']
    env: { TOKEN: abc, N: 3 }
`,
      'perf-gate.yml'
    )
    const s = cfg.scenarios!.checkout
    expect(s.vus).toBe(10)
    expect(s.duration).toBe(120)
    expect(s['ramp-up']).toBe(0.5)
    expect(s.requests).toEqual([
      { method: 'GET', path: '/fast' },
      { label: 'create', method: 'POST', path: '/items', headers: { 'x-a': '1' }, body: '{"a":1}' }
    ])
    expect(s.env).toEqual({ TOKEN: 'abc', N: '3' })
    expect(cfg['allowed-hosts']).toEqual(['api.staging.example.com'])
  })

  it.each([
    ['vus: ten', 'perf-gate.yml: scenarios.checkout.vus: expected a positive integer, got "ten"'],
    ['vus: 0', 'perf-gate.yml: scenarios.checkout.vus: expected a positive integer, got 0'],
    [
      'duration: soon',
      'perf-gate.yml: scenarios.checkout.duration: expected a duration like 500ms, 30s, 2m or 1h30m, got "soon"'
    ],
    [
      'duration: 0s',
      'perf-gate.yml: scenarios.checkout.duration: expected a duration greater than zero, got "0s"'
    ],
    [
      'engine: gatling',
      'perf-gate.yml: scenarios.checkout.engine: expected one of k6, locust, jmeter, http, got "gatling"'
    ],
    [
      'target: ftp://x',
      'perf-gate.yml: scenarios.checkout.target: expected an http:// or https:// URL, got "ftp://x"'
    ],
    ['vuss: 3', 'perf-gate.yml: scenarios.checkout: unknown field "vuss"'],
    ['tasks: 1000', 'perf-gate.yml: scenarios.checkout.tasks: expected at most 256, got 1000'],
    [
      'stages: [{duration: 10s, target: -1}]',
      'perf-gate.yml: scenarios.checkout.stages[0].target: expected a non-negative integer, got -1'
    ],
    [
      'stages: 5',
      'perf-gate.yml: scenarios.checkout.stages: expected a list of stages ({duration, target}), got 5'
    ],
    [
      'requests: [{path: fast}]',
      'perf-gate.yml: scenarios.checkout.requests[0].path: expected a path starting with / (relative to the target), got "fast"'
    ],
    [
      'requests: ["GET http://evil.example/x"]',
      'perf-gate.yml: scenarios.checkout.requests[0]: expected a path starting with / (relative to the target), got "http://evil.example/x"'
    ],
    [
      'thresholds: ["p95 < 5"]',
      'perf-gate.yml: scenarios.checkout.thresholds[0]: expected a threshold like "p(95)<500" or "rate<0.01", got "p95 < 5"'
    ],
    [
      'env: { A: [1] }',
      'perf-gate.yml: scenarios.checkout.env: A: expected a string, number or boolean, got a list'
    ]
  ])('%s → one clear line', (line, message) => {
    const target = line.startsWith('target:') ? '' : '    target: http://127.0.0.1:1\n'
    const text = `scenarios:\n  checkout:\n${target}    ${line}\n`
    let msg = ''
    try {
      parseConfigText(text, 'perf-gate.yml')
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError)
      msg = (e as Error).message
    }
    expect(msg).toBe(message)
  })

  it('names the YAML syntax error position and the top-level field', () => {
    expect(() => parseConfigText('scenarios:\n  a: [\n', 'x.yml')).toThrow(
      /^x\.yml: invalid YAML \(line \d+, column \d+\)/
    )
    expect(() => parseConfigText('scenario: {}\n', 'x.yml')).toThrow('x.yml: unknown field "scenario"')
    expect(() => parseConfigText('- a\n', 'x.yml')).toThrow(
      'x.yml: expected a mapping with "scenarios" at the top level'
    )
    expect(() => parseConfigText('allowed-hosts: ["http://a.b/c"]\n', 'x.yml')).toThrow(
      'x.yml: allowed-hosts[0]: expected a host name like api.staging.example.com (no scheme, port or path), got "http://a.b/c"'
    )
  })
})

describe('allow-list', () => {
  it.each(['127.0.0.1', '127.8.9.10', 'localhost', 'LOCALHOST', '::1', '[::1]'])('%s is loopback', h => {
    expect(isLoopbackHost(h)).toBe(true)
  })
  it.each(['128.0.0.1', '10.0.0.1', 'example.com', '127.0.0.1.nip.io', '::2', 'localhost.example.com'])(
    '%s is not loopback',
    h => {
      expect(isLoopbackHost(h)).toBe(false)
    }
  )

  it('accepts loopback and listed hosts and refuses the rest', () => {
    expect(() => checkTargetAllowed('http://127.0.0.1:9/x', [], '--target')).not.toThrow()
    expect(() => checkTargetAllowed('http://[::1]:9/', [], '--target')).not.toThrow()
    expect(() =>
      checkTargetAllowed('https://API.staging.example.com/', ['api.staging.example.com'], '--target')
    ).not.toThrow()
    expect(() => checkTargetAllowed('https://example.com/', ['api.staging.example.com'], '--target')).toThrow(
      /^--target: target host "example\.com" is not allowed; perf-gate sends load only to loopback addresses/
    )
  })
})

describe('loadScenario', () => {
  it('merges the file with flags, flags winning, and resolves the script relative to the file', async () => {
    mkdirSync(join(dir, 'conf', 'scripts'), { recursive: true })
    writeFileSync(join(dir, 'conf', 'scripts', 'load.js'), 'export default function () {}\n')
    const cfg = writeConfig(
      `scenarios:\n  smoke:\n    script: scripts/load.js\n    target: http://localhost:3000\n    vus: 4\n    duration: 1m\n    tasks: 2\n`,
      'conf/perf.yml'
    )
    const s = await loadScenario({ config: cfg, cwd: dir, flags: { vus: '6', rampUp: '5s' } })
    expect(s.name).toBe('smoke')
    expect(s.engine).toBe('k6')
    expect(s.script).toBe(join(dir, 'conf', 'scripts', 'load.js'))
    expect(s.scriptHash).toBe(createHash('sha256').update('export default function () {}\n').digest('hex'))
    expect(s.vus).toBe(6)
    expect(s.durationS).toBe(60)
    expect(s.rampUpS).toBe(5)
    expect(s.tasks).toBe(2)
    expect(s.configFile).toBe(cfg)
  })

  it('reads ./perf-gate.yml by default and needs --scenario when it has several', async () => {
    writeConfig(
      `scenarios:\n  a: { target: 'http://127.0.0.1:1' }\n  b: { target: 'http://127.0.0.1:2', vus: 3 }\n`
    )
    expect(await configError(loadScenario({ cwd: dir }))).toBe(
      'perf-gate.yml has several scenarios (a, b); choose one with --scenario'
    )
    const b = await loadScenario({ cwd: dir, scenario: 'b' })
    expect(b.target).toBe('http://127.0.0.1:2')
    expect(b.vus).toBe(3)
    expect(b.engine).toBe('http')
    expect(await configError(loadScenario({ cwd: dir, scenario: 'c' }))).toBe(
      '--scenario: no scenario "c" in perf-gate.yml (it has: a, b)'
    )
  })

  it('works from flags alone and names the bad flag', async () => {
    const s = await loadScenario({
      cwd: dir,
      flags: {
        target: 'http://127.0.0.1:5',
        requests: ['GET /fast', 'post /items'],
        duration: '8s',
        vus: '10',
        tasks: '2'
      }
    })
    expect(s).toMatchObject({
      name: 'default',
      engine: 'http',
      vus: 10,
      durationS: 8,
      rampUpS: 0,
      tasks: 2,
      intervalMs: 1000,
      requests: [
        { method: 'GET', path: '/fast' },
        { method: 'POST', path: '/items' }
      ],
      configFile: null
    })
    expect(
      await configError(loadScenario({ cwd: dir, flags: { target: 'http://127.0.0.1:5', vus: 'ten' } }))
    ).toBe('--vus: expected a positive integer, got "ten"')
    expect(
      await configError(loadScenario({ cwd: dir, flags: { target: 'http://127.0.0.1:5', duration: 'x' } }))
    ).toBe('--duration: expected a duration like 500ms, 30s, 2m or 1h30m, got "x"')
    expect(await configError(loadScenario({ cwd: dir, flags: {} }))).toBe(
      '--target: is required (the base URL of the system under test)'
    )
    expect(
      await configError(loadScenario({ cwd: dir, flags: { target: 'http://127.0.0.1:5', requests: ['x'] } }))
    ).toBe(`--request: expected 'METHOD /path', got "x"`)
  })

  it('normalises the target to a base URL without a trailing slash', async () => {
    for (const [given, want] of [
      ['http://127.0.0.1:5/', 'http://127.0.0.1:5'],
      ['http://LOCALHOST:5/api//', 'http://localhost:5/api'],
      ['http://127.0.0.1:5/api?x=1', 'http://127.0.0.1:5/api?x=1']
    ])
      expect((await loadScenario({ cwd: dir, flags: { target: given } })).target).toBe(want)
  })

  it('refuses a target that is not loopback or allowed, from the file or a flag', async () => {
    writeConfig(`scenarios:\n  prod:\n    target: https://shop.example.com\n`)
    expect(await configError(loadScenario({ cwd: dir }))).toMatch(
      /^perf-gate\.yml: scenarios\.prod\.target: target host "shop\.example\.com" is not allowed/
    )
    writeConfig(
      `allowed-hosts: [shop.example.com]\nscenarios:\n  prod:\n    target: https://shop.example.com\n`
    )
    const s = await loadScenario({ cwd: dir })
    expect(s.target).toBe('https://shop.example.com')
    expect(await configError(loadScenario({ cwd: dir, flags: { target: 'http://10.1.2.3/' } }))).toMatch(
      /^--target: target host "10\.1\.2\.3" is not allowed/
    )
    const allowed = await loadScenario({
      cwd: dir,
      flags: { target: 'http://10.1.2.3/', allowHosts: ['10.1.2.3'] }
    })
    expect(allowed.target).toBe('http://10.1.2.3')
  })

  it('checks engine/script/requests consistency', async () => {
    expect(
      await configError(loadScenario({ cwd: dir, flags: { engine: 'locust', target: 'http://127.0.0.1:1' } }))
    ).toBe('--script: is required for the locust engine')
    expect(
      await configError(
        loadScenario({ cwd: dir, flags: { script: 'missing.py', target: 'http://127.0.0.1:1' } })
      )
    ).toBe('--script: missing.py: no such file')
    writeFileSync(join(dir, 'plan.jmx'), '<jmeterTestPlan/>')
    expect(
      await configError(
        loadScenario({
          cwd: dir,
          flags: { script: 'plan.jmx', target: 'http://127.0.0.1:1', requests: ['GET /'] }
        })
      )
    ).toBe('--request: requests are only for the http engine; the jmeter script decides what to send')
    expect(
      await configError(
        loadScenario({
          cwd: dir,
          flags: { engine: 'http', script: 'plan.jmx', target: 'http://127.0.0.1:1' }
        })
      )
    ).toBe('--script: the http engine takes no script; use requests instead')
    expect(await configError(loadScenario({ cwd: dir, config: 'nope.yml', flags: {} }))).toBe(
      '--config: nope.yml: no such file'
    )
  })

  it('uses stages unless a simple load flag replaces them', async () => {
    writeConfig(
      `scenarios:\n  s:\n    target: http://127.0.0.1:1\n    stages:\n      - { duration: 10s, target: 4 }\n      - { duration: 1m, target: 4 }\n      - { duration: 5s, target: 0 }\n`
    )
    const s = await loadScenario({ cwd: dir })
    expect(s.stages).toEqual([
      { durationS: 10, target: 4 },
      { durationS: 60, target: 4 },
      { durationS: 5, target: 0 }
    ])
    expect(s.vus).toBe(4)
    expect(s.durationS).toBe(75)
    const flat = await loadScenario({ cwd: dir, flags: { duration: '20s' } })
    expect(flat.stages).toBeUndefined()
    expect(flat.durationS).toBe(20)
  })
})

describe('fingerprint', () => {
  const base = {
    engine: 'http' as const,
    target: 'http://127.0.0.1:1/',
    vus: 5,
    durationS: 10,
    rampUpS: 0,
    requests: [{ method: 'GET', path: '/a', headers: { a: '1', b: '2' } }]
  }

  it('does not depend on key order and changes with the load shape', () => {
    const reordered = {
      requests: [{ headers: { b: '2', a: '1' }, path: '/a', method: 'GET' }],
      rampUpS: 0,
      durationS: 10,
      vus: 5,
      target: 'http://127.0.0.1:1/',
      engine: 'http' as const
    }
    expect(scenarioFingerprint(reordered)).toBe(scenarioFingerprint(base))
    expect(scenarioFingerprint({ ...base, vus: 6 })).not.toBe(scenarioFingerprint(base))
    expect(scenarioFingerprint({ ...base, requests: [{ method: 'GET', path: '/b' }] })).not.toBe(
      scenarioFingerprint(base)
    )
    expect(scenarioFingerprint({ ...base, engine: 'k6', scriptHash: 'aa' })).not.toBe(
      scenarioFingerprint({ ...base, engine: 'k6', scriptHash: 'bb' })
    )
    expect(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }] })).toBe('{"a":[{"c":2,"d":1}],"b":1}')
  })

  it('is the same for the same scenario from a file with keys in another order, and ignores task count', async () => {
    writeConfig(
      `scenarios:\n  x: { vus: 3, target: 'http://127.0.0.1:1', duration: 5s, requests: ['GET /a'], tasks: 1 }\n`,
      'one.yml'
    )
    writeConfig(
      `scenarios:\n  x: { requests: ['GET /a'], duration: 5, tasks: 3, target: 'http://127.0.0.1:1', vus: 3 }\n`,
      'two.yml'
    )
    const a = await loadScenario({ cwd: dir, config: 'one.yml' })
    const b = await loadScenario({ cwd: dir, config: 'two.yml' })
    expect(a.fingerprint).toMatch(/^[0-9a-f]{64}$/)
    expect(a.fingerprint).toBe(b.fingerprint)
  })
})
