// Langfuse datasets for runs: a dataset source reading a Langfuse dataset by name, and the publisher that links a
// finished run as a Langfuse dataset run (one trace per item, a dataset run item per trace, the item's scores).
// Every id sent is derived from the run id and the item key, and what was sent is remembered on the run item, so a
// crashed or retried publication sends only what is missing and never creates duplicates.
import { createHash } from 'node:crypto';
import { ArbiterError, type Logger } from '../config/index.ts';
import type {
  DatasetRunItem,
  LangfuseClient,
  LangfuseDatasetItem,
  LangfuseError,
  ScoreInput,
} from '../langfuse/index.ts';
import type { RunRepository } from './repository.ts';
import type { PromptRecord, PromptSource } from './targets.ts';
import type { DatasetItem, Run, RunItemView, RowError } from './types.ts';

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
  const expected = textOf(item.expectedOutput, EXPECTED_FIELDS);
  const metadata = isRecord(item.metadata) ? item.metadata : undefined;
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
 * placeholders are dropped: the target supplies the conversation itself.
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
          : p.prompt.flatMap((m) =>
              typeof m.role === 'string' && typeof m.content === 'string'
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

/** The ingestion event id of an item's trace-create event. */
export function traceEventId(traceId: string): string {
  return hex(`arbiter-trace-event\u0000${traceId}`).slice(0, 32);
}

/** The id of one metric's score on an item's trace: the same id upserts, so republishing never duplicates. */
export function langfuseScoreId(traceId: string, metric: string): string {
  const h = hex(`arbiter-run-score\u0000${traceId}\u0000${metric}`);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Name of the Langfuse dataset run of an Arbiter run (unique per run, readable in the Langfuse UI). */
export function langfuseRunName(run: Pick<Run, '_id' | 'suiteName'>): string {
  return `${run.suiteName} ${run._id}`;
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
  /** Concurrent dataset-run-item and score requests; default 4. */
  concurrency?: number;
}

/** Traces, dataset run items and scores of one item, built from the stored run item (pure, for tests). */
export function itemPublication(run: Run, view: RunItemView) {
  const traceId = langfuseTraceId(run._id, view.doc.itemKey);
  const result = view.result;
  const finished = view.doc.finishedAt ?? run.updatedAt;
  const trace = {
    id: traceId,
    timestamp: finished.toISOString(),
    name: `arbiter ${run.suiteName}`,
    input: view.item.input,
    output: result?.transcript ?? result?.output ?? null,
    metadata: {
      arbiterRunId: run._id,
      itemKey: view.doc.itemKey,
      suite: run.suiteName,
      ...(result ? { stopReason: result.stopReason, turns: result.turns } : {}),
      ...(view.doc.error ? { error: view.doc.error } : {}),
      ...(view.doc.score !== undefined ? { score: view.doc.score } : {}),
    },
    tags: ['arbiter', 'evaluation'],
  };
  const scores: ScoreInput[] = (result?.scores ?? [])
    .filter((s) => !s.error)
    .map((s) => ({
      id: langfuseScoreId(traceId, s.metric),
      traceId,
      name: s.metric,
      value: s.value,
      dataType: 'NUMERIC' as const,
      ...(s.reason ? { comment: s.reason.slice(0, 1000) } : {}),
      metadata: {
        arbiterRunId: run._id,
        ...(s.label ? { label: s.label } : {}),
        ...(s.confidence !== undefined ? { confidence: s.confidence } : {}),
        ...(s.heuristic ? { heuristic: true } : {}),
      },
    }));
  return { traceId, trace, scores };
}

/**
 * Links the finished items of a run whose dataset came from Langfuse as a Langfuse dataset run. Steps per item,
 * each remembered on the run item once done: trace (ingestion, id derived from run + item), dataset run item
 * (Langfuse gives it its own id, so a link whose answer was lost is looked up in the run's items before being sent
 * again), scores (deterministic ids: upserts). Failures are counted and returned, never thrown.
 */
export async function publishRunToLangfuse(
  deps: LangfusePublisherDeps,
  run: Run,
  views: readonly RunItemView[],
): Promise<PublishOutcome> {
  const lf = run.langfuse;
  if (!lf) return { linked: 0, failed: 0 };
  const runName = langfuseRunName(run);
  const todo = views.filter((v) => v.doc.status !== 'pending' && v.item.sourceId && !v.doc.langfuse?.scored);
  const outcome: PublishOutcome = { linked: 0, failed: 0 };
  const fail = (view: RunItemView, what: string, error: LangfuseError) => {
    outcome.failed += 1;
    outcome.lastError = `${what}: ${error.message}`;
    deps.logger.warn({ runId: run._id, item: view.doc.itemKey, code: error.code }, `Langfuse ${what} failed`);
  };
  if (todo.length === 0) return outcome;
  const built = new Map(todo.map((v) => [v.doc.itemKey, itemPublication(run, v)]));

  // 1. Traces, in ingestion batches; the same trace id merges, so a re-sent batch changes nothing.
  const untraced = todo.filter((v) => !v.doc.langfuse?.traced);
  const traceFailed = new Set<string>();
  for (let i = 0; i < untraced.length; i += 50) {
    const chunk = untraced.slice(i, i + 50);
    const events = chunk.map((v) => {
      const p = built.get(v.doc.itemKey)!;
      return { eventId: traceEventId(p.traceId), trace: p.trace, key: v.doc.itemKey };
    });
    const res = await deps.client.ingestTraces(events);
    const failedIds = new Map(res.failed.map((f) => [f.id, f.error]));
    for (const e of events) {
      const err = failedIds.get(e.eventId);
      const view = chunk.find((v) => v.doc.itemKey === e.key)!;
      if (err) {
        traceFailed.add(e.key);
        fail(view, 'trace', err);
      } else
        await deps.repo.markLangfuse(run._id, e.key, { traceId: built.get(e.key)!.traceId, traced: true });
    }
  }

  // Links whose answer was lost (a crash between sending and recording) are looked up before being sent again.
  let existing: Map<string, DatasetRunItem> | undefined;
  const lookup = async (): Promise<Map<string, DatasetRunItem> | undefined> => {
    if (existing || !lf.datasetId) return existing;
    const found = new Map<string, DatasetRunItem>();
    for (let page = 1; page <= 1000; page++) {
      const res = await deps.client.listDatasetRunItems({
        datasetId: lf.datasetId,
        runName,
        page,
        limit: 100,
      });
      // A run that does not exist yet has no items.
      if (!res.ok) {
        if (res.error.code === 'LANGFUSE_NOT_FOUND') break;
        return undefined;
      }
      for (const r of res.value.data) found.set(`${r.datasetItemId}\u0000${r.traceId ?? ''}`, r);
      if (res.value.data.length === 0 || page >= res.value.meta.totalPages) break;
    }
    existing = found;
    return existing;
  };

  // 2 and 3. Link, then scores, item by item with a small concurrency.
  const queue = todo.filter((v) => !traceFailed.has(v.doc.itemKey));
  const worker = async () => {
    for (let view = queue.shift(); view; view = queue.shift()) {
      const key = view.doc.itemKey;
      const p = built.get(key)!;
      const state = view.doc.langfuse ?? {};
      if (!state.linkId) {
        let linkId: string | undefined;
        if (state.linkSent) {
          const known = await lookup();
          linkId = known?.get(`${view.item.sourceId}\u0000${p.traceId}`)?.id;
        }
        if (!linkId) {
          await deps.repo.markLangfuse(run._id, key, { linkSent: true });
          const res = await deps.client.createDatasetRunItem({
            runName,
            ...(lf.runDescription ? { runDescription: lf.runDescription } : {}),
            metadata: {
              arbiterRunId: run._id,
              suite: run.suiteName,
              ...(run.trigger
                ? { prompt: run.trigger.prompt.name, promptVersion: run.trigger.prompt.version }
                : {}),
            },
            datasetItemId: view.item.sourceId!,
            traceId: p.traceId,
          });
          if (!res.ok) {
            fail(view, 'dataset run item', res.error);
            continue;
          }
          linkId = res.value.id;
        }
        await deps.repo.markLangfuse(run._id, key, { linkId });
      }
      const published = await deps.client.publishScores(p.scores, { concurrency: 2 });
      if (published.failed.length > 0) {
        fail(view, 'scores', published.failed[0]!.error);
        continue;
      }
      await deps.repo.markLangfuse(run._id, key, { scored: true });
      outcome.linked += 1;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, deps.concurrency ?? 4) }, worker));
  return outcome;
}
