// The JSON-repair decorator over a scripted `complete` (no wrapper, no provider): truncation retry, one repair
// call, and failures as values.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createSilentLogger } from '../config/index.ts';
import { LlmError } from './errors.ts';
import { combine, withJsonRepair } from './json-repair.ts';
import type { CallParams, Completion } from './types.ts';

const Verdict = z.object({ score: z.number() });
const PARAMS: CallParams = {
  model: 'fake:m',
  messages: [{ role: 'user', content: 'grade it' }],
  maxTokens: 100,
};

function reply(text: string, over: Partial<Completion> = {}): Completion {
  return {
    text,
    usage: { inputTokens: 10, outputTokens: 5 },
    finish: 'complete',
    costUsd: 0.01,
    latencyMs: 10,
    cached: false,
    model: 'fake:m',
    heuristic: false,
    priceKnown: true,
    attempts: 1,
    ...over,
  };
}

function scripted(replies: (Completion | Error)[]) {
  const calls: CallParams[] = [];
  const complete = async (p: CallParams) => {
    calls.push(p);
    const next = replies.shift();
    if (!next) throw new Error('no more replies scripted');
    if (next instanceof Error) throw next;
    return next;
  };
  return {
    calls,
    completeJson: withJsonRepair(complete, { defaultMaxTokens: 4096, logger: createSilentLogger() }),
  };
}

describe('withJsonRepair', () => {
  it('parses a fenced JSON reply on the first call, asking for JSON', async () => {
    const { calls, completeJson } = scripted([reply('Here:\n```json\n{"score": 4}\n```')]);
    const res = await completeJson(PARAMS, Verdict);
    expect(res).toMatchObject({ ok: true, value: { score: 4 }, repaired: false });
    expect(calls).toHaveLength(1);
    expect(calls[0]?.json).toBe(true);
  });

  it('asks once for a repair quoting the parse error, and sums both calls', async () => {
    const { calls, completeJson } = scripted([reply('{"score": "four"}'), reply('{"score": 4}')]);
    const res = await completeJson(PARAMS, Verdict);
    expect(res).toMatchObject({ ok: true, value: { score: 4 }, repaired: true });
    if (!res.ok) throw new Error('unreachable');
    expect(res.completion.costUsd).toBeCloseTo(0.02);
    expect(res.completion.usage).toEqual({ inputTokens: 20, outputTokens: 10 });
    expect(calls).toHaveLength(2);
    const repairText = calls[1]?.messages.map((m) => m.content).join('\n') ?? '';
    expect(repairText).toContain('{"score": "four"}');
  });

  it('fails with LLM_BAD_JSON after one repair attempt, never a third call', async () => {
    const { calls, completeJson } = scripted([reply('nope'), reply('still nope')]);
    const res = await completeJson(PARAMS, Verdict);
    expect(res).toMatchObject({ ok: false, code: 'LLM_BAD_JSON' });
    expect(calls).toHaveLength(2);
  });

  it('retries a truncated reply once with four times the budget', async () => {
    const { calls, completeJson } = scripted([
      reply('{"sco', { finish: 'truncated' }),
      reply('{"score": 2}'),
    ]);
    const res = await completeJson(PARAMS, Verdict);
    expect(res).toMatchObject({ ok: true, value: { score: 2 } });
    expect(calls.map((c) => c.maxTokens)).toEqual([100, 400]);
  });

  it('reports a reply truncated twice as LLM_TRUNCATED naming both budgets', async () => {
    const { completeJson } = scripted([
      reply('{', { finish: 'truncated' }),
      reply('{"s', { finish: 'truncated', finishDetail: 'max_tokens' }),
    ]);
    const res = await completeJson(PARAMS, Verdict);
    expect(res).toMatchObject({ ok: false, code: 'LLM_TRUNCATED' });
    if (res.ok) throw new Error('unreachable');
    expect(res.error).toBe(
      'the reply was cut off at the token limit of 400 (max_tokens), thinking included (also after a retry with 400 tokens)',
    );
  });

  it('returns a failed call as a value with its code, and an unexpected error as LLM_INTERNAL', async () => {
    const down = scripted([new LlmError('LLM_OVERLOADED', 'fake:m is overloaded', { retryable: true })]);
    expect(await down.completeJson(PARAMS, Verdict)).toEqual({
      ok: false,
      error: 'fake:m is overloaded',
      code: 'LLM_OVERLOADED',
    });
    const bug = scripted([new TypeError('boom')]);
    expect(await bug.completeJson(PARAMS, Verdict)).toEqual({
      ok: false,
      error: 'internal error (details in the logs)',
      code: 'LLM_INTERNAL',
    });
  });

  it('combine keeps the second reply and sums the spend; cached only if both were', () => {
    const both = combine(reply('a', { cached: true }), reply('b', { priceKnown: false, attempts: 2 }));
    expect(both).toMatchObject({
      text: 'b',
      costUsd: 0.02,
      latencyMs: 20,
      cached: false,
      priceKnown: false,
      attempts: 3,
    });
  });
});
