import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { followFile } from '../../src/runner/follow.js'
import { TailBuffer } from '../../src/runner/tail-buffer.js'

describe('followFile', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'perf-gate-follow-'))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('delivers every byte a separate process appends, in order, including after it exits', async () => {
    const path = join(dir, 'grow.txt')
    const chunks: Buffer[] = []
    const sizes: number[] = []
    // Small reads force many chunks; the file appears only after the follower started.
    const follower = followFile(
      path,
      c => {
        chunks.push(Buffer.from(c))
        sizes.push(c.length)
      },
      { pollMs: 20, chunkBytes: 100 }
    )
    const script =
      'sleep 0.2; i=0; while [ $i -lt 300 ]; do echo "line $i é"; i=$((i+1)); if [ $((i % 50)) -eq 0 ]; then sleep 0.05; fi; done >> "$1"'
    const child = spawn('sh', ['-c', script, 'sh', path], { stdio: 'ignore' })
    const code = await new Promise<number | null>(r => child.on('exit', c => r(c)))
    expect(code).toBe(0)
    await follower.stop()
    const text = Buffer.concat(chunks).toString('utf8')
    const expected = Array.from({ length: 300 }, (_, i) => `line ${i} é\n`).join('')
    expect(text).toBe(expected)
    expect(follower.bytes).toBe(Buffer.byteLength(expected))
    expect(follower.found).toBe(true)
    expect(Math.max(...sizes)).toBeLessThanOrEqual(100)
    expect(chunks.length).toBeGreaterThanOrEqual(Math.ceil(Buffer.byteLength(expected) / 100))
  })

  it('reads a file written entirely before stop, and reports a file that never appeared', async () => {
    const path = join(dir, 'late.txt')
    let got = ''
    const f = followFile(path, c => (got += c.toString()), { pollMs: 10_000 })
    writeFileSync(path, 'a\nb\n')
    await f.stop()
    expect(got).toBe('a\nb\n')

    const missing = followFile(join(dir, 'never.txt'), () => undefined, { pollMs: 10 })
    await new Promise(r => setTimeout(r, 50))
    await missing.stop()
    expect(missing.found).toBe(false)
    expect(missing.bytes).toBe(0)
  })

  it('rejects on stop when the consumer throws', async () => {
    const path = join(dir, 'bad.txt')
    writeFileSync(path, 'x')
    const f = followFile(
      path,
      () => {
        throw new Error('parser broke')
      },
      { pollMs: 10 }
    )
    await expect(f.stop()).rejects.toThrow('parser broke')
  })
})

describe('TailBuffer', () => {
  it('keeps only the last bytes of a long stream', () => {
    const t = new TailBuffer(1000)
    let all = ''
    for (let i = 0; i < 500; i++) {
      const s = `row ${i}\n`
      all += s
      t.push(Buffer.from(s))
    }
    const tail = t.toString()
    expect(tail.length).toBeLessThanOrEqual(1000)
    expect(tail.length).toBeGreaterThan(990)
    expect(all.endsWith(tail)).toBe(true)
  })

  it('handles a single chunk larger than the limit and does not start inside a UTF-8 character', () => {
    const t = new TailBuffer(7)
    t.push(Buffer.from('abcdéééé'))
    const tail = t.toString()
    expect(tail).not.toContain('\ufffd')
    expect('abcdéééé'.endsWith(tail)).toBe(true)
    expect(Buffer.byteLength(tail)).toBeLessThanOrEqual(7)
  })
})
