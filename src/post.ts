/**
 * The action's post step (`dist/post/index.js`, `post-if: always()`): stops every runner process
 * the main step started that is still alive, so a cancelled job leaves no load running.
 */
import * as core from '@actions/core'
import { State } from './constants.js'
import { stopLeftoverProcesses } from './fleet/cleanup.js'

export async function runPost(): Promise<void> {
  try {
    const stopped = await stopLeftoverProcesses(core.getState(State.Pids))
    if (stopped.length)
      core.warning(`perf-gate: stopped ${stopped.length} leftover load process(es): ${stopped.join(', ')}`)
    else core.info('perf-gate: nothing left to clean up')
  } catch (e) {
    core.warning(`perf-gate post step: ${(e as Error).message}`)
  }
}

void runPost()
