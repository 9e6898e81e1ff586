/**
 * What a Fargate task publishes as its progress: the latest line and its recent live windows, each
 * stamped with the task clock, so the action can take every window exactly once.
 */
import { ProgressPublication } from '../../src/runner/objects.js'
import type { ProgressLine } from '../../src/runner/progress.js'
import { TaskRecorder } from '../../src/results/recorder.js'

const recorder = new TaskRecorder({ live: true })

function line(elapsedS: number, requests: number): ProgressLine {
  for (let i = 0; i < requests; i++)
    recorder.sample({ label: 'GET /', endMs: 1_000 + i, latencyUs: 1000 * (i + 1) })
  return {
    t: 1_000 + elapsedS * 1000,
    taskIndex: 3,
    region: 'eu-west-1',
    elapsedS,
    requests,
    failures: 0,
    rps: requests,
    live: recorder.takeLive()
  }
}

describe('ProgressPublication', () => {
  it('publishes the latest line with every live window since the start, in order, stamped with the task clock', () => {
    const p = new ProgressPublication()
    expect(p.take()).toBeNull()
    p.add(line(1, 5))
    p.add(line(2, 7))
    const doc = p.take()!
    expect(doc).toMatchObject({ elapsedS: 2, requests: 7, region: 'eu-west-1', taskIndex: 3 })
    expect('live' in doc).toBe(false)
    expect(doc.windows!.map(w => [w.elapsedS, w.requests])).toEqual([
      [1, 5],
      [2, 7]
    ])
    // Nothing new: nothing to publish.
    expect(p.take()).toBeNull()
    p.add(line(3, 2))
    expect(p.take()!.windows!.map(w => w.elapsedS)).toEqual([1, 2, 3])
  })

  it('keeps only the newest windows', () => {
    const p = new ProgressPublication(3)
    for (let s = 1; s <= 5; s++) p.add(line(s, 1))
    expect(p.take()!.windows!.map(w => w.elapsedS)).toEqual([3, 4, 5])
  })
})
