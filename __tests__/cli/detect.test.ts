import { detectFormat } from '../../src/ingest/detect.js'

describe('detectFormat', () => {
  it.each([
    ['{"type":"Metric","data":{"name":"http_reqs"},"metric":"http_reqs"}\n', 'k6-json'],
    [
      '{"metric":"vus","type":"Point","data":{"time":"2026-01-01T00:00:00Z","value":1,"tags":{}}}\n',
      'k6-json'
    ],
    ['metric_name,timestamp,metric_value,check\n', 'k6-csv'],
    ['timeStamp,elapsed,label,responseCode\n', 'jmeter'],
    ['1795585846527,56,GET /fast,200,OK,users 1-1,text,true,156,3,3,56\n', 'jmeter'],
    [
      '1795585601767,4,TX checkout,200,"Number of samples in transaction : 2, number of failing samples : 0",users 1-2,,true,,16695,5,5,null,4,177,0\n',
      'jmeter'
    ],
    ['{"start_time": 1.5, "request_type": "GET", "name": "/x", "response_time": 2.1}\n', 'locust'],
    ['{"type": "users", "t": 1795585748.1, "n": 4}\n{"start_time": 1.5, "request_type": "GET"}\n', 'locust'],
    ['{"schema":"perf-gate/task-result","version":1}', 'result'],
    ['{\n  "schema": "perf-gate/run-result",\n  "version": 1\n}', 'result']
  ])('%s → %s', (head, format) => {
    expect(detectFormat(head)).toBe(format)
  })

  it.each(['', '{"hello":"world"}', '[1,2,3]', 'just text\n', '1,2,3\n', '{"schema":"other/thing"}'])(
    '%p is unknown',
    head => {
      expect(detectFormat(head)).toBeNull()
    }
  )
})
