import { describe, expect, it } from 'vitest';
import { createRng, logFactorial, sampleBinomial, sampleMultinomial } from './random.ts';

function draws(seed: number, count: number): number[] {
  const rng = createRng(seed);
  return Array.from({ length: count }, () => rng.next());
}

// Upper 0.1% point of chi-square with `df` degrees of freedom (Wilson–Hilferty), so a correct
// sampler fails a seeded test with probability about 1/1000 and a wrong one almost surely.
function chiSquareCritical(df: number): number {
  const z = 3.09;
  const h = 2 / (9 * df);
  return df * (1 - h + z * Math.sqrt(h)) ** 3;
}

function binomialPmf(n: number, p: number, k: number): number {
  return Math.exp(
    logFactorial(n) - logFactorial(k) - logFactorial(n - k) + k * Math.log(p) + (n - k) * Math.log1p(-p),
  );
}

describe('createRng', () => {
  it('is deterministic per seed and differs across seeds', () => {
    expect(draws(42, 5)).toEqual(draws(42, 5));
    expect(draws(42, 5)).not.toEqual(draws(43, 5));
    expect(draws(0, 5)).not.toEqual(draws(2 ** 32, 5));
  });

  it('stays inside (0, 1) with mean 1/2 and variance 1/12', () => {
    const xs = draws(7, 200_000);
    expect(xs.every((x) => x > 0 && x < 1)).toBe(true);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length;
    expect(mean).toBeCloseTo(0.5, 2);
    expect(variance).toBeCloseTo(1 / 12, 3);
  });
});

describe('logFactorial', () => {
  it.each([0, 1, 2, 10, 255, 256, 257, 1000, 123_456])('matches the sum of logs at %i', (k) => {
    let exact = 0;
    for (let i = 2; i <= k; i++) exact += Math.log(i);
    expect(Math.abs(logFactorial(k) - exact)).toBeLessThan(1e-9 * Math.max(1, exact));
  });
});

describe('sampleBinomial', () => {
  // Covers both algorithms (inversion below mean 10, BTRS above), the p > 1/2 mirror, and the
  // (n, p) shapes the bootstrap produces: huge n with tiny p.
  it.each([
    { n: 20, p: 0.02 },
    { n: 50, p: 0.15 },
    { n: 30, p: 0.9 },
    { n: 40, p: 0.5 },
    { n: 1000, p: 0.3 },
    { n: 200_000, p: 0.0003 },
    { n: 200_000, p: 0.01 },
    { n: 100, p: 0.11 },
  ])('Binomial($n, $p) matches the exact distribution', ({ n, p }) => {
    const rng = createRng(n * 31 + Math.round(p * 1e6));
    const samples = 100_000;
    const seen = new Map<number, number>();
    let sum = 0;
    let sumSq = 0;
    let outOfRange = 0;
    for (let s = 0; s < samples; s++) {
      const k = sampleBinomial(rng, n, p);
      if (!Number.isInteger(k) || k < 0 || k > n) outOfRange++;
      seen.set(k, (seen.get(k) ?? 0) + 1);
      sum += k;
      sumSq += k * k;
    }
    expect(outOfRange).toBe(0);
    const mean = sum / samples;
    const variance = sumSq / samples - mean * mean;
    const sd = Math.sqrt(n * p * (1 - p));
    expect(Math.abs(mean - n * p)).toBeLessThan((5 * sd) / Math.sqrt(samples));
    expect(variance / (sd * sd)).toBeGreaterThan(0.97);
    expect(variance / (sd * sd)).toBeLessThan(1.03);

    // Chi-square over the cells with enough expected mass; the two tails are pooled.
    let chi = 0;
    let cells = 0;
    let lowTail = 0;
    let lowObserved = 0;
    let k = 0;
    const centre = Math.floor(n * p);
    for (; k <= centre && binomialPmf(n, p, k) * samples < 5; k++) {
      lowTail += binomialPmf(n, p, k) * samples;
      lowObserved += seen.get(k) ?? 0;
    }
    let covered = lowTail;
    let coveredObserved = lowObserved;
    if (lowTail > 0) {
      chi += (lowObserved - lowTail) ** 2 / lowTail;
      cells++;
    }
    for (; k <= n; k++) {
      const expected = binomialPmf(n, p, k) * samples;
      if (expected < 5 && k > centre) break;
      const observed = seen.get(k) ?? 0;
      chi += (observed - expected) ** 2 / expected;
      cells++;
      covered += expected;
      coveredObserved += observed;
    }
    const highTail = samples - covered;
    const highObserved = samples - coveredObserved;
    if (highTail > 1e-9) {
      chi += (highObserved - highTail) ** 2 / highTail;
      cells++;
    }
    expect(chi).toBeLessThan(chiSquareCritical(cells - 1));
  });

  it.each([
    { n: 0, p: 0.5, expected: 0 },
    { n: 10, p: 0, expected: 0 },
    { n: 10, p: 1, expected: 10 },
  ])('Binomial($n, $p) is always $expected', ({ n, p, expected }) => {
    expect(sampleBinomial(createRng(1), n, p)).toBe(expected);
  });
});

describe('sampleMultinomial', () => {
  it('always sums to the total, leaves empty buckets empty, and has the right means', () => {
    const counts = [30, 0, 5, 120, 45, 0, 800];
    const total = counts.reduce((s, c) => s + c, 0);
    const rng = createRng(3);
    const out = new Float64Array(counts.length);
    const sums = new Float64Array(counts.length);
    const rounds = 20_000;
    let bad = 0;
    for (let r = 0; r < rounds; r++) {
      sampleMultinomial(rng, total, counts, out);
      if (out.reduce((s, x) => s + x, 0) !== total || out[1] !== 0 || out[5] !== 0) bad++;
      for (let k = 0; k < counts.length; k++) sums[k] = sums[k]! + out[k]!;
    }
    expect(bad).toBe(0);
    counts.forEach((c, k) => {
      const p = c / total;
      const sd = Math.sqrt(total * p * (1 - p));
      expect(Math.abs(sums[k]! / rounds - c)).toBeLessThanOrEqual((5 * sd) / Math.sqrt(rounds));
    });
  });

  it('puts everything in a single non-empty bucket', () => {
    const out = new Float64Array(3);
    sampleMultinomial(createRng(1), 17, [0, 17, 0], out);
    expect([...out]).toEqual([0, 17, 0]);
  });
});
