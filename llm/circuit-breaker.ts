// A circuit breaker per provider. It counts failed CALLS (one logical request with all its retries), not
// attempts, so a short burst of 429/529 that retries ride out never opens it. Once N calls in a row have failed it
// opens: new attempts wait for the cool-down (each caller bounded by its own deadline and abort signal) instead of
// piling onto the outage, then one probe attempt is let through; its outcome closes or re-opens the circuit.
import type { LlmTimer } from './clock.ts';

/** closed = normal, open = attempts wait, half-open = one probe in flight (or due). */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** Breaker settings. */
export interface BreakerOptions {
  /** Consecutive failed calls that open the circuit. */
  failureThreshold: number;
  /** How long the circuit stays open before a probe, in ms. */
  cooldownMs: number;
}

/** Permission to make one attempt; `probe` is true for the single attempt of a half-open circuit. */
export interface BreakerPass {
  ok: true;
  probe: boolean;
}

/** Why an attempt may not run now, and how long until it might. */
export interface BreakerRefusal {
  ok: false;
  retryInMs: number;
}

/** A circuit breaker. Ask `tryEnter` (or `enter`) before each attempt and report outcomes. */
export interface CircuitBreaker {
  /** Whether an attempt may run now; otherwise how long until it might. */
  tryEnter(): BreakerPass | BreakerRefusal;
  /**
   * Waits until an attempt may run: through the cool-down of an open circuit and while another caller's probe is in
   * flight. Gives up with a refusal when `deadline` (epoch ms) would pass first; rejects if `signal` aborts.
   */
  enter(deadline: number, signal?: AbortSignal): Promise<BreakerPass | BreakerRefusal>;
  /** An attempt succeeded: the provider answers, the circuit closes. */
  onSuccess(): void;
  /** An attempt failed with provider trouble; only a probe's failure changes the state (it re-opens). */
  onAttemptFailure(pass: BreakerPass): void;
  /** A call failed for good (its retries exhausted) with provider trouble: counts towards opening. */
  onCallFailure(): void;
  /** Releases a probe that ended without a verdict (e.g. the caller's own bad request, an abort). */
  onNeutral(pass: BreakerPass): void;
  readonly state: BreakerState;
  /** Failed calls in a row (reset by any successful attempt). */
  readonly consecutiveFailures: number;
}

/** Creates a closed breaker. */
export function createCircuitBreaker(options: BreakerOptions, clock: LlmTimer): CircuitBreaker {
  let state: BreakerState = 'closed';
  let failures = 0;
  let openedAt = 0;
  let probeInFlight = false;
  // Waiters behind a probe poll at this pace (the probe's verdict usually comes well within it).
  const probePollMs = Math.max(1, Math.min(1000, options.cooldownMs / 10));

  function open() {
    state = 'open';
    openedAt = clock.nowMs();
    probeInFlight = false;
  }

  function tryEnter(): BreakerPass | BreakerRefusal {
    if (state === 'closed') return { ok: true, probe: false };
    if (state === 'open') {
      const left = openedAt + options.cooldownMs - clock.nowMs();
      if (left > 0) return { ok: false, retryInMs: left };
      state = 'half-open';
    }
    if (probeInFlight) return { ok: false, retryInMs: probePollMs };
    probeInFlight = true;
    return { ok: true, probe: true };
  }

  return {
    get state() {
      if (state === 'open' && clock.nowMs() - openedAt >= options.cooldownMs) return 'half-open';
      return state;
    },
    get consecutiveFailures() {
      return failures;
    },
    tryEnter,
    async enter(deadline, signal) {
      for (;;) {
        if (signal?.aborted) throw signal.reason;
        const gate = tryEnter();
        if (gate.ok) return gate;
        const left = deadline - clock.nowMs();
        if (left <= 0) return gate;
        await clock.sleep(Math.min(gate.retryInMs, left), signal);
      }
    },
    onSuccess() {
      state = 'closed';
      failures = 0;
      probeInFlight = false;
    },
    onAttemptFailure(pass) {
      if (pass.probe && state === 'half-open') open();
    },
    onCallFailure() {
      failures += 1;
      // A call that started before the circuit opened must not extend the cool-down.
      if (state === 'closed' && failures >= options.failureThreshold) open();
    },
    onNeutral(pass) {
      if (pass.probe) probeInFlight = false;
    },
  };
}
