/** Names of the action's inputs, outputs and saved state, as declared in action.yml. */

export const Inputs = {
  Mode: 'mode',
  Config: 'config',
  Scenario: 'scenario',
  Engine: 'engine',
  Script: 'script',
  Target: 'target',
  Requests: 'requests',
  Vus: 'vus',
  Duration: 'duration',
  RampUp: 'ramp-up',
  Tasks: 'tasks',
  Thresholds: 'thresholds',
  AllowedHosts: 'allowed-hosts',
  Backend: 'backend',
  Results: 'results',
  BaselineStore: 'baseline-store',
  Replicates: 'replicates',
  ConfirmReplicates: 'confirm-replicates',
  MaxBaselines: 'max-baselines',
  MinBaselines: 'min-baselines',
  MinEffect: 'min-effect',
  Alpha: 'alpha',
  ProvisionalThreshold: 'provisional-threshold',
  GateLabels: 'gate-labels',
  FailOnInconclusive: 'fail-on-inconclusive',
  Comment: 'comment',
  CheckRun: 'check-run',
  CommentKey: 'comment-key',
  GithubToken: 'github-token',
  Artifact: 'artifact',
  RoleToAssume: 'role-to-assume',
  AwsRegion: 'aws-region',
  Regions: 'regions',
  TaskCpu: 'task-cpu',
  TaskMemory: 'task-memory',
  Spot: 'spot',
  MaxTasks: 'max-tasks',
  MaxCostUsd: 'max-cost-usd',
  VusPerVcpu: 'vus-per-vcpu',
  StackName: 'stack-name',
  Cluster: 'cluster',
  TaskDefinition: 'task-definition',
  Subnets: 'subnets',
  SecurityGroups: 'security-groups',
  ResultsBucket: 'results-bucket',
  AbortOn: 'abort-on',
  MinTaskSuccess: 'min-task-success',
  Profile: 'profile',
  ProfileParams: 'profile-params',
  Multiplier: 'multiplier',
  TargetRps: 'target-rps',
  Instances: 'instances'
} as const

export const Outputs = {
  Verdict: 'verdict',
  ResultJson: 'result-json',
  ReportHtml: 'report-html',
  CommentUrl: 'comment-url',
  P50: 'p50-ms',
  P95: 'p95-ms',
  P99: 'p99-ms',
  ErrorRate: 'error-rate',
  Rps: 'rps',
  DeltaP95: 'delta-p95-pct',
  CapacityRps: 'capacity-rps'
} as const

export const State = {
  Started: 'started',
  /** PIDs of the local runner processes, comma-separated (never credentials). */
  Pids: 'pids',
  /** Fargate tasks started: JSON {startedBy, role, stsRegion, regions: {region: {cluster, arns}}} (never credentials). */
  FargateTasks: 'fargate-tasks'
} as const

/** Environment variables the action and the runner read. */
export const EnvVars = {
  TaskSpec: 'PERF_GATE_TASK_SPEC',
  Runner: 'PERF_GATE_RUNNER',
  K6Bin: 'PERF_GATE_K6_BIN',
  LocustBin: 'PERF_GATE_LOCUST_BIN',
  JmeterBin: 'PERF_GATE_JMETER_BIN'
} as const
