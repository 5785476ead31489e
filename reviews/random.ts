// Seeded randomness for the ratings bootstrap: a small fast PRNG and exact binomial/multinomial
// samplers, so the same votes and seed always give the same intervals on every machine.

/** A seeded source of uniform doubles in the open interval (0, 1). */
export interface Rng {
  next(): number;
}

/**
 * xoshiro128** (Blackman & Vigna) seeded through splitmix32. Chosen because it needs only 32-bit
 * integer arithmetic, which JavaScript does exactly and quickly with `Math.imul`.
 */
export function createRng(seed: number): Rng {
  // splitmix32 spreads any seed (including 0 and small integers) over the 128-bit state,
  // which must never be all zero.
  let sm = Math.trunc(seed) >>> 0;
  // Seeds above 2^32 still matter: fold their high part in instead of silently dropping it.
  sm = (sm ^ Math.imul(Math.floor(Math.abs(seed) / 4294967296) >>> 0, 0x9e3779b9)) >>> 0;
  const splitmix = (): number => {
    sm = (sm + 0x9e3779b9) | 0;
    let z = sm;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let s0 = splitmix();
  let s1 = splitmix();
  let s2 = splitmix();
  let s3 = splitmix();
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1;

  const nextU32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result;
  };

  return {
    // 53 random bits, offset by half a unit so the result is never 0 (log(u) stays finite).
    next: () => ((nextU32() >>> 5) * 67108864 + (nextU32() >>> 6) + 0.5) / 9007199254740992,
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

const LOG_FACTORIAL_TABLE_SIZE = 256;
const LOG_FACTORIAL_TABLE = (() => {
  const t = new Float64Array(LOG_FACTORIAL_TABLE_SIZE);
  for (let k = 1; k < LOG_FACTORIAL_TABLE_SIZE; k++) t[k] = t[k - 1]! + Math.log(k);
  return t;
})();
const HALF_LOG_TWO_PI = 0.5 * Math.log(2 * Math.PI);

/** ln(k!) for a non-negative integer k: exact sums below 256, Stirling's series (error < 1e-14) above. */
export function logFactorial(k: number): number {
  if (k < LOG_FACTORIAL_TABLE_SIZE) return LOG_FACTORIAL_TABLE[k]!;
  const x = k + 1;
  const x2 = x * x;
  return (x - 0.5) * Math.log(x) - x + HALF_LOG_TWO_PI + (1 / 12 - (1 / 360 - 1 / (1260 * x2)) / x2) / x;
}

/**
 * One draw from Binomial(n, p), exact. Inversion when the mean is small, otherwise Hörmann's
 * transformed rejection with squeeze (BTRS, 1993), whose cost does not grow with n: the
 * bootstrap draws millions of these with n up to the number of votes.
 */
export function sampleBinomial(rng: Rng, n: number, p: number): number {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  // Both algorithms assume p <= 1/2; the mirror image covers the rest.
  if (p > 0.5) return n - sampleBinomial(rng, n, 1 - p);
  return n * p < 10 ? binomialInversion(rng, n, p) : binomialBtrs(rng, n, p);
}

function binomialInversion(rng: Rng, n: number, p: number): number {
  const q = 1 - p;
  const s = p / q;
  const a = (n + 1) * s;
  // n·p < 10 keeps q^n far from underflow.
  const r0 = Math.exp(n * Math.log1p(-p));
  for (;;) {
    let u = rng.next();
    let r = r0;
    let x = 0;
    while (u > r) {
      u -= r;
      x++;
      if (x > n) break;
      r *= a / x - s;
    }
    // Rounding can leave u above the whole pmf; drawing again keeps the result exact.
    if (x <= n) return x;
  }
}

function binomialBtrs(rng: Rng, n: number, p: number): number {
  const q = 1 - p;
  const spq = Math.sqrt(n * p * q);
  const b = 1.15 + 2.53 * spq;
  const a = -0.0873 + 0.0248 * b + 0.01 * p;
  const c = n * p + 0.5;
  const vr = 0.92 - 4.2 / b;
  const alpha = (2.83 + 5.1 / b) * spq;
  const lpq = Math.log(p / q);
  const m = Math.floor((n + 1) * p);
  const h = logFactorial(m) + logFactorial(n - m);
  for (;;) {
    const u = rng.next() - 0.5;
    const v = rng.next();
    const us = 0.5 - Math.abs(u);
    const k = Math.floor(((2 * a) / us + b) * u + c);
    if (k < 0 || k > n) continue;
    // The squeeze: inside this box the hat and the target agree, no logarithms needed.
    if (us >= 0.07 && v <= vr) return k;
    const lv = Math.log((v * alpha) / (a / (us * us) + b));
    if (lv <= h - logFactorial(k) - logFactorial(n - k) + (k - m) * lpq) return k;
  }
}

/**
 * Fills `out` with one draw from Multinomial(total, counts / sum(counts)) by conditional binomials:
 * one binomial per bucket, so the cost follows the number of buckets, not `total`.
 * `counts` are non-negative integers; `out` must be at least as long.
 */
export function sampleMultinomial(
  rng: Rng,
  total: number,
  counts: ArrayLike<number>,
  out: Float64Array,
): void {
  let remainingMass = 0;
  for (let k = 0; k < counts.length; k++) remainingMass += counts[k]!;
  let remaining = total;
  for (let k = 0; k < counts.length; k++) {
    const c = counts[k]!;
    if (remaining === 0 || c === 0) {
      out[k] = 0;
    } else if (c >= remainingMass) {
      out[k] = remaining;
      remaining = 0;
    } else {
      const x = sampleBinomial(rng, remaining, c / remainingMass);
      out[k] = x;
      remaining -= x;
    }
    remainingMass -= c;
  }
}
