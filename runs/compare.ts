// Comparison of two runs of a suite, paired over items by item key: per-metric mean deltas with a seeded paired
// bootstrap 95% interval and a two-sided sign test, plus the items that regressed and improved most. Pure.
import { mulberry32 } from '../config/index.ts';
import type { Run, RunItemView } from './types.ts';

/** Delta of one metric (or `score`, the item score) between run A and run B (B − A). */
export interface MetricDelta {
  metric: string;
  pairs: number;
  meanA: number | null;
  meanB: number | null;
  delta: number | null;
  /** 95% paired bootstrap interval of the mean delta. */
  ci: [number, number] | null;
  /** Items where B is higher / lower / equal. */
  wins: number;
  losses: number;
  ties: number;
  /** Two-sided exact sign-test p-value over non-tied pairs. */
  pValue: number | null;
  /** The interval excludes 0 and p < 0.05. */
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

/** Paired bootstrap 95% interval of the mean of differences. */
export function bootstrapCi(diffs: readonly number[], rounds = 2000, seed = 42): [number, number] | null {
  if (diffs.length === 0) return null;
  const rand = mulberry32(seed);
  const means: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let sum = 0;
    for (let i = 0; i < diffs.length; i++) sum += diffs[Math.floor(rand() * diffs.length)]!;
    means.push(sum / diffs.length);
  }
  means.sort((x, y) => x - y);
  const at = (q: number) => means[Math.min(means.length - 1, Math.max(0, Math.floor(q * means.length)))]!;
  return [at(0.025), at(0.975)];
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

/** Compares run B against run A (B − A). */
export function compareRuns(a: Side, b: Side, options: { top?: number; seed?: number } = {}): RunComparison {
  const top = options.top ?? 5;
  const byKeyA = new Map(a.items.map((v) => [v.doc.itemKey, v]));
  const byKeyB = new Map(b.items.map((v) => [v.doc.itemKey, v]));
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
      itemDeltas.push({ key: k, input: byKeyB.get(k)!.item.input, scoreA: sa, scoreB: sb, delta: sb - sa });
  }
  const metrics = metricNames.map((metric, i): MetricDelta => {
    const pairs = pairsByMetric.get(metric)!;
    const diffs = pairs.map(([x, y]) => y - x);
    const mean = (xs: number[]) => (xs.length ? xs.reduce((s, v) => s + v, 0) / xs.length : null);
    const wins = diffs.filter((d) => d > EPS).length;
    const losses = diffs.filter((d) => d < -EPS).length;
    const ci = bootstrapCi(diffs, 2000, (options.seed ?? 42) + i);
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
