import { closeSync, existsSync, fstatSync, ftruncateSync, mkdirSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type FileHandle, open as openFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type * as NedbTypes from '@seald-io/nedb';
import { ArbiterError, createSilentLogger, type Ids, type Logger, systemIds } from '../config/index.ts';
import { acquireDirLock, type DirLock } from './lock.ts';
import type {
  Collection,
  Doc,
  DocumentStore,
  Filter,
  FindOptions,
  IndexSpec,
  Sort,
  Update,
  UpdateResult,
} from './port.ts';
import { assertCollectionName, createMutex, duplicateKeyError, upsertSeed, withUpsertId } from './shared.ts';

// nedb's own modifier engine, so an upsert applies operators exactly as nedb's update does.
const requireCjs = createRequire(import.meta.url);
// The package is CommonJS with `module.exports = Datastore` while its typings declare a default export.
type Datastore<T> = NedbTypes.default<T>;
const Datastore = requireCjs('@seald-io/nedb') as new <T>(options: {
  filename: string;
  autoload?: boolean;
}) => Datastore<T>;
const nedbModel = requireCjs('@seald-io/nedb/lib/model.js') as {
  modify(doc: object, update: object): Record<string, unknown>;
  deepCopy<T>(v: T): T;
  match(doc: object, query: object): boolean;
  serialize(doc: object): string;
};

/** The part of nedb's persistence the appender replaces. */
interface NedbPersistence {
  filename: string;
  modes: { fileMode: number };
  afterSerialization(s: string): Promise<string>;
  persistNewStateAsync(newDocs: object[]): Promise<void>;
}

/**
 * Appends a collection's new lines through one file handle kept open, where nedb opens, writes and closes the file
 * for every write (three round trips to the thread pool and a FileHandle per write: about 50 µs of event-loop time
 * and 100 µs of latency each). The bytes and their order are nedb's, and so is the durability: no fsync either
 * way. Compaction replaces the file (write a copy, rename it over), so the handle is dropped when nedb reports
 * `compaction.done` and the next write opens the new file; nedb runs writes and compactions one at a time, so no
 * write is in flight on the old file then. Returns a function that closes the handle.
 */
function appendThroughOpenHandle(db: Datastore<Doc>): () => Promise<void> {
  const persistence = (db as unknown as { persistence: NedbPersistence }).persistence;
  let handle: Promise<FileHandle> | undefined;
  const drop = async () => {
    const h = handle;
    handle = undefined;
    if (h) await (await h.catch(() => undefined))?.close().catch(() => undefined);
  };
  (db as unknown as { on(event: string, fn: () => void): void }).on('compaction.done', () => void drop());
  persistence.persistNewStateAsync = async (newDocs) => {
    let text = '';
    for (const doc of newDocs) text += `${await persistence.afterSerialization(nedbModel.serialize(doc))}\n`;
    if (text.length === 0) return;
    handle ??= openFile(persistence.filename, 'a', persistence.modes.fileMode);
    try {
      await (await handle).appendFile(text, 'utf8');
    } catch (err) {
      // A failed write (disk full, file removed) may have left the handle unusable: the next write reopens.
      await drop();
      throw err;
    }
  };
  return drop;
}

/** The part of nedb's index internals the first-by-sort fast path reads: docs in key order within bounds. */
interface NedbIndex {
  getBetweenBounds(query: Record<string, unknown>): object[];
}

const RANGE_OPS = new Set(['$lt', '$lte', '$gt', '$gte']);

function isRangeCondition(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || v instanceof Date || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  return keys.length > 0 && keys.every((k) => RANGE_OPS.has(k));
}

/** Options of the embedded store. */
export interface EmbeddedStoreOptions {
  dir: string;
  logger?: Logger;
  ids?: Ids;
  /** Compaction rewrites each data file without superseded lines; 0 disables the timer. */
  autocompactMs?: number;
}

type NedbError = Error & { errorType?: string; key?: unknown };

function isUniqueViolation(err: unknown): err is NedbError {
  return typeof err === 'object' && err !== null && (err as NedbError).errorType === 'uniqueViolated';
}

function mapError(collection: string, err: unknown): unknown {
  if (isUniqueViolation(err)) return duplicateKeyError(collection, err.key, err);
  if (
    err instanceof Error &&
    /Field names cannot|cannot begin with the \$ character|cannot contain a \./.test(err.message)
  ) {
    return new ArbiterError(
      'STORE_INVALID_DOCUMENT',
      `Cannot store document in ${collection}: ${err.message}`,
      {
        hint: 'Store external JSON whose keys may contain "." or "$" as a string.',
        cause: err,
      },
    );
  }
  return err;
}

/**
 * A crash can tear the last line nedb was appending; nedb would count it as corruption (and refuse to load a
 * small file). Dropping the unterminated tail loses exactly the write that was in flight, nothing earlier.
 */
export function repairTornTail(file: string): number {
  if (!existsSync(file)) return 0;
  const fd = openSync(file, 'r+');
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return 0;
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    if (last[0] === 0x0a) return 0;
    const chunk = Buffer.alloc(64 * 1024);
    let end = size;
    while (end > 0) {
      const start = Math.max(0, end - chunk.length);
      const n = readSync(fd, chunk, 0, end - start, start);
      const idx = chunk.subarray(0, n).lastIndexOf(0x0a);
      if (idx >= 0) {
        ftruncateSync(fd, start + idx + 1);
        return size - (start + idx + 1);
      }
      end = start;
    }
    ftruncateSync(fd, 0);
    return size;
  } finally {
    closeSync(fd);
  }
}

function dotValue(doc: unknown, path: string): unknown {
  let cur = doc;
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

class EmbeddedCollection<T extends Doc> implements Collection<T> {
  private readonly exclusive = createMutex();
  /**
   * Fields of sparse indexes. nedb takes any object without own keys (a Date) for a missing key there, so a Date
   * in such a field would silently drop out of the index and out of query results: refuse it loudly instead.
   */
  readonly sparseFields = new Set<string>();

  private checkSparse(values: unknown, dotted = false): void {
    if (this.sparseFields.size === 0 || typeof values !== 'object' || values === null) return;
    for (const field of this.sparseFields) {
      const v = dotted ? (values as Record<string, unknown>)[field] : dotValue(values, field);
      if (v instanceof Date) {
        throw new ArbiterError(
          'STORE_INVALID_DOCUMENT',
          `${this.name}.${field} has a sparse index: store it as a number or string, not a Date.`,
        );
      }
    }
  }

  private checkUpdate(update: Update): void {
    for (const op of [update.$set, update.$setOnInsert, update.$max, update.$min]) this.checkSparse(op, true);
  }

  constructor(
    readonly name: string,
    private readonly db: Datastore<T>,
    private readonly ids: Ids,
  ) {}

  private async guard<R>(fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (err) {
      throw mapError(this.name, err);
    }
  }

  insertOne(doc: T): Promise<T> {
    return this.guard(async () => {
      this.checkSparse(doc);
      return this.exclusive(async () => (await this.db.insertAsync(doc)) as T);
    });
  }

  async insertMany(docs: readonly T[]): Promise<number> {
    for (const doc of docs) this.checkSparse(doc);
    return this.guard(() =>
      this.exclusive(async () => {
        // Ordered like MongoDB: documents before the first violation stay inserted.
        let n = 0;
        for (let i = 0; i < docs.length; i += 500) {
          const batch = docs.slice(i, i + 500) as T[];
          try {
            await this.db.insertAsync(batch);
            n += batch.length;
          } catch (err) {
            if (!isUniqueViolation(err)) throw err;
            for (const doc of batch) {
              await this.db.insertAsync(doc);
              n += 1;
            }
          }
        }
        return n;
      }),
    );
  }

  /**
   * First match by a one-field sort whose field is indexed and range-filtered (the job-claim query). nedb would
   * match and sort every candidate; its index already yields them in key order, so stop at the first match.
   * Returns undefined when the query does not have that shape.
   */
  private firstBySortedIndex(filter: Filter, sort: Sort | undefined): T | null | undefined {
    const keys = sort ? Object.keys(sort) : [];
    if (keys.length !== 1) return undefined;
    const field = keys[0]!;
    const index = (this.db as unknown as { indexes: Record<string, NedbIndex | undefined> }).indexes[field];
    const condition = filter[field];
    if (!index || !isRangeCondition(condition)) return undefined;
    const candidates = index.getBetweenBounds(condition);
    const descending = sort![field] === -1;
    for (let i = 0; i < candidates.length; i++) {
      const doc = candidates[descending ? candidates.length - 1 - i : i]!;
      if (nedbModel.match(doc, filter)) return nedbModel.deepCopy(doc) as T;
    }
    return null;
  }

  async findOne(filter: Filter, options: { sort?: Sort } = {}): Promise<T | null> {
    const fast = await this.guard(async () => this.firstBySortedIndex(filter, options.sort));
    if (fast !== undefined) return fast;
    const [doc] = await this.find(filter, { ...options, limit: 1 });
    return doc ?? null;
  }

  find(filter: Filter, options: FindOptions = {}): Promise<T[]> {
    return this.guard(async () => {
      let cursor = this.db.findAsync(filter);
      if (options.sort) cursor = cursor.sort(options.sort);
      if (options.skip) cursor = cursor.skip(options.skip);
      if (options.limit) cursor = cursor.limit(options.limit);
      return (await cursor) as T[];
    });
  }

  count(filter: Filter): Promise<number> {
    return this.guard(async () => await this.db.countAsync(filter));
  }

  private onMatch(update: Update): Record<string, unknown> {
    const { $setOnInsert: _ignored, ...rest } = update;
    return Object.fromEntries(Object.entries(rest).filter(([, v]) => v && Object.keys(v).length > 0));
  }

  private async insertUpsert(filter: Filter, update: Update): Promise<T> {
    const seed = upsertSeed(filter);
    const { _id: insertId, ...setOnInsert } = withUpsertId(filter, update, this.ids).$setOnInsert ?? {};
    if (typeof seed._id !== 'string') seed._id = insertId;
    const ops = this.onMatch(update);
    const set = { ...setOnInsert, ...update.$set };
    if (Object.keys(set).length > 0) ops.$set = set;
    const doc = Object.keys(ops).length > 0 ? nedbModel.modify(nedbModel.deepCopy(seed), ops) : seed;
    return (await this.db.insertAsync(doc as T)) as T;
  }

  async updateOne(filter: Filter, update: Update, options: { upsert?: boolean } = {}): Promise<UpdateResult> {
    this.checkUpdate(update);
    return this.guard(() =>
      this.exclusive(async () => {
        const existing = await this.findOne(filter);
        if (!existing) {
          if (!options.upsert) return { matched: 0 };
          const inserted = await this.insertUpsert(filter, update);
          return { matched: 0, upsertedId: inserted._id };
        }
        const onMatch = this.onMatch(update);
        if (Object.keys(onMatch).length > 0) await this.db.updateAsync({ _id: existing._id }, onMatch, {});
        return { matched: 1 };
      }),
    );
  }

  async updateMany(filter: Filter, update: Update): Promise<UpdateResult> {
    this.checkUpdate(update);
    return this.guard(() =>
      this.exclusive(async () => {
        const onMatch = this.onMatch(update);
        if (Object.keys(onMatch).length === 0) return { matched: await this.db.countAsync(filter) };
        const res = await this.db.updateAsync(filter, onMatch, { multi: true });
        return { matched: res.numAffected };
      }),
    );
  }

  async findOneAndUpdate(
    filter: Filter,
    update: Update,
    options: { sort?: Sort; upsert?: boolean; returnDocument?: 'before' | 'after' } = {},
  ): Promise<T | null> {
    this.checkUpdate(update);
    return this.guard(() =>
      this.exclusive(async () => {
        const existing = await this.findOne(filter, options.sort ? { sort: options.sort } : {});
        if (!existing) {
          if (!options.upsert) return null;
          const inserted = await this.insertUpsert(filter, update);
          return options.returnDocument === 'before' ? null : inserted;
        }
        const onMatch = this.onMatch(update);
        if (Object.keys(onMatch).length === 0) return existing;
        const res = await this.db.updateAsync({ _id: existing._id }, onMatch, { returnUpdatedDocs: true });
        return options.returnDocument === 'before' ? existing : (res.affectedDocuments as unknown as T);
      }),
    );
  }

  deleteOne(filter: Filter): Promise<number> {
    return this.guard(() =>
      this.exclusive(async () => {
        const existing = await this.findOne(filter);
        if (!existing) return 0;
        return await this.db.removeAsync({ _id: existing._id }, {});
      }),
    );
  }

  deleteMany(filter: Filter): Promise<number> {
    return this.guard(() => this.exclusive(async () => await this.db.removeAsync(filter, { multi: true })));
  }
}

/** Opens the embedded, file-backed store under `dir` (one process per folder, enforced by a lock file). */
export async function createEmbeddedStore(options: EmbeddedStoreOptions): Promise<DocumentStore> {
  const dir = resolve(options.dir);
  const logger = options.logger ?? createSilentLogger();
  const ids = options.ids ?? systemIds;
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new ArbiterError(
      'STORE_UNAVAILABLE',
      `Cannot create DATA_DIR ${options.dir}: ${(err as NodeJS.ErrnoException).code}`,
      {
        hint: 'Set DATA_DIR to a writable folder.',
        cause: err,
      },
    );
  }
  const lock: DirLock = acquireDirLock(dir);
  const collections = new Map<
    string,
    {
      db: Datastore<Doc>;
      coll: EmbeddedCollection<Doc>;
      ready: Promise<void>;
      closeFile: () => Promise<void>;
    }
  >();
  let closed = false;
  const autocompactMs = options.autocompactMs ?? 10 * 60_000;

  async function open(name: string, indexes: readonly IndexSpec[]): Promise<EmbeddedCollection<Doc>> {
    const file = join(dir, `${name}.db`);
    let entry = collections.get(name);
    if (!entry) {
      const dropped = repairTornTail(file);
      if (dropped > 0)
        logger.warn(
          { collection: name, bytes: dropped },
          'dropped an unfinished write at the end of the data file (crash during a write)',
        );
      const db = new Datastore<Doc>({ filename: file, autoload: false });
      const created: {
        db: Datastore<Doc>;
        coll: EmbeddedCollection<Doc>;
        ready: Promise<void>;
        closeFile: () => Promise<void>;
      } = {
        db,
        coll: new EmbeddedCollection<Doc>(name, db, ids),
        closeFile: appendThroughOpenHandle(db),
        ready: db.loadDatabaseAsync().then(() => {
          if (autocompactMs > 0) db.setAutocompactionInterval(autocompactMs);
        }),
      };
      entry = created;
      collections.set(name, created);
    }
    await entry.ready;
    for (const spec of indexes) {
      const fields = Object.keys(spec.fields);
      await entry.db.ensureIndexAsync({
        fieldName: fields.length === 1 ? fields[0]! : fields,
        unique: spec.unique ?? false,
        sparse: spec.sparse ?? false,
      });
      if (spec.sparse) for (const f of fields) entry.coll.sparseFields.add(f);
    }
    return entry.coll;
  }

  return {
    kind: 'embedded',
    description: `embedded store in ${options.dir}`,
    async collection<T extends Doc>(name: string, indexes: readonly IndexSpec[] = []) {
      if (closed) throw new ArbiterError('STORE_UNAVAILABLE', 'The store is closed.');
      assertCollectionName(name);
      try {
        return (await open(name, indexes)) as unknown as Collection<T>;
      } catch (err) {
        if (isUniqueViolation(err)) {
          throw new ArbiterError(
            'STORE_UNAVAILABLE',
            `Cannot create a unique index on ${name}: existing documents have duplicate keys`,
            { cause: err },
          );
        }
        if (err instanceof ArbiterError) throw err;
        throw new ArbiterError(
          'STORE_UNAVAILABLE',
          `Cannot open ${name} in ${options.dir}: ${(err as Error).message}`,
          { cause: err },
        );
      }
    },
    async ping() {
      const started = performance.now();
      const ok = !closed && lock.isHeld();
      return {
        ok,
        latencyMs: performance.now() - started,
        ...(ok ? {} : { error: closed ? 'store closed' : 'data folder lock lost' }),
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const { db, ready, closeFile } of collections.values()) {
        await ready.catch(() => undefined);
        db.stopAutocompaction();
        await db
          .compactDatafileAsync()
          .catch((err: unknown) => logger.warn({ err }, 'compaction at close failed'));
        await closeFile();
      }
      lock.release();
    },
  };
}
