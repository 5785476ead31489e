// Client-side rate limit per provider, so a large run queues politely instead of collecting 429s.
// Requests are spaced evenly (a bucket of one): a burst allowance would let any 10-second window exceed the
// configured rate, which is exactly what the provider's own limiter punishes. Tokens use a bucket holding one
// second's worth that may go into debt, because a single call can need more tokens than a second allows and the
// real count is only known afterwards.
import type { LlmTimer } from './clock.ts';

/** Limits of one provider; 0 means unlimited. */
export interface RateLimits {
  requestsPerMinute: number;
  tokensPerMinute: number;
}

/** A per-provider limiter: wait for a slot, then settle the real token count. */
export interface RateLimiter {
  /** Waits until a request estimated at `tokens` may start. Rejects if `signal` aborts first. */
  acquire(tokens: number, signal?: AbortSignal): Promise<void>;
  /** Charges the difference between the estimate and the real usage once the call returns. */
  settle(estimated: number, actual: number): void;
  /** Requests waiting for a slot. */
  readonly waiting: number;
}

interface Waiter {
  tokens: number;
  resolve: () => void;
  reject: (err: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/** Creates a limiter; with both limits at 0 `acquire` resolves at once. */
export function createRateLimiter(limits: RateLimits, clock: LlmTimer): RateLimiter {
  const rpm = Math.max(0, limits.requestsPerMinute);
  const tpm = Math.max(0, limits.tokensPerMinute);
  const interval = rpm > 0 ? 60_000 / rpm : 0;
  const tokenRate = tpm / 60_000; // tokens per ms
  const tokenCapacity = tpm / 60;
  let nextRequestAt = Number.NEGATIVE_INFINITY;
  let tokenLevel = tokenCapacity;
  let tokenAt = clock.nowMs();
  const queue: Waiter[] = [];
  let pumping = false;

  function refill(now: number) {
    if (tpm === 0) return;
    tokenLevel = Math.min(tokenCapacity, tokenLevel + (now - tokenAt) * tokenRate);
    tokenAt = now;
  }

  /** ms until the head request may start (0 = now). */
  function waitFor(tokens: number, now: number): number {
    let wait = 0;
    if (rpm > 0) wait = Math.max(wait, nextRequestAt - now);
    if (tpm > 0) {
      refill(now);
      const need = Math.min(tokens, tokenCapacity);
      if (tokenLevel < need) wait = Math.max(wait, (need - tokenLevel) / tokenRate);
    }
    return wait;
  }

  function grant(w: Waiter, now: number) {
    if (rpm > 0) nextRequestAt = Math.max(now, nextRequestAt) + interval;
    if (tpm > 0) tokenLevel -= w.tokens;
    w.signal?.removeEventListener('abort', w.onAbort);
    w.resolve();
  }

  async function pump() {
    if (pumping) return;
    pumping = true;
    try {
      while (queue.length > 0) {
        const head = queue[0]!;
        const now = clock.nowMs();
        const wait = waitFor(head.tokens, now);
        if (wait <= 0) {
          queue.shift();
          grant(head, now);
          continue;
        }
        await clock.sleep(wait);
      }
    } finally {
      pumping = false;
    }
  }

  return {
    get waiting() {
      return queue.length;
    },
    acquire(tokens, signal) {
      if (rpm === 0 && tpm === 0) return Promise.resolve();
      if (signal?.aborted) return Promise.reject(signal.reason);
      // Fast path: nobody queued and a slot is free, no promise juggling.
      const now = clock.nowMs();
      if (queue.length === 0 && waitFor(tokens, now) <= 0) {
        if (rpm > 0) nextRequestAt = Math.max(now, nextRequestAt) + interval;
        if (tpm > 0) tokenLevel -= tokens;
        return Promise.resolve();
      }
      return new Promise<void>((resolve, reject) => {
        const waiter: Waiter = {
          tokens,
          resolve,
          reject,
          signal,
          onAbort: () => {
            const i = queue.indexOf(waiter);
            if (i >= 0) queue.splice(i, 1);
            reject(signal?.reason);
          },
        };
        signal?.addEventListener('abort', waiter.onAbort, { once: true });
        queue.push(waiter);
        void pump();
      });
    },
    settle(estimated, actual) {
      if (tpm === 0) return;
      refill(clock.nowMs());
      tokenLevel -= actual - estimated;
    },
  };
}

/** Rough token count of text (about four characters per token in English); only used before a call. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
