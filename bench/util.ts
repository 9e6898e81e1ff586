/**
 * Shared helpers for the benchmarks: a seeded PRNG and latency distributions, timing, file
 * streaming with a fixed chunk size, child processes that report JSON, and table formatting.
 */
import { spawn } from 'node:child_process'
import { createReadStream, existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'
import { StringDecoder } from 'node:string_decoder'
import { markdownTable } from 'markdown-table'

/** Options every benchmark accepts. */
export interface BenchOptions {
  /** Smaller sizes, for a fast check that everything runs. */
  quick: boolean
}

/** What a benchmark hands back to the entry point for printing. */
export interface BenchReport {
  id: string
  title: string
  /** Markdown tables, each with an optional caption line. */
  tables: { caption?: string; markdown: string }[]
  /** One line per target: what it is, the measured figure and whether it is met. */
  targets: { target: string; measured: string; met: boolean }[]
  notes: string[]
}

/** A small seeded PRNG (mulberry32), returning floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A standard normal variate (Box-Muller). */
export function normal(r: () => number): number {
  const u1 = Math.max(r(), 1e-12)
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * r())
}

/** A log-normal latency in whole µs with the given median (µs) and log-space spread. */
export function logNormalUs(r: () => number, medianUs: number, sigma: number): number {
  return Math.max(1, Math.round(medianUs * Math.exp(sigma * normal(r))))
}

/** Milliseconds since an arbitrary origin, sub-ms resolution. */
export function nowMs(): number {
  return performance.now()
}

/** Runs `fn` and returns its result and duration in ms. */
export async function timed<T>(fn: () => T | Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = nowMs()
  const value = await fn()
  return { value, ms: nowMs() - t0 }
}

/** The chunk size every file stream in the benchmarks uses (the fs default). */
export const CHUNK_BYTES = 64 * 1024

/** Streams a file in fixed-size chunks to `onChunk`; resolves with the byte count. */
export async function streamFile(path: string, onChunk: (chunk: Buffer) => void): Promise<number> {
  let bytes = 0
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK_BYTES })) {
    bytes += (chunk as Buffer).length
    onChunk(chunk as Buffer)
  }
  return bytes
}

/**
 * The floor for a line-oriented parser: read the same file with the same chunking, decode UTF-8
 * and cut it into line strings. Returns the line count and a checksum of the line lengths so the
 * work cannot be skipped.
 */
export async function readAndSplit(
  path: string,
  onLine?: (line: string) => void
): Promise<{ lines: number; bytes: number; check: number }> {
  const decoder = new StringDecoder('utf8')
  let pending = ''
  let lines = 0
  let check = 0
  const feed = (text: string): void => {
    let from = 0
    let nl = text.indexOf('\n')
    while (nl !== -1) {
      const line = from === 0 && pending ? pending + text.slice(0, nl) : text.slice(from, nl)
      if (from === 0) pending = ''
      check += line.length
      if (onLine) onLine(line)
      lines++
      from = nl + 1
      nl = text.indexOf('\n', from)
    }
    pending = from === 0 ? pending + text : text.slice(from)
  }
  const bytes = await streamFile(path, chunk => feed(decoder.write(chunk)))
  feed(decoder.end())
  if (pending) {
    lines++
    check += pending.length
    if (onLine) onLine(pending)
  }
  return { lines, bytes, check }
}

/** The repository root: the nearest folder above this file that holds package.json. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir)
    if (up === dir)
      throw new Error('cannot find the repository root (no package.json above the bench folder)')
    dir = up
  }
  return dir
}

/** The engine output fixtures in the repository (fixtures/README.md). */
export function fixturesDir(): string {
  return resolve(repoRoot(), 'fixtures')
}

export async function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `perf-gate-bench-${prefix}-`))
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true })
}

/**
 * Runs `node <script> ...args` and returns the JSON object the child prints as its last stdout
 * line. Rejects with the child's stderr when it fails.
 */
export function runChild<T>(script: string, args: string[], nodeArgs: string[] = []): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, script, ...args], {
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d))
    child.on('error', reject)
    child.on('close', code => {
      const last = out.trim().split('\n').pop() ?? ''
      if (code !== 0) {
        reject(new Error(`benchmark child ${script} ${args.join(' ')} exited with ${code}: ${err.trim()}`))
        return
      }
      try {
        resolve(JSON.parse(last) as T)
      } catch {
        reject(
          new Error(`benchmark child ${script} printed no JSON result: ${out.slice(-500)}${err.slice(-500)}`)
        )
      }
    })
  })
}

/**
 * The peak resident set size of this process so far, MiB. On Linux this is `VmHWM` from
 * /proc/self/status: `process.resourceUsage().maxRSS` of a spawned child also counts the parent's
 * RSS at the moment of fork, so a child started by a large benchmark runner would report the
 * runner's size. Elsewhere it falls back to `maxRSS`.
 */
export function peakRssMiB(): number {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'))
    if (m) return Number(m[1]) / 1024
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024
}

export const MiB = 1024 * 1024

/** Facts about this machine, for the report header. */
export function machineFacts(): Record<string, string> {
  const c = cpus()
  return {
    cpus: `${c.length} × ${c[0]?.model.trim() ?? 'unknown'}`,
    memory: `${(totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    'load average at start (1/5/15 min)': loadAverage()
  }
}

/** The 1, 5 and 15 minute load averages (other work on the machine skews every figure). */
export function loadAverage(): string {
  return loadavg()
    .map(x => x.toFixed(2))
    .join(' / ')
}

/** 1234567 → "1,234,567". */
export function int(n: number): string {
  return Math.round(n).toLocaleString('en-US')
}

/** A number with `digits` decimals. */
export function num(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : String(n)
}

/** A rate per second with an SI suffix: 1234567 → "1.23 M". */
export function rate(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`
  return n.toFixed(0)
}

/** A relative error as a percentage with enough digits to show small values. */
export function pct(x: number): string {
  const v = x * 100
  if (v === 0) return '0 %'
  if (Math.abs(v) < 0.001) return `${v.toExponential(1)} %`
  return `${v.toFixed(Math.abs(v) < 1 ? 4 : 2)} %`
}

/** A Markdown table; the first column is left-aligned, the others right-aligned. */
export function table(header: string[], rows: string[][]): string {
  return markdownTable([header, ...rows], { align: header.map((_, i) => (i === 0 ? 'l' : 'r')) })
}
