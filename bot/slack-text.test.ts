import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  escapedPrefixLengths,
  escapeMrkdwn,
  mrkdwn,
  rawMrkdwn,
  safeCut,
  slackLink,
  splitForEscapedBudget,
  splitText,
  TRUNCATION_MARKER,
  toWellFormed,
  truncateText,
  unescapeMrkdwn,
  WORD_JOINER,
} from './slack-text.ts';

const WJ = WORD_JOINER;
const LONE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const UNGUARDED_MENTION = /@(?:here|channel|everyone)(?![\p{L}\p{N}_])/iu;

const NASTY = [
  '<!channel>',
  '<!here>',
  '<!everyone>',
  '<@U123ABC>',
  '<#C123|general>',
  '<!subteam^S123|@team>',
  '<!date^1392734382^{date}|Feb 18>',
  '@here',
  '@channel',
  '@everyone',
  '@HERE',
  'x@channel.io',
  '```',
  '``',
  '`',
  '*',
  '_',
  '~',
  '>',
  '> quote',
  '&',
  '&amp;',
  '&lt;',
  '&#64;',
  '😀',
  '👩‍👩‍👧‍👦',
  '🇫🇷',
  'e\u0301',
  'שלום',
  'مرحبا',
  '\u202e',
  '\u0000',
  '\n',
  ' ',
  WJ,
  `@${WJ}here`,
  `\`${WJ}\``,
];
const nastyString = fc
  .array(
    fc.oneof(
      fc.constantFrom(...NASTY),
      fc.string({ unit: 'grapheme', maxLength: 8 }),
      fc.string({ unit: 'binary', maxLength: 8 }),
    ),
    {
      maxLength: 40,
    },
  )
  .map((parts) => parts.join(''));

describe('escapeMrkdwn', () => {
  it.each([
    ['plain text', 'plain text'],
    ['a & b', 'a &amp; b'],
    ['<!channel> hi', '&lt;!channel&gt; hi'],
    ['<!here>', '&lt;!here&gt;'],
    ['<!everyone>', '&lt;!everyone&gt;'],
    ['<@U123ABC>', '&lt;@U123ABC&gt;'],
    ['<#C123|general>', '&lt;#C123|general&gt;'],
    ['<!subteam^S123>', '&lt;!subteam^S123&gt;'],
    ['ping @here now', `ping @${WJ}here now`],
    ['@channel, @everyone!', `@${WJ}channel, @${WJ}everyone!`],
    ['@HERE', `@${WJ}HERE`],
    ['@heretic and @channels', '@heretic and @channels'],
    ['user@example.com', 'user@example.com'],
    ['```js\ncode\n```', `\`${WJ}\`${WJ}\`js\ncode\n\`${WJ}\`${WJ}\``],
    ['one `tick` only', 'one `tick` only'],
    ['> not a quote', '&gt; not a quote'],
    ['*bold* _it_ ~s~', '*bold* _it_ ~s~'],
    ['already &amp; escaped', 'already &amp;amp; escaped'],
    ['', ''],
  ])('%j → %j', (input, expected) => {
    expect(escapeMrkdwn(input)).toBe(expected);
    expect(unescapeMrkdwn(expected)).toBe(input);
  });

  it('is exactly reversible, leaves no Slack control sequence, mention or code fence (property)', () => {
    fc.assert(
      fc.property(nastyString, (s) => {
        const e = escapeMrkdwn(s);
        expect(unescapeMrkdwn(e)).toBe(s);
        expect(e).not.toMatch(/[<>]/);
        expect(e).not.toMatch(/&(?!amp;|lt;|gt;)/);
        expect(e).not.toMatch(UNGUARDED_MENTION);
        expect(e).not.toContain('```');
        expect(escapedPrefixLengths(s)[s.length]).toBeGreaterThanOrEqual(e.length);
      }),
      { numRuns: 500 },
    );
  });
});

describe('mrkdwn template and links', () => {
  it('escapes interpolated values but not the literal parts or raw pieces', () => {
    const name = '<!channel> @here *bold*';
    expect(mrkdwn`*Run* ${name} scored ${0.5}`).toBe(`*Run* &lt;!channel&gt; @${WJ}here *bold* scored 0.5`);
    expect(mrkdwn`see ${rawMrkdwn('<https://x.test|x>')} and ${undefined}`).toBe(
      'see <https://x.test|x> and ',
    );
  });

  it('builds links with escaped URL and label', () => {
    expect(mrkdwn`${slackLink('https://x.test/a?b=1&c=2|3', '<!here> trace')}`).toBe(
      '<https://x.test/a?b=1&amp;c=2%7C3|&lt;!here&gt; trace>',
    );
    expect(mrkdwn`${slackLink('https://x.test')}`).toBe('<https://x.test>');
  });
});

describe('truncateText', () => {
  it.each([
    { name: 'fits unchanged', text: 'short', max: 10, marker: '…', expected: 'short' },
    { name: 'plain cut', text: 'abcdefghij', max: 5, marker: '…', expected: 'abcd…' },
    { name: 'never splits a surrogate pair', text: 'ab😀cd', max: 4, marker: '…', expected: 'ab…' },
    { name: 'never splits &amp;', text: 'ab&amp;cd', max: 6, marker: '…', expected: 'ab…' },
    { name: 'never splits &lt;', text: 'x&lt;y', max: 4, marker: '…', expected: 'x…' },
    {
      name: 'keeps a whole entity when it fits',
      text: 'ab&amp;cd',
      max: 8,
      marker: '…',
      expected: 'ab&amp;…',
    },
    { name: 'never splits a ZWJ family emoji', text: 'a👩‍👩‍👧‍👦b', max: 6, marker: '…', expected: 'a…' },
    { name: 'never splits a flag', text: 'a🇫🇷b', max: 4, marker: '…', expected: 'a…' },
    { name: 'never strips a combining accent', text: 'cafe\u0301s', max: 5, marker: '…', expected: 'caf…' },
    {
      name: 'never creates a mention by cutting "@herein"',
      text: 'see @herein now',
      max: 10,
      marker: '…',
      expected: 'see …',
    },
    { name: 'marker longer than max is cut', text: 'abcdef', max: 3, marker: '[truncated]', expected: '[tr' },
  ])('$name', ({ text, max, marker, expected }) => {
    expect(truncateText(text, max, marker)).toBe(expected);
  });

  it('appends the visible default marker', () => {
    const out = truncateText('x'.repeat(5000), 3000);
    expect(out.endsWith(TRUNCATION_MARKER)).toBe(true);
    expect(out.length).toBeLessThanOrEqual(3000);
  });

  it('keeps Slack <…> tokens whole when asked', () => {
    expect(truncateText('see <https://example.test/long|link> now', 20, '…', { keepTokens: true })).toBe(
      'see …',
    );
  });

  it('always fits, never leaves a lone surrogate or a broken entity (property)', () => {
    fc.assert(
      fc.property(nastyString, fc.integer({ min: 1, max: 200 }), (s, max) => {
        const e = escapeMrkdwn(s);
        const out = truncateText(e, max, '…');
        expect(out.length).toBeLessThanOrEqual(max);
        expect(out).not.toMatch(LONE);
        expect(out.replace(/&(amp|lt|gt);/g, '')).not.toContain('&');
        if (e.length <= max) expect(out).toBe(e);
        else expect(e.startsWith(out.slice(0, -1))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe('splitting', () => {
  it('splitText pieces join back exactly and respect the limit (property)', () => {
    fc.assert(
      fc.property(nastyString, fc.integer({ min: 4, max: 60 }), (s, max) => {
        const e = escapeMrkdwn(s);
        const pieces = splitText(e, max, { preferNewline: 0.2 });
        expect(pieces.join('')).toBe(e);
        for (const p of pieces) {
          expect(p.length).toBeLessThanOrEqual(max);
          expect(p).not.toMatch(LONE);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('splitForEscapedBudget pieces join back exactly and each escapes within budget (property)', () => {
    fc.assert(
      fc.property(nastyString, fc.integer({ min: 8, max: 80 }), (s, budget) => {
        const pieces = splitForEscapedBudget(s, budget);
        expect(pieces.join('')).toBe(s);
        for (const p of pieces) expect(escapeMrkdwn(p).length).toBeLessThanOrEqual(budget);
      }),
      { numRuns: 300 },
    );
  });

  it('handles 100k characters of hostile text quickly and losslessly', () => {
    const unit = 'line <!channel> & ``` @here 😀 👩‍👩‍👧‍👦 e\u0301 שלום\n';
    const big = unit.repeat(Math.ceil(100_000 / unit.length));
    const pieces = splitForEscapedBudget(big, 2900);
    expect(pieces.join('')).toBe(big);
    expect(pieces.every((p) => escapeMrkdwn(p).length <= 2900)).toBe(true);
    // Cuts prefer line ends.
    expect(pieces.slice(0, -1).every((p) => p.endsWith('\n'))).toBe(true);
  });

  it('safeCut always progresses, even inside one huge grapheme cluster', () => {
    const zalgo = `a${'\u0301'.repeat(500)}`;
    expect(safeCut(zalgo, 100)).toBeGreaterThan(0);
    expect(safeCut('😀😀', 1)).toBe(2);
  });
});

describe('toWellFormed', () => {
  it('replaces lone surrogates only', () => {
    expect(toWellFormed('a\uD83Db😀\uDE00')).toBe('a\uFFFDb😀\uFFFD');
  });
});
