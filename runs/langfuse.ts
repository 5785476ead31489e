// Langfuse datasets for runs: a dataset source reading a Langfuse dataset by name, the prompt source of `prompt`
// targets, and the linking of a run as a Langfuse experiment run. Langfuse v4 links experiments through OpenTelemetry
// attributes on the item traces (the legacy ingestion API and /api/public/dataset-run-items are gone), so each item
// runs inside a root span carrying the experiment context the Langfuse SDK's experiment runner sets, and its scores
// go to the item's root observation. Every id sent is derived from the run id and the item key, and what was sent is
// remembered on the run item, so a crashed or retried publication sends only what is missing, never duplicates.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as LangfuseCore from '@langfuse/core';
import type * as LangfuseTracingSdk from '@langfuse/tracing';
import type * as OtelApi from '@opentelemetry/api';
import { ArbiterError, type Logger } from '../config/index.ts';
import {
  type LangfuseClient,
  type LangfuseDatasetItem,
  type LangfuseError,
  langfuseScoreValue,
  type ScoreInput,
} from '../langfuse/index.ts';
import {
  ARBITER_SOURCE,
  ARBITER_SPAN_PREFIX,
  ARBITER_TAG,
  type LangfuseTracing,
  RUN_ITEM_SPAN,
} from '../llm/index.ts';
import type { RunRepository } from './repository.ts';
import type { PromptMessage, PromptRecord, PromptSource } from './targets.ts';
import type { DatasetItem, Run, RunItemView, RowError } from './types.ts';
import { type Score, type ToolCall, ToolCallListSchema } from '../evaluators/index.ts';

const requireCjs = createRequire(import.meta.url);
let sdks: { core: typeof LangfuseCore; tracing: typeof LangfuseTracingSdk; api: typeof OtelApi } | undefined;
/**
 * The Langfuse SDK and the OpenTelemetry API, required by the first Langfuse run or publication, not at start. Their
 * state (tracer provider, context manager) lives on globalThis, shared with llm/otel.ts and any ES-module copy.
 */
function sdk() {
  sdks ??= {
    core: requireCjs('@langfuse/core') as typeof LangfuseCore,
    tracing: requireCjs('@langfuse/tracing') as typeof LangfuseTracingSdk,
    api: requireCjs('@opentelemetry/api') as typeof OtelApi,
  };
  return sdks;
}

/** What a dataset source returns: usable items, bad rows, and the Langfuse dataset id when it came from Langfuse. */
export interface DatasetSourceResult {
  items: DatasetItem[];
  errors: RowError[];
  /** The Langfuse dataset id (needed to list a dataset run's items when resuming a publication). */
  datasetId?: string;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const INPUT_FIELDS = ['input', 'question', 'query', 'message', 'prompt', 'text'] as const;
const EXPECTED_FIELDS = ['output', 'expected', 'answer', 'text'] as const;

function withoutKey(value: Record<string, unknown>, key: string): Record<string, unknown> {
  const { [key]: _dropped, ...rest } = value;
  return rest;
}

function textOf(value: unknown, fields: readonly string[]): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (isRecord(value)) {
    for (const f of fields) if (typeof value[f] === 'string') return value[f] as string;
  }
  return JSON.stringify(value);
}

/**
 * Maps one Langfuse dataset item to a run item. Text input is the input; an object input supplies its `input`
 * (or question/query/message/prompt/text) field as the input and all its fields as template variables, so prompt
 * targets render Langfuse-style variable objects. `expectedOutput` becomes `expected` the same way.
 */
export function fromLangfuseItem(
  item: LangfuseDatasetItem,
  row: number,
): { ok: true; item: DatasetItem } | { ok: false; error: RowError } {
  const input = textOf(item.input, INPUT_FIELDS);
  if (input === undefined || input === '')
    return { ok: false, error: { row, reason: `Langfuse item ${item.id}: no input` } };
  const metadata = isRecord(item.metadata) ? item.metadata : undefined;
  // Tool calls: the expected ones in `expectedOutput.toolCalls` (or `metadata.expectedToolCalls`), the recorded
  // ones in `metadata.toolCalls`; each `[{name, args}]`. A list in another shape is a row error naming the field.
  const expectedObject = isRecord(item.expectedOutput) ? item.expectedOutput : undefined;
  const calls: { field: 'toolCalls' | 'expectedToolCalls'; from: string; value: unknown }[] = [];
  if (expectedObject?.toolCalls !== undefined)
    calls.push({
      field: 'expectedToolCalls',
      from: 'expectedOutput.toolCalls',
      value: expectedObject.toolCalls,
    });
  else if (metadata?.expectedToolCalls !== undefined)
    calls.push({
      field: 'expectedToolCalls',
      from: 'metadata.expectedToolCalls',
      value: metadata.expectedToolCalls,
    });
  if (metadata?.toolCalls !== undefined)
    calls.push({ field: 'toolCalls', from: 'metadata.toolCalls', value: metadata.toolCalls });
  const toolCalls: { toolCalls?: ToolCall[]; expectedToolCalls?: ToolCall[] } = {};
  for (const c of calls) {
    const parsed = ToolCallListSchema.safeParse(c.value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const at = (issue?.path ?? [])
        .map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`))
        .join('');
      return {
        ok: false,
        error: {
          row,
          reason: `Langfuse item ${item.id}: ${c.from}${at}: ${issue?.message ?? 'invalid'}; expected a list of tool calls [{name, args}]`,
        },
      };
    }
    toolCalls[c.field] = parsed.data;
  }
  // `expectedOutput: {toolCalls}` alone expects no text; its other fields are the expected text as before.
  const expectedRest =
    expectedObject?.toolCalls !== undefined ? withoutKey(expectedObject, 'toolCalls') : undefined;
  const expected =
    expectedRest === undefined
      ? textOf(item.expectedOutput, EXPECTED_FIELDS)
      : Object.keys(expectedRest).length > 0
        ? textOf(expectedRest, EXPECTED_FIELDS)
        : undefined;
  const context =
    (isRecord(item.input) && typeof item.input.context === 'string' ? item.input.context : undefined) ??
    (typeof metadata?.context === 'string' ? metadata.context : undefined);
  const persona = typeof metadata?.persona === 'string' ? metadata.persona : undefined;
  return {
    ok: true,
    item: {
      key: `lf:${item.id}`,
      row,
      input,
      ...(expected !== undefined ? { expected } : {}),
      ...(context !== undefined ? { context } : {}),
      ...(metadata ? { metadata } : {}),
      ...(isRecord(item.input) ? { variables: item.input } : {}),
      ...(persona ? { persona } : {}),
      ...toolCalls,
      sourceId: item.id,
    },
  };
}

function failure(name: string, error: LangfuseError): ArbiterError {
  const code =
    error.code === 'LANGFUSE_NOT_FOUND'
      ? 'NOT_FOUND'
      : error.code === 'LANGFUSE_UNAUTHORIZED'
        ? 'CONFIG_INVALID'
        : 'INTERNAL';
  return new ArbiterError(code, error.message, {
    ...(code === 'INTERNAL' ? { hint: `Reading Langfuse dataset '${name}' failed; try again later.` } : {}),
  });
}

/** A run dataset source over Langfuse datasets (`dataset: { langfuse: <name> }`); archived items are skipped. */
export function createLangfuseDatasetSource(client: LangfuseClient): {
  getDatasetItems(name: string): Promise<DatasetSourceResult>;
} {
  return {
    async getDatasetItems(name) {
      const read = await client.readDataset(name);
      if (!read.ok) throw failure(name, read.error);
      const items: DatasetItem[] = [];
      const errors: RowError[] = read.value.invalid.map((i) => ({
        row: i.position,
        reason: `Langfuse item: ${i.reason}`,
      }));
      read.value.items.forEach((raw, i) => {
        const mapped = fromLangfuseItem(raw, i + 1);
        if (mapped.ok) items.push(mapped.item);
        else errors.push(mapped.error);
      });
      return { items, errors, datasetId: read.value.dataset.id };
    },
  };
}

/**
 * The `prompt` target's source over Langfuse (`GET /api/public/v2/prompts/{name}` by label or version). Chat
 * placeholders are kept for the target to fill from the item or the conversation.
 */
export function createLangfusePromptSource(client: LangfuseClient): PromptSource {
  return {
    async getPrompt(name, selector) {
      const res = await client.getPrompt(
        name,
        selector.version !== undefined
          ? { version: selector.version }
          : { label: selector.label ?? 'production' },
      );
      if (!res.ok) throw res.error;
      const p = res.value;
      const prompt: PromptRecord['prompt'] =
        p.type === 'text'
          ? p.prompt
          : p.prompt.flatMap((m): PromptMessage[] =>
              m.type === 'placeholder' && typeof m.name === 'string'
                ? [{ type: 'placeholder', name: m.name }]
                : typeof m.role === 'string' && typeof m.content === 'string'
                  ? [{ role: m.role, content: m.content }]
                  : [],
            );
      return { name: p.name, version: p.version, type: p.type, prompt, config: p.config };
    },
  };
}

const hex = (text: string) => createHash('sha256').update(text).digest('hex');

/** The trace id of an item of a run: 32 hex characters (W3C trace id form), the same on every retry. */
export function langfuseTraceId(runId: string, itemKey: string): string {
  return hex(`arbiter-run\u0000${runId}\u0000${itemKey}`).slice(0, 32);
}

/**
 * Trace id and root span id of a run item's trace. Both are derived from the run and the item, so a trace sent again
 * (after an outage, or by `publishToLangfuse`) upserts the same observation instead of adding one.
 */
export function itemSpanIds(runId: string, itemKey: string): { traceId: string; spanId: string } {
  return {
    traceId: langfuseTraceId(runId, itemKey),
    spanId: hex(`arbiter-run-root\u0000${runId}\u0000${itemKey}`).slice(0, 16),
  };
}

/** The experiment id of a run (16 hex characters, as the Langfuse SDK's experiment ids). */
export function langfuseExperimentId(runId: string): string {
  return hex(`arbiter-experiment\u0000${runId}`).slice(0, 16);
}

/** The id of one metric's score on an item's trace: the same id upserts, so republishing never duplicates. */
export function langfuseScoreId(traceId: string, metric: string): string {
  const h = hex(`arbiter-run-score\u0000${traceId}\u0000${metric}`);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Name of the Langfuse experiment run of an Arbiter run (unique per run, readable in the Langfuse UI). */
export function langfuseRunName(run: Pick<Run, '_id' | 'suiteName'>): string {
  return `${run.suiteName} ${run._id}`;
}

/** How a score is typed in Langfuse (defined in langfuse/, shared with monitors). */
export { langfuseScoreValue };

type RunForTrace = Pick<Run, '_id' | 'suiteName' | 'langfuse' | 'trigger'>;

const truncate = (v: string, n: number) => (v.length > n ? `${v.slice(0, n - 1)}…` : v);

/**
 * The experiment context the Langfuse SDK's experiment runner propagates to every span of an item trace (its
 * `propagateAttributes({ _internalExperiment })`): experiment id, name and dataset id, shared by every item; item id
 * and root observation id, shared within one item's trace. v4 links an experiment run to its dataset items by these.
 *   https://langfuse.com/integrations/native/opentelemetry/experiments
 *   https://langfuse.com/faq/all/experiment-runs-not-visible-v4
 */
function experimentAttributes(run: RunForTrace, item: DatasetItem, rootId: string) {
  const lf = run.langfuse;
  if (!lf || !item.sourceId) return undefined;
  return {
    experimentId: langfuseExperimentId(run._id),
    experimentName: langfuseRunName(run),
    experimentMetadata: sdk().core.serializeValue({
      arbiterRunId: run._id,
      suite: run.suiteName,
      ...(run.trigger ? { prompt: run.trigger.prompt.name, promptVersion: run.trigger.prompt.version } : {}),
    }),
    ...(lf.datasetId ? { experimentDatasetId: lf.datasetId } : {}),
    experimentItemId: item.sourceId,
    ...(item.metadata ? { experimentItemMetadata: sdk().core.serializeValue(item.metadata) } : {}),
    experimentItemRootObservationId: rootId,
  };
}

/** Attributes set directly on an item's root span (trace name, tags, markers, expected output, description). */
function rootAttributes(run: RunForTrace, item: DatasetItem): Record<string, string | string[]> {
  const experiment = Boolean(run.langfuse && item.sourceId);
  return {
    [sdk().core.LangfuseOtelSpanAttributes.TRACE_NAME]: `${ARBITER_SPAN_PREFIX}run ${run.suiteName}`,
    [sdk().core.LangfuseOtelSpanAttributes.TRACE_TAGS]: [ARBITER_TAG, 'evaluation'],
    [`${sdk().core.LangfuseOtelSpanAttributes.TRACE_METADATA}.source`]: ARBITER_SOURCE.source,
    [`${sdk().core.LangfuseOtelSpanAttributes.TRACE_METADATA}.arbiterRunId`]: run._id,
    ...(experiment
      ? {
          // As the SDK's runner does: experiment item traces live in their own environment.
          [sdk().core.LangfuseOtelSpanAttributes.ENVIRONMENT]: sdk().core.LANGFUSE_SDK_EXPERIMENT_ENVIRONMENT,
          ...(item.expected !== undefined
            ? { [sdk().core.LangfuseOtelSpanAttributes.EXPERIMENT_ITEM_EXPECTED_OUTPUT]: item.expected }
            : {}),
          ...(run.langfuse?.runDescription
            ? {
                [sdk().core.LangfuseOtelSpanAttributes.EXPERIMENT_DESCRIPTION]: truncate(
                  run.langfuse.runDescription,
                  1000,
                ),
              }
            : {}),
        }
      : {}),
  };
}

/** What an item's root span records when the item is done. */
export interface ItemSpanResult {
  output: unknown;
  metadata?: Record<string, unknown>;
  error?: string;
}

function itemMetadata(run: RunForTrace, item: DatasetItem): Record<string, unknown> {
  return {
    ...ARBITER_SOURCE,
    arbiterRunId: run._id,
    itemKey: item.key,
    suite: run.suiteName,
    ...(run.langfuse && item.sourceId
      ? {
          experiment_name: langfuseRunName(run),
          ...(run.langfuse.datasetId
            ? { dataset_id: run.langfuse.datasetId, dataset_item_id: item.sourceId }
            : {}),
        }
      : {}),
  };
}

/**
 * Runs one item inside its trace: a root span `arbiter.run.item` with the run's deterministic ids, carrying the
 * experiment context, so the target, simulator and judge generations made inside are its children and linked to the
 * Langfuse dataset item. The root records the item's input and, from `done`, its output.
 */
export function traceRunItem<T>(
  tracing: LangfuseTracing,
  run: RunForTrace,
  item: DatasetItem,
  fn: () => Promise<T>,
  done: (result: T) => ItemSpanResult,
): Promise<T> {
  const ids = itemSpanIds(run._id, item.key);
  const experiment = experimentAttributes(run, item, ids.spanId);
  return tracing.withIds(ids, () =>
    sdk().api.context.with(sdk().api.ROOT_CONTEXT, () =>
      sdk().tracing.startActiveObservation(RUN_ITEM_SPAN, async (span) => {
        span.otelSpan.setAttributes(rootAttributes(run, item));
        span.update({ input: item.input, metadata: itemMetadata(run, item) });
        const result = await sdk().tracing.propagateAttributes(
          {
            traceName: `${ARBITER_SPAN_PREFIX}run ${run.suiteName}`,
            ...(experiment ? { _internalExperiment: experiment } : {}),
          },
          fn,
        );
        const r = done(result);
        span.update({
          output: r.output,
          metadata: { ...itemMetadata(run, item), ...r.metadata },
          ...(r.error ? { level: 'ERROR' as const, statusMessage: truncate(r.error, 500) } : {}),
        });
        return result;
      }),
    ),
  );
}

/** Sends a finished item's root span again from what is stored (same ids: Langfuse upserts the observation). */
function resendItemSpan(tracing: LangfuseTracing, run: Run, view: RunItemView): void {
  const ids = itemSpanIds(run._id, view.doc.itemKey);
  const end = view.doc.finishedAt ?? run.updatedAt;
  const start = new Date(end.getTime() - (view.doc.latencyMs ?? 0));
  const experiment = experimentAttributes(run, view.item, ids.spanId);
  tracing.withIds(ids, () =>
    sdk().api.context.with(sdk().api.ROOT_CONTEXT, () =>
      sdk().tracing.startActiveObservation(
        RUN_ITEM_SPAN,
        (span) => {
          span.otelSpan.setAttributes(rootAttributes(run, view.item));
          sdk().tracing.propagateAttributes(
            {
              traceName: `${ARBITER_SPAN_PREFIX}run ${run.suiteName}`,
              ...(experiment ? { _internalExperiment: experiment } : {}),
            },
            () => undefined,
          );
          const r = storedSpanResult(view);
          span.update({
            input: view.item.input,
            output: r.output,
            metadata: { ...itemMetadata(run, view.item), ...r.metadata },
            ...(r.error ? { level: 'ERROR' as const, statusMessage: truncate(r.error, 500) } : {}),
          });
          span.end(end);
        },
        { startTime: start, endOnExit: false },
      ),
    ),
  );
}

function storedSpanResult(view: RunItemView): ItemSpanResult {
  const result = view.result;
  return {
    output: result?.transcript ?? result?.output ?? null,
    metadata: {
      ...(result ? { stopReason: result.stopReason, turns: result.turns } : {}),
      ...(view.doc.score !== undefined ? { score: view.doc.score } : {}),
    },
    ...(view.doc.error ? { error: view.doc.error } : {}),
  };
}

/** What publishing a run to Langfuse recorded. */
export interface PublishOutcome {
  linked: number;
  failed: number;
  lastError?: string;
}

/** What the publisher needs. */
export interface LangfusePublisherDeps {
  client: LangfuseClient;
  repo: RunRepository;
  logger: Logger;
  /** The OpenTelemetry pipeline item traces go through; without it nothing can be linked. */
  tracing?: LangfuseTracing;
  /** Items whose scores are published at once (two requests each); default 8. */
  concurrency?: number;
  /** How long to wait for the export outcome of re-sent item traces, ms; default 5000. */
  confirmMs?: number;
}

/** The scores of one item's metrics as Langfuse scores on the item's root observation (pure, for tests). */
export function itemScoreInputs(
  run: Pick<Run, '_id' | 'langfuse'>,
  itemKey: string,
  experiment: boolean,
  scores: readonly Score[],
): { traceId: string; observationId: string; scores: ScoreInput[] } {
  const { traceId, spanId } = itemSpanIds(run._id, itemKey);
  return {
    traceId,
    observationId: spanId,
    scores: scores
      .filter((s) => !s.error)
      .map((s) => ({
        id: langfuseScoreId(traceId, s.metric),
        traceId,
        observationId: spanId,
        name: s.metric,
        ...langfuseScoreValue(s),
        ...(experiment ? { environment: sdk().core.LANGFUSE_SDK_EXPERIMENT_ENVIRONMENT } : {}),
        ...(s.reason ? { comment: s.reason.slice(0, 1000) } : {}),
        metadata: {
          ...ARBITER_SOURCE,
          arbiterRunId: run._id,
          ...(s.label ? { label: s.label } : {}),
          ...(s.confidence !== undefined ? { confidence: s.confidence } : {}),
          ...(s.heuristic ? { heuristic: true } : {}),
        },
      })),
  };
}

/** The scores of one item, built from the stored run item (pure, for tests): on the item's root observation. */
export function itemPublication(run: Run, view: RunItemView) {
  return itemScoreInputs(
    run,
    view.doc.itemKey,
    Boolean(run.langfuse && view.item.sourceId),
    view.result?.scores ?? [],
  );
}

/** Publishes each finished item's scores while the run goes on, so the end of the run has little left to send. */
export interface ItemScorePublisher {
  /** Queues the scores of a finished item of the Langfuse dataset (never waits, never throws). */
  add(item: Pick<DatasetItem, 'key' | 'sourceId'>, scores: readonly Score[]): void;
  /** Waits for everything queued; what failed is left for `publishRunToLangfuse`. */
  drain(): Promise<void>;
  /** Keys of the items whose scores all went in (recorded on the items by `publishRunToLangfuse`, with the trace). */
  readonly scored: ReadonlySet<string>;
}

/**
 * Scores go to `POST /api/public/scores` as items finish (deterministic ids: the publication at the end, or a later
 * `arbiter runs publish`, upserts the same scores). Which items' scores all went in is kept in memory and stored by
 * the publication at the end of the run in the same write as the trace confirmation (a crash in between only means
 * the same scores are upserted again). A failure is only logged at debug level here: the run's publication retries
 * it and counts it.
 */
export function createItemScorePublisher(
  deps: Pick<LangfusePublisherDeps, 'client' | 'logger' | 'concurrency'>,
  run: Run,
): ItemScorePublisher {
  const queue: { key: string; scores: readonly Score[] }[] = [];
  const scored = new Set<string>();
  const limit = Math.max(1, deps.concurrency ?? 8);
  let active = 0;
  // After a failure Langfuse is left alone until the end of the run, whose publication retries and counts.
  let stopped = false;
  let idle: (() => void) | undefined;
  const pump = () => {
    while (active < limit && queue.length > 0) {
      const next = queue.shift()!;
      active += 1;
      void (async () => {
        try {
          const p = itemScoreInputs(run, next.key, true, next.scores);
          const res = await deps.client.publishScores(p.scores, { concurrency: 2, maxRetries: 0 });
          if (res.failed.length === 0) scored.add(next.key);
          else {
            stopped = true;
            queue.length = 0;
            deps.logger.debug(
              { runId: run._id, item: next.key, error: res.failed[0]!.error.message },
              'Langfuse scores not published yet; the end of the run retries',
            );
          }
        } catch (err) {
          deps.logger.debug({ err, runId: run._id, item: next.key }, 'publishing item scores failed');
        } finally {
          active -= 1;
          pump();
          if (active === 0 && queue.length === 0) idle?.();
        }
      })();
    }
  };
  return {
    scored,
    add(item, scores) {
      if (stopped || !run.langfuse || !item.sourceId) return;
      queue.push({ key: item.key, scores });
      pump();
    },
    drain() {
      if (active === 0 && queue.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        idle = resolve;
      });
    },
  };
}

/**
 * Links the finished items of a run whose dataset came from Langfuse as a Langfuse experiment run. Item traces were
 * sent while the run ran (see traceRunItem); here the pipeline is flushed, an item whose trace was not confirmed
 * sent is sent again from what is stored (same ids, so an upsert), and each item's scores are published on its root
 * observation (`POST /api/public/scores`, deterministic ids: upserts). What is done is remembered on the run item,
 * so publishing again sends only what is missing. Failures are counted and returned, never thrown.
 */
export async function publishRunToLangfuse(
  deps: LangfusePublisherDeps,
  run: Run,
  views: readonly RunItemView[],
  /** Items whose scores went in while the run ran (see createItemScorePublisher). */
  scoredEarly: ReadonlySet<string> = new Set(),
): Promise<PublishOutcome> {
  if (!run.langfuse) return { linked: 0, failed: 0 };
  // Items whose trace or scores are not yet known to be in (scores may have gone out while the run ran).
  const isScored = (v: RunItemView) => Boolean(v.doc.langfuse?.scored) || scoredEarly.has(v.doc.itemKey);
  const todo = views.filter(
    (v) => v.doc.status !== 'pending' && v.item.sourceId && !(v.doc.langfuse?.traced && isScored(v)),
  );
  // One write per item records the confirmed trace and scores sent earlier.
  const traced = (v: RunItemView, traceId: string) =>
    deps.repo.markLangfuse(run._id, v.doc.itemKey, {
      traceId,
      traced: true,
      ...(isScored(v) ? { scored: true } : {}),
    });
  const outcome: PublishOutcome = { linked: 0, failed: 0 };
  if (todo.length === 0) return outcome;
  const tracing = deps.tracing;
  if (!tracing) {
    outcome.failed = todo.length;
    outcome.lastError = 'Langfuse tracing is not set up, so no item trace can be sent';
    return outcome;
  }
  const fail = (view: RunItemView, what: string, message: string) => {
    outcome.failed += 1;
    outcome.lastError = `${what}: ${message}`;
    deps.logger.debug({ runId: run._id, item: view.doc.itemKey }, `Langfuse ${what} failed`);
  };

  // 1. Traces: confirmed by the exporter, or sent again.
  await tracing.flush();
  const untraced = todo.filter((v) => !v.doc.langfuse?.traced);
  const resend: RunItemView[] = [];
  // Items whose trace id was stored when they finished are marked in one write per set of flags.
  const bulk = { scored: [] as string[], unscored: [] as string[] };
  for (const v of untraced) {
    const { traceId } = itemSpanIds(run._id, v.doc.itemKey);
    if (tracing.takeRootOutcome(traceId) !== 'ok') resend.push(v);
    else if (v.doc.langfuse?.traceId !== traceId) await traced(v, traceId);
    else (isScored(v) ? bulk.scored : bulk.unscored).push(v.doc.itemKey);
  }
  await deps.repo.markLangfuseMany(run._id, bulk.scored, { traced: true, scored: true });
  await deps.repo.markLangfuseMany(run._id, bulk.unscored, { traced: true });
  const traceFailed = new Set<string>();
  if (resend.length > 0) {
    for (const v of resend) resendItemSpan(tracing, run, v);
    await tracing.flush();
    const pendingKeys = new Map(resend.map((v) => [itemSpanIds(run._id, v.doc.itemKey).traceId, v]));
    const deadline = Date.now() + (deps.confirmMs ?? 5000);
    // An export in flight when flush started settles a little later.
    for (;;) {
      for (const [traceId, v] of pendingKeys) {
        const o = tracing.takeRootOutcome(traceId);
        if (o === undefined) continue;
        pendingKeys.delete(traceId);
        if (o === 'ok') await traced(v, traceId);
        else {
          traceFailed.add(v.doc.itemKey);
          fail(v, 'trace', tracing.stats().lastError ?? 'export failed');
        }
      }
      if (pendingKeys.size === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    for (const v of pendingKeys.values()) {
      traceFailed.add(v.doc.itemKey);
      fail(v, 'trace', 'the export was not confirmed in time');
    }
  }

  // 2. Scores, item by item with a small concurrency.
  const confirmed = todo.filter((v) => !traceFailed.has(v.doc.itemKey));
  // Scores published while the run ran need nothing more (an item whose trace failed keeps them recorded).
  outcome.linked += confirmed.filter(isScored).length;
  for (const v of todo)
    if (traceFailed.has(v.doc.itemKey) && scoredEarly.has(v.doc.itemKey) && !v.doc.langfuse?.scored)
      await deps.repo.markLangfuse(run._id, v.doc.itemKey, {
        traceId: itemSpanIds(run._id, v.doc.itemKey).traceId,
        scored: true,
      });
  const queue = confirmed.filter((v) => !isScored(v));
  let down: string | undefined;
  const worker = async () => {
    for (let view = queue.shift(); view; view = queue.shift()) {
      if (down) {
        // Langfuse is failing (429/5xx/unreachable after retries): the rest waits for `arbiter runs publish`.
        fail(view, 'scores', down);
        continue;
      }
      const p = itemPublication(run, view);
      const published = await deps.client.publishScores(p.scores, { concurrency: 2 });
      if (published.failed.length > 0) {
        const error = published.failed[0]!.error;
        if (error.retryable) down = error.message;
        fail(view, 'scores', error.message);
        continue;
      }
      await deps.repo.markLangfuse(run._id, view.doc.itemKey, { traceId: p.traceId, scored: true });
      outcome.linked += 1;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, deps.concurrency ?? 8) }, worker));
  return outcome;
}
