import type { types } from '@slack/bolt';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Message, type MessageButton, type MessageSection, openReportSection } from '../chat/message.ts';
import { baseActionId, type Block, renderBlocks, renderThread, type SlackMessage } from './render-blocks.ts';
import {
  CODE_BACKTICK,
  escapeMrkdwn,
  mrkdwn,
  slackLink,
  toWellFormed,
  unescapeCode,
  unescapeMrkdwn,
  WORD_JOINER,
} from './slack-text.ts';

// Compile-time check: every block we emit is a block @slack/types (what Bolt's client takes) accepts.
const asKnownBlock = (block: Block): types.KnownBlock => block;
void asKnownBlock;

// ---------------------------------------------------------------------------------------------
// An independent Block Kit limit checker. Limits are written out here from DESIGN.md / Slack's reference,
// not imported from the renderer, so a wrong constant in the renderer fails these tests.

const LIMIT = {
  blocks: 50,
  viewBlocks: 100,
  messageText: 40_000,
  ourFallbackText: 3000,
  // Undocumented cumulative limit behind `msg_blocks_too_long` (slackapi/bolt-js#2509, #2867).
  cumulativeText: 12_000,
  sectionText: 3000,
  fields: 10,
  fieldText: 2000,
  header: 150,
  buttonText: 75,
  buttonValue: 2000,
  // https://docs.slack.dev/reference/block-kit/block-elements/button-element: url, max 3000 characters.
  buttonUrl: 3000,
  id: 255,
  contextElements: 10,
  actionsElements: 25,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  imageUrl: 3000,
  altText: 2000,
  textObject: 3000,
};
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

type Json = unknown;
const isObj = (v: Json): v is Record<string, Json> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every violation of Slack's Block Kit limits in a message payload; empty when the payload is valid. */
function checkBlockKitLimits(
  msg: { text?: Json; blocks?: Json },
  options: { maxBlocks?: number } = {},
): string[] {
  const errors: string[] = [];
  const fail = (path: string, why: string) => errors.push(`${path}: ${why}`);
  const ids = new Set<string>();
  let cumulative = 0;

  // Slack rejects empty strings; blank ones are rejected in text (and pointless elsewhere, but opaque values may be).
  const str = (
    path: string,
    v: Json,
    max: number,
    { optional = false, opaque = false } = {},
  ): v is string => {
    if (v === undefined && optional) return false;
    if (typeof v !== 'string') {
      fail(path, 'not a string');
      return false;
    }
    if (opaque ? v.length === 0 : v.trim().length === 0) fail(path, 'empty or blank');
    if (v.length > max) fail(path, `${v.length} > ${max}`);
    return true;
  };
  const textObject = (path: string, v: Json, max: number, plainOnly = false) => {
    if (!isObj(v)) {
      fail(path, 'text object missing');
      return;
    }
    if (v.type !== 'plain_text' && v.type !== 'mrkdwn') fail(path, `bad text type ${String(v.type)}`);
    if (plainOnly && v.type !== 'plain_text') fail(path, 'must be plain_text');
    if (v.type === 'plain_text' && 'verbatim' in v) fail(path, 'verbatim only allowed on mrkdwn');
    if (v.type === 'mrkdwn' && 'emoji' in v) fail(path, 'emoji only allowed on plain_text');
    if (str(`${path}.text`, v.text, max)) cumulative += v.text.length;
  };
  const uniqueId = (path: string, v: Json) => {
    if (!str(path, v, LIMIT.id, { optional: true })) return;
    if (ids.has(v)) fail(path, `duplicate id ${v}`);
    ids.add(v);
  };

  if (typeof msg.text !== 'string' || msg.text.trim().length === 0) fail('text', 'fallback text missing');
  else if (msg.text.length > LIMIT.messageText) fail('text', `${msg.text.length} > ${LIMIT.messageText}`);
  if (!Array.isArray(msg.blocks)) return [...errors, 'blocks: not an array'];
  const maxBlocks = options.maxBlocks ?? LIMIT.blocks;
  if (msg.blocks.length === 0) fail('blocks', 'no blocks');
  if (msg.blocks.length > maxBlocks) fail('blocks', `${msg.blocks.length} > ${maxBlocks}`);

  for (const [i, block] of msg.blocks.entries()) {
    const p = `blocks[${i}]`;
    if (!isObj(block)) {
      fail(p, 'not an object');
      continue;
    }
    uniqueId(`${p}.block_id`, block.block_id);
    switch (block.type) {
      case 'header':
        textObject(`${p}.text`, block.text, LIMIT.header, true);
        break;
      case 'section': {
        if (block.text === undefined && block.fields === undefined) fail(p, 'section needs text or fields');
        if (block.text !== undefined) textObject(`${p}.text`, block.text, LIMIT.sectionText);
        if (block.fields === undefined) break;
        if (!Array.isArray(block.fields) || block.fields.length === 0) {
          fail(`${p}.fields`, 'empty');
          break;
        }
        if (block.fields.length > LIMIT.fields)
          fail(`${p}.fields`, `${block.fields.length} > ${LIMIT.fields}`);
        for (const [j, f] of block.fields.entries()) textObject(`${p}.fields[${j}]`, f, LIMIT.fieldText);
        break;
      }
      case 'divider':
        break;
      case 'context': {
        const els = block.elements;
        if (!Array.isArray(els) || els.length === 0) {
          fail(`${p}.elements`, 'empty');
          break;
        }
        if (els.length > LIMIT.contextElements)
          fail(`${p}.elements`, `${els.length} > ${LIMIT.contextElements}`);
        for (const [j, e] of els.entries()) textObject(`${p}.elements[${j}]`, e, LIMIT.textObject);
        break;
      }
      case 'actions': {
        const els = block.elements;
        if (!Array.isArray(els) || els.length === 0) {
          fail(`${p}.elements`, 'empty');
          break;
        }
        if (els.length > LIMIT.actionsElements)
          fail(`${p}.elements`, `${els.length} > ${LIMIT.actionsElements}`);
        for (const [j, b] of els.entries()) {
          const q = `${p}.elements[${j}]`;
          if (!isObj(b) || b.type !== 'button') {
            fail(q, 'not a button');
            continue;
          }
          textObject(`${q}.text`, b.text, LIMIT.buttonText, true);
          if (typeof b.action_id !== 'string') fail(`${q}.action_id`, 'missing');
          uniqueId(`${q}.action_id`, b.action_id);
          str(`${q}.value`, b.value, LIMIT.buttonValue, { optional: true, opaque: true });
          if (
            b.url !== undefined &&
            (typeof b.url !== 'string' || !/^https?:\/\/\S+$/.test(b.url) || b.url.length > LIMIT.buttonUrl)
          )
            fail(`${q}.url`, 'not an http(s) URL of at most 3000 characters');
          if (b.style !== undefined && b.style !== 'primary' && b.style !== 'danger')
            fail(`${q}.style`, 'bad style');
          if (b.confirm === undefined) continue;
          const c = b.confirm;
          if (!isObj(c)) {
            fail(`${q}.confirm`, 'not an object');
            continue;
          }
          textObject(`${q}.confirm.title`, c.title, LIMIT.confirmTitle, true);
          textObject(`${q}.confirm.text`, c.text, LIMIT.confirmText);
          textObject(`${q}.confirm.confirm`, c.confirm, LIMIT.confirmButton, true);
          textObject(`${q}.confirm.deny`, c.deny, LIMIT.confirmButton, true);
        }
        break;
      }
      case 'image':
        if (str(`${p}.image_url`, block.image_url, LIMIT.imageUrl) && !/^https?:\/\//.test(block.image_url)) {
          fail(`${p}.image_url`, 'not http(s)');
        }
        if (str(`${p}.alt_text`, block.alt_text, LIMIT.altText)) cumulative += block.alt_text.length;
        break;
      default:
        fail(p, `unknown block type ${String(block.type)}`);
    }
  }
  if (cumulative > LIMIT.cumulativeText)
    fail('blocks', `cumulative text ${cumulative} > ${LIMIT.cumulativeText}`);
  const walk = (v: Json, path: string) => {
    if (typeof v === 'string' && LONE_SURROGATE.test(v)) fail(path, 'lone surrogate');
    else if (Array.isArray(v)) for (const [i, x] of v.entries()) walk(x, `${path}[${i}]`);
    else if (isObj(v)) for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
  };
  walk(msg, 'payload');
  return errors;
}

/**
 * All mrkdwn strings Slack would parse: mrkdwn text objects and the top-level fallback text, with whether Slack
 * parses bare words in them (`verbatim: true` turns automatic parsing of mentions off: docs.slack.dev
 * reference/block-kit/composition-objects/text-object).
 */
function mrkdwnStrings(msg: { text: string; blocks: Block[] }): { text: string; verbatim: boolean }[] {
  const out = [{ text: msg.text, verbatim: false }];
  const visit = (v: Json) => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (isObj(v)) {
      if (v.type === 'mrkdwn' && typeof v.text === 'string')
        out.push({ text: v.text, verbatim: v.verbatim === true });
      Object.values(v).forEach(visit);
    }
  };
  visit(msg.blocks);
  return out;
}

const UNGUARDED_MENTION = /@(?:here|channel|everyone)(?![\p{L}\p{N}_])/iu;

/** Mentions, special tokens or unbalanced code fences that data could have injected. */
function injectionProblems(msg: { text: string; blocks: Block[] }): string[] {
  const problems: string[] = [];
  for (const { text: s, verbatim } of mrkdwnStrings(msg)) {
    if (/<[!@#]/.test(s)) problems.push(`raw special token in ${JSON.stringify(s.slice(0, 80))}`);
    if (!verbatim && UNGUARDED_MENTION.test(s))
      problems.push(`bare broadcast mention in ${JSON.stringify(s.slice(0, 80))}`);
    if ((s.match(/```/g)?.length ?? 0) % 2 !== 0)
      problems.push(`unbalanced fence in ${JSON.stringify(s.slice(0, 80))}`);
  }
  return problems;
}

const MARKER_RE = /… \(truncated/;

/** Decoded contents of the code blocks that were not cut, in posting order. */
function codeContents(messages: SlackMessage[]): string[] {
  const out: string[] = [];
  for (const m of messages) {
    for (const b of m.blocks) {
      if (b.type !== 'section' || b.text?.type !== 'mrkdwn') continue;
      const match = /```\n([\s\S]*)\n```$/.exec(b.text.text);
      if (match) out.push(unescapeCode(match[1] ?? ''));
    }
  }
  return out;
}

/** Section texts that were not cut, in posting order. */
function sectionTexts(messages: SlackMessage[]): string[] {
  return messages.flatMap((m) =>
    m.blocks.flatMap((b) =>
      b.type === 'section' && b.text && !MARKER_RE.test(b.text.text) ? [b.text.text] : [],
    ),
  );
}

/** True when `target` equals the concatenation of some run of consecutive entries of `list`. */
function appearsConsecutively(list: string[], target: string): boolean {
  for (let i = 0; i < list.length; i++) {
    let acc = '';
    for (let j = i; j < list.length && acc.length < target.length; j++) {
      acc += list[j];
      if (acc === target) return true;
      if (!target.startsWith(acc)) break;
    }
  }
  return false;
}

function expectAllValid(messages: SlackMessage[]): void {
  messages.forEach((m, i) => {
    expect(checkBlockKitLimits(m), `message ${i}`).toEqual([]);
    expect(m.text.length, `message ${i} fallback`).toBeLessThanOrEqual(LIMIT.ourFallbackText);
    expect(injectionProblems(m), `message ${i}`).toEqual([]);
  });
}

// ---------------------------------------------------------------------------------------------
// Hostile content

const NASTY = [
  '<!channel>',
  '<!here>',
  '<!everyone>',
  '<@U123ABC>',
  '<#C123|general>',
  '<!subteam^S123|@team>',
  '@here',
  '@channel',
  '@everyone',
  '@Here',
  '```',
  '`',
  '*',
  '_',
  '~',
  '>',
  '&',
  '&amp;',
  '😀',
  '👩‍👩‍👧‍👦',
  '🇯🇵',
  'e\u0301\u0302',
  'שלום עולם',
  'مرحبا',
  '\u202e',
  '\n',
  '  ',
  '\uD83D',
  '\uDE00',
  WORD_JOINER,
];
const hostile = fc
  .array(
    fc.oneof(
      fc.constantFrom(...NASTY),
      fc.string({ unit: 'grapheme', maxLength: 10 }),
      fc.string({ unit: 'binary', maxLength: 6 }),
    ),
    { maxLength: 30 },
  )
  .map((parts) => parts.join(''));
const huge = fc
  .tuple(hostile, fc.constantFrom(3_500, 10_000, 100_000))
  .map(([s, n]) => (s.length > 0 ? s.repeat(Math.ceil(n / s.length)).slice(0, n) : s));
const content = fc.oneof({ weight: 10, arbitrary: hostile }, { weight: 1, arbitrary: huge });
const shortContent = fc.oneof(
  { weight: 5, arbitrary: hostile },
  { weight: 1, arbitrary: fc.string({ minLength: 80, maxLength: 3000 }) },
);

const button: fc.Arbitrary<MessageButton> = fc.record(
  {
    text: shortContent,
    actionId: fc.oneof(fc.constantFrom('review.vote', 'run.cancel', ''), fc.string({ maxLength: 300 })),
    value: fc.oneof(fc.constantFrom('a', ''), shortContent, fc.string({ minLength: 1900, maxLength: 2600 })),
    style: fc.constantFrom('primary' as const, 'danger' as const),
    url: fc.oneof(
      fc.webUrl(),
      fc.constantFrom('javascript:alert(1)', 'https://x.test/ space', `https://x.test/${'a'.repeat(3000)}`),
    ),
    confirm: fc.record({
      title: shortContent,
      text: shortContent,
      confirm: shortContent,
      deny: shortContent,
    }),
  },
  { requiredKeys: ['text', 'actionId', 'value'] },
);

const section: fc.Arbitrary<MessageSection> = fc.oneof(
  content.map((t) => ({ kind: 'text' as const, text: mrkdwn`*Note:* ${t}` })),
  hostile.map((t) => ({ kind: 'text' as const, text: escapeMrkdwn(t) })),
  fc.record(
    { kind: fc.constant('code' as const), text: content, label: shortContent },
    { requiredKeys: ['kind', 'text'] },
  ),
  fc
    .array(fc.record({ label: shortContent, value: content }), { maxLength: 50 })
    .map((fields) => ({ kind: 'fields' as const, fields })),
  fc.array(content, { maxLength: 15 }).map((items) => ({ kind: 'context' as const, items })),
  fc.array(button, { maxLength: 60 }).map((buttons) => ({ kind: 'buttons' as const, buttons })),
  fc.constant({ kind: 'divider' as const }),
  fc.record(
    {
      kind: fc.constant('image' as const),
      alt: shortContent,
      url: fc.constantFrom(
        'https://example.test/chart.png',
        'javascript:alert(1)',
        `https://example.test/${'a'.repeat(3100)}`,
      ),
      path: fc.constantFrom('/tmp/chart.png', 'C:\\charts\\<!here>.png'),
    },
    { requiredKeys: ['kind', 'alt'] },
  ),
);

const message: fc.Arbitrary<Message> = fc.record(
  {
    title: fc.oneof(hostile, fc.string({ minLength: 140, maxLength: 1000 })),
    sections: fc.oneof(
      { weight: 6, arbitrary: fc.array(section, { maxLength: 12 }) },
      { weight: 1, arbitrary: fc.array(section, { minLength: 60, maxLength: 200 }) },
    ),
    summary: hostile,
    ephemeral: fc.boolean(),
    thread: fc.array(fc.record({ title: hostile, sections: fc.array(section, { maxLength: 4 }) }), {
      maxLength: 2,
    }),
  },
  { requiredKeys: ['title', 'sections'] },
);

/** The plain text of a verbatim element: raw URLs the renderer linked are unwrapped, then escaping undone. */
function decodeVerbatim(text: string): string {
  return unescapeMrkdwn(text.replace(/<(https?:\/\/[^<>|]+)>/g, (_m, url: string) => url));
}

/** Asserts that every piece of data in `m` is visible somewhere in `messages`, whole or reassembled. */
function expectNothingLost(m: Message, messages: SlackMessage[]): void {
  const codes = codeContents(messages);
  const texts = sectionTexts(messages);
  const decodedFields = messages.flatMap((s) =>
    s.blocks.flatMap((b) => (b.type === 'section' ? (b.fields ?? []).map((f) => f.text) : [])),
  );
  const contextItems = messages.flatMap((s) =>
    s.blocks.flatMap((b) => (b.type === 'context' ? b.elements.map((e) => decodeVerbatim(e.text)) : [])),
  );
  const buttonTexts = messages.flatMap((s) =>
    s.blocks.flatMap((b) => (b.type === 'actions' ? b.elements.map((e) => e.text.text) : [])),
  );
  const headers = messages.flatMap((s) =>
    s.blocks.flatMap((b) => (b.type === 'header' ? [b.text.text] : [])),
  );
  const inCode = (t: string) => appearsConsecutively(codes, t);

  const title = toWellFormed(m.title);
  const collapsed = title.replace(/\s+/g, ' ').trim();
  if (collapsed) expect(headers.includes(collapsed) || inCode(title), 'title').toBe(true);
  for (const s of m.sections) {
    if (s.kind === 'code' && s.text.length > 0)
      expect(inCode(toWellFormed(s.text)), 'code section').toBe(true);
    if (s.kind === 'text' && s.text.trim()) {
      // Whitespace-only pieces of a text section are dropped (Slack rejects blank text), so compare without it.
      const noSpace = (t: string) => t.replace(/\s+/g, '');
      expect(appearsConsecutively(texts.map(noSpace), noSpace(toWellFormed(s.text))), 'text section').toBe(
        true,
      );
    }
    if (s.kind === 'fields') {
      for (const f of s.fields) {
        const value = toWellFormed(f.value);
        if (!value.trim()) continue;
        const shown = decodedFields.some((t) => !MARKER_RE.test(t) && t.endsWith(escapeMrkdwn(value)));
        expect(shown || inCode(value), 'field value').toBe(true);
      }
    }
    if (s.kind === 'context') {
      for (const raw of s.items) {
        const item = toWellFormed(raw);
        if (item.trim()) expect(contextItems.includes(item) || inCode(item), 'context item').toBe(true);
      }
    }
    if (s.kind === 'buttons') {
      for (const b of s.buttons) {
        const text = toWellFormed(b.text);
        if (text.trim()) expect(buttonTexts.includes(text) || inCode(text), 'button text').toBe(true);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------

describe('checkBlockKitLimits (the test oracle itself)', () => {
  it('accepts a small valid message', () => {
    expect(
      checkBlockKitLimits({
        text: 'hi',
        blocks: [
          { type: 'header', text: { type: 'plain_text', text: 'Title', emoji: true } },
          { type: 'section', text: { type: 'mrkdwn', text: '*hi*' } },
          {
            type: 'actions',
            elements: [{ type: 'button', text: { type: 'plain_text', text: 'Go' }, action_id: 'go' }],
          },
        ],
      }),
    ).toEqual([]);
  });

  it('rejects a payload that breaks every limit', () => {
    const longText = 'x'.repeat(3001);
    const button = (id: string) => ({
      type: 'button',
      text: { type: 'plain_text', text: 'b'.repeat(76) },
      action_id: id,
      value: 'v'.repeat(2001),
      confirm: {
        title: { type: 'plain_text', text: 't'.repeat(101) },
        text: { type: 'plain_text', text: 't'.repeat(301) },
        confirm: { type: 'plain_text', text: 'c'.repeat(31) },
        deny: { type: 'plain_text', text: '' },
      },
    });
    const errors = checkBlockKitLimits({
      text: 'y'.repeat(40_001),
      blocks: [
        { type: 'header', text: { type: 'mrkdwn', text: 'h'.repeat(151) } },
        { type: 'section', text: { type: 'mrkdwn', text: longText } },
        { type: 'section', text: { type: 'mrkdwn', text: '' } },
        { type: 'section', text: { type: 'plain_text', text: '\uD83D', verbatim: true } },
        {
          type: 'section',
          fields: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'f'.repeat(2001) })),
        },
        { type: 'context', elements: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'c' })) },
        { type: 'actions', block_id: 'a', elements: Array.from({ length: 26 }, () => button('dup')) },
        { type: 'actions', block_id: 'a', elements: [button('i'.repeat(256))] },
        { type: 'image', image_url: 'javascript:alert(1)', alt_text: '' },
        { type: 'rich_text', elements: [] },
        ...Array.from({ length: 45 }, () => ({ type: 'divider' })),
      ],
    });
    const expectations = [
      'text: 40001 > 40000',
      'blocks: 55 > 50',
      'blocks[0].text: must be plain_text',
      'blocks[0].text.text: 151 > 150',
      'blocks[1].text.text: 3001 > 3000',
      'blocks[2].text.text: empty or blank',
      'blocks[3].text: verbatim only allowed on mrkdwn',
      'blocks[3].text.text',
      'blocks[4].fields: 11 > 10',
      'blocks[4].fields[0].text: 2001 > 2000',
      'blocks[5].elements: 11 > 10',
      'blocks[6].elements: 26 > 25',
      'blocks[6].elements[0].text.text: 76 > 75',
      'blocks[6].elements[0].value: 2001 > 2000',
      'blocks[6].elements[0].confirm.title.text: 101 > 100',
      'blocks[6].elements[0].confirm.text.text: 301 > 300',
      'blocks[6].elements[0].confirm.confirm.text: 31 > 30',
      'blocks[6].elements[0].confirm.deny.text: empty or blank',
      'blocks[6].elements[1].action_id: duplicate id dup',
      'blocks[7].block_id: duplicate id a',
      'blocks[7].elements[0].action_id: 256 > 255',
      'blocks[8].image_url: not http(s)',
      'blocks[8].alt_text: empty or blank',
      'blocks[9]: unknown block type rich_text',
      'cumulative text',
      'lone surrogate',
    ];
    for (const e of expectations)
      expect(
        errors.some((x) => x.includes(e)),
        e,
      ).toBe(true);
  });

  it('flags injected mentions and broken fences', () => {
    const blocks: Block[] = [{ type: 'section', text: { type: 'mrkdwn', text: 'hi <!channel> ``` @here' } }];
    expect(injectionProblems({ text: '<@U1>', blocks })).toHaveLength(4);
  });
});

describe('renderBlocks', () => {
  it('renders a typical review message compactly with everything in the parent', () => {
    const r = renderBlocks({
      title: 'Review 12: which answer is better?',
      summary: 'New pairwise review',
      sections: [
        { kind: 'text', text: mrkdwn`Prompt from ${'<@U999> user'}:` },
        { kind: 'code', label: 'Answer A', text: 'Paris is the capital.' },
        { kind: 'code', label: 'Answer B', text: 'It is ```Paris```.' },
        {
          kind: 'fields',
          fields: [
            { label: 'Suite', value: 'geo-qa' },
            { label: 'Judge', value: '' },
          ],
        },
        { kind: 'context', items: ['blind review · order hidden', ''] },
        {
          kind: 'buttons',
          buttons: [
            { text: 'A is better', actionId: 'review.vote.a', value: 'r12:a', style: 'primary' },
            { text: 'B is better', actionId: 'review.vote.b', value: 'r12:b', style: 'primary' },
            {
              text: 'Skip',
              actionId: 'review.skip',
              value: 'r12',
              confirm: { title: 'Skip?', text: 'Skip this pair', confirm: 'Skip', deny: 'Back' },
            },
          ],
        },
      ],
    });
    expect(r.overflow).toEqual([]);
    // Slack asks for one primary button per set: the second is shown as default, and the render says so.
    expect(r.warnings).toEqual(['button "B is better": a second primary button in one set shown as default']);
    expect(r.text).toBe('New pairwise review');
    expect(r.blocks).toEqual([
      {
        type: 'header',
        text: { type: 'plain_text', text: 'Review 12: which answer is better?', emoji: true },
      },
      { type: 'section', text: { type: 'mrkdwn', text: 'Prompt from &lt;@U999&gt; user:' } },
      {
        type: 'section',
        text: { type: 'mrkdwn', text: '*Answer A*\n```\nParis is the capital.\n```', verbatim: true },
      },
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          // No invisible character inside the code block: the third backtick of a run is a visible look-alike.
          text: `*Answer B*\n\`\`\`\nIt is \`\`${CODE_BACKTICK}Paris\`\`${CODE_BACKTICK}.\n\`\`\``,
          verbatim: true,
        },
      },
      {
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: '*Suite*\ngeo-qa', verbatim: true },
          { type: 'mrkdwn', text: '*Judge*\n–', verbatim: true },
        ],
      },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: 'blind review · order hidden', verbatim: true }],
      },
      {
        type: 'actions',
        elements: [
          {
            type: 'button',
            text: { type: 'plain_text', text: 'A is better', emoji: true },
            action_id: 'review.vote.a',
            value: 'r12:a',
            style: 'primary',
          },
          {
            type: 'button',
            text: { type: 'plain_text', text: 'B is better', emoji: true },
            action_id: 'review.vote.b',
            value: 'r12:b',
          },
          {
            type: 'button',
            text: { type: 'plain_text', text: 'Skip', emoji: true },
            action_id: 'review.skip',
            value: 'r12',
            confirm: {
              title: { type: 'plain_text', text: 'Skip?', emoji: true },
              text: { type: 'plain_text', text: 'Skip this pair', emoji: true },
              confirm: { type: 'plain_text', text: 'Skip', emoji: true },
              deny: { type: 'plain_text', text: 'Back', emoji: true },
            },
          },
        ],
      },
    ]);
  });

  it('keeps trusted mrkdwn in text sections (links, bold) untouched', () => {
    const text = mrkdwn`*Run* ${slackLink('https://langfuse.test/trace/1?a=1&b=2', 'trace 1')} passed`;
    const r = renderBlocks({ title: '', sections: [{ kind: 'text', text }] });
    expect(r.blocks).toEqual([
      {
        type: 'section',
        text: { type: 'mrkdwn', text: '*Run* <https://langfuse.test/trace/1?a=1&amp;b=2|trace 1> passed' },
      },
    ]);
  });

  it.each<[string, MessageSection, Block[]]>([
    ['empty text section is omitted', { kind: 'text', text: '' }, []],
    ['blank text section is omitted', { kind: 'text', text: ' \n\t ' }, []],
    ['empty fields are omitted', { kind: 'fields', fields: [{ label: '', value: '  ' }] }, []],
    ['no fields at all', { kind: 'fields', fields: [] }, []],
    ['empty context items are omitted', { kind: 'context', items: ['', ' '] }, []],
    ['no buttons', { kind: 'buttons', buttons: [] }, []],
    [
      'empty code shows a placeholder',
      { kind: 'code', text: '' },
      [{ type: 'section', text: { type: 'mrkdwn', text: '_(empty)_', verbatim: true } }],
    ],
    [
      'blank button text and action id get defaults',
      { kind: 'buttons', buttons: [{ text: ' ', actionId: '', value: '' }] },
      [
        {
          type: 'actions',
          elements: [
            {
              type: 'button',
              text: { type: 'plain_text', text: 'Select', emoji: true },
              action_id: 'button-1',
            },
          ],
        },
      ],
    ],
  ])('%s', (_name, s, expected) => {
    const r = renderBlocks({ title: 'T', sections: [s] });
    expect(r.blocks.slice(1)).toEqual(expected);
    expect(checkBlockKitLimits(r)).toEqual([]);
  });

  it('never posts an empty message', () => {
    const r = renderBlocks({ title: '  ', sections: [{ kind: 'text', text: '' }] });
    expect(r.blocks).toEqual([
      { type: 'section', text: { type: 'mrkdwn', text: 'Arbiter', verbatim: true } },
    ]);
    expect(checkBlockKitLimits(r)).toEqual([]);
  });

  it('renders images by URL, local files as a note, and refuses non-http URLs', () => {
    const r = renderBlocks({
      title: 'Digest',
      sections: [
        { kind: 'image', alt: 'Score trend', url: 'https://example.test/trend.png' },
        { kind: 'image', alt: 'Local chart <!here>', path: '/var/data/digest/chart.png' },
        { kind: 'image', alt: '', url: 'javascript:alert(1)' },
      ],
    });
    expect(r.blocks.slice(1)).toEqual([
      { type: 'image', image_url: 'https://example.test/trend.png', alt_text: 'Score trend' },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: ':frame_with_picture: Local chart &lt;!here&gt; (file chart.png, uploaded separately)',
            verbatim: true,
          },
        ],
      },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: ':frame_with_picture: image (image not available: unsupported or too long URL)',
            verbatim: true,
          },
        ],
      },
    ]);
  });

  it('renders the Open report link button with its url, and drops a url that is not http(s) or too long', () => {
    const url = 'https://arbiter.example.test/r/runs/run_1?exp=1&sig=abc';
    const r = renderBlocks({ title: 'Run', sections: openReportSection(url) });
    expect(r.blocks.slice(1)).toEqual([
      {
        type: 'actions',
        elements: [
          {
            type: 'button',
            text: { type: 'plain_text', text: 'Open report', emoji: true },
            action_id: 'report:open',
            url,
          },
        ],
      },
    ]);
    expect(checkBlockKitLimits(r)).toEqual([]);
    expect(openReportSection(undefined)).toEqual([]);
    for (const bad of ['javascript:alert(1)', `https://x.test/${'a'.repeat(3000)}`]) {
      const dropped = renderBlocks({ title: 'Run', sections: openReportSection(bad) });
      const element = (dropped.blocks[1] as unknown as { elements: Record<string, unknown>[] }).elements[0]!;
      expect(element.url).toBeUndefined();
      expect(dropped.warnings.join(' ')).toMatch(/URL not http\(s\) or longer than 3000, dropped/);
    }
  });

  it('makes duplicate action ids unique and reversible with baseActionId', () => {
    const r = renderBlocks({
      title: 'Vote',
      sections: [
        {
          kind: 'buttons',
          buttons: [
            { text: 'A', actionId: 'vote', value: 'a' },
            { text: 'B', actionId: 'vote', value: 'b' },
          ],
        },
        { kind: 'buttons', buttons: [{ text: 'C', actionId: 'vote', value: 'c' }] },
      ],
    });
    const ids = r.blocks.flatMap((b) => (b.type === 'actions' ? b.elements.map((e) => e.action_id) : []));
    expect(ids).toEqual(['vote', 'vote~2', 'vote~3']);
    expect(ids.map(baseActionId)).toEqual(['vote', 'vote', 'vote']);
    expect(r.warnings).toHaveLength(2);
  });

  it('cuts a 1000-character title to a header and posts the full title in the thread', () => {
    const title = `${'Very long title '.repeat(62)}<!channel>`;
    const messages = renderThread({ title, sections: [] });
    const header = messages[0]?.blocks[0];
    expect(header?.type === 'header' && header.text.text.length).toBeLessThanOrEqual(150);
    expect(header?.type === 'header' && header.text.text.endsWith('…')).toBe(true);
    expect(appearsConsecutively(codeContents(messages.slice(1)), title)).toBe(true);
    expectAllValid(messages);
  });

  it('limits confirm dialogs and long button texts and values, and keeps the full label in the thread', () => {
    const longLabel = `Approve ${'really '.repeat(30)}`;
    const messages = renderThread({
      title: 'Confirm',
      sections: [
        {
          kind: 'buttons',
          buttons: [
            {
              text: longLabel,
              actionId: 'x'.repeat(400),
              value: 'v'.repeat(5000),
              style: 'danger',
              confirm: { title: 't'.repeat(500), text: 'c'.repeat(1000), confirm: 'y'.repeat(100), deny: '' },
            },
          ],
        },
      ],
    });
    expectAllValid(messages);
    expect(messages[0]?.warnings.join('\n')).toMatch(/longer than 2000/);
    expect(appearsConsecutively(codeContents(messages), longLabel)).toBe(true);
    expect(appearsConsecutively(codeContents(messages), 'c'.repeat(1000))).toBe(true);
  });
});

describe('renderThread: long content moves to the thread without loss', () => {
  const hostileLine = (i: number) =>
    `${i}: <!channel> & <@U123ABC> @here \`\`\`js *b* _i_ ~s~ > q 😀 👩‍👩‍👧‍👦 e\u0301 שלום\n`;
  const build = (n: number) => {
    let s = '';
    for (let i = 0; s.length < n; i++) s += hostileLine(i);
    return s.slice(0, n);
  };

  it.each([10_000, 100_000])(
    '%i-character model output: parent cut with a marker, replies reassemble it exactly',
    (n) => {
      const output = build(n);
      const messages = renderThread({
        title: 'Run 7: item 3 output',
        sections: [
          { kind: 'fields', fields: [{ label: 'Score', value: '0.42' }] },
          { kind: 'code', label: 'Output', text: output },
          { kind: 'buttons', buttons: [{ text: 'Rerun', actionId: 'run.rerun', value: '7:3' }] },
        ],
      });
      expectAllValid(messages);
      const [parent, ...replies] = messages;
      expect(parent?.threaded).toBe(false);
      expect(replies.every((m) => m.threaded && !m.ephemeral)).toBe(true);
      // The parent keeps the score and the button, shows a cut output with a visible marker.
      expect(parent?.blocks.map((b) => b.type)).toEqual(['header', 'section', 'section', 'actions']);
      const shown = parent?.blocks[2];
      expect(shown?.type === 'section' && shown.text?.text).toMatch(
        /```\n… \(truncated, full text in thread\)$/,
      );
      // Concatenating the replies' code blocks gives back the exact original output.
      expect(codeContents(replies).join('')).toBe(output);
      expect(replies.length).toBeLessThanOrEqual(Math.ceil(n / 5000) + 1);
    },
  );

  it('moves sections past 50 blocks to the thread, with a note, in order', () => {
    const sections: MessageSection[] = Array.from({ length: 200 }, (_, i) => ({
      kind: 'text',
      text: `Section ${i}`,
    }));
    const messages = renderThread({ title: 'Many', sections });
    expectAllValid(messages);
    const parent = messages[0];
    expect(parent?.blocks).toHaveLength(50);
    expect(parent?.blocks.at(-1)).toEqual({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: '_152 more sections in the thread._', verbatim: true }],
    });
    const texts = sectionTexts(messages);
    expect(texts).toEqual(sections.map((s) => (s.kind === 'text' ? s.text : '')));
  });

  it('splits 50 fields into sections of 10 and 60 buttons into actions blocks of 25', () => {
    const messages = renderThread({
      title: 'Wide',
      sections: [
        {
          kind: 'fields',
          fields: Array.from({ length: 50 }, (_, i) => ({ label: `Metric ${i}`, value: `${i / 50}` })),
        },
        {
          kind: 'buttons',
          buttons: Array.from({ length: 60 }, (_, i) => ({
            text: `Item ${i}`,
            actionId: `pick.${i}`,
            value: `${i}`,
          })),
        },
      ],
    });
    expectAllValid(messages);
    expect(messages).toHaveLength(1);
    const blocks = messages[0]?.blocks ?? [];
    expect(
      blocks.filter((b) => b.type === 'section').map((b) => (b.type === 'section' ? b.fields?.length : 0)),
    ).toEqual([10, 10, 10, 10, 10]);
    expect(
      blocks.filter((b) => b.type === 'actions').map((b) => (b.type === 'actions' ? b.elements.length : 0)),
    ).toEqual([25, 25, 10]);
  });

  it('keeps vote buttons in the parent when two long outputs compete for the budget', () => {
    const messages = renderThread({
      title: 'Review',
      sections: [
        { kind: 'code', label: 'A', text: build(20_000) },
        { kind: 'code', label: 'B', text: build(20_000) },
        {
          kind: 'fields',
          fields: Array.from({ length: 10 }, (_, i) => ({ label: `f${i}`, value: 'x'.repeat(600) })),
        },
        {
          kind: 'buttons',
          buttons: [
            { text: 'A', actionId: 'a', value: 'a' },
            { text: 'B', actionId: 'b', value: 'b' },
          ],
        },
      ],
    });
    expectAllValid(messages);
    expect(messages[0]?.blocks.some((b) => b.type === 'actions')).toBe(true);
    expect(
      messages[0]?.blocks.filter((b) => b.type === 'section' && b.text && MARKER_RE.test(b.text.text)),
    ).toHaveLength(2);
  });

  it('keeps replies of an ephemeral message ephemeral and unthreaded', () => {
    const messages = renderThread({
      title: 'Only you',
      ephemeral: true,
      sections: [{ kind: 'code', text: build(10_000) }],
      thread: [{ title: 'Reply', sections: [{ kind: 'text', text: 'more' }] }],
    });
    expectAllValid(messages);
    expect(messages.every((m) => m.ephemeral && !m.threaded)).toBe(true);
    const shown = messages[0]?.blocks[1];
    expect(shown?.type === 'section' && shown.text?.text).toMatch(/full text below/);
  });

  it('flattens thread replies after the parent overflow, in order', () => {
    const messages = renderThread({
      title: 'Parent',
      sections: [{ kind: 'code', text: 'x'.repeat(5000) }],
      thread: [
        { title: 'First reply', sections: [], thread: [{ title: 'Nested', sections: [] }] },
        { title: 'Second reply', sections: [] },
      ],
    });
    const headers = messages.map((m) =>
      m.blocks[0]?.type === 'header' ? m.blocks[0].text.text : '(overflow)',
    );
    expect(headers).toEqual(['Parent', '(overflow)', 'First reply', 'Nested', 'Second reply']);
    expect(messages.slice(1).every((m) => m.threaded)).toBe(true);
  });

  it('cuts a long text section at a safe point, closes an open fence, and reposts it whole', () => {
    const text = `${mrkdwn`*Summary* ${'word '.repeat(100)}`}\n\`\`\`\n${escapeMrkdwn('line <!here>\n').repeat(400)}\`\`\``;
    const messages = renderThread({ title: 'T', sections: [{ kind: 'text', text }] });
    expectAllValid(messages);
    const shown = messages[0]?.blocks[1];
    expect(shown?.type === 'section' && shown.text?.text).toMatch(
      /\n```\n… \(truncated, full text in thread\)$/,
    );
    // Each reply closes the fence it opened and the next one reopens it; without those junctions: the text.
    expect(sectionTexts(messages.slice(1)).join('').replaceAll('\n``````\n', '')).toBe(text);
  });
});

describe('renderThread with hostile content (property)', () => {
  it('respects every Block Kit limit, neutralizes mentions and loses nothing', () => {
    fc.assert(
      fc.property(message, (m) => {
        const messages = renderThread(m);
        expectAllValid(messages);
        expectNothingLost(m, messages);
        for (const reply of m.thread ?? []) expectNothingLost(reply, messages);
        // Overflow messages are built to fit: rendering one never moves or cuts anything again.
        for (const o of renderBlocks(m).overflow) expect(renderBlocks(o).overflow).toEqual([]);
      }),
      // Shrinking counterexamples of 100k characters is slow; stop it rather than hang the suite.
      { numRuns: 100, interruptAfterTimeLimit: 150_000 },
    );
  }, 200_000);
});
