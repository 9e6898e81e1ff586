/** What an engine is asked to run: the engine names, load stages and one task's share of the load. */

export const ENGINE_NAMES = ['k6', 'locust', 'jmeter', 'http'] as const
export type EngineName = (typeof ENGINE_NAMES)[number]

/** One stage of a load profile, for this task: reach `target` VUs over `durationS`. */
export interface Stage {
  durationS: number
  target: number
}

/** The load one task must generate (its share of the whole run). */
export interface TaskLoad {
  /** Virtual users / Locust users / JMeter threads / connections for this task. */
  vus: number
  /** Hold duration, seconds (ignored when `stages` is set). */
  durationS: number
  /** Ramp-up before the hold, seconds. */
  rampUpS: number
  /** Explicit stages (already scaled to this task's share); overrides vus/duration/ramp. */
  stages?: Stage[]
  /** Locust spawn rate (users per second); derived from vus/rampUpS when absent. */
  spawnRate?: number
  /**
   * k6 only: run the script's own load options (`scenarios`, `stages`, `vus`/`duration`); only
   * the execution segment is passed. vus/durationS then describe that load (from `k6 inspect`).
   */
  scriptLoad?: boolean
  /** k6 execution segment for this task, plus the full sequence. */
  segment?: { segment: string; sequence: string }
  /** Base URL of the system under test (already checked against the allow-list). */
  targetUrl: string
}

/** One request of the built-in http engine. */
export interface HttpRequestSpec {
  label?: string
  method?: string
  path: string
  headers?: Record<string, string>
  body?: string
}

/** Environment variable (and JMeter property `body_bytes`) that carries the volume body size to scripts. */
export const BODY_BYTES_ENV = 'PERF_GATE_BODY_BYTES'
