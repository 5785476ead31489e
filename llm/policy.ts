// The policy stages every provider call goes through, each a decorator around one attempt (`Stage`): a time-out
// per attempt, the per-provider rate limit, the circuit breaker, retries with back-off, and the response cache
// with in-flight coalescing around the whole call. `create-llm.ts` composes them:
//   cache( breaker.call( retry( breaker.attempt(rateLimit)( count( timeout(provider) ) ) ) ) )
// and, for embeddings (no cache), the same stages around the provider's `embed`. The stages are generic over what
// an attempt sends and returns; a reply only has to say the tokens it used, for the rate limit.
import type { Logger } from '../config/index.ts';
import type { ResponseCache } from './cache.ts';
import type { BreakerPass, BreakerRefusal, CircuitBreaker } from './circuit-breaker.ts';
import type { LlmTimer } from './clock.ts';
import { LlmError } from './errors.ts';
import type { ModelName } from './model-name.ts';
import type { RateLimiter } from './rate-limiter.ts';
import { type RetryOptions, retryDelay } from './retry.ts';
import type { CallParams, FinishReason, LlmProvider, ModelToolCall, ProviderReply, Usage } from './types.ts';

/** The parameters of a completion as the provider receives them. */
type ProviderParams = CallParams & { modelName: string };

/** What every reply tells the stages: the tokens it used (the rate limit settles them). */
export interface Metered {
  usage: Usage;
}

/** What one call carries through the stages; stages read it and keep its counters. */
export interface CallContext<P = ProviderParams> {
  name: ModelName;
  /** The parameters as the provider receives them. */
  params: P;
  signal: AbortSignal | undefined;
  /** Clock time the call started (ms). */
  started: number;
  /** Clock time after which no retry starts and no circuit is waited for (ms). */
  deadline: number;
  /** Per-attempt time-out (ms). */
  timeoutMs: number;
  /** Estimated prompt tokens, for the rate limit. */
  estimate: number;
  /** Attempts that reached the provider so far. */
  attempts: number;
  /** The error of the last failed attempt. */
  lastError: LlmError | undefined;
  /** Counters of the call's model (`providerCalls`, `retries`). */
  stats: { providerCalls: number; retries: number };
}

/** One attempt at the provider: a completion by default, or any call whose reply says its usage (embeddings). */
export type Attempt<R extends Metered = ProviderReply, P = ProviderParams> = (
  ctx: CallContext<P>,
) => Promise<R>;
/** A policy decorator around an attempt, whatever it sends and returns. */
export type Stage = <R extends Metered, P>(next: Attempt<R, P>) => Attempt<R, P>;

/** Thrown by a stage to end the call with `error` at once: the retry stage passes it on without retrying. */
export class GiveUp extends Error {
  constructor(readonly error: LlmError) {
    super(error.message);
    this.name = 'GiveUp';
  }
}

/** The error as an LlmError; anything else is a provider bug (LLM_PROVIDER_ERROR, not retried blindly). */
export function asLlmError(err: unknown, provider: string): LlmError {
  if (err instanceof GiveUp) return err.error;
  if (err instanceof LlmError) return err;
  // A provider bug is not retried blindly; it still counts against the breaker.
  const message = err instanceof Error ? err.message : String(err);
  return new LlmError('LLM_PROVIDER_ERROR', `${provider}: ${message.slice(0, 300)}`, {
    provider,
    cause: err,
  });
}

/**
 * Whether an error says the provider is in trouble (429, 5xx, 529, time-outs, dropped connections, a provider
 * bug): those count against its breaker. The caller's own bad request and a bad key do not: waiting out a cool-down
 * cannot fix them.
 */
export function countsAgainstProvider(e: LlmError): boolean {
  if (['LLM_BAD_REQUEST', 'LLM_AUTH', 'LLM_CIRCUIT_OPEN', 'LLM_CANCELLED'].includes(e.code)) return false;
  return e.retryable || e.code === 'LLM_PROVIDER_ERROR';
}

/**
 * The innermost attempt of a completion: the provider's raw call under `timedAttempt`.
 */
export function timeoutAttempt(provider: LlmProvider): Attempt {
  return timedAttempt((params, signal) => provider.complete(params, signal), 'answer');
}

/**
 * The innermost attempt: a provider's raw call raced against `ctx.timeoutMs` (LLM_TIMEOUT, retryable, "no `what`
 * within N ms") and the caller's signal (LLM_CANCELLED). A provider that ignores its signal must still not hang the
 * caller, hence the race. Every failure comes out as an LlmError.
 */
export function timedAttempt<R extends Metered, P>(
  call: (params: P, signal: AbortSignal) => Promise<R>,
  what: string,
): Attempt<R, P> {
  return (ctx) => {
    const { name, signal, timeoutMs } = ctx;
    const controller = new AbortController();
    return new Promise<R>((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer);
        const err = new LlmError('LLM_CANCELLED', `${name.full}: the call was cancelled`, {
          provider: name.provider,
          cause: signal?.reason,
        });
        controller.abort(err);
        reject(err);
      };
      const timer = setTimeout(() => {
        const err = new LlmError('LLM_TIMEOUT', `${name.full}: no ${what} within ${timeoutMs} ms`, {
          provider: name.provider,
          retryable: true,
        });
        controller.abort(err);
        reject(err);
      }, timeoutMs);
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
      call(ctx.params, controller.signal).then(
        (res) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(res);
        },
        (err: unknown) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      );
    }).catch((err: unknown) => {
      throw asLlmError(err, name.provider);
    });
  };
}

/** Counts each attempt that reaches the provider (`ctx.attempts`, `stats.providerCalls`). */
export const countAttempts: Stage = (next) => (ctx) => {
  ctx.attempts += 1;
  ctx.stats.providerCalls += 1;
  return next(ctx);
};

/** Waits for a rate-limit slot before the attempt and settles the real token count after a reply. */
export function rateLimitStage(limiter: RateLimiter): Stage {
  return (next) => async (ctx) => {
    await limiter.acquire(ctx.estimate);
    const res = await next(ctx);
    limiter.settle(ctx.estimate, res.usage.inputTokens + res.usage.outputTokens);
    return res;
  };
}

/**
 * The circuit breaker as two stages. `attempt(queue)` wraps each attempt: an open circuit is waited out before
 * `queue` (the rate limit) so waiters do not hold slots, then the attempt passes the breaker's gate and its outcome
 * is reported (the caller's own mistakes and cancellations are neutral). A circuit still open at the deadline
 * ends the call with LLM_CIRCUIT_OPEN (a `GiveUp`). `call` wraps the whole call, retries included: a call that
 * fails for good with provider trouble counts once against the breaker, however many attempts it made.
 */
export function breakerStages(
  breaker: CircuitBreaker,
  deps: { clock: LlmTimer; logger: Logger; cooldownMs: number },
): { call: Stage; attempt(queue: Stage): Stage } {
  const { clock, logger } = deps;
  const failCall = (e: LlmError, ctx: CallContext<unknown>): LlmError => {
    if (!countsAgainstProvider(e) || ctx.signal?.aborted) return e;
    const before = breaker.state;
    breaker.onCallFailure();
    if (before === 'closed' && breaker.state === 'open')
      logger.warn(
        { provider: ctx.name.provider, code: e.code, failedCalls: breaker.consecutiveFailures },
        `${ctx.name.provider}: circuit breaker opened after ${breaker.consecutiveFailures} failed calls in a row; calls wait ${Math.round(deps.cooldownMs / 1000)} s for a probe`,
      );
    return e;
  };
  // The circuit stayed open past this call's deadline: provider trouble, so the code says so (LLM_CIRCUIT_OPEN).
  const circuitOpen = (ctx: CallContext<unknown>, retryInMs: number) => {
    const { name, lastError } = ctx;
    const waited = Math.max(0, clock.nowMs() - ctx.started);
    const base = `${name.provider} is failing: its circuit breaker opened after ${breaker.consecutiveFailures} failed calls in a row and was still open when this call gave up after ${(waited / 1000).toFixed(1)} s (next probe in ${Math.ceil(retryInMs / 1000)} s)`;
    return new LlmError('LLM_CIRCUIT_OPEN', lastError ? `${base} (last error: ${lastError.message})` : base, {
      provider: name.provider,
      retryable: true,
      retryAfterMs: retryInMs,
      ...(lastError ? { cause: lastError } : {}),
    });
  };
  const aborted = (ctx: CallContext<unknown>) =>
    new LlmError('LLM_CANCELLED', `${ctx.name.full}: the call was cancelled`, {
      provider: ctx.name.provider,
      ...(ctx.signal?.reason !== undefined ? { cause: ctx.signal.reason } : {}),
    });
  const waitForCircuit = async (ctx: CallContext<unknown>): Promise<BreakerPass> => {
    let gate: BreakerPass | BreakerRefusal;
    try {
      gate = await breaker.enter(ctx.deadline, ctx.signal);
    } catch {
      throw new GiveUp(ctx.lastError ?? aborted(ctx));
    }
    if (!gate.ok) throw new GiveUp(circuitOpen(ctx, gate.retryInMs));
    return gate;
  };
  return {
    call: (next) => async (ctx) => {
      try {
        return await next(ctx);
      } catch (err) {
        throw failCall(asLlmError(err, ctx.name.provider), ctx);
      }
    },
    attempt:
      (queue) =>
      <R extends Metered, P>(next: Attempt<R, P>): Attempt<R, P> => {
        const gated = queue<R, P>(async (ctx) => {
          const gate = await waitForCircuit(ctx);
          try {
            const res = await next(ctx);
            breaker.onSuccess();
            return res;
          } catch (err) {
            const e = asLlmError(err, ctx.name.provider);
            // The caller's own mistakes (and its own cancellation) say nothing about the provider's health.
            if (!countsAgainstProvider(e) || ctx.signal?.aborted) breaker.onNeutral(gate);
            else breaker.onAttemptFailure(gate);
            throw e;
          }
        });
        return async (ctx) => {
          if (breaker.state !== 'closed') breaker.onNeutral(await waitForCircuit(ctx));
          return gated(ctx);
        };
      },
  };
}

/**
 * Retries a failed attempt with back-off (`retryDelay`) while the error is retryable, retries are left, the
 * server's retry-after is acceptable and the wait ends before the call's deadline; a `GiveUp` or a cancelled call
 * is not retried. Each retry is logged and counted in `stats.retries`.
 */
export function retryStage(deps: {
  retry: RetryOptions;
  clock: LlmTimer;
  random: () => number;
  logger: Logger;
}): Stage {
  const { retry, clock, random, logger } = deps;
  return (next) => async (ctx) => {
    const { name, signal } = ctx;
    for (;;) {
      let e: LlmError;
      try {
        return await next(ctx);
      } catch (err) {
        if (err instanceof GiveUp) throw err.error;
        e = asLlmError(err, name.provider);
      }
      ctx.lastError = e;
      if (signal?.aborted) throw e;
      if (!e.retryable || ctx.attempts > retry.maxRetries) throw e;
      if (e.retryAfterMs !== undefined && e.retryAfterMs > retry.maxRetryAfterMs) throw e;
      const delay = retryDelay(ctx.attempts, retry, random, e.retryAfterMs);
      if (clock.nowMs() + delay > ctx.deadline) throw e;
      ctx.stats.retries += 1;
      logger.info(
        {
          provider: name.provider,
          model: name.model,
          code: e.code,
          status: e.status,
          attempt: ctx.attempts,
          delayMs: Math.round(delay),
        },
        `${name.full}: ${e.code}${e.status ? ` (HTTP ${e.status})` : ''}, retrying in ${(delay / 1000).toFixed(1)} s`,
      );
      try {
        await clock.sleep(delay, signal);
      } catch {
        throw e;
      }
    }
  };
}

/** What a call came back with, from the provider or the store. */
export interface ProviderOutcome {
  text: string;
  usage: Usage;
  finish: FinishReason;
  finishDetail?: string;
  toolCalls?: ModelToolCall[];
  attempts: number;
  fromStore: boolean;
}

/**
 * The response cache around a whole call: an identical call in flight is joined (`joined: true`), else the store
 * is read, else `compute` runs and a complete reply is written back; `joined` says which, before the outcome settles. The key stays joinable until the write
 * lands, so a call arriving meanwhile neither misses nor pays. A reply that did not finish (truncated, refused,
 * blocked) is never stored: asking again may do better. Without a store only in-flight calls are shared.
 */
export function cacheStage(deps: {
  cache: ResponseCache | undefined;
  clock: LlmTimer;
  /** Keeps a background write so `flush` can wait for it. */
  track: (p: Promise<unknown>) => void;
}) {
  const { cache, clock, track } = deps;
  const inFlight = new Map<string, Promise<ProviderOutcome>>();
  return (
    key: string,
    model: string,
    compute: () => Promise<ProviderOutcome>,
  ): { joined: boolean; outcome: Promise<ProviderOutcome> } => {
    const existing = inFlight.get(key);
    if (existing) return { joined: true, outcome: existing };
    const run = (async (): Promise<ProviderOutcome> => {
      const hit = cache ? await cache.get(key) : undefined;
      if (hit) return { text: hit.text, usage: hit.usage, finish: 'complete', attempts: 0, fromStore: true };
      return compute();
    })();
    inFlight.set(key, run);
    run.then(
      (o) => {
        if (o.fromStore || !cache || o.finish !== 'complete') inFlight.delete(key);
        else {
          const write = cache
            .put({
              _id: key,
              model,
              text: o.text,
              usage: o.usage,
              finish: 'complete',
              createdAt: new Date(clock.nowMs()),
            })
            .finally(() => inFlight.delete(key));
          track(write);
        }
      },
      () => inFlight.delete(key),
    );
    return { joined: false, outcome: run };
  };
}
