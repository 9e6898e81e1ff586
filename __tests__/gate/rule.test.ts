import { baselineNoise, judgeMetric, type MetricObservation } from '../../src/gate/rule.js'
import { decideFinal, decideStage1, familySize } from '../../src/gate/decision.js'
import { resolveGateOptions } from '../../src/gate/options.js'
import type { SloResult } from '../../src/gate/slo.js'

const exp = (ys: number[]) => ys.map(y => Math.exp(y))

// Ten baseline ln-values with mean exactly 4.60 and deviations 0, ±0.01, ±0.02 (twice each):
// sum of squared deviations = 2·(2·0.0004 + 2·0.0001) = 0.002, so s = √(0.002/9).
const DEV = [0, 0.02, -0.02, 0.01, -0.01, 0, 0.02, -0.02, 0.01, -0.01]
const S = Math.sqrt(0.002 / 9)
const lowNoise = (scale = 1) => exp(DEV.map(d => 4.6 + scale * d))

function obs(
  values: number[],
  baseline: number[],
  extra: Partial<MetricObservation> = {}
): MetricObservation {
  return { name: 'p95', unit: 'ms', higherIsWorse: true, values, baseline, ...extra }
}

describe('the prediction-interval statistic', () => {
  it('matches T computed by hand for a tiny series (k = 1, then k = 5)', () => {
    const base = lowNoise()
    const one = judgeMetric(obs(exp([4.7]), base), { stage: 1 })
    expect(one.method).toBe('prediction-interval')
    expect(one.n).toBe(10)
    expect(one.k).toBe(1)
    expect(one.df).toBe(9)
    expect(one.noise).toBeCloseTo(S, 12)
    // T = (ȳ − m) / (s·√(1/k + 1/N)) = 0.10 / (s·√1.1)
    expect(one.T).toBeCloseTo(0.1 / (S * Math.sqrt(1.1)), 9)
    expect(one.T).toBeCloseTo(6.396, 3)
    expect(one.effect).toBeCloseTo(Math.exp(0.1) - 1, 12)
    expect(one.reference).toBeCloseTo(Math.exp(4.6), 9)
    expect(one.passBelow).toBeCloseTo(0.883, 3)
    expect(one.status).toBe('confirm')

    const five = judgeMetric(obs(exp([4.7, 4.68, 4.72, 4.69, 4.71]), base), { stage: 2 })
    expect(five.k).toBe(5)
    expect(five.T).toBeCloseTo(0.1 / (S * Math.sqrt(1 / 5 + 1 / 10)), 9)
    expect(five.threshold).toBeCloseTo(2.821, 3)
    expect(five.status).toBe('fail')
    expect(five.pValue).toBeLessThan(1e-5)
  })

  it('exposes the noise estimate of a history on its own', () => {
    const b = baselineNoise([Number.NaN, ...lowNoise()])
    expect(b.n).toBe(10)
    expect(b.noise).toBeCloseTo(S, 12)
    expect(b.reference).toBeCloseTo(Math.exp(4.6), 9)
    expect(baselineNoise([5])).toEqual({ n: 1, noise: null, reference: 5 })
    expect(baselineNoise([])).toEqual({ n: 0, noise: null, reference: null })
  })

  it('uses only the newest maxBaselines values', () => {
    const old = Array.from({ length: 10 }, () => 1000)
    const j = judgeMetric(obs([Math.exp(4.6)], [...old, ...lowNoise(), ...lowNoise(), ...lowNoise()]))
    expect(j.n).toBe(30)
    expect(j.reference).toBeCloseTo(Math.exp(4.6), 9)
    expect(
      judgeMetric(obs([Math.exp(4.6)], [...old, ...lowNoise()]), {}, resolveGateOptions({ maxBaselines: 10 }))
        .n
    ).toBe(10)
  })

  it('keeps T finite on an identical history by flooring the noise', () => {
    const j = judgeMetric(
      obs(
        [105],
        Array.from({ length: 12 }, () => 100)
      )
    )
    expect(j.noise!).toBeLessThan(1e-12)
    expect(j.noiseUsed).toBe(0.005)
    expect(j.T).toBeCloseTo(Math.log(1.05) / (0.005 * Math.sqrt(1 + 1 / 12)), 9)
  })
})

describe('two-stage decisions', () => {
  const base30 = Array.from({ length: 30 }, (_, i) => 100 * Math.exp(0.02 * Math.sin(1.7 * i)))

  it('an identical run passes at stage 1 with no confirmation', () => {
    const family = [obs([100], base30)]
    const s1 = decideStage1(family)
    expect(s1.outcome).toBe('pass')
    expect(s1.metricsToConfirm).toEqual([])
    expect(s1.replicates).toBe(0)
    const v = decideFinal(family)
    expect(v.outcome).toBe('PASS')
    expect(v.reasons).toEqual(['no regression in the 1 gated metric'])
    expect(v.provisional).toBe(false)
    expect(v.metrics[0].stage).toBe(1)
    expect(v.metrics[0].k).toBe(1)
  })

  it('a clear +30% regression with low noise asks for confirmation, then fails', () => {
    const family = [obs([130.5], base30)]
    const s1 = decideStage1(family)
    expect(s1.outcome).toBe('confirm')
    expect(s1.metricsToConfirm).toEqual(['p95'])
    expect(s1.replicates).toBe(4)
    family[0].values.push(129, 131.2, 130, 128.7)
    const v = decideFinal(family)
    expect(v.outcome).toBe('FAIL')
    expect(v.metrics[0].stage).toBe(2)
    expect(v.metrics[0].k).toBe(5)
    expect(v.metrics[0].deltaPct).toBeGreaterThan(28)
    expect(v.metrics[0].deltaPct).toBeLessThan(32)
    expect(v.reasons[0]).toMatch(/^p95 .* regressed, T > t\(0\.99, 29\) = 2\.46/)
  })

  // Three times the low-noise history: s = 3·S. With every replicate at m + d the stage-2 T is
  // d / (s·√(1/5 + 1/10)) exactly; choose d for a target T.
  const wide = lowNoise(3)
  const dFor = (T: number) => T * 3 * S * Math.sqrt(1 / 5 + 1 / 10)
  const at = (d: number, k = 5) => Array.from({ length: k }, () => Math.exp(4.6 + d))

  it('a borderline change is confirmed, then inconclusive', () => {
    const d = dFor(2.0)
    expect(Math.exp(d) - 1).toBeGreaterThan(0.03)
    const family = [obs(at(d, 1), wide)]
    expect(decideStage1(family).outcome).toBe('confirm')
    family[0].values = at(d)
    const v = decideFinal(family)
    expect(v.metrics[0].T).toBeCloseTo(2.0, 9)
    expect(v.metrics[0].status).toBe('inconclusive')
    expect(v.outcome).toBe('INCONCLUSIVE')
    expect(v.reasons[0]).toContain('T between 0.883 and t(0.99, 9) = 2.821')
  })

  it('Bonferroni over the family raises the failing threshold', () => {
    const d = dFor(3.2)
    const p95 = obs(at(d), wide)
    const alone = decideFinal([p95])
    expect(alone.familySize).toBe(1)
    expect(alone.metrics[0].threshold).toBeCloseTo(2.821, 3)
    expect(alone.outcome).toBe('FAIL')

    const flat = (name: string, higherIsWorse = true): MetricObservation =>
      obs(at(0), wide, { name, higherIsWorse })
    const family = [p95, flat('p99'), flat('error_rate'), flat('throughput', false)]
    const v = decideFinal(family)
    expect(v.familySize).toBe(4)
    expect(v.perMetricAlpha).toBeCloseTo(0.0025, 12)
    // t(1 − 0.01/4, 9) = t(0.9975, 9) = 3.690 from the table
    expect(v.metrics[0].threshold).toBeCloseTo(3.69, 3)
    expect(v.metrics[0].T).toBeCloseTo(3.2, 9)
    expect(v.outcome).toBe('INCONCLUSIVE')
  })

  it('the calibration factor multiplies the failing threshold', () => {
    const v = decideFinal([obs(at(dFor(3.2)), wide)], { calibration: 1.2 })
    expect(v.metrics[0].threshold).toBeCloseTo(1.2 * 2.8214, 3)
    expect(v.outcome).toBe('INCONCLUSIVE')
  })

  it('the minimum effect prevents failing a statistically significant 1% change', () => {
    const tight = Array.from({ length: 30 }, (_, i) => 100 * Math.exp(0.001 * Math.sin(i)))
    const plus1 = [101, 101, 101, 101, 101]
    const stage2 = judgeMetric(obs(plus1, tight), { stage: 2 })
    expect(stage2.threshold).not.toBeNull()
    expect(stage2.T!).toBeGreaterThan(stage2.threshold!)
    expect(stage2.status).toBe('pass')
    expect(stage2.reason).toContain('below the 3% minimum effect')
    expect(decideStage1([obs(plus1.slice(0, 1), tight)]).outcome).toBe('pass')
    expect(decideFinal([obs(plus1, tight)]).outcome).toBe('PASS')
    // Without the floor the same data fails.
    expect(decideFinal([obs(plus1, tight)], { minEffect: 0 }).outcome).toBe('FAIL')
  })

  it('throughput regresses downward', () => {
    const rps = base30.map(v => 5 * v)
    const thr = (values: number[]) =>
      obs(values, rps, { name: 'throughput', unit: 'req/s', higherIsWorse: false })
    const drop = decideFinal([thr([350, 352, 349, 351, 350])])
    expect(drop.outcome).toBe('FAIL')
    expect(drop.metrics[0].T!).toBeGreaterThan(0)
    expect(drop.metrics[0].deltaPct!).toBeCloseTo(-30, 0)
    // The effect is the fraction lost: 1 − 350/500.
    expect(drop.metrics[0].effect!).toBeCloseTo(0.3, 1)
    const rise = decideFinal([thr([650, 652, 649, 651, 650])])
    expect(rise.outcome).toBe('PASS')
    expect(rise.metrics[0].T!).toBeLessThan(0)
    expect(rise.metrics[0].stage).toBe(1)
    // The same +30% on a latency metric fails.
    expect(decideFinal([obs([650, 652, 649, 651, 650], rps)]).outcome).toBe('FAIL')
  })

  it('a metric that passed stage 1 is not judged again at stage 2', () => {
    const p95 = obs([100, 140, 140, 140, 140], base30)
    const v = decideFinal([p95])
    expect(v.metrics[0].stage).toBe(1)
    expect(v.metrics[0].status).toBe('pass')
    expect(v.outcome).toBe('PASS')
  })
})

describe('the primary family', () => {
  const base = lowNoise(3)

  it('drops a tail percentile with fewer than 100 tail samples to advisory', () => {
    const p95 = obs([Math.exp(4.6)], base)
    const p99 = (tail: number) => obs(exp([5.3]), base, { name: 'p99', tailSamples: tail })
    expect(familySize([p95, p99(99)])).toBe(1)
    expect(familySize([p95, p99(100)])).toBe(2)

    const small = [p95, p99(50)]
    const s1 = decideStage1(small)
    expect(s1.outcome).toBe('pass')
    expect(s1.metrics[1].advisory).toBe(true)
    expect(s1.metrics[1].status).toBe('confirm')
    const v = decideFinal(small)
    expect(v.outcome).toBe('PASS')
    expect(v.notes).toContain('p99 is advisory: its tail holds 50 samples, fewer than 100')

    const big = [p95, p99(100)]
    expect(decideStage1(big).metricsToConfirm).toEqual(['p99'])
  })

  it('advisory metrics are reported but never fail the gate', () => {
    const family = [
      obs([Math.exp(4.6)], base),
      obs(exp([5.0, 5.0, 5.0, 5.0, 5.0]), base, { name: 'p95{name:login}', advisory: true })
    ]
    const v = decideFinal(family)
    expect(v.metrics[1].status).toBe('fail')
    expect(v.outcome).toBe('PASS')
    expect(v.familySize).toBe(1)
    expect(v.notes.some(n => n.startsWith('advisory (not gating): p95{name:login}'))).toBe(true)
  })

  it('states the minimum detectable effect from the formula', () => {
    const quiet = decideFinal([obs([Math.exp(4.6)], lowNoise())])
    // MDE = exp((t(0.99, 9) + t(0.95, 9))·s·√(1/5 + 1/10)) − 1 with table values 2.821 and 1.833
    const mde = Math.exp((2.821 + 1.833) * S * Math.sqrt(0.3)) - 1
    expect(quiet.metrics[0].mde).toBeCloseTo(mde, 4)
    expect(quiet.metrics[0].mdeK).toBe(5)
    expect(quiet.metrics[0].detectsTarget).toBe(true)
    expect(quiet.headline).toMatchObject({ name: 'p95', n: 10, k: 1, detectsTarget: true })
    expect(quiet.notes[0]).toMatch(
      /^p95: noise s = 1\.49% over N = 10 baselines; minimum detectable effect at k = 5: 3\.9% \(a 10% regression is detectable\)$/
    )

    const noisy = decideFinal([obs([Math.exp(4.6)], lowNoise(3))])
    expect(noisy.metrics[0].mde).toBeCloseTo(Math.exp((2.821 + 1.833) * 3 * S * Math.sqrt(0.3)) - 1, 4)
    expect(noisy.metrics[0].mde!).toBeGreaterThan(0.1)
    expect(noisy.metrics[0].detectsTarget).toBe(false)
    expect(noisy.notes[0]).toContain('a 10% regression is not reliably detectable')
  })

  it('gives no detectable effect while provisional, and a sentence instead of an absurd one', () => {
    // Two baselines: the t tail of one degree of freedom made the old figure astronomical.
    const two = decideFinal([obs([100], [100, 150])])
    expect(two.provisional).toBe(true)
    expect(two.metrics[0].mde).toBeNull()
    expect(two.metrics[0].detectsTarget).toBeNull()
    expect(two.notes.join('\n')).not.toMatch(/detectable effect at/)
    expect(two.notes[0]).toBe(
      'provisional: 2 of 10 comparable baselines, so metrics were compared with the baseline median using a fixed 10% threshold; no detectable-effect figure until there are 10'
    )
    const wild = decideFinal([
      obs(
        [100],
        Array.from({ length: 10 }, (_, i) => (i % 2 ? 40 : 250))
      )
    ])
    expect(wild.metrics[0].mde!).toBeGreaterThan(1)
    expect(wild.notes[0]).toMatch(
      /^p95: noise s = [\d.]+% over N = 10 baselines; regressions smaller than 100% cannot be told from this noise: needs more baselines or steadier runs$/
    )
  })

  it('never reports an MDE below the minimum effect', () => {
    const flat = Array.from({ length: 30 }, () => 100)
    expect(judgeMetric(obs([100], flat)).mde).toBe(0.03)
  })
})

describe('error rates', () => {
  const floor = 1e-4
  const zeros = Array.from({ length: 20 }, () => 0)
  const er = (values: number[], baseline = zeros): MetricObservation => ({
    name: 'error_rate',
    unit: 'fraction',
    higherIsWorse: true,
    values,
    baseline,
    floor,
    minAbsoluteEffect: 0.001
  })

  it('a single blip of errors on an error-free history does not fail', () => {
    const v = decideFinal([er([0.0012, 0, 0, 0, 0])])
    expect(v.metrics[0].stage).toBe(2)
    expect(v.metrics[0].status).toBe('pass')
    expect(v.outcome).toBe('PASS')
  })

  it('a consistent rise to 0.5% errors fails', () => {
    const v = decideFinal([er([0.005, 0.0048, 0.0052, 0.005, 0.0049])])
    expect(v.outcome).toBe('FAIL')
    // ln(max(rate, floor)): the reference is the floor itself.
    expect(v.metrics[0].reference).toBeCloseTo(floor, 12)
  })

  it('an absolute rise below the minimum absolute effect passes even when relative change is large', () => {
    const low = Array.from({ length: 20 }, (_, i) => 0.0002 * Math.exp(0.05 * Math.sin(i)))
    const v = decideFinal([er([0.0008, 0.0008, 0.0008, 0.0008, 0.0008], low)])
    expect(v.metrics[0].effect!).toBeGreaterThan(2)
    expect(v.outcome).toBe('PASS')
    expect(v.metrics[0].reason).toContain('minimum absolute effect')
  })
})

describe('short and missing history', () => {
  it('with 3 baselines uses the provisional +10% threshold on the median', () => {
    const base = [100, 104, 98]
    const s1 = decideStage1([obs([115], base)])
    expect(s1.outcome).toBe('confirm')
    expect(s1.metrics[0].method).toBe('provisional')
    const fail = decideFinal([obs([115, 112, 114, 116, 113], base)])
    expect(fail.outcome).toBe('FAIL')
    expect(fail.provisional).toBe(true)
    expect(fail.metrics[0].reference).toBe(100)
    expect(fail.metrics[0].T).toBeNull()
    const gm = Math.exp((Math.log(115) + Math.log(112) + Math.log(114) + Math.log(116) + Math.log(113)) / 5)
    expect(fail.metrics[0].deltaPct).toBeCloseTo(gm - 100, 9)
    expect(fail.notes[0]).toContain('provisional')

    const pass = decideFinal([obs([108], base)])
    expect(pass.outcome).toBe('PASS')
    expect(pass.provisional).toBe(true)
    expect(pass.metrics[0].status).toBe('pass')
    // Worse by exactly 10% is not "more than 10%".
    expect(decideFinal([obs([110, 110, 110, 110, 110], base)]).outcome).toBe('PASS')
  })

  it('the provisional rule also follows direction', () => {
    const thr = (values: number[]) =>
      obs(values, [500, 510, 490], { name: 'throughput', higherIsWorse: false })
    expect(decideFinal([thr([420, 420, 420, 420, 420])]).outcome).toBe('FAIL')
    expect(decideFinal([thr([600])]).outcome).toBe('PASS')
  })

  it('with no baseline passes with a note, but SLOs still apply', () => {
    const family = [obs([120], []), obs([0.01], [], { name: 'error_rate', unit: 'fraction' })]
    const s1 = decideStage1(family)
    expect(s1.outcome).toBe('pass')
    const v = decideFinal(family)
    expect(v.outcome).toBe('PASS')
    expect(v.noBaseline).toBe(true)
    expect(v.metrics.every(m => m.status === 'no-baseline')).toBe(true)
    expect(v.reasons).toEqual([
      'no comparable baseline: the statistical gate was not applied (absolute SLOs were still checked)'
    ])
    const slo: SloResult = {
      source: 'config',
      where: 'thresholds[0]',
      text: 'p(95)<100',
      metric: 'http_req_duration',
      label: null,
      status: 'fail',
      observed: 120,
      unit: 'ms',
      reason: 'SLO "p(95)<100" failed: p(95) = 120 ms, limit < 100'
    }
    const withSlo = decideFinal(family, {}, [slo])
    expect(withSlo.outcome).toBe('FAIL')
    expect(withSlo.reasons[0]).toBe(slo.reason)
  })

  it('a PR run without a value for a gated metric is inconclusive', () => {
    const v = decideFinal([obs([Number.NaN], lowNoise())])
    expect(v.metrics[0].status).toBe('no-data')
    expect(v.outcome).toBe('INCONCLUSIVE')
  })

  it('is deterministic', () => {
    const family = [obs([130, 131, 129, 130, 132], lowNoise(3))]
    expect(JSON.stringify(decideFinal(family))).toBe(JSON.stringify(decideFinal(family)))
  })
})
