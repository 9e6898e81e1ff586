import {
  MISSING,
  escapeHtml,
  formatClock,
  formatCount,
  formatDelta,
  formatDuration,
  formatMs,
  formatPercent,
  formatRate,
  formatRps,
  formatUsd,
  formatValue,
  roundForChart,
  safeHttpUrl
} from '../../src/report/format.js'

describe('number formatting', () => {
  test('missing and non-finite values become an em dash everywhere', () => {
    const fns = [
      formatMs,
      formatRps,
      formatPercent,
      formatRate,
      formatDelta,
      formatCount,
      formatUsd,
      formatDuration
    ]
    for (const fn of fns) {
      for (const v of [null, undefined, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
        expect(fn(v)).toBe(MISSING)
      }
    }
    expect(formatValue(Number.NaN, 'ms')).toBe(MISSING)
    expect(formatValue(null, undefined)).toBe(MISSING)
  })

  test('signed deltas use one decimal, a plus sign and a real minus', () => {
    expect(formatDelta(12.34)).toBe('+12.3%')
    expect(formatDelta(-4)).toBe('\u22124.0%')
    expect(formatDelta(0.04)).toBe('0.0%')
    expect(formatDelta(-0.04)).toBe('0.0%')
    expect(formatDelta(1234.56)).toBe('+1,234.6%')
  })

  test('latencies keep about three significant digits and flag tiny values', () => {
    expect(formatMs(0)).toBe('0 ms')
    expect(formatMs(0.0004)).toBe('<0.001 ms')
    expect(formatMs(0.1234)).toBe('0.123 ms')
    expect(formatMs(4.567)).toBe('4.57 ms')
    expect(formatMs(78.94)).toBe('78.9 ms')
    expect(formatMs(1234.5)).toBe('1,235 ms')
    expect(formatMs(-3.5)).toBe('\u22123.50 ms')
  })

  test('throughput handles tiny and very large rates', () => {
    expect(formatRps(0)).toBe('0 req/s')
    expect(formatRps(0.004)).toBe('<0.01 req/s')
    expect(formatRps(0.5)).toBe('0.50 req/s')
    expect(formatRps(45.64)).toBe('45.6 req/s')
    expect(formatRps(12_345_678.9)).toBe('12,345,679 req/s')
    expect(formatRps(2.5e12)).toBe('2,500,000,000,000 req/s')
  })

  test('percents and 0..1 rates', () => {
    expect(formatPercent(0)).toBe('0%')
    expect(formatPercent(0.004)).toBe('<0.01%')
    expect(formatPercent(0.42)).toBe('0.42%')
    expect(formatPercent(6.2)).toBe('6.2%')
    expect(formatPercent(100)).toBe('100%')
    expect(formatRate(0.0123)).toBe('1.2%')
    expect(formatRate(0.00004)).toBe('<0.01%')
    expect(formatRate(1)).toBe('100%')
  })

  test('durations, clocks, money and counts', () => {
    expect(formatDuration(0.5)).toBe('0.5s')
    expect(formatDuration(45)).toBe('45s')
    expect(formatDuration(300)).toBe('5m 0s')
    expect(formatDuration(3725)).toBe('1h 2m')
    expect(formatClock(65)).toBe('1:05')
    expect(formatClock(3723)).toBe('1:02:03')
    expect(formatUsd(0.004)).toBe('<$0.01')
    expect(formatUsd(1234.5)).toBe('$1,234.50')
    expect(formatCount(1234567.4)).toBe('1,234,567')
  })

  test('chart rounding never yields NaN or negative zero', () => {
    expect(roundForChart(Number.NaN)).toBe(0)
    expect(Object.is(roundForChart(-0.0001), 0)).toBe(true)
    expect(roundForChart(123.456)).toBe(123)
    expect(roundForChart(12.345)).toBe(12.3)
    expect(roundForChart(0.12345)).toBe(0.123)
  })

  test('html escaping and link filtering', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;')
    expect(safeHttpUrl('javascript:alert(1)')).toBeNull()
    expect(safeHttpUrl('data:text/html,hi')).toBeNull()
    expect(safeHttpUrl('not a url')).toBeNull()
    expect(safeHttpUrl('https://example.test/runs/1')).toBe('https://example.test/runs/1')
  })
})
