import { renderHtml } from '../../src/report/html.js'
import type { ReportInput } from '../../src/report/types.js'
import { syntheticInput, syntheticLabels } from './synthetic-input.js'

const VOID = new Set(['meta', 'br', 'hr', 'img', 'input', 'link', 'col', 'wbr'])

/** Checks that every non-void element is closed in order (self-closing SVG shapes allowed). */
function expectBalanced(html: string): void {
  const stack: string[] = []
  const body = html.replace(/<style>[\s\S]*?<\/style>/g, '').replace(/<!DOCTYPE html>/i, '')
  for (const m of body.matchAll(/<(\/?)([a-zA-Z][a-zA-Z0-9-]*)\b[^>]*?(\/?)>/g)) {
    const [, closing, rawName, selfClosing] = m
    const name = rawName.toLowerCase()
    if (selfClosing || VOID.has(name)) continue
    if (closing) {
      expect(stack.pop()).toBe(name)
    } else {
      stack.push(name)
    }
  }
  expect(stack).toEqual([])
}

/** The rows of the table that follows a heading starting with `heading`. */
function tableAfter(html: string, heading: string): string[][] {
  const start = html.indexOf(`<h2>${heading}`)
  expect(start).toBeGreaterThanOrEqual(0)
  const tableStart = html.indexOf('<table>', start)
  const tableEnd = html.indexOf('</table>', tableStart)
  const table = html.slice(tableStart, tableEnd)
  return [...table.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map(r =>
    [...r[1].matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/g)].map(c => c[1])
  )
}

describe('html report', () => {
  const html = renderHtml(syntheticInput())

  test('is one self-contained document with inline svg and no external resources', () => {
    expect(html.startsWith('<!DOCTYPE html>\n<html lang="en">')).toBe(true)
    expect(html.trimEnd().endsWith('</html>')).toBe(true)
    expect(html.match(/<html/g)).toHaveLength(1)
    expect(html.match(/<body/g)).toHaveLength(1)
    expect(html).not.toMatch(/<script/i)
    expect(html).not.toMatch(/<link/i)
    expect(html).not.toMatch(/\ssrc=/i)
    expect(html).not.toMatch(/@import|url\(/i)
    const hrefs = [...html.matchAll(/href="([^"]*)"/g)].map(m => m[1])
    expect(hrefs).toEqual(['https://github.com/acme/shop/actions/runs/123'])
    const urls = [...html.matchAll(/https?:\/\/[^\s"<]+/g)].map(m => m[0])
    expect(new Set(urls)).toEqual(new Set(['https://github.com/acme/shop/actions/runs/123']))
    expect(html).toContain('Content-Security-Policy" content="default-src \'none\'')
    expect(html.match(/<svg /g)).toHaveLength(3)
    expect(html).not.toContain('NaN')
    expectBalanced(html)
  })

  test('has the verdict, summary, SLO, run and label tables', () => {
    expect(html).toContain('<div class="verdict FAIL">')
    expect(html).toContain('Can detect regressions ≥ 6.2% at this noise (σ=2.1%, N=14 baselines).')
    const summary = tableAfter(html, 'Summary')
    expect(summary[0]).toEqual(['Metric', 'Baseline', 'This PR', 'Δ%', 'Verdict'])
    expect(summary.find(r => r[0] === '<strong>p95</strong>')).toEqual([
      '<strong>p95</strong>',
      '100 ms',
      '112 ms',
      '+12.3%',
      '❌ fail'
    ])
    expect(summary.find(r => r[0] === '<strong>throughput</strong>')?.[3]).toBe('\u22124.0%')
    const slos = tableAfter(html, 'SLOs')
    expect(slos).toHaveLength(3)
    expect(slos[2][3]).toContain('❌ fail')
    const run = tableAfter(html, 'Run')
    const facts = new Map(run.map(([k, v]) => [k, v]))
    expect(facts.get('Noise (σ)')).toBe('2.1%')
    expect(facts.get('Baselines (N)')).toBe('14')
    expect(facts.get('PR replicates (k)')).toBe('1')
    expect(facts.get('Engine')).toBe('k6 0.48.0')
    expect(facts.get('Regions')).toBe('us-east-1, eu-west-1')
    expect(facts.get('Steady window')).toBe('0:30–1:40 (1m 10s)')
    expect(facts.get('Estimated cost')).toBe('$0.42')
    const labels = tableAfter(html, 'Per-label results')
    expect(labels).toHaveLength(6)
    expect(labels[3]).toEqual([
      'GET /api/item/2',
      '30',
      '0%',
      '12.0 ms <span class="muted">(+20.0%)</span>',
      '52.0 ms <span class="muted">(+4.0%)</span>',
      '92.0 ms <span class="muted">(+2.2%)</span>'
    ])
    expect(html).toContain('capacity: RESOURCE:MEMORY')
  })

  test('charts: baseline vs run bars and lines over time with the steady window shaded', () => {
    const svgs = html.match(/<svg [\s\S]*?<\/svg>/g)!
    expect(svgs[0]).toContain('baseline vs this run')
    expect(svgs[0].match(/<rect [^>]*><title>/g)).toHaveLength(8)
    expect(svgs[1].match(/<polyline /g)).toHaveLength(3)
    expect(svgs[1]).toContain('class="shade"')
    expect(svgs[2].match(/<polyline /g)).toHaveLength(1)
  })

  test('escapes labels, titles, reasons and SLOs; drops non-http links', () => {
    const input: ReportInput = syntheticInput({
      title: '</title><script>alert(1)</script>',
      labels: [{ label: '<script>alert("x")</script>&', requests: 1, errorRate: 0, p50: 1, p95: 2, p99: 3 }]
    })
    input.verdict = { ...input.verdict, reasons: ['<img src=x onerror=alert(1)>'] }
    input.slos = [{ expr: 'p(95)<500 && "x"', source: 'script', ok: true, observed: 1 }]
    input.facts = { ...input.facts, runUrl: 'javascript:alert(1)', backend: '<b>ecs</b>' }
    const out = renderHtml(input)
    expect(out).not.toMatch(/<script/i)
    expect(out).not.toMatch(/<img/i)
    expect(out).not.toContain('<b>')
    expect(out).not.toContain('javascript:')
    expect(out).not.toMatch(/href=/)
    expect(out).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;')
    expect(out).toContain('<code>p(95)&lt;500 &amp;&amp; &quot;x&quot;</code>')
    expect(out.match(/<title>/g)!.length).toBe(out.match(/<\/title>/g)!.length)
    expectBalanced(out)
  })

  test('stress runs have no baseline column or noise facts', () => {
    const out = renderHtml(syntheticInput({ mode: 'stress', series: [] }))
    expect(tableAfter(out, 'Summary')[0]).toEqual(['Metric', 'This PR', 'Verdict'])
    expect(out).not.toContain('Noise (σ)')
    expect(out).toContain('Stress run')
    expect(out.match(/<svg /g)).toHaveLength(1)
    expect(out).not.toContain('baseline vs this run')
  })

  test('2,000 labels are all listed', () => {
    const out = renderHtml(syntheticInput({ labels: syntheticLabels(2000, 40) }))
    expect(tableAfter(out, 'Per-label results')).toHaveLength(2001)
    expectBalanced(out)
  })
})
