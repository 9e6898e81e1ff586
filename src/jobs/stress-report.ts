/**
 * The reports of a stress job: the capacity report's input (markdown, job summary) and the HTML
 * report's input (this run's figures over its whole length, no gate), with the run's estimated
 * cost and time to first request.
 */
import type { Scenario } from '../config/scenario.js'
import { stepSlos } from '../gate/capacity/steps.js'
import type { Slo } from '../gate/slo.js'
import { describeProfile } from '../plan/profiles.js'
import type { RunResult } from '../results/model.js'
import { renderCapacityMarkdown, type CapacityReportInput } from '../report/capacity.js'
import { renderHtml } from '../report/html.js'
import type { ReportInput } from '../report/types.js'
import { advisoryMetric } from './report-input.js'
import { estimateRunCost, firstRequestAfter, type FleetCostSpec } from './run-cost.js'
import type { ReportDocument } from './publish.js'
import type { StressJobResult } from './stress.js'

export interface StressReportContext {
  key: string
  backend: string
  commit?: string | null
  runUrl?: string | null
  artifactName?: string | null
  /** The fleet the run used, for its estimated cost. */
  fleet?: FleetCostSpec
  /** When the step started, epoch ms, for the time to first request. */
  stepStartMs?: number
}

/** The estimated cost and the time to first request of a stress run, for its reports. */
function fleetFacts(ctx: StressReportContext, run: RunResult | null) {
  const cost = ctx.fleet && run ? estimateRunCost(ctx.fleet, [run]) : null
  return {
    costUsd: cost?.usd ?? null,
    costDetail: cost?.detail ?? null,
    firstRequest: run && ctx.stepStartMs !== undefined ? firstRequestAfter(ctx.stepStartMs, run) : null
  }
}

/** The capacity report's input for a stress job. */
export function capacityReportInput(
  ctx: StressReportContext,
  scenario: Scenario,
  slos: readonly Slo[],
  job: StressJobResult
): CapacityReportInput {
  const view = job.view
  const all = view?.allWindow()
  const series = view
    ? view
        .series({ window: 'all' }, 120)
        .filter((p, i, a) => p.requests > 0 || (i > 0 && i < a.length - 1))
        .map(p => ({
          startMs: p.startMs,
          rps: p.rps,
          p50Ms: p.p50Ms,
          p95Ms: p.p95Ms,
          p99Ms: p.p99Ms,
          users: p.users
        }))
    : []
  return {
    scenario: scenario.name,
    outcome: job.outcome,
    reasons: job.reasons,
    profile: {
      name: job.profile.name,
      description: describeProfile(job.profile),
      params: job.profile.params
    },
    analysis: job.analysis,
    plan: job.plan,
    stopped: job.stop?.reason ?? null,
    slos: stepSlos(slos).map(s => s.text),
    regions: job.regions,
    series,
    history: job.history,
    facts: {
      engine: scenario.engine,
      backend: ctx.backend,
      tasks: job.run?.tasks.length ?? 0,
      durationS: all ? (all.endMs - all.startMs) / 1000 : 0,
      commit: ctx.commit ?? null,
      runUrl: ctx.runUrl ?? null,
      artifactName: ctx.artifactName ?? null,
      ...fleetFacts(ctx, job.run ?? null)
    }
  }
}

/** The HTML report's input for a stress run: this run's figures over its whole length, no gate. */
export function stressHtmlInput(
  ctx: StressReportContext,
  scenario: Scenario,
  job: StressJobResult
): ReportInput | null {
  const view = job.view
  if (!view || !job.run) return null
  const cur = view.stats({ window: 'all' })
  const all = view.allWindow()
  return {
    key: ctx.key,
    scenario: scenario.name,
    title: `perf-gate ${job.profile.name}: ${scenario.name}`,
    mode: 'stress',
    verdict: {
      outcome: job.outcome,
      provisional: false,
      reasons: [job.analysis?.sentence ?? '', ...job.reasons].filter(Boolean),
      baselines: 0,
      replicates: 1
    },
    metrics: [
      advisoryMetric('p50', 'p50 latency', 'ms', cur.p50Ms),
      advisoryMetric('p95', 'p95 latency', 'ms', cur.p95Ms),
      advisoryMetric('p99', 'p99 latency', 'ms', cur.p99Ms),
      advisoryMetric('error_rate', 'Error rate', '%', cur.errorRate * 100),
      advisoryMetric('throughput', 'Throughput', 'rps', cur.rps)
    ],
    slos: [],
    labels: Object.entries(view.statsByLabel({ window: 'all' })).map(([label, s]) => ({
      label,
      requests: s.requests,
      errorRate: s.errorRate,
      p50: s.p50Ms,
      p95: s.p95Ms,
      p99: s.p99Ms,
      baseline: null
    })),
    series: view.series({ window: 'all' }, 60).map(p => ({
      startMs: p.startMs,
      rps: p.rps,
      p50Ms: p.p50Ms,
      p95Ms: p.p95Ms,
      p99Ms: p.p99Ms,
      users: p.users
    })),
    baselinePercentiles: null,
    currentPercentiles: { p50: cur.p50Ms, p90: cur.p90Ms, p95: cur.p95Ms, p99: cur.p99Ms },
    facts: {
      backend: ctx.backend,
      regions: view.regions(),
      tasks: job.run.tasks.length,
      vus: scenario.vus,
      durationS: (all.endMs - all.startMs) / 1000,
      engine: scenario.engine,
      engineVersion: job.run.tasks[0]?.task.engineVersion || null,
      steadyWindow: null,
      missingTasks: job.run.run.missingTasks,
      ...fleetFacts(ctx, job.run),
      runUrl: ctx.runUrl ?? null,
      commit: ctx.commit ?? null
    },
    pr: null,
    artifact: ctx.artifactName ? { name: ctx.artifactName } : null
  }
}

/** The report files and summary of a stress job: the capacity report, the HTML report, the record. */
export function stressDocument(
  ctx: StressReportContext,
  scenario: Scenario,
  slos: readonly Slo[],
  job: StressJobResult
): ReportDocument {
  const html = stressHtmlInput(ctx, scenario, job)
  return {
    key: ctx.key,
    result: job.run,
    html: html ? renderHtml(html) : '',
    markdown: renderCapacityMarkdown(capacityReportInput(ctx, scenario, slos, job)),
    capacity: job.record
  }
}
