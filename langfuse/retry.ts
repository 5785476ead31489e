// Retrying Langfuse calls that may succeed later (429, 5xx, time-outs, dropped connections) with exponential
// back-off, honouring Retry-After; shared by the observation reads, dataset and prompt reads and score writes.
import type { Logger } from '../config/index.ts';
import type { LangfuseResult } from './errors.ts';

/** How a call is retried. */
export interface RetryOptions {
  /** Waits between retries; injected so tests do not sleep. */
  sleep?: (ms: number) => Promise<void>;
  /** Retries of one call on 429/5xx/time-outs before it fails (default 3). */
  maxRetries?: number;
  /** First back-off in ms (doubles each retry, at most 10 s; a Retry-After header wins, up to 30 s). */
  backoffMs?: number;
}

const realSleep = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms);
  });

/** Runs `call` until it succeeds, fails for good, or runs out of retries; `onRetry` counts each retry. */
export async function withBackoff<T>(
  call: () => Promise<LangfuseResult<T>>,
  opts: RetryOptions & { logger?: Logger; what?: string; onRetry?: () => void } = {},
): Promise<LangfuseResult<T>> {
  const sleep = opts.sleep ?? realSleep;
  const maxRetries = opts.maxRetries ?? 3;
  const backoff = opts.backoffMs ?? 1000;
  for (let attempt = 0; ; attempt++) {
    const res = await call();
    if (res.ok || !res.error.retryable || attempt >= maxRetries) return res;
    opts.onRetry?.();
    const wait =
      res.error.retryAfterMs !== undefined
        ? Math.min(res.error.retryAfterMs, 30_000)
        : Math.min(backoff * 2 ** attempt, 10_000);
    opts.logger?.warn(
      { status: res.error.status, attempt: attempt + 1, waitMs: wait },
      `${opts.what ? `${opts.what}: ` : ''}${res.error.message}; retrying`,
    );
    await sleep(wait);
  }
}
