/**
 * The run source of a gate or baseline job: where its runs come from. Either a scenario run on a
 * fleet (this machine, or a Fargate fleet the caller set up) as often as the job asks, or result
 * files brought from elsewhere, which are one run that cannot be repeated. The action and the CLI
 * both build theirs with `buildRunSource`; the jobs only see the `RunSource`.
 */
import type { S3ClientConfig } from '@aws-sdk/client-s3'
import type { GateLabels } from '../config/gate-labels.js'
import type { Scenario } from '../config/scenario.js'
import { runScenarioOnce } from '../fleet/run.js'
import type { Fleet } from '../fleet/types.js'
import { parseSlos, type Slo } from '../gate/slo.js'
import type { RunResult } from '../results/model.js'
import { importRunResult } from './import.js'
import type { FleetCostSpec } from './run-cost.js'

/** The fleet a scenario runs on, as the caller set it up. */
export interface FleetSetup {
  /** The fleet; default a new LocalFleet for each run. */
  fleet?: Fleet
  /** The scenario as the fleet runs it (a Fargate fleet sets the task count and fingerprint). */
  scenario: Scenario
  /** Regions and their task counts, in task order (Fargate). */
  regions?: { region: string; tasks: number }[]
  /** AWS client settings with the assumed credentials (Fargate), for an S3 baseline store. */
  awsConfig?: S3ClientConfig
  /** The fleet's size and kind, for the reports' cost estimate. */
  fleetCost: FleetCostSpec
}

/** Where a job's runs come from, and what the reports say about them. */
export interface RunSource {
  /** The backend named in the reports. */
  backend: 'local' | 'fargate' | 'import'
  scenario: string
  fingerprint: string
  engine: string
  vus: number | null
  /** The scenario's `gate-labels` (none for imported results). */
  gateLabels?: GateLabels
  /** The scenario's own thresholds as SLOs (none for imported results). */
  slos: Slo[]
  /** Produces run number `replicate` (0 = the screening run); `signal` cancels it. */
  run(replicate: number, signal?: AbortSignal): Promise<RunResult>
  /** Whether more than one run can be made (not for imported results). */
  canRerun: boolean
  /** AWS client settings of a Fargate run (assumed credentials), for an S3 baseline store. */
  awsConfig?: S3ClientConfig
  /** The fleet the load runs on, for the report's cost estimate (none for imported results). */
  fleetCost?: FleetCostSpec
}

/** What the source is made from. */
export type SourceSpec =
  /** Result files (paths or globs); `scenario` names them when they do not say. */
  | { kind: 'import'; results: readonly string[]; scenario: string }
  /** A scenario run on the fleet `deps.fleet` sets up. */
  | { kind: 'fleet'; backend: 'local' | 'fargate'; load: () => Promise<Scenario> }

export interface SourceDeps {
  cwd: string
  env: NodeJS.ProcessEnv
  /** The fleet's one-line notices. */
  log: (message: string) => void
  /** Problems with imported files that do not stop the job. */
  warn: (message: string) => void
  /** Sets up the fleet for the scenario. */
  fleet: (scenario: Scenario) => Promise<FleetSetup>
  /** True when no run may be made for this scenario (the action's fork policy): no source then. */
  skip?: (scenario: Scenario) => Promise<boolean>
  /** Says that run `replicate` starts. */
  announce: (scenario: Scenario, replicate: number) => void
}

/** The scenario's thresholds as SLOs (`metric: expr`). */
export function scenarioSlos(scenario: Scenario): Slo[] {
  return parseSlos(
    scenario.thresholds.map(t => `${t.metric}: ${t.expr}`),
    `scenario ${scenario.name} thresholds`
  )
}

async function importedSource(
  spec: Extract<SourceSpec, { kind: 'import' }>,
  deps: SourceDeps
): Promise<RunSource> {
  const imported = await importRunResult([...spec.results], {
    cwd: deps.cwd,
    scenario: spec.scenario,
    warn: deps.warn
  })
  return {
    backend: 'import',
    scenario: imported.run.scenario,
    fingerprint: imported.run.fingerprint,
    engine: String(imported.run.facts.engine ?? ''),
    vus: null,
    slos: [],
    run: async () => imported,
    canRerun: false
  }
}

/** A source that runs the set-up fleet's scenario once per replicate. */
export function fleetSource(
  backend: 'local' | 'fargate',
  setup: FleetSetup,
  deps: Pick<SourceDeps, 'env' | 'log' | 'announce'>
): RunSource {
  const { fleet, regions, scenario } = setup
  return {
    backend,
    scenario: scenario.name,
    fingerprint: scenario.fingerprint,
    engine: scenario.engine,
    vus: scenario.vus,
    gateLabels: scenario.gateLabels,
    slos: scenarioSlos(scenario),
    run: async (replicate, signal) => {
      deps.announce(scenario, replicate)
      return runScenarioOnce(scenario, { env: deps.env, fleet, regions, signal, log: deps.log })
    },
    canRerun: true,
    awsConfig: setup.awsConfig,
    fleetCost: setup.fleetCost
  }
}

/**
 * The run source for `spec`: the imported results, or the scenario on its fleet. Null when
 * `deps.skip` says the scenario may not run (it has then said why).
 */
export async function buildRunSource(spec: SourceSpec, deps: SourceDeps): Promise<RunSource | null> {
  if (spec.kind === 'import') return importedSource(spec, deps)
  const given = await spec.load()
  if (deps.skip && (await deps.skip(given))) return null
  return fleetSource(spec.backend, await deps.fleet(given), deps)
}
