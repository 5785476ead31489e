import { z } from 'zod';
import type { Logger } from '../config/index.ts';
import type { Llm } from '../llm/index.ts';

/** One turn of a conversation being judged (Slack threads, simulated users). */
export const TurnSchema = z.object({
  role: z.enum(['user', 'assistant', 'system', 'tool']),
  content: z.string(),
});

/** One turn of a conversation being judged. */
export type Turn = z.infer<typeof TurnSchema>;

/** Where an item came from (a dataset row, a Langfuse observation, a Slack message), so scores can link back. */
export const SourceRefSchema = z.object({
  source: z.string().min(1),
  id: z.string().min(1),
  url: z.string().optional(),
});

/** Where an item came from. */
export type SourceRef = z.infer<typeof SourceRefSchema>;

/**
 * One tool call: the tool's name and its arguments. The one shape for the calls a target made (`toolCalls`) and the
 * calls expected of it (`expectedToolCalls`), in datasets, monitor extractors and on items.
 */
export const ToolCallSchema = z
  .object({
    name: z.string().min(1).describe('the tool (function) name'),
    args: z
      .record(z.string(), z.unknown())
      .default({})
      .describe('the arguments as a JSON object (default {})'),
  })
  .describe('a tool call: `{name, args}`');

/** One tool call: name and arguments. */
export type ToolCall = z.infer<typeof ToolCallSchema>;

/** A list of tool calls in the order they were made. */
export const ToolCallListSchema = z.array(ToolCallSchema).describe('tool calls in order: `[{name, args}]`');

/** What the target spent on one item, as recorded by the run (model/prompt targets). */
export const ItemUsageSchema = z.object({
  inputTokens: z.number().int().nonnegative().describe('prompt tokens the target used'),
  outputTokens: z.number().int().nonnegative().describe('tokens the target generated'),
  /** USD; absent when the price is unknown. */
  costUsd: z.number().nonnegative().optional().describe('USD the target cost (absent: price unknown)'),
});

/** What the target spent on one item. */
export type ItemUsage = z.infer<typeof ItemUsageSchema>;

/** The thing a metric scores: an input, the output under test and what we know around it. */
export const ItemSchema = z.object({
  input: z.string(),
  output: z.union([z.string(), z.array(TurnSchema)]),
  expected: z.string().optional(),
  context: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  sourceRef: SourceRefSchema.optional(),
  latencyMs: z.number().nonnegative().optional(),
  /** How the output ended when not normally: `refused` by the provider (safety, refusal), `truncated`, … */
  finish: z.string().optional(),
  /** The tool calls the target made, in order. */
  toolCalls: ToolCallListSchema.optional(),
  /** The tool calls expected of the target (for `tool-correctness`, `trajectory`). */
  expectedToolCalls: ToolCallListSchema.optional(),
  /** Tokens and cost the target spent (for `cost`, `tokens`). */
  usage: ItemUsageSchema.optional(),
});

/** The thing a metric scores; `output` is a string or a transcript of turns. */
export type Item = z.infer<typeof ItemSchema>;

/** The rubric a judge used, stored with each score so a changed rubric never mixes with old results. */
export const RubricRefSchema = z.object({ text: z.string(), version: z.string() });

/** The rubric a judge used and its content hash. */
export type RubricRef = z.infer<typeof RubricRefSchema>;

/**
 * Why a metric could not score: `provider` (the model provider or the network failed: a bad key, an outage, a
 * time-out), `input` (the item lacks what the metric needs, e.g. no reference answer) or `metric` (the metric's own
 * failure, e.g. judge JSON that does not parse). Provider trouble is infrastructure (exit 3), never a quality verdict.
 */
export const ScoreErrorCauseSchema = z.enum(['provider', 'input', 'metric']);

/** Why a metric could not score. */
export type ScoreErrorCause = z.infer<typeof ScoreErrorCauseSchema>;
/** Tokens and cost a judge spent on one Score (every call it made, repairs and retries included). */
export const ScoreUsageSchema = z.object({
  /** Prompt tokens, prompt-cache reads and writes included. */
  inputTokens: z.number().int().nonnegative(),
  /** Generated tokens, thinking included. */
  outputTokens: z.number().int().nonnegative(),
  /** Part of `inputTokens` read from the provider's prompt cache. */
  cacheReadTokens: z.number().int().nonnegative(),
  /** Part of `inputTokens` written to the provider's prompt cache. */
  cacheWriteTokens: z.number().int().nonnegative(),
  /** USD; null when a model called has no known price: show "price unknown", never $0. */
  costUsd: z.number().nonnegative().nullable(),
});

/** Tokens and cost a judge spent on one Score. */
export type ScoreUsage = z.infer<typeof ScoreUsageSchema>;

/** The result of one metric on one item; `error` set means "could not score", not "scored 0". */
export const ScoreSchema = z.object({
  metric: z.string().min(1),
  value: z.number().min(0).max(1),
  label: z.string().optional(),
  reason: z.string(),
  confidence: z.number().min(0).max(1).optional(),
  /** USD spent producing this score (judges only); absent when a price is unknown (see `usage.costUsd`). */
  cost: z.number().nonnegative().optional(),
  /** Tokens and cost of the model calls behind this score (judges only, errors included). */
  usage: ScoreUsageSchema.optional(),
  error: z.string().optional(),
  /** Why it could not score (with `error`); absent means `metric`. */
  errorCause: ScoreErrorCauseSchema.optional(),
  needsReview: z.boolean().optional(),
  rubric: RubricRefSchema.optional(),
  /** True when the offline heuristic provider produced it: never present it as an LLM verdict. */
  heuristic: z.boolean().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});

/** The result of one metric on one item. */
export type Score = z.infer<typeof ScoreSchema>;

/** Per-call context of a metric; judges stop early when the signal is aborted. */
export interface ScoreContext {
  signal?: AbortSignal;
}

/** A configured metric, ready to score items; `score` resolves to a Score even on failure. */
export interface Metric {
  /** Name written on every Score (a judge may be renamed, e.g. `helpfulness`). */
  readonly name: string;
  readonly kind: MetricKind;
  score(item: Item, ctx?: ScoreContext): Promise<Score>;
}

/** Heuristics are pure functions of the item; judges call a model. */
export type MetricKind = 'heuristic' | 'judge';

/** What a metric may need from the outside; judges need `llm` and a judge model. */
export interface MetricDeps {
  llm?: Llm;
  /** Default judge model as `provider:model`; a metric's `model` argument overrides it. */
  judgeModel?: string;
  logger?: Logger;
  /** Directory files named by metric arguments are relative to (the suite's or monitor's folder); cwd when unset. */
  baseDir?: string;
}

/** What a judge needs: the Llm wrapper and the model to call. */
export interface JudgeDeps {
  llm: Llm;
  judgeModel: string;
  logger?: Logger;
}

/** One registry entry: documentation, argument schema, an example and a factory. */
export interface MetricDefinition<S extends z.ZodType = z.ZodType> {
  /** One line, shown by `/arbiter help metrics`. */
  description: string;
  kind: MetricKind;
  args: S;
  /** Arguments that construct this metric; used by the help text and the registry test. */
  example: z.input<S>;
  // Method syntax on purpose: the registry holds definitions with different argument types.
  create(args: z.output<S>, deps: MetricDeps): Metric;
}

/** Declares a registry entry; the helper only exists so `create` gets its argument type from `args`. */
export function defineMetric<S extends z.ZodType>(def: MetricDefinition<S>): MetricDefinition<S> {
  return def;
}
