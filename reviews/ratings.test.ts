import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isArbiterError } from '../config/index.ts';
import { createRng } from './random.ts';
import {
  computeRatings,
  headToHeadIn,
  MIN_VOTES_PER_CONTENDER,
  quantile,
  rankByIntervals,
  type RatingsTable,
  type SeparationEntry,
  separation,
  type Vote,
  VoteSchema,
} from './ratings.ts';

type Winner = Vote['winner'];

/** `times` identical votes. */
function repeat(a: string, b: string, winner: Winner, times: number): Vote[] {
  return Array.from({ length: times }, () => ({ a, b, winner }));
}

function ratingOf(table: RatingsTable, name: string): number {
  const row = table.contenders.find((c) => c.name === name);
  if (!row) throw new Error(`${name} is not rated`);
  return row.rating;
}

function meanRating(table: RatingsTable): number {
  return table.contenders.reduce((s, c) => s + c.rating, 0) / table.contenders.length;
}

const GAP_3_TO_1 = 400 * Math.log10(3); // ≈ 190.85

describe('VoteSchema', () => {
  it.each([
    { line: { a: 'x', b: 'y', winner: 'a' }, ok: true },
    { line: { a: 'x', b: 'y', winner: 'both_bad', extra: 1 }, ok: true },
    { line: { a: 'x', b: 'x', winner: 'a' }, ok: false },
    { line: { a: '', b: 'y', winner: 'a' }, ok: false },
    { line: { a: 'x', b: 'y', winner: 'draw' }, ok: false },
    { line: { a: 'x', winner: 'a' }, ok: false },
  ])('$line → ok: $ok', ({ line, ok }) => {
    expect(VoteSchema.safeParse(line).success).toBe(ok);
  });
});

describe('computeRatings: hand-checkable fits', () => {
  it.each([
    {
      case: '3 wins to 1',
      votes: [...repeat('x', 'y', 'a', 3), ...repeat('x', 'y', 'b', 1)],
      gap: GAP_3_TO_1,
    },
    {
      case: '3 wins to 1, with a/b order mixed',
      votes: [...repeat('x', 'y', 'a', 2), ...repeat('y', 'x', 'b', 1), ...repeat('y', 'x', 'a', 1)],
      gap: GAP_3_TO_1,
    },
    {
      case: 'ties are half a win: 2 wins + 2 ties',
      votes: [...repeat('x', 'y', 'a', 2), ...repeat('x', 'y', 'tie', 2)],
      gap: GAP_3_TO_1,
    },
    {
      case: 'both bad counts as a tie by default',
      votes: [...repeat('x', 'y', 'a', 2), ...repeat('x', 'y', 'both_bad', 2)],
      gap: GAP_3_TO_1,
    },
    { case: 'symmetric results', votes: [...repeat('x', 'y', 'a', 5), ...repeat('x', 'y', 'b', 5)], gap: 0 },
    { case: 'ties only', votes: repeat('x', 'y', 'tie', 7), gap: 0 },
    {
      case: '9 wins to 1',
      votes: [...repeat('x', 'y', 'a', 9), ...repeat('y', 'x', 'a', 1)],
      gap: 400 * Math.log10(9),
    },
  ])('$case → x − y = $gap', ({ votes, gap }) => {
    const table = computeRatings(votes, { bootstrap: 0 });
    expect(ratingOf(table, 'x') - ratingOf(table, 'y')).toBeCloseTo(gap, 1);
    expect(Math.abs(ratingOf(table, 'x') - ratingOf(table, 'y') - gap)).toBeLessThan(0.01);
    // Mean-centred on the initial rating.
    expect(meanRating(table)).toBeCloseTo(1000, 9);
  });

  it('puts a transitive three-player ordering in order and matches the closed-form gaps', () => {
    // Each pair 3–1 for the stronger one; in BT the MLE then has r_a − r_b = r_b − r_c, with
    // the a–c gap fitted jointly (not 400·log10(3) per pair: that would over-fit a–c).
    const votes = [
      ...repeat('a', 'b', 'a', 3),
      ...repeat('a', 'b', 'b', 1),
      ...repeat('b', 'c', 'a', 3),
      ...repeat('b', 'c', 'b', 1),
      ...repeat('a', 'c', 'a', 3),
      ...repeat('a', 'c', 'b', 1),
    ];
    // Eight games each: below the default minimum, so ranks need a lower one.
    expect(computeRatings(votes, { bootstrap: 0 }).contenders.map((c) => c.rank)).toEqual([null, null, null]);
    const table = computeRatings(votes, { bootstrap: 0, minVotes: 8 });
    expect(table.contenders.map((c) => c.name)).toEqual(['a', 'b', 'c']);
    expect(table.contenders.map((c) => c.rank)).toEqual([1, 2, 3]);
    const [a, b, c] = table.contenders.map((row) => row.rating) as [number, number, number];
    expect(a - b).toBeCloseTo(b - c, 6);
    // Score equations: a's expected score against b and c equals its observed 6 of 8.
    const p = (d: number) => 1 / (1 + 10 ** (-d / 400));
    expect(4 * p(a - b) + 4 * p(a - c)).toBeCloseTo(6, 4);
  });

  it('honours base, scale and initial (natural logits with base e, scale 1)', () => {
    const votes = [...repeat('x', 'y', 'a', 3), ...repeat('x', 'y', 'b', 1)];
    const table = computeRatings(votes, { bootstrap: 0, base: Math.E, scale: 1, initial: 0 });
    expect(ratingOf(table, 'x')).toBeCloseTo(Math.log(3) / 2, 4);
    expect(ratingOf(table, 'y')).toBeCloseTo(-Math.log(3) / 2, 4);
  });
});

describe('computeRatings: counts, matrix and unrated', () => {
  const votes: Vote[] = [
    ...repeat('x', 'y', 'a', 3),
    { a: 'y', b: 'x', winner: 'a' },
    { a: 'x', b: 'z', winner: 'tie' },
    { a: 'z', b: 'x', winner: 'both_bad' },
    { a: 'y', b: 'z', winner: 'b' },
    { a: 'w', b: 'z', winner: 'both_bad' },
  ];

  it('counts wins, losses, ties and both-bad per contender and their win rate', () => {
    const table = computeRatings(votes, { bootstrap: 0 });
    const row = (name: string) => table.contenders.find((c) => c.name === name);
    expect(row('x')).toMatchObject({ wins: 3, losses: 1, ties: 1, bothBad: 1, games: 6, winRate: 4 / 6 });
    expect(row('y')).toMatchObject({ wins: 1, losses: 4, ties: 0, bothBad: 0, games: 5, winRate: 1 / 5 });
    expect(row('z')).toMatchObject({ wins: 1, losses: 0, ties: 1, bothBad: 2, games: 4, winRate: 2.5 / 4 });
    expect(row('w')).toMatchObject({ wins: 0, losses: 0, ties: 0, bothBad: 1, games: 1, winRate: 0.5 });
    expect(table.votes).toEqual({ total: 8, counted: 8, bothBadExcluded: 0 });
    expect(table.unrated).toEqual([]);
  });

  it('builds the observed win-rate matrix in table order, ties as half, null where no games', () => {
    const table = computeRatings(votes, { bootstrap: 0 });
    const { names, rates, games } = table.winRateMatrix;
    expect(names).toEqual(table.contenders.map((c) => c.name));
    const at = (i: string, j: string) => rates[names.indexOf(i)]![names.indexOf(j)];
    const played = (i: string, j: string) => games[names.indexOf(i)]![names.indexOf(j)];
    expect(at('x', 'y')).toBe(3 / 4);
    expect(at('y', 'x')).toBe(1 / 4);
    expect(at('x', 'z')).toBe(1 / 2);
    expect(at('z', 'y')).toBe(1);
    expect(at('w', 'x')).toBeNull();
    expect(at('x', 'x')).toBeNull();
    expect(played('x', 'z')).toBe(2);
    expect(played('w', 'y')).toBe(0);
  });

  it('with bothBadAsTie false, both-bad votes are not games and their only contender is unrated', () => {
    const table = computeRatings(votes, { bootstrap: 0, bothBadAsTie: false, contenders: ['v'] });
    expect(table.contenders.map((c) => c.name).sort()).toEqual(['x', 'y', 'z']);
    expect(table.unrated).toEqual(['v', 'w']);
    expect(table.votes).toEqual({ total: 8, counted: 6, bothBadExcluded: 2 });
    const z = table.contenders.find((c) => c.name === 'z');
    expect(z).toMatchObject({ wins: 1, ties: 1, bothBad: 2, games: 2, winRate: 3 / 4 });
  });

  it('lists known contenders without votes as unrated, never as the initial rating', () => {
    const table = computeRatings(votes, { bootstrap: 0, contenders: ['new-model', 'x'] });
    expect(table.unrated).toEqual(['new-model']);
    expect(table.contenders.some((c) => c.name === 'new-model')).toBe(false);
  });
});

describe('computeRatings: edge cases', () => {
  it('returns an empty table for no votes', () => {
    const table = computeRatings([], { contenders: ['b', 'a'] });
    expect(table.contenders).toEqual([]);
    expect(table.unrated).toEqual(['a', 'b']);
    expect(table.winRateMatrix).toEqual({ names: [], rates: [], games: [], wins: [] });
    expect(table.components).toBe(0);
    expect(table.converged).toBe(true);
  });

  it('rates a single vote, with no interval and no rank', () => {
    const table = computeRatings([{ a: 'x', b: 'y', winner: 'tie' }]);
    expect(table.contenders.map((c) => c.rating)).toEqual([1000, 1000]);
    expect(table.contenders.map((c) => [c.rank, c.ci, c.enoughVotes])).toEqual([
      [null, null, false],
      [null, null, false],
    ]);
  });

  it.each([1, 10, 1000])('keeps a contender who won all %i games finite and far ahead', (wins) => {
    const table = computeRatings(repeat('x', 'y', 'a', wins), { bootstrap: 50 });
    const gap = ratingOf(table, 'x') - ratingOf(table, 'y');
    expect(table.converged).toBe(true);
    expect(Number.isFinite(gap)).toBe(true);
    // The prior only bounds what the data leave unbounded: far above any observed finite gap.
    expect(gap).toBeGreaterThan(1000);
    expect(gap).toBeLessThan(4000);
    // Below the minimum no interval is shown; from it on, every interval is finite.
    expect(
      table.contenders.every((c) =>
        wins < MIN_VOTES_PER_CONTENDER
          ? c.ci === null
          : c.ci && Number.isFinite(c.ci.lower) && Number.isFinite(c.ci.upper),
      ),
    ).toBe(true);
  });

  it('keeps an unbeaten contender finite among others, and the rest of the table sensible', () => {
    const votes = [
      ...repeat('champ', 'a', 'a', 20),
      ...repeat('champ', 'b', 'a', 20),
      ...repeat('a', 'b', 'a', 12),
      ...repeat('a', 'b', 'b', 8),
    ];
    const table = computeRatings(votes, { bootstrap: 100 });
    expect(table.contenders.map((c) => c.name)).toEqual(['champ', 'a', 'b']);
    expect(table.contenders.every((c) => Number.isFinite(c.rating))).toBe(true);
    // a vs b is barely affected by the unbounded champion: about 400·log10(12/8) ≈ 70.4.
    expect(ratingOf(table, 'a') - ratingOf(table, 'b')).toBeGreaterThan(60);
    expect(ratingOf(table, 'a') - ratingOf(table, 'b')).toBeLessThan(80);
  });

  it('centres each disconnected group on the initial rating and reports the groups', () => {
    const votes = [
      ...repeat('a1', 'a2', 'a', 3),
      ...repeat('a1', 'a2', 'b', 1),
      ...repeat('b1', 'b2', 'a', 9),
      ...repeat('b1', 'b2', 'b', 1),
    ];
    const table = computeRatings(votes, { bootstrap: 100 });
    expect(table.components).toBe(2);
    const groupOf = (name: string) => table.contenders.find((c) => c.name === name)!.component;
    expect(groupOf('a1')).toBe(groupOf('a2'));
    expect(groupOf('b1')).toBe(groupOf('b2'));
    expect(groupOf('a1')).not.toBe(groupOf('b1'));
    expect((ratingOf(table, 'a1') + ratingOf(table, 'a2')) / 2).toBeCloseTo(1000, 6);
    expect((ratingOf(table, 'b1') + ratingOf(table, 'b2')) / 2).toBeCloseTo(1000, 6);
    expect(ratingOf(table, 'a1') - ratingOf(table, 'a2')).toBeCloseTo(GAP_3_TO_1, 1);
    expect(ratingOf(table, 'b1') - ratingOf(table, 'b2')).toBeCloseTo(400 * Math.log10(9), 1);
  });

  it('skips self-matches, which carry no information', () => {
    const votes = [
      { a: 'x', b: 'x', winner: 'a' as const },
      ...repeat('x', 'y', 'a', 3),
      ...repeat('x', 'y', 'b', 1),
    ];
    const table = computeRatings(votes, { bootstrap: 0 });
    expect(ratingOf(table, 'x') - ratingOf(table, 'y')).toBeCloseTo(GAP_3_TO_1, 1);
    expect(table.contenders.find((c) => c.name === 'x')!.games).toBe(4);
  });

  it.each([
    { options: { bootstrap: -1 } },
    { options: { bootstrap: 1.5 } },
    { options: { base: 1 } },
    { options: { scale: 0 } },
    { options: { l2: 0 } },
    { options: { seed: Number.NaN } },
  ])('rejects invalid options $options with a USAGE error', ({ options }) => {
    expect(() => computeRatings([], options)).toThrowError(expect.objectContaining({ code: 'USAGE' }));
    try {
      computeRatings([], options);
    } catch (err) {
      expect(isArbiterError(err, 'USAGE')).toBe(true);
    }
  });
});

describe('rankByIntervals (Arena rank UB)', () => {
  const row = (rating: number, lower: number, upper: number): SeparationEntry => ({
    rating,
    ci: { lower, upper },
    enoughVotes: true,
    games: 100,
  });
  const noCi = (rating: number): SeparationEntry => ({ rating, ci: null, enoughVotes: true, games: 100 });
  const thin = (rating: number): SeparationEntry => ({ rating, ci: null, enoughVotes: false, games: 3 });
  it.each([
    {
      case: 'overlapping intervals share rank 1',
      rows: [row(1100, 1050, 1150), row(1090, 1040, 1120)],
      ranks: [1, 1],
    },
    {
      case: 'disjoint intervals rank apart',
      rows: [row(1100, 1080, 1120), row(1000, 980, 1020)],
      ranks: [1, 2],
    },
    {
      case: 'a chain: the middle overlaps both ends, the ends do not overlap',
      rows: [row(1100, 1060, 1140), row(1050, 1010, 1090), row(1000, 960, 1040)],
      ranks: [1, 1, 2],
    },
    {
      case: 'two clearly better contenders put the third at rank 3',
      rows: [row(1200, 1190, 1210), row(1195, 1185, 1205), row(1000, 990, 1010)],
      ranks: [1, 1, 3],
    },
    {
      case: 'touching bounds count as overlap',
      rows: [row(1100, 1050, 1150), row(1000, 950, 1050)],
      ranks: [1, 1],
    },
    {
      case: 'without intervals: by rating, equal ratings share a rank',
      rows: [noCi(1100), noCi(1100), noCi(900)],
      ranks: [1, 1, 3],
    },
    {
      case: 'a contender without enough votes gets no rank and pushes no one down',
      rows: [thin(1811), row(1100, 1080, 1120), row(1000, 980, 1020)],
      ranks: [null, 1, 2],
    },
    {
      case: 'without intervals too, too few votes means no rank',
      rows: [thin(1811), noCi(1100), noCi(900)],
      ranks: [null, 1, 2],
    },
  ])('$case', ({ rows, ranks }) => {
    expect(rankByIntervals(rows)).toEqual(ranks);
  });

  it('when the head-to-head record is all the evidence, disjoint intervals need the sign test too', () => {
    // Ten games, all between the two: 4 wins, 0 losses, 6 ties gives disjoint intervals but p = 0.125.
    const rows = [
      { ...row(1080, 1017, 1150), games: 10 },
      { ...row(920, 849, 983), games: 10 },
    ];
    const record = (wins: number, losses: number) => (x: number) =>
      x === 0 ? { games: 10, xWins: wins, yWins: losses } : { games: 10, xWins: losses, yWins: wins };
    expect(rankByIntervals(rows, record(4, 0))).toEqual([1, 1]);
    expect(rankByIntervals(rows, record(10, 0))).toEqual([1, 2]);
    // The same intervals when both also played others: the direct record alone does not decide.
    const busy = rows.map((r) => ({ ...r, games: 50 }));
    expect(rankByIntervals(busy, record(4, 0))).toEqual([1, 2]);
  });
});

describe('separation: the one rule behind ranks and "significant"', () => {
  const entry = (lower: number, upper: number, games = 10, enoughVotes = true): SeparationEntry => ({
    rating: (lower + upper) / 2,
    ci: { lower, upper },
    enoughVotes,
    games,
  });
  it.each([
    {
      case: 'apart, head-to-head only, sign test significant (10–0) → called',
      x: entry(1100, 1300),
      y: entry(700, 900),
      h2h: { games: 10, xWins: 10, yWins: 0 },
      want: { intervalsApart: true, signP: 2 / 1024, headToHeadOnly: true, called: true },
    },
    {
      case: 'apart, head-to-head only, sign test not significant (4–0, 6 ties) → not called',
      x: entry(1017, 1150),
      y: entry(849, 983),
      h2h: { games: 10, xWins: 4, yWins: 0 },
      want: { intervalsApart: true, signP: 0.125, headToHeadOnly: true, called: false },
    },
    {
      case: 'overlapping intervals, sign test significant → not called',
      x: entry(990, 1200),
      y: entry(800, 1010),
      h2h: { games: 10, xWins: 9, yWins: 0 },
      want: { intervalsApart: false, signP: 2 / 512, headToHeadOnly: true, called: false },
    },
    {
      case: 'apart, never met → the intervals decide',
      x: entry(1100, 1300, 40),
      y: entry(700, 900, 40),
      h2h: { games: 0, xWins: 0, yWins: 0 },
      want: { intervalsApart: true, signP: null, headToHeadOnly: false, called: true },
    },
    {
      case: 'apart, met 2–1 but both played others → the intervals decide',
      x: entry(1100, 1300, 40),
      y: entry(700, 900, 40),
      h2h: { games: 3, xWins: 2, yWins: 1 },
      want: { intervalsApart: true, signP: 1, headToHeadOnly: false, called: true },
    },
    {
      case: 'one of them played only the other → head-to-head only',
      x: entry(1100, 1300, 40),
      y: entry(700, 900, 12),
      h2h: { games: 12, xWins: 7, yWins: 5 },
      want: { intervalsApart: true, signP: 0.7744140625, headToHeadOnly: true, called: false },
    },
    {
      case: 'the sign test against the intervals’ direction never confirms them',
      x: entry(1100, 1300),
      y: entry(700, 900),
      h2h: { games: 10, xWins: 0, yWins: 10 },
      want: { intervalsApart: true, signP: 2 / 1024, headToHeadOnly: true, called: false },
    },
    {
      case: 'too few votes → nothing is apart',
      x: entry(1811, 1811, 1, false),
      y: entry(189, 189, 1, false),
      h2h: { games: 1, xWins: 1, yWins: 0 },
      want: { intervalsApart: false, signP: 1, headToHeadOnly: true, called: false },
    },
  ])('$case', ({ x, y, h2h, want }) => {
    const got = separation(x, y, h2h);
    expect({ ...got, signP: null }).toEqual({ ...want, signP: null });
    if (want.signP === null) expect(got.signP).toBeNull();
    else expect(got.signP).toBeCloseTo(want.signP, 12);
  });
});

describe('computeRatings: honest at any sample size', () => {
  /** x against y only: `w` wins, `l` losses, `t` ties. */
  const record = (w: number, l: number, t = 0): Vote[] => [
    ...repeat('x', 'y', 'a', w),
    ...repeat('x', 'y', 'b', l),
    ...repeat('x', 'y', 'tie', t),
  ];
  const claim = (table: RatingsTable) => {
    const [first, second] = table.contenders as [
      RatingsTable['contenders'][0],
      RatingsTable['contenders'][0],
    ];
    return separation(first, second, headToHeadIn(table, first.name, second.name));
  };

  it.each([
    {
      case: 'one vote: a huge gap, but no interval, no rank, no claim',
      votes: record(1, 0),
      enough: false,
      ranks: [null, null],
      called: false,
    },
    {
      case: '9 votes (9–0): one short of the minimum',
      votes: record(9, 0),
      enough: false,
      ranks: [null, null],
      called: false,
    },
    {
      case: '10 votes (10–0): at the minimum, intervals apart and p = 0.002',
      votes: record(10, 0),
      enough: true,
      ranks: [1, 2],
      called: true,
    },
    {
      case: '10 ties: enough votes, nothing to call',
      votes: record(0, 0, 10),
      enough: true,
      ranks: [1, 1],
      called: false,
    },
    {
      case: '4–0 with 6 ties: intervals apart, sign test p = 0.125 → not called',
      votes: record(4, 0, 6),
      enough: true,
      ranks: [1, 1],
      called: false,
    },
    {
      case: '10–3: intervals apart, sign test p = 0.092 → not called',
      votes: record(10, 3),
      enough: true,
      ranks: [1, 1],
      called: false,
    },
    {
      case: 'a clear winner over many votes (80–20)',
      votes: record(80, 20),
      enough: true,
      ranks: [1, 2],
      called: true,
    },
  ])('$case', ({ votes, enough, ranks, called }) => {
    const table = computeRatings(votes, { bootstrap: 1000, seed: 42 });
    expect(table.settings.minVotes).toBe(MIN_VOTES_PER_CONTENDER);
    expect(table.contenders.map((c) => c.enoughVotes)).toEqual([enough, enough]);
    expect(table.contenders.every((c) => (c.ci !== null) === enough)).toBe(true);
    expect(table.contenders.map((c) => c.rank)).toEqual(ranks);
    expect(claim(table).called).toBe(called);
  });

  it('one vote still fits the far-apart ratings the old report showed as "1811 [1811, 1811]"', () => {
    const table = computeRatings(record(1, 0), { bootstrap: 1000, seed: 42 });
    expect(table.contenders.map((c) => Math.round(c.rating))).toEqual([1811, 189]);
    expect(table.contenders.map((c) => c.ci)).toEqual([null, null]);
  });

  it('the minimum is configurable where ratings are computed', () => {
    const table = computeRatings(record(9, 0), { bootstrap: 200, minVotes: 9 });
    expect(table.settings.minVotes).toBe(9);
    expect(table.contenders.map((c) => c.rank)).toEqual([1, 2]);
    expect(() => computeRatings([], { minVotes: 0 })).toThrowError(
      expect.objectContaining({ code: 'USAGE' }),
    );
  });

  it('puts contenders without enough votes after the others, whatever their rating', () => {
    const votes = [
      ...repeat('a', 'b', 'a', 12),
      ...repeat('a', 'b', 'b', 8),
      ...repeat('lucky', 'b', 'a', 2),
    ];
    const table = computeRatings(votes, { bootstrap: 100 });
    expect(ratingOf(table, 'lucky')).toBeGreaterThan(ratingOf(table, 'a'));
    expect(table.contenders.map((c) => [c.name, c.rank])).toEqual([
      ['a', 1],
      ['b', 1],
      ['lucky', null],
    ]);
  });

  it('records head-to-head wins in the matrix', () => {
    const table = computeRatings(record(7, 2, 3), { bootstrap: 0 });
    expect(headToHeadIn(table, 'x', 'y')).toEqual({ games: 12, xWins: 7, yWins: 2 });
    expect(headToHeadIn(table, 'y', 'x')).toEqual({ games: 12, xWins: 2, yWins: 7 });
    expect(headToHeadIn(table, 'x', 'nobody')).toEqual({ games: 0, xWins: 0, yWins: 0 });
  });
});

describe('quantile', () => {
  it.each([
    { values: [1, 2, 3, 4, 5], q: 0.5, expected: 3 },
    { values: [1, 2, 3, 4], q: 0.5, expected: 2.5 },
    { values: [0, 10], q: 0.025, expected: 0.25 },
    { values: [0, 10], q: 0.975, expected: 9.75 },
    { values: [7], q: 0.975, expected: 7 },
  ])('linear interpolation: q=$q of $values is $expected', ({ values, q, expected }) => {
    expect(quantile(values, q)).toBeCloseTo(expected, 12);
  });
});

/** Votes drawn from known Bradley–Terry ratings (base 10, scale 400), with some ties. */
function simulateVotes(truth: Record<string, number>, count: number, seed: number): Vote[] {
  const rng = createRng(seed);
  const names = Object.keys(truth);
  const votes: Vote[] = [];
  for (let k = 0; k < count; k++) {
    const i = Math.floor(rng.next() * names.length);
    let j = Math.floor(rng.next() * (names.length - 1));
    if (j >= i) j++;
    const a = names[i]!;
    const b = names[j]!;
    const pA = 1 / (1 + 10 ** ((truth[b]! - truth[a]!) / 400));
    // Ties (up to 20% in even games) are drawn so that a's expected score, wins + ties/2, stays
    // exactly pA: that is what the ties-as-half likelihood estimates.
    const tie = 0.4 * Math.min(pA, 1 - pA);
    const winner: Winner = rng.next() < tie ? 'tie' : rng.next() < (pA - tie / 2) / (1 - tie) ? 'a' : 'b';
    votes.push({ a, b, winner });
  }
  return votes;
}

describe('computeRatings: bootstrap intervals', () => {
  const truth = { m1: 1250, m2: 1150, m3: 1100, m4: 1000, m5: 850, m6: 650 };

  it('is deterministic: same votes and seed give the same table, in any vote order', () => {
    const votes = simulateVotes(truth, 3000, 5);
    const shuffled = [...votes].reverse();
    const first = computeRatings(votes, { bootstrap: 200, seed: 9 });
    expect(computeRatings(votes, { bootstrap: 200, seed: 9 })).toEqual(first);
    expect(computeRatings(shuffled, { bootstrap: 200, seed: 9 })).toEqual(first);
    const other = computeRatings(votes, { bootstrap: 200, seed: 10 });
    expect(other.contenders.map((c) => c.rating)).toEqual(first.contenders.map((c) => c.rating));
    expect(other.contenders.map((c) => c.ci)).not.toEqual(first.contenders.map((c) => c.ci));
  });

  it('gives intervals that contain the estimate and shrink with more votes', () => {
    const small = computeRatings(simulateVotes(truth, 2_000, 11), { bootstrap: 300 });
    const large = computeRatings(simulateVotes(truth, 50_000, 11), { bootstrap: 300 });
    for (const table of [small, large]) {
      for (const c of table.contenders) {
        expect(c.ci!.lower).toBeLessThanOrEqual(c.rating);
        expect(c.ci!.upper).toBeGreaterThanOrEqual(c.rating);
      }
    }
    const width = (t: RatingsTable, name: string) => {
      const c = t.contenders.find((row) => row.name === name)!;
      return c.ci!.upper - c.ci!.lower;
    };
    for (const name of Object.keys(truth)) {
      // 25× the votes: about 5× narrower in theory; demand at least 3×.
      expect(width(large, name) * 3).toBeLessThan(width(small, name));
    }
  });

  it('recovers known rating gaps from 50,000 simulated votes, within their intervals', () => {
    const table = computeRatings(simulateVotes(truth, 50_000, 2024), { bootstrap: 300, seed: 1 });
    expect(table.converged).toBe(true);
    expect(table.contenders.map((c) => c.name)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6']);
    const trueMean = Object.values(truth).reduce((s, r) => s + r, 0) / 6;
    let covered = 0;
    for (const c of table.contenders) {
      // The fit is centred on 1000, the truth on its own mean: compare centred values.
      const expected = truth[c.name as keyof typeof truth] - trueMean + 1000;
      // Standard error here is about 4 points; 15 is beyond 3.5 of them.
      expect(Math.abs(c.rating - expected)).toBeLessThan(15);
      if (c.ci!.lower <= expected && expected <= c.ci!.upper) covered++;
    }
    // 95% intervals: all six should cover the truth most of the time; allow one miss.
    expect(covered).toBeGreaterThanOrEqual(5);
    // m2 and m3 are 50 points apart, with intervals of about ±10: distinct ranks throughout.
    expect(table.contenders.map((c) => c.rank)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('computeRatings: agreement with the Chatbot Arena method', () => {
  // Produced by reviews/fixtures/fastchat-reference.py: FastChat's compute_bt objective (unique
  // (a, b, outcome) rows weighted by count, ties and "both bad" as 0.5, unregularised, from zero, then
  // 400·r + 1000), minimised by plain gradient descent in standard-library Python. It has
  // also been checked against SciPy's L-BFGS-B as FastChat calls it (agreement ≈ 0.005 points, the
  // precision of FastChat's own gtol=1e-6 stop).
  const fixture = JSON.parse(
    readFileSync(new URL('./fixtures/fastchat-reference.json', import.meta.url), 'utf8'),
  ) as {
    ratings: Record<string, number>;
    votes: unknown[];
  };

  it('matches the reference ratings to 0.01 points', () => {
    const votes = fixture.votes.map((v) => VoteSchema.parse(v));
    const table = computeRatings(votes, { bootstrap: 0 });
    expect(table.contenders).toHaveLength(Object.keys(fixture.ratings).length);
    for (const c of table.contenders) {
      expect(Math.abs(c.rating - fixture.ratings[c.name]!)).toBeLessThan(0.01);
    }
  });
});

// Small random vote sets over up to five contenders; names from a fixed pool.
const POOL = ['ann', 'bob', 'cat', 'dan', 'eve'];
const voteArb = fc
  .tuple(
    fc.constantFrom(...POOL),
    fc.constantFrom(...POOL),
    fc.constantFrom<Winner>('a', 'b', 'tie', 'both_bad'),
  )
  .filter(([a, b]) => a !== b)
  .map(([a, b, winner]): Vote => ({ a, b, winner }));
const votesArb = fc.array(voteArb, { minLength: 1, maxLength: 40 });

const MIRROR: Record<Winner, Winner> = { a: 'b', b: 'a', tie: 'tie', both_bad: 'both_bad' };

describe('computeRatings: properties', () => {
  it('swapping a and b with the winner mirrored gives the same table', () => {
    fc.assert(
      fc.property(votesArb, fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }), (votes, flips) => {
        const mirrored = votes.map((v, i) => (flips[i] ? { a: v.b, b: v.a, winner: MIRROR[v.winner] } : v));
        expect(computeRatings(mirrored, { bootstrap: 20 })).toEqual(computeRatings(votes, { bootstrap: 20 }));
      }),
      { numRuns: 100 },
    );
  });

  it('renaming contenders permutes the ratings', () => {
    // A renaming that reverses the sort order, so internal indices really change.
    const rename = (name: string) => `zz-${String.fromCharCode(200 - name.charCodeAt(0))}-${name}`;
    fc.assert(
      fc.property(votesArb, (votes) => {
        const before = computeRatings(votes, { bootstrap: 0 });
        const after = computeRatings(
          votes.map((v) => ({ ...v, a: rename(v.a), b: rename(v.b) })),
          { bootstrap: 0 },
        );
        for (const c of before.contenders) {
          const renamed = after.contenders.find((row) => row.name === rename(c.name))!;
          expect(renamed.rating).toBeCloseTo(c.rating, 6);
          expect(renamed).toMatchObject({ wins: c.wins, losses: c.losses, games: c.games, rank: c.rank });
        }
      }),
      { numRuns: 100 },
    );
  });

  it('adding a win never lowers the winner’s rating (nor raises the loser’s)', () => {
    fc.assert(
      fc.property(votesArb, fc.nat(), fc.nat(), (votes, x, y) => {
        const before = computeRatings(votes, { bootstrap: 0 });
        const rated = before.contenders;
        const winner = rated[x % rated.length]!;
        const loser = rated[y % rated.length]!;
        // Only within one comparison group: joining two groups re-centres both.
        fc.pre(winner !== loser && winner.component === loser.component);
        const after = computeRatings([...votes, { a: winner.name, b: loser.name, winner: 'a' }], {
          bootstrap: 0,
        });
        expect(ratingOf(after, winner.name)).toBeGreaterThanOrEqual(winner.rating - 1e-6);
        expect(ratingOf(after, loser.name)).toBeLessThanOrEqual(loser.rating + 1e-6);
      }),
      { numRuns: 200 },
    );
  });

  it('always centres each comparison group on the initial rating and stays finite', () => {
    fc.assert(
      fc.property(votesArb, (votes) => {
        const table = computeRatings(votes, { bootstrap: 10 });
        expect(table.converged).toBe(true);
        for (let g = 0; g < table.components; g++) {
          const group = table.contenders.filter((c) => c.component === g);
          const mean = group.reduce((s, c) => s + c.rating, 0) / group.length;
          expect(mean).toBeCloseTo(1000, 6);
        }
        expect(table.contenders.every((c) => Number.isFinite(c.rating))).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});
