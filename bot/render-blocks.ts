// Renders a transport-neutral Message to Slack Block Kit messages that respect every Slack limit,
// moving whatever does not fit into thread replies so nothing is lost.
import type { Message, MessageButton, MessageSection } from '../chat/index.ts';
import {
  countLinkedUrls,
  escapeCode,
  escapeMrkdwn,
  escapePlainLinked,
  safeCut,
  splitForEscapedBudget,
  splitText,
  TRUNCATION_MARKER,
  toWellFormed,
  truncateText,
} from './slack-text.ts';

// ---------------------------------------------------------------------------------------------
// Block Kit types: the subset we emit, structurally compatible with @slack/types' KnownBlock
// (checked in render-blocks.test.ts) without a runtime or declared dependency on it.

/** A plain_text text object (never parsed for markup or mentions). */
export interface PlainTextObject {
  type: 'plain_text';
  text: string;
  emoji?: boolean;
}
/** A mrkdwn text object; `verbatim: true` turns off Slack's automatic linking and mention parsing. */
export interface MrkdwnObject {
  type: 'mrkdwn';
  text: string;
  verbatim?: boolean;
}
/** A confirmation dialog shown before a button's action runs. */
export interface ConfirmObject {
  title: PlainTextObject;
  text: PlainTextObject;
  confirm: PlainTextObject;
  deny: PlainTextObject;
  style?: 'primary' | 'danger';
}
/** A button element. */
export interface ButtonElement {
  type: 'button';
  text: PlainTextObject;
  action_id: string;
  value?: string;
  /** Opens this http(s) URL in the browser (at most 3000 characters). */
  url?: string;
  style?: 'primary' | 'danger';
  confirm?: ConfirmObject;
}
/** Header block. */
export interface HeaderBlock {
  type: 'header';
  block_id?: string;
  text: PlainTextObject;
}
/** Section block with text or fields. */
export interface SectionBlock {
  type: 'section';
  block_id?: string;
  text?: MrkdwnObject | PlainTextObject;
  fields?: (MrkdwnObject | PlainTextObject)[];
}
/** Divider block. */
export interface DividerBlock {
  type: 'divider';
  block_id?: string;
}
/** Context block with small text elements. */
export interface ContextBlock {
  type: 'context';
  block_id?: string;
  elements: (MrkdwnObject | PlainTextObject)[];
}
/** Actions block holding buttons. */
export interface ActionsBlock {
  type: 'actions';
  block_id?: string;
  elements: ButtonElement[];
}
/** Image block for an image reachable by URL. */
export interface ImageBlock {
  type: 'image';
  block_id?: string;
  image_url: string;
  alt_text: string;
}
/** Any block this renderer produces. */
export type Block = HeaderBlock | SectionBlock | DividerBlock | ContextBlock | ActionsBlock | ImageBlock;

/** One Slack message ready to post (chat.postMessage / chat.postEphemeral arguments minus the channel). */
export interface SlackMessage {
  /** Notification/fallback text (escaped mrkdwn). */
  text: string;
  blocks: Block[];
  /** Post with chat.postEphemeral to the requesting user. */
  ephemeral: boolean;
  /** Post with `thread_ts` of the first message renderThread returned (false for the parent). */
  threaded: boolean;
  /** Lossy adjustments the renderer had to make (oversized button values, duplicate action ids…), for logs. */
  warnings: string[];
}

/** The result of rendering one Message. */
export interface RenderedBlocks {
  text: string;
  blocks: Block[];
  /** Messages holding what did not fit (full text of truncated content, sections past the budgets). */
  overflow: Message[];
  warnings: string[];
}

// ---------------------------------------------------------------------------------------------
// Limits

/** Slack's documented Block Kit limits (UTF-16 units; see slack-text.ts for why that unit is safe). */
export const SLACK_LIMITS = {
  blocksPerMessage: 50,
  blocksPerView: 100,
  sectionText: 3000,
  fieldsPerSection: 10,
  fieldText: 2000,
  headerText: 150,
  buttonText: 75,
  buttonValue: 2000,
  buttonUrl: 3000,
  actionId: 255,
  blockId: 255,
  contextElements: 10,
  actionsElements: 25,
  messageText: 40_000,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  imageUrl: 3000,
  altText: 2000,
} as const;

/**
 * Our own, stricter budgets. `chat.postMessage` also rejects messages whose blocks carry too much text in
 * total (`msg_blocks_too_long`, undocumented; reported around 12,000–13,000 characters in
 * slackapi/bolt-js#2509 and #2867), so each message carries at most `messageTextBudget`.
 */
export const RENDER_BUDGETS = {
  fallbackText: 3000,
  messageTextBudget: 9000,
  /** Text a single fields/context/actions block may carry, so any block fits in any message. */
  blockTextBudget: 3000,
  /** Field values and context notes are meant to be short; longer ones are cut and posted in full below. */
  fieldValue: 500,
  contextItem: 500,
  label: 200,
  /** Never shrink a long text or code section below this when sharing the message budget. */
  minLongSection: 400,
  /** Room kept for the "continued in the thread" note. */
  noteReserve: 120,
} as const;

const SHORT_MARKER = '… (truncated)';
const DUPLICATE_SUFFIX = '~';

// ---------------------------------------------------------------------------------------------
// Small builders

function wf(text: string | undefined): string {
  return toWellFormed(text ?? '');
}

function isBlank(text: string): boolean {
  return text.trim().length === 0;
}

function plain(text: string, max: number, fallback: string): PlainTextObject {
  const t = isBlank(text) ? fallback : text;
  return { type: 'plain_text', text: truncateText(t, max, '…'), emoji: true };
}

function md(text: string, verbatim: boolean): MrkdwnObject {
  return verbatim ? { type: 'mrkdwn', text, verbatim: true } : { type: 'mrkdwn', text };
}

function cutLabel(label: string): string {
  return truncateText(escapeMrkdwn(label), RENDER_BUDGETS.label, '…');
}

/** Total text a block carries, the quantity Slack's cumulative limit is about. */
export function blockTextLength(block: Block): number {
  switch (block.type) {
    case 'header':
      return block.text.text.length;
    case 'section':
      return (block.text?.text.length ?? 0) + (block.fields ?? []).reduce((n, f) => n + f.text.length, 0);
    case 'context':
      return block.elements.reduce((n, e) => n + e.text.length, 0);
    case 'actions':
      return block.elements.reduce((n, b) => n + buttonTextLength(b), 0);
    case 'image':
      return block.alt_text.length;
    case 'divider':
      return 0;
  }
}

function buttonTextLength(b: ButtonElement): number {
  const c = b.confirm;
  return (
    b.text.text.length +
    (c ? c.title.text.length + c.text.text.length + c.confirm.text.length + c.deny.text.length : 0)
  );
}

function totalTextLength(blocks: Block[]): number {
  return blocks.reduce((n, b) => n + blockTextLength(b), 0);
}

/** Groups items in order so each group has at most `maxCount` items and (when possible) `maxCost` cost. */
function groupBy<T>(items: T[], maxCount: number, maxCost: number, cost: (item: T) => number): T[][] {
  const groups: T[][] = [];
  let current: T[] = [];
  let used = 0;
  for (const item of items) {
    const c = cost(item);
    if (current.length > 0 && (current.length >= maxCount || used + c > maxCost)) {
      groups.push(current);
      current = [];
      used = 0;
    }
    current.push(item);
    used += c;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

// ---------------------------------------------------------------------------------------------
// Sections → blocks

interface Display {
  blocks: Block[];
  /** Full versions of anything cut for display, as sections that render without further cuts. */
  lost: MessageSection[];
  warnings: string[];
}

const FENCE_OPEN = '```\n';
const FENCE_CLOSE = '\n```';

function codeLabelLine(label: string | undefined): string {
  return label && !isBlank(label) ? `*${cutLabel(label)}*\n` : '';
}

/** Pieces of a code section, each rendering to one section within sectionText, in order, losslessly. */
function codePieces(text: string, label: string | undefined): MessageSection[] {
  // Room computed for the longest label a piece can get, so every piece fits whatever its part number.
  const head = codeLabelLine(`${label ?? ''} (part 9999999/9999999)`);
  // A third of a message's text budget, so thread replies carry three pieces each.
  const pieceSize = Math.min(
    SLACK_LIMITS.sectionText,
    Math.floor((RENDER_BUDGETS.messageTextBudget - RENDER_BUDGETS.noteReserve) / 3),
  );
  const room = pieceSize - head.length - FENCE_OPEN.length - FENCE_CLOSE.length;
  const chunks = splitForEscapedBudget(text, room);
  if (chunks.length === 1) return [{ kind: 'code', text, ...(label ? { label } : {}) }];
  return chunks.map((chunk, i) => ({
    kind: 'code',
    text: chunk,
    label: `${label && !isBlank(label) ? `${label} ` : ''}(part ${i + 1}/${chunks.length})`,
  }));
}

/**
 * Pieces of a trusted mrkdwn text section, each within sectionText; whitespace-only pieces are dropped.
 * A piece ending inside a code fence gets the fence closed and the next piece reopens it, so each reply
 * renders on its own; removing those added close+open junctions gives back the exact text.
 */
function textPieces(text: string): MessageSection[] {
  const room = SLACK_LIMITS.sectionText - FENCE_OPEN.length - FENCE_CLOSE.length;
  let open = false;
  const pieces: MessageSection[] = [];
  for (const chunk of splitText(text, room, { keepTokens: true, preferNewline: 0.2 })) {
    const reopened: string = open ? FENCE_OPEN + chunk : chunk;
    open = countFences(reopened) % 2 === 1;
    const piece = open ? reopened + FENCE_CLOSE : reopened;
    if (!isBlank(piece)) pieces.push({ kind: 'text', text: piece });
  }
  return pieces;
}

function countFences(text: string): number {
  return text.match(/```/g)?.length ?? 0;
}

function displayText(text: string, cap: number, marker: string): Display {
  if (isBlank(text)) return { blocks: [], lost: [], warnings: [] };
  if (text.length <= cap)
    return { blocks: [{ type: 'section', text: md(text, false) }], lost: [], warnings: [] };
  const options = { keepTokens: true, preferNewline: 0.1 };
  const room = cap - marker.length;
  let kept = text.slice(0, safeCut(text, room, options));
  if (countFences(kept) % 2 === 1) {
    // A cut inside our own ``` block would leave the fence open and swallow the marker: close it.
    kept = text.slice(0, safeCut(text, room - FENCE_CLOSE.length - 1, options));
    if (countFences(kept) % 2 === 1) kept += `${FENCE_CLOSE}\n`;
  }
  return {
    blocks: [{ type: 'section', text: md(kept + marker, false) }],
    lost: textPieces(text),
    warnings: [],
  };
}

function displayCode(text: string, label: string | undefined, cap: number, marker: string): Display {
  const head = codeLabelLine(label);
  if (text.length === 0) {
    return { blocks: [{ type: 'section', text: md(`${head}_(empty)_`, true) }], lost: [], warnings: [] };
  }
  const escaped = escapeCode(text);
  const whole = head + FENCE_OPEN + escaped + FENCE_CLOSE;
  if (whole.length <= cap)
    return { blocks: [{ type: 'section', text: md(whole, true) }], lost: [], warnings: [] };
  const tail = `${FENCE_CLOSE}\n${marker}`;
  const room = Math.max(1, cap - head.length - FENCE_OPEN.length - tail.length);
  const shown = escaped.slice(0, safeCut(escaped, room, { preferNewline: 0.1 }));
  return {
    blocks: [{ type: 'section', text: md(head + FENCE_OPEN + shown + tail, true) }],
    lost: codePieces(text, label),
    warnings: [],
  };
}

function displayFields(
  fields: { label: string; value: string }[],
  marker: string,
  trustedMrkdwn: boolean,
): Display {
  const lost: MessageSection[] = [];
  const rendered: MrkdwnObject[] = [];
  for (const field of fields) {
    const label = wf(field.label);
    const value = wf(field.value);
    if (isBlank(label) && isBlank(value)) continue;
    const shownLabel = isBlank(label) ? '' : `*${cutLabel(label)}*\n`;
    const escapedValue = trustedMrkdwn ? value : escapePlainLinked(value);
    const shownValue = isBlank(value)
      ? '–'
      : truncateText(escapedValue, RENDER_BUDGETS.fieldValue, marker, { keepTokens: true });
    rendered.push(
      md(truncateText(shownLabel + shownValue, SLACK_LIMITS.fieldText, '…', { keepTokens: true }), true),
    );
    if (escapeMrkdwn(label).length > RENDER_BUDGETS.label) lost.push(...codePieces(label, 'Field label'));
    if (shownValue !== escapedValue && !isBlank(value))
      lost.push(...(trustedMrkdwn ? textPieces(value) : codePieces(value, label || 'Field value')));
  }
  const groups = groupBy(
    rendered,
    SLACK_LIMITS.fieldsPerSection,
    RENDER_BUDGETS.blockTextBudget,
    (f) => f.text.length,
  );
  return { blocks: groups.map((g) => ({ type: 'section', fields: g })), lost, warnings: [] };
}

function displayContext(items: string[], trustedMrkdwn: boolean): Display {
  const lost: MessageSection[] = [];
  const elements: MrkdwnObject[] = [];
  for (const raw of items) {
    const item = wf(raw);
    if (isBlank(item)) continue;
    // Context elements are verbatim (Slack links nothing by itself there): raw URLs are linked here.
    const escaped = trustedMrkdwn ? item : escapePlainLinked(item);
    const shown = truncateText(escaped, RENDER_BUDGETS.contextItem, SHORT_MARKER, { keepTokens: true });
    elements.push(md(shown, true));
    if (shown !== escaped) lost.push(...(trustedMrkdwn ? textPieces(item) : codePieces(item, 'Note')));
  }
  const groups = groupBy(
    elements,
    SLACK_LIMITS.contextElements,
    RENDER_BUDGETS.blockTextBudget,
    (e) => e.text.length,
  );
  return { blocks: groups.map((g) => ({ type: 'context', elements: g })), lost, warnings: [] };
}

function renderButton(button: MessageButton, index: number, display: Display): ButtonElement {
  const text = wf(button.text);
  const element: ButtonElement = {
    type: 'button',
    text: plain(text, SLACK_LIMITS.buttonText, 'Select'),
    // Room for a de-duplication suffix; ids are ours, so a cut only matters for absurd ids (warned).
    action_id: truncateText(
      isBlank(button.actionId) ? `button-${index + 1}` : wf(button.actionId),
      SLACK_LIMITS.actionId - 6,
      '',
    ),
  };
  if (element.action_id !== button.actionId)
    display.warnings.push(`button ${index + 1}: action_id replaced or cut`);
  if (button.value) {
    element.value = truncateText(wf(button.value), SLACK_LIMITS.buttonValue, '');
    if (element.value !== button.value) {
      display.warnings.push(
        `button "${element.text.text}": value not well-formed or longer than ${SLACK_LIMITS.buttonValue}, cut`,
      );
    }
  }
  if (button.url !== undefined) {
    // https://docs.slack.dev/reference/block-kit/block-elements/button-element: url is at most 3000 characters.
    if (/^https?:\/\/\S+$/i.test(button.url) && button.url.length <= SLACK_LIMITS.buttonUrl)
      element.url = button.url;
    else
      display.warnings.push(
        `button "${element.text.text}": URL not http(s) or longer than ${SLACK_LIMITS.buttonUrl}, dropped`,
      );
  }
  if (button.style) element.style = button.style;
  if (text.length > SLACK_LIMITS.buttonText) display.lost.push(...codePieces(text, 'Button label'));
  if (button.confirm) {
    const c = button.confirm;
    element.confirm = {
      title: plain(wf(c.title), SLACK_LIMITS.confirmTitle, 'Are you sure?'),
      text: plain(wf(c.text), SLACK_LIMITS.confirmText, 'Are you sure?'),
      confirm: plain(wf(c.confirm), SLACK_LIMITS.confirmButton, 'Confirm'),
      deny: plain(wf(c.deny), SLACK_LIMITS.confirmButton, 'Cancel'),
    };
    if (button.style) element.confirm.style = button.style;
    if (wf(c.text).length > SLACK_LIMITS.confirmText)
      display.lost.push(...codePieces(wf(c.text), 'Confirmation text'));
  }
  return element;
}

function displayButtons(buttons: MessageButton[]): Display {
  const display: Display = { blocks: [], lost: [], warnings: [] };
  const elements = buttons.map((b, i) => renderButton(b, i, display));
  const groups = groupBy(
    elements,
    SLACK_LIMITS.actionsElements,
    RENDER_BUDGETS.blockTextBudget,
    buttonTextLength,
  );
  display.blocks = groups.map((g) => ({ type: 'actions', elements: onePrimary(g, display.warnings) }));
  return display;
}

/** Slack's guidance is one primary button per set: the first keeps its style, later ones become default. */
function onePrimary(buttons: ButtonElement[], warnings: string[]): ButtonElement[] {
  let seen = false;
  return buttons.map((b) => {
    if (b.style !== 'primary') return b;
    if (!seen) {
      seen = true;
      return b;
    }
    warnings.push(`button "${b.text.text}": a second primary button in one set shown as default`);
    const { style: _style, ...rest } = b;
    return rest;
  });
}

function displayImage(alt: string, url: string | undefined, path: string | undefined): Display {
  const altText = isBlank(alt) ? 'image' : alt;
  if (url && /^https?:\/\/\S+$/i.test(url) && url.length <= SLACK_LIMITS.imageUrl) {
    return {
      blocks: [{ type: 'image', image_url: url, alt_text: truncateText(altText, SLACK_LIMITS.altText, '…') }],
      lost: [],
      warnings: [],
    };
  }
  const name = path ? (path.split(/[\\/]/).pop() ?? path) : '';
  const note = path
    ? `:frame_with_picture: ${escapeMrkdwn(altText)} (file ${escapeMrkdwn(name)}, uploaded separately)`
    : `:frame_with_picture: ${escapeMrkdwn(altText)} (image not available${url ? ': unsupported or too long URL' : ''})`;
  return {
    blocks: [
      { type: 'context', elements: [md(truncateText(note, RENDER_BUDGETS.contextItem, SHORT_MARKER), true)] },
    ],
    lost: [],
    warnings: url && !path ? ['image: URL not http(s) or too long, shown as a note'] : [],
  };
}

function displaySection(section: MessageSection, longCap: number, marker: string): Display {
  switch (section.kind) {
    case 'text':
      return displayText(wf(section.text), longCap, marker);
    case 'code':
      return displayCode(
        wf(section.text),
        section.label === undefined ? undefined : wf(section.label),
        longCap,
        marker,
      );
    case 'fields':
      return displayFields(section.fields, SHORT_MARKER, section.mrkdwn === true);
    case 'context':
      return displayContext(section.items, section.mrkdwn === true);
    case 'buttons':
      return displayButtons(section.buttons);
    case 'divider':
      return { blocks: [{ type: 'divider' }], lost: [], warnings: [] };
    case 'image':
      return displayImage(
        wf(section.alt),
        section.url,
        section.path === undefined ? undefined : wf(section.path),
      );
  }
}

/** `raw` unchanged when its escaped form fits `max`, else a prefix plus `marker` whose escaped form fits. */
function fitEscaped(raw: string, max: number, marker: string): { text: string; cut: boolean } {
  if (escapePlainLinked(raw).length <= max) return { text: raw, cut: false };
  // Each URL linked costs two characters more than its escaped text.
  const room = max - marker.length - 2 * countLinkedUrls(raw);
  return { text: (splitForEscapedBudget(raw, room)[0] ?? '') + marker, cut: true };
}

/** `text` (our mrkdwn) unchanged when it fits `max`, else a prefix cut outside any token plus `marker`. */
function fitMrkdwn(text: string, max: number, marker: string): { text: string; cut: boolean } {
  if (text.length <= max) return { text, cut: false };
  return { text: truncateText(text, max, marker, { keepTokens: true }), cut: true };
}

function fitPlain(raw: string, max: number): { text: string; cut: boolean } {
  if (raw.length <= max) return { text: raw, cut: false };
  return { text: `${raw.slice(0, safeCut(raw, max - 1))}…`, cut: true };
}

/**
 * Splits a section moved to the thread into pieces that each fit an empty message and never need cutting
 * again: over-long values are cut here, and their full text follows their group as code pieces. So
 * rendering an overflow message never produces more overflow, and pieces stay in reading order.
 */
function splitSection(section: MessageSection): MessageSection[] {
  switch (section.kind) {
    case 'text':
      return textPieces(wf(section.text));
    case 'code':
      return codePieces(wf(section.text), section.label === undefined ? undefined : wf(section.label));
    case 'fields': {
      const fields = section.fields
        .map((f) => ({ label: wf(f.label), value: wf(f.value) }))
        .filter((f) => !isBlank(f.label) || !isBlank(f.value));
      const trustedMrkdwn = section.mrkdwn === true;
      return chunk(fields, SLACK_LIMITS.fieldsPerSection).flatMap((group) => {
        const extra: MessageSection[] = [];
        const fitted = group.map(({ label, value }) => {
          const l = fitEscaped(label, RENDER_BUDGETS.label, '…');
          const v = trustedMrkdwn
            ? fitMrkdwn(value, RENDER_BUDGETS.fieldValue, SHORT_MARKER)
            : fitEscaped(value, RENDER_BUDGETS.fieldValue, SHORT_MARKER);
          if (l.cut) extra.push(...codePieces(label, 'Field label'));
          if (v.cut)
            extra.push(...(trustedMrkdwn ? textPieces(value) : codePieces(value, label || 'Field value')));
          return { label: l.text, value: v.text };
        });
        return [
          { kind: 'fields' as const, fields: fitted, ...(trustedMrkdwn ? { mrkdwn: true } : {}) },
          ...extra,
        ];
      });
    }
    case 'context': {
      const items = section.items.map(wf).filter((item) => !isBlank(item));
      const trustedMrkdwn = section.mrkdwn === true;
      return chunk(items, SLACK_LIMITS.contextElements).flatMap((group) => {
        const extra: MessageSection[] = [];
        const fitted = group.map((item) => {
          const f = trustedMrkdwn
            ? fitMrkdwn(item, RENDER_BUDGETS.contextItem, SHORT_MARKER)
            : fitEscaped(item, RENDER_BUDGETS.contextItem, SHORT_MARKER);
          if (f.cut) extra.push(...(trustedMrkdwn ? textPieces(item) : codePieces(item, 'Note')));
          return f.text;
        });
        return [
          { kind: 'context' as const, items: fitted, ...(trustedMrkdwn ? { mrkdwn: true } : {}) },
          ...extra,
        ];
      });
    }
    case 'buttons': {
      // Grouped like displayButtons groups them, so each piece is exactly one actions block.
      const scratch: Display = { blocks: [], lost: [], warnings: [] };
      const cost = (b: MessageButton) => buttonTextLength(renderButton(b, 0, scratch));
      return groupBy(
        section.buttons,
        SLACK_LIMITS.actionsElements,
        RENDER_BUDGETS.blockTextBudget,
        cost,
      ).flatMap((group) => {
        const extra: MessageSection[] = [];
        const fitted = group.map((b) => {
          const text = fitPlain(wf(b.text), SLACK_LIMITS.buttonText);
          if (text.cut) extra.push(...codePieces(wf(b.text), 'Button label'));
          if (!b.confirm) return { ...b, text: text.text };
          const confirmText = fitPlain(wf(b.confirm.text), SLACK_LIMITS.confirmText);
          if (confirmText.cut) extra.push(...codePieces(wf(b.confirm.text), 'Confirmation text'));
          return { ...b, text: text.text, confirm: { ...b.confirm, text: confirmText.text } };
        });
        return [{ kind: 'buttons' as const, buttons: fitted }, ...extra];
      });
    }
    default:
      return [section];
  }
}

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Largest per-section cap so the long sections' total fits `available` (water-filling). */
function shareLongBudget(lengths: number[], available: number): number {
  const max = SLACK_LIMITS.sectionText;
  if (lengths.reduce((a, b) => a + b, 0) <= available) return max;
  const sorted = [...lengths].sort((a, b) => a - b);
  let remaining = available;
  for (let i = 0; i < sorted.length; i++) {
    const share = Math.floor(remaining / (sorted.length - i));
    const len = sorted[i] ?? 0;
    if (len > share) return Math.max(RENDER_BUDGETS.minLongSection, Math.min(max, share));
    remaining -= len;
  }
  return max;
}

function dedupeActionIds(blocks: Block[], warnings: string[]): void {
  const seen = new Set<string>();
  for (const block of blocks) {
    if (block.type !== 'actions') continue;
    for (const button of block.elements) {
      if (!seen.has(button.action_id)) {
        seen.add(button.action_id);
        continue;
      }
      let n = 2;
      while (seen.has(`${button.action_id}${DUPLICATE_SUFFIX}${n}`)) n++;
      warnings.push(`duplicate action_id "${button.action_id}" renamed with suffix ${DUPLICATE_SUFFIX}${n}`);
      button.action_id = `${button.action_id}${DUPLICATE_SUFFIX}${n}`;
      seen.add(button.action_id);
    }
  }
}

/** The action id a button was given in its Message, undoing the suffix renderBlocks adds to duplicates. */
export function baseActionId(actionId: string): string {
  return actionId.replace(/~\d+$/, '');
}

function fallbackText(message: Message): string {
  const source = [message.summary, message.title].map(wf).find((s) => !isBlank(s)) ?? 'Arbiter';
  return truncateText(escapeMrkdwn(source.trim()), RENDER_BUDGETS.fallbackText, '…');
}

/** Packs thread pieces into as few messages as the block and text budgets allow. */
function packOverflow(pieces: MessageSection[], base: Message, marker: string): Message[] {
  const blockRoom = SLACK_LIMITS.blocksPerMessage - 1;
  const textRoom = RENDER_BUDGETS.messageTextBudget - RENDER_BUDGETS.noteReserve;
  const messages: Message[] = [];
  let current: MessageSection[] = [];
  let blocks = 0;
  let text = 0;
  const title = wf(base.summary) || wf(base.title) || 'Arbiter';
  const flush = () => {
    if (current.length === 0) return;
    messages.push({
      title: '',
      sections: current,
      summary: `${title} (continued)`,
      ...(base.ephemeral ? { ephemeral: true } : {}),
    });
    current = [];
    blocks = 0;
    text = 0;
  };
  for (const piece of pieces) {
    const d = displaySection(piece, SLACK_LIMITS.sectionText, marker);
    const cost = totalTextLength(d.blocks);
    if (blocks + d.blocks.length > blockRoom || text + cost > textRoom) flush();
    current.push(piece);
    blocks += d.blocks.length;
    text += cost;
  }
  flush();
  return messages;
}

/**
 * Renders one Message to a Slack message within every Block Kit limit: the parent shows a compact version
 * (long text cut with a visible marker) and `overflow` holds the full content as messages for the thread.
 */
export function renderBlocks(message: Message): RenderedBlocks {
  const marker = message.ephemeral ? '… (truncated, full text below)' : TRUNCATION_MARKER;
  const warnings: string[] = [];
  const lost: MessageSection[] = [];
  const blocks: Block[] = [];

  const title = wf(message.title).replace(/\s+/g, ' ').trim();
  if (title.length > 0) {
    blocks.push({ type: 'header', text: plain(title, SLACK_LIMITS.headerText, 'Arbiter') });
    if (title.length > SLACK_LIMITS.headerText) lost.push(...codePieces(wf(message.title), 'Full title'));
  }

  // Long sections share what the other sections leave of the message budget.
  const sections = message.sections;
  const isLong = (s: MessageSection) => s.kind === 'text' || s.kind === 'code';
  const fixed = sections.map((s) =>
    isLong(s) ? undefined : displaySection(s, SLACK_LIMITS.sectionText, marker),
  );
  const longLengths = sections
    .filter(isLong)
    .map((s) => totalTextLength(displaySection(s, SLACK_LIMITS.sectionText, marker).blocks));
  const fixedText = fixed.reduce((n, d) => n + (d ? totalTextLength(d.blocks) : 0), 0);
  const headerText = totalTextLength(blocks);
  const available = RENDER_BUDGETS.messageTextBudget - RENDER_BUDGETS.noteReserve - headerText - fixedText;
  const longCap = shareLongBudget(longLengths, available);

  const blockRoom = SLACK_LIMITS.blocksPerMessage - 1;
  const textRoom = RENDER_BUDGETS.messageTextBudget - RENDER_BUDGETS.noteReserve;
  let used = headerText;
  let moved = 0;
  sections.forEach((section, i) => {
    const d = fixed[i] ?? displaySection(section, longCap, marker);
    warnings.push(...d.warnings);
    if (d.blocks.length === 0) return;
    const cost = totalTextLength(d.blocks);
    if (blocks.length + d.blocks.length <= blockRoom && used + cost <= textRoom) {
      blocks.push(...d.blocks);
      used += cost;
      lost.push(...d.lost);
    } else {
      moved++;
      lost.push(...splitSection(section));
    }
  });
  if (moved > 0) {
    const where = message.ephemeral ? 'below' : 'in the thread';
    blocks.push({
      type: 'context',
      elements: [md(`_${moved} more section${moved === 1 ? '' : 's'} ${where}._`, true)],
    });
  }

  const text = fallbackText(message);
  if (blocks.length === 0) blocks.push({ type: 'section', text: md(text, true) });
  dedupeActionIds(blocks, warnings);
  return { text, blocks, overflow: packOverflow(lost, message, marker), warnings };
}

// Overflow messages are packed to fit, so rendering them yields no further overflow (a property the tests
// check); following it anyway keeps a future bug from dropping content, and the depth guard from looping.
const MAX_OVERFLOW_DEPTH = 6;

/**
 * Renders a Message and its thread to the list of Slack messages to post, in order: the parent, then the
 * replies holding its overflow, then each `thread` reply followed by its own overflow. Slack threads are
 * flat, so nested threads are flattened. Replies of an ephemeral message are ephemeral and not threaded
 * (an ephemeral message cannot be a thread parent).
 */
export function renderThread(message: Message): SlackMessage[] {
  const out: SlackMessage[] = [];
  const parentEphemeral = message.ephemeral === true;
  const visit = (m: Message, threaded: boolean, depth: number) => {
    const r = renderBlocks(m);
    const warnings = [...r.warnings];
    if (depth > MAX_OVERFLOW_DEPTH && r.overflow.length > 0)
      warnings.push('overflow depth exceeded; content dropped');
    out.push({
      text: r.text,
      blocks: r.blocks,
      ephemeral: parentEphemeral || m.ephemeral === true,
      threaded,
      warnings,
    });
    if (depth <= MAX_OVERFLOW_DEPTH) for (const o of r.overflow) visit(o, !parentEphemeral, depth + 1);
    for (const reply of m.thread ?? []) visit(reply, !parentEphemeral, 0);
  };
  visit(message, false, 0);
  return out;
}
