// Escaping and truncation for Slack mrkdwn, so model output and user data can never notify, link or reformat.
//
// Counting units: every length here is a JavaScript string length (UTF-16 code units), measured on the
// escaped text we actually send. Slack documents its limits in "characters" without saying which unit;
// UTF-16 units are never fewer than code points or grapheme clusters, and the escaped form (`&amp;` is 5)
// is never shorter than what Slack shows, so staying under a limit in our units stays under it in theirs.

import { escapeMrkdwn, WORD_JOINER } from '../chat/index.ts';

// The one escape (chat/message.ts, which commands and domain code use too): re-exported for bot/.
export { escapeMrkdwn, WORD_JOINER };

/** Appended where content was cut; the renderer posts the full text in the thread. */
export const TRUNCATION_MARKER = '… (truncated, full text in thread)';

const ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };
const UNENTITY: Record<string, string> = { amp: '&', lt: '<', gt: '>' };
const UNESCAPE_RE = /&(amp|lt|gt);|([`@])\u2060/g;

/**
 * U+02CB MODIFIER LETTER GRAVE ACCENT: a visible look-alike of "`". Inside a code block it replaces the third
 * backtick of a run, so data cannot close our fence, without an invisible character that would be copied along.
 */
export const CODE_BACKTICK = '\u02CB';

/**
 * Escapes text shown inside a ``` code block (always `verbatim`, where Slack parses no mention): & < > become
 * entities and every third backtick of a run becomes CODE_BACKTICK. Nothing invisible is inserted.
 */
export function escapeCode(text: string): string {
  return text.replace(
    /[&<>]|`{3,}/g,
    (m) => ENTITY[m] ?? m.replace(/``(`)/g, (_r) => `\`\`${CODE_BACKTICK}`),
  );
}

/** Inverse of escapeCode for text that held no CODE_BACKTICK of its own (tests, copying back). */
export function unescapeCode(text: string): string {
  return text
    .replace(new RegExp(`\`\`${CODE_BACKTICK}`, 'g'), '```')
    .replace(/&(amp|lt|gt);/g, (_m, e: string) => UNENTITY[e] ?? '');
}

const URL_IN_TEXT = /https?:\/\/[^\s<>|`]+[^\s<>|`.,;:!?)\]}'"]/gi;

/**
 * Escapes plain text for a `verbatim` mrkdwn element (fields, context), where Slack links nothing by itself: the
 * text is escaped as escapeMrkdwn does, and each raw http(s) URL becomes a link showing that same URL.
 */
export function escapePlainLinked(text: string): string {
  let out = '';
  let last = 0;
  for (const m of text.matchAll(URL_IN_TEXT)) {
    const at = m.index ?? 0;
    out += escapeMrkdwn(text.slice(last, at));
    out += `<${m[0].replace(/&/g, '&amp;')}>`;
    last = at + m[0].length;
  }
  return out + escapeMrkdwn(text.slice(last));
}

/** How many URLs escapePlainLinked turns into links (each costs two more characters than its escaped text). */
export function countLinkedUrls(text: string): number {
  return [...text.matchAll(URL_IN_TEXT)].length;
}

/** Exact inverse of escapeMrkdwn; tests and the console use it to recover the original text. */
export function unescapeMrkdwn(text: string): string {
  return text.replace(UNESCAPE_RE, (_m, entity: string | undefined, guarded: string | undefined) =>
    entity ? (UNENTITY[entity] ?? '') : (guarded ?? ''),
  );
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Replaces lone surrogates with U+FFFD: they cannot be encoded as UTF-8 JSON, so Slack would mangle them anyway. */
export function toWellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD');
}

// The mrkdwn builders live with the escape in chat/message.ts (one rule for the whole code base); bot/ keeps
// its historical names for them.
export { link as slackLink, md as mrkdwn, trusted as rawMrkdwn } from '../chat/index.ts';

/** Options for safeCut. */
export interface CutOptions {
  /** Do not cut inside a `<…>` Slack token (links, mentions) when it closes after the cut. */
  keepTokens?: boolean;
  /** Prefer cutting just after a newline found in the last `preferNewline` fraction of the allowed span. */
  preferNewline?: number;
}

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const GRAPHEME_WINDOW = 64;
const ENTITY_AT = /^&(?:[a-z][a-z0-9]*|#[0-9]+|#x[0-9a-f]+);/i;

function isHigh(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
function isLow(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

function codePointCut(text: string, i: number): number {
  return i > 0 && i < text.length && isLow(text.charCodeAt(i)) && isHigh(text.charCodeAt(i - 1)) ? i - 1 : i;
}

// Grapheme boundaries need context before the cut; a window is enough except for absurdly long clusters
// (thousands of combining marks), where the code-point boundary is the fallback.
function graphemeCut(text: string, i: number): number {
  const from = Math.max(0, i - GRAPHEME_WINDOW);
  const window = text.slice(from, Math.min(text.length, i + GRAPHEME_WINDOW));
  let best = -1;
  for (const { index } of segmenter.segment(window)) {
    const at = from + index;
    if (at > i) break;
    if (at > from || from === 0) best = at;
  }
  return best > 0 ? best : i;
}

function entityCut(text: string, i: number): number {
  const amp = text.lastIndexOf('&', i - 1);
  if (amp < 0 || i - amp > 12) return i;
  const m = ENTITY_AT.exec(text.slice(amp, amp + 14));
  return m && amp + m[0].length > i ? amp : i;
}

// "@herein" is not a mention, but cutting it after "@here" would make one (the marker or the end of the
// piece follows, not a letter), so cut before the "@" instead.
const MENTION_TAIL = /@(?:here|channel|everyone)$/i;
function mentionCut(text: string, i: number): number {
  const m = MENTION_TAIL.exec(text.slice(Math.max(0, i - 9), i));
  return m ? i - m[0].length : i;
}

function tokenCut(text: string, i: number): number {
  const lt = text.lastIndexOf('<', i - 1);
  if (lt < 0 || text.lastIndexOf('>', i - 1) > lt) return i;
  return text.indexOf('>', i) >= 0 ? lt : i;
}

// The best cut ≤ limit, or 0 when nothing safe fits.
function bestCut(text: string, limit: number, options: CutOptions): number {
  if (limit >= text.length) return text.length;
  if (limit <= 0) return 0;
  let i = limit;
  if (options.preferNewline) {
    const nl = text.lastIndexOf('\n', i - 1);
    if (nl >= 0 && nl + 1 >= i - Math.floor(limit * options.preferNewline)) i = nl + 1;
  }
  i = codePointCut(text, graphemeCut(text, codePointCut(text, i)));
  i = entityCut(text, i);
  i = mentionCut(text, i);
  if (options.keepTokens) {
    const t = tokenCut(text, i);
    if (t > 0) i = t;
  }
  return i;
}

/**
 * The largest index ≤ `limit` where `text` can be cut without splitting a surrogate pair, a grapheme
 * cluster (emoji sequences, combining marks), an `&…;` entity, a word starting with @here/@channel/@everyone
 * or (with keepTokens) a `<…>` token.
 * Always returns at least 1 for non-empty text so chunking progresses: when nothing safe fits (one cluster
 * longer than the limit) it falls back to a code-point boundary, which may overshoot a limit of 1.
 */
export function safeCut(text: string, limit: number, options: CutOptions = {}): number {
  const i = bestCut(text, limit, options);
  if (i > 0 || text.length === 0) return i;
  const fallback = codePointCut(text, Math.max(1, limit));
  return fallback > 0 ? fallback : Math.min(2, text.length);
}

/**
 * Shortens `text` to at most `maxChars` UTF-16 units including `marker`, cutting only at safe points
 * (see safeCut). Text that already fits is returned unchanged.
 */
export function truncateText(
  text: string,
  maxChars: number,
  marker: string = TRUNCATION_MARKER,
  options: CutOptions = {},
): string {
  if (text.length <= maxChars) return text;
  if (marker.length >= maxChars) return marker.slice(0, fitCut(marker, maxChars, {}));
  return text.slice(0, fitCut(text, maxChars - marker.length, options)) + marker;
}

// Truncation, unlike splitting, may keep nothing: better an empty prefix than a broken entity or pair.
function fitCut(text: string, limit: number, options: CutOptions): number {
  return bestCut(text, limit, options);
}

/** Splits `text` into consecutive pieces of at most `maxChars` cut at safe points; joined they equal `text`. */
export function splitText(text: string, maxChars: number, options: CutOptions = {}): string[] {
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > maxChars) {
    const cut = safeCut(rest, maxChars, options);
    pieces.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  if (rest.length > 0 || pieces.length === 0) pieces.push(rest);
  return pieces;
}

/** UTF-16 length of `escapeMrkdwn(text)` computed per prefix, so raw text can be split to an escaped budget. */
export function escapedPrefixLengths(text: string): Uint32Array {
  const sums = new Uint32Array(text.length + 1);
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const next = text[i + 1];
    let cost = c === '&' ? 5 : c === '<' || c === '>' ? 4 : 1;
    // Upper bound: a joiner counted here may not be inserted when the piece ends right after this character.
    if ((c === '`' && (next === '`' || next === WORD_JOINER)) || (c === '@' && next !== undefined)) cost += 1;
    sums[i + 1] = (sums[i] ?? 0) + cost;
  }
  return sums;
}

/**
 * Splits raw (unescaped) text into pieces whose escaped form is at most `maxEscaped` long, cut at safe
 * points and preferring line ends; joined, the raw pieces equal `text`.
 */
export function splitForEscapedBudget(text: string, maxEscaped: number): string[] {
  const sums = escapedPrefixLengths(text);
  const pieces: string[] = [];
  let start = 0;
  while (start < text.length) {
    // Largest end whose escaped cost fits (binary search on the monotone prefix sums).
    let lo = start + 1;
    let hi = text.length;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((sums[mid] ?? 0) - (sums[start] ?? 0) <= maxEscaped) lo = mid;
      else hi = mid - 1;
    }
    const end =
      lo >= text.length
        ? text.length
        : start + safeCut(text.slice(start, lo + 1), lo - start, { preferNewline: 0.2 });
    pieces.push(text.slice(start, end));
    start = end;
  }
  return pieces.length > 0 ? pieces : [''];
}
