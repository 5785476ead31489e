// The judges through the real Llm wrapper and the Anthropic SDK, against nock: what they send (structured output,
// reason before score, room for thinking), what every Score says it spent, and how replies that did not finish
// become error Scores. Response shapes: the Messages API, https://platform.claude.com/docs/en/api/messages
// (stop_reason, usage.cache_creation_input_tokens, usage.cache_read_input_tokens), built by llm/testing.ts.
import { createManualClock } from '../config/runtime.ts';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLlm } from '../llm/index.ts';
import { anthropicMessage } from '../llm/testing.ts';
import { createMetric } from './registry.ts';
import { type Item, type Metric, ScoreSchema } from './types.ts';

const BASE = 'https://anthropic.test';
const env = { ANTHROPIC_API_KEY: 'sk-ant-test-0123456789abcdef', ANTHROPIC_BASE_URL: BASE };
const item: Item = { input: 'Capital of France?', output: 'Paris.', expected: 'Paris' };

function metric(name: 'llm-judge' | 'pairwise-judge', args: Record<string, unknown>, model: string): Metric {
  const llm = createLlm({
    env,
    settings: {
      cache: false,
      limits: {},
      retry: { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1, budgetMs: 1000 },
    },
    clock: createManualClock(),
  });
  const built = createMetric(name, args, { llm, judgeModel: model });
  if (!built.ok) throw new Error(built.error);
  return built.metric;
}

const rubric = (model = 'anthropic:claude-sonnet-5-5') =>
  metric('llm-judge', { criteria: 'Is the answer correct?' }, model);

type Body = {
  max_tokens: number;
  messages: { role: string; content: string }[];
  output_config?: { format?: { schema: { properties: Record<string, unknown> } }; effort?: string };
};

function record(bodies: Body[]) {
  return (b: Body) => {
    bodies.push(b);
    return true;
  };
}

describe('judges against the Anthropic Messages API', () => {
  beforeEach(() => nock.disableNetConnect());
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('asks for the reason before the score, in structured output, with room and an effort for thinking', async () => {
    const bodies: Body[] = [];
    nock(BASE)
      .post('/v1/messages', record(bodies))
      .reply(
        200,
        anthropicMessage('{"reason": "Paris is right.", "score": 5, "confidence": 0.9}', {
          thinking: 'Check the capital.',
          input: 900,
          cacheRead: 100,
          output: 300,
        }),
      );
    const s = await rubric().score(item);
    expect(ScoreSchema.parse(s)).toEqual(s);
    expect(s).toMatchObject({ value: 1, reason: 'Paris is right.' });
    const body = bodies[0]!;
    expect(body.max_tokens).toBe(4096);
    expect(body.output_config?.effort).toBe('low');
    expect(Object.keys(body.output_config?.format?.schema.properties ?? {})).toEqual([
      'reason',
      'score',
      'confidence',
    ]);
    const prompt = body.messages.at(-1)!.content;
    expect(prompt.indexOf('"reason"')).toBeLessThan(prompt.indexOf('"score"'));
    expect(prompt).toMatch(/Write your reason first/);
    // Tokens and cost on the Score: Sonnet 5.5 at $2 input, $0.10 cache read, $10 output per million.
    expect(s.usage).toEqual({
      inputTokens: 1000,
      outputTokens: 300,
      cacheReadTokens: 100,
      cacheWriteTokens: 0,
      costUsd: (900 * 2 + 100 * 0.1 + 300 * 10) / 1e6,
    });
    expect(s.cost).toBe(s.usage?.costUsd);
  });

  it('a model without a known price gives a Score whose cost is unknown, not 0', async () => {
    nock(BASE)
      .post('/v1/messages')
      .reply(
        200,
        anthropicMessage('{"reason": "fine", "score": 4, "confidence": 0.8}', { input: 50, output: 10 }),
      );
    const s = await rubric('anthropic:claude-unreleased-9').score(item);
    expect(s.error).toBeUndefined();
    expect(s.cost).toBeUndefined();
    expect(s.usage).toMatchObject({ inputTokens: 50, outputTokens: 10, costUsd: null });
  });

  it('a reply truncated even after the retry with 4x the budget is an error Score with its usage', async () => {
    const bodies: Body[] = [];
    nock(BASE)
      .post('/v1/messages', record(bodies))
      .times(2)
      .reply(
        200,
        anthropicMessage('', { thinking: 'Hmm…', stopReason: 'max_tokens', input: 200, output: 4096 }),
      );
    const s = await rubric().score(item);
    expect(bodies.map((b) => b.max_tokens)).toEqual([4096, 16384]);
    expect(s).toMatchObject({ value: 0, label: 'error', details: { code: 'LLM_TRUNCATED' } });
    expect(s.error).toMatch(/^judge reply truncated: the reply was cut off at the token limit of 16384/);
    expect(s.usage).toMatchObject({ inputTokens: 400, outputTokens: 8192 });
    expect(s.cost).toBeCloseTo((400 * 2 + 8192 * 10) / 1e6, 12);
  });

  it('a refusal is an error Score saying the judge refused, not a low score', async () => {
    nock(BASE)
      .post('/v1/messages')
      .reply(200, anthropicMessage('', { stopReason: 'refusal' }));
    const s = await rubric().score(item);
    expect(s).toMatchObject({ value: 0, label: 'error', details: { code: 'LLM_REFUSED' } });
    expect(s.error).toBe('judge refused to answer: the model declined to answer (refusal)');
  });

  it('a score outside the scale, twice, is an error Score naming the scale (never clamped)', async () => {
    nock(BASE)
      .post('/v1/messages')
      .times(2)
      .reply(200, anthropicMessage('{"reason": "excellent", "score": 9, "confidence": 1}', { output: 30 }));
    const s = await rubric().score(item);
    expect(s).toMatchObject({ value: 0, label: 'error' });
    expect(s.error).toMatch(/judge output unusable: .*score: expected a score from 1 to 5/);
    expect(s.usage?.outputTokens).toBe(60);
  });

  it('the pairwise judge sums the usage of both orders', async () => {
    nock(BASE)
      .post('/v1/messages')
      .times(2)
      .reply(
        200,
        anthropicMessage('{"reason": "A is right.", "winner": "A", "confidence": 0.9}', {
          input: 100,
          output: 20,
        }),
      );
    const pair = metric('pairwise-judge', {}, 'anthropic:claude-sonnet-5-5');
    const s = await pair.score({ input: 'Capital of France?', output: 'Paris.', expected: 'Paris.' });
    expect(s.usage).toMatchObject({ inputTokens: 200, outputTokens: 40, costUsd: (200 * 2 + 40 * 10) / 1e6 });
  });
});

describe('the offline judge on a multi-turn transcript', () => {
  it('scores the assistant turns instead of calling the output empty', async () => {
    const llm = createLlm({});
    const built = createMetric(
      'llm-judge',
      { criteria: 'Does the assistant explain the refund policy?' },
      { llm, judgeModel: 'offline:heuristic' },
    );
    if (!built.ok) throw new Error(built.error);
    const transcript: Item = {
      input: 'How long do I have to ask for a refund?',
      output: [
        { role: 'user', content: 'How long do I have to ask for a refund?' },
        { role: 'assistant', content: 'You can ask for a refund within 30 days of purchase.' },
        { role: 'user', content: 'And do I need the receipt?' },
        { role: 'assistant', content: 'Yes, the refund policy needs the receipt or the order number.' },
      ],
    };
    const s = await built.metric.score(transcript);
    expect(s.error).toBeUndefined();
    expect(s.reason).not.toMatch(/output is empty/);
    expect(s.value).toBeGreaterThan(0.4);
    expect(s.usage).toMatchObject({ costUsd: 0 });
    expect(s.usage?.inputTokens).toBeGreaterThan(0);
    const empty = await built.metric.score({ ...transcript, output: [{ role: 'user', content: 'Hello?' }] });
    expect(empty.reason).toMatch(/output is empty/);
  });
});
