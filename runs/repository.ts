// Repositories over the store port: `runs` and `run_items`. An item is stored exactly once: its document exists
// from the start as `pending` (unique on runId + itemKey) and only a pending item can be finished.
import { ArbiterError } from '../config/index.ts';
import {
  type Collection,
  type DocumentStore,
  type Filter,
  parseStored,
  parseStoredJson,
  type Update,
} from '../storage/index.ts';
import {
  type DatasetItem,
  DatasetItemSchema,
  type ItemResult,
  ItemResultSchema,
  type Run,
  type RunItem,
  RunItemSchema,
  type RunItemView,
  RunSchema,
} from './types.ts';

/** Runs and their items in the store. */
export interface RunRepository {
  insertRun(run: Run): Promise<void>;
  getRun(id: string): Promise<Run | null>;
  findRun(filter: Filter): Promise<Run | null>;
  listRuns(opts?: { limit?: number; suiteName?: string }): Promise<Run[]>;
  /** Runs that finished in `[from, to)`, oldest first (digests). */
  finishedBetween(from: Date, to: Date): Promise<Run[]>;
  updateRun(id: string, update: Update, filter?: Filter): Promise<boolean>;
  /** Stores the items of a new run as pending; items already there (a retried start) are kept. */
  insertItems(runId: string, items: readonly DatasetItem[]): Promise<void>;
  pendingItems(runId: string): Promise<{ doc: RunItem; item: DatasetItem }[]>;
  /** Marks a pending item finished; false when it was already finished (never counted twice). */
  finishItem(runId: string, itemKey: string, fields: FinishFields): Promise<boolean>;
  items(runId: string, opts?: { status?: RunItem['status'] }): Promise<RunItemView[]>;
  countItems(runId: string, filter?: Filter): Promise<number>;
  /** Puts a run's errored items back to pending (their results cleared), for `--retry-errors`; returns how many. */
  resetErroredItems(runId: string): Promise<{ keys: string[] }>;
  /** Records what was sent to Langfuse for an item. */
  markLangfuse(runId: string, itemKey: string, fields: NonNullable<RunItem['langfuse']>): Promise<void>;
  /** Records the same flags for many items in one write (their trace ids are already stored). */
  markLangfuseMany(
    runId: string,
    itemKeys: readonly string[],
    fields: Pick<NonNullable<RunItem['langfuse']>, 'traced' | 'scored'>,
  ): Promise<void>;
}

/** What finishing an item records. */
export interface FinishFields {
  status: 'done' | 'error';
  result: ItemResult;
  score: number | null;
  passed: boolean;
  needsReview: boolean;
  error?: string;
  errorCause?: RunItem['errorCause'];
  heuristicOutput?: boolean;
  latencyMs: number;
  costUsd: number;
  costUnknown?: boolean;
  inputTokens: number;
  outputTokens: number;
  tokens?: RunItem['tokens'];
  finishedAt: Date;
  /** The item's Langfuse trace id, when it ran inside its item trace (stored as `langfuse.traceId`). */
  traceId?: string;
}

/** Opens `runs` and `run_items` (indexes ensured). */
export async function createRunRepository(store: DocumentStore): Promise<RunRepository> {
  const runs: Collection<Run> = await store.collection<Run>('runs', [
    { fields: { createdAt: -1 } },
    { fields: { finishedAt: 1 } },
    { fields: { suiteHash: 1 } },
    // `runs list --suite`: the newest runs of one suite without walking every run.
    { fields: { suiteName: 1, createdAt: -1 } },
    { fields: { idempotencyKey: 1 }, unique: true, sparse: true },
  ]);
  const items: Collection<RunItem> = await store.collection<RunItem>('run_items', [
    { fields: { runId: 1, itemKey: 1 }, unique: true },
    { fields: { runId: 1 } },
    // A run's items in order (the report page, `runs show`) and its pending items in order (resume), read from
    // the index instead of sorting 10,000 matches.
    { fields: { runId: 1, seq: 1 } },
    { fields: { runId: 1, status: 1, seq: 1 } },
  ]);
  const itemId = (runId: string, key: string) => `${runId}::${key}`;
  const view = (doc: unknown): RunItemView => {
    const d = parseStored(RunItemSchema, doc, { collection: 'run_items' });
    return {
      doc: d,
      item: parseStoredJson(DatasetItemSchema, d.itemJson, {
        collection: 'run_items',
        id: d._id,
        field: 'itemJson',
      }),
      result: d.resultJson
        ? parseStoredJson(ItemResultSchema, d.resultJson, {
            collection: 'run_items',
            id: d._id,
            field: 'resultJson',
          })
        : undefined,
    };
  };

  return {
    async insertRun(run) {
      await runs.insertOne(run);
    },
    async getRun(id) {
      const doc = await runs.findOne({ _id: id });
      return doc ? parseStored(RunSchema, doc, { collection: 'runs' }) : null;
    },
    async findRun(filter) {
      const doc = await runs.findOne(filter, { sort: { createdAt: -1 } });
      return doc ? parseStored(RunSchema, doc, { collection: 'runs' }) : null;
    },
    async listRuns(opts = {}) {
      const docs = await runs.find(opts.suiteName ? { suiteName: opts.suiteName } : {}, {
        sort: { createdAt: -1 },
        limit: opts.limit ?? 20,
      });
      return docs.map((d) => parseStored(RunSchema, d, { collection: 'runs' }));
    },
    async finishedBetween(from, to) {
      const docs = await runs.find({ finishedAt: { $gte: from, $lt: to } }, { sort: { finishedAt: 1 } });
      return docs.map((d) => parseStored(RunSchema, d, { collection: 'runs' }));
    },
    async updateRun(id, update, filter = {}) {
      const res = await runs.updateOne({ ...filter, _id: id }, update);
      return res.matched === 1;
    },
    async insertItems(runId, list) {
      const docs: RunItem[] = list.map((item, seq) => ({
        _id: itemId(runId, item.key),
        runId,
        itemKey: item.key,
        row: item.row,
        seq,
        status: 'pending',
        itemJson: JSON.stringify(item),
      }));
      for (let i = 0; i < docs.length; i += 500) {
        const batch = docs.slice(i, i + 500);
        try {
          await items.insertMany(batch);
        } catch (err) {
          if (!(err instanceof ArbiterError && err.code === 'STORE_DUPLICATE_KEY')) throw err;
          for (const d of batch)
            await items.updateOne({ _id: d._id }, { $setOnInsert: { ...d } }, { upsert: true });
        }
      }
    },
    async pendingItems(runId) {
      const docs = await items.find({ runId, status: 'pending' }, { sort: { seq: 1 } });
      return docs.map((d) => {
        const doc = parseStored(RunItemSchema, d, { collection: 'run_items' });
        const at = { collection: 'run_items', id: doc._id, field: 'itemJson' };
        return { doc, item: parseStoredJson(DatasetItemSchema, doc.itemJson, at) };
      });
    },
    async finishItem(runId, itemKey, f) {
      const { result, error, traceId, ...rest } = f;
      const res = await items.updateOne(
        { _id: itemId(runId, itemKey), status: 'pending' },
        {
          $set: {
            ...rest,
            ...(error === undefined ? {} : { error }),
            ...(traceId === undefined ? {} : { 'langfuse.traceId': traceId }),
            resultJson: JSON.stringify(result),
          },
        },
      );
      return res.matched === 1;
    },
    async resetErroredItems(runId) {
      const errored = await items.find({ runId, status: 'error' });
      const keys = errored.map((d) => d.itemKey);
      if (keys.length === 0) return { keys };
      await items.updateMany(
        { runId, status: 'error' },
        {
          $set: { status: 'pending' },
          $unset: {
            resultJson: '',
            score: '',
            passed: '',
            needsReview: '',
            error: '',
            errorCause: '',
            heuristicOutput: '',
            latencyMs: '',
            costUsd: '',
            costUnknown: '',
            inputTokens: '',
            outputTokens: '',
            tokens: '',
            finishedAt: '',
            langfuse: '',
          },
        },
      );
      return { keys };
    },
    async items(runId, opts = {}) {
      const docs = await items.find(
        { runId, ...(opts.status ? { status: opts.status } : {}) },
        { sort: { seq: 1 } },
      );
      return docs.map(view);
    },
    async countItems(runId, filter = {}) {
      return items.count({ ...filter, runId });
    },
    async markLangfuse(runId, itemKey, fields) {
      const set: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(fields)) if (v !== undefined) set[`langfuse.${k}`] = v;
      await items.updateOne({ _id: itemId(runId, itemKey) }, { $set: set });
    },
    async markLangfuseMany(runId, itemKeys, fields) {
      const set: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(fields)) if (v !== undefined) set[`langfuse.${k}`] = v;
      if (itemKeys.length === 0 || Object.keys(set).length === 0) return;
      for (let i = 0; i < itemKeys.length; i += 500) {
        const ids = itemKeys.slice(i, i + 500).map((k) => itemId(runId, k));
        await items.updateMany({ _id: { $in: ids } }, { $set: set });
      }
    },
  };
}
