// A LangGraph checkpoint saver over our document-store port, so an item interrupted mid-conversation resumes
// from its last finished step after a crash. Payloads are stored as strings: channel values hold arbitrary keys
// ('.' and '$' included) that stores refuse as field names.
import type { RunnableConfig } from '@langchain/core/runnables';
import { createRequire } from 'node:module';
import type * as LangGraph from '@langchain/langgraph';
import type {
  BaseCheckpointSaver,
  Checkpoint,
  CheckpointMetadata,
  CheckpointTuple,
} from '@langchain/langgraph';
import { z } from 'zod';
import type { Collection, DocumentStore } from '../storage/index.ts';

/** Collection holding checkpoints. */
export const CHECKPOINTS_COLLECTION = 'run_checkpoints';
/** Collection holding pending writes of checkpoints. */
export const CHECKPOINT_WRITES_COLLECTION = 'run_checkpoint_writes';

const CheckpointDocSchema = z.object({
  _id: z.string(),
  threadId: z.string(),
  group: z.string(),
  ns: z.string(),
  checkpointId: z.string(),
  parentId: z.string().optional(),
  type: z.string(),
  checkpoint: z.string(),
  metadataType: z.string(),
  metadata: z.string(),
});
type CheckpointDoc = z.infer<typeof CheckpointDocSchema>;

const WriteDocSchema = z.object({
  _id: z.string(),
  threadId: z.string(),
  group: z.string(),
  ns: z.string(),
  checkpointId: z.string(),
  taskId: z.string(),
  taskPath: z.string(),
  idx: z.number(),
  channel: z.string(),
  type: z.string(),
  value: z.string(),
});
type WriteDoc = z.infer<typeof WriteDocSchema>;

// Mirrors @langchain/langgraph-checkpoint's WRITES_IDX_MAP: special writes get fixed negative slots and overwrite.
const SPECIAL_IDX: Record<string, number> = {
  __error__: -1,
  __scheduled__: -2,
  __interrupt__: -3,
  __resume__: -4,
};

const SEP = '\u241f';

/** Group of a thread id: the part before `::` (a run id), so a whole run's checkpoints go in one delete. */
export function threadGroup(threadId: string): string {
  const i = threadId.indexOf('::');
  return i === -1 ? threadId : threadId.slice(0, i);
}

/** Thrown inside JSON.stringify when a value needs the serde (see jsonText). */
const NOT_PLAIN = new Error('not plain JSON');

/**
 * JSON text of a value made only of plain objects, arrays, strings, numbers, booleans and nulls, or undefined for
 * anything else (undefined, Set, Map, Uint8Array, Error, LangGraph's Send, a cycle…), which the caller hands to the
 * serde. For plain data the serde's `json` output is this same text (it stringifies with a replacer that changes
 * only those values) and `loadsTyped('json', …)` reads it back the same; its `dumpsTyped` costs more (a cycle-
 * detection walk before stringifying, and UTF-8 bytes the store would turn back into a string).
 */
function jsonText(value: unknown): string | undefined {
  try {
    return JSON.stringify(value, (_key, v: unknown) => {
      if (v === undefined) throw NOT_PLAIN;
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
      const proto = Object.getPrototypeOf(v) as unknown;
      if (proto !== Object.prototype && proto !== null) throw NOT_PLAIN;
      return v;
    });
  } catch {
    return undefined;
  }
}

/**
 * Writes documents in batches: one batch in flight at a time; the next takes everything queued meanwhile (and in the
 * same tick). Under load, concurrent items share one store round trip (one file append for the embedded store)
 * instead of one each; alone, a write goes at the next microtask. A caller's promise settles once its documents
 * are written, so a checkpoint is as durable when `put` returns as with a write of its own.
 */
class GroupWriter<T> {
  private queue: { docs: readonly T[]; done: () => void; fail: (err: unknown) => void }[] = [];
  private scheduled = false;

  constructor(
    private readonly writeMany: (docs: T[]) => Promise<unknown>,
    /** Writes one document after its batch failed (a duplicate in it, say); must be idempotent. */
    private readonly writeOne: (doc: T) => Promise<unknown>,
  ) {}

  add(docs: readonly T[]): Promise<void> {
    if (docs.length === 0) return Promise.resolve();
    return new Promise<void>((done, fail) => {
      this.queue.push({ docs, done, fail });
      if (!this.scheduled) {
        this.scheduled = true;
        queueMicrotask(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0);
        try {
          await this.writeMany(batch.flatMap((b) => b.docs));
          for (const b of batch) b.done();
        } catch {
          for (const b of batch) {
            try {
              for (const doc of b.docs) await this.writeOne(doc);
              b.done();
            } catch (err) {
              b.fail(err);
            }
          }
        }
      }
    } finally {
      this.scheduled = false;
    }
  }
}

function encode([type, bytes]: [string, Uint8Array]): { type: string; text: string } {
  // JSON payloads stay readable; anything else is base64 so no byte is lost.
  if (type === 'json') return { type, text: Buffer.from(bytes).toString('utf8') };
  return { type: `${type}:b64`, text: Buffer.from(bytes).toString('base64') };
}

function decodeArgs(type: string, text: string): [string, Uint8Array | string] {
  if (type.endsWith(':b64')) return [type.slice(0, -4), new Uint8Array(Buffer.from(text, 'base64'))];
  return [type, text];
}

function cmpWrites(a: WriteDoc, b: WriteDoc): number {
  if (a.taskPath !== b.taskPath) return a.taskPath < b.taskPath ? -1 : 1;
  if (a.taskId !== b.taskId) return a.taskId < b.taskId ? -1 : 1;
  return a.idx - b.idx;
}

/**
 * The saver class, defined over LangGraph's BaseCheckpointSaver once the first run needs it: LangGraph is required
 * (as CommonJS, like runs/engine.ts, so both share one instance) then, not when the bot or the CLI starts.
 */
function defineSaver(Base: typeof BaseCheckpointSaver) {
  /** A BaseCheckpointSaver backed by the store port (`run_checkpoints`, `run_checkpoint_writes`). */
  return class StoreCheckpointSaver extends Base {
    /** Threads known to have no checkpoint yet (told by the run service), so their first read skips the store. */
    private readonly knownEmpty = new Set<string>();
    private readonly checkpointWriter: GroupWriter<CheckpointDoc>;
    private readonly writeWriter: GroupWriter<WriteDoc>;

    constructor(
      private readonly checkpoints: Collection<CheckpointDoc>,
      private readonly writes: Collection<WriteDoc>,
    ) {
      super();
      // A checkpoint id is new on every put, so a batch is inserted; a put of an existing id (a replay) upserts.
      this.checkpointWriter = new GroupWriter(
        (docs) => this.checkpoints.insertMany(docs),
        ({ _id, ...rest }) => this.checkpoints.updateOne({ _id }, { $set: rest }, { upsert: true }),
      );
      // Regular writes are kept once (a replayed task must not change them).
      this.writeWriter = new GroupWriter(
        (docs) => this.writes.insertMany(docs),
        (doc) => this.writes.insertOne(doc).catch(() => undefined),
      );
    }

    /** A value as stored: plain data as JSON text (see jsonText), anything else through the serde. */
    private async dump(value: unknown): Promise<{ type: string; text: string }> {
      // The saver always uses the default serde (JsonPlusSerializer: super() takes none), whose `json` format this is.
      const text = jsonText(value);
      return text !== undefined ? { type: 'json', text } : encode(await this.serde.dumpsTyped(value));
    }

    private async load(type: string, text: string): Promise<unknown> {
      const [t, data] = decodeArgs(type, text);
      return this.serde.loadsTyped(t, data);
    }

    private async toTuple(doc: CheckpointDoc): Promise<CheckpointTuple> {
      const d = CheckpointDocSchema.parse(doc);
      const writeDocs = (
        await this.writes.find({ threadId: d.threadId, ns: d.ns, checkpointId: d.checkpointId })
      ).map((w) => WriteDocSchema.parse(w));
      writeDocs.sort(cmpWrites);
      const pendingWrites = await Promise.all(
        writeDocs.map(
          async (w) => [w.taskId, w.channel, await this.load(w.type, w.value)] as [string, string, unknown],
        ),
      );
      return {
        config: {
          configurable: { thread_id: d.threadId, checkpoint_ns: d.ns, checkpoint_id: d.checkpointId },
        },
        checkpoint: (await this.load(d.type, d.checkpoint)) as Checkpoint,
        metadata: (await this.load(d.metadataType, d.metadata)) as CheckpointMetadata,
        pendingWrites,
        ...(d.parentId
          ? {
              parentConfig: {
                configurable: { thread_id: d.threadId, checkpoint_ns: d.ns, checkpoint_id: d.parentId },
              },
            }
          : {}),
      };
    }

    async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
      const threadId = config.configurable?.thread_id as string | undefined;
      if (threadId === undefined || this.knownEmpty.has(threadId)) return undefined;
      const ns = (config.configurable?.checkpoint_ns as string | undefined) ?? '';
      const id = config.configurable?.checkpoint_id as string | undefined;
      const doc = id
        ? await this.checkpoints.findOne({ _id: [threadId, ns, id].join(SEP) })
        : await this.checkpoints.findOne({ threadId, ns }, { sort: { checkpointId: -1 } });
      return doc ? this.toTuple(doc) : undefined;
    }

    async *list(
      config: RunnableConfig,
      options?: { limit?: number; before?: RunnableConfig; filter?: Record<string, unknown> },
    ): AsyncGenerator<CheckpointTuple> {
      const q: Record<string, unknown> = {};
      const threadId = config.configurable?.thread_id as string | undefined;
      if (threadId !== undefined) q.threadId = threadId;
      if (config.configurable?.checkpoint_ns !== undefined) q.ns = config.configurable.checkpoint_ns;
      if (config.configurable?.checkpoint_id) q.checkpointId = config.configurable.checkpoint_id;
      const before = options?.before?.configurable?.checkpoint_id as string | undefined;
      if (before) q.checkpointId = { $lt: before };
      const docs = await this.checkpoints.find(q, { sort: { checkpointId: -1 } });
      let left = options?.limit;
      for (const doc of docs) {
        const tuple = await this.toTuple(doc);
        const filter = options?.filter;
        if (
          filter &&
          !Object.entries(filter).every(
            ([k, v]) => (tuple.metadata as Record<string, unknown> | undefined)?.[k] === v,
          )
        )
          continue;
        if (left !== undefined) {
          if (left <= 0) return;
          left -= 1;
        }
        yield tuple;
      }
    }

    async put(
      config: RunnableConfig,
      checkpoint: Checkpoint,
      metadata: CheckpointMetadata,
    ): Promise<RunnableConfig> {
      const threadId = config.configurable?.thread_id as string | undefined;
      if (threadId === undefined) throw new Error('checkpoint put without a thread_id');
      const ns = (config.configurable?.checkpoint_ns as string | undefined) ?? '';
      const parentId = config.configurable?.checkpoint_id as string | undefined;
      const [c, m] = await Promise.all([this.dump(checkpoint), this.dump(metadata)]);
      this.knownEmpty.delete(threadId);
      await this.checkpointWriter.add([
        {
          _id: [threadId, ns, checkpoint.id].join(SEP),
          threadId,
          group: threadGroup(threadId),
          ns,
          checkpointId: checkpoint.id,
          ...(parentId ? { parentId } : {}),
          type: c.type,
          checkpoint: c.text,
          metadataType: m.type,
          metadata: m.text,
        },
      ]);
      return { configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: checkpoint.id } };
    }

    async putWrites(
      config: RunnableConfig,
      writes: [string, unknown][],
      taskId: string,
      taskPath?: string,
    ): Promise<void> {
      const threadId = config.configurable?.thread_id as string | undefined;
      const checkpointId = config.configurable?.checkpoint_id as string | undefined;
      if (threadId === undefined || checkpointId === undefined)
        throw new Error('checkpoint putWrites without a thread_id or checkpoint_id');
      const ns = (config.configurable?.checkpoint_ns as string | undefined) ?? '';
      const docs = await Promise.all(
        writes.map(async ([channel, value], i) => {
          const idx = SPECIAL_IDX[channel] ?? i;
          const v = await this.dump(value);
          const doc: WriteDoc = {
            _id: [threadId, ns, checkpointId, taskId, idx].join(SEP),
            threadId,
            group: threadGroup(threadId),
            ns,
            checkpointId,
            taskId,
            taskPath: taskPath ?? '',
            idx,
            channel,
            type: v.type,
            value: v.text,
          };
          return doc;
        }),
      );
      const regular = docs.filter((d) => d.idx >= 0);
      const special = docs.filter((d) => d.idx < 0);
      // Regular writes are kept once (a replayed task must not change them); special ones overwrite.
      await this.writeWriter.add(regular);
      for (const { _id, ...rest } of special)
        await this.writes.updateOne({ _id }, { $set: rest }, { upsert: true });
    }

    /** Marks threads as having no checkpoint (the caller listed the run's checkpointed threads); a put clears it. */
    assumeEmpty(threadId: string): void {
      this.knownEmpty.add(threadId);
    }

    /** Threads of a group (a run) that have at least one checkpoint: one query instead of a state read per item. */
    async threadsWithCheckpoints(group: string): Promise<Set<string>> {
      const docs = await this.checkpoints.find({ group });
      return new Set(docs.map((d) => d.threadId));
    }

    async deleteThread(threadId: string): Promise<void> {
      this.knownEmpty.delete(threadId);
      await this.checkpoints.deleteMany({ threadId });
      await this.writes.deleteMany({ threadId });
    }

    /** Deletes every checkpoint of a group (a run) once its items are stored. */
    async deleteGroup(group: string): Promise<void> {
      for (const t of this.knownEmpty) if (threadGroup(t) === group) this.knownEmpty.delete(t);
      await this.checkpoints.deleteMany({ group });
      await this.writes.deleteMany({ group });
    }
  };
}

/** A BaseCheckpointSaver backed by the store port (`run_checkpoints`, `run_checkpoint_writes`). */
export type StoreCheckpointSaver = InstanceType<ReturnType<typeof defineSaver>>;
let Saver: ReturnType<typeof defineSaver> | undefined;
const requireCjs = createRequire(import.meta.url);

/** Opens the checkpoint collections (indexes ensured) and returns the saver. */
export async function createStoreCheckpointer(store: DocumentStore): Promise<StoreCheckpointSaver> {
  const checkpoints = await store.collection<CheckpointDoc>(CHECKPOINTS_COLLECTION, [
    // The single-field index is the one the embedded store uses for `threadId` equality (latest checkpoint).
    { fields: { threadId: 1 } },
    // The latest checkpoint of a thread, read from the index instead of sorting every checkpoint of the thread.
    { fields: { threadId: 1, ns: 1, checkpointId: -1 } },
    { fields: { group: 1 } },
  ]);
  const writes = await store.collection<WriteDoc>(CHECKPOINT_WRITES_COLLECTION, [
    { fields: { threadId: 1 } },
    { fields: { group: 1 } },
  ]);
  Saver ??= defineSaver((requireCjs('@langchain/langgraph') as typeof LangGraph).BaseCheckpointSaver);
  return new Saver(checkpoints, writes);
}
