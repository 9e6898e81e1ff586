/**
 * Results brought from elsewhere (the `results` input, `perf-gate gate --results`): engine output
 * files or perf-gate results, read into one run result that the gate judges like any other run.
 * They are validated as strictly as the runner's own results (src/results/sanity.ts), and a
 * perf-gate run result keeps what makes it partial or aborted: its expected and missing tasks, the
 * tasks' statuses and its `aborted` / `abortOn` facts. So an imported partial run is never judged
 * or stored as a complete one.
 */
import { createHash } from 'node:crypto'
import { readdir, stat } from 'node:fs/promises'
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path'
import { ingestFiles } from '../ingest/ingest.js'
import { RESULT_VERSION, RUN_RESULT_SCHEMA, type RunResult } from '../results/model.js'

function globToRegExp(glob: string): RegExp {
  let re = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]
    if (c === '*') {
      if (glob[i + 1] === '*') {
        re += '.*'
        i++
        if (glob[i + 1] === '/') i++
      } else re += '[^/]*'
    } else if (c === '?') re += '[^/]'
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(`^${re}$`)
}

async function walk(dir: string, out: string[], depth = 0): Promise<void> {
  if (depth > 12) return
  let entries
  try {
    entries = await readdir(dir, { withFileTypes: true })
  } catch {
    return
  }
  for (const e of entries) {
    if (e.name === 'node_modules' || e.name === '.git') continue
    const p = join(dir, e.name)
    if (e.isDirectory()) await walk(p, out, depth + 1)
    else if (e.isFile()) out.push(p)
  }
}

/** Expands file names and globs (`*`, `**`, `?`) relative to `cwd`, in a stable order. */
export async function expandPatterns(patterns: string[], cwd: string): Promise<string[]> {
  const found = new Set<string>()
  for (const pattern of patterns) {
    if (!/[*?]/.test(pattern)) {
      const p = resolve(cwd, pattern)
      try {
        await stat(p)
      } catch {
        throw new Error(`input 'results': ${pattern} does not exist`)
      }
      found.add(p)
      continue
    }
    const abs = isAbsolute(pattern) ? pattern : join(cwd, pattern)
    const firstWild = abs.search(/[*?]/)
    const root = dirname(abs.slice(0, firstWild + 1))
    const re = globToRegExp(relative(root, abs))
    const files: string[] = []
    await walk(root, files)
    const matches = files.filter(f => re.test(relative(root, f))).sort()
    if (!matches.length) throw new Error(`input 'results': no file matches ${pattern}`)
    for (const m of matches) found.add(m)
  }
  return [...found]
}

/** Reads the files into one run result. */
export async function importRunResult(
  patterns: string[],
  opts: { cwd: string; scenario: string; runId?: string; now?: number; warn?: (message: string) => void }
): Promise<RunResult> {
  const files = await expandPatterns(patterns, opts.cwd)
  const ingested = await ingestFiles(files, { scenario: opts.scenario })
  for (const f of ingested) for (const w of f.warnings) opts.warn?.(`${relative(opts.cwd, f.file)}: ${w}`)
  const tasks = ingested.flatMap(f => f.tasks)
  const runs = ingested.flatMap(f => (f.run ? [f.run] : []))
  const expectedTasks = ingested.reduce(
    (n, f) => n + (f.run ? Math.max(f.run.expectedTasks, f.tasks.length) : f.tasks.length),
    0
  )
  const facts: RunResult['run']['facts'] = {}
  if (runs.some(r => r.facts.aborted === true)) facts.aborted = true
  const abortOn = runs.map(r => r.facts.abortOn).find(v => typeof v === 'string')
  if (abortOn !== undefined) facts.abortOn = abortOn
  const engines = [...new Set(tasks.map(t => t.task.engine))].sort()
  // Brought results are comparable when they come from the same scenario and engine(s).
  const fingerprint = createHash('sha256')
    .update(JSON.stringify({ scenario: opts.scenario, engines, backend: 'import' }))
    .digest('hex')
  const createdMs = opts.now ?? Date.now()
  return {
    schema: RUN_RESULT_SCHEMA,
    version: RESULT_VERSION,
    run: {
      runId: opts.runId ?? `import-${createdMs}`,
      scenario: opts.scenario,
      fingerprint,
      backend: 'import',
      createdMs,
      expectedTasks,
      missingTasks: runs.flatMap(r => r.missingTasks),
      facts: { ...facts, engine: engines.join(','), files: files.map(f => basename(f)).join(', ') }
    },
    tasks: tasks.map(t => ({ ...t, task: { ...t.task, scenario: opts.scenario, fingerprint } }))
  }
}
