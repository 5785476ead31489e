// Time for the wrapper: retries, back-off, rate limits and the breaker read `now` and wait with `sleep`
// from here, so tests drive minutes of back-off in microseconds.

/** Millisecond time source plus an abortable sleep. */
export interface LlmClock {
  /** Epoch milliseconds (fractional allowed). */
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason if aborted first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock: sub-millisecond epoch time and setTimeout. */
export const systemLlmClock: LlmClock = {
  now: () => performance.timeOrigin + performance.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const timer = setTimeout(
        () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        Math.max(0, ms),
      );
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

/** A clock for tests: `sleep` advances time at once and records each wait. */
export function createFakeLlmClock(start = Date.parse('2026-01-01T00:00:00Z')) {
  let current = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => current,
    advance(ms: number) {
      current += ms;
    },
    async sleep(ms: number, signal?: AbortSignal) {
      if (signal?.aborted) throw signal.reason;
      sleeps.push(ms);
      // Let everything already runnable finish at the current time before time jumps, as it would for real.
      await new Promise<void>((resolve) => setImmediate(resolve));
      current += Math.max(0, ms);
    },
  } satisfies LlmClock & Record<string, unknown>;
}
