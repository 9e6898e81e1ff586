/**
 * The action's main step: read the inputs and the event, run the mode (gate and baseline in
 * ./gate.ts, stress in ./stress.ts), and turn any error into an ERROR verdict and a failed step.
 * A cancelled job (SIGINT, then SIGTERM 7.5 s later) stops the load and still reports.
 */
import * as core from '@actions/core'
import * as github from '@actions/github'
import { InputError, readInputs, type ActionInputs } from '../config/inputs.js'
import { Inputs, Outputs } from '../constants.js'
import { describeEvent, type EventInfo } from '../report/github-event.js'
import { setOutputs } from '../report/github.js'
import { redactText } from '../report/redact.js'
import { errorMessage } from '../util/index.js'
import { runGateMode } from './gate.js'
import { runStressMode } from './stress.js'

/** Refuses an empty `github-token` when the baseline store or the reports need it. */
function checkToken(inputs: ActionInputs, event: EventInfo): void {
  if (inputs.githubToken || (inputs.baselineStore !== 'artifact' && !event.canWrite)) return
  throw new InputError(
    Inputs.GithubToken,
    inputs.baselineStore === 'artifact'
      ? 'is empty, but the artifact baseline store needs it to find baselines (keep the default ${{ github.token }})'
      : 'is empty; comments and statuses need it (keep the default ${{ github.token }})'
  )
}

/** An abort signal for SIGINT and SIGTERM: the load stops and the report is still written. */
function cancellation(): AbortSignal {
  const abort = new AbortController()
  const onSignal = () => {
    core.warning('perf-gate: cancelled; stopping the load generators')
    abort.abort()
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  return abort.signal
}

export async function runAction(): Promise<void> {
  const signal = cancellation()
  try {
    const inputs = readInputs(name => core.getInput(name))
    const event = describeEvent(github.context.eventName, github.context.payload, process.env)
    checkToken(inputs, event)
    if (inputs.mode === 'stress') await runStressMode(inputs, event, signal)
    else await runGateMode(inputs, event, signal)
  } catch (e) {
    setOutputs({ [Outputs.Verdict]: 'ERROR' })
    core.setFailed(redactText(`perf-gate: ${errorMessage(e)}`))
  }
}
