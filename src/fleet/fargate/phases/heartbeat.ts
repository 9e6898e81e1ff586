/**
 * The heartbeat: heartbeat.json is written before the launch and rewritten every `heartbeatMs`
 * while the action watches the run, so tasks can tell a live run from an abandoned one.
 */
import { putDoc, type PhaseContext } from '../context.js'

/** Writes the first heartbeat and keeps beating; the returned function stops it. */
export async function startHeartbeat(ctx: PhaseContext): Promise<() => void> {
  await putDoc(ctx, ctx.keys.heartbeat, { atMs: ctx.clock.now() })
  const timer = setInterval(() => {
    ctx.count('s3:PutObject')
    void ctx.store.putJson(ctx.keys.heartbeat, { atMs: ctx.clock.now() }).catch(() => undefined)
  }, ctx.timing.heartbeatMs)
  return () => clearInterval(timer)
}
