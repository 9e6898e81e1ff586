// A small k6 script for perf-gate: `perf-gate run --script examples/k6/script.js --target URL`.
// With no load given, perf-gate runs the script's own options (here 2 VUs for 10 s), split over
// --tasks by execution segments; --vus/--duration/--ramp-up or a profile replace them. The target's
// base URL arrives in the PERF_GATE_TARGET environment variable.
/* global __ENV */
import http from 'k6/http'
import { check, sleep } from 'k6'

const BASE = (__ENV.PERF_GATE_TARGET || 'http://127.0.0.1:8080').replace(/\/+$/, '')

export const options = {
  vus: 2,
  duration: '10s',
  thresholds: {
    http_req_failed: ['rate<0.5'],
    http_req_duration: ['p(95)<500']
  }
}

export default function () {
  const fast = http.get(`${BASE}/fast`, { tags: { name: 'GET /fast' } })
  check(fast, { 'fast is 200': r => r.status === 200 })
  http.get(`${BASE}/slow`, { tags: { name: 'GET /slow' } })
  http.get(`${BASE}/flaky`, { tags: { name: 'GET /flaky' } })
  sleep(0.1)
}
