// Extractors: a source record -> an Item, by dot paths and named regex groups configured in YAML. Pure.
import { DEFAULT_FIELD_MAX_BYTES, oversizedField, parseFieldPath, readPath } from '../config/index.ts';
import { type Item, readToolCalls } from '../evaluators/index.ts';
import type { ExtractSpec } from './schema.ts';

/**
 * Reads a path of the one path grammar (`$.a.b[0].c`, `a.b.0.c`, `messages[-1].content`) from a value; undefined
 * when any step is missing.
 */
export function getPath(value: unknown, path: string): unknown {
  return readPath(value, path);
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

/** Every path an extractor reads, as dot paths without a `$` root (a source asks only for the fields they need). */
export function extractPaths(spec: ExtractSpec): string[] {
  const paths = [
    spec.input,
    spec.output,
    ...(spec.context ? [spec.context] : []),
    ...(spec.expected ? [spec.expected] : []),
    ...(spec.toolCalls ? [spec.toolCalls] : []),
    ...(spec.expectedToolCalls ? [spec.expectedToolCalls] : []),
    ...(spec.id ? [spec.id] : []),
    ...Object.values(spec.metadata ?? {}),
    ...spec.patterns.map((p) => p.from),
  ];
  return paths.flatMap((p) => {
    const parsed = parseFieldPath(p);
    return parsed?.kind === 'path' ? [parsed.segments.map(String).join('.')] : [];
  });
}

/** The named group a `$name` path reads, if it is one. */
function groupOf(path: string): string | undefined {
  const parsed = parseFieldPath(path);
  return parsed?.kind === 'group' ? parsed.name : undefined;
}

/** Result of extracting one record. */
export type ExtractResult =
  | { ok: true; item: Item & { id: string } }
  | { ok: false; id: string; reason: string };

/**
 * Applies an extractor; a `$name` path reads a named group of one of the `patterns`. A field over `maxFieldBytes`
 * (RECORD_FIELD_MAX_BYTES) makes the record unusable, with a reason naming the field.
 */
export function extractItem(
  record: unknown,
  spec: ExtractSpec,
  recordId: string,
  maxFieldBytes: number = DEFAULT_FIELD_MAX_BYTES,
): ExtractResult {
  const groups: Record<string, string> = {};
  for (const p of spec.patterns) {
    const text = asText(getPath(record, p.from));
    if (text === undefined)
      return { ok: false, id: recordId, reason: `pattern field '${p.from}' is missing` };
    // Checked before the pattern runs: a team's regex over megabytes can take very long.
    const tooBig = oversizedField({ [p.from]: text }, maxFieldBytes);
    if (tooBig) return { ok: false, id: recordId, reason: tooBig };
    const m = new RegExp(p.regex, 's').exec(text);
    if (!m) return { ok: false, id: recordId, reason: `pattern /${p.regex}/ does not match '${p.from}'` };
    Object.assign(groups, m.groups ?? {});
  }
  const read = (path: string) => {
    const group = groupOf(path);
    return group !== undefined ? groups[group] : asText(getPath(record, path));
  };
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
      const group = groupOf(path);
      const v = group !== undefined ? groups[group] : getPath(record, path);
      if (v !== undefined) md[k] = v;
    }
    item.metadata = md;
  }
  const tooBig = oversizedField(
    {
      [spec.input]: item.input,
      [spec.output]: item.output,
      ...(spec.context ? { [spec.context]: item.context } : {}),
      ...(spec.expected ? { [spec.expected]: item.expected } : {}),
      ...(item.metadata ? { metadata: item.metadata } : {}),
    },
    maxFieldBytes,
  );
  if (tooBig) return { ok: false, id: recordId, reason: tooBig };
  return { ok: true, item };
}
