/**
 * Scenario configuration: the optional `perf-gate.yml` merged with command-line flags (flags win),
 * validated once into a typed `Scenario`. This module holds the scenario's types and constants; the
 * values, the file's schema, the allow-list, the fingerprint and the loading steps have their own
 * modules, and `plan/scenario.ts` composes them (with the profile expansion) into `loadScenario`.
 *
 * Every problem is reported as a `ConfigError` whose message is one line naming the file and field
 * (`perf-gate.yml: scenarios.checkout.vus: expected a positive integer, got "ten"`) or the flag
 * (`--vus: expected a positive integer, got "ten"`).
 *
 * The target host must be a loopback address or listed in `allowed-hosts`; nothing else is ever
 * accepted as a target.
 */
import type { GateLabels } from './gate-labels.js'
import type { EngineName, ExpandedProfile, HttpRequestSpec, Stage, ThresholdSpec } from '../model/index.js'

/** A user-facing configuration error; its message is one complete line. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

/** Default config file names looked up in the working directory. */
export const DEFAULT_CONFIG_FILES = ['perf-gate.yml', 'perf-gate.yaml']
export const DEFAULT_INTERVAL_MS = 1000
/** The most runner processes one scenario may ask for. */
export const MAX_TASKS = 256

/** A scenario after validation and merging; every path is absolute and every duration in seconds. */
export interface Scenario {
  name: string
  engine: EngineName
  /** Absolute path of the engine script (k6, Locust, JMeter). */
  script?: string
  /** sha256 of the script's content. */
  scriptHash?: string
  /** Base URL of the system under test (normalised, allow-listed). */
  target: string
  /** Requests of the built-in http engine. */
  requests?: HttpRequestSpec[]
  vus: number
  durationS: number
  rampUpS: number
  stages?: Stage[]
  /** Runner processes (local backend). */
  tasks: number
  intervalMs: number
  thresholds: ThresholdSpec[]
  env: Record<string, string>
  allowedHosts: string[]
  /** The config file the scenario came from, or null when it came from flags only. */
  configFile: string | null
  /** sha256 of the canonical scenario (see `scenarioFingerprint`). */
  fingerprint: string
  /** The test-type profile the stages came from (or that custom stages override), when one is set. */
  profile?: ExpandedProfile
  /**
   * k6 with no load given (no vus, duration, ramp-up, stages or profile): the script's own load
   * options run as written; vus/durationS are placeholders until `resolveK6Load` reads the script.
   */
  scriptLoad?: boolean
  /** The file's `gate-labels`: labels whose p95 and error rate are gated; absent when not set. */
  gateLabels?: GateLabels
}

/** Scenario settings given as command-line flags (raw strings, validated by the loading steps). */
export interface ScenarioFlags {
  engine?: string
  script?: string
  target?: string
  vus?: string
  duration?: string
  rampUp?: string
  tasks?: string
  interval?: string
  /** `--request 'GET /path'`, repeatable. */
  requests?: string[]
  /** `--threshold 'p(95)<500'`, repeatable; added to the scenario's thresholds. */
  thresholds?: string[]
  /** `--allow-host name`, repeatable; added to the file's allowed-hosts. */
  allowHosts?: string[]
  /** `--profile NAME`: a test-type preset (src/plan/profiles.ts). */
  profile?: string
  /** `--profile-param key=value`, repeatable. */
  profileParams?: string[]
  /** `--multiplier N`: the stress or spike profile's multiplier. */
  multiplier?: string
}

/** Where a scenario comes from: the config file and scenario name, the flags, and how to read them. */
export interface LoadScenarioOptions {
  /** `--config`; when absent, perf-gate.yml / perf-gate.yaml in `cwd` is used if it exists. */
  config?: string
  /** `--scenario`. */
  scenario?: string
  flags?: ScenarioFlags
  cwd?: string
  /** Reads a script's content (for the fingerprint); defaults to the file system. */
  readScript?: (path: string) => Promise<Buffer>
  /** The profile used when neither the file nor the flags name one (stress mode: `stress`). */
  defaultProfile?: string
}
