import { describe, expect, it } from 'vitest';
import type { Message } from './message.ts';
import { createTextTransport, messageToText } from './text.ts';

const message: Message = {
  title: 'Run report',
  sections: [
    { kind: 'text', text: '*PASSED* &lt;ok&gt;' },
    {
      kind: 'fields',
      fields: [
        { label: 'Run', value: 'run_1' },
        { label: 'Mean score', value: '0.900' },
      ],
    },
    { kind: 'code', label: 'Per metric', text: 'pii  1.000\nexact  0.800' },
    { kind: 'context', items: ['note one', 'note two'] },
    { kind: 'divider' },
  ],
  thread: [{ title: 'Row 2: failed', sections: [{ kind: 'text', text: 'why' }] }],
};

describe('messageToText (the one Message → text renderer of the CLI)', () => {
  it('report layout: entities decoded, underlined title, a field per line, a note per line, the thread indented', () => {
    expect(messageToText(message, { layout: 'report' })).toBe(
      [
        'Run report',
        '==========',
        '*PASSED* <ok>',
        'Run         run_1',
        'Mean score  0.900',
        'Per metric:',
        '  pii  1.000',
        '  exact  0.800',
        '· note one',
        '· note two',
        '---',
        '',
        '  Row 2: failed',
        '  =============',
        '  why',
        '  ',
        '',
      ].join('\n'),
    );
  });

  it('compact layout (the default): fields and notes on one line each, thread replies marked ↳', () => {
    expect(messageToText(message)).toBe(
      [
        'Run report',
        '*PASSED* <ok>',
        'Run: run_1 | Mean score: 0.900',
        'Per metric:',
        '  pii  1.000',
        '  exact  0.800',
        'note one · note two',
        '  ↳ Row 2: failed',
        '  ↳ why',
      ].join('\n'),
    );
  });
});

describe('createTextTransport (the CLI stand-in for Slack)', () => {
  it('heads a post with its channel when asked, indents thread replies under it, prints uploads by path', async () => {
    const written: string[] = [];
    const t = createTextTransport((s) => written.push(s), { channels: true });
    const parent = await t.post({ channel: '#quality' }, { title: 'Daily digest', sections: [] });
    await t.post({ channel: '#quality', threadTs: parent.ts }, { title: 'Worst items', sections: [] });
    await t.uploadFile(
      { channel: '#quality', threadTs: parent.ts },
      { path: '/tmp/chart.png', title: 'chart' },
    );
    expect(written.join('')).toBe('[#quality]\nDaily digest\n  ↳ Worst items\n  ↳ chart: /tmp/chart.png\n');
    written.length = 0;
    const plain = createTextTransport((s) => written.push(s));
    const ref = await plain.post({ channel: '#x' }, { title: 'Tick report', sections: [] });
    expect(written.join('')).toBe('Tick report\n');
    expect(ref).toEqual({ channel: '#x', ts: 'cli.1' });
  });
});
