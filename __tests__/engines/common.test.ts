import fc from 'fast-check'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  LineSplitter,
  failureFromStatus,
  probeVersion,
  resolveBinary,
  runForOutput
} from '../../src/engines/common.js'
import { CsvSplitter } from '../../src/engines/csv.js'

function linesOf(chunks: (Buffer | string)[]): string[] {
  const out: string[] = []
  const s = new LineSplitter(l => out.push(l))
  for (const c of chunks) s.push(c)
  s.end()
  return out
}

function recordsOf(chunks: (Buffer | string)[], opts = {}): { records: string[][]; overflows: number } {
  const records: string[][] = []
  const s = new CsvSplitter(r => records.push(r), opts)
  for (const c of chunks) s.push(c)
  s.end()
  return { records, overflows: s.overflows }
}

/** Splits a buffer at the given (sorted, in-range) cut points. */
function cut(buf: Buffer, cuts: number[]): Buffer[] {
  const pts = [...new Set(cuts.map(c => c % (buf.length + 1)))].sort((a, b) => a - b)
  const parts: Buffer[] = []
  let prev = 0
  for (const p of pts) {
    parts.push(buf.subarray(prev, p))
    prev = p
  }
  parts.push(buf.subarray(prev))
  return parts
}

describe('LineSplitter', () => {
  it('splits LF and CRLF lines, keeps a final partial line, drops nothing else', () => {
    expect(linesOf(['a\nb\r\n', 'c', 'd\n', '\n', 'tail'])).toEqual(['a', 'b', 'cd', '', 'tail'])
  })

  it('handles a CR and LF split across chunks and a trailing CR at the end', () => {
    expect(linesOf(['x\r', '\ny\r'])).toEqual(['x', 'y'])
  })

  it('emits no final line when the input ends with a line break', () => {
    expect(linesOf(['one\ntwo\n'])).toEqual(['one', 'two'])
  })

  it('decodes multi-byte UTF-8 characters cut between chunks', () => {
    const buf = Buffer.from('héllo 😀\nwörld\n', 'utf8')
    const cutAt = buf.indexOf(0xf0) + 2
    expect(linesOf([buf.subarray(0, cutAt), buf.subarray(cutAt)])).toEqual(['héllo 😀', 'wörld'])
  })

  it('gives the same lines for any chunking (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: fc.constantFrom('a', 'é', '\n', '\r', '€', 'z') }), { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (parts, cuts) => {
          const buf = Buffer.from(parts.join(''), 'utf8')
          expect(linesOf(cut(buf, cuts))).toEqual(linesOf([buf]))
        }
      ),
      { numRuns: 200 }
    )
  })

  it('refuses data after end()', () => {
    const s = new LineSplitter(() => undefined)
    s.end()
    expect(() => s.push('x')).toThrow(/after end/)
  })
})

describe('failureFromStatus', () => {
  it.each([
    [200, undefined],
    [204, undefined],
    [302, undefined],
    [399, undefined],
    [400, 'http_4xx'],
    [404, 'http_4xx'],
    [499, 'http_4xx'],
    [500, 'http_5xx'],
    [503, 'http_5xx'],
    [0, 'http_other'],
    [101, 'http_other'],
    [600, 'http_other'],
    [Number.NaN, 'http_other']
  ])('%s → %s', (status, kind) => {
    expect(failureFromStatus(status)).toBe(kind)
  })
})

describe('resolveBinary', () => {
  it('uses the override variable when set and not blank', () => {
    expect(resolveBinary('X_BIN', 'k6', { X_BIN: '/opt/k6' })).toBe('/opt/k6')
    expect(resolveBinary('X_BIN', 'k6', { X_BIN: '  ' })).toBe('k6')
    expect(resolveBinary('X_BIN', 'k6', {})).toBe('k6')
  })
})

describe('probeVersion / runForOutput', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'perf-gate-common-'))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('extracts the first capture group from stdout or stderr', async () => {
    const script = join(dir, 'fake-engine')
    writeFileSync(script, '#!/bin/sh\necho "noise"\necho "fake v3.14.2 (build)" >&2\n')
    chmodSync(script, 0o755)
    await expect(probeVersion(script, ['--version'], /fake v(\d+\.\d+\.\d+)/)).resolves.toBe('3.14.2')
    await expect(probeVersion(script, ['--version'], /other v(\d+)/)).resolves.toBe('')
  })

  it('returns empty for a missing binary', async () => {
    await expect(probeVersion(join(dir, 'does-not-exist'), [], /./)).resolves.toBe('')
    await expect(runForOutput(join(dir, 'does-not-exist'), [])).resolves.toBeNull()
  })

  it('kills a probe that does not finish in time', async () => {
    const script = join(dir, 'hangs')
    writeFileSync(script, '#!/bin/sh\necho "v1.0"\nexec sleep 30\n')
    chmodSync(script, 0o755)
    const t0 = Date.now()
    await expect(probeVersion(script, [], /v(\d\.\d)/, { timeoutMs: 300 })).resolves.toBe('')
    expect(Date.now() - t0).toBeLessThan(10_000)
  })
})

describe('CsvSplitter', () => {
  it('parses quoted fields with delimiters, doubled quotes and embedded newlines', () => {
    const text = 'a,"b,c","say ""hi""","line1\nline2",\r\n"",x\n'
    expect(recordsOf([text]).records).toEqual([
      ['a', 'b,c', 'say "hi"', 'line1\nline2', ''],
      ['', 'x']
    ])
  })

  it('ignores empty lines and keeps a last record without a line break', () => {
    expect(recordsOf(['a,b\n\n\r\nc,d']).records).toEqual([
      ['a', 'b'],
      ['c', 'd']
    ])
  })

  it('supports a tab delimiter and rejects an impossible one', () => {
    expect(recordsOf(['a\tb,c\n'], { delimiter: '\t' }).records).toEqual([['a', 'b,c']])
    expect(() => new CsvSplitter(() => undefined, { delimiter: '"' })).toThrow(/delimiter/)
  })

  it('drops a runaway record and resynchronises at the next line', () => {
    const { records, overflows } = recordsOf(['ok,1\n"unterminated ' + 'x'.repeat(200) + '\nnext,2\n'], {
      maxRecordChars: 100
    })
    expect(overflows).toBe(1)
    expect(records).toEqual([
      ['ok', '1'],
      ['next', '2']
    ])
  })

  it('gives the same records for any chunking (property)', () => {
    const field = fc.oneof(
      fc.string({ unit: fc.constantFrom('a', 'b', ' ', 'é') }),
      fc
        .string({ unit: fc.constantFrom('a', ',', '"', '\n', '\r\n', 'ü') })
        .map(s => `"${s.replace(/"/g, '""')}"`)
    )
    fc.assert(
      fc.property(
        fc.array(fc.array(field, { minLength: 1, maxLength: 5 }), { maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.boolean(),
        (rows, cuts, crlf) => {
          const text = rows.map(r => r.join(',')).join(crlf ? '\r\n' : '\n')
          const buf = Buffer.from(text, 'utf8')
          const whole = recordsOf([buf]).records
          expect(recordsOf(cut(buf, cuts)).records).toEqual(whole)
          const unquote = (f: string) => (f.startsWith('"') ? f.slice(1, -1).replace(/""/g, '"') : f)
          const expected = rows.map(r => r.map(unquote)).filter(r => !(r.length === 1 && r[0] === ''))
          expect(whole).toEqual(expected)
        }
      ),
      { numRuns: 200 }
    )
  })
})
