import { createManualClock, systemClock } from '../config/runtime.ts';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../config/index.ts';
import { createCircuitBreaker } from './circuit-breaker.ts';
import { createLlm } from './create-llm.ts';
import { isLlmError, isProviderTrouble } from './errors.ts';
import { anthropicError, anthropicMessage } from './testing.ts';

describe('circuit breaker (unit)', () => {
  it('opens after N failed calls in a row; failed attempts alone never open it; a success resets', () => {
    const clock = createManualClock();
    const b = createCircuitBreaker({ failureThreshold: 3, cooldownMs: 10_000 }, clock);
    const pass = b.tryEnter();
    expect(pass).toEqual({ ok: true, probe: false });
    // A burst of failed attempts (retries of calls still going) says nothing until a call gives up.
    for (let i = 0; i < 50; i++) if (pass.ok) b.onAttemptFailure(pass);
    expect(b.state).toBe('closed');
    b.onCallFailure();
    b.onCallFailure();
    b.onSuccess(); // a success resets the count
    b.onCallFailure();
    b.onCallFailure();
    expect(b.state).toBe('closed');
    b.onCallFailure();
    expect(b.state).toBe('open');
    expect(b.consecutiveFailures).toBe(3);
    expect(b.tryEnter()).toEqual({ ok: false, retryInMs: 10_000 });
    clock.advance(9_999);
    expect(b.tryEnter().ok).toBe(false);
    clock.advance(1);
    expect(b.state).toBe('half-open');
    const probe = b.tryEnter();
    expect(probe).toEqual({ ok: true, probe: true });
    // only one probe at a time
    expect(b.tryEnter().ok).toBe(false);
    b.onSuccess();
    expect(b.state).toBe('closed');
    expect(b.tryEnter()).toEqual({ ok: true, probe: false });
  });

  it('a failed probe re-opens for a full cool-down; a neutral probe lets the next caller probe', () => {
    const clock = createManualClock();
    const b = createCircuitBreaker({ failureThreshold: 1, cooldownMs: 5_000 }, clock);
    b.onCallFailure();
    clock.advance(5_000);
    const probe = b.tryEnter();
    expect(probe).toEqual({ ok: true, probe: true });
    if (probe.ok) b.onNeutral(probe);
    const second = b.tryEnter();
    expect(second).toEqual({ ok: true, probe: true });
    if (second.ok) b.onAttemptFailure(second);
    expect(b.state).toBe('open');
    expect(b.tryEnter()).toEqual({ ok: false, retryInMs: 5_000 });
  });

  it('late failures of calls started before opening do not extend the cool-down', () => {
    const clock = createManualClock();
    const b = createCircuitBreaker({ failureThreshold: 1, cooldownMs: 5_000 }, clock);
    const early = b.tryEnter();
    b.onCallFailure();
    clock.advance(4_000);
    b.onCallFailure();
    if (early.ok) b.onAttemptFailure(early); // not the probe: no verdict
    clock.advance(1_000);
    expect(b.state).toBe('half-open');
  });

  it('enter waits out the cool-down, then hands out the probe', async () => {
    const clock = createManualClock();
    const b = createCircuitBreaker({ failureThreshold: 1, cooldownMs: 5_000 }, clock);
    b.onCallFailure();
    const t0 = clock.nowMs();
    await expect(b.enter(t0 + 60_000)).resolves.toEqual({ ok: true, probe: true });
    expect(clock.nowMs() - t0).toBe(5_000);
    expect(clock.sleeps).toEqual([5_000]);
  });

  it('enter gives up at the deadline with a refusal, and rejects when its signal aborts', async () => {
    const clock = createManualClock();
    const b = createCircuitBreaker({ failureThreshold: 1, cooldownMs: 60_000 }, clock);
    b.onCallFailure();
    const t0 = clock.nowMs();
    const gate = await b.enter(t0 + 2_000);
    expect(gate.ok).toBe(false);
    expect(clock.nowMs() - t0).toBe(2_000);
    const controller = new AbortController();
    controller.abort(new Error('run cancelled'));
    await expect(b.enter(t0 + 60_000, controller.signal)).rejects.toThrow('run cancelled');
  });

  it('callers behind an in-flight probe wait for its verdict, then go', async () => {
    const b = createCircuitBreaker({ failureThreshold: 1, cooldownMs: 20 }, systemClock);
    b.onCallFailure();
    const probe = await b.enter(Date.now() + 5_000);
    expect(probe).toEqual({ ok: true, probe: true });
    const waiting = b.enter(Date.now() + 5_000);
    let settled = false;
    void waiting.then(() => {
      settled = true;
    });
    await new Promise((r) => setTimeout(r, 30));
    expect(settled).toBe(false);
    b.onSuccess();
    await expect(waiting).resolves.toEqual({ ok: true, probe: false });
  });
});

describe('circuit breaker in the wrapper', () => {
  const BASE = 'https://anthropic.test';
  const KEY = 'sk-ant-test-0123456789abcdef';
  const ask = (content = 'hi') => ({
    model: 'anthropic:claude-sonnet-5-5',
    messages: [{ role: 'user' as const, content }],
  });

  // Error bodies and headers as the Messages API sends them: https://docs.anthropic.com/en/api/errors
  // (`{"type":"error","error":{"type":…,"message":…},"request_id":…}`; 529 overloaded_error, 429 rate_limit_error
  // with a `retry-after` header in seconds: https://docs.anthropic.com/en/api/rate-limits#response-headers).
  const overloaded = { ...anthropicError('overloaded_error', 'Overloaded'), request_id: 'req_011Burst529' };
  const rateLimited = {
    ...anthropicError('rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit'),
    request_id: 'req_011Burst429',
  };

  beforeEach(() => nock.disableNetConnect());
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  /** Runs `items` calls through `concurrency` workers, as a run's item pool does; returns each outcome in order. */
  async function runItems(
    llm: ReturnType<typeof createLlm>,
    items: number,
    concurrency: number,
  ): Promise<({ ok: true; text: string } | { ok: false; error: unknown })[]> {
    const out: ({ ok: true; text: string } | { ok: false; error: unknown })[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < items) {
          const i = next++;
          try {
            out[i] = { ok: true, text: (await llm.complete(ask(`item ${i}`))).text };
          } catch (error) {
            out[i] = { ok: false, error };
          }
        }
      }),
    );
    return out;
  }

  /** `runItems`, also telling when each item started. */
  async function runItemsTimed(
    llm: ReturnType<typeof createLlm>,
    items: number,
    concurrency: number,
    beforeItem: () => void = () => {},
  ) {
    const outcomes: ({ ok: true; text: string } | { ok: false; error: unknown })[] = [];
    const startedAt: number[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < items) {
          const i = next++;
          beforeItem();
          startedAt[i] = Date.now();
          try {
            outcomes[i] = { ok: true, text: (await llm.complete(ask(`item ${i}`))).text };
          } catch (error) {
            outcomes[i] = { ok: false, error };
          }
        }
      }),
    );
    return { outcomes, startedAt };
  }

  it('a 12-response 529/429 burst fails no item: retries ride it out and never open the circuit', async () => {
    const llm = createLlm({
      env: { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: BASE },
      settings: {
        cache: false,
        limits: {},
        retry: { maxRetries: 8, baseDelayMs: 10, maxDelayMs: 40, maxRetryAfterMs: 5_000, budgetMs: 20_000 },
        // The shipped default threshold: the old attempt-counting breaker opened on the 5th failed attempt.
        breaker: { failureThreshold: 5, cooldownMs: 30_000 },
      },
    });
    const burst = nock(BASE)
      .post('/v1/messages')
      .times(10)
      .reply(529, overloaded)
      .post('/v1/messages')
      .times(2)
      .reply(429, rateLimited, { 'retry-after': '1' });
    const after = nock(BASE).post('/v1/messages').times(20).reply(200, anthropicMessage('fine'));
    const outcomes = await runItems(llm, 20, 4);
    expect(burst.isDone()).toBe(true);
    expect(after.isDone()).toBe(true);
    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
    expect(outcomes.every((o) => o.ok && o.text === 'fine')).toBe(true);
    expect(llm.stats().breakers.anthropic).toBe('closed');
    expect(llm.stats().totals.providerCalls).toBe(32);
  });

  it('an outage that opens the circuit: queued calls wait for the cool-down, every item started after it succeeds', async () => {
    const lines: string[] = [];
    const logger = createLogger({ LOG_LEVEL: 'info', LOG_FORMAT: 'json' }, { write: (l) => lines.push(l) });
    const llm = createLlm({
      env: { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: BASE },
      logger,
      settings: {
        cache: false,
        limits: {},
        // Two attempts per call: calls exhausted early in the outage open the circuit.
        retry: { maxRetries: 1, baseDelayMs: 5, maxDelayMs: 10, maxRetryAfterMs: 5_000, budgetMs: 20_000 },
        breaker: { failureThreshold: 2, cooldownMs: 150 },
      },
    });
    // The provider is overloaded until the circuit's first probe (by then the cool-down has passed), then answers.
    const requests: { state: string; ok: boolean }[] = [];
    let recovered = false;
    nock(BASE)
      .post('/v1/messages')
      .times(200)
      .reply(() => {
        const state = llm.stats().breakers.anthropic ?? 'closed';
        if (state === 'half-open') recovered = true;
        requests.push({ state, ok: recovered });
        return recovered ? [200, anthropicMessage('fine')] : [529, overloaded];
      });
    let openedAt: number | undefined;
    const { outcomes, startedAt } = await runItemsTimed(llm, 20, 4, () => {
      if (openedAt === undefined && llm.stats().breakers.anthropic === 'open') openedAt = Date.now();
    });
    const failed = outcomes.filter((o) => !o.ok);
    // Only calls whose every attempt hit the outage fail, with the provider's own error, never an instant
    // "circuit open".
    expect(failed.length).toBeGreaterThanOrEqual(2);
    for (const f of failed) expect(isLlmError(f.error, 'LLM_OVERLOADED')).toBe(true);
    expect(lines.some((l) => l.includes('circuit breaker opened after 2 failed calls in a row'))).toBe(true);
    // Every item that started once the circuit was open waited and then succeeded.
    expect(openedAt).toBeDefined();
    const late = outcomes.filter((_, i) => startedAt[i]! >= openedAt!);
    expect(late.length).toBeGreaterThanOrEqual(10);
    expect(late.every((o) => o.ok)).toBe(true);
    // While open nothing new reached the provider: only attempts already in flight when it opened (at most 3 of
    // the 4 workers) arrived in that state; the first success was the probe after the cool-down.
    expect(requests.filter((r) => r.state === 'open').length).toBeLessThanOrEqual(3);
    expect(requests.find((r) => r.ok)?.state).toBe('half-open');
    expect(requests.filter((r) => r.ok).length).toBe(20 - failed.length);
    expect(llm.stats().breakers.anthropic).toBe('closed');
  });

  it('gives up at the deadline with LLM_CIRCUIT_OPEN (provider trouble), making no request while open', async () => {
    const clock = createManualClock();
    const llm = createLlm({
      env: { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: BASE },
      settings: {
        cache: false,
        limits: {},
        retry: { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1, budgetMs: 5_000 },
        breaker: { failureThreshold: 3, cooldownMs: 60_000 },
      },
      clock,
    });
    const failing = nock(BASE).post('/v1/messages').times(3).reply(529, overloaded);
    for (let i = 0; i < 3; i++)
      await expect(llm.complete(ask())).rejects.toMatchObject({ code: 'LLM_OVERLOADED' });
    expect(failing.isDone()).toBe(true);
    expect(llm.stats().breakers.anthropic).toBe('open');

    // Open: no interceptor is registered, so any HTTP attempt would fail with a nock error instead.
    const t0 = clock.nowMs();
    const err = await llm.complete(ask()).catch((e: unknown) => e);
    expect(clock.nowMs() - t0).toBe(5_000); // waited its whole budget, not a millisecond more
    expect(isLlmError(err, 'LLM_CIRCUIT_OPEN')).toBe(true);
    expect((err as { retryable: boolean }).retryable).toBe(true);
    expect(isProviderTrouble(err)).toBe(true);
    expect((err as Error).message).toMatch(
      /anthropic is failing: its circuit breaker opened after 3 failed calls in a row and was still open when this call gave up after 5\.0 s/,
    );
    expect(llm.stats().totals.providerCalls).toBe(3);

    clock.advance(60_000);
    expect(llm.stats().breakers.anthropic).toBe('half-open');
    nock(BASE).post('/v1/messages').once().reply(200, anthropicMessage('back'));
    await expect(llm.complete(ask())).resolves.toMatchObject({ text: 'back' });
    expect(llm.stats().breakers.anthropic).toBe('closed');
  });

  it('a call waiting for an open circuit stops when its signal aborts', async () => {
    const llm = createLlm({
      env: { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: BASE },
      settings: {
        cache: false,
        limits: {},
        retry: { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1, budgetMs: 60_000 },
        breaker: { failureThreshold: 1, cooldownMs: 60_000 },
      },
    });
    nock(BASE).post('/v1/messages').once().reply(529, overloaded);
    await expect(llm.complete(ask())).rejects.toMatchObject({ code: 'LLM_OVERLOADED' });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('run cancelled')), 30);
    const started = Date.now();
    const err = await llm.complete({ ...ask(), signal: controller.signal }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(isLlmError(err, 'LLM_CANCELLED')).toBe(true);
    expect(isProviderTrouble(err)).toBe(false);
    expect((err as Error).message).toMatch(/cancelled/);
    // The cancelled call neither counted nor took the probe.
    expect(llm.stats().breakers.anthropic).toBe('open');
  });

  it('one call retrying through a burst never opens the circuit on its own', async () => {
    const clock = createManualClock();
    const llm = createLlm({
      env: { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: BASE },
      settings: {
        cache: false,
        limits: {},
        retry: {
          maxRetries: 10,
          baseDelayMs: 100,
          maxDelayMs: 100,
          maxRetryAfterMs: 1000,
          budgetMs: 600_000,
        },
        breaker: { failureThreshold: 2, cooldownMs: 60_000 },
      },
      clock,
    });
    const scope = nock(BASE)
      .post('/v1/messages')
      .times(6)
      .reply(529, overloaded)
      .post('/v1/messages')
      .reply(200, anthropicMessage('through'));
    await expect(llm.complete(ask())).resolves.toMatchObject({ text: 'through', attempts: 7 });
    expect(scope.isDone()).toBe(true);
    expect(llm.stats().breakers.anthropic).toBe('closed');
  });

  it('a bad request or a bad key does not count against the provider', async () => {
    const llm = createLlm({
      env: { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: BASE },
      settings: { cache: false, limits: {}, breaker: { failureThreshold: 1, cooldownMs: 60_000 } },
    });
    nock(BASE).post('/v1/messages').times(3).reply(400, anthropicError('invalid_request_error', 'bad'));
    for (let i = 0; i < 3; i++)
      await expect(llm.complete(ask())).rejects.toMatchObject({ code: 'LLM_BAD_REQUEST' });
    nock(BASE)
      .post('/v1/messages')
      .times(2)
      .reply(401, anthropicError('authentication_error', 'invalid x-api-key'));
    for (let i = 0; i < 2; i++) await expect(llm.complete(ask())).rejects.toMatchObject({ code: 'LLM_AUTH' });
    expect(llm.stats().breakers.anthropic).toBe('closed');
  });
});
