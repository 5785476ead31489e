import { createManualClock } from '../config/runtime.ts';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createLlm, type LlmSettings } from './create-llm.ts';
import { isLlmError } from './errors.ts';
import { geminiError, geminiResponse } from './testing.ts';

const BASE = 'https://gemini.test';
const KEY = 'AIzaSyTest-0123456789abcdefghijklmnop';
const MODEL = 'gemini:gemini-2.5-flash';
const PATH = '/v1beta/models/gemini-2.5-flash:generateContent';

function setup(overrides: Partial<LlmSettings> = {}) {
  const clock = createManualClock();
  const llm = createLlm({
    env: { GEMINI_API_KEY: KEY, GEMINI_BASE_URL: BASE },
    settings: {
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
    },
    clock,
    random: () => 0.5,
  });
  return { llm, clock };
}

const ask = {
  model: MODEL,
  messages: [
    { role: 'system' as const, content: 'You are a judge.' },
    { role: 'user' as const, content: 'Question?' },
    { role: 'assistant' as const, content: 'Earlier answer.' },
    { role: 'user' as const, content: 'Score it.' },
  ],
};

describe('gemini provider (generateContent)', () => {
  beforeEach(() => {
    nock.disableNetConnect();
  });
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('sends POST /v1beta/models/{model}:generateContent with contents, systemInstruction and generationConfig', async () => {
    let body: Record<string, unknown> = {};
    let apiKeyHeader: unknown;
    nock(BASE)
      .post(PATH, (b) => {
        body = b;
        return true;
      })
      .reply(function () {
        apiKeyHeader = this.req.headers['x-goog-api-key'];
        return [200, geminiResponse('Four.', { input: 1000, output: 100, thoughts: 100 })];
      });
    const { llm } = setup();
    const c = await llm.complete({ ...ask, temperature: 0.2, maxTokens: 256, json: true });
    expect(apiKeyHeader).toBe(KEY);
    expect(body).toMatchObject({
      contents: [
        { role: 'user', parts: [{ text: 'Question?' }] },
        { role: 'model', parts: [{ text: 'Earlier answer.' }] },
        { role: 'user', parts: [{ text: 'Score it.' }] },
      ],
      systemInstruction: { parts: [{ text: 'You are a judge.' }] },
      generationConfig: { temperature: 0.2, maxOutputTokens: 256, responseMimeType: 'application/json' },
    });
    // thinking tokens are billed as output
    expect(c).toMatchObject({
      text: 'Four.',
      usage: { inputTokens: 1000, outputTokens: 200 },
      model: MODEL,
      cached: false,
    });
    // $0.30 / $2.50 per million tokens
    expect(c.costUsd).toBeCloseTo(0.0003 + 0.0005, 9);
  });

  it('retries a 429, honouring retry-after, then succeeds', async () => {
    nock(BASE)
      .post(PATH)
      .reply(429, geminiError(429, 'RESOURCE_EXHAUSTED', 'Resource has been exhausted'), {
        'retry-after': '3',
      })
      .post(PATH)
      .reply(200, geminiResponse('ok'));
    const { llm, clock } = setup();
    const c = await llm.complete(ask);
    expect(c.text).toBe('ok');
    expect(clock.sleeps[0]).toBeCloseTo(3150, 0);
  });

  it('uses the RetryInfo delay in the error body when there is no header', async () => {
    nock(BASE)
      .post(PATH)
      .reply(429, geminiError(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded', '17s'))
      .post(PATH)
      .reply(200, geminiResponse('ok'));
    const { llm, clock } = setup();
    await llm.complete(ask);
    expect(clock.sleeps[0]).toBeCloseTo(17_500, 0); // 17 s + jitter capped at 1 s × 0.5
  });

  it('retries 503 overloaded and 500 with back-off', async () => {
    nock(BASE)
      .post(PATH)
      .reply(503, geminiError(503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.'))
      .post(PATH)
      .reply(500, geminiError(500, 'INTERNAL', 'An internal error has occurred.'))
      .post(PATH)
      .reply(200, geminiResponse('ok'));
    const { llm, clock } = setup();
    const c = await llm.complete(ask);
    expect(c.attempts).toBe(3);
    expect(clock.sleeps).toEqual([375, 750]);
  });

  it('returns the error after the retry budget, without the key', async () => {
    nock(BASE)
      .post(PATH)
      .times(4)
      .reply(500, geminiError(500, 'INTERNAL', 'An internal error has occurred.'));
    const { llm } = setup();
    const err = await llm.complete(ask).catch((e: unknown) => e);
    expect(isLlmError(err, 'LLM_PROVIDER_ERROR')).toBe(true);
    expect((err as Error).message).toMatch(/gemini: HTTP 500 – An internal error has occurred/);
    expect((err as Error).message).not.toContain(KEY);
  });

  it('times out a slow attempt and retries it', async () => {
    nock(BASE)
      .post(PATH)
      .delay(2000)
      .reply(200, geminiResponse('late'))
      .post(PATH)
      .reply(200, geminiResponse('fast'));
    const { llm } = setup();
    const c = await llm.complete({ ...ask, timeoutMs: 100 });
    expect(c.text).toBe('fast');
    expect(c.attempts).toBe(2);
  });

  it('treats an unreadable body as a retryable provider error', async () => {
    nock(BASE)
      .post(PATH)
      .reply(200, '{"candidates": [', { 'content-type': 'application/json' })
      .post(PATH)
      .reply(200, geminiResponse('ok'));
    const { llm } = setup();
    const c = await llm.complete(ask);
    expect(c.text).toBe('ok');
  });

  it('does not retry an invalid API key (400) and hints at the variable', async () => {
    const scope = nock(BASE)
      .post(PATH)
      .once()
      .reply(400, geminiError(400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.'));
    const { llm } = setup();
    const err = await llm.complete(ask).catch((e: unknown) => e);
    expect(scope.isDone()).toBe(true);
    expect(isLlmError(err, 'LLM_BAD_REQUEST')).toBe(true);
    expect((err as { hint: string }).hint).toMatch(/GEMINI_API_KEY/);
  });

  it('completeJson repairs malformed JSON once', async () => {
    nock(BASE)
      .post(PATH)
      .reply(200, geminiResponse('{"winner": "A", "reason": }'))
      .post(PATH)
      .reply(200, geminiResponse('{"winner": "A", "reason": "clearer"}'));
    const { llm } = setup();
    const r = await llm.completeJson(
      ask,
      z.object({ winner: z.enum(['A', 'B', 'tie']), reason: z.string() }),
    );
    expect(r).toMatchObject({ ok: true, value: { winner: 'A' }, repaired: true });
  });
});
