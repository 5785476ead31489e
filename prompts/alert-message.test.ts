import { describe, expect, it } from 'vitest';
import type { MessageSection } from '../chat/message.ts';
import { alertButtons, buildPromptAlert, chunkLines, MAX_BUTTONS } from './alert-message.ts';
import { diffPrompts } from './diff.ts';
import { summarizeChange } from './label-moves.ts';

const moveChange = summarizeChange(
  'support-bot',
  [
    {
      eventId: 'a',
      action: 'updated',
      version: 4,
      labels: ['production'],
      tags: [],
      timestamp: 't',
      user: 'alice',
    },
    { eventId: 'b', action: 'updated', version: 3, labels: [], tags: [], timestamp: 't', user: 'alice' },
  ],
  new Map([
    [3, ['production']],
    [4, []],
  ]),
);

function section<K extends MessageSection['kind']>(sections: MessageSection[], kind: K) {
  return sections.filter((s): s is Extract<MessageSection, { kind: K }> => s.kind === kind);
}

describe('buildPromptAlert', () => {
  it('says what moved once, with who, the diff and the buttons', () => {
    const diff = diffPrompts(
      { type: 'text', version: 3, prompt: 'Hello\nBe brief.', config: { temperature: 0.2 } },
      { type: 'text', version: 4, prompt: 'Hello\nBe very brief.', config: { temperature: 0.1 } },
    );
    const msg = buildPromptAlert({
      change: moveChange,
      diff: { ok: true, diff },
      promptType: 'text',
      suites: [{ suite: 'support-smoke', runToken: 'pa_run', compareToken: 'pa_cmp' }],
      link: 'https://lf.test/project/p1/prompts/support-bot?version=4',
    });
    expect(msg.title).toBe('Prompt changed: support-bot');
    expect(msg.summary).toBe('support-bot: production: v3 → v4 by alice');
    const fields = section(msg.sections, 'fields')[0]!.fields;
    expect(fields).toContainEqual({ label: 'Action', value: 'labels moved' });
    expect(fields).toContainEqual({ label: 'Version', value: 'v4 (text)' });
    expect(fields).toContainEqual({ label: 'Labels now', value: 'production' });
    const code = section(msg.sections, 'code')[0]!;
    expect(code.label).toBe(
      'Diff v3 → v4 (the previous holder of the label): +1 −1 lines, 1 config change(s)',
    );
    expect(code.text).toContain('+ Be very brief.');
    expect(section(msg.sections, 'buttons')[0]!.buttons).toEqual([
      { text: 'Run support-smoke', actionId: 'prompt:run_suite', value: 'pa_run', style: 'primary' },
      { text: 'Compare with production', actionId: 'prompt:compare_production', value: 'pa_cmp' },
    ]);
    expect(msg.thread?.[0]?.sections[0]).toMatchObject({
      kind: 'code',
      text: expect.stringContaining('~ temperature: 0.2 → 0.1'),
    });
  });

  it('keeps a huge diff out of the main message and puts it, cut into parts, in the thread', () => {
    const big = Array.from({ length: 2000 }, (_, i) => `line ${i} ${'x'.repeat(40)}`).join('\n');
    const diff = diffPrompts(
      { type: 'text', version: 1, prompt: '', config: {} },
      { type: 'text', version: 2, prompt: big, config: {} },
    );
    const msg = buildPromptAlert({
      change: { ...moveChange, focus: 2 },
      diff: { ok: true, diff },
      suites: [],
    });
    const code = section(msg.sections, 'code')[0]!;
    expect(code.text.length).toBeLessThanOrEqual(1500);
    expect(msg.thread!.length).toBe(16); // 15 parts + "diff cut"
    for (const t of msg.thread!)
      for (const s of t.sections) if (s.kind === 'code') expect(s.text.length).toBeLessThanOrEqual(2800);
    expect(section(msg.sections, 'context').flatMap((c) => c.items)).toContain(
      'Diff preview cut: the full diff is in the thread.',
    );
  });

  it('explains a missing diff and the missing suites', () => {
    const msg = buildPromptAlert({
      change: moveChange,
      diff: { ok: false, reason: 'Langfuse down' },
      suites: [],
    });
    const notes = section(msg.sections, 'context').flatMap((c) => c.items);
    expect(notes).toContain('No diff: Langfuse down');
    expect(notes.some((n) => n.includes('watch: { prompts: [support-bot] }'))).toBe(true);
  });
});

describe('alertButtons and chunkLines', () => {
  it('caps buttons and lists the suites left out', () => {
    const suites = Array.from({ length: 15 }, (_, i) => ({
      suite: `s${i}`,
      runToken: `r${i}`,
      compareToken: `c${i}`,
    }));
    const { buttons, left } = alertButtons(suites);
    expect(buttons).toHaveLength(MAX_BUTTONS);
    expect(left).toEqual(['s10', 's11', 's12', 's13', 's14']);
    expect(buttons[1]!.text).toBe('Compare s0 with production');
  });

  it.each([
    ['short', 'a\nb', 10, ['a\nb']],
    ['splits on lines', 'aaaa\nbbbb\ncc', 9, ['aaaa\nbbbb', 'cc']],
    ['splits a long line', 'abcdefghij', 4, ['abcd', 'efgh', 'ij']],
  ])('chunkLines: %s', (_n, text, max, expected) => {
    expect(chunkLines(text, max)).toEqual(expected);
  });
});

describe('untrusted names in the headline', () => {
  it('a prompt or user name cannot carry a mention into Slack', () => {
    const change = summarizeChange(
      'evil <!channel> prompt',
      [
        {
          eventId: 'x',
          action: 'created',
          version: 2,
          labels: [],
          tags: [],
          timestamp: 't',
          user: '<@U999> mallory',
        },
      ],
      new Map(),
    );
    const msg = buildPromptAlert({
      change,
      diff: {
        ok: true,
        diff: diffPrompts(undefined, { type: 'text', version: 2, prompt: 'hi', config: {} }),
      },
      suites: [],
    });
    const text = section(msg.sections, 'text')[0]!.text;
    expect(text).not.toMatch(/<!channel>|<@U999>/);
    expect(text).toContain('evil &lt;!channel&gt; prompt');
    expect(text).toContain('&lt;@U999&gt; mallory');
  });
});
