import { describe, expect, it } from 'vitest';
import { createConsoleTransport } from './console-transport.ts';

describe('console transport', () => {
  it('prints posts, thread replies, updates, ephemerals and files with where they went', async () => {
    let out = '';
    const t = createConsoleTransport({ write: (s) => (out += s), width: 80 });
    const ref = await t.post(
      { channel: '#evals' },
      {
        title: 'Run finished',
        sections: [{ kind: 'fields', fields: [{ label: 'Pass rate', value: '92%' }] }],
        thread: [{ title: 'Worst items', sections: [{ kind: 'code', text: 'answer <!channel>' }] }],
      },
    );
    expect(ref.channel).toBe('#evals');
    await t.post(
      { channel: '#evals', threadTs: ref.ts },
      { title: 'Details', sections: [{ kind: 'text', text: 'more' }] },
    );
    await t.update(ref, { title: 'Run finished (edited)', sections: [] });
    await t.postEphemeral({ channel: '#evals', user: 'U123' }, { title: 'Only you', sections: [] });
    await t.uploadFile({ channel: '#evals' }, { path: '/tmp/chart.png', title: 'Trend' });
    expect(out).toContain('to #evals');
    expect(out).toContain('Run finished');
    expect(out).toContain('Pass rate');
    expect(out).toContain('92%');
    expect(out).toContain('Worst items');
    expect(out).toContain(`(thread ${ref.ts})`);
    expect(out).toContain('updated #evals');
    expect(out).toContain('only U123 sees this');
    expect(out).toContain('/tmp/chart.png');
    // No ANSI escapes unless asked for.
    expect(out).not.toContain('\x1b[');
  });
});
