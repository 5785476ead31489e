// Statistics of a closed review, pure: agreement between human votes and the pairwise judge (percent agreement and
// Cohen's kappa), and the exact two-sided sign test that says whether one run's wins are more than chance.
import { logFactorial } from './random.ts';

/** Agreement between two raters over the same items. */
export interface Agreement {
  /** Items both rated. */
  n: number;
  /** Share of items with the same label; null when n is 0. */
  percent: number | null;
  /**
   * Cohen's kappa: (po − pe) / (1 − pe). Null when n is 0, or when chance agreement is already 1 (both raters used
   * one and the same label throughout), where kappa is undefined.
   */
  kappa: number | null;
}

/** Percent agreement and Cohen's kappa of label pairs [rater1, rater2]. */
export function agreementStats(pairs: readonly (readonly [string, string])[]): Agreement {
  const n = pairs.length;
  if (n === 0) return { n: 0, percent: null, kappa: null };
  let same = 0;
  const first = new Map<string, number>();
  const second = new Map<string, number>();
  for (const [x, y] of pairs) {
    if (x === y) same++;
    first.set(x, (first.get(x) ?? 0) + 1);
    second.set(y, (second.get(y) ?? 0) + 1);
  }
  const po = same / n;
  let pe = 0;
  for (const [label, c] of first) pe += (c / n) * ((second.get(label) ?? 0) / n);
  const kappa = Math.abs(1 - pe) < 1e-12 ? null : (po - pe) / (1 - pe);
  return { n, percent: po, kappa };
}

/** Landis & Koch's words for a kappa, so a team reads "moderate" rather than a bare number. */
export function describeKappa(kappa: number | null): string {
  if (kappa === null) return 'undefined';
  if (kappa < 0) return 'worse than chance';
  if (kappa <= 0.2) return 'slight';
  if (kappa <= 0.4) return 'fair';
  if (kappa <= 0.6) return 'moderate';
  if (kappa <= 0.8) return 'substantial';
  return 'almost perfect';
}

/** Exact two-sided sign test of `wins` against `losses` (ties left out); 1 when there are no decisive votes. */
export function signTest(wins: number, losses: number): number {
  const n = wins + losses;
  if (n === 0) return 1;
  const k = Math.min(wins, losses);
  let tail = 0;
  const logHalfN = n * Math.log(0.5);
  for (let i = 0; i <= k; i++) {
    tail += Math.exp(logFactorial(n) - logFactorial(i) - logFactorial(n - i) + logHalfN);
  }
  return Math.min(1, 2 * tail);
}
