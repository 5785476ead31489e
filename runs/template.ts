// Placeholders and paths for targets: `{{input}}`-style templates rendered from an item's variables, and
// dot paths or simple JSONPath (`$.a.b[0].c`) to pick an answer out of a JSON response.
import { type PathSegment, pathSegments, readPath } from '../config/index.ts';

/** The variables every template can use (targets' `templateVars` builds them), for the reference docs. */
export const TEMPLATE_VARIABLES = {
  input: "the user's latest message (the row's `input` on the first turn)",
  firstInput: "the row's `input`",
  expected: "the row's `expected` (empty when absent)",
  context: "the row's `context` (empty when absent)",
  metadata: "the row's `metadata`; `{{metadata.x}}` reads one key",
  vars: "the row's `variables`; `{{vars.x}}` reads one key",
  messages:
    'the conversation so far as a list of {role, content}; a JSON body field that is exactly `"{{messages}}"` gets the list itself',
  turn: 'the turn number, from 1',
  conversationId: 'an id for the conversation, stable across resumes (for stateful agents)',
  itemKey: "the item's key",
} as const;

const PLACEHOLDER = /\{\{\s*([\w.-]+)\s*\}\}/g;

/** Looks a dotted name up in the variables (`metadata.lang`, `vars.user`). */
function lookup(vars: Record<string, unknown>, name: string): unknown {
  if (Object.hasOwn(vars, name)) return vars[name];
  return getPath(vars, name);
}

function asText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

/** Renders `{{name}}` placeholders in text; unknown names render empty. */
export function renderText(template: string, vars: Record<string, unknown>): string {
  return template.replace(PLACEHOLDER, (_, name: string) => asText(lookup(vars, name)));
}

/** Placeholder names a template uses. */
export function placeholders(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]!);
}

/**
 * Renders a JSON body template. A string that is exactly one placeholder takes the variable's own JSON value
 * (so `"{{messages}}"` becomes an array); other strings are interpolated. Nothing is spliced into JSON text,
 * so no value can break out of its string.
 */
export function renderJson(template: unknown, vars: Record<string, unknown>): unknown {
  if (typeof template === 'string') {
    const whole = /^\{\{\s*([\w.-]+)\s*\}\}$/.exec(template);
    if (whole) {
      const v = lookup(vars, whole[1]!);
      return v === undefined ? '' : v;
    }
    return renderText(template, vars);
  }
  if (Array.isArray(template)) return template.map((t) => renderJson(t, vars));
  if (template && typeof template === 'object') {
    return Object.fromEntries(Object.entries(template).map(([k, v]) => [k, renderJson(v, vars)]));
  }
  return template;
}

/** Renders a body template written as raw JSON text: placeholder values are JSON-escaped in place. */
export function renderJsonText(template: string, vars: Record<string, unknown>): string {
  return template.replace(PLACEHOLDER, (_, name: string) =>
    JSON.stringify(asText(lookup(vars, name))).slice(1, -1),
  );
}

/** Splits `$.a.b[0]['c.d']` or `a.b.0.c` into segments (the one path grammar, config/); null when malformed. */
export function parsePath(path: string): PathSegment[] | null {
  return pathSegments(path);
}

/** Reads a value at a path; undefined when any step is missing. */
export function getPath(value: unknown, path: string | PathSegment[]): unknown {
  return readPath(value, path);
}
