// The console prompt of the embedded default (issue 17): reports printed while someone types redraw the prompt and
// the typed line; mrkdwn reads as terminal text; button numbers stay put across redraws; `exit` says what it does;
// usage mistakes and unknown ids reach the user as one friendly message, with no ERROR log or stack trace.
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { startConsolePrompt } from '../bot/console-prompt.ts';
import { createConsoleTransport } from '../bot/console-transport.ts';
import { renderConsole } from '../bot/render-console.ts';
import { startBot } from '../bot/start.ts';
import type { Message } from '../chat/message.ts';
import { parseEnv } from '../config/index.ts';
import { tempDir } from './helpers/tmp.ts';
import { waitUntil as until } from './helpers/wait.ts';

// biome-ignore lint/suspicious/noControlCharactersInRegex: stripping the terminal's own control sequences
const plain = (s: string) => s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');

describe('console prompt', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  function prompt(extra: { onClose?: () => void } = {}) {
    const input = new PassThrough();
    const output = new PassThrough();
    let shown = '';
    output.on('data', (d) => (shown += String(d)));
    const submitted: string[] = [];
    const rl = startConsolePrompt({
      submit: async (t) => void submitted.push(t),
      input,
      output,
      terminal: true,
      ...extra,
    });
    cleanups.push(() => rl.close());
    return { input, rl, shown: () => shown, submitted };
  }

  it('a report printed while the user types is shown above `arbiter>` and the half-typed line', async () => {
    const p = prompt();
    p.input.write('runs sh');
    await until(() => plain(p.shown()).includes('arbiter> runs sh'));
    const before = p.shown().length;
    p.rl.print('── to #console\nEvaluation run: quickstart\n');
    const after = plain(p.shown().slice(before));
    expect(after).toContain('Evaluation run: quickstart');
    // The prompt and what was typed come back after the report, so typing goes on where it was.
    expect(after.trimEnd().endsWith('arbiter> runs sh')).toBe(true);
    p.input.write('ow run_1\n');
    await until(() => p.submitted.length === 1);
    expect(p.submitted).toEqual(['runs show run_1']);
  });

  it('exit says it stops the bot and asks again; anything else keeps it running', async () => {
    let closed = 0;
    const p = prompt({ onClose: () => (closed += 1) });
    expect(p.shown()).toContain('Type exit to stop the bot.');
    p.input.write('exit\n');
    await until(() => p.shown().includes('stops the Arbiter bot'));
    expect(closed).toBe(0);
    p.input.write('help\n');
    await until(() => p.shown().includes('The bot keeps running.'));
    expect(closed).toBe(0);
    p.input.write('exit\n');
    p.input.write('exit\n');
    await until(() => closed === 1);
    expect(p.shown()).toContain('Stopping the bot');
  });
});

describe('console rendering', () => {
  it('renders bold, code, mentions and links for a terminal, never raw mrkdwn', () => {
    const m: Message = {
      title: 'Alert',
      sections: [
        {
          kind: 'text',
          text: '*pii* fell below `0.8` for <@U123|alice>, see <https://x.test/t|trace> (<@console>)',
        },
      ],
    };
    const flat = renderConsole(m);
    expect(flat).toContain('pii fell below `0.8` for @alice, see trace (https://x.test/t) (@console)');
    expect(flat).not.toMatch(/\*pii\*|<@/);
    const colored = renderConsole(m, { color: true });
    expect(colored).toContain('\x1b[1mpii\x1b[0m');
    expect(colored).toContain('\x1b[36m0.8\x1b[0m');
  });

  it('a message printed again (an update) keeps its button numbers; a new message gets new ones', async () => {
    let out = '';
    const t = createConsoleTransport({ write: (s) => (out += s) });
    const ballot = (tally: number): Message => ({
      title: `Ballot (${tally} votes)`,
      sections: [
        {
          kind: 'buttons',
          buttons: [
            { text: 'A is better', actionId: 'vote:p1', value: 'a' },
            { text: 'B is better', actionId: 'vote:p1~1', value: 'b' },
          ],
        },
      ],
    });
    const ref = await t.post({ channel: '#q' }, ballot(0));
    await t.update(ref, ballot(1));
    await t.update(ref, ballot(2));
    expect(out.match(/\[1\] A is better/g)).toHaveLength(3);
    expect(out).not.toContain('[3]');
    expect(t.button(2)).toMatchObject({ actionId: 'vote:p1~1', messageTs: ref.ts });
    await t.post({ channel: '#q' }, ballot(0));
    expect(out).toContain('[3] A is better');
    expect(out).toContain('[4] B is better');
  });
});

describe('usage mistakes and unknown ids at the console', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('review A A, runs show nope, run nosuch, a mistyped flag: one short message, no ERROR log, no stack', async () => {
    const { dir, cleanup } = tempDir();
    const lines: string[] = [];
    let out = '';
    const bot = await startBot(
      parseEnv({
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: dir,
        MONITORS_DIR: `${dir}/no-monitors`,
        LOG_LEVEL: 'info',
        LOG_FORMAT: 'json',
      }),
      {
        transport: createConsoleTransport({ write: (t) => (out += t) }),
        progressEditMs: 0,
        logSink: { write: (l: string) => void lines.push(l) },
      },
    );
    cleanups.push(cleanup, () => bot.stop());
    for (const text of [
      'review run_a run_a',
      'runs show nope',
      'run nosuch',
      'run quickstart --limt 2',
      'runs shw x',
    ])
      await bot.submitCommand(text);
    await until(() => out.includes('review needs different runs'));
    await until(() => out.includes('No run with id nope'));
    await until(() => out.includes('No suite "nosuch"'));
    await until(() => out.includes('Did you mean --limit?'));
    await until(() => out.includes('Did you mean `runs show`?'));
    // Known commands are never titled "unknown command"; the help is never repeated in full.
    expect(out).not.toMatch(/unknown command/i);
    expect(out).not.toContain('ratings pooled over all closed reviews');
    expect(out).not.toMatch(/\bat .*\.ts:\d+/);
    const parsed = lines.map((l) => JSON.parse(l) as { level: number; err?: unknown });
    expect(parsed.filter((l) => l.level >= 50)).toEqual([]);
    expect(parsed.filter((l) => l.err !== undefined && JSON.stringify(l.err).includes('stack'))).toEqual([]);
  });
});
