// Pure aggregation: the run summary from finished items (means per metric, pass rate, errored items, the gate) and
// the verdict it leads to. An errored item (its target failed, or a metric could not score it) is neither passed nor
// failed: it is left out of the mean and the pass rate, listed with its reason, and a run with more errored items
// than it tolerates never passes. Provider, target and network trouble is infrastructure (exit 3), never a quality
// verdict.
import type { Score } from '../evaluators/index.ts';
import type { ItemErrorCause, MetricSummary, RunSummary, TokenCounts } from './types.ts';

/** One finished item as the summary sees it. */
export interface SummaryInput {
  key: string;
  status: 'pending' | 'done' | 'error';
  /** Weighted mean of the metrics that scored; null when none did. */
  score: number | null;
  passed: boolean;
  needsReview: boolean;
  scores: readonly Score[];
  /** Why the item errored (with status `error`). */
  errorCause?: ItemErrorCause;
  /** The output was written by the offline heuristic provider, not a language model. */
  heuristicOutput?: boolean;
  inputTokens: number;
  outputTokens: number;
  /** Tokens by who spent them; items stored by older versions have only the totals. */
  tokens?: TokenCounts;
  costUsd: number;
  /** Some call of this item had no known price. */
  costUnknown?: boolean;
}

/** The gate settings: the suite's threshold, an optional --fail-under override and the errored items tolerated. */
export interface GateSettings {
  score: number;
  passRate?: number;
  failUnder?: number;
  /** Errored items tolerated before the run fails (default 0). */
  maxErrors?: number;
}

/** Causes that are infrastructure: the run could not be judged, so it exits 3. */
export const INFRA_CAUSES: ReadonlySet<ItemErrorCause> = new Set(['target', 'provider']);

const zeroTokens = (): TokenCounts => ({
  target: { input: 0, output: 0 },
  simulator: { input: 0, output: 0 },
  judge: { input: 0, output: 0 },
});

/**
 * Summarizes finished items; pending ones count in `total` only. `expected` is the run's item count: items it has
 * beyond those given were never stored, and a run with any missing never passes (verdict `errored`).
 */
export function summarize(
  items: readonly SummaryInput[],
  gate: GateSettings,
  durationMs: number,
  expected = items.length,
): RunSummary {
  const missing = Math.max(0, expected - items.length);
  const finished = items.filter((i) => i.status !== 'pending');
  const errored = finished.filter((i) => i.status === 'error');
  const graded = finished.filter((i) => i.status === 'done');
  const passed = graded.filter((i) => i.passed).length;
  const itemScores = graded.map((i) => i.score).filter((x): x is number => x !== null);
  const meanScore = itemScores.length ? itemScores.reduce((a, b) => a + b, 0) / itemScores.length : null;
  const passRate = graded.length ? passed / graded.length : null;
  const causes: Record<ItemErrorCause, number> = { target: 0, provider: 0, input: 0, metric: 0 };
  for (const i of errored) causes[i.errorCause ?? 'target'] += 1;
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
  const tokens = zeroTokens();
  for (const i of finished) {
    const t = i.tokens ?? { ...zeroTokens(), target: { input: i.inputTokens, output: i.outputTokens } };
    for (const role of ['target', 'simulator', 'judge'] as const) {
      tokens[role].input += t[role].input;
      tokens[role].output += t[role].output;
    }
  }
  const review = finished.filter((i) => i.needsReview);
  // The run gate: the mean item score reaches `score` (or --fail-under) AND the pass rate reaches `passRate`; with
  // no `passRate`, every graded item must pass (a failing gating metric fails its item, and a failed item fails the
  // run, as promptfoo and DeepEval do), so a run never passes while an item leaks PII or fails a check.
  const meanCheck = {
    kind: 'mean-score' as const,
    threshold: gate.failUnder ?? gate.score,
    value: meanScore,
  };
  const rateCheck = { kind: 'pass-rate' as const, threshold: gate.passRate ?? 1, value: passRate };
  const checks = [meanCheck, rateCheck].map((c) => ({
    ...c,
    passed: c.value !== null && c.value + 1e-12 >= c.threshold,
  }));
  const qualityPassed = checks.every((c) => c.passed);
  const failing = checks.find((c) => !c.passed);
  const quality =
    failing ?? (gate.passRate !== undefined && gate.failUnder === undefined ? checks[1]! : checks[0]!);
  const maxErrors = gate.maxErrors ?? 0;
  // Missing items are the store's failure, not a quality verdict: the run is errored as infrastructure (exit 3).
  const tooManyErrors = errored.length > maxErrors || missing > 0;
  const infra = missing > 0 || errored.some((i) => INFRA_CAUSES.has(i.errorCause ?? 'target'));
  return {
    total: items.length + missing,
    missing,
    finished: finished.length,
    passed,
    failed: graded.length - passed,
    errors: errored.length,
    errorCauses: causes,
    needsReview: review.length,
    meanScore,
    passRate,
    metrics,
    tokens: {
      input: tokens.target.input + tokens.simulator.input + tokens.judge.input,
      output: tokens.target.output + tokens.simulator.output + tokens.judge.output,
      byRole: tokens,
    },
    costUsd: finished.reduce((a, i) => a + i.costUsd, 0),
    costUnknown: finished.some((i) => i.costUnknown === true),
    durationMs,
    gate: {
      kind: quality.kind,
      threshold: quality.threshold,
      value: quality.value,
      checks,
      maxErrors,
      passed: qualityPassed && !tooManyErrors,
      verdict: tooManyErrors ? 'errored' : qualityPassed ? 'passed' : 'failed',
      ...(tooManyErrors ? { errorKind: infra ? ('infrastructure' as const) : ('scoring' as const) } : {}),
    },
    reviewKeys: review.slice(0, 50).map((i) => i.key),
    heuristic: metrics.some((m) => m.heuristic),
    heuristicOutputs: finished.filter((i) => i.heuristicOutput === true).length,
  };
}

/** The exit code a finished run's summary leads to: 0 passed, 1 below the threshold, 3 infrastructure. */
export function summaryExitCode(summary: RunSummary): 0 | 1 | 3 {
  const g = summary.gate;
  if (g.verdict === 'errored') return g.errorKind === 'scoring' ? 1 : 3;
  return g.passed ? 0 : 1;
}

/** What a run came to, in one word: its gate's verdict once completed, else its status (`cancelled`, `failed`, …). */
export function runOutcome(run: {
  status: string;
  summary?: RunSummary | undefined;
}): 'passed' | 'failed' | 'errored' | 'queued' | 'running' | 'cancelled' {
  if (run.status === 'completed' && run.summary)
    return run.summary.gate.verdict ?? (run.summary.gate.passed ? 'passed' : 'failed');
  // A run that ended without completing (its job failed) is reported by its status, never as a verdict.
  return run.status as 'queued' | 'running' | 'cancelled' | 'failed';
}
