/**
 * The action's post step (`dist/post/index.js`, `post-if: always()`): stops every runner process
 * the main step started that is still alive, and every Fargate task of the job that is still
 * running (saved task ARNs, then ListTasks by startedBy), so a cancelled job leaves no load running.
 */
import * as core from '@actions/core'
import { State } from '../constants.js'
import { stopLeftoverProcesses } from '../fleet/cleanup.js'
import { cleanupFargate } from '../jobs/fargate.js'
import { errorMessage } from '../util/index.js'

export async function runPost(): Promise<void> {
  try {
    const stopped = await stopLeftoverProcesses(core.getState(State.Pids))
    if (stopped.length)
      core.warning(`perf-gate: stopped ${stopped.length} leftover load process(es): ${stopped.join(', ')}`)
    const fargate = await cleanupFargate(core.getState(State.FargateTasks), {
      getIdToken: aud => core.getIDToken(aud),
      mask: secret => core.setSecret(secret),
      log: m => core.info(`perf-gate: ${m}`)
    })
    if (fargate.stopped) core.warning(`perf-gate: stopped ${fargate.stopped} Fargate task(s) left running`)
    for (const e of fargate.errors) core.warning(`perf-gate post step: ${e}`)
    if (!stopped.length && !fargate.stopped) core.info('perf-gate: nothing left to clean up')
  } catch (e) {
    core.warning(`perf-gate post step: ${errorMessage(e)}`)
  }
}
