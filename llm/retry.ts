// Retry policy: exponential back-off with jitter, or exactly what the server asked for via retry-after.

/** Retry settings of the wrapper. */
export interface RetryOptions {
  /** Retries after the first attempt (0 = no retries). */
  maxRetries: number;
  /** First back-off step in ms; doubles per retry. */
  baseDelayMs: number;
  /** Ceiling of one computed back-off step in ms. */
  maxDelayMs: number;
  /** A retry-after longer than this is not waited for: the error is returned instead. */
  maxRetryAfterMs: number;
  /** Total time a call may spend, attempts and waits included, before the last error is returned. */
  budgetMs: number;
}

/**
 * Delay before retry number `retry` (1-based). A server-given wait is honoured (plus up to 10%, at most 1 s, so
 * clients told the same instant do not return in lock-step); otherwise "equal jitter": half the exponential step
 * fixed, half random.
 */
export function retryDelay(
  retry: number,
  options: RetryOptions,
  random: () => number,
  retryAfterMs?: number,
): number {
  if (retryAfterMs !== undefined && retryAfterMs >= 0) {
    return retryAfterMs + random() * Math.min(1000, retryAfterMs * 0.1);
  }
  const step = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (retry - 1));
  return step / 2 + random() * (step / 2);
}
