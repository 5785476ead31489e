import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCircuitBreaker } from './circuit-breaker.ts';
import { createFakeLlmClock } from './clock.ts';
import { createLlm } from './create-llm.ts';
import { isLlmError } from './errors.ts';
import { anthropicError, anthropicMessage } from './testing.ts';

describe('circuit breaker (unit)', () => {
  it('opens after N consecutive failures, half-opens after the cool-down, closes on a good probe', () => {
    const clock = createFakeLlmClock();
    const b = createCircuitBreaker({ failureThreshold: 3, cooldownMs: 10_000 }, clock);
    b.onFailure();
    b.onFailure();
    b.onSuccess(); // a success resets the count
    b.onFailure();
    b.onFailure();
    expect(b.state).toBe('closed');
    b.onFailure();
    expect(b.state).toBe('open');
    expect(b.tryEnter()).toEqual({ ok: false, retryInMs: 10_000 });
    clock.advance(9_999);
    expect(b.tryEnter().ok).toBe(false);
    clock.advance(1);
    expect(b.state).toBe('half-open');
    expect(b.tryEnter()).toEqual({ ok: true });
    // only one probe at a time
    expect(b.tryEnter().ok).toBe(false);
    b.onSuccess();
    expect(b.state).toBe('closed');
    expect(b.tryEnter()).toEqual({ ok: true });
  });

  it('a failed probe re-opens for a full cool-down', () => {
    const clock = createFakeLlmClock();
    const b = createCircuitBreaker({ failureThreshold: 1, cooldownMs: 5_000 }, clock);
    b.onFailure();
    clock.advance(5_000);
    expect(b.tryEnter().ok).toBe(true);
    b.onFailure();
    expect(b.state).toBe('open');
    expect(b.tryEnter()).toEqual({ ok: false, retryInMs: 5_000 });
  });

  it('late failures of calls started before opening do not extend the cool-down', () => {
    const clock = createFakeLlmClock();
    const b = createCircuitBreaker({ failureThreshold: 1, cooldownMs: 5_000 }, clock);
    b.onFailure();
    clock.advance(4_000);
    b.onFailure();
    clock.advance(1_000);
    expect(b.state).toBe('half-open');
  });
});

describe('circuit breaker in the wrapper', () => {
  const BASE = 'https://anthropic.test';
  const ask = { model: 'anthropic:claude-sonnet-5-5', messages: [{ role: 'user' as const, content: 'hi' }] };

  beforeEach(() => nock.disableNetConnect());
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('fails fast while open (no HTTP request) and recovers after the cool-down', async () => {
    const clock = createFakeLlmClock();
    const llm = createLlm({
      env: { ANTHROPIC_API_KEY: 'sk-ant-test-0123456789abcdef', ANTHROPIC_BASE_URL: BASE },
      settings: {
        cache: false,
        limits: {},
        retry: { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1, budgetMs: 1000 },
        breaker: { failureThreshold: 3, cooldownMs: 30_000 },
      },
      clock,
    });
    const failing = nock(BASE).post('/v1/messages').times(3).reply(500, anthropicError('api_error', 'boom'));
    for (let i = 0; i < 3; i++)
      await expect(llm.complete(ask)).rejects.toMatchObject({ code: 'LLM_PROVIDER_ERROR' });
    expect(failing.isDone()).toBe(true);
    expect(llm.stats().breakers.anthropic).toBe('open');

    // Open: no interceptor is registered, so any HTTP attempt would fail with a nock error instead.
    const started = performance.now();
    const errors = await Promise.all(
      Array.from({ length: 20 }, () => llm.complete(ask).catch((e: unknown) => e)),
    );
    expect(performance.now() - started).toBeLessThan(200);
    for (const e of errors) {
      expect(isLlmError(e, 'LLM_CIRCUIT_OPEN')).toBe(true);
      expect((e as Error).message).toMatch(
        /circuit breaker is open after 3 consecutive failures; calls fail fast for another 30 s/,
      );
    }
    expect(llm.stats().totals.providerCalls).toBe(3);

    clock.advance(30_000);
    expect(llm.stats().breakers.anthropic).toBe('half-open');
    nock(BASE).post('/v1/messages').once().reply(200, anthropicMessage('back'));
    await expect(llm.complete(ask)).resolves.toMatchObject({ text: 'back' });
    expect(llm.stats().breakers.anthropic).toBe('closed');
  });

  it('stops retrying once the circuit opens mid-call', async () => {
    const clock = createFakeLlmClock();
    const llm = createLlm({
      env: { ANTHROPIC_API_KEY: 'sk-ant-test-0123456789abcdef', ANTHROPIC_BASE_URL: BASE },
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
      .times(2)
      .reply(529, anthropicError('overloaded_error', 'Overloaded'));
    const err = await llm.complete(ask).catch((e: unknown) => e);
    expect(scope.isDone()).toBe(true);
    expect(isLlmError(err, 'LLM_CIRCUIT_OPEN')).toBe(true);
    expect((err as Error).message).toMatch(/last error: anthropic: HTTP 529 – Overloaded/);
  });

  it('a bad request does not count against the provider', async () => {
    const llm = createLlm({
      env: { ANTHROPIC_API_KEY: 'sk-ant-test-0123456789abcdef', ANTHROPIC_BASE_URL: BASE },
      settings: { cache: false, limits: {}, breaker: { failureThreshold: 1, cooldownMs: 60_000 } },
    });
    nock(BASE).post('/v1/messages').times(3).reply(400, anthropicError('invalid_request_error', 'bad'));
    for (let i = 0; i < 3; i++)
      await expect(llm.complete(ask)).rejects.toMatchObject({ code: 'LLM_BAD_REQUEST' });
    expect(llm.stats().breakers.anthropic).toBe('closed');
  });
});
