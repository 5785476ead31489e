import { describe, expect, it } from 'vitest';
import { parseTagBlocks } from '../llm/judge-protocol.ts';
import type { CallParams } from '../llm/types.ts';
import { DISAGREEMENT_CONFIDENCE, judgePair, PairwiseJudgmentSchema } from './pairwise-judge.ts';
import { createMetric } from './registry.ts';
import { createStubLlm, type StubModel } from './stub-llm.ts';
import { ScoreSchema } from './types.ts';

const MODEL = 'stub:judge';
const blocksOf = (p: CallParams) =>
  parseTagBlocks(p.messages.filter((m) => m.role === 'user').at(-1)?.content ?? '');

/** A fair judge: prefers whichever shown answer contains "good", wherever it is shown. */
const fair: StubModel = (p) => {
  const b = blocksOf(p);
  const a = b.answer_a?.includes('good');
  const bb = b.answer_b?.includes('good');
  const winner = a && !bb ? 'A' : bb && !a ? 'B' : 'tie';
  return JSON.stringify({ winner, reason: `shown ${winner} is better`, confidence: 0.8 });
};

/** A position-biased judge: always prefers the first answer shown. */
const biased: StubModel = () => '{"winner": "A", "reason": "first is best", "confidence": 0.9}';

describe('judgePair', () => {
  it.each([
    ['good answer', 'meh', 'A'],
    ['meh', 'good answer', 'B'],
    ['meh', 'meh', 'tie'],
  ])('a fair judge: %j vs %j → %s, agreeing in both orders', async (answerA, answerB, winner) => {
    const llm = createStubLlm(fair);
    const v = await judgePair({ input: 'q', answerA, answerB }, { llm, judgeModel: MODEL });
    expect(v).toMatchObject({ winner, swappedAgreement: true, confidence: 0.8, cost: 0.002 });
    expect(v.error).toBeUndefined();
    expect(llm.calls).toHaveLength(2);
    // The second call shows the answers swapped.
    expect(blocksOf(llm.calls[0]!)).toMatchObject({ answer_a: answerA, answer_b: answerB, task: 'pairwise' });
    expect(blocksOf(llm.calls[1]!)).toMatchObject({ answer_a: answerB, answer_b: answerA });
  });

  it('a position-biased judge ends in a low-confidence tie', async () => {
    const v = await judgePair(
      { input: 'q', answerA: 'x', answerB: 'y' },
      { llm: createStubLlm(biased), judgeModel: MODEL },
    );
    expect(v).toMatchObject({
      winner: 'tie',
      swappedAgreement: false,
      confidence: DISAGREEMENT_CONFIDENCE,
      orders: ['A', 'B'],
    });
    expect(v.reason).toMatch(/position bias/);
  });

  it('a failure in either order is an error verdict, not a throw', async () => {
    const llm = createStubLlm((_p, call) => {
      if (call === 1) return '{"winner": "A", "reason": "ok", "confidence": 0.9}';
      throw new Error('503 Service Unavailable');
    });
    const v = await judgePair({ input: 'q', answerA: 'x', answerB: 'y' }, { llm, judgeModel: MODEL });
    expect(v).toMatchObject({ winner: 'tie', confidence: 0, swappedAgreement: false });
    expect(v.error).toMatch(/swapped order: judge call failed: 503/);
  });

  it('malformed output twice is an error verdict', async () => {
    const v = await judgePair(
      { input: 'q', answerA: 'x', answerB: 'y' },
      { llm: createStubLlm(() => '{"winner": "C"}'), judgeModel: MODEL },
    );
    expect(v.error).toMatch(/judge output unusable: malformed JSON after one repair attempt/);
    expect(v.cost).toBeCloseTo(0.004);
  });

  it('uses the criteria and stores them as a versioned rubric', async () => {
    const llm = createStubLlm(fair);
    const v = await judgePair(
      { input: 'q', answerA: 'good', answerB: 'bad', criteria: 'Which is shorter?' },
      { llm, judgeModel: MODEL },
    );
    expect(blocksOf(llm.calls[0]!).criteria).toBe('Which is shorter?');
    expect(v.rubric.text).toContain('Which is shorter?');
    expect(v.rubric.version).toMatch(/^[0-9a-f]{12}$/);
  });

  it.each([
    ['A', 'a'],
    [' b ', 'b'],
    ['TIE', 'tie'],
    ['Answer A', 'a'],
    ['answer_b', 'b'],
  ])('accepts winner %j', (winner, parsed) => {
    expect(PairwiseJudgmentSchema.parse({ winner, reason: '' }).winner).toBe(parsed);
  });

  it.each(['C', 'both', ''])('rejects winner %j', (winner) => {
    expect(PairwiseJudgmentSchema.safeParse({ winner, reason: '' }).success).toBe(false);
  });
});

describe('pairwise-judge metric', () => {
  const build = (model: StubModel, args: Record<string, unknown> = {}) => {
    const built = createMetric('pairwise-judge', args, { llm: createStubLlm(model), judgeModel: MODEL });
    if (!built.ok) throw new Error(built.error);
    return built.metric;
  };

  it.each([
    ['good output', 'baseline', 1, 'win'],
    ['output', 'good baseline', 0, 'loss'],
    ['output', 'baseline', 0.5, 'tie'],
  ])('%j vs expected %j → %d', async (output, expected, value, label) => {
    const s = await build(fair).score({ input: 'q', output, expected });
    expect(ScoreSchema.parse(s)).toEqual(s);
    expect(s).toMatchObject({ metric: 'pairwise-judge', value, label, needsReview: false });
  });

  it('reads the baseline from metadata when asked', async () => {
    const s = await build(fair, { against: 'metadata.baseline' }).score({
      input: 'q',
      output: 'x',
      metadata: { baseline: 'good one' },
    });
    expect(s.value).toBe(0);
  });

  it('marks a position-biased verdict needs_review', async () => {
    const s = await build(biased).score({ input: 'q', output: 'x', expected: 'y' });
    expect(s).toMatchObject({
      value: 0.5,
      label: 'needs_review',
      needsReview: true,
      confidence: DISAGREEMENT_CONFIDENCE,
    });
  });

  it('is an error score when there is no baseline', async () => {
    const s = await build(fair, { against: 'metadata.other' }).score({
      input: 'q',
      output: 'x',
      expected: 'y',
    });
    expect(s.error).toMatch(/no baseline answer/);
  });
});
