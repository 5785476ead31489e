// Replies read for what they are: stop reasons, cache tokens, structured output and thinking budgets, through the
// real wrapper and SDKs against nock. Response shapes: the Messages API response
// (https://platform.claude.com/docs/en/api/messages, stop reasons per
// https://platform.claude.com/docs/en/build-with-claude/handling-stop-reasons) and the generateContent response
// (https://ai.google.dev/api/generate-content#generatecontentresponse), built by llm/testing.ts.
import { createManualClock } from '../config/runtime.ts';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { anthropicFinish, anthropicSupportsEffort, anthropicSupportsStructuredOutput } from './anthropic.ts';
import { createLlm, type LlmSettings } from './create-llm.ts';
import { geminiFinish } from './gemini.ts';
import { anthropicMessage, geminiResponse } from './testing.ts';

const A_BASE = 'https://anthropic.test';
const G_BASE = 'https://gemini.test';
const env = {
  ANTHROPIC_API_KEY: 'sk-ant-test-0123456789abcdef',
  ANTHROPIC_BASE_URL: A_BASE,
  GEMINI_API_KEY: 'AIzaSyTest-0123456789abcdefghijklmnop',
  GEMINI_BASE_URL: G_BASE,
};
const settings: Partial<LlmSettings> = {
  cache: false,
  limits: {},
  retry: { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1, budgetMs: 1000 },
};
const llm = () => createLlm({ env, settings, clock: createManualClock(), random: () => 0.5 });
const user = (content: string) => [{ role: 'user' as const, content }];
const Verdict = z.object({ reason: z.string(), score: z.number().min(1).max(5) });
const SCHEMA = {
  type: 'object',
  properties: { reason: { type: 'string' }, score: { type: 'integer' } },
  required: ['reason', 'score'],
  additionalProperties: false,
};

describe('finish reasons', () => {
  it.each([
    ['end_turn', 'complete'],
    ['stop_sequence', 'complete'],
    ['tool_use', 'complete'],
    ['max_tokens', 'truncated'],
    ['refusal', 'refused'],
    ['model_context_window_exceeded', 'context-overflow'],
    ['pause_turn', 'paused'],
    ['something_new', 'other'],
    [null, 'other'],
  ])('anthropic stop_reason %s → %s', (reason, finish) => {
    expect(anthropicFinish(reason)).toBe(finish);
  });

  it.each([
    ['STOP', 'complete'],
    ['MAX_TOKENS', 'truncated'],
    ['SAFETY', 'refused'],
    ['RECITATION', 'refused'],
    ['PROHIBITED_CONTENT', 'refused'],
    ['BLOCKLIST', 'refused'],
    ['SPII', 'refused'],
    ['MALFORMED_FUNCTION_CALL', 'malformed'],
    ['LANGUAGE', 'other'],
    [undefined, 'other'],
  ])('gemini finishReason %s → %s', (reason, finish) => {
    expect(geminiFinish(reason)).toBe(finish);
  });

  it.each([
    ['claude-sonnet-5-5', true, true],
    ['claude-opus-4-8', true, true],
    ['claude-haiku-4-5', true, false],
    ['claude-haiku-4-5-20251001', true, false],
    ['claude-sonnet-4-5', true, false],
    ['claude-sonnet-4', false, false],
    ['claude-opus-4-1', false, false],
    ['claude-3-7-sonnet-latest', false, false],
  ])('%s: structured output %s, effort %s', (model, structured, effort) => {
    expect(anthropicSupportsStructuredOutput(model)).toBe(structured);
    expect(anthropicSupportsEffort(model)).toBe(effort);
  });
});

describe('anthropic replies', () => {
  beforeEach(() => nock.disableNetConnect());
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it.each([
    ['max_tokens', 'truncated'],
    ['refusal', 'refused'],
    ['model_context_window_exceeded', 'context-overflow'],
    ['pause_turn', 'paused'],
  ])('a reply that stopped with %s comes back as %s, with the stop reason', async (stopReason, finish) => {
    nock(A_BASE).post('/v1/messages').reply(200, anthropicMessage('Partial', { stopReason }));
    const c = await llm().complete({ model: 'anthropic:claude-sonnet-5-5', messages: user('Hi') });
    expect(c).toMatchObject({ text: 'Partial', finish, finishDetail: stopReason });
  });

  it('counts cache reads and writes into input tokens and prices each at its own rate', async () => {
    nock(A_BASE)
      .post('/v1/messages')
      .reply(200, anthropicMessage('ok', { input: 1000, cacheWrite: 2000, cacheRead: 4000, output: 500 }));
    const l = llm();
    const c = await l.complete({ model: 'anthropic:claude-sonnet-5-5', messages: user('Hi') });
    expect(l.stats().totals).toMatchObject({
      inputTokens: 7000,
      cacheReadTokens: 4000,
      cacheWriteTokens: 2000,
    });
    expect(c.usage).toEqual({
      inputTokens: 7000,
      outputTokens: 500,
      cacheReadTokens: 4000,
      cacheWriteTokens: 2000,
    });
    // Sonnet 5.5: $2 input, $2.50 cache write, $0.10 cache read, $10 output per million tokens.
    expect(c.costUsd).toBeCloseTo((1000 * 2 + 2000 * 2.5 + 4000 * 0.1 + 500 * 10) / 1e6, 12);
    expect(c.finish).toBe('complete');
  });

  it('sends the judge schema as output_config.format and the effort, and skips thinking blocks', async () => {
    let body: Record<string, unknown> = {};
    nock(A_BASE)
      .post('/v1/messages', (b) => {
        body = b;
        return true;
      })
      .reply(200, {
        ...anthropicMessage('{"reason": "cites the source", "score": 4}', { thinking: 'Let me weigh this.' }),
      });
    const res = await llm().completeJson(
      { model: 'anthropic:claude-sonnet-5-5', messages: user('Judge'), jsonSchema: SCHEMA, effort: 'low' },
      Verdict,
    );
    expect(body.output_config).toEqual({ format: { type: 'json_schema', schema: SCHEMA }, effort: 'low' });
    expect(res).toMatchObject({ ok: true, value: { reason: 'cites the source', score: 4 } });
  });

  it('leaves effort out for a model that rejects it (Haiku 4.5) but keeps the structured output', async () => {
    let body: Record<string, unknown> = {};
    nock(A_BASE)
      .post('/v1/messages', (b) => {
        body = b;
        return true;
      })
      .reply(200, anthropicMessage('{"reason": "fine", "score": 3}', { model: 'claude-haiku-4-5-20251001' }));
    await llm().completeJson(
      { model: 'anthropic:claude-haiku-4-5', messages: user('Judge'), jsonSchema: SCHEMA, effort: 'low' },
      Verdict,
    );
    expect(body.output_config).toEqual({ format: { type: 'json_schema', schema: SCHEMA } });
  });

  it('retries a truncated JSON reply once with four times the budget', async () => {
    const budgets: unknown[] = [];
    nock(A_BASE)
      .post('/v1/messages', (b) => {
        budgets.push(b.max_tokens);
        return true;
      })
      // Thinking used the whole budget: no text block at all.
      .reply(
        200,
        anthropicMessage('', { thinking: 'Long deliberation…', stopReason: 'max_tokens', output: 1024 }),
      )
      .post('/v1/messages', (b) => {
        budgets.push(b.max_tokens);
        return true;
      })
      .reply(200, anthropicMessage('{"reason": "ok", "score": 5}', { output: 1500 }));
    const res = await llm().completeJson(
      { model: 'anthropic:claude-sonnet-5-5', messages: user('Judge'), maxTokens: 1024 },
      Verdict,
    );
    expect(budgets).toEqual([1024, 4096]);
    expect(res).toMatchObject({ ok: true, value: { score: 5 } });
    if (res.ok) expect(res.completion.usage.outputTokens).toBe(2524);
  });

  it('a reply still truncated after the retry is LLM_TRUNCATED, with usage of both calls', async () => {
    nock(A_BASE)
      .post('/v1/messages')
      .times(2)
      .reply(200, anthropicMessage('{"reason": "I am', { stopReason: 'max_tokens', output: 300 }));
    const res = await llm().completeJson(
      { model: 'anthropic:claude-sonnet-5-5', messages: user('Judge'), maxTokens: 300 },
      Verdict,
    );
    expect(res.ok).toBe(false);
    if (res.ok) return;
    expect(res.code).toBe('LLM_TRUNCATED');
    expect(res.error).toMatch(/cut off at the token limit of 1200 \(max_tokens\).*retry with 1200/);
    expect(res.completion?.usage.outputTokens).toBe(600);
  });

  it('a refused judge call is LLM_REFUSED and is not repaired', async () => {
    const scope = nock(A_BASE)
      .post('/v1/messages')
      .reply(200, anthropicMessage('', { stopReason: 'refusal' }));
    const res = await llm().completeJson(
      { model: 'anthropic:claude-sonnet-5-5', messages: user('Judge') },
      Verdict,
    );
    expect(scope.isDone()).toBe(true);
    expect(res).toMatchObject({
      ok: false,
      code: 'LLM_REFUSED',
      error: 'the model declined to answer (refusal)',
    });
  });

  it('leaves empty turns out of the request (the API refuses empty text blocks)', async () => {
    let body: { messages: { role: string; content: string }[] } = { messages: [] };
    nock(A_BASE)
      .post('/v1/messages', (b) => {
        body = b;
        return true;
      })
      .reply(200, anthropicMessage('ok'));
    await llm().complete({
      model: 'anthropic:claude-sonnet-5-5',
      messages: [
        { role: 'user', content: 'First?' },
        { role: 'assistant', content: '  ' },
        { role: 'user', content: 'Second?' },
      ],
    });
    expect(body.messages).toEqual([
      { role: 'user', content: 'First?' },
      { role: 'user', content: 'Second?' },
    ]);
  });

  it('repairing an empty reply never sends an empty message (the API would answer 400)', async () => {
    const bodies: { messages: { role: string; content: string }[] }[] = [];
    nock(A_BASE)
      .post('/v1/messages', (b) => {
        bodies.push(b);
        return true;
      })
      .reply(200, anthropicMessage(''))
      .post('/v1/messages', (b) => {
        bodies.push(b);
        return true;
      })
      .reply(200, anthropicMessage('{"reason": "ok", "score": 2}'));
    const res = await llm().completeJson(
      { model: 'anthropic:claude-sonnet-5-5', messages: user('Judge') },
      Verdict,
    );
    expect(res).toMatchObject({ ok: true, repaired: true, value: { score: 2 } });
    const repair = bodies[1]!.messages;
    expect(repair.every((m) => m.content.trim() !== '')).toBe(true);
    expect(repair.at(-1)).toMatchObject({
      role: 'user',
      content: expect.stringMatching(/previous reply was empty/),
    });
  });
});

describe('gemini replies', () => {
  const PATH = '/v1beta/models/gemini-3.5-flash:generateContent';
  beforeEach(() => nock.disableNetConnect());
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it.each([
    ['MAX_TOKENS', 'truncated'],
    ['SAFETY', 'refused'],
    ['RECITATION', 'refused'],
    ['PROHIBITED_CONTENT', 'refused'],
    ['MALFORMED_FUNCTION_CALL', 'malformed'],
  ])('finishReason %s comes back as %s', async (finishReason, finish) => {
    nock(G_BASE).post(PATH).query(true).reply(200, geminiResponse('Part', { finishReason }));
    const c = await llm().complete({ model: 'gemini:gemini-3.5-flash', messages: user('Hi') });
    expect(c).toMatchObject({ finish, finishDetail: finishReason });
  });

  it('a blocked prompt is a refused reply with the block reason, not a thrown error', async () => {
    nock(G_BASE)
      .post(PATH)
      .query(true)
      .reply(200, geminiResponse('', { blockReason: 'PROHIBITED_CONTENT', input: 40 }));
    const c = await llm().complete({ model: 'gemini:gemini-3.5-flash', messages: user('Hi') });
    expect(c).toMatchObject({
      text: '',
      finish: 'refused',
      finishDetail: 'prompt blocked: PROHIBITED_CONTENT',
      usage: { inputTokens: 40, outputTokens: 0 },
    });
  });

  it('reads cached and thinking tokens and prices cache reads at the cached rate', async () => {
    nock(G_BASE)
      .post(PATH)
      .query(true)
      .reply(200, geminiResponse('ok', { input: 10_000, cached: 8000, output: 100, thoughts: 400 }));
    const c = await llm().complete({ model: 'gemini:gemini-3.5-flash', messages: user('Hi') });
    expect(c.usage).toEqual({ inputTokens: 10_000, outputTokens: 500, cacheReadTokens: 8000 });
    // Gemini 3.5 Flash: $1.50 input, $0.15 cached, $9 output (thinking included) per million tokens.
    expect(c.costUsd).toBeCloseTo((2000 * 1.5 + 8000 * 0.15 + 500 * 9) / 1e6, 12);
  });

  it('sends responseJsonSchema and a thinking level on Gemini 3, a thinking budget on 2.5', async () => {
    const configs: Record<string, unknown>[] = [];
    nock(G_BASE)
      .post(/generateContent/, (b) => {
        configs.push(b.generationConfig);
        return true;
      })
      .query(true)
      .times(2)
      .reply(200, geminiResponse('{"reason": "ok", "score": 3}'));
    const l = llm();
    const call = { messages: user('Judge'), jsonSchema: SCHEMA, effort: 'low' as const };
    await l.completeJson({ model: 'gemini:gemini-3.5-flash', ...call }, Verdict);
    await l.completeJson({ model: 'gemini:gemini-2.5-flash', ...call }, Verdict);
    expect(configs[0]).toMatchObject({
      responseMimeType: 'application/json',
      responseJsonSchema: SCHEMA,
      thinkingConfig: { thinkingLevel: 'LOW' },
    });
    expect(configs[1]).toMatchObject({
      responseJsonSchema: SCHEMA,
      thinkingConfig: { thinkingBudget: 1024 },
    });
  });
});
