/**
 * Publish: before any task starts, the run's script bundle (the script's folder as a gzipped tar)
 * and one envelope per task go to the bucket, where each task finds its spec.
 */
import { spawn } from 'node:child_process'
import { dirname, relative } from 'node:path'
import type { TaskEnvelope } from '../../../runner/objects.js'
import type { TaskSpec } from '../../../runner/spec.js'
import { withRetry } from '../../aws/retry.js'
import { putDoc, type PhaseContext } from '../context.js'
import { eachLimit, type Slot } from '../slots.js'

const MAX_BUNDLE_BYTES = 100 * 1024 * 1024

/** Packs the script's folder (without .git and node_modules) into a gzipped tar. */
export function tarFolder(dir: string): Promise<Buffer> {
  return new Promise((ok, fail) => {
    const p = spawn('tar', ['-czf', '-', '--exclude=.git', '--exclude=node_modules', '-C', dir, '.'], {
      stdio: ['ignore', 'pipe', 'pipe']
    })
    const out: Buffer[] = []
    let size = 0
    let err = ''
    p.stdout.on('data', (d: Buffer) => {
      size += d.length
      if (size > MAX_BUNDLE_BYTES) p.kill('SIGKILL')
      else out.push(d)
    })
    p.stderr.on('data', (d: Buffer) => (err += d.toString()))
    p.on('error', fail)
    // 'close', not 'exit': tar can exit before its last output has been read.
    p.on('close', code => {
      if (size > MAX_BUNDLE_BYTES) fail(new Error(`the script folder ${dir} packs to more than 100 MB`))
      else if (code !== 0) fail(new Error(`tar of ${dir} failed: ${err.trim()}`))
      else ok(Buffer.concat(out))
    })
  })
}

/** A task's envelope: its spec without a start time, its script relative to the unpacked bundle. */
export function envelopeOf(task: TaskSpec, bundle: boolean): TaskEnvelope {
  const spec: Record<string, unknown> = { ...task, startAtMs: null }
  if (task.script) spec.script = relative(dirname(task.script), task.script)
  return { schema: 'perf-gate/remote-task', version: 1, spec, bundle }
}

/** Uploads the folder of `script` as the run's bundle; false when the run has no script. */
async function uploadBundle(ctx: PhaseContext, script: string | undefined): Promise<boolean> {
  if (!script) return false
  const tgz = await tarFolder(dirname(script))
  ctx.count('s3:PutObject')
  await withRetry(() => ctx.store.put(ctx.keys.bundle, tgz, 'application/gzip'), { sleep: ctx.clock.sleep })
  ctx.notice(`script bundle: ${Math.round(tgz.length / 1024)} KiB`)
  return true
}

/** Uploads the script bundle (the first task's script folder) and every task's envelope. */
export async function publishRun(ctx: PhaseContext, slots: readonly Slot[]): Promise<void> {
  const bundle = await uploadBundle(ctx, slots[0]?.spec.script)
  await eachLimit(slots, 32, s => putDoc(ctx, ctx.keys.task(s.key), envelopeOf(s.spec, bundle)))
}
