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
