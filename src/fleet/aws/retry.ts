/**
 * Retry with full-jitter exponential back-off and an injectable sleep, for the AWS calls the fleet
 * makes on top of the SDK's own retries (throttling bursts, S3 503s, eventual consistency).
 */
import { sleep as realSleep, type Sleep } from '../../util/index.js'

export interface RetryOptions {
  /** Attempts in all (default 6). */
  attempts?: number
  /** First back-off ceiling, ms (default 200); doubles per attempt up to `maxDelayMs` (default 5000). */
  baseDelayMs?: number
  maxDelayMs?: number
  sleep?: Sleep
  random?: () => number
  /** Whether an error is worth another attempt (default: isRetryable). */
  retryable?: (e: unknown) => boolean
  /** Called before each wait, e.g. to log. */
  onRetry?: (e: unknown, attempt: number, delayMs: number) => void
}

interface AwsErrorLike {
  name?: string
  code?: string
  $retryable?: unknown
  $metadata?: { httpStatusCode?: number }
}

const RETRYABLE_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'ServerException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'IDPCommunicationError',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT'
])

/** HTTP status of an SDK error, if it has one. */
export function httpStatus(e: unknown): number | undefined {
  return (e as AwsErrorLike | null)?.$metadata?.httpStatusCode
}

/** Throttling, 5xx and network errors: worth another attempt. */
export function isRetryable(e: unknown): boolean {
  const err = e as AwsErrorLike | null
  if (!err) return false
  if (err.$retryable) return true
  if (RETRYABLE_NAMES.has(err.name ?? '') || RETRYABLE_NAMES.has(err.code ?? '')) return true
  const s = httpStatus(e)
  return s === 429 || (s !== undefined && s >= 500)
}

export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const attempts = Math.max(1, opts.attempts ?? 6)
  const base = opts.baseDelayMs ?? 200
  const max = opts.maxDelayMs ?? 5000
  const sleep = opts.sleep ?? realSleep
  const random = opts.random ?? Math.random
  const retryable = opts.retryable ?? isRetryable
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt)
    } catch (e) {
      if (attempt + 1 >= attempts || !retryable(e)) throw e
      const delay = Math.round(random() * Math.min(max, base * 2 ** attempt))
      opts.onRetry?.(e, attempt + 1, delay)
      await sleep(delay)
    }
  }
}

/** The message of an SDK error, with its name when the message does not say it. */
export function awsMessage(e: unknown): string {
  const err = e as (AwsErrorLike & { message?: string }) | null
  const msg = err?.message || String(e)
  const name = err?.name && err.name !== 'Error' && !msg.includes(err.name) ? `${err.name}: ` : ''
  return `${name}${msg}`.split('\n')[0]
}
