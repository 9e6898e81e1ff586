/**
 * The JMeter adapter.
 *
 * JMeter runs non-GUI and writes its JTL (CSV) to `<workDir>/results.jtl`, which the runner follows
 * while it grows (`samples: {kind: 'file'}`). The command forces the save-service properties, so the
 * file always starts with a header and has a known column set on any JMeter version.
 *
 * Why a file and not fd 3: JMeter writes the CSV header only when the result file does not exist
 * yet, and `/dev/fd/3` always exists, so the header would be missing and the column layout would
 * have to be guessed from the JMeter version. (JMeter 2.13 can write to `/dev/fd/3`; tried.)
 *
 * One JTL row = one sample, except Transaction Controller rows (they sum their children) and
 * sub-result rows (see `createJtlParser` in `jmeter-jtl.ts`).
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { BODY_BYTES_ENV } from '../model/index.js'
import { resolveBinary, runForOutput } from './common.js'
import { createJtlParser } from './jmeter-jtl.js'
import { rewritePlanForStages, stagesToThreadGroups } from './jmeter-stages.js'
import type { EngineCommand, EngineRunContext, ProcessEngine } from './types.js'
import type { TaskLoad } from '../model/index.js'
import { errorMessage } from '../util/index.js'

export const JMETER_BIN_ENV = 'PERF_GATE_JMETER_BIN'
export const JMETER_DEFAULT_BIN = 'jmeter'
/** The JTL file name inside the task's work directory. */
export const JTL_FILE = 'results.jtl'
export const JMETER_LOG_FILE = 'jmeter.log'

const SAVE = 'jmeter.save.saveservice.'

/**
 * Properties forced on every run. `idle_time=true` and the `false` ones pin the column count so a
 * headerless JTL could still be told apart (2.13: 16 columns, 3.1+: 17).
 */
export const JMETER_SAVE_PROPERTIES: Readonly<Record<string, string>> = {
  [`${SAVE}output_format`]: 'csv',
  [`${SAVE}print_field_names`]: 'true',
  [`${SAVE}timestamp_format`]: 'ms',
  [`${SAVE}default_delimiter`]: ',',
  [`${SAVE}subresults`]: 'false',
  'sampleresult.timestamp.start': 'true',
  [`${SAVE}assertion_results_failure_message`]: 'true',
  [`${SAVE}bytes`]: 'true',
  [`${SAVE}sent_bytes`]: 'true',
  [`${SAVE}thread_counts`]: 'true',
  [`${SAVE}url`]: 'true',
  [`${SAVE}latency`]: 'true',
  [`${SAVE}connect_time`]: 'true',
  [`${SAVE}idle_time`]: 'true',
  [`${SAVE}label`]: 'true',
  [`${SAVE}response_code`]: 'true',
  [`${SAVE}successful`]: 'true',
  [`${SAVE}data_type`]: 'true',
  [`${SAVE}response_message`]: 'true',
  [`${SAVE}thread_name`]: 'true',
  [`${SAVE}time`]: 'true',
  [`${SAVE}filename`]: 'false',
  [`${SAVE}hostname`]: 'false',
  [`${SAVE}encoding`]: 'false',
  [`${SAVE}sample_count`]: 'false'
}

/** The plan parameters a perf-gate JMeter plan reads with `${__P(name)}`. */
export interface JmeterPlanParams {
  threads: number
  rampup: number
  duration: number
  host: string
  port: number
  protocol: 'http' | 'https'
}

/**
 * Thread Group parameters for a task's load (JMeter wants whole numbers).
 * - No stages: `threads` = vus, `rampup` = rampUpS, `duration` = rampUpS + durationS. JMeter's
 *   scheduler duration counts from the start of the ramp-up, so this keeps the full load for
 *   `durationS` seconds.
 * - Stages: `threads` = the highest stage target, `rampup` = the first stage's duration,
 *   `duration` = the sum of all stage durations. These are only the plan's properties: with stages
 *   the adapter also rewrites the plan into one thread group per load layer (`jmeter-stages.ts`),
 *   which follows the stages themselves.
 */
export function jmeterPlanParams(load: TaskLoad): JmeterPlanParams {
  let url: URL
  try {
    url = new URL(load.targetUrl)
  } catch {
    throw new Error(`engine jmeter: load.targetUrl "${load.targetUrl}" is not a valid URL`)
  }
  const protocol = url.protocol.replace(/:$/, '')
  if (protocol !== 'http' && protocol !== 'https')
    throw new Error(`engine jmeter: load.targetUrl "${load.targetUrl}" must be an http or https URL`)
  const port = url.port ? Number(url.port) : protocol === 'https' ? 443 : 80
  let threads: number
  let rampup: number
  let duration: number
  if (load.stages && load.stages.length) {
    threads = Math.max(...load.stages.map(s => s.target))
    rampup = load.stages[0].durationS
    duration = load.stages.reduce((a, s) => a + s.durationS, 0)
  } else {
    threads = load.vus
    rampup = load.rampUpS
    duration = load.rampUpS + load.durationS
  }
  return {
    threads: Math.max(1, Math.round(threads)),
    rampup: Math.max(0, Math.round(rampup)),
    duration: Math.max(1, Math.ceil(duration)),
    host: url.hostname,
    port,
    protocol
  }
}

/**
 * The JMeter command line (without the binary):
 * `-n -t <plan> -l <workDir>/results.jtl -j <workDir>/jmeter.log -Jthreads=… -Jrampup=…
 * -Jduration=… -Jhost=… -Jport=… -Jprotocol=… -Jjmeterengine.nongui.port=0 -J<save properties>`,
 * plus `-Jbody_bytes=N` when the volume profile sets PERF_GATE_BODY_BYTES. `plan` is the script,
 * or its stepped rewrite.
 */
export function jmeterArgs(ctx: EngineRunContext, plan = ctx.script): string[] {
  if (!ctx.script || !plan)
    throw new Error('engine jmeter: field "script" is empty (expected the path of a .jmx test plan)')
  const p = jmeterPlanParams(ctx.load)
  const args = [
    '-n',
    '-t',
    plan,
    '-l',
    join(ctx.workDir, JTL_FILE),
    '-j',
    join(ctx.workDir, JMETER_LOG_FILE),
    `-Jthreads=${p.threads}`,
    `-Jrampup=${p.rampup}`,
    `-Jduration=${p.duration}`,
    `-Jhost=${p.host}`,
    `-Jport=${p.port}`,
    `-Jprotocol=${p.protocol}`,
    '-Jjmeterengine.nongui.port=0'
  ]
  for (const [k, v] of Object.entries(JMETER_SAVE_PROPERTIES)) args.push(`-J${k}=${v}`)
  const bodyBytes = ctx.env[BODY_BYTES_ENV]
  if (bodyBytes !== undefined && /^\d+$/.test(bodyBytes)) args.push(`-Jbody_bytes=${bodyBytes}`)
  return args
}

/** A plan written for one run, and how to remove it once JMeter has exited. */
export interface SteppedPlan {
  path: string
  cleanup(): Promise<void>
}

/**
 * Writes the plan rewritten for the task's stages. It goes next to the original (hidden), so
 * relative paths in the plan (CSV data files) still resolve; when that directory is not writable,
 * into the work directory. The caller removes it with the returned `cleanup` after the run.
 */
export async function writeSteppedPlan(ctx: EngineRunContext): Promise<SteppedPlan> {
  const script = ctx.script!
  let xml: string
  try {
    xml = await readFile(script, 'utf8')
  } catch (e) {
    throw new Error(`engine jmeter: cannot read the test plan ${script}: ${errorMessage(e)}`)
  }
  const text = rewritePlanForStages(xml, stagesToThreadGroups(ctx.load.stages ?? []))
  const name = `.${basename(script, '.jmx')}.perf-gate-${process.pid}-${randomBytes(4).toString('hex')}.jmx`
  for (const dir of [dirname(script), ctx.workDir]) {
    const path = join(dir, name)
    try {
      await writeFile(path, text, { flag: 'wx' })
      return { path, cleanup: () => rm(path, { force: true }) }
    } catch {
      // not writable: try the next place
    }
  }
  throw new Error(`engine jmeter: cannot write the stepped test plan into ${ctx.workDir}`)
}

/**
 * The JMeter version from `jmeter --version` output: 2.13 prints `Version 2.13.19691222` (the last
 * part is a build stamp, dropped → '2.13'); 3.x+ print an ASCII-art banner whose last line ends
 * with the version (`… \_\ 5.6.3`). '' when neither is found.
 */
export function parseJmeterVersion(text: string): string {
  const old = /^\s*Version\s+(\d+)\.(\d+)(?:\.(\d+))?/m.exec(text)
  if (old) return old[3] && old[3].length < 6 ? `${old[1]}.${old[2]}.${old[3]}` : `${old[1]}.${old[2]}`
  for (const line of text.split(/\r?\n/)) {
    const m =
      /^[\s/\\|_()<>.'`,-]*[/\\|_][\s/\\|_()<>.'`,-]*\s(\d+\.\d+(?:\.\d+)?(?:-[0-9A-Za-z.]+)?)\s*$/.exec(line)
    if (m) return m[1]
  }
  return ''
}

function binary(env: NodeJS.ProcessEnv = process.env): string {
  return resolveBinary(JMETER_BIN_ENV, JMETER_DEFAULT_BIN, env)
}

export const jmeterEngine: ProcessEngine = {
  name: 'jmeter',
  kind: 'process',
  binaryEnv: JMETER_BIN_ENV,
  installHint:
    'install Apache JMeter and put its bin folder on PATH: in a GitHub workflow add a step that downloads and unpacks the binary archive from https://jmeter.apache.org/download_jmeter.cgi (see docs/workflows.md)',
  defaultBinary: JMETER_DEFAULT_BIN,
  binary,
  /** Runs `jmeter --version` in a scratch directory (JMeter writes jmeter.log into its cwd). */
  async version(env: NodeJS.ProcessEnv = process.env): Promise<string> {
    const dir = mkdtempSync(join(tmpdir(), 'perf-gate-jmeter-version-'))
    try {
      const out = await runForOutput(binary(env), ['--version'], { env, cwd: dir, timeoutMs: 60_000 })
      return out === null ? '' : parseJmeterVersion(out)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  },
  /**
   * Removes a stale JTL first: JMeter appends to an existing file and then writes no header. The
   * returned `env` holds only the user's variables (to add to the runner's environment); with
   * stages, `cleanup` removes the stepped plan written for the run.
   */
  async command(ctx: EngineRunContext, env: NodeJS.ProcessEnv = process.env): Promise<EngineCommand> {
    jmeterArgs(ctx)
    mkdirSync(ctx.workDir, { recursive: true })
    const stepped = ctx.load.stages?.length ? await writeSteppedPlan(ctx) : undefined
    const args = jmeterArgs(ctx, stepped?.path ?? ctx.script)
    const jtl = join(ctx.workDir, JTL_FILE)
    rmSync(jtl, { force: true })
    return {
      command: binary(env),
      args,
      env: { ...ctx.env },
      samples: { kind: 'file', path: jtl },
      ...(stepped ? { cleanup: stepped.cleanup } : {})
    }
  },
  createParser: createJtlParser,
  /**
   * JMeter exits 0 after a completed run, also when samples failed. JMeter 2.13 also exits 0 when
   * the plan cannot be loaded: callers must check the parser (`problem()`, no rows) as well.
   */
  completed: (exitCode: number) => exitCode === 0
}
