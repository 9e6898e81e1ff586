/**
 * Settings of the gate's decision rule, their defaults and their validation.
 *
 * Effects (`minEffect`, `provisionalThreshold`, `mdeTarget`) are relative worsenings: for a metric
 * where higher is worse (latency, error rate) a fraction above the baseline (0.10 = 10% higher);
 * for one where lower is worse (throughput) a fraction below it (0.10 = 10% lower).
 */

export interface GateOptions {
  /** Family-wise false-alarm rate of the confirming stage, split over the family (Bonferroni). */
  alpha: number
  /** Smallest relative worsening that may fail the gate. */
  minEffect: number
  /** At most this many of the newest comparable baselines are used (N). */
  maxBaselines: number
  /** With fewer baselines the verdict is provisional (fixed relative threshold instead of statistics). */
  minBaselines: number
  /** Extra PR runs asked for when the screening run trips (stage 2 uses k = 1 + confirmReplicates). */
  confirmReplicates: number
  /** Provisional mode fails a metric worse than the baseline median by more than this fraction. */
  provisionalThreshold: number
  /** A metric passes when T is below the t quantile at this probability (0.80). */
  stage1PassQuantile: number
  /** Calibration factor c ≥ 1 that widens the failing threshold (c · t(1 − α/M)). */
  calibration: number
  /** Power used for the minimum detectable effect (0.95). */
  power: number
  /** The regression size the verdict says is or is not detectable (0.10). */
  mdeTarget: number
  /**
   * Lower bound on the noise estimate s (standard deviation of ln values). Keeps T finite when every
   * baseline is identical, e.g. an error rate that sat on its floor in every run.
   */
  minNoise: number
  /** Error rates below this are treated as this value before taking logs. */
  errorRateFloor: number
  /** An error rate must also worsen by at least this much in absolute terms (0.001 = 0.1 points) to fail. */
  errorRateMinAbsolute: number
  /** A tail percentile is in the primary family only when its tail holds this many samples (n·(1 − q)). */
  minTailSamples: number
}

export const DEFAULT_GATE_OPTIONS: Readonly<GateOptions> = Object.freeze({
  alpha: 0.01,
  minEffect: 0.03,
  maxBaselines: 30,
  minBaselines: 10,
  confirmReplicates: 4,
  provisionalThreshold: 0.1,
  stage1PassQuantile: 0.8,
  calibration: 1,
  power: 0.95,
  mdeTarget: 0.1,
  minNoise: 0.005,
  errorRateFloor: 1e-4,
  errorRateMinAbsolute: 0.001,
  minTailSamples: 100
})

/** A gate setting outside its allowed range. */
export class GateOptionsError extends Error {
  constructor(
    readonly option: keyof GateOptions,
    message: string
  ) {
    super(message)
    this.name = 'GateOptionsError'
  }
}

type Check = (v: number) => boolean
const RULES: Record<keyof GateOptions, [Check, string]> = {
  alpha: [v => v > 0 && v < 0.5, 'a number in (0, 0.5)'],
  minEffect: [v => v >= 0 && v < 1, 'a fraction in [0, 1)'],
  maxBaselines: [v => Number.isInteger(v) && v >= 2, 'an integer ≥ 2'],
  minBaselines: [v => Number.isInteger(v) && v >= 2, 'an integer ≥ 2'],
  confirmReplicates: [v => Number.isInteger(v) && v >= 0, 'an integer ≥ 0'],
  provisionalThreshold: [v => v > 0, 'a positive fraction'],
  stage1PassQuantile: [v => v >= 0.5 && v < 1, 'a probability in [0.5, 1)'],
  calibration: [v => v >= 1, 'a number ≥ 1'],
  power: [v => v > 0.5 && v < 1, 'a probability in (0.5, 1)'],
  mdeTarget: [v => v > 0 && v < 1, 'a fraction in (0, 1)'],
  minNoise: [v => v >= 0, 'a number ≥ 0'],
  errorRateFloor: [v => v > 0 && v < 1, 'a fraction in (0, 1)'],
  errorRateMinAbsolute: [v => v >= 0 && v < 1, 'a fraction in [0, 1)'],
  minTailSamples: [v => v >= 0, 'a number ≥ 0']
}

/** Defaults overlaid with `partial`, validated; throws GateOptionsError naming the setting. */
export function resolveGateOptions(partial: Partial<GateOptions> = {}): GateOptions {
  const o: GateOptions = { ...DEFAULT_GATE_OPTIONS }
  for (const [key, value] of Object.entries(partial) as [keyof GateOptions, number | undefined][]) {
    if (value === undefined) continue
    if (!(key in RULES)) throw new GateOptionsError(key, `unknown gate option '${String(key)}'`)
    const [ok, what] = RULES[key]
    if (typeof value !== 'number' || !Number.isFinite(value) || !ok(value))
      throw new GateOptionsError(key, `gate option '${key}' must be ${what}, got ${String(value)}`)
    o[key] = value
  }
  if (o.maxBaselines < o.minBaselines)
    throw new GateOptionsError(
      'maxBaselines',
      `gate option 'maxBaselines' (${o.maxBaselines}) must be at least 'minBaselines' (${o.minBaselines})`
    )
  return o
}
