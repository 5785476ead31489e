import { createManualClock } from '../config/runtime.ts';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createLlm, type LlmSettings } from './create-llm.ts';
import { isLlmError } from './errors.ts';
import { anthropicError, anthropicMessage } from './testing.ts';

const BASE = 'https://anthropic.test';
const KEY = 'sk-ant-test-0123456789abcdef';
const MODEL = 'anthropic:claude-sonnet-5-5';

function settings(overrides: Partial<LlmSettings> = {}): Partial<LlmSettings> {
  return {
    cache: false,
    limits: {},
    retry: {
      maxRetries: 3,
      baseDelayMs: 500,
      maxDelayMs: 30_000,
      maxRetryAfterMs: 60_000,
      budgetMs: 120_000,
    },
    breaker: { failureThreshold: 50, cooldownMs: 30_000 },
    ...overrides,
  };
}

function setup(overrides: Partial<LlmSettings> = {}) {
  const clock = createManualClock();
  const llm = createLlm({
    env: { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: BASE },
    settings: settings(overrides),
    clock,
    random: () => 0.5,
  });
  return { llm, clock };
}

const ask = {
  model: MODEL,
  messages: [
    { role: 'system' as const, content: 'Be brief.' },
    { role: 'user' as const, content: 'Hi?' },
  ],
};

describe('anthropic provider (Messages API)', () => {
  beforeEach(() => {
    nock.disableNetConnect();
  });
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('sends POST /v1/messages with system, messages and max_tokens; returns text, usage, cost', async () => {
    let body: Record<string, unknown> = {};
    let headers: Record<string, string | string[] | undefined> = {};
    const scope = nock(BASE)
      .post('/v1/messages', (b) => {
        body = b;
        return true;
      })
      .reply(function () {
        headers = this.req.headers;
        return [200, anthropicMessage('Hello.', { input: 1000, output: 200 })];
      });
    const { llm } = setup();
    const c = await llm.complete({ ...ask, maxTokens: 300, temperature: 0.7 });
    expect(scope.isDone()).toBe(true);
    expect(body).toMatchObject({
      model: 'claude-sonnet-5-5',
      max_tokens: 300,
      system: 'Be brief.',
      messages: [{ role: 'user', content: 'Hi?' }],
    });
    expect(body).not.toHaveProperty('temperature'); // Claude 5 rejects non-default sampling parameters
    expect(headers['anthropic-version']).toBeDefined();
    expect(JSON.stringify(headers)).toContain(KEY); // the key goes in a header, and only there
    expect(c).toMatchObject({
      text: 'Hello.',
      usage: { inputTokens: 1000, outputTokens: 200 },
      cached: false,
      heuristic: false,
      model: MODEL,
      attempts: 1,
    });
    // $2 / $10 per million tokens
    expect(c.costUsd).toBeCloseTo(0.002 + 0.002, 9);
    expect(c.priceKnown).toBe(true);
  });

  it('retries a 429 after exactly the retry-after the server gave, then succeeds', async () => {
    nock(BASE)
      .post('/v1/messages')
      .reply(429, anthropicError('rate_limit_error', 'Number of requests has exceeded your rate limit'), {
        'retry-after': '7',
      })
      .post('/v1/messages')
      .reply(200, anthropicMessage('ok'));
    const { llm, clock } = setup();
    const c = await llm.complete(ask);
    expect(c.text).toBe('ok');
    expect(c.attempts).toBe(2);
    expect(clock.sleeps).toHaveLength(1);
    // 7 s plus at most 10% jitter (capped at 1 s); random() = 0.5 → +0.35 s
    expect(clock.sleeps[0]).toBeCloseTo(7350, 0);
    expect(llm.stats().totals).toMatchObject({ retries: 1, providerCalls: 2, calls: 1, errors: 0 });
  });

  it('honours retry-after given as an HTTP date and retry-after-ms', async () => {
    const { llm, clock } = setup();
    const at = new Date(clock.nowMs() + 12_000).toUTCString();
    nock(BASE)
      .post('/v1/messages')
      .reply(429, anthropicError('rate_limit_error', 'slow down'), { 'retry-after': at })
      .post('/v1/messages')
      .reply(429, anthropicError('rate_limit_error', 'slow down'), {
        'retry-after-ms': '1500',
        'retry-after': '2',
      })
      .post('/v1/messages')
      .reply(200, anthropicMessage('ok'));
    await llm.complete(ask);
    expect(clock.sleeps[0]).toBeGreaterThanOrEqual(12_000);
    expect(clock.sleeps[0]).toBeLessThanOrEqual(13_000);
    expect(clock.sleeps[1]).toBeGreaterThanOrEqual(1500);
    expect(clock.sleeps[1]).toBeLessThan(2000);
  });

  it('retries 529 overloaded with exponential back-off and jitter', async () => {
    nock(BASE)
      .post('/v1/messages')
      .times(2)
      .reply(529, anthropicError('overloaded_error', 'Overloaded'))
      .post('/v1/messages')
      .reply(200, anthropicMessage('finally'));
    const { llm, clock } = setup();
    const c = await llm.complete(ask);
    expect(c.text).toBe('finally');
    // equal jitter with random 0.5: 500 → 375, 1000 → 750
    expect(clock.sleeps).toEqual([375, 750]);
  });

  it('returns the error once retries are exhausted on 500 (no key in the message)', async () => {
    const scope = nock(BASE)
      .post('/v1/messages')
      .times(4)
      .reply(500, anthropicError('api_error', 'Internal server error'));
    const { llm } = setup();
    const err = await llm.complete(ask).catch((e: unknown) => e);
    expect(scope.isDone()).toBe(true);
    expect(isLlmError(err, 'LLM_PROVIDER_ERROR')).toBe(true);
    expect((err as Error).message).toMatch(/anthropic: HTTP 500 – Internal server error/);
    expect((err as Error).message).not.toContain(KEY);
    expect(llm.stats().totals).toMatchObject({ providerCalls: 4, retries: 3, errors: 1 });
  });

  it('does not retry a 400 and does not wait', async () => {
    const scope = nock(BASE)
      .post('/v1/messages')
      .once()
      .reply(400, anthropicError('invalid_request_error', 'max_tokens: too large'));
    const { llm, clock } = setup();
    const err = await llm.complete(ask).catch((e: unknown) => e);
    expect(scope.isDone()).toBe(true);
    expect(isLlmError(err, 'LLM_BAD_REQUEST')).toBe(true);
    expect((err as { retryable: boolean }).retryable).toBe(false);
    expect(clock.sleeps).toEqual([]);
  });

  it('maps 401 to LLM_AUTH with a hint naming the variable, never the key', async () => {
    nock(BASE)
      .post('/v1/messages')
      .reply(401, anthropicError('authentication_error', `invalid x-api-key ${KEY}`));
    const { llm } = setup();
    const err = await llm.complete(ask).catch((e: unknown) => e);
    expect(isLlmError(err, 'LLM_AUTH')).toBe(true);
    expect((err as { hint: string }).hint).toMatch(/ANTHROPIC_API_KEY/);
    expect((err as Error).message).not.toContain(KEY);
  });

  it('times out a slow attempt via AbortSignal and retries it', async () => {
    nock(BASE)
      .post('/v1/messages')
      .delay(2000)
      .reply(200, anthropicMessage('too late'))
      .post('/v1/messages')
      .reply(200, anthropicMessage('fast'));
    const { llm } = setup();
    const c = await llm.complete({ ...ask, timeoutMs: 100 });
    expect(c.text).toBe('fast');
    expect(c.attempts).toBe(2);
  });

  it('returns LLM_TIMEOUT when every attempt times out', async () => {
    nock(BASE).post('/v1/messages').times(2).delay(2000).reply(200, anthropicMessage('too late'));
    const { llm } = setup({
      retry: { maxRetries: 1, baseDelayMs: 10, maxDelayMs: 10, maxRetryAfterMs: 60_000, budgetMs: 60_000 },
    });
    const err = await llm.complete({ ...ask, timeoutMs: 50 }).catch((e: unknown) => e);
    expect(isLlmError(err, 'LLM_TIMEOUT')).toBe(true);
  });

  it('treats an unreadable body as a retryable provider error', async () => {
    nock(BASE)
      .post('/v1/messages')
      .reply(200, '{"type":"message","content":[{"ty', { 'content-type': 'application/json' })
      .post('/v1/messages')
      .reply(200, anthropicMessage('ok'));
    const { llm } = setup();
    const c = await llm.complete(ask);
    expect(c.text).toBe('ok');
    expect(c.attempts).toBe(2);
  });

  it('gives up at once when retry-after is longer than the wrapper will wait', async () => {
    const scope = nock(BASE)
      .post('/v1/messages')
      .once()
      .reply(429, anthropicError('rate_limit_error', 'daily limit'), { 'retry-after': '3600' });
    const { llm, clock } = setup();
    const err = await llm.complete(ask).catch((e: unknown) => e);
    expect(scope.isDone()).toBe(true);
    expect(isLlmError(err, 'LLM_RATE_LIMITED')).toBe(true);
    expect((err as { retryAfterMs: number }).retryAfterMs).toBe(3_600_000);
    expect(clock.sleeps).toEqual([]);
  });

  describe('completeJson', () => {
    const Verdict = z.object({ score: z.number().min(1).max(5), reason: z.string() });

    it('parses fenced JSON without a repair call', async () => {
      nock(BASE)
        .post('/v1/messages')
        .reply(200, anthropicMessage('```json\n{"score": 4, "reason": "good"}\n```'));
      const { llm } = setup();
      const r = await llm.completeJson(ask, Verdict);
      expect(r).toMatchObject({ ok: true, value: { score: 4, reason: 'good' }, repaired: false });
    });

    it('asks for JSON in the system prompt', async () => {
      let system = '';
      nock(BASE)
        .post('/v1/messages', (b: { system: string }) => {
          system = b.system;
          return true;
        })
        .reply(200, anthropicMessage('{"score": 4, "reason": "good"}'));
      const { llm } = setup();
      await llm.completeJson(ask, Verdict);
      expect(system).toMatch(/^Be brief\.\n\nReply with one JSON object only/);
    });

    it('repairs malformed JSON once, sending the bad reply and the problem back', async () => {
      let repairBody: { messages: { role: string; content: string }[] } = { messages: [] };
      nock(BASE)
        .post('/v1/messages')
        .reply(200, anthropicMessage('{"score": 4, "reason": "good"', { input: 100, output: 10 }))
        .post('/v1/messages', (b) => {
          repairBody = b;
          return true;
        })
        .reply(200, anthropicMessage('{"score": 4, "reason": "good"}', { input: 150, output: 10 }));
      const { llm } = setup();
      const r = await llm.completeJson(ask, Verdict);
      expect(r).toMatchObject({ ok: true, value: { score: 4 }, repaired: true });
      expect(r.completion?.usage).toEqual({ inputTokens: 250, outputTokens: 20 });
      const last = repairBody.messages.at(-1)!;
      expect(last.role).toBe('user');
      expect(last.content).toMatch(/could not be used \(invalid JSON/);
      expect(repairBody.messages.at(-2)).toEqual({
        role: 'assistant',
        content: '{"score": 4, "reason": "good"',
      });
    });

    it('returns {ok:false} when the repair is malformed too, and for schema violations', async () => {
      nock(BASE)
        .post('/v1/messages')
        .reply(200, anthropicMessage('{"score": 9, "reason": "great"}'))
        .post('/v1/messages')
        .reply(200, anthropicMessage('I would rate it 9.'));
      const { llm } = setup();
      const r = await llm.completeJson(ask, Verdict);
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.code).toBe('LLM_BAD_JSON');
      expect(r.error).toMatch(/malformed JSON after one repair attempt/);
      expect(r.completion?.usage.inputTokens).toBe(200);
    });

    it('returns provider failures as values, never throws', async () => {
      nock(BASE).post('/v1/messages').reply(400, anthropicError('invalid_request_error', 'bad'));
      const { llm } = setup();
      const r = await llm.completeJson(ask, Verdict);
      expect(r).toMatchObject({ ok: false, code: 'LLM_BAD_REQUEST' });
    });
  });
});
