/**
 * Runs the bundled action (dist/index.js) once in its own workspace, as the Actions runner starts
 * it: INPUT_* variables, an event file and the runner's command files. Only the inputs given are
 * set (an input left out is the empty string, as the runner passes an input without a default).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseCommandFile, spawnNode } from './action.js'
import { root } from '../cli/spawn-cli.js'

export const ACTION_MAIN = resolve(root, 'dist', 'index.js')

export interface ActionResult {
  code: number | null
  /** stdout and stderr together (workflow commands such as ::error:: included). */
  stdout: string
  outputs: Record<string, string>
  summary: string
  /** The workspace the action ran in. */
  dir: string
}

export async function runActionOnce(
  dir: string,
  inputs: Record<string, string>,
  opts: {
    apiUrl: string
    eventName?: string
    payload?: unknown
    files?: Record<string, string | Buffer>
    timeoutMs?: number
  }
): Promise<ActionResult> {
  await mkdir(dir, { recursive: true })
  const f = {
    event: join(dir, '.event.json'),
    output: join(dir, '.output'),
    summary: join(dir, '.summary.md'),
    state: join(dir, '.state'),
    env: join(dir, '.env')
  }
  await writeFile(
    f.event,
    JSON.stringify(opts.payload ?? { ref: 'refs/heads/main', repository: { full_name: 'acme/shop' } })
  )
  for (const p of [f.output, f.summary, f.state, f.env]) await writeFile(p, '')
  for (const [name, content] of Object.entries(opts.files ?? {})) {
    await mkdir(join(dir, name, '..'), { recursive: true })
    await writeFile(join(dir, name), content)
  }
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GITHUB_ACTIONS: 'true',
    GITHUB_API_URL: opts.apiUrl,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: 'acme/shop',
    GITHUB_EVENT_NAME: opts.eventName ?? 'push',
    GITHUB_EVENT_PATH: f.event,
    GITHUB_SHA: 'a'.repeat(40),
    GITHUB_REF: 'refs/heads/main',
    GITHUB_REF_NAME: 'main',
    GITHUB_JOB: 'perf',
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_ACTOR: 'dev',
    GITHUB_WORKSPACE: dir,
    RUNNER_TEMP: join(dir, '.tmp'),
    GITHUB_OUTPUT: f.output,
    GITHUB_STEP_SUMMARY: f.summary,
    GITHUB_STATE: f.state,
    GITHUB_ENV: f.env
  }
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v
  const r = await spawnNode(process.execPath, ACTION_MAIN, env, { timeoutMs: opts.timeoutMs ?? 60_000 })
  return {
    code: r.code,
    stdout: r.stdout,
    outputs: parseCommandFile(await readFile(f.output, 'utf8')),
    summary: await readFile(f.summary, 'utf8'),
    dir
  }
}

/** The `::error::` lines the action printed. */
export function errorLines(stdout: string): string[] {
  return stdout.split('\n').filter(l => l.startsWith('::error::'))
}
