// Translation of the document-store port (filters, sorts, updates, indexes) into SQL over a table of JSON documents.
// Values are always bound parameters; only JSON paths built from field names (validated, quoted) are part of the SQL
// text, because an expression index is used only when the query repeats its expression literally.
import { ArbiterError } from '../config/index.ts';
import type { Doc, Filter, IndexSpec, Sort, Update } from './port.ts';
import { isOperatorObject } from './shared.ts';

/** SQLite values better-sqlite3 binds. */
export type SqlValue = string | number | bigint | null;

/**
 * JSON has no Date, and the store must order and compare Dates: a Date is stored as a string `\u0001D` + its ISO form,
 * which compares in time order. A stored string that itself starts with \u0001 is escaped as `\u0001S` + string, so
 * decoding is exact.
 */
const TAG = '\u0001';
const DATE_TAG = `${TAG}D`;
const STRING_TAG = `${TAG}S`;
/** Strings at or above this sort after every tagged value: the lower bound of a range over plain strings. */
const PLAIN_STRING_FLOOR = '\u0002';

function invalid(message: string, hint?: string): ArbiterError {
  return new ArbiterError('STORE_INVALID_DOCUMENT', message, hint ? { hint } : {});
}

/** A stored scalar for a Date or a string (tagging as above); other values unchanged. */
function encodeScalar(v: unknown): unknown {
  if (v instanceof Date) {
    const t = v.getTime();
    if (Number.isNaN(t)) throw invalid('Cannot store an invalid Date.');
    return DATE_TAG + v.toISOString();
  }
  if (typeof v === 'string' && v.charCodeAt(0) === 1) return STRING_TAG + v;
  return v;
}

function replacer(this: unknown, key: string, value: unknown): unknown {
  if (key !== '' && !Array.isArray(this) && (key.includes('.') || key.startsWith('$'))) {
    throw invalid(
      `Field names cannot contain a "." or begin with "$": ${JSON.stringify(key)}`,
      'Store external JSON whose keys may contain "." or "$" as a string.',
    );
  }
  // JSON.stringify has already called Date#toJSON: read the original from the holder.
  const original = key === '' && !this ? value : (this as Record<string, unknown>)[key];
  return encodeScalar(original instanceof Date ? original : value);
}

/** The JSON text stored for a document or a value. */
export function encodeJson(value: unknown): string {
  const text = JSON.stringify({ v: value }, replacer);
  // Wrapped so the top-level value goes through the replacer with a holder; unwrap the text.
  return text === undefined ? 'null' : text.slice(5, -1) || 'null';
}

function reviver(_key: string, value: unknown): unknown {
  if (typeof value === 'string' && value.charCodeAt(0) === 1) {
    if (value.startsWith(DATE_TAG)) return new Date(value.slice(2));
    if (value.startsWith(STRING_TAG)) return value.slice(2);
  }
  return value;
}

/** A stored document: a JSON object with a string `_id` (what `insertRow` accepts). */
function isDoc(value: unknown): value is Doc {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    '_id' in value &&
    typeof value._id === 'string'
  );
}

/**
 * A document read back from its JSON text, checked to be one (an object with a string `_id`); anything else in the
 * table is reported, not passed on. The document's own type is the collection's (`collection<T>()`), not decided here.
 */
export function decodeDoc(text: string): Doc {
  // Tagged values are rare in a document without Dates; skip the reviver's cost when there are none.
  const value: unknown = text.includes('\\u0001') ? JSON.parse(text, reviver) : JSON.parse(text);
  if (isDoc(value)) return value;
  throw new ArbiterError(
    'STORE_INVALID_DOCUMENT',
    `A stored document is not an object with a string _id: ${text.slice(0, 80)}`,
  );
}

/** The SQLite value a filter compares with (strings and Dates tagged as stored; booleans as 0/1). */
function bindScalar(v: unknown): SqlValue {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return Number.isInteger(v) && Number.isSafeInteger(v) ? BigInt(v) : v;
  const e = encodeScalar(v);
  if (typeof e === 'string' || e === null) return e;
  throw new ArbiterError('INTERNAL', `Unsupported value in a store filter: ${typeof v}`);
}

/** The `id` column holds the `_id` as given (only the JSON copy is tagged). */
function idValue(v: unknown): SqlValue {
  if (typeof v === 'string') return v;
  return bindScalar(v);
}

/** A double-quoted identifier (collection and index names are validated before they get here). */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The JSON path literal of a dot path, e.g. `'$."profile"."city"'`. */
export function jsonPath(field: string): string {
  const parts = field.split('.');
  for (const p of parts) {
    if (p.length === 0 || p.includes('"') || p.includes("'") || p.startsWith('$') || p.includes('\\')) {
      throw new ArbiterError('INTERNAL', `Invalid field path in a store query: ${JSON.stringify(field)}`);
    }
  }
  return `'$.${parts.map((p) => `"${p}"`).join('.')}'`;
}

/** The SQL expression of a field: the `id` column for `_id`, else json_extract over the document. */
export function fieldExpr(field: string): string {
  return field === '_id' ? 'id' : `json_extract(doc, ${jsonPath(field)})`;
}

function typeExpr(field: string): string {
  return `json_type(doc, ${jsonPath(field)})`;
}

/** How the compiler treats array-valued fields: the query knows which fields may hold arrays. */
export interface CompileContext {
  /**
   * True when the field may hold an array (MongoDB matches an element then). Fields without an index are always
   * assumed to; an indexed field only when a document holds an array there, so its lookups stay on the index.
   */
  mayBeArray(field: string): boolean;
}

/** A compiled SQL fragment with its parameters in order. */
export interface Sql {
  sql: string;
  params: SqlValue[];
}

class Compiler {
  readonly params: SqlValue[] = [];
  constructor(private readonly ctx: CompileContext) {}

  private bind(v: SqlValue): string {
    this.params.push(v);
    return '?';
  }

  /** Equality with one value, MongoDB style: an array field matches when an element equals it. */
  private eq(field: string, value: unknown): string {
    const x = fieldExpr(field);
    if (field === '_id') return value === null ? 'id IS NULL' : `id = ${this.bind(idValue(value))}`;
    if (value === null || value === undefined) return `${x} IS NULL`;
    if (typeof value === 'object' && !(value instanceof Date)) {
      // Whole-object or whole-array equality: compare the canonical JSON texts.
      return `(${typeExpr(field)} IN ('object', 'array') AND ${x} = json(${this.bind(encodeJson(value))}))`;
    }
    let scalar: string;
    if (typeof value === 'boolean') {
      scalar = `(${x} = ${this.bind(value ? 1 : 0)} AND ${typeExpr(field)} = '${value ? 'true' : 'false'}')`;
    } else if (typeof value === 'number') {
      scalar = `(${x} = ${this.bind(bindScalar(value))} AND ${typeExpr(field)} IN ('integer', 'real'))`;
    } else {
      scalar = `${x} = ${this.bind(bindScalar(value))}`;
    }
    if (!this.ctx.mayBeArray(field)) return scalar;
    return `(${scalar} OR (${typeExpr(field)} = 'array' AND EXISTS (SELECT 1 FROM json_each(doc, ${jsonPath(field)}) WHERE value = ${this.bind(bindScalar(value))})))`;
  }

  private inList(field: string, values: readonly unknown[]): string {
    if (values.length === 0) return '0';
    const x = fieldExpr(field);
    if (field === '_id') return `id IN (${values.map((v) => this.bind(idValue(v))).join(', ')})`;
    const texts = values.every((v) => typeof v === 'string' || v instanceof Date);
    const plain = values.every((v) => typeof v === 'string' || typeof v === 'number' || v instanceof Date);
    if (!this.ctx.mayBeArray(field) || !plain) {
      if (texts) return `${x} IN (${values.map((v) => this.bind(bindScalar(v))).join(', ')})`;
      return `(${values.map((v) => this.eq(field, v)).join(' OR ')})`;
    }
    // Strings, numbers and Dates on a field that may hold arrays: the value itself, or an element, in the list.
    const list = () => values.map((v) => this.bind(bindScalar(v))).join(', ');
    return `(${x} IN (${list()}) OR (${typeExpr(field)} = 'array' AND EXISTS (SELECT 1 FROM json_each(doc, ${jsonPath(field)}) WHERE value IN (${list()}))))`;
  }

  /** A range bound, bracketed by type as MongoDB does: numbers compare with numbers, strings with strings, Dates with Dates. */
  private range(field: string, op: string, value: unknown): string {
    const sqlOp = { $gt: '>', $gte: '>=', $lt: '<', $lte: '<=' }[op]!;
    const x = fieldExpr(field);
    if (field === '_id') return `id ${sqlOp} ${this.bind(idValue(value))}`;
    const bound = `${x} ${sqlOp} ${this.bind(bindScalar(value))}`;
    if (value instanceof Date) {
      // Every tagged Date lies in [\u0001D, \u0001E): stays a range on the indexed expression.
      return `(${bound} AND ${x} >= ${this.bind(DATE_TAG)} AND ${x} < ${this.bind(`${TAG}E`)})`;
    }
    if (typeof value === 'string') return `(${bound} AND ${x} >= ${this.bind(PLAIN_STRING_FLOOR)})`;
    if (typeof value === 'number') {
      // Numbers sort below all text in SQLite; booleans read back as 0/1 and are excluded by type.
      return `(${bound} AND ${x} < ${this.bind('')} AND ${typeExpr(field)} IN ('integer', 'real'))`;
    }
    if (value === null) return '0';
    return bound;
  }

  private fieldCondition(field: string, cond: unknown): string {
    if (!isOperatorObject(cond)) return this.eq(field, cond);
    const parts: string[] = [];
    for (const [op, v] of Object.entries(cond)) {
      switch (op) {
        case '$eq':
          parts.push(this.eq(field, v));
          break;
        case '$ne':
          parts.push(`NOT COALESCE(${this.eq(field, v)}, 0)`);
          break;
        case '$in':
          parts.push(this.inList(field, v as readonly unknown[]));
          break;
        case '$nin':
          parts.push(`NOT COALESCE(${this.inList(field, v as readonly unknown[])}, 0)`);
          break;
        case '$gt':
        case '$gte':
        case '$lt':
        case '$lte':
          parts.push(this.range(field, op, v));
          break;
        case '$exists':
          parts.push(field === '_id' ? (v ? '1' : '0') : `${typeExpr(field)} IS ${v ? 'NOT NULL' : 'NULL'}`);
          break;
        default:
          throw new ArbiterError('INTERNAL', `Unsupported filter operator ${op} on ${field}`);
      }
    }
    return parts.length === 0 ? '1' : parts.join(' AND ');
  }

  filter(f: Filter): string {
    const parts: string[] = [];
    for (const [key, value] of Object.entries(f)) {
      if (value === undefined) continue;
      if (key === '$or' || key === '$and') {
        const subs = (value as Filter[]).map((s) => `(${this.filter(s)})`);
        if (subs.length === 0) parts.push(key === '$or' ? '0' : '1');
        else parts.push(`(${subs.join(key === '$or' ? ' OR ' : ' AND ')})`);
        continue;
      }
      if (key.startsWith('$')) throw new ArbiterError('INTERNAL', `Unsupported filter operator ${key}`);
      parts.push(this.fieldCondition(key, value));
    }
    return parts.length === 0 ? '1' : parts.join(' AND ');
  }
}

/** The WHERE clause of a filter. */
export function compileFilter(filter: Filter, ctx: CompileContext): Sql {
  const c = new Compiler(ctx);
  const sql = c.filter(filter);
  return { sql, params: c.params };
}

/** Fields a filter tests for equality or membership (those that may need the array probe). */
export function equalityFields(filter: Filter, out = new Set<string>()): Set<string> {
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$or' || key === '$and') {
      for (const s of value as Filter[]) equalityFields(s, out);
      continue;
    }
    if (key === '_id' || key.startsWith('$')) continue;
    if (!isOperatorObject(value)) out.add(key);
    else if (['$eq', '$ne', '$in', '$nin'].some((op) => op in value)) out.add(key);
  }
  return out;
}

/** The ORDER BY clause (empty without a sort). */
export function compileSort(sort: Sort | undefined): string {
  if (!sort) return '';
  const keys = Object.entries(sort);
  if (keys.length === 0) return '';
  return ` ORDER BY ${keys.map(([f, d]) => `${fieldExpr(f)} ${d === -1 ? 'DESC' : 'ASC'}`).join(', ')}`;
}

/** Binds a JSON value inserted by json_set (its text, parsed by json()). */
function jsonParam(c: SqlValue[], v: unknown): string {
  c.push(encodeJson(v));
  return 'json(?)';
}

/**
 * The SQL expression of the document after an update, over the column `doc` as it was. Operators on one path never
 * combine (as in MongoDB), so each reads the field's old value from `doc`.
 */
export function compileUpdate(update: Update, options: { includeSetOnInsert?: boolean } = {}): Sql | null {
  const params: SqlValue[] = [];
  let expr = 'doc';
  const check = (field: string) => {
    if (field === '_id') throw new ArbiterError('INTERNAL', 'The _id of a document cannot be updated.');
    return jsonPath(field);
  };
  const unset = Object.keys(update.$unset ?? {});
  if (unset.length > 0) expr = `json_remove(${expr}, ${unset.map(check).join(', ')})`;
  const sets: string[] = [];
  const set = { ...(options.includeSetOnInsert ? update.$setOnInsert : {}), ...update.$set };
  for (const [field, value] of Object.entries(set)) {
    if (field === '_id') continue;
    sets.push(`${check(field)}, ${jsonParam(params, value)}`);
  }
  for (const [field, by] of Object.entries(update.$inc ?? {})) {
    if (typeof by !== 'number' || !Number.isFinite(by))
      throw new ArbiterError('INTERNAL', `$inc of ${field} needs a finite number`);
    params.push(bindScalar(by));
    sets.push(`${check(field)}, COALESCE(${fieldExpr(field)}, 0) + ?`);
  }
  for (const [field, value] of Object.entries(update.$push ?? {})) {
    const p = check(field);
    sets.push(
      `${p}, json_insert(COALESCE(json_extract(doc, ${p}), '[]'), '$[#]', ${jsonParam(params, value)})`,
    );
  }
  for (const [op, cmp] of [
    ['$max', '<'],
    ['$min', '>'],
  ] as const) {
    for (const [field, value] of Object.entries(update[op] ?? {})) {
      const x = fieldExpr(field);
      params.push(bindScalar(value));
      const json = jsonParam(params, value);
      sets.push(`${check(field)}, CASE WHEN ${x} IS NULL OR ${x} ${cmp} ? THEN ${json} ELSE ${x} END`);
    }
  }
  if (sets.length > 0) expr = `json_set(${expr}, ${sets.join(', ')})`;
  if (expr === 'doc') return null;
  return { sql: expr, params };
}

/** The name of an index in SQLite: collection, fields and options (so a changed spec gets a new index). */
export function sqlIndexName(table: string, spec: IndexSpec): string {
  const fields = Object.entries(spec.fields)
    .map(([f, d]) => `${f}_${d}`)
    .join('_');
  return `${table}__${fields}${spec.unique ? '__u' : ''}${spec.sparse ? '__s' : ''}`;
}

/** CREATE INDEX for a spec: an expression index; sparse ones partial (only documents that have a key). */
export function createIndexSql(table: string, spec: IndexSpec): string {
  const fields = Object.entries(spec.fields);
  const cols = fields.map(([f, d]) => `${fieldExpr(f)}${d === -1 ? ' DESC' : ''}`).join(', ');
  const where = spec.sparse
    ? ` WHERE ${fields.map(([f]) => `${fieldExpr(f)} IS NOT NULL`).join(' OR ')}`
    : '';
  return `CREATE ${spec.unique ? 'UNIQUE ' : ''}INDEX IF NOT EXISTS ${ident(sqlIndexName(table, spec))} ON ${ident(table)} (${cols})${where}`;
}

/** A partial index of the documents whose field holds an array: makes "does any?" an index probe. */
export function createArrayProbeIndexSql(table: string, field: string): string {
  return `CREATE INDEX IF NOT EXISTS ${ident(`${table}__arr__${field}`)} ON ${ident(table)} (id) WHERE ${typeExpr(field)} = 'array'`;
}

/** The probe that uses that index. */
export function arrayProbeSql(table: string, field: string): string {
  return `SELECT 1 FROM ${ident(table)} WHERE ${typeExpr(field)} = 'array' LIMIT 1`;
}
