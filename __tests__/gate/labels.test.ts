/**
 * `gate-labels`: which labels join the primary family, how the family-wise correction grows with
 * them, and why a small label stays advisory.
 */
import { buildFamily, type RunMetrics } from '../../src/gate/metrics.js'
import { selectGateLabels, type LabelMetrics } from '../../src/gate/labels.js'
import { GateLabelsError, parseGateLabels } from '../../src/config/gate-labels.js'
import { decideFinal, familySize } from '../../src/gate/decision.js'
import { resolveGateOptions } from '../../src/gate/options.js'

function label(requests: number, p95Ms: number, errorRate = 0): LabelMetrics {
  return {
    requests,
    failures: Math.round(requests * errorRate),
    errorRate,
    rps: requests / 10,
    p95Ms,
    p99Ms: p95Ms * 1.2
  }
}

/** One run: two busy labels and a small one; `fast` is GET /fast's p95. */
function run(fast: number, jitter = 0): RunMetrics {
  const labels = {
    'GET /fast': label(5000, fast * (1 + jitter)),
    'GET /slow': label(4800, 180 * (1 + jitter)),
    'GET /rare': label(200, 40 * (1 + jitter))
  }
  return {
    requests: 10_000,
    failures: 0,
    durationS: 10,
    errorRate: 0,
    rps: 1000 * (1 - jitter),
    p50Ms: 20 * (1 + jitter),
    p90Ms: 170 * (1 + jitter),
    p95Ms: 178 * (1 + jitter),
    p99Ms: 199 * (1 + jitter),
    p99TailSamples: 100,
    labels
  }
}

/** Twelve baselines with about 1% run-to-run noise. */
const baselines = Array.from({ length: 12 }, (_, i) => run(2, ((i % 5) - 2) * 0.006))

describe('parseGateLabels', () => {
  it('reads all, a share, a list and nothing', () => {
    expect(parseGateLabels([])).toEqual({ kind: 'none' })
    expect(parseGateLabels(['  '])).toEqual({ kind: 'none' })
    expect(parseGateLabels(['none'])).toEqual({ kind: 'none' })
    expect(parseGateLabels(['ALL'])).toEqual({ kind: 'all' })
    expect(parseGateLabels(['5%'])).toEqual({ kind: 'share', share: 0.05 })
    expect(parseGateLabels(['0.2'])).toEqual({ kind: 'share', share: 0.2 })
    expect(parseGateLabels(['GET /fast', 'GET /slow', 'GET /fast'])).toEqual({
      kind: 'list',
      labels: ['GET /fast', 'GET /slow']
    })
  })

  it('refuses a rule mixed with names and a share out of range', () => {
    expect(() => parseGateLabels(['all', 'GET /fast'])).toThrow(GateLabelsError)
    expect(() => parseGateLabels(['all', 'GET /fast'])).toThrow(/cannot be combined/)
    expect(() => parseGateLabels(['150%'])).toThrow(/at most 100%/)
    expect(() => parseGateLabels(['0%'])).toThrow(/above 0/)
  })
})

describe('selectGateLabels', () => {
  const screening = run(2).labels
  it('selects by share of the screening run, by name, or all', () => {
    expect(selectGateLabels({ kind: 'all' }, screening).labels).toEqual([
      'GET /fast',
      'GET /rare',
      'GET /slow'
    ])
    // GET /rare carries 2% of the requests.
    expect(selectGateLabels({ kind: 'share', share: 0.05 }, screening).labels).toEqual([
      'GET /fast',
      'GET /slow'
    ])
    expect(selectGateLabels({ kind: 'share', share: 0.02 }, screening).labels).toContain('GET /rare')
    expect(selectGateLabels({ kind: 'list', labels: ['GET /slow', 'GET /nope'] }, screening)).toEqual({
      labels: ['GET /slow'],
      missing: ['GET /nope']
    })
  })
})

describe('a gated label in the primary family', () => {
  const o = resolveGateOptions({})

  it('a +15 ms slowdown of one label fails the gate, naming the label; without gate-labels it passes', () => {
    const pr = [run(17), run(17.2), run(16.9), run(17.1), run(17)]
    const plain = decideFinal(buildFamily(pr, baselines, {}, { perLabel: false }), {})
    expect(plain.outcome).toBe('PASS')
    const family = buildFamily(pr, baselines, {}, { perLabel: false, gateLabels: { kind: 'all' } })
    const v = decideFinal(family, {})
    expect(v.outcome).toBe('FAIL')
    expect(v.reasons.join('\n')).toMatch(/^p95\{name:GET \/fast\} 17(\.\d+)? ms .*regressed/m)
    const failed = v.metrics.filter(j => j.status === 'fail').map(j => j.name)
    expect(failed).toEqual(['p95{name:GET /fast}'])
  })

  it('each gated label adds its p95 and error rate to M (Bonferroni)', () => {
    const base = buildFamily([run(2)], baselines, {}, { perLabel: false })
    const two = buildFamily(
      [run(2)],
      baselines,
      {},
      { perLabel: false, gateLabels: { kind: 'share', share: 0.05 } }
    )
    expect(familySize(base, o)).toBe(4)
    expect(familySize(two, o)).toBe(8)
    const v = decideFinal(two, {})
    expect(v.familySize).toBe(8)
    expect(v.perMetricAlpha).toBeCloseTo(0.01 / 8, 12)
  })

  it('a label with too few requests stays advisory and says why', () => {
    const family = buildFamily(
      [run(2)],
      baselines,
      {},
      { perLabel: false, gateLabels: { kind: 'list', labels: ['GET /rare'] } }
    )
    const v = decideFinal(family, {})
    const rare = v.metrics.filter(j => j.name.endsWith('{name:GET /rare}'))
    expect(rare).toHaveLength(2)
    for (const j of rare) {
      expect(j.advisory).toBe(true)
      expect(j.advisoryReason).toMatch(
        /"GET \/rare" has 200 requests in the screening run: its p95 tail holds 10 samples, fewer than 100 \(gating it needs about 2000 requests per run\)/
      )
    }
    expect(v.notes.join('\n')).toContain(
      'p95{name:GET /rare} and error_rate{name:GET /rare} are advisory: label "GET /rare" has 200 requests'
    )
    expect(v.familySize).toBe(4)
  })

  it('a listed label the run did not record makes the verdict inconclusive with a reason', () => {
    const family = buildFamily(
      [run(2)],
      baselines,
      {},
      { perLabel: false, gateLabels: { kind: 'list', labels: ['GET /typo'] } }
    )
    const v = decideFinal(family, {})
    expect(v.outcome).toBe('INCONCLUSIVE')
    expect(v.reasons[0]).toBe(
      'gate-labels names "GET /typo", but the PR run recorded no such label (it recorded: GET /fast, GET /rare, GET /slow)'
    )
  })
})
