// Comparison of two runs of a suite, paired over items by input: per-metric mean deltas with a paired t 95%
// interval and an exact two-sided sign test, plus the items that regressed and improved most. Pure.
//
// Why a t interval: the percentile bootstrap of a mean is too narrow on small samples (with three positive
// deltas every resample is positive, so its interval excludes 0 while the sign test gives p = 0.25), and BCa
// inherits that. Student's t quantile widens the interval as n shrinks, so it stays valid at small n; the
// sign test needs no distributional assumption at all. A change is called only when both agree.
import type { Run, RunItemView } from './types.ts';

/** Delta of one metric (or `score`, the item score) between run A and run B (B − A). */
export interface MetricDelta {
  metric: string;
  pairs: number;
  meanA: number | null;
  meanB: number | null;
  delta: number | null;
  /** Paired t 95% interval of the mean delta; null below 2 pairs. */
  ci: [number, number] | null;
  /** Items where B is higher / lower / equal. */
  wins: number;
  losses: number;
  ties: number;
  /** Two-sided exact sign-test p-value over non-tied pairs. */
  pValue: number | null;
  /** The interval excludes 0 and p < 0.05: a change is called only when both agree. */
  significant: boolean;
}

/** One item's change between the runs. */
export interface ItemDelta {
  key: string;
  input: string;
  scoreA: number;
  scoreB: number;
  delta: number;
}

/** The comparison of two runs. */
export interface RunComparison {
  a: { id: string; suiteName: string; meanScore: number | null; createdAt: Date };
  b: { id: string; suiteName: string; meanScore: number | null; createdAt: Date };
  sameSuite: boolean;
  paired: number;
  onlyInA: number;
  onlyInB: number;
  metrics: MetricDelta[];
  regressions: ItemDelta[];
  improvements: ItemDelta[];
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms: about 15 significant digits). */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let sum = c[0]!;
  for (let i = 1; i < 9; i++) sum += c[i]! / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** Continued fraction of the regularized incomplete beta (modified Lentz). */
function betaFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b). */
function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2)
    ? (front * betaFraction(x, a, b)) / a
    : 1 - (front * betaFraction(1 - x, b, a)) / b;
}

/** P(T ≤ t) for Student's t with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** The p-quantile of Student's t with `df` degrees of freedom (p in (0, 1)), by bisection on the CDF. */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1) || !(df > 0)) throw new RangeError(`studentTQuantile needs 0 < p < 1 and df > 0`);
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  let lo = 0;
  let hi = 1;
  while (studentTCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Paired t interval (default 95%) of the mean of differences: mean ± t·sd/√n; null below 2 pairs. */
export function pairedTInterval(diffs: readonly number[], level = 0.95): [number, number] | null {
  const n = diffs.length;
  if (n < 2) return null;
  const mean = diffs.reduce((s, d) => s + d, 0) / n;
  const variance = diffs.reduce((s, d) => s + (d - mean) ** 2, 0) / (n - 1);
  const half = studentTQuantile(1 - (1 - level) / 2, n - 1) * Math.sqrt(variance / n);
  return [mean - half, mean + half];
}

/** Two-sided exact sign test: P of a split at least this uneven under p = 0.5. */
export function signTest(wins: number, losses: number): number | null {
  const n = wins + losses;
  if (n === 0) return null;
  const k = Math.min(wins, losses);
  // Sum C(n, i) / 2^n for i ≤ k, in log space so large n stays finite.
  let logC = 0;
  let tail = 0;
  for (let i = 0; i <= k; i++) {
    if (i > 0) logC += Math.log(n - i + 1) - Math.log(i);
    tail += Math.exp(logC - n * Math.LN2);
  }
  return Math.min(1, 2 * tail);
}

interface Side {
  run: Run;
  items: readonly RunItemView[];
}

function valuesOf(v: RunItemView): Map<string, number> {
  const out = new Map<string, number>();
  if (v.doc.status === 'pending') return out;
  out.set('score', v.doc.status === 'error' ? 0 : (v.doc.score ?? 0));
  for (const s of v.result?.scores ?? []) if (s.error === undefined) out.set(s.metric, s.value);
  return out;
}

const EPS = 1e-9;

/**
 * What items pair on across runs: the input after Unicode (NFKC), case and whitespace normalization, the
 * same rule reviews pair on, plus the persona of multi-turn items. Not the item key: a key from a dataset `id`
 * or a Langfuse item id names a row, not a question, so two datasets could pair different questions on it.
 */
export function pairingInput(input: string, persona?: string): string {
  const text = input.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
  return persona === undefined ? text : `${text}\u0000${persona}`;
}

/** Items by pairing input; a repeated input pairs occurrence by occurrence, in row order. */
function byPairingInput(items: readonly RunItemView[]): Map<string, RunItemView> {
  const out = new Map<string, RunItemView>();
  const seen = new Map<string, number>();
  const ordered = [...items].sort((x, y) => x.doc.row - y.doc.row || x.doc.seq - y.doc.seq);
  for (const v of ordered) {
    const base = pairingInput(v.item.input, v.item.persona);
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    out.set(`${base}\u0001${n}`, v);
  }
  return out;
}

/** Compares run B against run A (B − A), pairing items by input (`pairingInput`). */
export function compareRuns(a: Side, b: Side, options: { top?: number } = {}): RunComparison {
  const top = options.top ?? 5;
  const byKeyA = byPairingInput(a.items);
  const byKeyB = byPairingInput(b.items);
  const keys = [...byKeyA.keys()].filter((k) => byKeyB.has(k));
  const metricNames: string[] = ['score'];
  for (const v of [...a.items, ...b.items])
    for (const s of v.result?.scores ?? []) if (!metricNames.includes(s.metric)) metricNames.push(s.metric);
  const pairsByMetric = new Map<string, [number, number][]>(metricNames.map((m) => [m, []]));
  const itemDeltas: ItemDelta[] = [];
  for (const k of keys) {
    const va = valuesOf(byKeyA.get(k)!);
    const vb = valuesOf(byKeyB.get(k)!);
    for (const m of metricNames) {
      const x = va.get(m);
      const y = vb.get(m);
      if (x !== undefined && y !== undefined) pairsByMetric.get(m)!.push([x, y]);
    }
    const sa = va.get('score');
    const sb = vb.get('score');
    if (sa !== undefined && sb !== undefined)
      itemDeltas.push({
        key: byKeyB.get(k)!.doc.itemKey,
        input: byKeyB.get(k)!.item.input,
        scoreA: sa,
        scoreB: sb,
        delta: sb - sa,
      });
  }
  const metrics = metricNames.map((metric): MetricDelta => {
    const pairs = pairsByMetric.get(metric)!;
    const diffs = pairs.map(([x, y]) => y - x);
    const mean = (xs: number[]) => (xs.length ? xs.reduce((s, v) => s + v, 0) / xs.length : null);
    const wins = diffs.filter((d) => d > EPS).length;
    const losses = diffs.filter((d) => d < -EPS).length;
    const ci = pairedTInterval(diffs);
    const pValue = signTest(wins, losses);
    return {
      metric,
      pairs: pairs.length,
      meanA: mean(pairs.map((p) => p[0])),
      meanB: mean(pairs.map((p) => p[1])),
      delta: mean(diffs),
      ci,
      wins,
      losses,
      ties: pairs.length - wins - losses,
      pValue,
      significant: ci !== null && pValue !== null && (ci[0] > 0 || ci[1] < 0) && pValue < 0.05,
    };
  });
  const byDelta = [...itemDeltas].sort((x, y) => x.delta - y.delta || (x.key < y.key ? -1 : 1));
  return {
    a: {
      id: a.run._id,
      suiteName: a.run.suiteName,
      meanScore: a.run.summary?.meanScore ?? null,
      createdAt: a.run.createdAt,
    },
    b: {
      id: b.run._id,
      suiteName: b.run.suiteName,
      meanScore: b.run.summary?.meanScore ?? null,
      createdAt: b.run.createdAt,
    },
    sameSuite: a.run.suiteName === b.run.suiteName,
    paired: keys.length,
    onlyInA: byKeyA.size - keys.length,
    onlyInB: byKeyB.size - keys.length,
    metrics,
    regressions: byDelta.filter((d) => d.delta < -EPS).slice(0, top),
    improvements: byDelta
      .filter((d) => d.delta > EPS)
      .reverse()
      .slice(0, top),
  };
}
