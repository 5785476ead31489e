import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Message, MessageSection } from '../chat/message.ts';
import { displayWidth, renderConsole, sanitizeForTerminal } from './render-console.ts';
import { escapeMrkdwn, mrkdwn, slackLink } from './slack-text.ts';

const review: Message = {
  title: 'Review 12',
  sections: [
    {
      kind: 'text',
      text: mrkdwn`Prompt from ${'<@U1> & co'} — see ${slackLink('https://lf.test/t/1', 'trace')}`,
    },
    {
      kind: 'fields',
      fields: [
        { label: 'Suite', value: 'geo-qa' },
        { label: 'Judge model', value: '' },
      ],
    },
    { kind: 'code', label: 'Answer A', text: 'Paris.\n  indented line' },
    { kind: 'context', items: ['blind review', ''] },
    { kind: 'divider' },
    {
      kind: 'buttons',
      buttons: [
        { text: 'A is better', actionId: 'review.vote.a', value: 'a', style: 'primary' },
        {
          text: 'Skip',
          actionId: 'review.skip',
          value: 's',
          confirm: { title: 't', text: 'x', confirm: 'y', deny: 'n' },
        },
      ],
    },
    { kind: 'image', alt: 'Trend', path: '/tmp/trend.png' },
  ],
  thread: [{ title: 'Details', sections: [{ kind: 'text', text: 'More\ntext' }] }],
};

describe('renderConsole', () => {
  it('renders a readable plain-text layout', () => {
    expect(renderConsole(review)).toBe(
      [
        'Review 12',
        '═════════',
        '',
        'Prompt from <@U1> & co — see trace (https://lf.test/t/1)',
        '',
        'Suite        geo-qa',
        'Judge model  –',
        '',
        'Answer A:',
        '    Paris.',
        '      indented line',
        '',
        '· blind review',
        '',
        '─'.repeat(80),
        '',
        '[ A is better ] (review.vote.a)  [ Skip ] (review.skip, asks to confirm)',
        '',
        '[image: Trend] file: /tmp/trend.png',
        '',
        '  ↳ Details',
        '    ═══════',
        '',
        '    More',
        '    text',
        '',
      ].join('\n'),
    );
  });

  it('shows Slack mentions in our own text the way Slack would', () => {
    const out = renderConsole({
      title: '',
      sections: [{ kind: 'text', text: 'Hi <!here>, <@U1|ann> in <#C1|general>' }],
    });
    expect(out).toBe('Hi @here, @ann in #general\n');
  });

  it('uses ANSI colours only when asked', () => {
    const plain = renderConsole(review, { color: false });
    const colored = renderConsole(review, { color: true });
    expect(plain).not.toContain('\x1b');
    expect(colored).toContain('\x1b[1mReview 12\x1b[0m');
    expect(colored).toContain('\x1b[32m[ A is better ]\x1b[0m');
  });

  it('neutralizes terminal escapes and bidi overrides in data', () => {
    const out = renderConsole({
      title: 'T\x1b[2J',
      sections: [
        { kind: 'code', text: 'evil \x1b]8;;http://x\x07link\x1b]8;;\x07 \r overwrite \u202etxt.exe' },
        { kind: 'fields', fields: [{ label: 'a\x1b[31m', value: 'b\x00' }] },
      ],
    });
    expect(out).not.toContain('\x1b');
    expect(out).not.toContain('\r');
    expect(out).not.toContain('\u202e');
    expect(out).toContain('T\\x1b[2J');
    expect(out).toContain('<U+202E>txt.exe');
  });

  it('wraps long text to the width and aligns wrapped field values', () => {
    const out = renderConsole(
      {
        title: 'W',
        sections: [
          { kind: 'text', text: 'word '.repeat(30) },
          { kind: 'fields', fields: [{ label: 'Reason', value: 'because '.repeat(10) }] },
        ],
      },
      { width: 30 },
    );
    const lines = out.split('\n');
    expect(lines.every((l) => displayWidth(l) <= 30)).toBe(true);
    expect(lines.slice(-6)).toEqual([
      'Reason  because because',
      '        because because',
      '        because because',
      '        because because',
      '        because because',
      '',
    ]);
  });

  it('counts wide characters for alignment and underline', () => {
    expect(displayWidth('日本')).toBe(4);
    expect(displayWidth('😀')).toBe(2);
    expect(displayWidth('e\u0301')).toBe(1);
    expect(renderConsole({ title: '日本語', sections: [] })).toBe('日本語\n══════\n');
  });

  it('never throws and never emits control characters for hostile messages (property)', () => {
    const text = fc.string({ unit: 'binary', maxLength: 200 });
    const section: fc.Arbitrary<MessageSection> = fc.oneof(
      text.map((t) => ({ kind: 'text' as const, text: escapeMrkdwn(t) })),
      fc.record({ kind: fc.constant('code' as const), text, label: text }),
      fc
        .array(fc.record({ label: text, value: text }), { maxLength: 5 })
        .map((fields) => ({ kind: 'fields' as const, fields })),
      fc.array(text, { maxLength: 5 }).map((items) => ({ kind: 'context' as const, items })),
      fc
        .array(fc.record({ text, actionId: text, value: text }), { maxLength: 5 })
        .map((buttons) => ({ kind: 'buttons' as const, buttons })),
      fc.constant({ kind: 'divider' as const }),
      fc.record({ kind: fc.constant('image' as const), alt: text, url: text }),
    );
    fc.assert(
      fc.property(
        fc.string({ maxLength: 100 }),
        fc.array(section, { maxLength: 8 }),
        fc.integer({ min: 0, max: 200 }),
        (title, sections, width) => {
          const out = renderConsole({ title, sections, thread: [{ title, sections }] }, { width });
          // Tabs and newlines are layout; everything else below U+0020 would be a terminal instruction.
          // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence
          expect(out).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
          expect(sanitizeForTerminal(out)).toBe(out);
        },
      ),
      { numRuns: 200 },
    );
  });
});
