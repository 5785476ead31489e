import { MongoClient, MongoServerError, type Collection as MongoCollection, type Db } from 'mongodb';
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
import {
  assertCollectionName,
  isCollectionName,
  duplicateKeyError,
  indexName,
  withUpsertId,
} from './shared.ts';

/** Options of the MongoDB store. */
export interface MongoStoreOptions {
  uri: string;
  dbName: string;
  connectTimeoutMs?: number;
  logger?: Logger;
  ids?: Ids;
}

// The driver's generics fight a port typed for two adapters; filters and updates are checked by the port types.
// biome-ignore lint/suspicious/noExplicitAny: boundary cast to the driver's query types
type Loose = any;

function isDuplicate(err: unknown): boolean {
  return (
    typeof err === 'object' &&
    err !== null &&
    ((err as { code?: unknown }).code === 11000 ||
      ((err as { writeErrors?: { code?: number }[] }).writeErrors ?? []).some((e) => e.code === 11000))
  );
}

function keyOf(err: unknown): unknown {
  return (err as { keyValue?: unknown }).keyValue ?? (err as { errmsg?: string }).errmsg ?? 'unique index';
}

/** Host list of a connection string without credentials, for messages. */
export function describeMongoUri(uri: string): string {
  const m = /^mongodb(?:\+srv)?:\/\/(?:[^@/]*@)?([^/?]+)/.exec(uri);
  return m?.[1] ?? 'the configured MongoDB';
}

function stripEmpty(update: Update): Update {
  return Object.fromEntries(
    Object.entries(update).filter(([, v]) => v && Object.keys(v).length > 0),
  ) as Update;
}

type IndexInfo = {
  name: string;
  key: Record<string, unknown>;
  unique?: boolean;
  sparse?: boolean;
  expireAfterSeconds?: number;
};

async function listIndexes(coll: MongoCollection<Loose>): Promise<IndexInfo[]> {
  try {
    return (await coll.listIndexes().toArray()) as IndexInfo[];
  } catch (err) {
    // NamespaceNotFound: the collection does not exist yet, so it has no index.
    if ((err as { code?: number }).code === 26) return [];
    throw err;
  }
}

const sameKey = (a: Record<string, unknown>, b: Record<string, unknown>) =>
  JSON.stringify(a) === JSON.stringify(b);

/**
 * Creates a plain index. An index on the same keys that differs only by a TTL (retention made it one) already
 * serves the queries: MongoDB refuses the same keys twice (IndexOptionsConflict, 85), so it is kept as it is.
 */
async function createPlainIndex(coll: MongoCollection<Loose>, spec: IndexSpec): Promise<void> {
  try {
    await coll.createIndex(spec.fields, {
      name: indexName(spec),
      unique: spec.unique ?? false,
      sparse: spec.sparse ?? false,
    });
  } catch (err) {
    if ((err as { code?: number }).code !== 85 && (err as { code?: number }).code !== 86) throw err;
    const same = (await listIndexes(coll)).find((i) => sameKey(i.key, spec.fields));
    const compatible =
      same !== undefined &&
      (same.unique ?? false) === (spec.unique ?? false) &&
      (same.sparse ?? false) === (spec.sparse ?? false);
    if (!compatible) throw err;
  }
}

/**
 * Retention's TTL index (MongoDB's TTL monitor deletes expired documents about once a minute): created, its age
 * changed in place with collMod (MongoDB ≥ 5.1 also turns a plain index into a TTL one), or, when the rule now keeps
 * documents (ttlMs null), rebuilt without the TTL. A changed ttlFilter needs the index dropped by hand.
 */
async function ensureTtlIndex(
  db: Db,
  coll: MongoCollection<Loose>,
  name: string,
  spec: IndexSpec,
): Promise<void> {
  const existing = (await listIndexes(coll)).find((i) => sameKey(i.key, spec.fields));
  const seconds = spec.ttlMs == null ? undefined : Math.max(1, Math.round(spec.ttlMs / 1000));
  if (!existing) {
    await coll.createIndex(spec.fields, {
      name: indexName(spec),
      ...(seconds === undefined ? {} : { expireAfterSeconds: seconds }),
      ...(seconds !== undefined && spec.ttlFilter
        ? { partialFilterExpression: spec.ttlFilter as Loose }
        : {}),
    });
    return;
  }
  if (existing.expireAfterSeconds === seconds) return;
  if (seconds !== undefined) {
    await db.command({ collMod: name, index: { keyPattern: spec.fields, expireAfterSeconds: seconds } });
    return;
  }
  await coll.dropIndex(existing.name);
  await coll.createIndex(spec.fields, { name: indexName(spec) });
}

class MongoDocCollection<T extends Doc> implements Collection<T> {
  constructor(
    readonly name: string,
    private readonly coll: MongoCollection<Loose>,
    private readonly ids: Ids,
  ) {}

  private async guard<R>(fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (err) {
      if (isDuplicate(err)) throw duplicateKeyError(this.name, keyOf(err), err);
      if (err instanceof MongoServerError || (err instanceof Error && err.name.startsWith('Mongo'))) {
        throw new ArbiterError('STORE_UNAVAILABLE', `MongoDB error on ${this.name}: ${err.message}`, {
          cause: err,
        });
      }
      throw err;
    }
  }

  insertOne(doc: T): Promise<T> {
    return this.guard(async () => {
      await this.coll.insertOne({ ...doc } as Loose);
      return doc;
    });
  }

  insertMany(docs: readonly T[]): Promise<number> {
    if (docs.length === 0) return Promise.resolve(0);
    return this.guard(
      async () =>
        (await this.coll.insertMany(docs.map((d) => ({ ...d })) as Loose, { ordered: true })).insertedCount,
    );
  }

  async findOne(filter: Filter, options: { sort?: Sort } = {}): Promise<T | null> {
    return this.guard(
      async () =>
        (await this.coll.findOne(filter as Loose, options.sort ? { sort: options.sort } : {})) as T | null,
    );
  }

  find(filter: Filter, options: FindOptions = {}): Promise<T[]> {
    return this.guard(async () => {
      let cursor = this.coll.find(filter as Loose);
      if (options.sort) cursor = cursor.sort(options.sort);
      if (options.skip) cursor = cursor.skip(options.skip);
      if (options.limit) cursor = cursor.limit(options.limit);
      return (await cursor.toArray()) as T[];
    });
  }

  count(filter: Filter): Promise<number> {
    return this.guard(() => this.coll.countDocuments(filter as Loose));
  }

  updateOne(filter: Filter, update: Update, options: { upsert?: boolean } = {}): Promise<UpdateResult> {
    const u = stripEmpty(options.upsert ? withUpsertId(filter, update, this.ids) : update);
    const run = async (): Promise<UpdateResult> => {
      const res = await this.coll.updateOne(filter as Loose, u as Loose, { upsert: options.upsert ?? false });
      return res.upsertedId != null
        ? { matched: 0, upsertedId: String(res.upsertedId) }
        : { matched: res.matchedCount };
    };
    // Two concurrent upserts of one key: the loser hits the unique index and must then match the winner's document.
    return this.guard(() =>
      run().catch((err) => (options.upsert && isDuplicate(err) ? run() : Promise.reject(err))),
    );
  }

  updateMany(filter: Filter, update: Update): Promise<UpdateResult> {
    return this.guard(async () => ({
      matched: (await this.coll.updateMany(filter as Loose, stripEmpty(update) as Loose)).matchedCount,
    }));
  }

  findOneAndUpdate(
    filter: Filter,
    update: Update,
    options: { sort?: Sort; upsert?: boolean; returnDocument?: 'before' | 'after' } = {},
  ): Promise<T | null> {
    const u = stripEmpty(options.upsert ? withUpsertId(filter, update, this.ids) : update);
    const run = async () =>
      (await this.coll.findOneAndUpdate(filter as Loose, u as Loose, {
        ...(options.sort ? { sort: options.sort } : {}),
        upsert: options.upsert ?? false,
        returnDocument: options.returnDocument ?? 'after',
        includeResultMetadata: false,
      })) as T | null;
    return this.guard(() =>
      run().catch((err) => (options.upsert && isDuplicate(err) ? run() : Promise.reject(err))),
    );
  }

  deleteOne(filter: Filter): Promise<number> {
    return this.guard(async () => (await this.coll.deleteOne(filter as Loose)).deletedCount);
  }

  deleteMany(filter: Filter): Promise<number> {
    return this.guard(async () => (await this.coll.deleteMany(filter as Loose)).deletedCount);
  }
}

/** Connects to MongoDB with the official driver; fails fast with STORE_UNAVAILABLE naming the host, never the credentials. */
export async function createMongoStore(options: MongoStoreOptions): Promise<DocumentStore> {
  const logger = options.logger ?? createSilentLogger();
  const ids = options.ids ?? systemIds;
  const host = describeMongoUri(options.uri);
  const timeout = options.connectTimeoutMs ?? 5000;
  let client: MongoClient;
  let db: Db;
  try {
    client = new MongoClient(options.uri, {
      appName: 'arbiter',
      serverSelectionTimeoutMS: timeout,
      connectTimeoutMS: timeout,
    });
    await client.connect();
    db = client.db(options.dbName);
    await db.command({ ping: 1 });
  } catch (err) {
    throw new ArbiterError(
      'STORE_UNAVAILABLE',
      `Cannot connect to MongoDB at ${host} (MONGODB_URI): ${(err as Error).message}`,
      {
        hint: 'Check that MongoDB is running and reachable, and that the user and password in MONGODB_URI are right. Unset MONGODB_URI to use the embedded store.',
        cause: err,
      },
    );
  }
  const opened = new Map<string, MongoDocCollection<Doc>>();
  let closed = false;
  logger.debug({ host, db: options.dbName }, 'connected to MongoDB');
  return {
    kind: 'mongodb',
    description: `MongoDB at ${host}, database ${options.dbName}`,
    async collection<T extends Doc>(name: string, indexes: readonly IndexSpec[] = []) {
      assertCollectionName(name);
      const coll = db.collection(name);
      for (const spec of indexes) {
        try {
          if (spec.ttlMs !== undefined) await ensureTtlIndex(db, coll, name, spec);
          else await createPlainIndex(coll, spec);
        } catch (err) {
          throw new ArbiterError(
            'STORE_UNAVAILABLE',
            `Cannot create index ${indexName(spec)} on ${name}: ${(err as Error).message}`,
            { cause: err },
          );
        }
      }
      let wrapped = opened.get(name);
      if (!wrapped) {
        wrapped = new MongoDocCollection<Doc>(name, coll, ids);
        opened.set(name, wrapped);
      }
      return wrapped as unknown as Collection<T>;
    },
    async collectionNames() {
      try {
        const found = await db.listCollections({}, { nameOnly: true }).toArray();
        return found
          .map((c) => c.name)
          .filter(isCollectionName)
          .sort();
      } catch (err) {
        throw new ArbiterError(
          'STORE_UNAVAILABLE',
          `Cannot list the collections of ${options.dbName}: ${(err as Error).message}`,
          { cause: err },
        );
      }
    },
    async ping() {
      const started = performance.now();
      if (closed) return { ok: false, latencyMs: 0, error: 'store closed' };
      try {
        await db.command({ ping: 1 });
        // A server that answers may still refuse writes (disk full, a read-only secondary, lost quorum).
        await db
          .collection<{ _id: string }>('health')
          .updateOne({ _id: 'probe' }, { $set: { at: new Date() } }, { upsert: true });
        return { ok: true, latencyMs: performance.now() - started };
      } catch (err) {
        return {
          ok: false,
          latencyMs: performance.now() - started,
          error: `write probe failed: ${(err as Error).message}`,
        };
      }
    },
    async close() {
      closed = true;
      await client.close();
    },
  };
}
