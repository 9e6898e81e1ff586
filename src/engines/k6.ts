/**
 * The k6 adapter.
 *
 * k6 streams every metric sample as NDJSON (`--out json=/dev/fd/3`, see `command`; the runner
 * makes fd 3 a FIFO, which k6 can open by that name). Its parser (`k6-output.ts`) turns each
 * `http_req_duration` point into one perf-gate `Sample`, `checks` points into check outcomes, `vus`
 * points into active users, and `Metric` lines into the script's thresholds.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { SampleSink } from '../model/index.js'
import { probeVersion, resolveBinary } from './common.js'
import { createK6JsonParser, k6ThresholdsFromSummary } from './k6-output.js'
import { k6ErrorText } from './k6-script.js'
import type { EngineCommand, EngineRunContext, ProcessEngine } from './types.js'

export const K6_BIN_ENV = 'PERF_GATE_K6_BIN'
export const K6_DEFAULT_BIN = 'k6'

export const K6_INSTALL_HINT =
  'install k6: in a GitHub workflow add the step `uses: grafana/setup-k6-action@v1` before perf-gate; elsewhere see https://grafana.com/docs/k6/latest/set-up/install-k6/'

/**
 * k6 versions whose real output this parser was checked with: their runs are in
 * `fixtures/k6/v<version>-*` and the k6 tests ran against them. The runner image pins one of them.
 */
export const K6_CHECKED_VERSIONS: readonly string[] = ['0.48.0']

/** k6 exit codes that mean the test ran to its end: 0, and 99 (thresholds crossed). */
export const K6_COMPLETED_CODES: readonly number[] = [0, 99]

/**
 * Where k6 writes its samples: fd 3 (a FIFO the runner makes; k6 opens it as `/dev/fd/3`), or on
 * Windows, which has neither FIFOs nor `/dev/fd`, a file in the task's directory that the runner
 * follows while it grows.
 */
export function k6SampleChannel(
  ctx: EngineRunContext,
  platform: NodeJS.Platform = process.platform
): { out: string; samples: EngineCommand['samples'] } {
  if (platform === 'win32') {
    const path = join(ctx.workDir, 'k6-samples.json')
    return { out: path, samples: { kind: 'file', path } }
  }
  return { out: '/dev/fd/3', samples: { kind: 'fd3' } }
}

/** Where k6 writes its end-of-test summary: the task's private directory. */
function summaryPath(ctx: EngineRunContext): string {
  return join(ctx.workDir, K6_SUMMARY_FILE)
}

export const K6_SUMMARY_FILE = 'k6-summary.json'

/** Seconds as a Go duration string (`30s`, `1.5s`). */
function goSeconds(s: number): string {
  return `${Number(s.toFixed(3))}s`
}

/**
 * The k6 command line (without the binary):
 * `run --address "" --no-color --quiet --out json=/dev/fd/3 --summary-export <workDir>/k6-summary.json
 * <load> [segment] [--tag k=v …] <script>`. The summary export adds the thresholds on submetrics
 * (`http_req_duration{name:slow}`) that k6's NDJSON Metric lines leave out (see `afterExit`).
 *
 * Load:
 * - explicit stages → `--stage <d>s:<target>` each (they override vus/duration/ramp-up);
 * - a ramp-up without stages → two stages: ramp to `vus` over `rampUpS`, then hold `vus` for
 *   `durationS`;
 * - otherwise `--vus N --duration Ds`.
 * - `scriptLoad` → none: the script's `scenarios`, `stages` or `vus`/`duration` run as written.
 * With stages k6 runs its ramping-vus executor, which starts from the script's `vus` option
 * (1 when unset) before the first stage. CLI load options replace any `scenarios` in the script.
 * The execution segment splits any executor's load (VUs, iterations, arrival rates) over tasks.
 */
export function k6Args(ctx: EngineRunContext, platform: NodeJS.Platform = process.platform): string[] {
  if (!ctx.script)
    throw new Error('engine k6: field "script" is empty (expected the path of a k6 .js script)')
  const { load } = ctx
  const args = [
    'run',
    '--address',
    '',
    '--no-color',
    '--quiet',
    '--out',
    `json=${k6SampleChannel(ctx, platform).out}`,
    '--summary-export',
    summaryPath(ctx)
  ]
  if (load.scriptLoad) {
    // The script's own options decide the load; the segment below gives this task its part.
  } else if (load.stages && load.stages.length) {
    for (const st of load.stages) args.push('--stage', `${goSeconds(st.durationS)}:${Math.round(st.target)}`)
  } else if (load.rampUpS > 0) {
    args.push(
      '--stage',
      `${goSeconds(load.rampUpS)}:${load.vus}`,
      '--stage',
      `${goSeconds(load.durationS)}:${load.vus}`
    )
  } else {
    args.push('--vus', String(load.vus), '--duration', goSeconds(load.durationS))
  }
  if (load.segment)
    args.push(
      '--execution-segment',
      load.segment.segment,
      '--execution-segment-sequence',
      load.segment.sequence
    )
  for (const key of Object.keys(ctx.tags).sort()) args.push('--tag', `${key}=${ctx.tags[key]}`)
  args.push(ctx.script)
  return args
}

function binary(env: NodeJS.ProcessEnv = process.env): string {
  return resolveBinary(K6_BIN_ENV, K6_DEFAULT_BIN, env)
}

export const k6Engine: ProcessEngine = {
  name: 'k6',
  kind: 'process',
  binaryEnv: K6_BIN_ENV,
  installHint: K6_INSTALL_HINT,
  defaultBinary: K6_DEFAULT_BIN,
  binary,
  /** `k6 version` prints e.g. `k6 v0.48.0 (go1.19.8, linux/amd64)` → '0.48.0'. */
  version(env: NodeJS.ProcessEnv = process.env): Promise<string> {
    return probeVersion(binary(env), ['version'], /\bk6 v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?)/, { env })
  },
  /**
   * Samples arrive on fd 3. The returned `env` holds only the variables to add to the runner's
   * environment: the user's `ctx.env`, with `K6_NO_USAGE_REPORT=true` always set.
   */
  async command(ctx: EngineRunContext, env: NodeJS.ProcessEnv = process.env): Promise<EngineCommand> {
    return {
      command: binary(env),
      args: k6Args(ctx),
      env: { ...ctx.env, K6_NO_USAGE_REPORT: 'true' },
      samples: k6SampleChannel(ctx).samples
    }
  },
  createParser: createK6JsonParser,
  /** k6's own error line, unquoted and without its internal stack frames, naming the script (not for exit 99). */
  failureMessage(exitCode: number | null, output: string, ctx: EngineRunContext): string | undefined {
    const text = k6ErrorText(output)
    if (!text) return undefined
    // Exit 99 (thresholds crossed) is about the results, not the script file.
    if (exitCode === 99 || !ctx.script || text.includes(ctx.script)) return text
    return `${ctx.script}: ${text}`
  },
  completed: (exitCode: number) => K6_COMPLETED_CODES.includes(exitCode),
  /** The thresholds of k6's summary export, submetric ones included; a missing file adds none. */
  async afterExit(ctx: EngineRunContext, sink: SampleSink): Promise<void> {
    let text: string
    try {
      text = await readFile(summaryPath(ctx), 'utf8')
    } catch {
      return
    }
    for (const t of k6ThresholdsFromSummary(JSON.parse(text))) sink.threshold(t)
  }
}
