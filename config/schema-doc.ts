// Field tables from zod schemas: every field of a YAML format with its type, default and description, for the
// generated reference (docs/reference.md) and `arbiter metrics`. Descriptions come from `.describe()` on the schema.
import { z } from 'zod';

/** The parts of a JSON Schema (as zod emits it) the field tables read. */
export type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  pattern?: string;
  additionalProperties?: JsonSchema | boolean;
  format?: string;
};

/** One documented field. */
export interface FieldRow {
  path: string;
  type: string;
  required: boolean;
  default?: string;
  description?: string;
}

/** The JSON Schema of a zod schema as written (input side); refinements and transforms are left out. */
export function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
}

const code = (v: unknown) => `\`${typeof v === 'string' && v !== '' ? v : JSON.stringify(v)}\``;

function range(j: JsonSchema): string {
  // zod's int() carries the safe-integer bounds; they are no range a user chose.
  const min = j.minimum !== undefined && j.minimum > Number.MIN_SAFE_INTEGER ? j.minimum : undefined;
  const lo = min ?? (j.exclusiveMinimum !== undefined ? `>${j.exclusiveMinimum}` : undefined);
  const hi = j.maximum !== undefined && j.maximum < Number.MAX_SAFE_INTEGER ? j.maximum : undefined;
  if (lo === undefined && hi === undefined) return '';
  if (hi === undefined) return typeof lo === 'string' ? ` > ${lo.slice(1)}` : ` ≥ ${lo}`;
  if (lo === undefined) return ` ≤ ${hi}`;
  return typeof lo === 'string' ? ` over ${lo.slice(1)} up to ${hi}` : ` ${lo}–${hi}`;
}

/** A short type in plain text: `text`, `number 0–1`, `` `day` | `week` ``, `list of text`, `one of …` (a Markdown table escapes its pipes). */
export function typeOf(j: JsonSchema): string {
  if (j.const !== undefined) return code(j.const);
  if (j.enum) return j.enum.map(code).join(' | ');
  const alts = j.anyOf ?? j.oneOf;
  if (alts) return [...new Set(alts.map(typeOf))].join(' or ');
  const t = Array.isArray(j.type) ? j.type[0] : j.type;
  switch (t) {
    case 'string':
      if (j.format === 'duration') return 'duration';
      return j.format === 'uri' ? 'URL' : 'text';
    case 'number':
      return `number${range(j)}`;
    case 'integer':
      return `whole number${range(j)}`;
    case 'boolean':
      return '`true` | `false`';
    case 'array':
      return `list of ${j.items ? typeOf(j.items) : 'values'}`;
    case 'object':
      if (j.properties) return 'mapping';
      if (j.additionalProperties && typeof j.additionalProperties === 'object')
        return `mapping of name → ${typeOf(j.additionalProperties)}`;
      return 'mapping';
    default:
      return 'any value';
  }
}

function isObject(j: JsonSchema): boolean {
  return (j.type === 'object' || j.type === undefined) && j.properties !== undefined;
}

/**
 * The rows of an object schema, nested objects flattened to `a.b` and lists of objects to `a[].b`. Paths in `stop`
 * get one row (documented in their own section) instead of being expanded.
 */
export function fieldRows(schema: z.ZodType | JsonSchema, stop: Record<string, string> = {}): FieldRow[] {
  const root = schema instanceof z.ZodType ? jsonSchemaOf(schema) : schema;
  const rows: FieldRow[] = [];
  const walk = (j: JsonSchema, prefix: string) => {
    const required = new Set(j.required ?? []);
    for (const [key, prop] of Object.entries(j.properties ?? {})) {
      const path = prefix ? `${prefix}.${key}` : key;
      const row: FieldRow = {
        path,
        type: stop[path] ?? typeOf(prop),
        required: required.has(key) && prop.default === undefined,
        ...(prop.default !== undefined ? { default: code(prop.default) } : {}),
        ...(prop.description ? { description: prop.description } : {}),
      };
      rows.push(row);
      if (stop[path]) continue;
      if (isObject(prop)) walk(prop, path);
      else if (prop.type === 'array' && prop.items && isObject(prop.items)) walk(prop.items, `${path}[]`);
      else if ((prop.anyOf ?? prop.oneOf)?.length) {
        // A union of object forms (e.g. `threshold: 0.7` or `{score, passRate}`): every form's fields are listed.
        for (const alt of prop.anyOf ?? prop.oneOf ?? []) if (isObject(alt)) walk(alt, path);
      }
    }
  };
  // A schema of several object forms (a dataset reference) lists every form's fields.
  const forms = (root.anyOf ?? root.oneOf ?? []).filter(isObject);
  for (const form of forms.length ? forms : [root]) walk(form, '');
  // A field reachable through two forms is listed once.
  const seen = new Set<string>();
  return rows.filter((r) => {
    if (seen.has(r.path)) return false;
    seen.add(r.path);
    return true;
  });
}
