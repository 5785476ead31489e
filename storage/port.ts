// The document-store port: the small subset of MongoDB's API that both adapters implement
// identically. Repositories are written against this, never against an adapter.

/** Every stored document has a string `_id` that Arbiter chooses. */
export type Doc = { _id: string };

type Scalar = string | number | boolean | Date | null;

/** Comparison operators supported on a field. */
export interface FieldOps {
  $eq?: unknown;
  $ne?: unknown;
  $gt?: Scalar;
  $gte?: Scalar;
  $lt?: Scalar;
  $lte?: Scalar;
  $in?: readonly unknown[];
  $nin?: readonly unknown[];
  $exists?: boolean;
}

/**
 * A query: field (dot paths allowed) → value or operators, plus `$or`/`$and`.
 * Avoid matching on `null` (MongoDB also matches missing fields, the embedded store does not): use `$exists`.
 */
export type Filter = {
  [field: string]: unknown;
  $or?: Filter[];
  $and?: Filter[];
};

/** Update operators supported by both adapters. */
export interface Update {
  $set?: Record<string, unknown>;
  $unset?: Record<string, true | '' | 1>;
  $inc?: Record<string, number>;
  $push?: Record<string, unknown>;
  $max?: Record<string, Scalar>;
  $min?: Record<string, Scalar>;
  /** Applied only when an upsert inserts. */
  $setOnInsert?: Record<string, unknown>;
}

/** Sort order by field, 1 ascending and -1 descending; ties broken by insertion order is NOT guaranteed. */
export type Sort = Record<string, 1 | -1>;

/** Options for `find`. */
export interface FindOptions {
  sort?: Sort;
  skip?: number;
  limit?: number;
}

/** An index on one or more fields. */
export interface IndexSpec {
  fields: Record<string, 1 | -1>;
  unique?: boolean;
  /**
   * Only index documents that have the field(s); lets a unique index ignore documents without the key.
   * Keys of a sparse unique index must be strings or numbers (the embedded store cannot tell a Date from a missing key there).
   */
  sparse?: boolean;
  /**
   * Retention on MongoDB: a TTL index that removes a document this long after the date in its one field (null: no
   * TTL, an existing one is removed). Embedded stores keep a plain index and sweep instead (see retention.ts).
   */
  ttlMs?: number | null;
  /** With `ttlMs`: only documents matching this filter expire (a partial index on MongoDB). */
  ttlFilter?: Filter;
}

/** What `updateOne`/`updateMany` did. */
export interface UpdateResult {
  /** Documents that matched the filter (0 or 1 for updateOne; 0 when an upsert inserted). */
  matched: number;
  /** Set when an upsert inserted a new document. */
  upsertedId?: string;
}

/** A typed collection of documents. */
export interface Collection<T extends Doc> {
  readonly name: string;
  /** Inserts one document; throws STORE_DUPLICATE_KEY on a unique-index violation. */
  insertOne(doc: T): Promise<T>;
  /** Inserts in order; stops at the first unique violation (earlier documents stay inserted) and throws it. */
  insertMany(docs: readonly T[]): Promise<number>;
  findOne(filter: Filter, options?: { sort?: Sort }): Promise<T | null>;
  find(filter: Filter, options?: FindOptions): Promise<T[]>;
  count(filter: Filter): Promise<number>;
  updateOne(filter: Filter, update: Update, options?: { upsert?: boolean }): Promise<UpdateResult>;
  updateMany(filter: Filter, update: Update): Promise<UpdateResult>;
  /**
   * Atomically finds the first match (by `sort`) and updates it. Returns the document after the update
   * (or before, with `returnDocument: 'before'`), or null when nothing matched and no upsert happened.
   */
  findOneAndUpdate(
    filter: Filter,
    update: Update,
    options?: { sort?: Sort; upsert?: boolean; returnDocument?: 'before' | 'after' },
  ): Promise<T | null>;
  deleteOne(filter: Filter): Promise<number>;
  deleteMany(filter: Filter): Promise<number>;
}

/** Health of the store as seen by /healthz. */
export interface StoreHealth {
  ok: boolean;
  latencyMs: number;
  error?: string;
}

/** A document store: named collections with indexes. */
export interface DocumentStore {
  readonly kind: 'embedded' | 'mongodb';
  /** A short description for the start-up line (never includes credentials). */
  readonly description: string;
  /** Opens (creating if needed) a collection and ensures its indexes. */
  collection<T extends Doc>(name: string, indexes?: readonly IndexSpec[]): Promise<Collection<T>>;
  /** The names of the collections the store holds (created by a write or an open), sorted; none is created. */
  collectionNames(): Promise<string[]>;
  ping(): Promise<StoreHealth>;
  close(): Promise<void>;
}
