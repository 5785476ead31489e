// Pure aggregation: item scores from metric scores, and the run summary (means per metric, pass rate, gate).
import type { Score } from '../evaluators/index.ts';
import type { MetricSummary, RunSummary } from './types.ts';

/** Mean of an item's valid metric scores; null when no metric could score. */
export function itemScore(scores: readonly Score[]): number | null {
  const valid = scores.filter((s) => s.error === undefined);
  if (valid.length === 0) return null;
  return valid.reduce((a, s) => a + s.value, 0) / valid.length;
}

/** An item needs a human when a judge asked for review or no metric could score it. */
export function itemNeedsReview(scores: readonly Score[]): boolean {
  return scores.length > 0 && (scores.some((s) => s.needsReview === true) || itemScore(scores) === null);
}

/** One finished item as the summary sees it. */
export interface SummaryInput {
  key: string;
  status: 'pending' | 'done' | 'error';
  score: number | null;
  passed: boolean;
  needsReview: boolean;
  scores: readonly Score[];
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

/** The gate settings: the suite's threshold and an optional --fail-under override. */
export interface GateSettings {
  score: number;
  passRate?: number;
  failUnder?: number;
}

/** Summarizes finished items; pending ones count in `total` only. */
export function summarize(
  items: readonly SummaryInput[],
  gate: GateSettings,
  durationMs: number,
): RunSummary {
  const finished = items.filter((i) => i.status !== 'pending');
  const errors = finished.filter((i) => i.status === 'error').length;
  const passed = finished.filter((i) => i.passed).length;
  // A failed target call counts as 0: a broken agent must not look better than a weak one.
  const itemScores = finished.map((i) => (i.status === 'error' ? 0 : (i.score ?? 0)));
  const meanScore = itemScores.length ? itemScores.reduce((a, b) => a + b, 0) / itemScores.length : null;
  const passRate = finished.length ? passed / finished.length : null;
  const byMetric = new Map<string, { sum: number; count: number; errors: number; heuristic: boolean }>();
  for (const i of finished) {
    for (const s of i.scores) {
      const m = byMetric.get(s.metric) ?? { sum: 0, count: 0, errors: 0, heuristic: false };
      if (s.error !== undefined) m.errors += 1;
      else {
        m.sum += s.value;
        m.count += 1;
      }
      if (s.heuristic) m.heuristic = true;
      byMetric.set(s.metric, m);
    }
  }
  const metrics: MetricSummary[] = [...byMetric].map(([metric, m]) => ({
    metric,
    mean: m.count ? m.sum / m.count : null,
    count: m.count,
    errors: m.errors,
    heuristic: m.heuristic,
  }));
  const review = finished.filter((i) => i.needsReview);
  const gateResult =
    gate.failUnder !== undefined
      ? { kind: 'mean-score' as const, threshold: gate.failUnder, value: meanScore }
      : gate.passRate !== undefined
        ? { kind: 'pass-rate' as const, threshold: gate.passRate, value: passRate }
        : { kind: 'mean-score' as const, threshold: gate.score, value: meanScore };
  return {
    total: items.length,
    finished: finished.length,
    passed,
    failed: finished.length - passed,
    errors,
    needsReview: review.length,
    meanScore,
    passRate,
    metrics,
    tokens: {
      input: finished.reduce((a, i) => a + i.inputTokens, 0),
      output: finished.reduce((a, i) => a + i.outputTokens, 0),
    },
    costUsd: finished.reduce((a, i) => a + i.costUsd, 0),
    durationMs,
    gate: {
      ...gateResult,
      passed: gateResult.value !== null && gateResult.value + 1e-12 >= gateResult.threshold,
    },
    reviewKeys: review.slice(0, 50).map((i) => i.key),
    heuristic: metrics.some((m) => m.heuristic),
  };
}
