// Shared vocabulary of runs/: dataset items, run documents, run items and summaries, with their zod schemas
// (documents read back from the store are parsed with these).
import { z } from 'zod';
import { ScoreSchema, ToolCallListSchema, TurnSchema } from '../evaluators/index.ts';

/** One dataset row ready to run: what the target gets and what the metrics compare against. */
export const DatasetItemSchema = z.object({
  /** Stable key of the item across runs of a suite (pairs items in comparisons). */
  key: z.string().min(1),
  /** 1-based row (line for JSONL, record for CSV, list entry for YAML). */
  row: z.number().int(),
  input: z.string(),
  expected: z.string().optional(),
  context: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  /** A recorded output (the `recorded` target scores it as is). */
  output: z.union([z.string(), z.array(TurnSchema)]).optional(),
  /** Template variables for `prompt`/`http` targets beyond input/expected/context. */
  variables: z.record(z.string(), z.unknown()).optional(),
  /** Persona name for multi-turn items. */
  persona: z.string().optional(),
  /** Id of the record this item came from in its source (the Langfuse dataset item id). */
  sourceId: z.string().optional(),
  /** Recorded tool calls (the `recorded` target scores them with the output). */
  toolCalls: ToolCallListSchema.optional(),
  /** The tool calls expected of the target. */
  expectedToolCalls: ToolCallListSchema.optional(),
});

/** One dataset row ready to run. */
export type DatasetItem = z.infer<typeof DatasetItemSchema>;

/** A dataset row that could not be used, reported on the run. */
export const RowErrorSchema = z.object({ row: z.number().int(), reason: z.string() });

/** A dataset row that could not be used. */
export type RowError = z.infer<typeof RowErrorSchema>;

/** Lifecycle of a run. */
export const RunStatusSchema = z.enum(['queued', 'running', 'completed', 'failed', 'cancelled']);

/** Lifecycle of a run. */
export type RunStatus = z.infer<typeof RunStatusSchema>;

/** Live progress recorded on the run while it executes. */
export const RunProgressSchema = z.object({
  done: z.number().int(),
  total: z.number().int(),
  errors: z.number().int(),
  /** Mean item score of the finished items; null before the first one. */
  meanScore: z.number().nullable(),
});

/** Live progress of a run. */
export type RunProgress = z.infer<typeof RunProgressSchema>;

/** Mean of one metric over the items that it could score. */
export const MetricSummarySchema = z.object({
  metric: z.string(),
  mean: z.number().nullable(),
  /** Items scored (error scores excluded). */
  count: z.number().int(),
  /** Items where the metric could not score. */
  errors: z.number().int(),
  heuristic: z.boolean(),
});

/** Mean of one metric over a run. */
export type MetricSummary = z.infer<typeof MetricSummarySchema>;

/** Why an item errored: its `target` failed (HTTP agent, time-out), the model `provider` failed (target or judge: a
 * bad key, an outage), the item lacked `input` a metric needs, or a `metric` could not score (e.g. bad judge JSON). */
export const ItemErrorCauseSchema = z.enum(['target', 'provider', 'input', 'metric']);

/** Why an item errored. */
export type ItemErrorCause = z.infer<typeof ItemErrorCauseSchema>;

const InOut = z.object({ input: z.number(), output: z.number() });

/** Tokens by who spent them: the target under test, the user simulator, the judges. */
export const TokenCountsSchema = z.object({ target: InOut, simulator: InOut, judge: InOut });

/** Tokens by who spent them. */
export type TokenCounts = z.infer<typeof TokenCountsSchema>;

/** The summary of a finished run. */
export const RunSummarySchema = z.object({
  total: z.number().int(),
  finished: z.number().int(),
  passed: z.number().int(),
  failed: z.number().int(),
  /** Errored items: the target failed or a metric could not score (neither passed nor failed). */
  errors: z.number().int(),
  /**
   * Items of the run's dataset that were never stored, so never ran (a store that lost them): the run cannot pass
   * with any missing (verdict `errored`, infrastructure). Absent in summaries of older versions.
   */
  missing: z.number().int().default(0),
  /** Errored items by cause. */
  errorCauses: z
    .record(ItemErrorCauseSchema, z.number().int())
    .default({ target: 0, provider: 0, input: 0, metric: 0 }),
  needsReview: z.number().int(),
  /** Mean (weighted) item score over the items that were graded (errored items left out). Null when none was. */
  meanScore: z.number().nullable(),
  /** Passed items over graded items (errored items left out). */
  passRate: z.number().nullable(),
  metrics: z.array(MetricSummarySchema),
  tokens: z.object({ input: z.number(), output: z.number(), byRole: TokenCountsSchema.optional() }),
  costUsd: z.number(),
  /** Some call had no known price: `costUsd` is a lower bound. */
  costUnknown: z.boolean().default(false),
  durationMs: z.number(),
  /** The gate that decides the exit code. */
  gate: z.object({
    kind: z.enum(['mean-score', 'pass-rate']),
    threshold: z.number(),
    value: z.number().nullable(),
    /** Every check of the gate: the mean score and the pass rate (1 unless the suite sets `passRate`). */
    checks: z
      .array(
        z.object({
          kind: z.enum(['mean-score', 'pass-rate']),
          threshold: z.number(),
          value: z.number().nullable(),
          passed: z.boolean(),
        }),
      )
      .optional(),
    /** Errored items tolerated (`--max-errors`). */
    maxErrors: z.number().int().default(0),
    passed: z.boolean(),
    /** `errored`: more errored items than tolerated, whatever the scores say. */
    verdict: z.enum(['passed', 'failed', 'errored']).optional(),
    /** With `errored`: `infrastructure` (target, provider, network: exit 3) or `scoring` (input, metric: exit 1). */
    errorKind: z.enum(['infrastructure', 'scoring']).optional(),
  }),
  /** Keys of items needing human review (first 50). */
  reviewKeys: z.array(z.string()),
  heuristic: z.boolean(),
  /** Items whose output the offline heuristic provider wrote: no language model was called for them. */
  heuristicOutputs: z.number().int().default(0),
});

/** The summary of a finished run. */
export type RunSummary = z.infer<typeof RunSummarySchema>;

/** Langfuse dataset-run linking of a run whose dataset came from Langfuse. */
export const RunLangfuseSchema = z.object({
  datasetName: z.string(),
  datasetId: z.string().optional(),
  runDescription: z.string().optional(),
  /** Items linked (item trace confirmed exported and scores published) and items whose publication failed, last pass. */
  linked: z.number().int().optional(),
  failed: z.number().int().optional(),
  lastError: z.string().optional(),
  publishedAt: z.date().optional(),
});

/** Langfuse dataset-run linking of a run. */
export type RunLangfuse = z.infer<typeof RunLangfuseSchema>;

/** Why a run was started, when not by hand (a prompt change in Langfuse). */
export const RunTriggerSchema = z.object({
  reason: z.enum(['button', 'auto', 'compare']),
  prompt: z.object({ name: z.string(), version: z.number().int() }),
  requestedBy: z.string().optional(),
});

/** Why a run was started. */
export type RunTrigger = z.infer<typeof RunTriggerSchema>;

/** A run as stored in the `runs` collection. */
export const RunSchema = z.object({
  _id: z.string(),
  suiteName: z.string(),
  suiteFile: z.string(),
  /** Hash of the suite file and its dataset: an unfinished run with the same hash is resumed. */
  suiteHash: z.string(),
  /** The resolved suite as JSON text (argument keys may contain '.' or '$', which stores refuse). */
  suiteJson: z.string(),
  status: RunStatusSchema,
  jobId: z.string().optional(),
  idempotencyKey: z.string().optional(),
  options: z.object({
    concurrency: z.number().int(),
    limit: z.number().int().optional(),
    failUnder: z.number().optional(),
    maxErrors: z.number().int().optional(),
  }),
  total: z.number().int(),
  /**
   * False while the run's items are being stored (startRun writes them in batches after the run): such a run is not
   * runnable until every item is there (see the service's restoreItems). Absent on runs stored by older versions.
   */
  itemsStored: z.boolean().optional(),
  /** sha256 of the run's items as read from the dataset: the snapshot a resume re-derives missing items against. */
  itemsDigest: z.string().optional(),
  datasetErrors: z.array(RowErrorSchema),
  /** Load warnings of the suite (an old metric entry form), shown with the run wherever it is reported. */
  warnings: z.array(z.string()).optional(),
  datasetSource: z.string(),
  langfuse: RunLangfuseSchema.optional(),
  trigger: RunTriggerSchema.optional(),
  /** Who started the run from chat and in which channel (App Home shows a run to members of that channel). */
  origin: z.object({ user: z.string().optional(), channel: z.string().optional() }).optional(),
  progress: RunProgressSchema,
  summary: RunSummarySchema.optional(),
  error: z.string().optional(),
  createdAt: z.date(),
  startedAt: z.date().optional(),
  finishedAt: z.date().optional(),
  updatedAt: z.date(),
});

/** A run as stored. */
export type Run = z.infer<typeof RunSchema>;

/** Status of one item of a run. */
export const RunItemStatusSchema = z.enum(['pending', 'done', 'error']);

/** The outcome of one item: output or transcript, scores, cost, latency. */
export const ItemResultSchema = z.object({
  output: z.string().optional(),
  transcript: z.array(TurnSchema).optional(),
  scores: z.array(ScoreSchema),
  stopReason: z.string(),
  turns: z.number().int(),
  goal: z.object({ achieved: z.boolean(), reason: z.string() }).optional(),
  /** The target's reply did not end normally: `truncated` (max tokens), `refused` (safety, refusal), … */
  targetFinish: z.object({ reason: z.string(), detail: z.string().optional() }).optional(),
});

/** The outcome of one item. */
export type ItemResult = z.infer<typeof ItemResultSchema>;

/** One item of a run as stored in `run_items`; stored once (unique on runId + itemKey). */
export const RunItemSchema = z.object({
  _id: z.string(),
  runId: z.string(),
  itemKey: z.string(),
  row: z.number().int(),
  /** Position in the run, so listings follow dataset order. */
  seq: z.number().int(),
  status: RunItemStatusSchema,
  /** The dataset item as JSON text (metadata keys are arbitrary). */
  itemJson: z.string(),
  /** The ItemResult as JSON text once finished (score details are arbitrary). */
  resultJson: z.string().optional(),
  /** Weighted mean of the item's valid metric scores; null when errored or no metric could score. */
  score: z.number().nullable().optional(),
  passed: z.boolean().optional(),
  needsReview: z.boolean().optional(),
  /** Why the item errored: the target's error, or the metrics that could not score and why. */
  error: z.string().optional(),
  errorCause: ItemErrorCauseSchema.optional(),
  /** The output was written by the offline heuristic provider: no language model was called. */
  heuristicOutput: z.boolean().optional(),
  tokens: TokenCountsSchema.optional(),
  costUnknown: z.boolean().optional(),
  latencyMs: z.number().optional(),
  costUsd: z.number().optional(),
  inputTokens: z.number().optional(),
  outputTokens: z.number().optional(),
  finishedAt: z.date().optional(),
  /** What was sent to Langfuse for this item (a retried publication sends only what is missing). */
  langfuse: z
    .object({
      traceId: z.string().optional(),
      traced: z.boolean().optional(),
      scored: z.boolean().optional(),
    })
    .optional(),
});

/** One item of a run as stored. */
export type RunItem = z.infer<typeof RunItemSchema>;

/** A run item with its JSON fields parsed, for reports. */
export interface RunItemView {
  doc: RunItem;
  item: DatasetItem;
  result: ItemResult | undefined;
}
