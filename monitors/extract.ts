// Extractors: a source record -> an Item, by dot paths and named regex groups configured in YAML. Pure.
import { type Item, readToolCalls } from '../evaluators/index.ts';
import type { ExtractSpec } from './schema.ts';

/** Reads `a.b[0].c` (or `a.b.0.c`; `[-1]` is the last element) from a value; undefined when any step is missing. */
export function getPath(value: unknown, path: string): unknown {
  const steps = path
    .replace(/\[(-?\d+)\]/g, '.$1')
    .split('.')
    .filter(Boolean);
  let cur: unknown = value;
  for (const step of steps) {
    if (cur === null || cur === undefined) return undefined;
    if (Array.isArray(cur)) {
      const i = Number(step);
      cur = Number.isInteger(i) ? cur.at(i) : undefined;
    } else if (typeof cur === 'object') cur = (cur as Record<string, unknown>)[step];
    else return undefined;
  }
  return cur;
}

/** Text of an extracted value: strings as is, chat messages as their contents, anything else as JSON. */
export function asText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.every((m) => m && typeof m === 'object' && 'content' in m)) {
    return value.map((m) => asText((m as { content: unknown }).content) ?? '').join('\n');
  }
  return JSON.stringify(value);
}

/** Every dot path an extractor reads (a source uses them to ask only for the fields they need). */
export function extractPaths(spec: ExtractSpec): string[] {
  return [
    spec.input,
    spec.output,
    ...(spec.context ? [spec.context] : []),
    ...(spec.expected ? [spec.expected] : []),
    ...(spec.toolCalls ? [spec.toolCalls] : []),
    ...(spec.expectedToolCalls ? [spec.expectedToolCalls] : []),
    ...(spec.id ? [spec.id] : []),
    ...Object.values(spec.metadata ?? {}),
    ...spec.patterns.map((p) => p.from),
  ].filter((p) => !p.startsWith('$'));
}

/** Result of extracting one record. */
export type ExtractResult =
  | { ok: true; item: Item & { id: string } }
  | { ok: false; id: string; reason: string };

/** Applies an extractor; a `$name` path reads a named group of one of the `patterns`. */
export function extractItem(record: unknown, spec: ExtractSpec, recordId: string): ExtractResult {
  const groups: Record<string, string> = {};
  for (const p of spec.patterns) {
    const text = asText(getPath(record, p.from));
    if (text === undefined)
      return { ok: false, id: recordId, reason: `pattern field '${p.from}' is missing` };
    const m = new RegExp(p.regex, 's').exec(text);
    if (!m) return { ok: false, id: recordId, reason: `pattern /${p.regex}/ does not match '${p.from}'` };
    Object.assign(groups, m.groups ?? {});
  }
  const read = (path: string) =>
    path.startsWith('$') ? groups[path.slice(1)] : asText(getPath(record, path));
  const input = read(spec.input);
  if (input === undefined) return { ok: false, id: recordId, reason: `input '${spec.input}' is missing` };
  const output = read(spec.output);
  if (output === undefined) return { ok: false, id: recordId, reason: `output '${spec.output}' is missing` };
  const id = spec.id ? (read(spec.id) ?? recordId) : recordId;
  const item: Item & { id: string } = { id, input, output };
  if (spec.context) {
    const c = read(spec.context);
    if (c !== undefined) item.context = c;
  }
  if (spec.expected) {
    const e = read(spec.expected);
    if (e !== undefined) item.expected = e;
  }
  // Tool calls are structured: read as values, never as text. A record whose calls do not read is not an item.
  for (const field of ['toolCalls', 'expectedToolCalls'] as const) {
    const path = spec[field];
    if (!path) continue;
    const raw = getPath(record, path);
    if (raw === undefined || raw === null) continue;
    const calls = readToolCalls(raw);
    if (!calls.ok) return { ok: false, id: recordId, reason: `${field} '${path}': ${calls.error}` };
    item[field] = calls.calls;
  }
  if (spec.metadata) {
    const md: Record<string, unknown> = {};
    for (const [k, path] of Object.entries(spec.metadata)) {
      const v = path.startsWith('$') ? groups[path.slice(1)] : getPath(record, path);
      if (v !== undefined) md[k] = v;
    }
    item.metadata = md;
  }
  return { ok: true, item };
}
