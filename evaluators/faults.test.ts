// Judges through the real Llm wrapper with a scripted provider: provider failures that outlive the wrapper's
// retries and malformed JSON that outlives its repair attempt end as Scores with `error`, and a run goes on.
import { describe, expect, it } from 'vitest';
import { createLlm } from '../llm/index.ts';
import { LlmError } from '../llm/errors.ts';
import type { LlmSettings } from '../llm/create-llm.ts';
import { createScriptedProvider, type ScriptStep } from '../llm/testing.ts';
import { judgePair } from './pairwise-judge.ts';
import { createMetric } from './registry.ts';
import { ScoreSchema, type Item } from './types.ts';

const fast: Partial<LlmSettings> = {
  retry: { maxRetries: 1, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1, budgetMs: 2000 },
  cache: false,
};
const item: Item = { input: 'Capital of France?', output: 'Paris.', expected: 'Paris' };

function setup(steps: ScriptStep[]) {
  const { provider, calls } = createScriptedProvider('scripted', steps);
  const llm = createLlm({ providers: { scripted: provider }, settings: fast });
  const built = createMetric(
    'llm-judge',
    { criteria: 'Is it correct?' },
    { llm, judgeModel: 'scripted:judge' },
  );
  if (!built.ok) throw new Error(built.error);
  return { metric: built.metric, calls, llm };
}

const rateLimited = () =>
  new LlmError('LLM_RATE_LIMITED', 'scripted: 429 Too Many Requests', {
    retryable: true,
    status: 429,
    provider: 'scripted',
  });

describe('judge faults through the real wrapper', () => {
  it('a 429 that outlives the retries becomes an error Score', async () => {
    const { metric, calls } = setup([{ error: rateLimited() }]);
    const s = await metric.score(item);
    expect(ScoreSchema.parse(s)).toEqual(s);
    expect(s).toMatchObject({ value: 0, label: 'error' });
    expect(s.error).toMatch(/judge call failed \(LLM_RATE_LIMITED\)/);
    expect(calls).toHaveLength(2);
  });

  it('a 5xx followed by a good answer is retried by the wrapper and scored', async () => {
    const { metric } = setup([
      { error: new LlmError('LLM_PROVIDER_ERROR', 'scripted: 503', { retryable: true, status: 503 }) },
      { text: '{"score": 5, "reason": "right", "confidence": 0.9}' },
    ]);
    const s = await metric.score(item);
    expect(s).toMatchObject({ value: 1, reason: 'right' });
  });

  it('malformed JSON is repaired once by the wrapper', async () => {
    const { metric, calls } = setup([
      { text: 'I would say 4 out of 5.' },
      { text: '{"score": 4, "reason": "repaired", "confidence": 0.9}' },
    ]);
    const s = await metric.score(item);
    expect(s).toMatchObject({ value: 0.75, reason: 'repaired' });
    expect(calls).toHaveLength(2);
  });

  it('malformed JSON twice becomes an error Score', async () => {
    const { metric } = setup([{ text: 'no json here' }]);
    const s = await metric.score(item);
    expect(s).toMatchObject({ value: 0, label: 'error', details: { code: 'LLM_BAD_JSON' } });
    expect(s.error).toMatch(/^judge output unusable: /);
  });

  it('a run of items goes on past failing ones', async () => {
    const { metric } = setup([
      { error: rateLimited() },
      { error: rateLimited() },
      { text: '{"score": 5, "reason": "ok", "confidence": 0.9}' },
    ]);
    const scores = [];
    for (const i of [item, item]) scores.push(await metric.score(i));
    expect(scores.map((s) => s.label ?? 'ok')).toEqual(['error', 'ok']);
  });

  it('judgePair reports a failing provider as an error verdict', async () => {
    const { llm } = setup([{ error: rateLimited() }]);
    const v = await judgePair(
      { input: 'q', answerA: 'a', answerB: 'b' },
      { llm, judgeModel: 'scripted:judge' },
    );
    expect(v).toMatchObject({ winner: 'tie', confidence: 0, swappedAgreement: false });
    expect(v.error).toMatch(/original order: judge call failed \(LLM_RATE_LIMITED\).*swapped order/);
  });
});
