import type { Ids } from '../config/index.ts';
import { ArbiterError } from '../config/index.ts';
import type { Filter, IndexSpec, Update } from './port.ts';

/** Collection names both adapters accept (also safe as file names). */
const COLLECTION_NAME = /^[a-z][a-z0-9_-]{0,63}$/;

/** Whether `name` is a valid collection name (internal tables and files are not). */
export function isCollectionName(name: string): boolean {
  return COLLECTION_NAME.test(name);
}

export function assertCollectionName(name: string): void {
  if (!COLLECTION_NAME.test(name)) {
    throw new ArbiterError(
      'INTERNAL',
      `Invalid collection name "${name}": use lowercase letters, digits, - and _`,
    );
  }
}

/** A filter value that holds query operators (`{ $gt: 1 }`), as opposed to a literal to match. */
export function isOperatorObject(v: unknown): v is Record<string, unknown> {
  return (
    typeof v === 'object' &&
    v !== null &&
    !(v instanceof Date) &&
    !Array.isArray(v) &&
    Object.keys(v).some((k) => k.startsWith('$'))
  );
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur = target;
  for (const part of parts.slice(0, -1)) {
    const next = cur[part];
    if (typeof next !== 'object' || next === null) cur[part] = {};
    cur = cur[part] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
}

/** The document an upsert starts from: the filter's equality conditions (as MongoDB does). */
export function upsertSeed(filter: Filter): Record<string, unknown> {
  const seed: Record<string, unknown> = {};
  const visit = (f: Filter) => {
    for (const [key, value] of Object.entries(f)) {
      if (key === '$and' && Array.isArray(value)) for (const sub of value) visit(sub as Filter);
      if (key.startsWith('$')) continue;
      if (!isOperatorObject(value)) setPath(seed, key, value);
      else if (value && typeof value === 'object' && '$eq' in value)
        setPath(seed, key, (value as { $eq: unknown }).$eq);
    }
  };
  visit(filter);
  return seed;
}

/**
 * Makes sure an upsert inserts a string `_id` chosen by us (MongoDB would otherwise create an ObjectId).
 * Returns the update with `$setOnInsert._id` added when neither the filter nor the update fixes the id.
 */
export function withUpsertId(filter: Filter, update: Update, ids: Ids): Update {
  if (typeof filter._id === 'string' || typeof update.$setOnInsert?._id === 'string') return update;
  return { ...update, $setOnInsert: { ...update.$setOnInsert, _id: ids.newId() } };
}

/** A stable name for an index from its fields, e.g. `type_1_status_1`. */
export function indexName(spec: IndexSpec): string {
  return Object.entries(spec.fields)
    .map(([f, d]) => `${f}_${d}`)
    .join('_');
}

/** Wraps a unique-index violation in the typed error every adapter throws. */
export function duplicateKeyError(collection: string, key: unknown, cause?: unknown): ArbiterError {
  return new ArbiterError('STORE_DUPLICATE_KEY', `Duplicate key in ${collection}: ${safeJson(key)}`, {
    details: { collection, key },
    cause,
  });
}

function safeJson(v: unknown): string {
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 200 ? `${s.slice(0, 200)}…` : s;
  } catch {
    return String(v);
  }
}

/** Serializes async critical sections (per collection in the embedded store). */
export function createMutex() {
  let tail: Promise<unknown> = Promise.resolve();
  return function run<T>(fn: () => Promise<T>): Promise<T> {
    // `tail` never rejects (see below), so `fn` runs only after the previous section settled.
    const result = tail.then(fn);
    tail = result.catch(() => undefined);
    return result;
  };
}
