/**
 * k6's percentile definition (linear interpolation between ranks) on merged HDR data, and its use
 * for a k6 script's thresholds, while perf-gate's own SLOs stay nearest-rank.
 */
import { parseSlo } from '../../src/gate/slo.js'
import { evaluateSlo } from '../../src/gate/slo-evaluate.js'
import { k6Percentile } from '../../src/gate/k6-percentile.js'
import { defaultTaskMeta } from '../../src/results/model.js'
import { ResultView } from '../../src/results/query.js'
import { TaskRecorder } from '../../src/results/recorder.js'

/** k6's TrendSink.P on plain sorted values. */
function k6Exact(sorted: number[], p: number): number {
  const i = (p / 100) * (sorted.length - 1)
  const lo = sorted[Math.floor(i)]
  const hi = sorted[Math.ceil(i)]
  return lo + (hi - lo) * (i - Math.floor(i))
}

// 264 latencies of 1000 + 3k µs (k = 0…263): HDR holds values below 2048 µs exactly, so the
// expected values can be computed from the plain list.
const values = Array.from({ length: 264 }, (_, k) => 1000 + 3 * k)

function view(): ResultView {
  const rec = new TaskRecorder()
  values.forEach((us, k) => rec.sample({ label: 'a', endMs: 1_000_000 + k, latencyUs: us }))
  return new ResultView([rec.finish(defaultTaskMeta({ engine: 'k6' }))])
}

describe("k6's percentile", () => {
  it('interpolates between the ranks around p/100·(n−1), as k6 does', () => {
    const h = view().counts({ window: 'all' }).toHistogram()
    for (const p of [0, 10, 50, 90, 95, 99, 100])
      expect(k6Percentile(h, p)).toBeCloseTo(k6Exact(values, p), 6)
    // p50 of 264 values falls between ranks 131 and 132 (0-based): 1000 + 3·131.5.
    expect(k6Percentile(h, 50)).toBe(1394.5)
  })

  it('a k6 script threshold uses it; perf-gate SLOs keep the nearest rank', () => {
    const v = view()
    const script = evaluateSlo(v, parseSlo('http_req_duration: p(50)<1.3945', 'k6 script', 'script'))
    const config = evaluateSlo(v, parseSlo('http_req_duration: p(50)<1.3945', 'thresholds[0]', 'config'))
    expect(script.observed).toBeCloseTo(1.3945, 9)
    expect(script.status).toBe('fail')
    // The 132nd of 264 values (nearest rank): 1000 + 3·131 µs.
    expect(config.observed).toBeCloseTo(1.393, 9)
    expect(config.status).toBe('pass')
  })

  it('one value and no values', () => {
    const rec = new TaskRecorder()
    rec.sample({ label: 'a', endMs: 1, latencyUs: 1500 })
    const h = new ResultView([rec.finish(defaultTaskMeta({ engine: 'k6' }))])
      .counts({ window: 'all' })
      .toHistogram()
    expect(k6Percentile(h, 95)).toBe(1500)
    const empty = new TaskRecorder().finish(defaultTaskMeta({ engine: 'k6' }))
    expect(k6Percentile(new ResultView([empty]).counts({ window: 'all' }).toHistogram(), 95)).toBe(0)
  })
})
