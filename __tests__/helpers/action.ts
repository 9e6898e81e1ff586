/**
 * Running the bundled action the way the Actions runner does: a child process with INPUT_* and
 * GITHUB_* variables, and the runner's command files (GITHUB_OUTPUT, GITHUB_STATE) parsed back.
 */
import { spawn } from 'node:child_process'

/** Parses the runner's key=value / heredoc file format (GITHUB_OUTPUT, GITHUB_STATE). */
export function parseCommandFile(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^=<]+)<<(.+)$/.exec(lines[i])
    if (m) {
      const value: string[] = []
      for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i])
      out[m[1]] = value.join('\n')
    } else if (lines[i].includes('=')) {
      const k = lines[i].indexOf('=')
      out[lines[i].slice(0, k)] = lines[i].slice(k + 1)
    }
  }
  return out
}

export interface SpawnedNode {
  code: number | null
  stdout: string
}

/**
 * Runs `node script` with the environment; stdout and stderr are collected together. It is killed
 * after `timeoutMs`. `onSpawn` gets the child (e.g. to send it SIGINT at the right moment).
 */
export function spawnNode(
  node: string,
  script: string,
  env: NodeJS.ProcessEnv,
  opts: { timeoutMs?: number; onSpawn?: (child: import('node:child_process').ChildProcess) => void } = {}
): Promise<SpawnedNode> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(node, [script], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    child.stdout.on('data', b => (stdout += b.toString()))
    child.stderr.on('data', b => (stdout += b.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 110_000)
    opts.onSpawn?.(child)
    child.on('error', reject)
    child.on('exit', code => {
      clearTimeout(timer)
      resolveRun({ code, stdout })
    })
  })
}
