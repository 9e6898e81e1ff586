/**
 * Last-resort cleanup of local load processes, for the action's post step: the PIDs the main step
 * saved are stopped if they are still perf-gate runners (checked through /proc, so a reused PID
 * of an unrelated process is never signalled).
 */
import { readFile } from 'node:fs/promises'
import { sleep } from '../util/index.js'

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Whether `pid` is still a perf-gate runner (its command line names the runner bundle). */
export async function isRunnerProcess(pid: number): Promise<boolean> {
  try {
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ')
    return /runner[\\/]index\.js/.test(cmdline)
  } catch {
    return false
  }
}

export function parsePids(state: string): number[] {
  return state
    .split(',')
    .map(s => Number(s.trim()))
    .filter(n => Number.isInteger(n) && n > 1)
}

/** Stops every saved runner that is still alive: SIGTERM to it and its group, then SIGKILL. */
export async function stopLeftoverProcesses(state: string, graceMs = 4000): Promise<number[]> {
  const pids: number[] = []
  for (const pid of parsePids(state)) if (alive(pid) && (await isRunnerProcess(pid))) pids.push(pid)
  const signal = (sig: NodeJS.Signals) => {
    for (const pid of pids) {
      for (const target of [-pid, pid]) {
        try {
          process.kill(target, sig)
        } catch {
          // already gone
        }
      }
    }
  }
  if (!pids.length) return []
  signal('SIGTERM')
  const deadline = Date.now() + graceMs
  while (Date.now() < deadline && pids.some(alive)) await sleep(100)
  if (pids.some(alive)) signal('SIGKILL')
  return pids
}
