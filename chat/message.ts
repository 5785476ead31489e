// The transport-neutral message every command returns; bot/ renders it to Block Kit, the console to text.

/** A button; `value` is opaque to users (never put identities in it for blind reviews). */
export interface MessageButton {
  text: string;
  actionId: string;
  value: string;
  style?: 'primary' | 'danger';
  /** Confirmation dialog before the action runs. */
  confirm?: { title: string; text: string; confirm: string; deny: string };
  /** An http(s) link the button opens in the browser (Slack still sends the click to the action id). */
  url?: string;
}

/** Action id of the *Open report* link buttons (their clicks need no handling: the browser opens the page). */
export const OPEN_REPORT_ACTION_ID = 'report:open';

/** An *Open report* link button section, or none when there is no link (no PUBLIC_URL). */
export function openReportSection(url: string | undefined): MessageSection[] {
  return url
    ? [
        {
          kind: 'buttons',
          buttons: [{ text: 'Open report', actionId: OPEN_REPORT_ACTION_ID, value: '', url }],
        },
      ]
    : [];
}

// One escaping rule for everything that reaches Slack mrkdwn:
// - `title`, `summary`, field labels and values, context items, code, button texts and image alt texts are PLAIN
//   text: the renderer escapes each exactly once (the console shows them as they are);
// - `text` sections, and `fields`/`context` sections marked `mrkdwn: true`, are mrkdwn WE write: build them with
//   the `md` template, which escapes every interpolated value exactly once; mentions and links that are meant to
//   ping or link come only from `mention`, `channelMention` and `link`, which validate what they wrap.
// So no caller escapes by hand except through `md`/`escapeMrkdwn` inside mrkdwn, and a summary is never escaped.

/**
 * Escapes untrusted text (model output, names from Langfuse or Slack, echoed user input) for mrkdwn: & < > become
 * entities, so `<!channel>`, `<@U…>` and links in the data stay inert, and bare @here/@channel/@everyone and
 * backtick runs get an invisible word joiner. The one escape of the code base (bot/slack-text.ts re-exports it).
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(ESCAPE_RE, (m) => ENTITY[m] ?? m + WORD_JOINER);
}

/**
 * U+2060 WORD JOINER: invisible, zero-width, and (unlike U+200B) not a line-break opportunity, so
 * `@⁠here` never wraps between `@` and `here`. It is a Unicode "default ignorable", so renderers hide it.
 */
export const WORD_JOINER = '\u2060';

const ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

// One pass: the three control characters Slack requires escaped, plus a word joiner after
// - "@" starting @here/@channel/@everyone (Slack's automatic parsing, `verbatim: false`, `link_names`,
//   `parse: full` can turn these bare words into broadcasts), and
// - "`" followed by "`", so no run of three backticks survives to open or close a code fence.
// The joiner is also inserted when the next character already is a joiner; that keeps the transform a
// bijection (see bot/slack-text.ts unescapeMrkdwn), so text posted in pieces can be reassembled exactly.
const ESCAPE_RE = /[&<>]|`(?=[`\u2060])|@(?=\u2060|(?:here|channel|everyone)(?![\p{L}\p{N}_]))/giu;

/** A piece of mrkdwn built on purpose (a mention, a link, an `md` result); `md` inserts it unescaped. */
export class Mrkdwn {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const USER_ID = /^[UW][A-Z0-9_]{2,}$/;
const CHANNEL_ID = /^[CGD][A-Z0-9_]{2,}$/;
const SAFE_URL = /^https?:\/\/[^\s<>|]+$/i;

/** `<@U…>`: pings the user. Anything that is not a user id is shown as escaped text instead. */
export function mention(userId: string): Mrkdwn {
  return new Mrkdwn(USER_ID.test(userId) ? `<@${userId}>` : escapeMrkdwn(userId));
}

/** `<#C…>`: links the channel (Slack shows its name). A `#name` or anything else is shown as escaped text. */
export function channelMention(channelId: string): Mrkdwn {
  return new Mrkdwn(CHANNEL_ID.test(channelId) ? `<#${channelId}>` : escapeMrkdwn(channelId));
}

/** `<url|label>` for an http(s) URL (label escaped, `|` cannot occur); anything else is shown as escaped text. */
export function link(url: string, label?: string): Mrkdwn {
  // `|` ends the URL part of a link: percent-encoded, as a browser would send it anyway.
  const encoded = url.replaceAll('|', '%7C');
  if (!SAFE_URL.test(encoded)) return new Mrkdwn(escapeMrkdwn(label ? `${label} (${url})` : url));
  const safeUrl = encoded.replace(/&/g, '&amp;');
  const safeLabel = label ? escapeMrkdwn(label.replace(/[\r\n]+/g, ' ')).replace(/\|/g, '¦') : '';
  return new Mrkdwn(safeLabel ? `<${safeUrl}|${safeLabel}>` : `<${safeUrl}>`);
}

/** Marks text we wrote as mrkdwn to insert as it is (formatting only: never data). */
export function trusted(text: string): Mrkdwn {
  return new Mrkdwn(text);
}

/**
 * Template for mrkdwn: the literal parts are ours, every interpolated value is escaped exactly once unless it is a
 * Mrkdwn (mention, channelMention, link, trusted). Example: md`*Run* ${name} by ${mention(user)}`.
 */
export function md(strings: TemplateStringsArray, ...values: unknown[]): string {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += value instanceof Mrkdwn ? value.text : escapeMrkdwn(String(value ?? ''));
    out += strings[i + 1] ?? '';
  });
  return out;
}

/**
 * The plain text a reader sees of our mrkdwn (for a `summary`, which is plain): links become their label,
 * mentions `@U…`/`#C…`, entities are undone. Formatting marks stay.
 */
export function plainText(mrkdwn: string): string {
  return mrkdwn
    .replace(/<([^<>]*)>/g, (_m, inner: string) => {
      const [target = '', label] = inner.split('|', 2);
      if (target.startsWith('@') || target.startsWith('#')) return label ? `${target[0]}${label}` : target;
      if (target.startsWith('!')) return label ?? `@${target.slice(1).replace(/\^.*$/, '')}`;
      return label ?? target;
    })
    .replace(/&(amp|lt|gt);|([`@])\u2060/g, (_m, e: string | undefined, guarded: string | undefined) =>
      e === 'lt' ? '<' : e === 'gt' ? '>' : e === 'amp' ? '&' : (guarded ?? ''),
    );
}

/** A block of content inside a message. */
export type MessageSection =
  /** Mrkdwn written by us, built with `md` (every value in it escaped once). */
  | { kind: 'text'; text: string }
  /** Label/value pairs shown side by side; plain text, or values in mrkdwn built with `md` when `mrkdwn`. */
  | { kind: 'fields'; fields: { label: string; value: string }[]; mrkdwn?: boolean }
  /** Preformatted text such as model output or a diff (shown as code, never interpreted as markup). */
  | { kind: 'code'; text: string; label?: string }
  /** Small grey notes; plain text, or mrkdwn built with `md` when `mrkdwn`. */
  | { kind: 'context'; items: string[]; mrkdwn?: boolean }
  | { kind: 'buttons'; buttons: MessageButton[] }
  | { kind: 'divider' }
  /** An image already reachable by URL, or a local file the transport uploads. */
  | { kind: 'image'; alt: string; url?: string; path?: string };

/** A transport-neutral message: title, sections, optional thread replies. */
export interface Message {
  title: string;
  sections: MessageSection[];
  /** Plain-text summary used for notifications and as Slack's `text` fallback (never escaped by the caller). */
  summary?: string;
  /** Posted as replies in the thread of this message. */
  thread?: Message[];
  /** Only the requesting user sees it (Slack ephemeral). */
  ephemeral?: boolean;
}
