import { mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { ArbiterError, createSilentLogger, type Ids, type Logger, systemIds } from '../config/index.ts';
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
import { liveLockHolder } from './lock.ts';
import { migrateNedbDir, nedbFiles } from './nedb-migrate.ts';
import {
  assertCollectionName,
  isCollectionName,
  duplicateKeyError,
  upsertSeed,
  withUpsertId,
} from './shared.ts';
import {
  arrayProbeSql,
  type CompileContext,
  compileFilter,
  compileSort,
  compileUpdate,
  createArrayProbeIndexSql,
  createIndexSql,
  decodeDoc,
  encodeJson,
  equalityFields,
  ident,
  type SqlValue,
} from './sqlite-sql.ts';

// Loaded through require: the package is CommonJS, and only stores that use SQLite pay for loading the addon.
const requireCjs = createRequire(import.meta.url);
type Database = BetterSqlite3.Database;
type Statement = BetterSqlite3.Statement;

/** The database file under DATA_DIR. */
export const SQLITE_FILE = 'arbiter.sqlite';
/** Internal bookkeeping (migration marker); collection names cannot start with "_". */
const META_TABLE = '_arbiter_meta';
const PROBE_COLLECTION = 'health';

/** Options of the SQLite store. */
export interface SqliteStoreOptions {
  dir: string;
  logger?: Logger;
  ids?: Ids;
  /** How long a write waits for another process's write transaction before failing with STORE_UNAVAILABLE (30 s). */
  busyTimeoutMs?: number;
}

type SqliteError = Error & { code?: string };

function sqliteCode(err: unknown): string | undefined {
  const code = (err as SqliteError | undefined)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

/** Turns a SQLite error into the store's typed errors: duplicates, corruption, a full or read-only disk. */
function mapSqliteError(file: string, collection: string | undefined, err: unknown): unknown {
  if (err instanceof ArbiterError) return err;
  const code = sqliteCode(err);
  if (!code) return err;
  const msg = (err as Error).message;
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    return duplicateKeyError(collection ?? '?', msg.replace(/^UNIQUE constraint failed: /, ''), err);
  }
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    return new ArbiterError(
      'STORE_UNAVAILABLE',
      `The SQLite database ${file} is corrupt: ${msg} (${code}).`,
      {
        hint:
          `Stop every Arbiter process using this DATA_DIR, then restore ${file} from a backup; or salvage it with ` +
          `\`sqlite3 ${file} ".recover" | sqlite3 recovered.sqlite\` and put recovered.sqlite in its place; or move ` +
          `${file} (with its -wal and -shm files) aside to start empty.`,
        cause: err,
      },
    );
  }
  const dir = dirname(file);
  if (code === 'SQLITE_FULL') {
    return new ArbiterError(
      'STORE_UNAVAILABLE',
      `Cannot write to DATA_DIR ${dir}: the disk is full (${file}, ${code}). The write was not saved.`,
      {
        hint: 'Free space on the disk of DATA_DIR; nothing that was acknowledged is lost, and Arbiter resumes once writes succeed.',
        cause: err,
      },
    );
  }
  if (code === 'SQLITE_IOERR_READ' || code === 'SQLITE_IOERR_SHORT_READ') {
    return new ArbiterError(
      'STORE_UNAVAILABLE',
      `Cannot read ${file} in DATA_DIR ${dir}: ${msg} (${code}).`,
      {
        hint: 'Check the disk of DATA_DIR (a failing device or a file truncated by another program); restore from a backup if it persists.',
        cause: err,
      },
    );
  }
  if (code.startsWith('SQLITE_IOERR')) {
    return new ArbiterError(
      'STORE_UNAVAILABLE',
      `Cannot write to DATA_DIR ${dir}: the disk refused the write (${file}: ${msg}, ${code}). The write was not saved.`,
      {
        hint:
          'Check the disk of DATA_DIR: a full disk, a file-size limit (ulimit -f) or a failing device. Nothing that was ' +
          'acknowledged is lost; Arbiter resumes once writes succeed.',
        cause: err,
      },
    );
  }
  if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN') || code === 'SQLITE_PERM') {
    return new ArbiterError(
      'STORE_UNAVAILABLE',
      `Cannot write to DATA_DIR ${dir}: ${msg} (${file}, ${code}). The write was not saved.`,
      {
        hint: 'Make DATA_DIR and the files in it writable by the user running Arbiter (a read-only mount fails every write).',
        cause: err,
      },
    );
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new ArbiterError(
      'STORE_UNAVAILABLE',
      `The database ${file} stayed locked by another process: ${msg}.`,
      {
        hint: 'Another Arbiter process holds a long write; retry. If it persists, look for a hung process on this DATA_DIR.',
        cause: err,
      },
    );
  }
  return new ArbiterError('STORE_UNAVAILABLE', `SQLite error on ${file}: ${msg} (${code}).`, { cause: err });
}

/** What a collection needs from its store. */
interface StoreContext {
  db: Database;
  file: string;
  ids: Ids;
  prepare(sql: string): Statement;
  /**
   * Runs `fn` in a write transaction (BEGIN IMMEDIATE: the write lock first, so no other process interleaves). While
   * another process holds the lock it waits without blocking the event loop, retrying until the busy deadline.
   */
  write<R>(fn: () => R): Promise<R>;
  /** Runs `fn` in a read transaction (one snapshot). */
  read<R>(fn: () => R): R;
  /** Throws when the database file is gone or replaced (writes would go to a file nobody will read). */
  checkFile(): void;
}

/**
 * A table of documents. It holds `Doc`s; the document type a caller asks for (`collection<T>()`) is the port's
 * contract with that caller, applied once where the collection is handed out.
 */
class SqliteCollection implements Collection<Doc> {
  private readonly table: string;
  /** Fields with an index: their equality lookups stay on the index unless a document holds an array there. */
  readonly indexedFields = new Set<string>();

  constructor(
    readonly name: string,
    private readonly s: StoreContext,
  ) {
    this.table = ident(name);
  }

  private async guard<R>(fn: () => R | Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (err) {
      throw mapSqliteError(this.s.file, this.name, err);
    }
  }

  /** The compile context of one query: probes, through their partial indexes, which indexed fields hold arrays. */
  private context(filter: Filter): CompileContext {
    const arrays = new Map<string, boolean>();
    for (const field of equalityFields(filter)) {
      if (!this.indexedFields.has(field)) continue;
      arrays.set(field, this.s.prepare(arrayProbeSql(this.name, field)).get() !== undefined);
    }
    return { mayBeArray: (field) => arrays.get(field) ?? !this.indexedFields.has(field) };
  }

  private where(filter: Filter) {
    return compileFilter(filter, this.context(filter));
  }

  /** The first match (rowid and document) by sort, inside the caller's transaction. */
  private first(filter: Filter, sort?: Sort): { rowid: number; doc: string } | undefined {
    const w = this.where(filter);
    return this.s
      .prepare(`SELECT rowid, doc FROM ${this.table} WHERE ${w.sql}${compileSort(sort)} LIMIT 1`)
      .get(...w.params) as { rowid: number; doc: string } | undefined;
  }

  private insertRow(doc: Doc): number {
    if (typeof doc._id !== 'string' || doc._id.length === 0) {
      throw new ArbiterError(
        'STORE_INVALID_DOCUMENT',
        `A document in ${this.name} needs a non-empty string _id.`,
      );
    }
    const info = this.s
      .prepare(`INSERT INTO ${this.table} (id, doc) VALUES (?, json(?))`)
      .run(doc._id, encodeJson(doc));
    return Number(info.lastInsertRowid);
  }

  /** Applies an update to one row; returns the new document text (or the old one when the update changes nothing). */
  private updateRow(rowid: number, update: Update, includeSetOnInsert = false): string | undefined {
    const u = compileUpdate(update, { includeSetOnInsert });
    if (!u) return undefined;
    return this.s
      .prepare(`UPDATE ${this.table} SET doc = ${u.sql} WHERE rowid = ? RETURNING doc`)
      .pluck()
      .get(...u.params, rowid) as string;
  }

  /** Inserts the document an upsert creates: the filter's equalities, then $setOnInsert and the other operators. */
  private upsertInsert(filter: Filter, update: Update): string {
    const u = withUpsertId(filter, update, this.s.ids);
    const seed = upsertSeed(filter) as Doc;
    if (typeof seed._id !== 'string') seed._id = u.$setOnInsert?._id as string;
    const rowid = this.insertRow(seed);
    return (
      this.updateRow(rowid, u, true) ??
      (this.s.prepare(`SELECT doc FROM ${this.table} WHERE rowid = ?`).pluck().get(rowid) as string)
    );
  }

  insertOne(doc: Doc): Promise<Doc> {
    return this.guard(async () => {
      await this.s.write(() => this.insertRow(doc));
      return doc;
    });
  }

  insertMany(docs: readonly Doc[]): Promise<number> {
    return this.guard(async () => {
      // Ordered like MongoDB: documents before the first violation stay inserted (committed), the rest are not.
      let failure: unknown;
      const n = await this.s.write(() => {
        let done = 0;
        for (const doc of docs) {
          try {
            this.insertRow(doc);
          } catch (err) {
            const code = sqliteCode(err);
            if (code !== 'SQLITE_CONSTRAINT_UNIQUE' && code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') throw err;
            failure = err;
            break;
          }
          done++;
        }
        return done;
      });
      if (failure) throw failure;
      return n;
    });
  }

  findOne(filter: Filter, options: { sort?: Sort } = {}): Promise<Doc | null> {
    return this.guard(() => {
      const row = this.s.read(() => this.first(filter, options.sort));
      return row ? decodeDoc(row.doc) : null;
    });
  }

  find(filter: Filter, options: FindOptions = {}): Promise<Doc[]> {
    return this.guard(() => {
      const texts = this.s.read(() => {
        const w = this.where(filter);
        const params: SqlValue[] = [...w.params];
        let sql = `SELECT doc FROM ${this.table} WHERE ${w.sql}${compileSort(options.sort)}`;
        if (options.limit || options.skip) {
          sql += ' LIMIT ? OFFSET ?';
          params.push(options.limit ? options.limit : -1, options.skip ?? 0);
        }
        return this.s
          .prepare(sql)
          .pluck()
          .all(...params) as string[];
      });
      return texts.map((t) => decodeDoc(t));
    });
  }

  count(filter: Filter): Promise<number> {
    return this.guard(() =>
      this.s.read(() => {
        const w = this.where(filter);
        return Number(
          this.s
            .prepare(`SELECT count(*) FROM ${this.table} WHERE ${w.sql}`)
            .pluck()
            .get(...w.params),
        );
      }),
    );
  }

  updateOne(filter: Filter, update: Update, options: { upsert?: boolean } = {}): Promise<UpdateResult> {
    return this.guard(() =>
      this.s.write((): UpdateResult => {
        const row = this.first(filter);
        if (!row) {
          if (!options.upsert) return { matched: 0 };
          const doc = decodeDoc(this.upsertInsert(filter, update));
          return { matched: 0, upsertedId: doc._id };
        }
        this.updateRow(row.rowid, update);
        return { matched: 1 };
      }),
    );
  }

  updateMany(filter: Filter, update: Update): Promise<UpdateResult> {
    return this.guard(() =>
      this.s.write((): UpdateResult => {
        const w = this.where(filter);
        const u = compileUpdate(update);
        if (!u) {
          const n = this.s
            .prepare(`SELECT count(*) FROM ${this.table} WHERE ${w.sql}`)
            .pluck()
            .get(...w.params);
          return { matched: Number(n) };
        }
        const info = this.s
          .prepare(`UPDATE ${this.table} SET doc = ${u.sql} WHERE ${w.sql}`)
          .run(...u.params, ...w.params);
        return { matched: info.changes };
      }),
    );
  }

  findOneAndUpdate(
    filter: Filter,
    update: Update,
    options: { sort?: Sort; upsert?: boolean; returnDocument?: 'before' | 'after' } = {},
  ): Promise<Doc | null> {
    return this.guard(async () => {
      const text = await this.s.write((): string | null => {
        const row = this.first(filter, options.sort);
        if (!row) {
          if (!options.upsert) return null;
          const inserted = this.upsertInsert(filter, update);
          return options.returnDocument === 'before' ? null : inserted;
        }
        const after = this.updateRow(row.rowid, update);
        return options.returnDocument === 'before' ? row.doc : (after ?? row.doc);
      });
      return text === null ? null : decodeDoc(text);
    });
  }

  deleteOne(filter: Filter): Promise<number> {
    return this.guard(() =>
      this.s.write(() => {
        const row = this.first(filter);
        if (!row) return 0;
        return this.s.prepare(`DELETE FROM ${this.table} WHERE rowid = ?`).run(row.rowid).changes;
      }),
    );
  }

  deleteMany(filter: Filter): Promise<number> {
    return this.guard(() =>
      this.s.write(() => {
        const w = this.where(filter);
        return this.s.prepare(`DELETE FROM ${this.table} WHERE ${w.sql}`).run(...w.params).changes;
      }),
    );
  }
}

/** Opens (creating) the database file and sets it up for several processes: WAL, a busy timeout. */
function openDatabase(file: string, busyTimeoutMs: number): Database {
  // Two processes creating the file at once: switching it to WAL can meet the other's lock without waiting for it.
  const deadline = Date.now() + busyTimeoutMs;
  for (;;) {
    try {
      return openDatabaseOnce(file, busyTimeoutMs);
    } catch (err) {
      const busy =
        (err as ArbiterError).cause && sqliteCode((err as ArbiterError).cause)?.startsWith('SQLITE_BUSY');
      if (!busy || Date.now() > deadline) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
}

function openDatabaseOnce(file: string, busyTimeoutMs: number): Database {
  const DatabaseCtor = requireCjs('better-sqlite3') as typeof BetterSqlite3;
  let db: Database | undefined;
  try {
    db = new DatabaseCtor(file, { timeout: busyTimeoutMs });
    // WAL: readers never block the writer (the bot keeps claiming jobs while the CLI lists runs).
    db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: a commit is written to the WAL (the OS page cache) before it returns, so an acknowledged
    // write survives kill -9 of the process; only a power cut or kernel crash can lose the last commits (the database
    // stays consistent). FULL would add an fsync per commit, which the promise (acked writes survive a process crash,
    // as with the nedb store) does not need.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = OFF');
    // Reads the header and schema: a file that is not a database (or is corrupt there) fails here, at start.
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    db.exec(`CREATE TABLE IF NOT EXISTS ${ident(META_TABLE)} (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    return db;
  } catch (err) {
    db?.close();
    throw mapSqliteError(file, undefined, err);
  }
}

/** What migrating a nedb DATA_DIR to SQLite did. */
export interface NedbMigration {
  collections: number;
  documents: number;
  /** The folder the nedb files were moved into. */
  backup: string;
  /** Unreadable lines skipped per file (under nedb's own 10% limit; the file is kept in the backup folder). */
  skipped: { file: string; lines: number }[];
}

/** Refuses a folder a live nedb process holds (the two stores must never share one). */
function refuseLiveNedb(dir: string, shown: string): void {
  const nedbHolder = liveLockHolder(dir);
  if (nedbHolder) {
    throw new ArbiterError(
      'STORE_LOCKED',
      `DATA_DIR ${shown} is in use by an Arbiter process on the nedb store (pid ${nedbHolder.pid} on ${nedbHolder.host}, since ${nedbHolder.startedAt}).`,
      {
        hint:
          'Stop that process (its data moves to SQLite on the next start), or run this one with EMBEDDED_STORE=nedb. ' +
          `If no such process is running, delete ${join(dir, 'arbiter.lock')}.`,
      },
    );
  }
}

/**
 * Opens the database under `options.dir` the way every start does: refuses a folder a live nedb process holds,
 * then migrates its nedb files once. The caller owns (and closes) the database.
 */
async function openMigrated(
  options: SqliteStoreOptions,
  dir: string,
  logger: Logger,
): Promise<{ db: Database; file: string; migration: NedbMigration | undefined }> {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new ArbiterError(
      'STORE_UNAVAILABLE',
      `Cannot create DATA_DIR ${options.dir}: ${(err as NodeJS.ErrnoException).code}`,
      { hint: 'Set DATA_DIR to a writable folder.', cause: err },
    );
  }
  refuseLiveNedb(dir, options.dir);
  const file = join(dir, SQLITE_FILE);
  const db = openDatabase(file, options.busyTimeoutMs ?? 30_000);
  try {
    return { db, file, migration: await migrateNedbDir(dir, db, logger, META_TABLE) };
  } catch (err) {
    db.close();
    throw mapSqliteError(file, undefined, err);
  }
}

/**
 * Migrates the nedb files of `options.dir` into its SQLite store now, as the first start would (`arbiter store
 * migrate`). Returns what was moved, or undefined when there was nothing to migrate.
 */
export async function migrateNedbToSqlite(options: SqliteStoreOptions): Promise<NedbMigration | undefined> {
  const dir = resolve(options.dir);
  refuseLiveNedb(dir, options.dir);
  // Nothing to move: no database file is created for it.
  if (nedbFiles(dir).length === 0) return undefined;
  const { db, migration } = await openMigrated(options, dir, options.logger ?? createSilentLogger());
  db.close();
  return migration;
}

/** Opens the embedded SQLite store: one file under `dir`, shared safely by every process that opens it. */
export async function createSqliteStore(options: SqliteStoreOptions): Promise<DocumentStore> {
  const dir = resolve(options.dir);
  const logger = options.logger ?? createSilentLogger();
  const ids = options.ids ?? systemIds;
  const { db, file } = await openMigrated(options, dir, logger);
  const busyTimeoutMs = options.busyTimeoutMs ?? 30_000;
  const shortBusy = Math.min(busyTimeoutMs, 50);
  // The synchronous wait inside SQLite stays short (it blocks the event loop); write() waits longer, asynchronously.
  // Schema changes (rare: opening a collection) wait synchronously for as long as writes do.
  db.pragma(`busy_timeout = ${shortBusy}`);
  const schemaChange = (fn: () => void) => {
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    try {
      db.transaction(fn).immediate();
    } finally {
      db.pragma(`busy_timeout = ${shortBusy}`);
    }
  };
  // Planner statistics, so a query picks the selective index (the claim index over `type`, which every finished job
  // shares): bounded ANALYZE now, at close and every hour, as SQLite recommends for long-running processes.
  const optimize = (flags = '') => {
    try {
      db.pragma('analysis_limit = 400');
      db.pragma(`optimize${flags}`);
    } catch (err) {
      logger.debug({ err }, 'PRAGMA optimize failed');
    }
  };
  optimize('=0x10002');
  const optimizer = setInterval(() => optimize(), 60 * 60_000);
  optimizer.unref();
  const ino = statSync(file).ino;
  const statements = new Map<string, Statement>();
  const prepare = (sql: string): Statement => {
    let st = statements.get(sql);
    if (!st) {
      st = db.prepare(sql);
      // Queries are built from a handful of shapes; the cap only guards against an unbounded variety.
      if (statements.size >= 1000) statements.delete(statements.keys().next().value!);
      statements.set(sql, st);
    }
    return st;
  };
  const fileProblem = (): string | undefined => {
    const st = statSync(file, { throwIfNoEntry: false });
    if (!st) return `database file ${file} was removed`;
    if (st.ino !== ino) return `database file ${file} was replaced by another file`;
    return undefined;
  };
  const checkFile = () => {
    const problem = fileProblem();
    if (problem) {
      throw new ArbiterError('STORE_UNAVAILABLE', `Cannot write: the ${problem}.`, {
        hint: 'Restore the data folder (DATA_DIR) and restart Arbiter.',
      });
    }
  };
  // One transaction wrapper, reused: better-sqlite3 builds its BEGIN/COMMIT statements per wrapper.
  const inTransaction = db.transaction((fn: () => unknown) => fn());
  const ctx: StoreContext = {
    db,
    file,
    ids,
    prepare,
    write: async <R>(fn: () => R): Promise<R> => {
      const deadline = Date.now() + busyTimeoutMs;
      for (let attempt = 0; ; attempt++) {
        checkFile();
        try {
          return db.inTransaction ? fn() : (inTransaction.immediate(fn) as R);
        } catch (err) {
          // SQLite's own wait (a short busy_timeout) polls with growing sleeps that block this process; a writer in
          // another process that commits back to back can outlast it. Retry from here, asynchronously, at short
          // random intervals, so the lock is caught between the other's transactions and this event loop keeps going.
          if (!sqliteCode(err)?.startsWith('SQLITE_BUSY') || Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 1 + Math.random() * Math.min(20, 2 + attempt)));
        }
      }
    },
    read: (fn) => (db.inTransaction ? fn() : (inTransaction.deferred(fn) as ReturnType<typeof fn>)),
    checkFile,
  };
  const collections = new Map<string, SqliteCollection>();
  /** The index specs ensured per collection in this process (a field inside a compound index is not its index). */
  const ensured = new Map<string, Set<string>>();
  let closed = false;

  function open(name: string, indexes: readonly IndexSpec[]): SqliteCollection {
    let coll = collections.get(name);
    const fresh = !coll;
    if (!coll) coll = new SqliteCollection(name, ctx);
    const known = coll;
    const done = ensured.get(name) ?? new Set<string>();
    ensured.set(name, done);
    const missing = indexes.filter((spec) => !done.has(JSON.stringify(spec)));
    if (fresh || missing.length > 0) {
      try {
        schemaChange(() => {
          db.exec(
            `CREATE TABLE IF NOT EXISTS ${ident(name)} (id TEXT PRIMARY KEY NOT NULL, doc TEXT NOT NULL)`,
          );
          for (const spec of indexes) {
            db.exec(createIndexSql(name, spec));
            for (const field of Object.keys(spec.fields)) {
              if (field !== '_id') db.exec(createArrayProbeIndexSql(name, field));
            }
          }
        });
      } catch (err) {
        const code = sqliteCode(err);
        if (code === 'SQLITE_CONSTRAINT_UNIQUE') {
          throw new ArbiterError(
            'STORE_UNAVAILABLE',
            `Cannot create a unique index on ${name}: existing documents have duplicate keys`,
            { cause: err },
          );
        }
        throw mapSqliteError(file, name, err);
      }
    }
    for (const spec of indexes) {
      done.add(JSON.stringify(spec));
      for (const f of Object.keys(spec.fields)) if (f !== '_id') known.indexedFields.add(f);
    }
    collections.set(name, known);
    return known;
  }

  logger.debug({ file }, 'opened the SQLite store');
  return {
    kind: 'embedded',
    description: `embedded SQLite store in ${options.dir}`,
    async collection<T extends Doc>(name: string, indexes: readonly IndexSpec[] = []) {
      if (closed) throw new ArbiterError('STORE_UNAVAILABLE', 'The store is closed.');
      assertCollectionName(name);
      return open(name, indexes) as unknown as Collection<T>;
    },
    async collectionNames() {
      if (closed) throw new ArbiterError('STORE_UNAVAILABLE', 'The store is closed.');
      try {
        const names = db
          .prepare(
            // sqlite_* tables are SQLite's own (planner statistics).
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
          )
          .pluck()
          .all() as string[];
        return names.filter(isCollectionName);
      } catch (err) {
        throw mapSqliteError(file, undefined, err);
      }
    },
    async ping() {
      const started = performance.now();
      const problem = await (async () => {
        if (closed) return 'store closed';
        const gone = fileProblem();
        if (gone) return gone;
        try {
          const probe = open(PROBE_COLLECTION, []);
          const w = { _id: 'probe' };
          await ctx.write(() => {
            prepare(
              `INSERT INTO ${ident(probe.name)} (id, doc) VALUES (?, json(?)) ON CONFLICT(id) DO UPDATE SET doc = excluded.doc`,
            ).run(w._id, encodeJson({ ...w, at: Date.now(), pid: process.pid }));
          });
          return undefined;
        } catch (err) {
          const mapped = mapSqliteError(file, PROBE_COLLECTION, err) as Error;
          return `write probe failed: ${mapped.message}`;
        }
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
      clearInterval(optimizer);
      statements.clear();
      try {
        optimize();
        db.close();
      } catch (err) {
        logger.warn({ err }, 'closing the SQLite store failed');
      }
    },
  };
}
