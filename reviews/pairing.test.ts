import { describe, expect, it } from 'vitest';
import {
  assignReviewers,
  DEFAULT_PAIRS_PER_MATCHUP,
  matchKey,
  normalizeInput,
  planPairs,
} from './pairing.ts';
import type { ReviewRunItem } from './types.ts';

function items(prefix: string, inputs: readonly string[]): ReviewRunItem[] {
  return inputs.map((input, i) => ({ key: `k${i}`, input, output: `${prefix} answer to ${input}` }));
}

const Q = (n: number) => Array.from({ length: n }, (_, i) => `Question number ${i + 1}?`);

describe('normalizeInput / matchKey', () => {
  it.each([
    ['  Hello   World ', 'hello world'],
    ['Line\none\ttab', 'line one tab'],
    ['ＦＵＬＬ width', 'full width'],
  ])('%j → %j', (input, normalized) => {
    expect(normalizeInput(input)).toBe(normalized);
    expect(matchKey(input)).toBe(matchKey(normalized));
  });

  it('different inputs get different keys', () => {
    expect(matchKey('a question')).not.toBe(matchKey('another question'));
  });
});

describe('planPairs', () => {
  it('pairs the items two runs share by normalized input, and only those', () => {
    const a = items('A', ['What is up?', 'Only in A', '  how are YOU ']);
    const b = items('B', ['what is up?', 'How are you', 'Only in B']);
    const plan = planPairs({
      contenders: [
        { runId: 'ra', items: a },
        { runId: 'rb', items: b },
      ],
      seed: 1,
    });
    if (!plan.ok) throw new Error(plan.error);
    expect(plan.pairs).toHaveLength(2);
    expect(plan.matchups).toEqual([{ a: 'ra', b: 'rb', shared: 2, planned: 2 }]);
    for (const p of plan.pairs) {
      expect(new Set([p.aRunId, p.bRunId])).toEqual(new Set(['ra', 'rb']));
      // Each answer comes from the run the hidden order says.
      expect(p.answerA.startsWith(p.aRunId === 'ra' ? 'A ' : 'B ')).toBe(true);
      expect(p.answerB.startsWith(p.bRunId === 'ra' ? 'A ' : 'B ')).toBe(true);
    }
    expect(plan.pairs.map((p) => p.seq)).toEqual([1, 2]);
  });

  it('leaves out items without an answer in either run', () => {
    const a: ReviewRunItem[] = [
      { key: '1', input: 'q1', output: 'x' },
      { key: '2', input: 'q2', output: undefined },
      { key: '3', input: 'q3', output: '   ' },
    ];
    const b = items('B', ['q1', 'q2', 'q3']);
    const plan = planPairs({
      contenders: [
        { runId: 'ra', items: a },
        { runId: 'rb', items: b },
      ],
      seed: 1,
    });
    expect(plan.ok && plan.pairs.map((p) => p.input)).toEqual(['q1']);
  });

  it.each([
    {
      name: 'same run twice',
      contenders: [
        { runId: 'r', items: items('A', Q(2)) },
        { runId: 'r', items: items('A', Q(2)) },
      ],
      error: /at least 2 different runs/,
    },
    {
      name: 'one run',
      contenders: [{ runId: 'r', items: items('A', Q(2)) }],
      error: /at least 2 different runs/,
    },
    {
      name: 'no shared input',
      contenders: [
        { runId: 'ra', items: items('A', ['x']) },
        { runId: 'rb', items: items('B', ['y']) },
      ],
      error: /ra and rb share no items/,
    },
    {
      name: 'one matchup of three without shared items',
      contenders: [
        { runId: 'ra', items: items('A', ['x', 'y']) },
        { runId: 'rb', items: items('B', ['x']) },
        { runId: 'rc', items: items('C', ['y']) },
      ],
      error: /rb and rc share no items/,
    },
  ])('refuses $name', ({ contenders, error }) => {
    const plan = planPairs({ contenders, seed: 3 });
    expect(plan.ok).toBe(false);
    if (!plan.ok) expect(plan.error).toMatch(error);
  });

  it.each([
    { runs: 2, pairs: 5, perMatchup: [5] },
    { runs: 3, pairs: 9, perMatchup: [3, 3, 3] },
    { runs: 3, pairs: 10, perMatchup: [4, 3, 3] },
    { runs: 4, pairs: 12, perMatchup: [2, 2, 2, 2, 2, 2] },
    { runs: 4, pairs: 13, perMatchup: [3, 2, 2, 2, 2, 2] },
  ])('$runs runs, $pairs pairs: every matchup gets its even share', ({ runs, pairs, perMatchup }) => {
    const contenders = Array.from({ length: runs }, (_, i) => ({
      runId: `r${i}`,
      items: items(`R${i}`, Q(30)),
    }));
    const plan = planPairs({ contenders, pairs, seed: 7 });
    if (!plan.ok) throw new Error(plan.error);
    expect(plan.pairs).toHaveLength(pairs);
    expect(plan.matchups.map((m) => m.planned)).toEqual(perMatchup);
    // Every contender appears in the same number of pairs (±1 when pairs do not divide evenly).
    const appearances = contenders.map(
      (c) => plan.pairs.filter((p) => p.aRunId === c.runId || p.bRunId === c.runId).length,
    );
    expect(Math.max(...appearances) - Math.min(...appearances)).toBeLessThanOrEqual(1);
    // No item twice within a matchup.
    const seen = new Set(plan.pairs.map((p) => `${[p.aRunId, p.bRunId].sort().join()}:${p.matchKey}`));
    expect(seen.size).toBe(pairs);
  });

  it('defaults to DEFAULT_PAIRS_PER_MATCHUP per matchup, capped by what the runs share', () => {
    const many = planPairs({
      contenders: [
        { runId: 'a', items: items('A', Q(50)) },
        { runId: 'b', items: items('B', Q(50)) },
      ],
      seed: 1,
    });
    expect(many.ok && many.pairs.length).toBe(DEFAULT_PAIRS_PER_MATCHUP);
    const few = planPairs({
      contenders: [
        { runId: 'a', items: items('A', Q(4)) },
        { runId: 'b', items: items('B', Q(4)) },
      ],
      pairs: 100,
      seed: 1,
    });
    expect(few.ok && few.pairs.length).toBe(4);
  });

  it('is reproducible from the seed and randomizes the A/B position per pair', () => {
    const contenders = [
      { runId: 'a', items: items('A', Q(40)) },
      { runId: 'b', items: items('B', Q(40)) },
    ];
    const one = planPairs({ contenders, pairs: 40, seed: 99 });
    const again = planPairs({ contenders, pairs: 40, seed: 99 });
    const other = planPairs({ contenders, pairs: 40, seed: 100 });
    if (!one.ok || !again.ok || !other.ok) throw new Error('plan failed');
    expect(again.pairs).toEqual(one.pairs);
    expect(other.pairs.map((p) => p.matchKey)).not.toEqual(one.pairs.map((p) => p.matchKey));
    const aFirst = one.pairs.filter((p) => p.aRunId === 'a').length;
    // A fair coin over 40 pairs: both positions occur, neither side always first.
    expect(aFirst).toBeGreaterThan(5);
    expect(aFirst).toBeLessThan(35);
  });
});

describe('assignReviewers', () => {
  it.each([
    { pairs: 4, reviewers: ['u1', 'u2'], perPair: 1, want: [['u1'], ['u2'], ['u1'], ['u2']] },
    {
      pairs: 3,
      reviewers: ['u1', 'u2', 'u3'],
      perPair: 2,
      want: [
        ['u1', 'u2'],
        ['u3', 'u1'],
        ['u2', 'u3'],
      ],
    },
    { pairs: 2, reviewers: ['u1'], perPair: 3, want: [['u1'], ['u1']] },
    { pairs: 2, reviewers: [], perPair: 1, want: [[], []] },
  ])(
    '$pairs pairs, $reviewers.length reviewers, $perPair per pair',
    ({ pairs, reviewers, perPair, want }) => {
      const got = assignReviewers(pairs, reviewers, perPair);
      expect(got).toEqual(want);
      for (const a of got) expect(new Set(a).size).toBe(a.length);
    },
  );
});
