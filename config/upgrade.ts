// Old forms of the YAML files, accepted for one release: helpers an `Upgrade` (see yaml.ts) is written with. Each
// rewrites the raw document in place before validation and warns with the new form to write instead.
import { basename } from 'node:path';
import { formatDuration } from './duration.ts';

type Warn = (
  path: readonly PropertyKey[],
  message: string,
  moved?: { from: readonly PropertyKey[]; to: readonly PropertyKey[] },
) => void;
type Mapping = Record<string, unknown>;

/** True for a YAML mapping (not a list, not a scalar). */
export function isMapping(v: unknown): v is Mapping {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every mapping a path pattern reaches (`'*'` is each element of a list), with its path. */
export function mappingsAt(
  data: unknown,
  pattern: readonly (string | number)[],
): { obj: Mapping; path: (string | number)[] }[] {
  let at: { value: unknown; path: (string | number)[] }[] = [{ value: data, path: [] }];
  for (const seg of pattern) {
    at = at.flatMap(({ value, path }) => {
      if (seg === '*')
        return Array.isArray(value) ? value.map((v, i) => ({ value: v, path: [...path, i] })) : [];
      if (Array.isArray(value) || !isMapping(value) || !(seg in value)) return [];
      return [{ value: value[seg], path: [...path, seg] }];
    });
  }
  return at
    .filter((a): a is { value: Mapping; path: (string | number)[] } => isMapping(a.value))
    .map((a) => ({
      obj: a.value,
      path: a.path,
    }));
}

/** A value as YAML flow text for a message: `15s`, `[a, b]`, `{every: 1h}`. */
export function yamlText(v: unknown): string {
  if (typeof v === 'string')
    return /^[\w./@$:-][\w ./@$:-]*$/.test(v) && !/:\s/.test(v) ? v : JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(yamlText).join(', ')}]`;
  if (isMapping(v))
    return `{${Object.entries(v)
      .map(([k, x]) => `${k}: ${yamlText(x)}`)
      .join(', ')}}`;
  return JSON.stringify(v);
}

/** The warning text of an old form: what was written, and what to write instead. */
export function oldFormMessage(written: string, instead: string): string {
  return `\`${written}\` is the old form and will stop working in a later release; write \`${instead}\``;
}

/**
 * Renames an old key of a mapping to its new one (converting the value), with a warning showing the new form. A
 * mapping that has both keys is left alone: validation then reports the old key as unknown.
 */
export function renameKey(
  obj: Mapping,
  path: readonly (string | number)[],
  from: string,
  to: string,
  warn: Warn,
  convert: (v: unknown) => unknown = (v) => v,
): void {
  if (!(from in obj) || to in obj) return;
  const old = obj[from];
  const value = convert(old);
  delete obj[from];
  obj[to] = value;
  warn([...path, from], oldFormMessage(`${from}: ${yamlText(old)}`, `${to}: ${yamlText(value)}`), {
    from: [...path, from],
    to: [...path, to],
  });
}

/** Replaces an old value of an enum key (`most_recent` → `most-recent`), with a warning. */
export function renameValue(
  obj: Mapping,
  path: readonly (string | number)[],
  key: string,
  from: string,
  to: string,
  warn: Warn,
): void {
  if (obj[key] !== from) return;
  obj[key] = to;
  warn([...path, key], oldFormMessage(`${key}: ${from}`, `${key}: ${to}`));
}

/** Milliseconds written as a number (`timeoutMs: 15000`) as a duration (`15s`); anything else unchanged. */
export function msAsDuration(v: unknown): unknown {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
    ? v === 0
      ? '0s'
      : formatDuration(v)
    : v;
}

/** Seconds written as a number (`minIntervalSeconds: 60`) as a duration (`1m`); anything else unchanged. */
export function secondsAsDuration(v: unknown): unknown {
  return typeof v === 'number' && v >= 0 && Number.isSafeInteger(v * 1000) ? msAsDuration(v * 1000) : v;
}

/** Load warnings a message shows at most (one context line each); the rest are counted. */
export const MAX_WARNING_NOTES = 5;

/**
 * A file's load warnings (`/dir/m.yaml:4:1: schedule: …`) as short notes for a message, where the user acts:
 * `⚠ m.yaml:4:1: schedule: …`, the file by its name, at most MAX_WARNING_NOTES and then how many more. Plain text:
 * the renderer escapes it once.
 */
export function warningNotes(warnings: readonly string[]): string[] {
  const notes = warnings.slice(0, MAX_WARNING_NOTES).map((w) => {
    const at = /^(.+?):(\d+):(\d+): /.exec(w);
    return `⚠ ${at ? `${basename(at[1]!)}:${at[2]}:${at[3]}: ${w.slice(at[0].length)}` : w}`;
  });
  const more = warnings.length - notes.length;
  if (more > 0) notes.push(`⚠ … and ${more} more warning${more === 1 ? '' : 's'} (see the start-up log)`);
  return notes;
}
