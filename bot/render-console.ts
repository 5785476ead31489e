// Renders a transport-neutral Message as readable terminal text for the console transport (no Slack token).
import type { Message, MessageButton, MessageSection } from '../chat/index.ts';
import { unescapeMrkdwn } from './slack-text.ts';

/** Options for renderConsole. */
export interface ConsoleRenderOptions {
  /** Target line width in terminal columns (default 80, minimum 20). */
  width?: number;
  /** Use ANSI colours (default false: no escape sequence is ever emitted). */
  color?: boolean;
  /**
   * Numbers a button so the console user can `click <n>` it; called once per button, in display order. Without
   * it buttons show as `[ Label ] (action.id)`.
   */
  buttonNumber?: (button: MessageButton) => number | undefined;
}

const ANSI = {
  bold: '\x1b[1m',
  dim: '\x1b[2m',
  cyan: '\x1b[36m',
  red: '\x1b[31m',
  green: '\x1b[32m',
  reset: '\x1b[0m',
};
type Style = keyof Omit<typeof ANSI, 'reset'>;
type Paint = (s: string, style: Style) => string;

// Model output can carry terminal escape sequences (cursor moves, screen clears, OSC hyperlinks) and
// bidi overrides that make text display differently from what it is; show them instead of obeying them.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNSAFE_CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

/** Makes untrusted text inert for a terminal: control characters become visible `\xNN` / `<U+NNNN>` escapes. */
export function sanitizeForTerminal(text: string): string {
  return text.replace(UNSAFE_CONTROL, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `<U+${code.toString(16).toUpperCase()}>`;
  });
}

const ZERO_WIDTH = /^[\p{M}\u200b-\u200f\u2060\ufeff]$/u;
const WIDE =
  /^[\p{Emoji_Presentation}\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{20000}-\u{3fffd}]$/u;

/** Approximate terminal columns of `text` (wide CJK and emoji count 2, combining marks 0). */
export function displayWidth(text: string): number {
  let width = 0;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: our own colour codes take no columns
  for (const ch of text.replace(/\x1b\[[0-9;]*m/g, '')) {
    if (ZERO_WIDTH.test(ch)) continue;
    width += WIDE.test(ch) ? 2 : 1;
  }
  return width;
}

function wrapLine(line: string, width: number): string[] {
  if (displayWidth(line) <= width) return [line];
  const out: string[] = [];
  let current = '';
  for (const token of line.split(/(\s+)/)) {
    if (token.length === 0) continue;
    if (displayWidth(current + token) <= width) {
      current += token;
      continue;
    }
    if (current.trim().length > 0) out.push(current.trimEnd());
    current = '';
    if (/^\s+$/.test(token)) continue;
    // A word longer than the line is broken by code points.
    for (const ch of token) {
      if (current.length > 0 && displayWidth(current + ch) > width) {
        out.push(current);
        current = '';
      }
      current += ch;
    }
  }
  if (current.trim().length > 0) out.push(current.trimEnd());
  return out;
}

function wrap(text: string, width: number): string[] {
  return text.split('\n').flatMap((line) => wrapLine(line, width));
}

// Our `text` sections (and fields/context marked `mrkdwn`) are Slack mrkdwn: show links and mentions the way Slack
// would, *bold* and `code` as a terminal can (ANSI when colour is on; without colour bold loses its asterisks and
// code keeps its backticks), then undo escaping. The text is made inert before, so our own ANSI codes survive.
function mrkdwnToPlain(text: string, paint: Paint = (s) => s): string {
  const linked = text.replace(/<([^<>]*)>/g, (_m, inner: string) => {
    const [target = '', label] = inner.split('|', 2);
    if (target.startsWith('@')) return label ? `@${label.replace(/^@/, '')}` : target;
    if (target.startsWith('#')) return label ? `#${label}` : target;
    if (target.startsWith('!subteam^')) return label ?? '@group';
    if (target.startsWith('!date^')) return label ?? '';
    if (target.startsWith('!')) return `@${target.slice(1)}`;
    return label ? `${label} (${target})` : target;
  });
  const styled = linked
    .replace(
      /(^|[\s([])\*([^*\n]*[^*\s])\*(?=$|[\s).,:;!?\]])/g,
      (_m, pre: string, inner: string) => `${pre}${paint(inner, 'bold')}`,
    )
    .replace(/(^|[\s([])_([^_\n]*[^_\s])_(?=$|[\s).,:;!?\]])/g, '$1$2')
    .replace(/`([^`\n]+)`/g, (m, inner: string) =>
      paint(inner, 'cyan') === inner ? m : paint(inner, 'cyan'),
    );
  return unescapeMrkdwn(styled);
}

function buttonLabel(
  button: MessageButton,
  paint: (s: string, style: Style) => string,
  n: number | undefined,
): string {
  const style: Style = button.style === 'danger' ? 'red' : button.style === 'primary' ? 'green' : 'cyan';
  const confirm = button.confirm ? ', asks to confirm' : '';
  const text = sanitizeForTerminal(button.text);
  // A link button opens its page: the terminal shows the address to copy (nothing to click).
  if (button.url) return `${paint(`[ ${text} ]`, style)} ${paint(sanitizeForTerminal(button.url), 'dim')}`;
  // A numbered button is clicked with `click <n>`; its action id is noise for the reader then.
  if (n !== undefined)
    return `${paint(`[${n}] ${text}`, style)}${confirm ? paint(` (${confirm.slice(2)})`, 'dim') : ''}`;
  const id = sanitizeForTerminal(button.actionId);
  return `${paint(`[ ${text} ]`, style)}${paint(` (${id}${confirm})`, 'dim')}`;
}

type NumberFn = ConsoleRenderOptions['buttonNumber'];

function renderSection(
  section: MessageSection,
  width: number,
  paint: (s: string, style: Style) => string,
  number: NumberFn,
): string[] {
  switch (section.kind) {
    case 'text':
      return wrap(mrkdwnToPlain(sanitizeForTerminal(section.text), paint), width);
    case 'fields': {
      const fields = section.fields
        .map((f) => ({
          label: sanitizeForTerminal(f.label),
          value: section.mrkdwn
            ? mrkdwnToPlain(sanitizeForTerminal(f.value), paint)
            : sanitizeForTerminal(f.value),
        }))
        .filter((f) => f.label.trim() || f.value.trim());
      const labelWidth = Math.min(24, Math.max(0, ...fields.map((f) => displayWidth(f.label))));
      return fields.flatMap((f) => {
        const pad = ' '.repeat(Math.max(0, labelWidth - displayWidth(f.label)));
        const head = `${paint(f.label, 'bold')}${pad}  `;
        const indent = ' '.repeat(Math.min(labelWidth + 2, Math.floor(width / 2)));
        const lines = wrap(f.value || '–', Math.max(10, width - indent.length));
        return lines.map((line, i) => (i === 0 ? head + line : indent + line));
      });
    }
    case 'code': {
      const lines = sanitizeForTerminal(section.text).split('\n');
      const label = section.label ? [paint(`${sanitizeForTerminal(section.label)}:`, 'bold')] : [];
      return [...label, ...lines.map((line) => `    ${line}`)];
    }
    case 'context':
      return section.items
        .filter((item) => item.trim())
        .flatMap((item) =>
          wrap(
            `· ${section.mrkdwn ? mrkdwnToPlain(sanitizeForTerminal(item)) : sanitizeForTerminal(item)}`,
            width,
          ).map((l) => paint(l, 'dim')),
        );
    case 'buttons': {
      const lines: string[] = [];
      let current = '';
      let currentWidth = 0;
      for (const button of section.buttons) {
        const n = button.url ? undefined : number?.(button);
        const label = buttonLabel(button, paint, n);
        const w = displayWidth(buttonLabel(button, (s) => s, n));
        if (currentWidth > 0 && currentWidth + 2 + w > width) {
          lines.push(current);
          current = '';
          currentWidth = 0;
        }
        current += (currentWidth > 0 ? '  ' : '') + label;
        currentWidth += (currentWidth > 0 ? 2 : 0) + w;
      }
      if (current) lines.push(current);
      return lines;
    }
    case 'divider':
      return [paint('─'.repeat(width), 'dim')];
    case 'image': {
      const where = section.url ?? (section.path ? `file: ${section.path}` : 'not available');
      return wrap(
        `[image: ${sanitizeForTerminal(section.alt || 'image')}] ${sanitizeForTerminal(where)}`,
        width,
      );
    }
  }
}

function renderLines(
  message: Message,
  width: number,
  paint: (s: string, style: Style) => string,
  number: NumberFn,
): string[] {
  const lines: string[] = [];
  const title = sanitizeForTerminal(message.title).replace(/\s+/g, ' ').trim();
  if (title) {
    const titleLines = wrap(title, width);
    lines.push(...titleLines.map((l) => paint(l, 'bold')));
    const underline = Math.min(width, Math.max(...titleLines.map(displayWidth)));
    lines.push('═'.repeat(underline));
  }
  if (message.ephemeral) lines.push(paint('(only visible to you)', 'dim'));
  message.sections.forEach((section, i) => {
    const body = renderSection(section, width, paint, number);
    if (body.length === 0) return;
    if (i > 0 || title) lines.push('');
    lines.push(...body);
  });
  for (const reply of message.thread ?? []) {
    const replyLines = renderLines(reply, Math.max(10, width - 4), paint, number);
    lines.push('');
    for (const [i, line] of replyLines.entries())
      lines.push(i === 0 ? `  ↳ ${line}` : line ? `    ${line}` : '');
  }
  return lines;
}

/**
 * Renders a Message for a terminal: title underlined, fields aligned, code indented, buttons as
 * `[ Label ] (action.id)` (or `[n] Label` when numbered), thread replies indented under a "↳". Untrusted text is made inert first.
 */
export function renderConsole(message: Message, options: ConsoleRenderOptions = {}): string {
  const width = Math.max(20, Math.floor(options.width ?? 80));
  const paint = options.color
    ? (s: string, style: Style) => `${ANSI[style]}${s}${ANSI.reset}`
    : (s: string) => s;
  return `${renderLines(message, width, paint, options.buttonNumber).join('\n')}\n`;
}
