import { describe, expect, it } from 'vitest';
import { ratingsRows } from './messages.ts';
import { computeRatings, type Vote } from './ratings.ts';
import { poolLabel, pooledVotes, reviewVerdict } from './report.ts';
import type { Choice, Pair, Review, VoteDoc } from './types.ts';

type Winner = Vote['winner'];

function repeat(a: string, b: string, winner: Winner, times: number): Vote[] {
  return Array.from({ length: times }, () => ({ a, b, winner }));
}

/** x against y only: `w` wins, `l` losses, `t` ties. */
function record(w: number, l: number, t = 0): Vote[] {
  return [...repeat('x', 'y', 'a', w), ...repeat('x', 'y', 'b', l), ...repeat('x', 'y', 'tie', t)];
}

describe('reviewVerdict: two contenders', () => {
  it.each([
    {
      case: 'one vote',
      votes: record(1, 0),
      text: 'Not enough votes to call a difference: x leads y 1 wins to 0, from 1 vote; each contender needs at least 10 before any claim is made.',
      better: null,
      significant: false,
    },
    {
      case: '9 votes, all for x',
      votes: record(9, 0),
      text: 'Not enough votes to call a difference: x leads y 9 wins to 0, from 9 votes; each contender needs at least 10 before any claim is made.',
      better: null,
      significant: false,
    },
    {
      case: '10 votes, all for x',
      votes: record(10, 0),
      text: 'x is better than y: 10 wins to 0 (win rate 100%), significant: two-sided sign test p = 0.002 and the 95% intervals do not overlap.',
      better: 'x',
      significant: true,
    },
    {
      case: 'a few votes, even',
      votes: record(2, 2),
      text: 'Not enough votes to call a difference: x and y won 2 each (ties aside), from 4 votes; each contender needs at least 10 before any claim is made.',
      better: null,
      significant: false,
    },
    {
      case: 'ties only',
      votes: record(0, 0, 12),
      text: 'No difference: x and y won 0 each (ties aside).',
      better: null,
      significant: false,
    },
    {
      case: '4–0 with 6 ties: the intervals are apart, the sign test is not significant',
      votes: record(4, 0, 6),
      text: 'x is ahead of y: 4 wins to 0 (win rate 70%), not significant: the 95% intervals do not overlap but the two-sided sign test gives p = 0.125, and a difference is called only when both agree.',
      better: 'x',
      significant: false,
    },
    {
      case: '6–4: neither statistic',
      votes: record(6, 4),
      text: 'x is ahead of y: 6 wins to 4 (win rate 60%), not significant yet (two-sided sign test p = 0.754; the 95% intervals overlap); more votes would tell.',
      better: 'x',
      significant: false,
    },
    {
      case: 'a clear winner over many votes (80–20)',
      votes: record(80, 20),
      text: 'x is better than y: 80 wins to 20 (win rate 80%), significant: two-sided sign test p = 0.000 and the 95% intervals do not overlap.',
      better: 'x',
      significant: true,
    },
  ])('$case', ({ votes, text, better, significant }) => {
    const table = computeRatings(votes, { bootstrap: 1000, seed: 42 });
    const verdict = reviewVerdict(table);
    expect(verdict).toMatchObject({ text, better, significant });
    // The rank column never says more than the verdict: ranks apart exactly when the verdict is significant.
    expect(table.contenders.map((c) => c.rank)).toEqual(
      significant ? [1, 2] : table.contenders[0]!.enoughVotes ? [1, 1] : [null, null],
    );
  });

  it('without bootstrap intervals no difference is called, whatever the sign test says', () => {
    const verdict = reviewVerdict(computeRatings(record(20, 0), { bootstrap: 0 }));
    expect(verdict).toMatchObject({
      text: 'x is ahead of y: 20 wins to 0 (win rate 100%), not significant: no bootstrap intervals were computed (two-sided sign test p = 0.000).',
      significant: false,
    });
    expect(verdict.pValue).toBeCloseTo(2 / 2 ** 20, 12);
  });

  it('the one-vote report shows no interval and makes no claim', () => {
    const table = computeRatings(record(1, 0), { bootstrap: 1000, seed: 42 });
    const rows = ratingsRows(table);
    expect(rows).toBe(
      [
        ' —  x  1811 not enough votes (1 of 10)  W1 L0 T0 BB0  win rate 100%',
        ' —  y  189 not enough votes (1 of 10)  W0 L1 T0 BB0  win rate 0%',
      ].join('\n'),
    );
    expect(reviewVerdict(table).text).not.toMatch(/overlap|significant/);
  });
});

describe('reviewVerdict: more contenders', () => {
  it.each([
    {
      case: 'nobody has enough votes',
      votes: [...repeat('a', 'b', 'a', 3), ...repeat('b', 'c', 'a', 3)],
      contenders: [] as string[],
      text: 'Not enough votes to compare the contenders: each needs at least 10 before any claim is made (a has 3 votes, b has 6 votes, c has 3 votes).',
      significant: false,
    },
    {
      case: 'a contender without enough votes blocks "best"',
      votes: [...repeat('a', 'b', 'a', 30), ...repeat('a', 'c', 'a', 2)],
      contenders: [],
      text: 'a has the highest rating, but no contender is called best while c has 2 votes (at least 10 needed each).',
      significant: false,
    },
    {
      case: 'a known contender with no votes blocks "best"',
      votes: [...repeat('a', 'b', 'a', 30), ...repeat('a', 'c', 'a', 30)],
      contenders: ['d'],
      text: 'a has the highest rating, but no contender is called best while d has none (at least 10 needed each).',
      significant: false,
    },
    {
      case: 'clear best over two others',
      votes: [
        ...repeat('a', 'b', 'a', 40),
        ...repeat('a', 'b', 'b', 5),
        ...repeat('a', 'c', 'a', 40),
        ...repeat('a', 'c', 'b', 5),
        ...repeat('b', 'c', 'a', 20),
        ...repeat('b', 'c', 'b', 20),
      ],
      contenders: [],
      text: 'a is best: it is ahead of every other contender beyond doubt (its 95% interval lies above each of theirs; significant).',
      significant: true,
    },
    {
      case: 'top two cannot be told apart',
      votes: [
        ...repeat('a', 'b', 'a', 21),
        ...repeat('a', 'b', 'b', 19),
        ...repeat('a', 'c', 'a', 40),
        ...repeat('a', 'c', 'b', 5),
        ...repeat('b', 'c', 'a', 40),
        ...repeat('b', 'c', 'b', 5),
      ],
      contenders: [],
      text: 'a has the highest rating, but it cannot be told apart from b (95% intervals overlap): not significant.',
      significant: false,
    },
  ])('$case', ({ votes, contenders, text, significant }) => {
    const table = computeRatings(votes, { bootstrap: 500, seed: 42, contenders });
    expect(reviewVerdict(table)).toMatchObject({ text, significant });
  });
});

describe('pooling for the leaderboard', () => {
  const at = new Date('2026-01-01T00:00:00Z');
  const review = (id: string, contenders: { runId: string; label: string }[]): Review => ({
    _id: id,
    status: 'closed',
    contenders: contenders.map((c) => ({ ...c, suiteName: 's' })),
    options: { reviewersPerPair: 1, dm: false },
    channel: 'C',
    reviewers: [],
    source: 'command',
    seed: 1,
    pairCount: 0,
    dmPosted: [],
    judge: { status: 'skipped' },
    closedAt: new Date('2026-01-02T00:00:00Z'),
    createdAt: at,
    updatedAt: at,
  });
  const pair = (id: string, aRunId: string, bRunId: string): Pair => ({
    _id: id,
    reviewId: 'r',
    seq: 1,
    token: `t-${id}`,
    matchKey: 'k',
    input: 'q',
    answerA: 'x',
    answerB: 'y',
    aRunId,
    bRunId,
    assignees: [],
    createdAt: at,
  });
  const vote = (pairId: string, choice: Choice): VoteDoc => ({
    _id: `${pairId}:u`,
    reviewId: 'r',
    pairId,
    user: 'u',
    choice,
    lastKey: 'k',
    history: [{ choice, key: 'k', at }],
    createdAt: at,
    updatedAt: at,
  });

  it.each([
    { label: 'support · m [run-2]', runId: 'run-2', want: 'support · m' },
    { label: 'support · m', runId: 'run-2', want: 'support · m' },
    { label: 'support · m [run-9]', runId: 'run-2', want: 'support · m [run-9]' },
  ])('poolLabel($label, $runId) → $want', ({ label, runId, want }) => {
    expect(poolLabel({ label, runId, suiteName: 's' })).toBe(want);
  });

  it('one contender is one name across reviews; votes between its own runs are counted apart', () => {
    const first = review('r1', [
      { runId: 'run-1', label: 'support · m' },
      { runId: 'run-x', label: 'support · other' },
    ]);
    const second = review('r2', [
      { runId: 'run-2', label: 'support · m [run-2]' },
      { runId: 'run-3', label: 'support · m [run-3]' },
    ]);
    const third = review('r3', [
      { runId: 'run-3', label: 'support · m' },
      { runId: 'run-y', label: 'support · other' },
    ]);
    const pooled = pooledVotes([
      { review: first, pairs: [pair('p1', 'run-1', 'run-x')], votes: [vote('p1', 'a')] },
      {
        review: second,
        pairs: [pair('p2', 'run-2', 'run-3'), pair('p3', 'run-3', 'run-2')],
        votes: [vote('p2', 'a'), vote('p3', 'tie')],
      },
      { review: third, pairs: [pair('p4', 'run-y', 'run-3')], votes: [vote('p4', 'b')] },
    ]);
    expect(pooled.contenders.sort()).toEqual(['support · m', 'support · other']);
    expect(pooled.sameContender).toBe(2);
    expect(pooled.votes).toEqual([
      { a: 'support · m', b: 'support · other', winner: 'a' },
      { a: 'support · other', b: 'support · m', winner: 'b' },
    ]);
    const table = computeRatings(pooled.votes, { bootstrap: 0, contenders: pooled.contenders });
    expect(table.contenders.map((c) => [c.name, c.wins])).toEqual([
      ['support · m', 2],
      ['support · other', 0],
    ]);
  });
});
