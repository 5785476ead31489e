import {
  closeSync,
  copyFileSync,
  existsSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  statSync,
  writeSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import type * as NedbTypes from '@seald-io/nedb';
import { ArbiterError, createSilentLogger, type Ids, type Logger, systemIds } from '../config/index.ts';
import { acquireDirLock, type DirLock } from './lock.ts';
import { SQLITE_FILE } from './sqlite.ts';
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
import {
  assertCollectionName,
  isCollectionName,
  createMutex,
  duplicateKeyError,
  upsertSeed,
  withUpsertId,
} from './shared.ts';

const requireCjs = createRequire(import.meta.url);
// The package is CommonJS with `module.exports = Datastore` while its typings declare a default export.
type Datastore<T> = NedbTypes.default<T>;
type DatastoreClass = new <T>(options: {
  filename: string;
  autoload?: boolean;
  corruptAlertThreshold?: number;
}) => Datastore<T>;
/** nedb's own modifier engine, so an upsert applies operators exactly as nedb's update does. */
interface NedbModel {
  modify(doc: object, update: object): Record<string, unknown>;
  deepCopy<T>(v: T): T;
  match(doc: object, query: object): boolean;
  serialize(doc: object): string;
}
let nedbLib: { Datastore: DatastoreClass; model: NedbModel } | undefined;
/** nedb loads when an embedded store is first used, not when `arbiter help` starts (test/startup.test.ts). */
function nedb(): { Datastore: DatastoreClass; model: NedbModel } {
  nedbLib ??= {
    Datastore: requireCjs('@seald-io/nedb') as DatastoreClass,
    model: requireCjs('@seald-io/nedb/lib/model.js') as NedbModel,
  };
  return nedbLib;
}

/** The part of nedb's persistence the appender replaces. */
interface NedbPersistence {
  filename: string;
  modes: { fileMode: number };
  afterSerialization(s: string): Promise<string>;
  persistNewStateAsync(newDocs: object[]): Promise<void>;
}

/**
 * Appends a collection's new lines through one file descriptor kept open, with a synchronous write(2), where nedb
 * opens, writes and closes the file for every write. A write of a few hundred bytes into the page cache takes
 * microseconds; done asynchronously it costs a round trip through libuv's thread pool, and since nedb runs a
 * collection's writes one at a time, 50 concurrent enqueues then wait for 50 round trips in a row (hundreds of ms
 * on a loaded machine: a slash command is acked only once its job is written). The bytes and their order are
 * nedb's, and so is the durability: no fsync either way (a written line survives kill -9, not a power cut).
 * Compaction replaces the file (write a copy, rename it over), so the descriptor is dropped when nedb reports
 * `compaction.done` and the next write opens the new file; nedb runs writes and compactions one at a time, so no
 * write is in flight on the old file then.
 *
 * Before each append the path is checked to still name the file the descriptor writes to (one stat, a few µs): an
 * append to a file someone deleted or replaced succeeds and is lost, and a job recorded that way would be
 * acknowledged and then never run. Returns a function that closes the descriptor and one that tells whether the
 * file at the path is still the one written to (for ping).
 */
function appendThroughOpenHandle(
  db: Datastore<Doc>,
  lockLost: () => string | undefined,
): {
  close: () => Promise<void>;
  check: () => string | undefined;
} {
  const persistence = (db as unknown as { persistence: NedbPersistence }).persistence;
  let fd: number | undefined;
  let ino: number | undefined;
  const drop = async () => {
    const f = fd;
    fd = undefined;
    ino = undefined;
    if (f !== undefined) {
      try {
        closeSync(f);
      } catch {
        // Already unusable; nothing to release.
      }
    }
  };
  /** Why the file at the path is not the one the descriptor writes to, if it is not. */
  const check = (): string | undefined => {
    if (ino === undefined) return undefined;
    const st = statSync(persistence.filename, { throwIfNoEntry: false });
    if (!st) return `data file ${persistence.filename} was removed`;
    if (st.ino !== ino) return `data file ${persistence.filename} was replaced by another file`;
    return undefined;
  };
  (db as unknown as { on(event: string, fn: () => void): void }).on('compaction.done', () => void drop());
  persistence.persistNewStateAsync = async (newDocs) => {
    let text = '';
    for (const doc of newDocs)
      text += `${await persistence.afterSerialization(nedb().model.serialize(doc))}\n`;
    if (text.length === 0) return;
    const gone = check();
    if (gone) {
      // Keep refusing until the file is back: reopening would write to a new file that lacks everything before.
      throw new ArbiterError('STORE_UNAVAILABLE', `Cannot write: the ${gone}.`, {
        hint: 'Restore the data folder (DATA_DIR) and restart Arbiter.',
      });
    }
    // A process that lost the folder's lock stops writing: another process may be writing the same files.
    const lost = lockLost();
    if (lost)
      throw new ArbiterError(
        'STORE_UNAVAILABLE',
        `Cannot write: ${lost}; this process no longer writes to it.`,
        {
          hint: 'Stop the other process (one process per DATA_DIR), then restart Arbiter.',
        },
      );
    try {
      if (fd === undefined) {
        fd = openSync(persistence.filename, 'a', persistence.modes.fileMode);
        ino = fstatSync(fd).ino;
      }
      const bytes = Buffer.from(text, 'utf8');
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    } catch (err) {
      // A failed write (disk full, read-only) may have left the descriptor unusable: the next write reopens.
      await drop();
      throw err;
    }
  };
  return { close: drop, check };
}

/** A node of nedb's index tree (an AVL tree from @seald-io/binary-search-tree): keys in order, docs per key. */
interface NedbTreeNode {
  key?: unknown;
  data: object[];
  left: NedbTreeNode | null;
  right: NedbTreeNode | null;
  getLowerBoundMatcher(query: Record<string, unknown>): (key: unknown) => boolean;
  getUpperBoundMatcher(query: Record<string, unknown>): (key: unknown) => boolean;
}

/** The part of nedb's index internals the first-by-sort fast path reads: the tree under the index. */
interface NedbIndex {
  tree: { tree: NedbTreeNode };
}

/**
 * The first document, in key order (or reverse order), whose key is within `bounds` and which `accept`s. Walks the
 * tree from its root, so it costs O(log n) plus the documents rejected before the first accepted one; nedb's own
 * getBetweenBounds would collect every document within the bounds first (a claim at 100k queued jobs copied 100k
 * references to take one).
 */
function firstInOrder(
  root: NedbTreeNode,
  bounds: Record<string, unknown>,
  descending: boolean,
  accept: (doc: object) => boolean,
): object | undefined {
  if (!Object.hasOwn(root, 'key')) return undefined;
  const lower = root.getLowerBoundMatcher(bounds);
  const upper = root.getUpperBoundMatcher(bounds);
  // Iterative in-order walk (no recursion depth), pruning subtrees wholly outside the bounds.
  const stack: NedbTreeNode[] = [];
  const near = (n: NedbTreeNode) => (descending ? n.right : n.left);
  const far = (n: NedbTreeNode) => (descending ? n.left : n.right);
  // Going toward smaller keys is useful only while the key is above the lower bound (mirrored when descending).
  const mayGoNear = (n: NedbTreeNode) => (descending ? upper(n.key) : lower(n.key));
  const mayGoFar = (n: NedbTreeNode) => (descending ? lower(n.key) : upper(n.key));
  let cur: NedbTreeNode | null = root;
  for (;;) {
    while (cur) {
      stack.push(cur);
      cur = mayGoNear(cur) ? near(cur) : null;
    }
    const node = stack.pop();
    if (!node) return undefined;
    if (lower(node.key) && upper(node.key)) {
      for (const doc of node.data) if (accept(doc)) return doc;
    }
    cur = mayGoFar(node) ? far(node) : null;
  }
}

const RANGE_OPS = new Set(['$lt', '$lte', '$gt', '$gte']);

function isRangeCondition(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || v instanceof Date || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  return keys.length > 0 && keys.every((k) => RANGE_OPS.has(k));
}

/** The collection ping writes to: proof that a write reaches the disk now, not just that the folder is there. */
const PROBE_COLLECTION = 'health';
const PROBE_TIMEOUT_MS = 2000;

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
      return this.exclusive(async () => {
        try {
          return (await this.db.insertAsync(doc)) as T;
        } catch (err) {
          if (!isUniqueViolation(err)) this.forgetUnwritten(doc._id);
          throw err;
        }
      });
    });
  }

  /**
   * nedb puts a document in memory before it writes it and keeps it there when the write fails (disk full,
   * read-only, file removed): take it out again, so what the caller was told failed is not found (or claimed and
   * run) until a restart loses it.
   */
  private forgetUnwritten(id: string): void {
    const db = this.db as unknown as {
      indexes: { _id: { getMatching(v: string): object[] } };
      _removeFromIndexes(d: object): void;
    };
    for (const d of db.indexes._id.getMatching(id)) db._removeFromIndexes(d);
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
            if (!isUniqueViolation(err)) {
              for (const doc of batch) this.forgetUnwritten(doc._id);
              throw err;
            }
            for (const doc of batch) {
              try {
                await this.db.insertAsync(doc);
              } catch (e) {
                if (!isUniqueViolation(e)) this.forgetUnwritten(doc._id);
                throw e;
              }
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
   * match and sort every candidate; its index already holds them in key order, so walk it and stop at the first
   * match (firstInOrder). Returns undefined when the query does not have that shape.
   */
  private firstBySortedIndex(filter: Filter, sort: Sort | undefined): T | null | undefined {
    const keys = sort ? Object.keys(sort) : [];
    if (keys.length !== 1) return undefined;
    const field = keys[0]!;
    const index = (this.db as unknown as { indexes: Record<string, NedbIndex | undefined> }).indexes[field];
    const condition = filter[field];
    if (!index || !isRangeCondition(condition)) return undefined;
    const doc = firstInOrder(index.tree.tree, condition, sort![field] === -1, (d) =>
      nedb().model.match(d, filter),
    );
    return doc ? (nedb().model.deepCopy(doc) as T) : null;
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
    const doc = Object.keys(ops).length > 0 ? nedb().model.modify(nedb().model.deepCopy(seed), ops) : seed;
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

/** Opens the nedb store under `dir`: one file per collection, held in memory, one process per folder (a lock file). */
export async function createNedbStore(options: EmbeddedStoreOptions): Promise<DocumentStore> {
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
  if (existsSync(join(dir, SQLITE_FILE))) {
    throw new ArbiterError(
      'STORE_UNAVAILABLE',
      `DATA_DIR ${options.dir} holds a SQLite store (${SQLITE_FILE}); the nedb store would start empty beside it.`,
      {
        hint: 'Set EMBEDDED_STORE=sqlite (the default) to use it, or point DATA_DIR at another folder for nedb.',
      },
    );
  }
  const lock: DirLock = acquireDirLock(dir);
  interface Entry {
    db: Datastore<Doc>;
    coll: EmbeddedCollection<Doc>;
    ready: Promise<void>;
    file: ReturnType<typeof appendThroughOpenHandle>;
  }
  const collections = new Map<string, Entry>();
  let closed = false;
  const autocompactMs = options.autocompactMs ?? 10 * 60_000;

  /**
   * Loads a data file. Lines nedb cannot read (a garbled record) would be dropped silently, and the compaction after
   * loading would erase them; instead the file as it was is copied beside it first (`<file>.corrupt-<time>`), the
   * load skips them (up to nedb's 10%; more fails the open) and the count, the file and the copy are logged.
   */
  async function loadKeepingEvidence(db: Datastore<Doc>, file: string, name: string): Promise<void> {
    try {
      await db.loadDatabaseAsync();
      return;
    } catch (err) {
      const corrupt = (err as { corruptItems?: unknown }).corruptItems;
      if (typeof corrupt !== 'number') throw err;
      const evidence = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      copyFileSync(file, evidence);
      // nedb's own default: up to 10% of the lines may be skipped; more and the open fails (naming the copy).
      (
        db as unknown as { persistence: { corruptAlertThreshold: number } }
      ).persistence.corruptAlertThreshold = 0.1;
      try {
        await db.loadDatabaseAsync();
      } catch (again) {
        throw Object.assign(again as Error, {
          message: `${(again as Error).message} (the file as it was is kept at ${evidence})`,
        });
      }
      logger.warn(
        { collection: name, file, skipped: corrupt, evidence },
        `skipped ${corrupt} corrupt record(s) in ${file}; the file as it was is kept at ${evidence}`,
      );
    }
  }

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
      // Any corrupt line stops the first load (threshold 0), so that it is never dropped in silence: see loadKeepingEvidence.
      const db = new (nedb().Datastore)<Doc>({ filename: file, autoload: false, corruptAlertThreshold: 0 });
      const created: Entry = {
        db,
        coll: new EmbeddedCollection<Doc>(name, db, ids),
        file: appendThroughOpenHandle(db, () => lock.lost()),
        ready: loadKeepingEvidence(db, file, name).then(
          () => {
            if (autocompactMs > 0) db.setAutocompactionInterval(autocompactMs);
          },
          (err: unknown) => {
            // A collection that did not load is forgotten: close() must not wait on it (nedb would queue the
            // final compaction behind a load that never comes, and the process would hang), and a later open
            // tries again.
            collections.delete(name);
            throw new ArbiterError(
              'STORE_UNAVAILABLE',
              `Cannot load the embedded store file ${file}: ${(err as Error).message}`,
              {
                hint: `Move ${file} aside (Arbiter then starts that collection empty) or restore it from a backup; or set MONGODB_URI to use MongoDB.`,
                cause: err,
              },
            );
          },
        ),
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

  /** Writes one small document through the same path every write takes; throws what that write threw. */
  async function writeProbe(): Promise<void> {
    const probe = await open(PROBE_COLLECTION, []);
    await probe.updateOne({ _id: 'probe' }, { $set: { at: Date.now(), pid: process.pid } }, { upsert: true });
  }

  return {
    kind: 'embedded',
    description: `embedded nedb store in ${options.dir}`,
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
    async collectionNames() {
      if (closed) throw new ArbiterError('STORE_UNAVAILABLE', 'The store is closed.');
      const onDisk = readdirSync(dir)
        .filter((f) => f.endsWith('.db'))
        .map((f) => f.slice(0, -3));
      return [...new Set([...onDisk, ...collections.keys()])].filter(isCollectionName).sort();
    },
    async ping() {
      const started = performance.now();
      const problem = await (async (): Promise<string | undefined> => {
        if (closed) return 'store closed';
        for (const { file } of collections.values()) {
          const gone = file.check();
          if (gone) return gone;
        }
        const lost = lock.lost();
        if (lost) return lost;
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            writeProbe(),
            new Promise((_, reject) => {
              timer = setTimeout(
                () => reject(new Error(`write probe took more than ${PROBE_TIMEOUT_MS} ms`)),
                PROBE_TIMEOUT_MS,
              );
            }),
          ]);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          return `write probe failed: ${code ? `${code} ` : ''}${(err as Error).message}`;
        } finally {
          clearTimeout(timer);
        }
        return undefined;
      })();
      return {
        ok: problem === undefined,
        latencyMs: performance.now() - started,
        ...(problem ? { error: problem } : {}),
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const { db, ready, file } of [...collections.values()]) {
        const loaded = await ready.then(
          () => true,
          () => false,
        );
        if (!loaded) continue;
        db.stopAutocompaction();
        await db
          .compactDatafileAsync()
          .catch((err: unknown) => logger.warn({ err }, 'compaction at close failed'));
        await file.close();
      }
      lock.release();
    },
  };
}
