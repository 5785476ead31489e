// A circuit breaker per provider: after N failures in a row calls fail fast instead of piling onto an
// outage; after a cool-down one probe call is let through, and its outcome closes or re-opens the circuit.
import type { LlmClock } from './clock.ts';

/** closed = normal, open = failing fast, half-open = one probe in flight. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** Breaker settings. */
export interface BreakerOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long the circuit stays open before a probe, in ms. */
  cooldownMs: number;
}

/** A circuit breaker. Ask `tryEnter` before each attempt and report its outcome. */
export interface CircuitBreaker {
  /** `{ ok: true }` when an attempt may run; otherwise how long until the next probe. */
  tryEnter(): { ok: true } | { ok: false; retryInMs: number };
  onSuccess(): void;
  onFailure(): void;
  /** Releases a half-open probe that ended without a verdict (e.g. the caller's own bad request). */
  onNeutral(): void;
  readonly state: BreakerState;
  readonly consecutiveFailures: number;
}

/** Creates a closed breaker. */
export function createCircuitBreaker(options: BreakerOptions, clock: LlmClock): CircuitBreaker {
  let state: BreakerState = 'closed';
  let failures = 0;
  let openedAt = 0;
  let probeInFlight = false;

  function open() {
    state = 'open';
    openedAt = clock.now();
    probeInFlight = false;
  }

  return {
    get state() {
      if (state === 'open' && clock.now() - openedAt >= options.cooldownMs) return 'half-open';
      return state;
    },
    get consecutiveFailures() {
      return failures;
    },
    tryEnter() {
      if (state === 'closed') return { ok: true };
      const now = clock.now();
      if (state === 'open') {
        const left = openedAt + options.cooldownMs - now;
        if (left > 0) return { ok: false, retryInMs: left };
        state = 'half-open';
      }
      if (probeInFlight) return { ok: false, retryInMs: Math.max(1, options.cooldownMs / 10) };
      probeInFlight = true;
      return { ok: true };
    },
    onSuccess() {
      state = 'closed';
      failures = 0;
      probeInFlight = false;
    },
    onFailure() {
      failures += 1;
      // A call that started before the circuit opened must not extend the cool-down.
      if (state === 'open') return;
      if (state === 'half-open' || failures >= options.failureThreshold) open();
    },
    onNeutral() {
      probeInFlight = false;
    },
  };
}
