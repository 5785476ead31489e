import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '../audit/index.ts';
import { renderBlocks, SLACK_LIMITS } from '../bot/render-blocks.ts';
import { AUDIT_CHAT_MAX, auditCommand, auditQuery } from './audit.ts';
import { parseCommand, requiredRole } from './parse.ts';
import { parseWords, type Registry, usageLine } from './registry.ts';
import { COMMANDS } from './table.ts';

const NOW = new Date('2026-12-07T12:00:00Z');

/** The words after `arbiter` as the CLI parses them, through the command's registry entry. */
function cli(words: string[]) {
  return parseWords(COMMANDS as Registry, ['audit', ...words], 'cli');
}

describe('audit arguments (the registry entry)', () => {
  it.each([
    [['--since', '7d'], { since: '7d' }],
    [['--since=2026-12-01'], { since: '2026-12-01' }],
    [['--user', '<@U012ABC|ada>'], { user: 'U012ABC' }],
    [['--user', 'U012ABC'], { user: 'U012ABC' }],
    [['--object', 'run:run_1', '--limit', '5', '--json'], { object: 'run:run_1', limit: 5, json: true }],
  ])('%j parses', (words, args) => {
    const parsed = cli(words);
    expect(parsed).toMatchObject({ ok: true });
    if (parsed.ok) expect(parsed.args).toEqual({ name: 'audit', ...args });
  });

  it.each([
    [['--since'], '--since needs a value.'],
    [['--limit', 'ten'], '--limit expects a whole number.'],
    [['--limit', '0'], '--limit must be at least 1.'],
    [['--limit', '1001'], '--limit must be at most 1000.'],
    [['everything'], 'audit takes no arguments (got "everything").'],
    [['--who', 'me'], 'Unknown option --who.'],
    [
      ['--since', 'last-tuesday'],
      '--since expects a duration such as 7d or 12h, or a date such as 2026-12-01.',
    ],
    [['--object', 'run:'], '--object expects <type>:<id> or a type'],
    [['--object', 'pipeline:p1'], '--object expects <type>:<id> or a type, with a type among run, review'],
  ])('%j is refused with what was wrong and the usage line', (words, error) => {
    const parsed = cli(words);
    expect(parsed).toMatchObject({ ok: false, error: expect.stringContaining(error) });
    if (!parsed.ok) expect(parsed.usage).toEqual([`arbiter ${usageLine(COMMANDS.audit, 'cli')}`]);
  });

  it('resolves into a query at now: a duration back from now, a date, an object type with or without an id', () => {
    expect(auditQuery({ since: '7d' }, NOW, 50)).toEqual({ since: new Date('2026-11-30T12:00:00Z') });
    expect(auditQuery({ since: '2026-12-01' }, NOW, 50)).toEqual({ since: new Date('2026-12-01T00:00:00Z') });
    expect(auditQuery({ object: 'review:rev_1', user: 'U1' }, NOW, 50)).toEqual({
      objectType: 'review',
      objectId: 'rev_1',
      user: 'U1',
    });
    expect(auditQuery({ object: 'monitor' }, NOW, 50)).toEqual({ objectType: 'monitor' });
    expect(() => auditQuery({ since: 'last tuesday' }, NOW, 50)).toThrow(/--since expects a duration/);
    expect(() => auditQuery({ object: 'run:' }, NOW, 50)).toThrow(/needs an id/);
    expect(() => auditQuery({ limit: 51 }, NOW, 50)).toThrow(/at most 50/);
  });
});

describe('audit in chat', () => {
  it('is a command for admins only; --json is for the CLI', () => {
    const parsed = parseCommand('/arbiter audit --since 2d --object run:run_1');
    expect(parsed).toEqual({
      ok: true,
      command: { name: 'audit', since: '2d', object: 'run:run_1' },
    });
    if (parsed.ok) expect(requiredRole(parsed.command)).toBe('admin');
    expect(parseCommand('audit --json')).toMatchObject({
      ok: false,
      error: 'audit: --json works only in the `arbiter` CLI.',
    });
    expect(parseCommand(`audit --limit ${AUDIT_CHAT_MAX + 1}`)).toMatchObject({
      ok: false,
      error: `--limit is at most ${AUDIT_CHAT_MAX} in chat (\`arbiter audit\` prints up to 1000).`,
    });
    expect(parseCommand(`audit --limit ${AUDIT_CHAT_MAX}`)).toMatchObject({ ok: true });
  });

  it('the longest answer (50 records with long hostile summaries) stays within Block Kit limits', async () => {
    const records: AuditRecord[] = Array.from({ length: AUDIT_CHAT_MAX }, (_, i) => ({
      id: `aud_${i}`,
      at: new Date(NOW.getTime() - i * 60_000),
      actor: { via: 'slack', user: 'U012ABC', channel: 'C1' },
      action: 'review.vote-change',
      object: { type: 'review', id: `rev_${'x'.repeat(150)}` },
      summary: `<!channel> & ${'long '.repeat(400)}`,
    }));
    let asked: unknown;
    const message = await auditCommand(
      { limit: AUDIT_CHAT_MAX },
      {
        list: async (q) => {
          asked = q;
          return records;
        },
      },
      NOW,
    );
    expect(asked).toEqual({ limit: AUDIT_CHAT_MAX });
    const rendered = renderBlocks(message);
    expect(rendered.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocksPerMessage);
    for (const block of rendered.blocks) {
      const text = (block as { text?: { text?: string } }).text?.text ?? '';
      expect(text.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
      expect(text).not.toContain('<!channel>');
      expect(text).not.toContain('&amp;lt;');
    }
    const all = JSON.stringify(rendered.blocks) + JSON.stringify(rendered.overflow);
    // Every record is there (in the message or its overflow), each summary cut to one readable line.
    for (const r of records) {
      const minute = `${r.at.toISOString().slice(0, 16).replace('T', ' ')}Z`;
      expect(all).toContain(minute);
    }
    expect(message.sections[0]).toMatchObject({ kind: 'code' });
    const lines = (message.sections[0] as { text: string }).text.split('\n');
    expect(lines).toHaveLength(AUDIT_CHAT_MAX);
    for (const line of lines) expect(line.length).toBeLessThan(450);
  });

  it('says when nothing matches', async () => {
    const message = await auditCommand({ user: 'U9' }, { list: async () => [] }, NOW);
    expect(message.sections[0]).toEqual({ kind: 'text', text: 'No audit records match.' });
    expect(message.ephemeral).toBe(true);
  });
});
