import { describe, expect, it } from 'vitest';
import { agreementStats, describeKappa, signTest } from './agreement.ts';

function repeat(pair: [string, string], n: number): [string, string][] {
  return Array.from({ length: n }, () => pair);
}

describe('agreementStats (percent agreement and Cohen kappa)', () => {
  it.each([
    {
      name: 'the textbook 2×2 example: po 0.7, pe 0.5, kappa 0.4',
      pairs: [
        ...repeat(['yes', 'yes'], 20),
        ...repeat(['yes', 'no'], 5),
        ...repeat(['no', 'yes'], 10),
        ...repeat(['no', 'no'], 15),
      ],
      n: 50,
      percent: 0.7,
      kappa: 0.4,
    },
    {
      name: 'perfect agreement over three labels',
      pairs: [...repeat(['a', 'a'], 3), ...repeat(['b', 'b'], 2), ...repeat(['tie', 'tie'], 1)],
      n: 6,
      percent: 1,
      kappa: 1,
    },
    {
      name: 'systematic disagreement is worse than chance',
      pairs: [...repeat(['a', 'b'], 5), ...repeat(['b', 'a'], 5)],
      n: 10,
      percent: 0,
      kappa: -1,
    },
    {
      // Rater 1 says a, a, b, b; rater 2 says a, b, a, b: po = 2/4, pe = ½·½ + ½·½ = ½, so kappa is 0.
      name: 'agreement exactly at chance level',
      pairs: [
        ['a', 'a'],
        ['a', 'b'],
        ['b', 'a'],
        ['b', 'b'],
      ] as [string, string][],
      n: 4,
      percent: 0.5,
      kappa: 0,
    },
  ])('$name', ({ pairs, n, percent, kappa }) => {
    const got = agreementStats(pairs);
    expect(got.n).toBe(n);
    expect(got.percent).toBeCloseTo(percent, 12);
    expect(got.kappa).toBeCloseTo(kappa, 12);
  });

  it('is undefined with no items, and kappa is undefined when both raters used one label only', () => {
    expect(agreementStats([])).toEqual({ n: 0, percent: null, kappa: null });
    expect(agreementStats(repeat(['tie', 'tie'], 4))).toEqual({ n: 4, percent: 1, kappa: null });
  });

  it.each([
    [null, 'undefined'],
    [-0.2, 'worse than chance'],
    [0.1, 'slight'],
    [0.3, 'fair'],
    [0.5, 'moderate'],
    [0.7, 'substantial'],
    [0.95, 'almost perfect'],
  ] as const)('describes kappa %s as %s', (kappa, words) => {
    expect(describeKappa(kappa)).toBe(words);
  });
});

describe('signTest (exact two-sided)', () => {
  it.each([
    { wins: 0, losses: 0, p: 1 },
    { wins: 5, losses: 5, p: 1 },
    { wins: 10, losses: 0, p: 2 / 1024 },
    { wins: 0, losses: 10, p: 2 / 1024 },
    // P(X ≤ 3 | n = 10) = (1 + 10 + 45 + 120) / 1024.
    { wins: 7, losses: 3, p: (2 * 176) / 1024 },
    { wins: 1, losses: 0, p: 1 },
  ])('wins $wins, losses $losses → p $p', ({ wins, losses, p }) => {
    expect(signTest(wins, losses)).toBeCloseTo(p, 10);
  });

  it('stays accurate for large counts (normal approximation check)', () => {
    // 600 vs 400: z ≈ 6.3, so p is far below 1e-6 but positive.
    const p = signTest(600, 400);
    expect(p).toBeGreaterThan(0);
    expect(p).toBeLessThan(1e-6);
  });
});
