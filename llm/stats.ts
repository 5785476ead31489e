// Usage and cost accounting of the wrapper: counters per model since start, summed into totals on demand.
import type { BreakerState } from './circuit-breaker.ts';
import type { Usage } from './types.ts';

/** Usage and cost of one model (or of all models). */
export interface ModelStats {
  /** `complete` calls answered (from the provider or the cache). */
  calls: number;
  /** Attempts that reached the provider, retries included. */
  providerCalls: number;
  /** Calls answered from the store or by joining an identical call in flight. */
  cacheHits: number;
  retries: number;
  errors: number;
  /** Prompt tokens, prompt-cache reads and writes included. */
  inputTokens: number;
  outputTokens: number;
  /** Part of `inputTokens` read from the provider's prompt cache. */
  cacheReadTokens: number;
  /** Part of `inputTokens` written to the provider's prompt cache. */
  cacheWriteTokens: number;
  costUsd: number;
  /** False if any call of this model had no price in the table (its cost counted as 0: "price unknown"). */
  priceKnown: boolean;
  heuristic: boolean;
}

/** Counters since start, for reports and /healthz. */
export interface LlmStats {
  totals: ModelStats;
  byModel: Record<string, ModelStats>;
  breakers: Record<string, BreakerState>;
}

/** Zeroed counters. */
export function emptyStats(heuristic: boolean): ModelStats {
  return {
    calls: 0,
    providerCalls: 0,
    cacheHits: 0,
    retries: 0,
    errors: 0,
    inputTokens: 0,
    outputTokens: 0,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    costUsd: 0,
    priceKnown: true,
    heuristic,
  };
}

/** Adds what one answered call spent to a model's counters. */
export function addSpend(stats: ModelStats, usage: Usage, costUsd: number, priceKnown: boolean): void {
  stats.inputTokens += usage.inputTokens;
  stats.outputTokens += usage.outputTokens;
  stats.cacheReadTokens += usage.cacheReadTokens ?? 0;
  stats.cacheWriteTokens += usage.cacheWriteTokens ?? 0;
  stats.costUsd += costUsd;
  if (!priceKnown) stats.priceKnown = false;
}

/** The counters of every model seen: `statsFor` hands out a model's live counters, `snapshot` copies and sums. */
export function createStatsBook() {
  const byModel = new Map<string, ModelStats>();
  return {
    statsFor(model: string, heuristic: boolean): ModelStats {
      let s = byModel.get(model);
      if (!s) {
        s = emptyStats(heuristic);
        byModel.set(model, s);
      }
      return s;
    },
    snapshot(breakers: Record<string, BreakerState>): LlmStats {
      const totals = emptyStats(false);
      const out: Record<string, ModelStats> = {};
      for (const [model, s] of byModel) {
        out[model] = { ...s };
        totals.calls += s.calls;
        totals.providerCalls += s.providerCalls;
        totals.cacheHits += s.cacheHits;
        totals.retries += s.retries;
        totals.errors += s.errors;
        totals.inputTokens += s.inputTokens;
        totals.outputTokens += s.outputTokens;
        totals.cacheReadTokens += s.cacheReadTokens;
        totals.cacheWriteTokens += s.cacheWriteTokens;
        totals.costUsd += s.costUsd;
        if (!s.priceKnown) totals.priceKnown = false;
      }
      return { totals, byModel: out, breakers };
    },
  };
}

/** The counters of a wrapper. */
export type StatsBook = ReturnType<typeof createStatsBook>;
