import { renderHtml } from '../../src/report/html.js'
import {
  CHECK_TITLE_MAX_CHARS,
  COMMENT_MAX_CHARS,
  SUMMARY_MAX_BYTES,
  commentMarker,
  renderCheckOutput,
  renderJobSummary,
  renderMarkdown
} from '../../src/report/markdown.js'
import type { ReportInput } from '../../src/report/types.js'
import {
  mermaidBlocks,
  parseXyChart,
  syntheticInput,
  syntheticLabels,
  tableCells
} from './synthetic-input.js'

const MINUS = '\u2212'

/** Table rows (lines starting with `|`) whose first cell matches. */
function rowsStartingWith(md: string, first: string): string[][] {
  return md
    .split('\n')
    .filter(l => l.startsWith('|'))
    .map(tableCells)
    .filter(c => c[0] === first)
}

function labelRows(md: string): string[][] {
  return md
    .split('\n')
    .filter(l => l.startsWith('| GET /api/item/'))
    .map(tableCells)
}

function countOf(s: string, sub: string): number {
  return s.split(sub).length - 1
}

describe('comment marker', () => {
  test('is the first line and is built from the key', () => {
    const md = renderMarkdown(syntheticInput())
    expect(md.split('\n')[0]).toBe('<!-- perf-gate:checkout/api-job/node-20 -->')
    expect(commentMarker('checkout/api-job/node-20')).toBe('<!-- perf-gate:checkout/api-job/node-20 -->')
  })

  test('keys cannot close the comment early and stay distinct', () => {
    const m = commentMarker('evil --> <b>x</b>')
    expect(m.startsWith('<!-- perf-gate:')).toBe(true)
    expect(countOf(m, '-->')).toBe(1)
    expect(m.endsWith(' -->')).toBe(true)
    expect(m).not.toContain('<b>')
    expect(commentMarker('a b')).not.toBe(commentMarker('a_b'))
    expect(commentMarker('leg-1')).not.toBe(commentMarker('leg-10'))
    expect(commentMarker('leg-10').includes(commentMarker('leg-1'))).toBe(false)
  })

  test('can be left out for the job summary and check output', () => {
    expect(renderMarkdown(syntheticInput(), { marker: false })).not.toContain('<!-- perf-gate:')
    expect(renderJobSummary(syntheticInput())).not.toContain('<!-- perf-gate:')
    expect(renderCheckOutput(syntheticInput()).summary).not.toContain('<!-- perf-gate:')
  })
})

describe('headline and summary table', () => {
  const md = renderMarkdown(syntheticInput())

  test('headline states the verdict, the reason and the detectable effect', () => {
    const lines = md.split('\n')
    expect(lines[2]).toBe('### ❌ perf-gate FAIL · checkout')
    expect(md).toContain('p95 latency rose 12.3% (outside the 99% prediction interval; MDE 6.2%).')
    expect(md).toContain('Can detect regressions ≥ 6.2% at this noise (σ=2.1%, N=14 baselines).')
    expect(md).not.toContain('provisional')
  })

  test('the summary table comes first, with formatted values, signed deltas and verdicts', () => {
    const tableStart = md.indexOf('| Metric')
    expect(tableStart).toBeGreaterThan(0)
    expect(tableStart).toBeLessThan(md.indexOf('**SLOs**'))
    expect(tableStart).toBeLessThan(md.indexOf('<details'))
    expect(rowsStartingWith(md, 'Metric')[0]).toEqual(['Metric', 'Baseline', 'This PR', 'Δ%', 'Verdict'])
    expect(rowsStartingWith(md, '**p95**')[0]).toEqual(['**p95**', '100 ms', '112 ms', '+12.3%', '❌ fail'])
    expect(rowsStartingWith(md, '**throughput**')[0]).toEqual([
      '**throughput**',
      '1,250 req/s',
      '1,200 req/s',
      `${MINUS}4.0%`,
      '✅ pass'
    ])
    expect(rowsStartingWith(md, '**error rate**')[0]).toEqual([
      '**error rate**',
      '0.10%',
      '0.50%',
      '+400.0%',
      '⚠️ inconclusive'
    ])
    expect(rowsStartingWith(md, 'p50')[0]).toEqual(['p50', '20.0 ms', '21.0 ms', '+5.0%', '➖ advisory'])
    expect(rowsStartingWith(md, '**p99**')[0][4]).toBe('➖ advisory (tail count 40 &lt; 100)')
  })

  test('provisional verdicts and unreachable targets are said', () => {
    const input = syntheticInput()
    input.verdict = {
      ...input.verdict,
      outcome: 'INCONCLUSIVE',
      provisional: true,
      baselines: 6,
      detectable10: false
    }
    const out = renderMarkdown(input)
    expect(out).toContain('### ⚠️ perf-gate INCONCLUSIVE (provisional: 6 of 10 baselines) · checkout')
    // A provisional verdict states its fixed threshold, never a detectable-effect figure.
    expect(out).toContain(
      'Provisional verdict: 6 of 10 baselines. Until there are 10, a metric fails only when it is more than 10% worse than the baseline median (confirmed by more runs); no detectable-effect figure is given yet.'
    )
    expect(out).toContain(
      '**Noise:** σ=2.1% · N=6 baselines · k=1 PR replicate · threshold fixed 10% (provisional: fewer than 10 baselines)'
    )
    expect(out).not.toMatch(/· MDE|Can detect/)

    input.verdict = { ...input.verdict, provisional: false, baselines: 12 }
    const settled = renderMarkdown(input)
    expect(settled).toContain(
      'Can detect regressions ≥ 6.2% at this noise (σ=2.1%, N=12 baselines). A 10% regression is not reliably detectable at this noise.'
    )
    expect(settled).toContain('10% target not reachable')
  })

  test('an absurd detectable effect is replaced by a plain sentence', () => {
    const input = syntheticInput()
    input.verdict = { ...input.verdict, mdePct: 5_022_254_926_350, noisePct: 180, detectable10: false }
    const out = renderMarkdown(input)
    expect(out).toContain(
      'Regressions smaller than 100% cannot be told from this noise (σ=180%, N=14 baselines): needs more baselines or steadier runs.'
    )
    expect(out).toContain('MDE over 100%: needs more baselines')
    expect(out).not.toMatch(/5,022|Can detect|· MDE \d/)
    expect(renderHtml(input)).toContain('over 100%: needs more baselines')
  })

  test('several reasons become a list; pass and error outcomes get their emoji', () => {
    const input = syntheticInput()
    input.verdict = { ...input.verdict, outcome: 'PASS', reasons: ['First reason.', 'Second reason.'] }
    const out = renderMarkdown(input)
    expect(out).toContain('### ✅ perf-gate PASS')
    expect(out).toContain('- First reason.\n- Second reason.')
    input.verdict = { ...input.verdict, outcome: 'ERROR', reasons: ['All tasks failed.'] }
    expect(renderMarkdown(input)).toContain('### ⛔ perf-gate ERROR')
  })

  test('push runs say "This run"', () => {
    const out = renderMarkdown(syntheticInput({ pr: null }))
    expect(rowsStartingWith(out, 'Metric')[0]).toEqual(['Metric', 'Baseline', 'This run', 'Δ%', 'Verdict'])
  })
})

describe('runs without a baseline', () => {
  function noBaseline(mode: 'gate' | 'stress'): ReportInput {
    const input = syntheticInput({ mode, baselinePercentiles: null })
    input.metrics = input.metrics.map(m => ({ ...m, baseline: null, deltaPct: null }))
    return input
  }

  test.each(['gate', 'stress'] as const)('%s mode drops the baseline columns', mode => {
    const out = renderMarkdown(noBaseline(mode))
    expect(rowsStartingWith(out, 'Metric')[0]).toEqual(['Metric', 'This PR', 'Verdict'])
    expect(rowsStartingWith(out, '**p95**')[0]).toEqual(['**p95**', '112 ms', '❌ fail'])
    expect(out).not.toContain('Baseline')
    expect(out).not.toContain('**Noise:**')
    expect(labelRows(out).every(r => !r.join(' ').includes('%)'))).toBe(true)
    const pct = mermaidBlocks(out)[0]
    expect(parseXyChart(pct).series).toHaveLength(1)
    expect(out).toContain(mode === 'stress' ? 'Stress run' : 'No baseline to compare against yet')
  })

  test('stress mode ignores baseline data that is present', () => {
    const out = renderMarkdown(syntheticInput({ mode: 'stress' }))
    expect(rowsStartingWith(out, 'Metric')[0]).toEqual(['Metric', 'This PR', 'Verdict'])
  })
})

describe('SLOs, facts and per-label details', () => {
  const md = renderMarkdown(syntheticInput())

  test('SLOs show expression, source, observed value and result', () => {
    expect(md).toContain('**SLOs** (1 of 2 passed)')
    expect(rowsStartingWith(md, '`http_req_duration`: `p(95)<500`')[0]).toEqual([
      '`http_req_duration`: `p(95)<500`',
      'config',
      '112 ms',
      '✅ pass'
    ])
    expect(rowsStartingWith(md, '`http_req_failed`: `rate<0.001`')[0]).toEqual([
      '`http_req_failed`: `rate<0.001`',
      'script',
      '0.005',
      '❌ fail (observed 0.005)'
    ])
  })

  test('a script threshold perf-gate cannot evaluate reads "not judged", never pass', () => {
    const base = syntheticInput()
    const out = renderMarkdown({
      ...base,
      slos: [
        ...base.slos,
        {
          expr: 'p(95)<200',
          metric: 'iteration_duration',
          source: 'script',
          ok: true,
          judged: false,
          observed: null,
          reason: 'iteration_duration is not recorded by perf-gate'
        }
      ]
    })
    expect(out).toContain('**SLOs** (1 of 3 passed, 1 not judged)')
    const row = rowsStartingWith(out, '`iteration_duration`: `p(95)<200`')[0]
    expect(row[3]).toBe('⚪ not judged (iteration\\_duration is not recorded by perf-gate)')
    expect(row.join(' ')).not.toContain('✅')
  })

  test('noise and run facts, with missing tasks named', () => {
    expect(md).toContain(
      '**Noise:** σ=2.1% · N=14 baselines · k=1 PR replicate · MDE 6.2% · 10% target reachable'
    )
    for (const fact of [
      'k6 0.48.0 on `ecs`',
      'regions us-east-1, eu-west-1',
      '8 tasks',
      '200 VUs',
      '5m 0s',
      'steady window 0:30–1:40 (1m 10s)',
      'est. cost $0.42',
      'commit `abcdef1` vs baseline `1234567`',
      '[workflow run](https://github.com/acme/shop/actions/runs/123)'
    ]) {
      expect(md).toContain(fact)
    }
    expect(md).toContain('**1 of 8 tasks produced no result**')
    expect(md).toContain('eu-west-1 #3 (capacity: RESOURCE:MEMORY)')
  })

  test('a non-http run link is not rendered', () => {
    const input = syntheticInput()
    input.facts = { ...input.facts, runUrl: 'javascript:alert(1)' }
    const out = renderMarkdown(input)
    expect(out).not.toContain('javascript:')
    expect(out).not.toContain('[workflow run]')
  })

  test('per-label tables sit inside details, with Δ% where the baseline has the label', () => {
    expect(md).toContain(
      '<details><summary>Per-label results (5 labels; Δ% vs the same label in the newest baseline)</summary>'
    )
    expect(countOf(md, '<details')).toBe(countOf(md, '</details>'))
    const rows = labelRows(md)
    expect(rows).toHaveLength(5)
    for (const r of rows) expect(r).toHaveLength(6)
    expect(rows[2]).toEqual([
      'GET /api/item/2',
      '30',
      '0%',
      '12.0 ms (+20.0%)',
      '52.0 ms (+4.0%)',
      '92.0 ms (+2.2%)'
    ])
    expect(rows[1]).toEqual(['GET /api/item/1', '40', '0%', '11.0 ms', '51.0 ms', '91.0 ms'])
    expect(rows[3][2]).toBe('1.2%')
  })

  test('mermaid blocks are well formed: percentiles and p95 / rps over time', () => {
    const blocks = mermaidBlocks(md)
    expect(blocks).toHaveLength(3)
    const parsed = blocks.map(parseXyChart)
    for (const p of parsed) for (const s of p.series) expect(s).toHaveLength(p.xCount)
    expect(parsed[0].xCount).toBe(4)
    expect(parsed[0].series).toEqual([
      [20, 80, 100, 200],
      [21, 79.2, 112, 198]
    ])
    expect(parsed[1].xCount).toBe(12)
    expect(Math.max(...parsed[1].series[0])).toBe(480)
    expect(parsed[2].series[0][0]).toBe(400)
    expect(blocks[1]).toContain('y-axis "ms"')
    expect(blocks[2]).toContain('y-axis "req/s"')
  })

  test('no series means only the percentile chart', () => {
    expect(mermaidBlocks(renderMarkdown(syntheticInput({ series: [] })))).toHaveLength(1)
  })
})

describe('escaping', () => {
  const evil = '<script>alert("x")</script> | a`b @octocat $x$ *bold* [link](http://evil.test)'

  function evilInput(): ReportInput {
    const input = syntheticInput({
      scenario: '<img src=x onerror=alert(1)>',
      labels: [
        { label: evil, requests: 7, errorRate: 0, p50: 1, p95: 2, p99: 3 },
        { label: 'multi\nline | label', requests: 3, errorRate: 0, p50: 1, p95: 2, p99: 3 }
      ]
    })
    input.verdict = { ...input.verdict, reasons: ['Label <script>x</script> regressed | badly'] }
    input.slos = [
      { expr: 'p(95)<500 || `weird`', source: 'script', ok: true, observed: 1, reason: '<b>ok</b>' }
    ]
    input.facts = { ...input.facts, missingTasks: [{ region: 'r|1', taskIndex: 0, reason: '<iframe>' }] }
    return input
  }

  test('labels, titles and reasons cannot inject HTML, mentions or table cells', () => {
    const md = renderMarkdown(evilInput())
    expect(md).not.toMatch(/<script/i)
    expect(md).not.toMatch(/<img/i)
    expect(md).not.toMatch(/<iframe/i)
    expect(md).not.toContain('<b>')
    expect(md).toContain('&lt;script&gt;')
    expect(md).not.toContain('@octocat')
    const rows = md
      .split('\n')
      .filter(l => l.startsWith('| ') && l.includes('alert'))
      .map(tableCells)
    expect(rows).toHaveLength(1)
    expect(rows[0]).toHaveLength(6)
    expect(rows[0][0]).toContain('\\`b')
    expect(rows[0][0]).toContain('\\*bold\\*')
    expect(rows[0][0]).toContain('\\[link\\]')
    const multi = md.split('\n').filter(l => l.startsWith('| multi'))
    expect(multi).toHaveLength(1)
    expect(tableCells(multi[0])).toHaveLength(6)
  })

  test('SLO expressions stay literal code with escaped pipes', () => {
    const md = renderMarkdown(evilInput())
    const row = md.split('\n').find(l => l.includes('p(95)<500'))!
    expect(tableCells(row)).toHaveLength(4)
    expect(row).toContain('`` p(95)<500 \\|\\| `weird` ``')
  })
})

describe('size limits', () => {
  test('2,000 labels: the comment keeps the busiest labels and the charts, under 65,536 chars', () => {
    // least busy first, so keeping the busiest differs from keeping the first rows
    const input = syntheticInput({ labels: syntheticLabels(2000, 40).reverse() })
    const summary = renderJobSummary(input)
    expect(summary.length).toBeGreaterThan(COMMENT_MAX_CHARS)
    expect(labelRows(summary)).toHaveLength(2000)
    expect(summary).not.toContain('Shortened')

    const md = renderMarkdown(input)
    expect(md.length).toBeLessThan(65_536)
    expect(md.split('\n')[0]).toBe(commentMarker(input.key))
    expect(mermaidBlocks(md)).toHaveLength(3)
    const m = /per-label results list the ([\d,]+) busiest of 2,000 labels/.exec(md)
    expect(m).not.toBeNull()
    const kept = Number(m![1].replace(/,/g, ''))
    const rows = labelRows(md)
    expect(rows).toHaveLength(kept)
    expect(kept).toBeGreaterThan(100)
    expect(kept).toBeLessThan(2000)
    expect(rows[0][0]).toBe(`GET /api/item/0/${'x'.repeat(40)}`)
    expect(rows[kept - 1][0]).toBe(`GET /api/item/${kept - 1}/${'x'.repeat(40)}`)
    expect(rows.some(r => r[0].startsWith('GET /api/item/1999/'))).toBe(false)
    expect(md).toContain('The full report is in the artifact `perf-gate-report-checkout`.')
    expect(countOf(md, '<details')).toBe(countOf(md, '</details>'))
    // the job summary still gets the busiest-first cut only when it needs one
    expect(Buffer.byteLength(summary, 'utf8')).toBeLessThanOrEqual(SUMMARY_MAX_BYTES)
  })

  test('per-label rows go before charts at every size limit', () => {
    const input = syntheticInput({ labels: syntheticLabels(120, 10), series: syntheticSeries60() })
    const full = renderMarkdown(input, { maxChars: Number.POSITIVE_INFINITY })
    expect(full).not.toContain('Shortened')
    expect(renderMarkdown(input, { maxChars: full.length })).toBe(full)
    let sawChartsDropped = false
    let sawLabelsDroppedChartsKept = false
    let sawLabelsPartial = false
    for (let max = 1200; max <= full.length + 10; max += Math.ceil(full.length / 60)) {
      const out = renderMarkdown(input, { maxChars: max })
      expect(out.length).toBeLessThanOrEqual(max)
      expect(out.split('\n')[0]).toBe(commentMarker(input.key))
      const rows = labelRows(out).length
      const charts = mermaidBlocks(out).length
      if (charts === 0) {
        sawChartsDropped = true
        expect(rows).toBe(0)
      }
      if (rows === 0 && charts === 3) sawLabelsDroppedChartsKept = true
      if (rows > 0 && rows < 120) sawLabelsPartial = true
      if (out === full) expect(max).toBeGreaterThanOrEqual(full.length)
      else expect(out).toContain('Shortened to fit the size limit')
    }
    expect(sawChartsDropped).toBe(true)
    expect(sawLabelsDroppedChartsKept).toBe(true)
    expect(sawLabelsPartial).toBe(true)
  })

  test('the job summary is capped in UTF-8 bytes', () => {
    const labels = syntheticLabels(6000).map(l => ({ ...l, label: `${l.label} ${'日本語🚀'.repeat(20)}` }))
    const input = syntheticInput({ labels })
    const summary = renderJobSummary(input)
    expect(Buffer.byteLength(summary, 'utf8')).toBeLessThanOrEqual(SUMMARY_MAX_BYTES)
    expect(Buffer.byteLength(summary, 'utf8')).toBeGreaterThan(SUMMARY_MAX_BYTES * 0.9)
    expect(summary).toContain('busiest of 6,000 labels')
    const small = renderMarkdown(input, { maxBytes: 20_000, maxChars: Number.POSITIVE_INFINITY })
    expect(Buffer.byteLength(small, 'utf8')).toBeLessThanOrEqual(20_000)
  })

  test('an oversized head is cut at a line with the note, keeping the marker', () => {
    const input = syntheticInput()
    input.verdict = {
      ...input.verdict,
      reasons: Array.from({ length: 400 }, (_, i) => `Reason ${i} ${'y'.repeat(300)}`)
    }
    const md = renderMarkdown(input)
    expect(md.length).toBeLessThanOrEqual(COMMENT_MAX_CHARS)
    expect(md.split('\n')[0]).toBe(commentMarker(input.key))
    expect(md).toContain('the report was cut here')
    expect(mermaidBlocks(md)).toHaveLength(0)
  })
})

describe('check-run output', () => {
  test('title is one short line and the summary fits', () => {
    const input = syntheticInput({ labels: syntheticLabels(2000, 40) })
    const out = renderCheckOutput(input)
    expect(out.title).toBe(
      'FAIL: checkout — p95 latency rose 12.3% (outside the 99% prediction interval; MDE 6.2%).'
    )
    expect(out.summary.length).toBeLessThanOrEqual(65_535)
    expect(out.summary).toContain('| Metric')

    input.verdict = { ...input.verdict, provisional: true, reasons: ['z'.repeat(1000)] }
    const long = renderCheckOutput(input)
    expect(long.title.length).toBeLessThanOrEqual(CHECK_TITLE_MAX_CHARS)
    expect(long.title.startsWith('FAIL (provisional): checkout — zzz')).toBe(true)
    expect(long.title.endsWith('…')).toBe(true)
  })
})

function syntheticSeries60(): ReportInput['series'] {
  return syntheticInput().series.concat(
    Array.from({ length: 48 }, (_, i) => ({
      startMs: syntheticInput().series[11].startMs + (i + 1) * 10_000,
      rps: 300 + i,
      p50Ms: 20,
      p95Ms: 100 + i,
      p99Ms: 200,
      users: 40
    }))
  )
}
