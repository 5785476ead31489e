// Time for the wrapper: retries, back-off, rate limits and the breaker read `nowMs` and wait with `sleep` of the
// one `Clock` (config/), so tests drive minutes of back-off in microseconds.
import { type Clock, systemClock } from '../config/index.ts';

/** The part of the `Clock` the wrapper's stages read: millisecond time and an abortable sleep. */
export type LlmTimer = Pick<Clock, 'nowMs' | 'sleep'>;

/**
 * The wrapper's former clock shape (`now()` in epoch ms), still accepted by `timerOf`; bot/ takes the one `Clock`
 * now, and new code takes `Clock` (or `LlmTimer`).
 */
export interface LlmClock {
  /** Epoch milliseconds (fractional allowed). */
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The timer of a `Clock`, or of a clock in the former shape (`now()` in ms). */
export function timerOf(clock: LlmTimer | LlmClock): LlmTimer {
  if ('nowMs' in clock) return clock;
  return { nowMs: () => clock.now(), sleep: (ms, signal) => clock.sleep(ms, signal) };
}

/** The real clock: sub-millisecond epoch time and setTimeout (the system `Clock`, in the former shape too). */
export const systemLlmClock: LlmClock & LlmTimer = {
  now: () => systemClock.nowMs(),
  nowMs: () => systemClock.nowMs(),
  sleep: (ms, signal) => systemClock.sleep(ms, signal),
};

/** A clock for tests: `sleep` advances time at once and records each wait; `now()` and `nowMs()` are epoch ms. */
export function createFakeLlmClock(start = Date.parse('2026-01-01T00:00:00Z')) {
  let current = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => current,
    nowMs: () => current,
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
  } satisfies LlmClock & LlmTimer & Record<string, unknown>;
}
