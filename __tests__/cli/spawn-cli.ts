/** Runs the bundled CLI (dist/cli/index.js) as a child process and collects its output. */
import { spawn } from 'node:child_process'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const cliPath = resolve(root, 'dist', 'cli', 'index.js')
export const fixtures = resolve(root, 'fixtures')

export interface CliRun {
  code: number | null
  stdout: string
  stderr: string
}

export function runCli(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}
): Promise<CliRun> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      cwd: opts.cwd ?? root,
      env: { ...process.env, NO_COLOR: '1', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')))
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')))
    const timer = setTimeout(() => {
      if (child.pid !== undefined && child.exitCode === null) child.kill('SIGKILL')
      reject(
        new Error(
          `perf-gate ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 60_000} ms\n${stderr}`
        )
      )
    }, opts.timeoutMs ?? 60_000)
    child.on('error', e => {
      clearTimeout(timer)
      reject(e)
    })
    child.on('close', code => {
      clearTimeout(timer)
      resolveRun({ code, stdout, stderr })
    })
  })
}

/** Asserts an input error: exit 2, nothing on stdout, one stderr line, no stack trace. */
export function expectUsageError(r: CliRun, mentions: string): string {
  expect(r.code).toBe(2)
  expect(r.stdout).toBe('')
  const lines = r.stderr.split('\n').filter(l => l.trim() !== '')
  expect(lines).toHaveLength(1)
  expect(lines[0]).toContain(mentions)
  expect(r.stderr).not.toMatch(/\n\s+at /)
  return lines[0]
}
