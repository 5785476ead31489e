import { PROVIDER_TROUBLE_CODES } from '../llm/index.ts';
import type { Completion } from '../llm/index.ts';
import type { Item, Score, ScoreUsage, Turn } from './types.ts';

/** Text the heuristics look at: the output string, or every assistant turn of a transcript. */
export function outputText(item: Pick<Item, 'output'>): string {
  if (typeof item.output === 'string') return item.output;
  return item.output
    .filter((t) => t.role === 'assistant')
    .map((t) => t.content)
    .join('\n\n');
}

/** A transcript as plain text, one `role: content` paragraph per turn, for judge prompts. */
export function renderTranscript(turns: readonly Turn[]): string {
  return turns.map((t) => `${t.role}: ${t.content}`).join('\n\n');
}

/** Clamps to [0, 1]; NaN becomes 0 so a Score is always valid. */
export function clamp01(x: number): number {
  if (Number.isNaN(x)) return 0;
  return Math.min(1, Math.max(0, x));
}

/** A Score meaning "could not score": value 0, label `error`; aggregates must skip it rather than average it. */
export function errorScore(metric: string, error: string, extra: Partial<Score> = {}): Score {
  return { metric, value: 0, label: 'error', reason: `could not score: ${error}`, ...extra, error };
}

/** A binary heuristic Score: 1 with label `pass`, or 0 with label `fail`. */
export function passFail(
  metric: string,
  pass: boolean,
  reason: string,
  details?: Record<string, unknown>,
): Score {
  return {
    metric,
    value: pass ? 1 : 0,
    label: pass ? 'pass' : 'fail',
    reason,
    ...(details ? { details } : {}),
  };
}

/** Message of anything thrown, without a stack. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

// The codes of llm/'s own provider-trouble list, plus a revoked or missing key: both mean the run could not be
// judged (exit 3), never that the answers were bad. Truncated, refused or malformed replies are the metric's.
const INFRA_CODES: ReadonlySet<string> = new Set([...PROVIDER_TROUBLE_CODES, 'LLM_AUTH', 'LLM_NO_KEY']);

/**
 * Whether an error (or an LLM error code) means the provider or the network could not answer (a bad key, an outage,
 * rate limits, a time-out, an open breaker, a dropped connection) rather than a problem with what we asked or with
 * the reply. Errors without a code (fetch's TypeError on a refused connection) count as the network's.
 */
export function isProviderTrouble(err: unknown): boolean {
  const code = typeof err === 'string' ? err : (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return INFRA_CODES.has(code);
  return !(err instanceof RangeError || err instanceof SyntaxError);
}

/** Tokens and cost of a judge's calls as a Score carries them; nothing spent when there was no completion. */
export function usageOf(completion: Completion | undefined): ScoreUsage {
  if (!completion)
    return { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0 };
  return {
    inputTokens: completion.usage.inputTokens,
    outputTokens: completion.usage.outputTokens,
    cacheReadTokens: completion.usage.cacheReadTokens ?? 0,
    cacheWriteTokens: completion.usage.cacheWriteTokens ?? 0,
    // Hand-written fakes may omit priceKnown; only an explicit false means unknown.
    costUsd: completion.priceKnown === false ? null : completion.costUsd,
  };
}

/** Sum of two usages; the cost is unknown (null) when either is. */
export function addScoreUsage(a: ScoreUsage, b: ScoreUsage): ScoreUsage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cacheReadTokens: a.cacheReadTokens + b.cacheReadTokens,
    cacheWriteTokens: a.cacheWriteTokens + b.cacheWriteTokens,
    costUsd: a.costUsd === null || b.costUsd === null ? null : a.costUsd + b.costUsd,
  };
}

/** The `cost` and `usage` fields of a judge's Score: `cost` only when the price is known. */
export function spendFields(usage: ScoreUsage): Pick<Score, 'cost' | 'usage'> {
  return usage.costUsd === null ? { usage } : { cost: usage.costUsd, usage };
}
