/** Test-type profiles as the layers share them: preset names, parameter values, steps and expansions. */
import type { Stage } from './engine.js'

/** The test-type presets a scenario may name as its `profile`. */
export const PROFILE_NAMES = ['load', 'stress', 'spike', 'soak', 'scalability', 'volume'] as const
export type ProfileName = (typeof PROFILE_NAMES)[number]

/** A parameter value after validation: seconds for durations, bytes for sizes, percent for levels. */
export type ProfileValue = number | boolean | number[]

/** A constant-load phase of a profile, in seconds from the start of the run. */
export interface ProfileStep {
  /** 1-based position among the profile's steps. */
  index: number
  /** `step 3`, `75%`, `baseline`, `surge`, `recovery`, `hold`. */
  label: string
  /** Total VUs held (over all tasks). */
  vus: number
  /** When the move to this level begins. */
  startS: number
  /** When the level is reached and held. */
  holdFromS: number
  /** When the hold ends. */
  endS: number
}

/** A profile turned into stages, with the facts its analysis needs. */
export interface ExpandedProfile {
  name: ProfileName
  /** Every parameter with its value in effect (seconds, bytes, percent), for reports and fingerprints. */
  params: Record<string, ProfileValue>
  /** The expected load V the profile was built from. */
  vus: number
  stages: Stage[]
  /** The constant-load phases, in time order. */
  steps: ProfileStep[]
  /** The window a gate run treats as steady, seconds from the start; null when there is none. */
  steady: { fromS: number; toS: number } | null
  /** Seconds the whole profile runs. */
  totalS: number
  /** Whether custom `stages` replaced the preset's shape (the analysis still uses the preset's kind). */
  custom: boolean
  /** Spike: the surge ends (the load is back at V) this many seconds after the start. */
  surgeEndS?: number
  /** Soak: length of the first and last windows compared, seconds. */
  windowS?: number
  /** Stress: end the run once a step breaks an SLO. */
  stopOnBreak: boolean
  /** Volume: request body size in bytes. */
  bodyBytes?: number
}
