// The one path grammar of suites and monitors for reading a field out of a JSON value: `$.a.b[0].c` (JSONPath-like,
// `$` is the whole value), `a.b.0.c` (the same without the root), `[-1]` (the last element), `['c.d']` (a key with
// dots), and `$name` (a named regex group of a monitor's `extract.patterns`, not a path into the value).

/** One step of a path: a key, or a list index (negative counts from the end). */
export type PathSegment = string | number;

/** A parsed path: steps into the value, or a named group. */
export type FieldPath = { kind: 'path'; segments: PathSegment[] } | { kind: 'group'; name: string };

const GROUP_RE = /^\$([A-Za-z_][\w]*)$/;
const STEP_RE = /^(?:\.?([^.[\]'"\s][^.[\]]*)|\[(-?\d+)\]|\[(['"])(.*?)\3\])/;

/** Parses a path; null when it is malformed (`a..b`, `$.a[`). */
export function parseFieldPath(text: string): FieldPath | null {
  const trimmed = text.trim();
  const group = GROUP_RE.exec(trimmed);
  if (group) return { kind: 'group', name: group[1]! };
  let p = trimmed;
  if (p === '$' || p === '') return { kind: 'path', segments: [] };
  if (p.startsWith('$.') || p.startsWith('$[')) p = p.slice(1);
  else if (p.startsWith('.')) return null;
  const out: PathSegment[] = [];
  while (p.length > 0) {
    const m = STEP_RE.exec(p);
    if (!m) return null;
    if (m[1] !== undefined) out.push(/^\d+$/.test(m[1]) ? Number(m[1]) : m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else out.push(m[4]!);
    p = p.slice(m[0].length);
  }
  return { kind: 'path', segments: out };
}

/** The steps of a path into a value; null when malformed or a `$group`. */
export function pathSegments(text: string): PathSegment[] | null {
  const parsed = parseFieldPath(text);
  return parsed?.kind === 'path' ? parsed.segments : null;
}

/** Reads the value at a path (text or parsed steps); undefined when a step is missing. Own keys only. */
export function readPath(value: unknown, path: string | readonly PathSegment[]): unknown {
  const segments = typeof path === 'string' ? pathSegments(path) : path;
  if (!segments) return undefined;
  let cur: unknown = value;
  for (const s of segments) {
    if (cur === null || cur === undefined) return undefined;
    if (Array.isArray(cur)) {
      // A numeric step indexes a list; `-1` is its last element.
      if (typeof s !== 'number') return undefined;
      cur = cur.at(s);
    } else if (typeof cur === 'object') {
      const key = String(s);
      if (!Object.hasOwn(cur, key)) return undefined;
      cur = (cur as Record<string, unknown>)[key];
    } else return undefined;
  }
  return cur;
}

/** The message for a malformed path, with the forms that are accepted. */
export const PATH_FORMS =
  'expected a path such as $.a.b[0].c, a.b.0.c, messages[-1].content or $group (a named regex group)';
