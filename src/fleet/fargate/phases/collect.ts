/**
 * Collect: every result in results/ is read (16 at a time); every other task is missing, with its
 * failed/ message or what ECS says of it; the spread of the tasks' start times is recorded.
 */
import { parseTaskResult } from '../../../results/io.js'
import { awsMessage, withRetry } from '../../aws/retry.js'
import { listKeys, type PhaseContext } from '../context.js'
import { missingReason, startSkew } from '../policy.js'
import { eachLimit, type Slot } from '../slots.js'

/** Reads and checks one task's result; an unreadable one makes the task missing. */
async function readResult(ctx: PhaseContext, s: Slot): Promise<void> {
  const key = ctx.keys.result(s.key)
  try {
    ctx.count('s3:GetObject')
    const doc = await withRetry(() => ctx.store.getJson(key), { sleep: ctx.clock.sleep })
    s.result = parseTaskResult(`s3://${ctx.store.bucket}/${key}`, doc)
  } catch (e) {
    s.missing = `unreadable result: ${awsMessage(e)}`
  }
}

/** Reads every result there is and says why each other task has none. */
export async function collectResults(
  ctx: PhaseContext,
  slots: readonly Slot[],
  facts: Record<string, string | number | boolean>
): Promise<void> {
  const results = await listKeys(ctx, ctx.keys.resultsPrefix)
  await eachLimit(
    slots.filter(s => results.has(s.key)),
    16,
    s => readResult(ctx, s)
  )
  for (const s of slots) {
    if (s.result || s.missing) continue
    const failure = await ctx.store.getJson<{ message?: string }>(ctx.keys.failure(s.key)).catch(() => null)
    s.missing = missingReason(s, failure?.message)
  }
  const skew = startSkew(slots)
  if (skew) {
    facts.startSkewMs = skew.ms
    ctx.notice(`start skew across ${skew.tasks} task(s): ${skew.ms} ms`)
  }
}
