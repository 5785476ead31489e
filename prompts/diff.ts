// Readable diffs between two prompt versions: text prompts line by line (Myers), chat prompts per message,
// config changes listed by key path. Pure functions; the alert message renders their output.
import type { PromptChatMessage } from '../langfuse/index.ts';

/** One step of an edit script between sequences a and b. */
export type Edit =
  | { op: 'equal'; a: number; b: number }
  | { op: 'delete'; a: number }
  | { op: 'insert'; b: number };

// Myers keeps one V array per edit distance step; past this many cells the diff falls back to
// "replace everything" rather than allocate hundreds of MB for two unrelated huge prompts.
const MAX_TRACE_CELLS = 4_000_000;

/** Shortest edit script from a to b (Myers' O((N+M)D) algorithm after trimming the common prefix/suffix). */
export function diffSequences(a: readonly string[], b: readonly string[]): Edit[] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start += 1;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA -= 1;
    endB -= 1;
  }
  const head: Edit[] = Array.from({ length: start }, (_, i) => ({ op: 'equal', a: i, b: i }));
  const tail: Edit[] = Array.from({ length: a.length - endA }, (_, i) => ({
    op: 'equal',
    a: endA + i,
    b: endB + i,
  }));
  const middle = myers(a, b, start, endA, start, endB);
  return [...head, ...middle, ...tail];
}

function myers(
  a: readonly string[],
  b: readonly string[],
  a0: number,
  a1: number,
  b0: number,
  b1: number,
): Edit[] {
  const n = a1 - a0;
  const m = b1 - b0;
  const replaceAll = (): Edit[] => [
    ...Array.from({ length: n }, (_, i): Edit => ({ op: 'delete', a: a0 + i })),
    ...Array.from({ length: m }, (_, i): Edit => ({ op: 'insert', b: b0 + i })),
  ];
  if (n === 0 || m === 0) return replaceAll();
  const max = n + m;
  const off = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = -1;
  for (let d = 0; d <= max && found < 0; d++) {
    if ((trace.length + 1) * v.length > MAX_TRACE_CELLS) return replaceAll();
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x =
        k === -d || (k !== d && v[off + k - 1]! < v[off + k + 1]!) ? v[off + k + 1]! : v[off + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[a0 + x] === b[b0 + y]) {
        x += 1;
        y += 1;
      }
      v[off + k] = x;
      if (x >= n && y >= m) {
        found = d;
        break;
      }
    }
  }
  const edits: Edit[] = [];
  let x = n;
  let y = m;
  for (let d = found; d >= 0; d--) {
    const vd = trace[d]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && vd[off + k - 1]! < vd[off + k + 1]!) ? k + 1 : k - 1;
    const prevX = d === 0 ? 0 : vd[off + prevK]!;
    const prevY = d === 0 ? 0 : prevX - prevK;
    while (x > prevX && y > prevY) {
      x -= 1;
      y -= 1;
      edits.push({ op: 'equal', a: a0 + x, b: b0 + y });
    }
    if (d > 0) {
      if (x === prevX) edits.push({ op: 'insert', b: b0 + prevY });
      else edits.push({ op: 'delete', a: a0 + prevX });
    }
    x = prevX;
    y = prevY;
  }
  return edits.reverse();
}

/** Unified-diff lines (`@@ -a,b +c,d @@`, `  same`, `- old`, `+ new`) with `context` unchanged lines around changes. */
export function unifiedLines(a: readonly string[], b: readonly string[], context = 3): string[] {
  const edits = diffSequences(a, b);
  const changed = edits.map((e) => e.op !== 'equal');
  if (!changed.includes(true)) return [];
  const out: string[] = [];
  let i = 0;
  while (i < edits.length) {
    if (!changed[i]) {
      i += 1;
      continue;
    }
    // A hunk runs from `context` lines before this change to `context` lines after the last change within reach.
    const from = Math.max(0, i - context);
    let to = i;
    while (to < edits.length) {
      let next = to + 1;
      while (next < edits.length && !changed[next] && next - to <= 2 * context + 1) next += 1;
      if (next < edits.length && changed[next] && next - to <= 2 * context + 1) to = next;
      else break;
    }
    const end = Math.min(edits.length, to + context + 1);
    const hunk = edits.slice(from, end);
    const aStart = firstIndex(hunk, 'a');
    const bStart = firstIndex(hunk, 'b');
    const aLen = hunk.filter((e) => e.op !== 'insert').length;
    const bLen = hunk.filter((e) => e.op !== 'delete').length;
    out.push(
      `@@ -${aLen === 0 ? aStart : aStart + 1},${aLen} +${bLen === 0 ? bStart : bStart + 1},${bLen} @@`,
    );
    for (const e of hunk) {
      if (e.op === 'equal') out.push(`  ${a[e.a]}`);
      else if (e.op === 'delete') out.push(`- ${a[e.a]}`);
      else out.push(`+ ${b[e.b]}`);
    }
    i = end;
  }
  return out;
}

function firstIndex(hunk: readonly Edit[], side: 'a' | 'b'): number {
  for (const e of hunk) {
    if (side === 'a' && e.op !== 'insert') return e.a;
    if (side === 'b' && e.op !== 'delete') return e.b;
  }
  return 0;
}

/** A change of one config key (dot path; arrays are compared whole). Values are JSON, cut to 200 chars. */
export interface ConfigChange {
  path: string;
  kind: 'added' | 'removed' | 'changed';
  before?: string;
  after?: string;
}

function flatten(value: unknown, prefix: string, out: Map<string, string>): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0 && prefix) out.set(prefix, '{}');
    for (const [k, v] of entries) flatten(v, prefix ? `${prefix}.${k}` : k, out);
    return;
  }
  if (prefix) out.set(prefix, JSON.stringify(value) ?? 'undefined');
}

const cut = (s: string, n = 200) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** Config changes between two versions, sorted by key path. */
export function diffConfig(before: unknown, after: unknown): ConfigChange[] {
  const a = new Map<string, string>();
  const b = new Map<string, string>();
  flatten(before ?? {}, '', a);
  flatten(after ?? {}, '', b);
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  const out: ConfigChange[] = [];
  for (const path of keys) {
    const x = a.get(path);
    const y = b.get(path);
    if (x === y) continue;
    if (x === undefined) out.push({ path, kind: 'added', after: cut(y!) });
    else if (y === undefined) out.push({ path, kind: 'removed', before: cut(x) });
    else out.push({ path, kind: 'changed', before: cut(x), after: cut(y) });
  }
  return out;
}

type RoleMessage = { role: string; content: string };

// zod's loose objects widen both variants; a message is a placeholder exactly when it has no role.
function asRole(m: PromptChatMessage): RoleMessage | undefined {
  return typeof (m as { role?: unknown }).role === 'string' ? (m as RoleMessage) : undefined;
}

function placeholderName(m: PromptChatMessage): string {
  return String((m as { name?: unknown }).name ?? '');
}

function messageKey(m: PromptChatMessage): string {
  const r = asRole(m);
  return r ? `${r.role}\u0000${r.content}` : `placeholder\u0000${placeholderName(m)}`;
}

function messageLabel(m: PromptChatMessage): string {
  return asRole(m)?.role ?? `placeholder {{${placeholderName(m)}}}`;
}

function messageLines(m: PromptChatMessage): string[] {
  const r = asRole(m);
  return r ? r.content.split('\n') : [`{{${placeholderName(m)}}}`];
}

/** Per-message diff of two chat prompts: messages aligned by content, neighbouring removals and additions paired as edits. */
export function chatDiffLines(
  before: readonly PromptChatMessage[],
  after: readonly PromptChatMessage[],
): string[] {
  const edits = diffSequences(before.map(messageKey), after.map(messageKey));
  const out: string[] = [];
  let i = 0;
  while (i < edits.length) {
    const e = edits[i]!;
    if (e.op === 'equal') {
      i += 1;
      continue;
    }
    const dels: number[] = [];
    const ins: number[] = [];
    while (i < edits.length && edits[i]!.op !== 'equal') {
      const x = edits[i]!;
      if (x.op === 'delete') dels.push(x.a);
      else if (x.op === 'insert') ins.push(x.b);
      i += 1;
    }
    const pairs = Math.min(dels.length, ins.length);
    for (let p = 0; p < pairs; p++) {
      const old = before[dels[p]!]!;
      const now = after[ins[p]!]!;
      const roleNote =
        messageLabel(old) === messageLabel(now)
          ? messageLabel(now)
          : `${messageLabel(old)} → ${messageLabel(now)}`;
      out.push(`Message ${ins[p]! + 1} (${roleNote}) changed:`);
      const body = unifiedLines(messageLines(old), messageLines(now));
      out.push(...(body.length > 0 ? body.map((l) => `  ${l}`) : ['  (role changed only)']));
    }
    for (const d of dels.slice(pairs)) {
      out.push(`Message ${d + 1} (${messageLabel(before[d]!)}) removed:`);
      out.push(...messageLines(before[d]!).map((l) => `  - ${l}`));
    }
    for (const n of ins.slice(pairs)) {
      out.push(`Message ${n + 1} (${messageLabel(after[n]!)}) added:`);
      out.push(...messageLines(after[n]!).map((l) => `  + ${l}`));
    }
  }
  return out;
}

/** The content and config of one version, all a diff needs. */
export type PromptContent = { version: number; config: unknown } & (
  | { type: 'text'; prompt: string }
  | { type: 'chat'; prompt: readonly PromptChatMessage[] }
);

/** A readable diff between two versions of a prompt. */
export interface PromptDiff {
  fromVersion: number | undefined;
  toVersion: number;
  /** Content diff lines (unified for text, per message for chat); empty when the content is unchanged. */
  content: string[];
  config: ConfigChange[];
  /** Lines (or messages) added and removed, for the one-line summary. */
  stats: { added: number; removed: number };
  typeChanged?: { from: PromptContent['type']; to: PromptContent['type'] };
}

function asLines(p: PromptContent): string[] {
  if (p.type === 'text') return p.prompt.split('\n');
  return p.prompt.flatMap((m) => {
    const lines = messageLines(m);
    return [`[${messageLabel(m)}] ${lines[0] ?? ''}`, ...lines.slice(1)];
  });
}

/** Diffs two versions (`before` undefined: the first version, everything added). */
export function diffPrompts(before: PromptContent | undefined, after: PromptContent): PromptDiff {
  const base = {
    fromVersion: before?.version,
    toVersion: after.version,
    config: diffConfig(before?.config, after.config),
  };
  let content: string[];
  let typeChanged: PromptDiff['typeChanged'];
  if (before && before.type === 'chat' && after.type === 'chat')
    content = chatDiffLines(before.prompt, after.prompt);
  else {
    if (before && before.type !== after.type) typeChanged = { from: before.type, to: after.type };
    content = unifiedLines(before ? asLines(before) : [], asLines(after));
  }
  // Counted on a plain line diff of both versions, so text and chat prompts report comparable figures.
  const lineEdits = diffSequences(before ? asLines(before) : [], asLines(after));
  const added = lineEdits.filter((e) => e.op === 'insert').length;
  const removed = lineEdits.filter((e) => e.op === 'delete').length;
  return { ...base, content, stats: { added, removed }, ...(typeChanged ? { typeChanged } : {}) };
}

/** The whole diff as plain text (the thread shows it in full). */
export function renderPromptDiff(diff: PromptDiff): string {
  const parts: string[] = [];
  if (diff.typeChanged) parts.push(`Type changed: ${diff.typeChanged.from} → ${diff.typeChanged.to}`);
  parts.push(diff.content.length > 0 ? diff.content.join('\n') : 'Prompt text unchanged.');
  if (diff.config.length > 0) {
    parts.push(
      [
        'Config:',
        ...diff.config.map((c) =>
          c.kind === 'added'
            ? `  + ${c.path}: ${c.after}`
            : c.kind === 'removed'
              ? `  - ${c.path}: ${c.before}`
              : `  ~ ${c.path}: ${c.before} → ${c.after}`,
        ),
      ].join('\n'),
    );
  }
  return parts.join('\n\n');
}
