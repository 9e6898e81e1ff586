/**
 * HTTP limits for every AWS SDK client perf-gate creates. The SDK's defaults wait forever: a
 * connection that never completes, or a response whose body stops arriving, would hang the job
 * until the workflow's own timeout. With these limits such a request fails with a TimeoutError,
 * which the SDK's retry strategy treats as transient and retries on a fresh connection.
 */
export const AWS_HTTP_OPTIONS = {
  /** Abandon a TCP connection attempt after this long. */
  connectionTimeout: 5_000,
  /** Abandon a request whose socket has been idle (nothing sent or received) this long. */
  socketTimeout: 30_000
} as const

export type AwsHttpLimits = { connectionTimeout: number; socketTimeout: number }

/** Client configuration with the HTTP limits (AWS_HTTP_OPTIONS unless given), for any AWS SDK v3 client. */
export function withHttpLimits<C extends object>(
  config: C,
  limits: AwsHttpLimits = AWS_HTTP_OPTIONS
): C & { requestHandler: AwsHttpLimits } {
  return { ...config, requestHandler: { ...limits } }
}
