/**
 * k6 script facts and errors: `k6 inspect` output read into load facts, Go durations, and k6's
 * logfmt error lines turned into one readable line. Inputs are k6 v0.48.0's own output.
 */
import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  describeScriptLoad,
  goDurationSeconds,
  k6ErrorText,
  parseK6Inspect
} from '../../src/engines/k6-script.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

describe('Go durations', () => {
  it.each([
    ['50s', 50],
    ['1m30s', 90],
    ['1h0m0.5s', 3600.5],
    ['500ms', 0.5],
    ['0', 0]
  ])('%s is %d s', (text, s) => expect(goDurationSeconds(text)).toBeCloseTo(s, 9))
  it('rejects malformed text', () => {
    expect(goDurationSeconds('5 s')).toBeNaN()
    expect(goDurationSeconds('')).toBeNaN()
    expect(goDurationSeconds('10x')).toBeNaN()
  })
})

describe('k6 inspect --execution-requirements', () => {
  // The fields k6 v0.48.0 prints for a script with one shared-iterations scenario.
  const doc = {
    vus: null,
    duration: null,
    iterations: null,
    stages: null,
    scenarios: {
      fixed: { executor: 'shared-iterations', vus: 3, iterations: 30, maxDuration: '60s' },
      rate: { executor: 'constant-arrival-rate', rate: 10, duration: '5s', preAllocatedVUs: 2 }
    },
    thresholds: { 'http_req_duration{name:slow}': ['p(90)<300'], http_req_failed: ['rate<0.05'] },
    totalDuration: '1m30s',
    maxVUs: 5
  }

  it('reads the scenarios, thresholds, maxVUs and totalDuration', () => {
    const load = parseK6Inspect(doc)
    expect(load.scenarios).toEqual({ fixed: 'shared-iterations', rate: 'constant-arrival-rate' })
    expect(load.maxVUs).toBe(5)
    expect(load.totalDurationS).toBe(90)
    expect(load.thresholds).toEqual({
      'http_req_duration{name:slow}': ['p(90)<300'],
      http_req_failed: ['rate<0.05']
    })
    expect(describeScriptLoad(load)).toBe(
      'options.scenarios (fixed: shared-iterations, rate: constant-arrival-rate)'
    )
  })

  it('describes stages and the vus/duration shortcut; nothing for a script without load options', () => {
    const staged = parseK6Inspect({
      vus: 2,
      stages: [
        { duration: '2s', target: 4 },
        { duration: '3s', target: 0 }
      ],
      totalDuration: '35s',
      maxVUs: 4
    })
    expect(describeScriptLoad(staged)).toBe('options.stages (2 stages) and options vus 2')
    expect(describeScriptLoad(parseK6Inspect({ vus: 3, duration: '10s', maxVUs: 3 }))).toBe(
      'options vus 3, duration 10s'
    )
    expect(describeScriptLoad(parseK6Inspect({ totalDuration: '10m30s', maxVUs: 1 }))).toBe('')
  })
})

describe('k6 error lines', () => {
  const syntax =
    'time="2026-12-05T07:53:46Z" level=error msg="SyntaxError: file:///tmp/k6t/bad.js: Unexpected token (2:39)\\n  1 | import http from \'k6/http\'\\n> 2 | export default function () { http.get( }\\n    |                                        ^\\n  3 | \\n\\tat <internal/k6/compiler/lib/babel.min.js>:7:10099(24)\\n\\tat <internal/k6/compiler/lib/babel.min.js>:5:29529(56)\\n\\tat bound  (native)\\n\\tat s (<internal/k6/compiler/lib/babel.min.js>:1:1327(8))\\n" hint="script exception"\n'

  it('a syntax error: one line with the message and the failing source line, no frames or escapes', () => {
    expect(k6ErrorText(syntax + syntax)).toBe(
      'SyntaxError: file:///tmp/k6t/bad.js: Unexpected token (2:39) > 2 | export default function () { http.get( }'
    )
  })

  it('quoted text inside the message is unescaped', () => {
    const line =
      'time="2026-12-05T07:55:02Z" level=error msg="The moduleSpecifier \\"nosuch.js\\" couldn\'t be found on local disk."\n'
    expect(k6ErrorText(line)).toBe('The moduleSpecifier "nosuch.js" couldn\'t be found on local disk.')
  })

  it('a long message is cut at a word boundary, marked', () => {
    const words = Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ')
    const text = k6ErrorText(`level=error msg="${words}"`)
    expect(text.length).toBeLessThanOrEqual(602)
    expect(text.endsWith(' …')).toBe(true)
    expect(
      text
        .slice(0, -2)
        .split(' ')
        .every(w => /^word\d+$/.test(w))
    ).toBe(true)
  })

  it('without an error line: the last output line', () => {
    expect(k6ErrorText('first\nsecond line\n\n')).toBe('second line')
    expect(k6ErrorText('')).toBe('')
  })

  it('the error of the k6 fixture console output is the threshold crossing line', () => {
    const text = readFileSync(join(root, 'fixtures', 'k6', 'v0.48.0-default', 'console.txt'), 'utf8')
    expect(k6ErrorText(text)).toBe("thresholds on metrics 'http_req_failed' have been crossed")
  })
})
