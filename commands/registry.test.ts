// The one command registry (issue 17): every command is complete and in help; the same words mean the same command
// in Slack, at the console and in the CLI; usage mistakes get a did-you-mean and one usage line.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFlags, tokenize } from '../config/index.ts';
import { runCli } from '../cli/run-cli.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { parseCommand } from './parse.ts';
import { entries, flagsOf, helpText, parseWords, type Registry, usageLine } from './registry.ts';
import { findSuite } from './suites.ts';
import { COMMANDS, chatHelp } from './table.ts';
import { captureCliIo } from '../test/helpers/cli-io.ts';

const registry = COMMANDS as Registry;

describe('the command table', () => {
  it.each(entries(registry).map((e) => [e.id, e] as const))('%s is complete and in help', (_id, e) => {
    expect(e.words.length).toBeGreaterThan(0);
    expect(e.summary.length).toBeGreaterThan(5);
    expect(typeof e.role === 'function' || ['reader', 'reviewer', 'admin'].includes(e.role)).toBe(true);
    expect(e.chat ?? e.cli).toBeDefined();
    // Every argument says what it is (the schema is the documentation of usage and help).
    for (const [key, field] of Object.entries(e.args.shape))
      expect({ key, description: (field as { description?: string }).description }).toEqual({
        key,
        description: expect.any(String),
      });
    if (e.chat) expect(chatHelp()).toContain(usageLine(e, 'chat'));
    if (e.cli) expect(helpText(registry, 'cli', 'arbiter ')).toContain(`arbiter ${usageLine(e, 'cli')}`);
    // The usage line starts with the command's words and names each flag the front door accepts.
    expect(usageLine(e, 'cli').startsWith(e.words.join(' '))).toBe(true);
    for (const f of flagsOf(e)) {
      expect(usageLine(e, 'cli')).toContain(`--${f.flag}`);
      if (f.meta.cliOnly) expect(usageLine(e, 'chat')).not.toContain(`--${f.flag}`);
    }
  });

  it('ids are unique words: no two commands share a form', () => {
    const forms = entries(registry).flatMap((e) => [e.words, ...(e.aliases ?? [])].map((f) => f.join(' ')));
    expect(new Set(forms).size).toBe(forms.length);
  });

  it('roles come from the table: launching for admins, reading for all, reasons for reviewers', () => {
    const role = (text: string) => {
      const r = parseCommand(text);
      if (!r.ok) throw new Error(r.error);
      const def = COMMANDS[r.command.name];
      return typeof def.role === 'function' ? (def.role as (a: unknown) => string)(r.command) : def.role;
    };
    expect(role('digest')).toBe('reader');
    expect(role('digest --post')).toBe('admin');
    expect(role('digest now')).toBe('admin');
    expect(role('review report rev_1')).toBe('reader');
    expect(role('review reason bt_abcdefghijklmnopqrstuv because')).toBe('reviewer');
  });
});

/** The same words typed in Slack (`/arbiter …`), at the console prompt, and as `arbiter` argv. */
function threeDoors(text: string) {
  const slack = parseCommand(`/arbiter ${text}`);
  const console = parseCommand(text);
  const cli = parseWords(registry, tokenize(text), 'cli');
  return { slack, console, cli };
}

describe('parity of the front doors', () => {
  it.each([
    ['runs show run_1', { name: 'runs.show', id: 'run_1' }],
    ['runs compare run_a run_b', { name: 'runs.compare', a: 'run_a', b: 'run_b' }],
    ['run quickstart --limit 2', { name: 'run', suite: 'quickstart', limit: 2 }],
    ['run "my suite" --limit=2', { name: 'run', suite: 'my suite', limit: 2 }],
    ['review run_a run_b --pairs 3 --dm', { name: 'review', runs: ['run_a', 'run_b'], pairs: 3, dm: true }],
    [
      'review create run_a run_b --pairs 3 --dm',
      { name: 'review', runs: ['run_a', 'run_b'], pairs: 3, dm: true },
    ],
    ['review list', { name: 'review.list' }],
    ['review close rev_1', { name: 'review.close', id: 'rev_1' }],
    ['review report rev_1', { name: 'review.report', id: 'rev_1' }],
    ['digest', { name: 'digest', now: false }],
    ['digest --period week', { name: 'digest', now: false, period: 'week' }],
    ['digest --post', { name: 'digest', now: true }],
    ['digest now --period day', { name: 'digest', now: true, period: 'day' }],
    ['monitor pause nightly', { name: 'monitor.pause', monitor: 'nightly' }],
    ['leaderboard', { name: 'leaderboard' }],
    [
      'audit --since 7d --user U1 --object run:run_1 --limit 5',
      { name: 'audit', since: '7d', user: 'U1', object: 'run:run_1', limit: 5 },
    ],
  ])('%j is the same command with the same arguments everywhere', (text, command) => {
    const { slack, console, cli } = threeDoors(text);
    expect(slack).toMatchObject({ ok: true, command });
    expect(console).toMatchObject({ ok: true, command });
    expect(cli).toMatchObject({ ok: true, args: command });
    if (slack.ok && console.ok && cli.ok) {
      expect(console.command).toEqual(slack.command);
      // The CLI may add its own flags' defaults; the chat meaning is the same.
      expect(cli.args).toMatchObject(slack.command);
    }
  });

  it('a CLI-only flag is refused in chat with a note, and a chat-only command in the CLI', () => {
    const json = parseCommand('runs show run_1 --json');
    expect(json).toMatchObject({ ok: false, error: 'runs show: --json works only in the `arbiter` CLI.' });
    expect(parseWords(registry, ['runs', 'show', 'run_1', '--json'], 'cli').ok).toBe(true);
    expect(parseCommand('jobs list')).toMatchObject({
      ok: false,
      error: expect.stringContaining('`jobs list` works only in the `arbiter` CLI'),
    });
    expect(parseWords(registry, ['review', 'reason', 'bt_x', 'why'], 'cli')).toMatchObject({
      ok: false,
      error: expect.stringContaining('works only in Slack'),
    });
  });

  it('review with the same run twice is a usage error before any work, in every door', () => {
    for (const r of [
      parseCommand('review run_a run_a'),
      parseWords(registry, ['review', 'run_a', 'run_a', '--dm'], 'cli'),
    ])
      expect(r).toMatchObject({ ok: false, error: expect.stringContaining('review needs different runs') });
  });

  it('run finds a suite by file name, by path or by its `name:`, and suggests the closest', () => {
    const { dir, cleanup } = tempDir();
    try {
      mkdirSync(join(dir, 'suites'));
      writeFileSync(join(dir, 'suites', 'nightly-file.yaml'), 'name: nightly-checks\n');
      const lookup = { suitesDir: 'suites', cwd: dir };
      const file = join(dir, 'suites', 'nightly-file.yaml');
      expect(findSuite('nightly-file', lookup)).toBe(file);
      expect(findSuite('suites/nightly-file.yaml', lookup)).toBe(file);
      expect(findSuite('nightly-checks', lookup)).toBe(file);
      expect(() => findSuite('nightly-chekcs', lookup)).toThrow(
        /No suite "nightly-chekcs".*Did you mean "nightly-checks"/,
      );
      expect(() => findSuite('../outside', lookup)).toThrow(/outside the suites folder/);
      // The CLI may read any path; a name still resolves in SUITES_DIR.
      expect(findSuite('nightly-checks', { ...lookup, anywhere: true })).toBe(file);
    } finally {
      cleanup();
    }
  });
});

describe('usage mistakes', () => {
  it.each([
    ['runs shw run_1', 'Unknown runs command "shw". Did you mean `runs show`?', 'runs show <id>'],
    ['reviw run_a run_b', 'Unknown command "reviw". Did you mean `review`?', undefined],
    ['review lst', 'review needs at least two run ids', 'review <runA> <runB> [more]'],
    [
      'run quickstart --limt 3',
      'run: unknown option --limt. Did you mean --limit?',
      'run <name|path> [--limit N]',
    ],
    ['review run_a run_b --reviewrs 2', 'Did you mean --reviewers?', 'review <runA> <runB>'],
    ['monitor puase m', 'Did you mean `monitor pause`?', 'monitor pause <name>'],
    ['digest --period month', '--period expects day or week.', 'digest [--post] [--period day|week]'],
    ['leaderboard now', 'leaderboard takes no arguments (got "now").', 'leaderboard'],
  ])('%j', (text, error, line) => {
    const r = parseCommand(text);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toContain(error);
    if (text === 'review lst') expect(r.error).toContain('Did you mean `review list`?');
    // Only the relevant usage lines, never the whole help.
    if (line) expect(r.lines.join('\n')).toContain(line);
    expect(r.lines.length).toBeLessThanOrEqual(5);
    expect(r.lines.join('\n')).not.toContain('leaderboard ');
  });

  it('a mistyped help topic gets a did-you-mean', async () => {
    const { dispatch } = await import('./dispatch.ts');
    const r = parseCommand('help metrcs');
    if (!r.ok) throw new Error(r.error);
    const deps = { roles: { admins: [], reviewers: [] } } as unknown as Parameters<typeof dispatch>[2];
    const { message } = await dispatch(r.command, { user: 'U1' }, deps);
    expect(message.summary).toBe('No help on "metrcs". Did you mean `help metrics`? Topics: metrics.');
  });

  it('a known command is never titled "unknown command"', async () => {
    const { usageMessage } = await import('./messages.ts');
    const r = parseCommand('runs show');
    if (r.ok) throw new Error('expected a usage error');
    const m = usageMessage(r.error, r.lines);
    expect(m.title).not.toMatch(/unknown command/i);
    expect(JSON.stringify(m)).toContain('runs show <id>');
    expect(JSON.stringify(m)).not.toContain('leaderboard');
    const unknown = parseCommand('frobnicate');
    if (unknown.ok) throw new Error('expected a usage error');
    expect(usageMessage(unknown.error, unknown.lines).title).toBe('Arbiter: unknown command');
  });

  it('the flag parser: values, switches, --, and mistakes in our words', () => {
    const spec = {
      options: { limit: { type: 'string' as const }, dm: { type: 'boolean' as const } },
      allowPositionals: true,
    };
    expect(parseFlags(['a', '--limit=3', '--dm', '--', '--x'], spec)).toEqual({
      values: { limit: '3', dm: true },
      positionals: ['a', '--x'],
    });
    expect(() => parseFlags(['--limit'], spec)).toThrow('--limit needs a value.');
    expect(() => parseFlags(['--limit', '--dm'], spec)).toThrow('--limit needs a value.');
    expect(() => parseFlags(['--dm=yes'], spec)).toThrow('--dm takes no value.');
    expect(() => parseFlags(['--lmit', '2'], spec)).toThrow('Unknown option --lmit. Did you mean --limit?');
    expect(() => parseFlags(['x'], { options: {} })).toThrow('Unexpected argument x.');
  });
});

/** Every non-test source file of the layered folders, relative to the repository root. */
function sourceFiles(): string[] {
  const root = join(import.meta.dirname, '..');
  const skip = new Set(['node_modules', 'test', 'dist', 'examples', 'docs', 'bin']);
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name.startsWith('.') || skip.has(e.name)) continue;
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) out.push(relative(root, path));
    }
  };
  walk(root);
  return out;
}

describe('one flag parser: only the registry reads argv', () => {
  it('no CLI handler parses its words itself: parseFlags is called only by config/ and commands/registry.ts', () => {
    const files = sourceFiles();
    expect(files).toContain(join('commands', 'registry.ts'));
    expect(files).toContain(join('monitors', 'cli.ts'));
    const readers = files.filter(
      (f) =>
        !f.startsWith(`config${'/'}`) &&
        f !== join('commands', 'registry.ts') &&
        /\bparseFlags\(|\bparseArgs\(|process\.argv/.test(
          readFileSync(join(import.meta.dirname, '..', f), 'utf8'),
        ),
    );
    // cli/main.ts hands process.argv to the registry; nothing else reads argv or flags by itself.
    expect(readers).toEqual([join('cli', 'main.ts')]);
  });

  it.each([
    [
      ['monitor', 'run', 'm', '--dry-rn'],
      'Unknown option --dry-rn. Did you mean --dry-run?',
      'arbiter monitor run <name>',
    ],
    [
      ['monitor', 'run', 'm', '--dry-run', '--records', 'x'],
      '--records expects a whole number.',
      'arbiter monitor run <name>',
    ],
    [
      ['monitor', 'backfill', 'm', '--since', 'yesterday'],
      '--since expects a date such as 2026-11-01',
      'arbiter monitor backfill <name> --since DATE',
    ],
    [['monitor', 'backfill', 'm'], 'Missing --since DATE.', 'arbiter monitor backfill <name> --since DATE'],
    [['digest', '--nme', 'daily'], 'Unknown option --nme. Did you mean --name?', 'arbiter digest [--post]'],
    [['digest', '--period', 'month'], '--period expects day or week.', 'arbiter digest [--post]'],
    [
      ['jobs', 'list', '--stauts', 'queued'],
      'Unknown option --stauts. Did you mean --status?',
      'arbiter jobs list [--status S]',
    ],
    [['jobs', 'list', '--limit', '0'], '--limit must be at least 1.', 'arbiter jobs list [--status S]'],
    [
      ['jobs', 'list', '--status', 'bogus'],
      '--status must be one of queued, running',
      'arbiter jobs list [--status S]',
    ],
    [['jobs', 'show'], 'jobs show needs a job id.', 'arbiter jobs show <id>'],
    [
      ['store', 'stats', '--jsn'],
      'Unknown option --jsn. Did you mean --json?',
      'arbiter store stats [--json]',
    ],
    [
      ['ratings', '--vots', 'v.jsonl'],
      'Unknown option --vots. Did you mean --votes?',
      'arbiter ratings --votes FILE',
    ],
    [
      ['ratings', '--votes', 'v', '--min-votes', '0'],
      '--min-votes expects a whole number from 1 to 1000000.',
      'arbiter ratings --votes FILE',
    ],
    [['runs', 'list', '--limit', '1001'], '--limit must be at most 1000.', 'arbiter runs list'],
    [
      ['run', 'quickstart', '--concurrency', '0'],
      '--concurrency expects a whole number from 1 to 256.',
      'arbiter run <name|path>',
    ],
  ])(
    'arbiter %j: one USAGE message with what was wrong and the one usage line, exit 2',
    async (argv, error, line) => {
      const io = captureCliIo();
      // No store is opened for a usage mistake: DATA_DIR points nowhere that exists.
      expect(await runCli(argv, { DATA_DIR: '/nonexistent/arbiter', LOG_LEVEL: 'silent' }, io)).toBe(2);
      expect(io.out).toBe('');
      expect(io.err).toContain(error);
      expect(io.err).toContain(`Usage:\n  ${line}`);
      expect(io.err.match(/^ {2}arbiter /gm)).toHaveLength(1);
    },
  );

  it.each([
    [
      'digest --perod week',
      'digest: unknown option --perod. Did you mean --period?',
      'digest [--post] [--period day|week]',
    ],
    [
      'monitor run m --dry-run',
      'monitor run: --dry-run works only in the `arbiter` CLI.',
      'monitor run <name>',
    ],
    ['monitor pause', 'monitor pause needs a monitor name (see `monitor list`).', 'monitor pause <name>'],
  ])('chat %j: the same mistake in Slack and at the console, with its usage line', (text, error, line) => {
    for (const r of [parseCommand(`/arbiter ${text}`), parseCommand(text)]) {
      expect(r).toMatchObject({ ok: false, error });
      if (!r.ok) expect(r.lines).toEqual([expect.stringContaining(line)]);
    }
  });
});
