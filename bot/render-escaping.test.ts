// One escaping rule (issue 16, Deliver 5): everything that reaches mrkdwn is escaped exactly once, except the
// mentions and links built on purpose; the fallback `text` is escaped once (never `&amp;lt;`). Table-tested with
// hostile content in every part of a Message, then through the real builders of problem 7.
import { describe, expect, it } from 'vitest';
import { errorMessage, notice, usageMessage } from '../commands/dispatch.ts';
import { link, type Message, md, mention, plainText } from '../chat/message.ts';
import { renderRunSummary } from '../commands/run-messages.ts';
import { ArbiterError } from '../config/index.ts';
import { buildTickReport } from '../monitors/report.ts';
import { ballotMessage, reportMessage } from '../reviews/messages.ts';
import { RunSummarySchema } from '../runs/types.ts';
import { type Block, renderBlocks, renderThread, type SlackMessage } from './render-blocks.ts';
import { escapeMrkdwn, escapePlainLinked, unescapeCode, unescapeMrkdwn, WORD_JOINER } from './slack-text.ts';

/** The plain text of a verbatim element: raw URLs the renderer linked are unwrapped, then escaping undone. */
function decodeVerbatim(text: string): string {
  return unescapeMrkdwn(text.replace(/<(https?:\/\/[^<>|]+)>/g, (_m, url: string) => url));
}

const HOSTILE: Record<string, string> = {
  broadcast: 'ping <!channel> and <!here|here> now',
  userMention: 'hi <@U123|x> and <#C999>',
  entity: 'already &amp; escaped &lt;b&gt;',
  formatting: '*bold* _it_ ~strike~ `code` ```fence``` ````four````',
  wordJoiner: `a${WORD_JOINER}b @${WORD_JOINER}here`,
  link: '<https://evil.example|click me>',
  bareBroadcast: '@here @channel @everyone',
};

/** Every mrkdwn string Slack parses in a rendered message, with whether it is verbatim. */
function mrkdwnOf(m: { text: string; blocks: Block[] }): { text: string; verbatim: boolean }[] {
  const out = [{ text: m.text, verbatim: false }];
  for (const b of m.blocks) {
    if (b.type === 'section') {
      if (b.text?.type === 'mrkdwn') out.push({ text: b.text.text, verbatim: b.text.verbatim === true });
      for (const f of b.fields ?? []) if (f.type === 'mrkdwn') out.push({ text: f.text, verbatim: true });
    }
    if (b.type === 'context')
      for (const e of b.elements) if (e.type === 'mrkdwn') out.push({ text: e.text, verbatim: true });
  }
  return out;
}

/** No control sequence the data could have injected: only `<@U…>`, `<#C…>` and links we allow through. */
function injected(m: { text: string; blocks: Block[] }, allowed: readonly string[] = []): string[] {
  const problems: string[] = [];
  for (const { text, verbatim } of mrkdwnOf(m)) {
    let rest = text;
    for (const a of allowed) rest = rest.split(a).join('');
    if (/<[!@#]/.test(rest)) problems.push(`special token in ${JSON.stringify(text.slice(0, 80))}`);
    if (/<https?:\/\/[^>]*\|/.test(rest))
      problems.push(`labelled link in ${JSON.stringify(text.slice(0, 80))}`);
    if (!verbatim && /@(here|channel|everyone)\b/.test(text))
      problems.push(`bare broadcast in non-verbatim ${JSON.stringify(text.slice(0, 80))}`);
  }
  return problems;
}

const all = (messages: SlackMessage[]) => messages.map((m) => ({ text: m.text, blocks: m.blocks }));

describe('one escaping rule, per Message part, with hostile content', () => {
  for (const [name, raw] of Object.entries(HOSTILE)) {
    it(`${name}: every part shows the data exactly once escaped and injects nothing`, () => {
      const message: Message = {
        title: raw,
        summary: raw,
        sections: [
          { kind: 'text', text: md`*Label:* ${raw}` },
          { kind: 'fields', fields: [{ label: raw, value: raw }] },
          {
            kind: 'fields',
            mrkdwn: true,
            fields: [{ label: 'By', value: md`${mention('U0ABC')} wrote ${raw}` }],
          },
          { kind: 'code', label: raw, text: raw },
          { kind: 'context', items: [raw] },
          { kind: 'context', mrkdwn: true, items: [md`${raw} ${link('https://ok.example/a?b=1&c=2', raw)}`] },
          {
            kind: 'buttons',
            buttons: [
              {
                text: raw,
                actionId: 'x',
                value: 'v',
                confirm: { title: raw, text: raw, confirm: 'Go', deny: 'No' },
              },
            ],
          },
          { kind: 'image', alt: raw, url: 'https://img.example/c.png' },
        ],
      };
      const r = renderBlocks(message);
      expect(r.overflow).toEqual([]);
      // Fallback text: plain summary escaped once, so Slack shows the raw text again.
      expect(unescapeMrkdwn(r.text)).toBe(raw);
      const [header, text, fields, mfields, code, context, mcontext, actions, image] = r.blocks;
      // plain_text is never parsed: the title shows as it is.
      expect(header).toMatchObject({ type: 'header', text: { type: 'plain_text', text: raw } });
      expect(text?.type === 'section' && text.text?.text).toBe(`*Label:* ${md`${raw}`}`);
      expect(text?.type === 'section' && unescapeMrkdwn(text.text!.text)).toBe(`*Label:* ${raw}`);
      const field = fields?.type === 'section' ? fields.fields?.[0]?.text : undefined;
      expect(field).toBe(`*${escapeMrkdwn(raw)}*\n${escapePlainLinked(raw)}`);
      expect(decodeVerbatim(field!)).toBe(`*${raw}*\n${raw}`);
      const mfield = mfields?.type === 'section' ? mfields.fields?.[0]?.text : '';
      // The mention built on purpose pings; the data beside it stays inert.
      expect(mfield).toContain('<@U0ABC> wrote ');
      expect(plainText(mfield!.replace(/^\*By\*\n/, ''))).toBe(`@U0ABC wrote ${raw}`);
      const codeText = code?.type === 'section' ? code.text!.text : '';
      const inner = /```\n([\s\S]*)\n```$/.exec(codeText)?.[1] ?? '';
      expect(unescapeCode(inner)).toBe(raw);
      // Nothing invisible is added inside a code block (it would be copied with the text).
      expect([...inner].filter((c) => c === WORD_JOINER).length).toBe(
        [...raw].filter((c) => c === WORD_JOINER).length,
      );
      expect(inner).not.toMatch(/```/);
      const ctx = context?.type === 'context' ? context.elements[0]?.text : '';
      expect(decodeVerbatim(ctx ?? '')).toBe(raw);
      const mctx = mcontext?.type === 'context' ? mcontext.elements[0]?.text : '';
      expect(mctx).toMatch(/<https:\/\/ok\.example\/a\?b=1&amp;c=2\|[^<>|]*>$/);
      expect(actions).toMatchObject({
        type: 'actions',
        elements: [
          { text: { type: 'plain_text', text: raw.slice(0, 75) }, confirm: { title: { text: raw } } },
        ],
      });
      expect(image).toMatchObject({ type: 'image', alt_text: raw });
      expect(injected(r, ['<@U0ABC>', '<https://ok.example/a?b=1&amp;c=2|'])).toEqual([]);
    });
  }

  it('very long hostile content is cut in the parent and whole in the thread, still escaped once', () => {
    const raw = Object.values(HOSTILE).join(' | ').repeat(300);
    const messages = renderThread({
      title: 'Long',
      summary: raw,
      sections: [
        { kind: 'code', label: 'Output', text: raw },
        { kind: 'context', items: [raw] },
        { kind: 'fields', fields: [{ label: 'Reason', value: raw }] },
      ],
    });
    expect(messages.length).toBeGreaterThan(1);
    for (const m of all(messages)) expect(injected(m)).toEqual([]);
    // Every code piece, reassembled in order, gives back the raw text: once for the code, the note and the field.
    const pieces = messages.flatMap((m) =>
      m.blocks.flatMap((b) => {
        if (b.type !== 'section' || !b.text || /truncated/.test(b.text.text)) return [];
        const match = /```\n([\s\S]*)\n```$/.exec(b.text.text);
        return match ? [unescapeCode(match[1] ?? '')] : [];
      }),
    );
    expect(pieces.join('')).toBe(raw + raw + raw);
    expect(messages[0]!.text.length).toBeLessThanOrEqual(3000);
    // The fallback is the summary escaped once and cut: undone, it is a prefix of the raw text.
    expect(raw.startsWith(unescapeMrkdwn(messages[0]!.text).replace(/…$/, ''))).toBe(true);
  });

  it('links a raw URL in a verbatim context element, showing the same URL', () => {
    const r = renderBlocks({
      title: '',
      sections: [{ kind: 'context', items: ['see https://langfuse.example/trace/1?x=1&y=2, then retry.'] }],
    });
    expect(r.blocks[0]).toEqual({
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: 'see <https://langfuse.example/trace/1?x=1&amp;y=2>, then retry.',
          verbatim: true,
        },
      ],
    });
  });

  it('keeps at most one primary button per actions set', () => {
    const r = renderBlocks({
      title: 't',
      sections: [
        {
          kind: 'buttons',
          buttons: [
            { text: 'Run a', actionId: 'a', value: '1', style: 'primary' },
            { text: 'Run b', actionId: 'b', value: '2', style: 'primary' },
            { text: 'Delete', actionId: 'c', value: '3', style: 'danger' },
          ],
        },
      ],
    });
    const actions = r.blocks.find((b) => b.type === 'actions');
    expect(actions?.type === 'actions' && actions.elements.map((e) => e.style ?? 'default')).toEqual([
      'primary',
      'default',
      'danger',
    ]);
  });
});

describe('problem 7 through the real builders', () => {
  const rendered = (m: Message) => renderThread(m);
  const textOf = (messages: SlackMessage[]) => JSON.stringify(messages.map((m) => [m.text, m.blocks]));

  it('a monitor report shows "mean has-zzz < 0.9 … failing items > 2" escaped once', () => {
    const event = 'mean has-zzz < 0.9 (0.41) · failing items > 2 (5)';
    const messages = rendered(
      buildTickReport({
        monitor: 'support <bot>',
        tickTime: new Date('2026-01-01T00:00:00Z'),
        read: 5,
        unmatched: [],
        invalid: [],
        alreadyScored: 0,
        sampled: 5,
        overBudget: 0,
        stats: { means: { 'has-zzz': 0.41 }, counts: { 'has-zzz': 5 }, failing: 5, scored: 5 },
        items: [],
        events: [{ rule: 'r', kind: 'fired', severity: 'critical', value: 0.41, text: event }],
        alerts: {},
        judgeCost: 0,
        worst: 0,
      }),
    );
    const parent = messages[0]!;
    const alerts = parent.blocks.find((b) => b.type === 'section' && b.text?.text.startsWith('Alerts:'));
    expect(alerts?.type === 'section' && alerts.text?.text).toBe(
      'Alerts: mean has-zzz &lt; 0.9 (0.41) · failing items &gt; 2 (5)',
    );
    expect(unescapeMrkdwn(parent.text)).toBe(`Monitor support <bot>: 5 scored, 5 failing; ${event}`);
    expect(textOf(messages)).not.toMatch(/&amp;(lt|gt);/);
    for (const m of all(messages)) expect(injected(m)).toEqual([]);
  });

  it('a monitor report past 10 items to review says how many more', () => {
    const items = Array.from({ length: 14 }, (_, i) => ({
      id: `item-${i}`,
      input: 'q',
      output: 'a',
      scores: [{ metric: 'judge', value: 0.5, reason: 'unsure', needsReview: true }],
      url: `https://cloud.langfuse.com/trace/${i}`,
    }));
    const report = buildTickReport({
      monitor: 'm',
      tickTime: new Date(0),
      read: 14,
      unmatched: [],
      invalid: [],
      alreadyScored: 0,
      sampled: 14,
      overBudget: 0,
      stats: { means: { judge: 0.5 }, counts: { judge: 14 }, failing: 0, scored: 14 },
      items: items as never,
      events: [],
      alerts: {},
      judgeCost: 0,
      worst: 0,
    });
    const titles = (report.thread ?? []).map((t) => t.title);
    expect(titles.filter((t) => t === 'Needs review')).toHaveLength(10);
    expect(titles.at(-1)).toBe('4 more item(s) need review');
    // The Langfuse link of an item is a link, not escaped text.
    const first = renderThread(report.thread![0]!)[0]!;
    expect(JSON.stringify(first.blocks)).toContain('<https://cloud.langfuse.com/trace/0|open in Langfuse>');
  });

  it('a run verdict "FAILED: mean score 0.125 < threshold 0.7" is escaped once, the fallback plain', () => {
    const summary = RunSummarySchema.parse({
      total: 8,
      finished: 8,
      passed: 1,
      failed: 7,
      errors: 0,
      needsReview: 0,
      meanScore: 0.125,
      passRate: 0.125,
      metrics: [],
      tokens: { input: 0, output: 0 },
      costUsd: 0,
      durationMs: 10,
      gate: {
        kind: 'mean-score',
        threshold: 0.7,
        value: 0.125,
        passed: false,
        checks: [{ kind: 'mean-score', threshold: 0.7, value: 0.125, passed: false }],
      },
      reviewKeys: [],
      heuristic: false,
    });
    const messages = rendered(
      renderRunSummary({
        _id: 'run_1',
        suiteName: 'qa & <ops>',
        suiteFile: 'f',
        suiteHash: 'h',
        suiteJson: '{}',
        status: 'completed',
        options: { concurrency: 1 },
        total: 8,
        datasetErrors: [],
        datasetSource: 'd',
        progress: { done: 8, total: 8, errors: 0, meanScore: 0.125 },
        summary,
        createdAt: new Date(0),
        updatedAt: new Date(0),
      }),
    );
    const verdict = messages[0]!.blocks.find(
      (b) => b.type === 'section' && b.text?.text.startsWith('FAILED'),
    );
    expect(verdict?.type === 'section' && verdict.text?.text).toBe(
      'FAILED: mean score 0.125 &lt; threshold 0.7',
    );
    expect(messages[0]!.text).toBe('qa &amp; &lt;ops&gt;: FAILED: mean score 0.125 &lt; threshold 0.7');
    expect(unescapeMrkdwn(messages[0]!.text)).toBe('qa & <ops>: FAILED: mean score 0.125 < threshold 0.7');
  });

  it('echoed user input ("No suite …", unknown command) is escaped once and never pings', () => {
    const err = new ArbiterError('NOT_FOUND', 'No suite "<!channel> &amp; x" in examples/suites.');
    for (const message of [errorMessage(err, 'err_1'), usageMessage('Unknown command "<@U1|boss>".')]) {
      const [m] = rendered(message);
      expect(injected(m!)).toEqual([]);
      expect(JSON.stringify(m!.blocks)).not.toContain('&amp;lt;');
      expect(m!.text).not.toContain('&amp;lt;');
    }
    const [m] = rendered(errorMessage(err, 'err_1'));
    expect(m!.blocks[1]).toEqual({
      type: 'section',
      text: { type: 'mrkdwn', text: 'No suite "&lt;!channel&gt; &amp;amp; x" in examples/suites.' },
    });
    expect(unescapeMrkdwn(m!.text)).toBe('No suite "<!channel> &amp; x" in examples/suites.');
  });

  it('a notice with < in it has a fallback escaped once, not twice', () => {
    const [m] = rendered(notice('Monitor m', 'Not run: score < 0.5 & rising.'));
    expect(m!.text).toBe('Not run: score &lt; 0.5 &amp; rising.');
  });

  it('the review reveal mentions its reviewers, the ballot note pings the voter', () => {
    const report = reportMessage({
      reviewId: 'rev_1',
      closedReason: 'deadline <soon>',
      contenders: [{ label: 'a <x>', runId: 'r1', suiteName: 's', shownA: 1, shownB: 1 }],
      table: { contenders: [], unrated: [], settings: { minVotes: 10 } } as never,
      votes: { total: 3, expected: 4, pairsComplete: 1, pairCount: 2 },
      verdict: { text: 'a <x> is ahead of b & c', better: null, significant: false, pValue: null },
      reasons: [],
      participation: [
        { user: 'U0AAA', votes: 2 },
        { user: '<!channel>', votes: 1 },
      ],
      judge: { status: 'skipped', judged: 0, heuristic: false, agreement: { n: 0 } as never },
    });
    const [m] = rendered(report);
    const json = JSON.stringify(m!.blocks);
    expect(json).toContain('<@U0AAA> 2');
    expect(json).toContain('&lt;!channel&gt; 1');
    expect(json).toContain('*Verdict:* a &lt;x&gt; is ahead of b &amp; c');
    expect(injected(m!, ['<@U0AAA>'])).toEqual([]);
    expect(unescapeMrkdwn(m!.text)).toBe('Blind review rev_1 closed. a <x> is ahead of b & c');

    const ballot = ballotMessage({ seq: 1, token: 't', input: 'q', answerA: 'a', answerB: 'b' }, 2, {
      notes: [md`Thanks, ${mention('U0BBB')}! Your vote: *A is better*.`],
    });
    const [b] = rendered(ballot);
    const note = b!.blocks.find((x) => x.type === 'context');
    expect(note?.type === 'context' && note.elements[0]?.text).toBe(
      'Thanks, <@U0BBB>! Your vote: *A is better*.',
    );
    // A blind ballot favours neither answer: no primary button.
    const actions = b!.blocks.find((x) => x.type === 'actions');
    expect(actions?.type === 'actions' && actions.elements.some((e) => e.style === 'primary')).toBe(false);
  });
});
