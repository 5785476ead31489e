// Each policy stage in isolation, around a scripted attempt (no wrapper, no HTTP): what it waits for, what it
// counts, when it retries and when it gives up.
import { createManualClock } from '../config/runtime.ts';
import { describe, expect, it } from 'vitest';
import { createSilentLogger } from '../config/index.ts';
import type { CachedResponse, ResponseCache } from './cache.ts';
import { createCircuitBreaker } from './circuit-breaker.ts';
import { LlmError } from './errors.ts';
import {
  type Attempt,
  breakerStages,
  cacheStage,
  type CallContext,
  countAttempts,
  GiveUp,
  type ProviderOutcome,
  rateLimitStage,
  retryStage,
  type Stage,
  timeoutAttempt,
} from './policy.ts';
import { createRateLimiter } from './rate-limiter.ts';
import type { LlmProvider, ProviderReply } from './types.ts';

const REPLY: ProviderReply = { text: 'ok', usage: { inputTokens: 10, outputTokens: 5 } };
const RETRY = { maxRetries: 2, baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 5000, budgetMs: 60_000 };
const overloaded = () =>
  new LlmError('LLM_OVERLOADED', 'overloaded', { provider: 'fake', retryable: true, status: 529 });

function context(clock: { nowMs(): number }, over: Partial<CallContext> = {}): CallContext {
  const started = clock.nowMs();
  return {
    name: { provider: 'fake', model: 'm', full: 'fake:m' },
    params: { model: 'fake:m', modelName: 'm', messages: [{ role: 'user', content: 'hi' }] },
    signal: undefined,
    started,
    deadline: started + RETRY.budgetMs,
    timeoutMs: 1000,
    estimate: 10,
    attempts: 0,
    lastError: undefined,
    stats: { providerCalls: 0, retries: 0 },
    ...over,
  };
}

// An attempt that fails with the scripted errors in order, then answers; counts attempts like the real pipeline.
function scripted(errors: unknown[]): Attempt & { calls: number } {
  const f = Object.assign(
    async (ctx: CallContext) => {
      f.calls += 1;
      ctx.attempts += 1;
      const e = errors.shift();
      if (e !== undefined) throw e;
      return REPLY;
    },
    { calls: 0 },
  );
  return f;
}

describe('timeoutAttempt', () => {
  it('returns the reply, passing the provider its params and a signal', async () => {
    let seen: unknown;
    const provider: LlmProvider = {
      name: 'fake',
      heuristic: false,
      complete: async (params, signal) => {
        seen = { model: params.modelName, aborted: signal.aborted };
        return REPLY;
      },
    };
    const clock = createManualClock();
    expect(await timeoutAttempt(provider)(context(clock))).toEqual(REPLY);
    expect(seen).toEqual({ model: 'm', aborted: false });
  });

  it('gives up with a retryable LLM_TIMEOUT when the provider never answers, and aborts its signal', async () => {
    let signal: AbortSignal | undefined;
    const provider: LlmProvider = {
      name: 'fake',
      heuristic: false,
      complete: (_params, s) => {
        signal = s;
        return new Promise(() => undefined);
      },
    };
    const err = await timeoutAttempt(provider)(context(createManualClock(), { timeoutMs: 20 })).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(LlmError);
    expect(err).toMatchObject({
      code: 'LLM_TIMEOUT',
      retryable: true,
      message: 'fake:m: no answer within 20 ms',
    });
    expect(signal?.aborted).toBe(true);
  });

  it("ends with LLM_CANCELLED when the caller's signal aborts", async () => {
    const provider: LlmProvider = {
      name: 'fake',
      heuristic: false,
      complete: () => new Promise(() => undefined),
    };
    const controller = new AbortController();
    const pending = timeoutAttempt(provider)(context(createManualClock(), { signal: controller.signal }));
    controller.abort(new Error('user left'));
    await expect(pending).rejects.toMatchObject({ code: 'LLM_CANCELLED' });
  });

  it('turns a provider bug into LLM_PROVIDER_ERROR naming the provider', async () => {
    const provider: LlmProvider = {
      name: 'fake',
      heuristic: false,
      complete: async () => {
        throw new TypeError('cannot read x of undefined');
      },
    };
    await expect(timeoutAttempt(provider)(context(createManualClock()))).rejects.toMatchObject({
      code: 'LLM_PROVIDER_ERROR',
      message: 'fake: cannot read x of undefined',
      retryable: false,
    });
  });
});

describe('countAttempts', () => {
  it('counts every attempt that reaches the next stage, failed ones too', async () => {
    const ctx = context(createManualClock());
    let fail = true;
    const attempt = countAttempts(async () => {
      if (fail) throw overloaded();
      return REPLY;
    });
    await expect(attempt(ctx)).rejects.toThrow('overloaded');
    fail = false;
    await attempt(ctx);
    expect(ctx.attempts).toBe(2);
    expect(ctx.stats.providerCalls).toBe(2);
  });
});

describe('rateLimitStage', () => {
  it('spaces attempts at the request rate and lets an unlimited provider through at once', async () => {
    const clock = createManualClock();
    const limited = rateLimitStage(createRateLimiter({ requestsPerMinute: 60, tokensPerMinute: 0 }, clock))(
      async () => REPLY,
    );
    const starts: number[] = [];
    for (let i = 0; i < 3; i++) {
      await limited(context(clock));
      starts.push(clock.nowMs() - Date.parse('2026-01-01T00:00:00Z'));
    }
    expect(starts).toEqual([0, 1000, 2000]);

    const clock2 = createManualClock();
    const free = rateLimitStage(createRateLimiter({ requestsPerMinute: 0, tokensPerMinute: 0 }, clock2))(
      async () => REPLY,
    );
    for (let i = 0; i < 3; i++) await free(context(clock2));
    expect(clock2.sleeps).toEqual([]);
  });
});

describe('retryStage', () => {
  const logger = createSilentLogger();

  it('retries a retryable error with back-off, counting retries, then returns the reply', async () => {
    const clock = createManualClock();
    const attempt = scripted([overloaded(), overloaded()]);
    const ctx = context(clock);
    const res = await retryStage({ retry: RETRY, clock, random: () => 0.5, logger })(attempt)(ctx);
    expect(res).toEqual(REPLY);
    expect(attempt.calls).toBe(3);
    expect(ctx.stats.retries).toBe(2);
    // Equal jitter with random 0.5: 3/4 of the step (100, then 200).
    expect(clock.sleeps).toEqual([75, 150]);
    expect(ctx.lastError?.code).toBe('LLM_OVERLOADED');
  });

  it('stops after maxRetries and returns the last error', async () => {
    const clock = createManualClock();
    const attempt = scripted([overloaded(), overloaded(), overloaded(), overloaded()]);
    const err = await retryStage({ retry: RETRY, clock, random: () => 0, logger })(attempt)(
      context(clock),
    ).catch((e) => e);
    expect(err).toMatchObject({ code: 'LLM_OVERLOADED' });
    expect(attempt.calls).toBe(3);
  });

  it('does not retry an error that is not retryable, a GiveUp, or a retry-after beyond the limit', async () => {
    const clock = createManualClock();
    const retry = retryStage({ retry: RETRY, clock, random: () => 0, logger });
    const bad = scripted([new LlmError('LLM_BAD_REQUEST', 'bad')]);
    await expect(retry(bad)(context(clock))).rejects.toMatchObject({ code: 'LLM_BAD_REQUEST' });
    expect(bad.calls).toBe(1);
    const open = new LlmError('LLM_CIRCUIT_OPEN', 'open', { retryable: true });
    const gaveUp = scripted([new GiveUp(open)]);
    await expect(retry(gaveUp)(context(clock))).rejects.toBe(open);
    expect(gaveUp.calls).toBe(1);
    const late = scripted([
      new LlmError('LLM_RATE_LIMITED', 'slow down', { retryable: true, retryAfterMs: 9000 }),
    ]);
    await expect(retry(late)(context(clock))).rejects.toMatchObject({ code: 'LLM_RATE_LIMITED' });
    expect(late.calls).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('does not start a wait that would end past the deadline', async () => {
    const clock = createManualClock();
    const attempt = scripted([overloaded(), overloaded()]);
    const ctx = context(clock, { deadline: clock.nowMs() + 50 });
    await expect(
      retryStage({ retry: RETRY, clock, random: () => 1, logger })(attempt)(ctx),
    ).rejects.toMatchObject({
      code: 'LLM_OVERLOADED',
    });
    expect(attempt.calls).toBe(1);
  });
});

describe('breakerStages', () => {
  const logger = createSilentLogger();
  const identity: Stage = (next) => next;

  it('counts a call that fails for good once against the breaker and opens it at the threshold', async () => {
    const clock = createManualClock();
    const breaker = createCircuitBreaker({ failureThreshold: 2, cooldownMs: 10_000 }, clock);
    const guard = breakerStages(breaker, { clock, logger, cooldownMs: 10_000 });
    const call = (a: Attempt) =>
      guard.call(retryStage({ retry: RETRY, clock, random: () => 0, logger })(guard.attempt(identity)(a)));
    // Three failed attempts of one call: one failed call.
    await expect(
      call(scripted([overloaded(), overloaded(), overloaded()]))(context(clock)),
    ).rejects.toThrow();
    expect(breaker.consecutiveFailures).toBe(1);
    expect(breaker.state).toBe('closed');
    await expect(
      call(scripted([overloaded(), overloaded(), overloaded()]))(context(clock)),
    ).rejects.toThrow();
    expect(breaker.state).toBe('open');
  });

  it("does not count the caller's own mistakes", async () => {
    const clock = createManualClock();
    const breaker = createCircuitBreaker({ failureThreshold: 1, cooldownMs: 10_000 }, clock);
    const guard = breakerStages(breaker, { clock, logger, cooldownMs: 10_000 });
    const attempt = scripted([new LlmError('LLM_BAD_REQUEST', 'bad'), new LlmError('LLM_AUTH', 'key')]);
    const call = guard.call(guard.attempt(identity)(attempt));
    await expect(call(context(clock))).rejects.toMatchObject({ code: 'LLM_BAD_REQUEST' });
    await expect(call(context(clock))).rejects.toMatchObject({ code: 'LLM_AUTH' });
    expect(breaker.state).toBe('closed');
    expect(breaker.consecutiveFailures).toBe(0);
  });

  it('waits out an open circuit before queueing, then lets the probe through and closes on success', async () => {
    const clock = createManualClock();
    const breaker = createCircuitBreaker({ failureThreshold: 1, cooldownMs: 5000 }, clock);
    breaker.onCallFailure();
    expect(breaker.state).toBe('open');
    const guard = breakerStages(breaker, { clock, logger, cooldownMs: 5000 });
    const order: string[] = [];
    const queue: Stage = (next) => async (ctx) => {
      order.push(`queue at ${breaker.state}`);
      return next(ctx);
    };
    const attempt = scripted([]);
    const res = await guard.call(guard.attempt(queue)(attempt))(context(clock));
    expect(res).toEqual(REPLY);
    expect(order).toEqual(['queue at half-open']);
    expect(clock.sleeps).toEqual([5000]);
    expect(breaker.state).toBe('closed');
  });

  it('gives up with LLM_CIRCUIT_OPEN naming the last error when the circuit stays open past the deadline', async () => {
    const clock = createManualClock();
    const breaker = createCircuitBreaker({ failureThreshold: 1, cooldownMs: 60_000 }, clock);
    breaker.onCallFailure();
    const guard = breakerStages(breaker, { clock, logger, cooldownMs: 60_000 });
    const attempt = scripted([]);
    const ctx = context(clock, { deadline: clock.nowMs() + 1000, lastError: overloaded() });
    const err = await guard
      .call(guard.attempt(identity)(attempt))(ctx)
      .catch((e) => e);
    expect(err).toBeInstanceOf(LlmError);
    expect(err.code).toBe('LLM_CIRCUIT_OPEN');
    expect(err.message).toContain('fake is failing');
    expect(err.message).toContain('(last error: overloaded)');
    expect(attempt.calls).toBe(0);
  });
});

describe('cacheStage', () => {
  function memoryCache() {
    const docs = new Map<string, CachedResponse>();
    const cache: ResponseCache = {
      get: async (key) => docs.get(key),
      put: async (entry) => {
        docs.set(entry._id, entry);
      },
    };
    return { docs, cache };
  }
  const outcome = (text: string, finish: ProviderOutcome['finish'] = 'complete'): ProviderOutcome => ({
    text,
    usage: { inputTokens: 1, outputTokens: 1 },
    finish,
    attempts: 1,
    fromStore: false,
  });

  it('joins an identical call in flight, stores the complete reply and answers the next call from the store', async () => {
    const clock = createManualClock();
    const { docs, cache } = memoryCache();
    const writes: Promise<unknown>[] = [];
    const cached = cacheStage({ cache, clock, track: (p) => writes.push(p) });
    let computed = 0;
    const compute = async () => {
      computed += 1;
      return outcome('answer');
    };
    const a = cached('k1', 'fake:m', compute);
    const b = cached('k1', 'fake:m', compute);
    expect([a.joined, b.joined]).toEqual([false, true]);
    expect((await a.outcome).text).toBe('answer');
    expect((await b.outcome).text).toBe('answer');
    await Promise.all(writes);
    expect(computed).toBe(1);
    expect(docs.get('k1')).toMatchObject({ model: 'fake:m', text: 'answer', finish: 'complete' });
    const c = cached('k1', 'fake:m', compute);
    expect(c.joined).toBe(false);
    expect(await c.outcome).toMatchObject({ text: 'answer', fromStore: true, attempts: 0 });
    expect(computed).toBe(1);
  });

  it('never stores a reply that did not finish, and forgets a failed call', async () => {
    const clock = createManualClock();
    const { docs, cache } = memoryCache();
    const cached = cacheStage({ cache, clock, track: () => undefined });
    await cached('k2', 'fake:m', async () => outcome('cut', 'truncated')).outcome;
    expect(docs.has('k2')).toBe(false);
    await expect(
      cached('k3', 'fake:m', async () => {
        throw overloaded();
      }).outcome,
    ).rejects.toThrow('overloaded');
    const again = cached('k3', 'fake:m', async () => outcome('second try'));
    expect(again.joined).toBe(false);
    expect((await again.outcome).text).toBe('second try');
  });
});
