import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createJobQueue } from '../storage/index.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { runCli } from './run-cli.ts';
import { captureCliIo } from '../test/helpers/cli-io.ts';

describe('arbiter CLI', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  it('prints usage for help and for no command', async () => {
    const io = captureCliIo();
    expect(await runCli([], {}, io)).toBe(0);
    expect(io.out).toMatch(/Usage:/);
  });

  it('help metrics lists every metric with its arguments; an unknown topic is a usage error', async () => {
    const io = captureCliIo();
    expect(await runCli(['help', 'metrics'], {}, io)).toBe(0);
    for (const name of [
      'contains',
      'regex',
      'pii',
      'refusal',
      'llm-judge',
      'pairwise-judge',
      'keyword-coverage',
    ])
      expect(io.out).toContain(name);
    const bad = captureCliIo();
    expect(await runCli(['help', 'nonsense'], {}, bad)).toBe(2);
    expect(bad.err).toMatch(/Topics: metrics/);
  });

  it('metrics prints every metric with each argument, its type, default and meaning; one metric adds an example', async () => {
    const io = captureCliIo();
    expect(await runCli(['metrics'], {}, io)).toBe(0);
    expect(io.out).toMatch(/^length \(heuristic\): /m);
    expect(io.out).toContain('  unit (`chars` | `words`, default `chars`): what the length counts');
    expect(io.out).toContain('  criteria (text, required): what the judge decides');
    const one = captureCliIo();
    expect(await runCli(['metrics', 'latency'], {}, one)).toBe(0);
    expect(one.out).toBe(
      [
        "latency (heuristic): The target's response time (item.latencyMs) is at most maxDuration.",
        '  maxDuration (duration, required): slowest allowed response time, e.g. 5s or 1500ms (was `maxMs` in milliseconds)',
        '  example:',
        '    - metric: latency',
        '      args:',
        '        maxDuration: 5s',
        '',
      ].join('\n'),
    );
    const json = captureCliIo();
    expect(await runCli(['metrics', 'pii', '--json'], {}, json)).toBe(0);
    const parsed = JSON.parse(json.out) as { name: string; kind: string }[];
    expect(parsed.map((m) => [m.name, m.kind])).toEqual([['pii', 'heuristic']]);
  });

  it('metrics with a mistyped name or flag is a usage error with a suggestion', async () => {
    const io = captureCliIo();
    expect(await runCli(['metrics', 'refusl'], {}, io)).toBe(2);
    expect(io.err).toContain('No metric "refusl". Did you mean "refusal"?');
    expect(io.err).not.toMatch(/\n\s+at /);
    const flag = captureCliIo();
    expect(await runCli(['metrics', '--jsn'], {}, flag)).toBe(2);
    expect(flag.err).toContain('Unknown option --jsn');
  });

  it('an unknown command is a usage error (exit 2) with the usage text', async () => {
    const io = captureCliIo();
    expect(await runCli(['frobnicate'], {}, io)).toBe(2);
    expect(io.err).toMatch(/Unknown command "frobnicate"/);
    expect(io.err).toMatch(/arbiter jobs list/);
  });

  it('config shows values with secrets redacted', async () => {
    const io = captureCliIo();
    const code = await runCli(
      ['config', '--json'],
      { SLACK_BOT_TOKEN: 'xoxb-very-secret-value', SLACK_SIGNING_SECRET: 'abcdefgh12345' },
      io,
    );
    expect(code).toBe(0);
    const shown = JSON.parse(io.out) as Record<string, string>;
    expect(shown.SLACK_BOT_TOKEN).toBe('[redacted]');
    expect(io.out).not.toContain('very-secret');
  });

  it('a bad environment is a configuration error (exit 2)', async () => {
    const io = captureCliIo();
    expect(await runCli(['config'], { WORKER_CONCURRENCY: 'lots' }, io)).toBe(2);
    expect(io.err).toMatch(/WORKER_CONCURRENCY: expected a whole number/);
  });

  it('lists, shows and cancels jobs in the store', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const store = await createEmbeddedStore({ dir });
    const queue = await createJobQueue(store);
    const { job } = await queue.enqueue({ type: 'run', payload: { suite: 'quickstart' } });
    await store.close();

    let io = captureCliIo();
    expect(await runCli(['jobs', 'list'], { DATA_DIR: dir }, io)).toBe(0);
    expect(io.out).toContain(job._id);
    expect(io.out).toMatch(/queued\s+run/);

    io = captureCliIo();
    expect(await runCli(['jobs', 'show', job._id, '--json'], { DATA_DIR: dir }, io)).toBe(0);
    expect(JSON.parse(io.out)).toMatchObject({
      _id: job._id,
      status: 'queued',
      payload: { suite: 'quickstart' },
    });

    io = captureCliIo();
    expect(await runCli(['jobs', 'cancel', job._id], { DATA_DIR: dir }, io)).toBe(0);
    expect(io.out).toMatch(/Cancelled/);

    io = captureCliIo();
    expect(await runCli(['jobs', 'list', '--status', 'bogus'], { DATA_DIR: dir }, io)).toBe(2);
    expect(io.err).toMatch(/--status must be one of queued, running/);

    io = captureCliIo();
    expect(await runCli(['jobs', 'show', 'job_missing'], { DATA_DIR: dir }, io)).toBe(2);
    expect(io.err).toMatch(/No job with id job_missing/);
  });
});

describe('arbiter CLI through the command registry (issue 17)', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  it('mistyped words and flags get a did-you-mean and one usage line, never the whole help or parseArgs text', async () => {
    const cases: [string[], string, string][] = [
      [['jobs', 'lst'], 'Unknown jobs command "lst". Did you mean `arbiter jobs list`?', 'arbiter jobs list'],
      [['reviw', 'list'], 'Unknown command "reviw". Did you mean `arbiter review`?', 'arbiter review list'],
      [
        ['run', 'quickstart', '--jsn'],
        'Unknown option --jsn. Did you mean --json?',
        'arbiter run <name|path>',
      ],
      [['runs', 'show', 'run_1', '--junti', 'x'], 'Did you mean --junit?', 'arbiter runs show <id>'],
      [['digest', '--perod', 'day'], 'Did you mean --period?', 'arbiter digest'],
      [['review', 'run_a', 'run_a', '--dm'], 'review needs different runs', 'arbiter review <runA> <runB>'],
    ];
    for (const [argv, error, line] of cases) {
      const io = captureCliIo();
      expect({ argv, code: await runCli(argv, { LOG_LEVEL: 'silent' }, io) }).toEqual({ argv, code: 2 });
      expect(io.err).toContain(error);
      expect(io.err).toContain(line);
      expect(io.err).not.toMatch(/To specify a positional argument|ERR_PARSE_ARGS|\n\s+at /);
      // One relevant line (or the command list for an unknown command), never the help's descriptions.
      expect(io.err).not.toContain('ratings pooled over');
    }
  });

  it('<command> --help prints that command (or group) from the registry, exit 0', async () => {
    const one = captureCliIo();
    expect(await runCli(['runs', 'show', '--help'], {}, one)).toBe(0);
    expect(one.out).toBe(
      "Usage: arbiter runs show <id> [--json] [--junit FILE] [--link]\n  one run's summary\n",
    );
    const group = captureCliIo();
    expect(await runCli(['monitor', '-h'], {}, group)).toBe(0);
    expect(group.out).toContain('arbiter monitor backfill <name> --since DATE');
    expect(group.out).toContain('arbiter monitor pause <name>');
  });

  it('a chat-only command says where it works', async () => {
    const io = captureCliIo();
    expect(await runCli(['review', 'reason', 'bt_x', 'why'], {}, io)).toBe(2);
    expect(io.err).toContain('works only in Slack');
  });

  it('run finds a suite by its `name:` or its file name in SUITES_DIR, as Slack and the console do', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const suites = join(dir, 'suites');
    mkdirSync(suites);
    writeFileSync(
      join(suites, 'data.jsonl'),
      '{"input": "What is the capital of France?", "output": "Paris is the capital of France."}\n',
    );
    writeFileSync(
      join(suites, 'capital-file.yaml'),
      'name: capitals\ndataset: data.jsonl\ntarget: { type: recorded }\nmetrics:\n  - metric: refusal\nthreshold: 0.5\n',
    );
    const env = { DATA_DIR: join(dir, 'data'), SUITES_DIR: suites, LOG_LEVEL: 'silent' };
    for (const ref of ['capitals', 'capital-file']) {
      const io = captureCliIo();
      expect(await runCli(['run', ref, '--json', '--new'], env, io)).toBe(0);
      expect(JSON.parse(io.out)).toMatchObject({ suiteName: 'capitals', total: 1, exitCode: 0 });
    }
    const missing = captureCliIo();
    expect(await runCli(['run', 'capitols'], env, missing)).toBe(2);
    expect(missing.err).toContain('No suite "capitols"');
    expect(missing.err).toContain('Did you mean "capitals"?');
  });

  it('arbiter digest previews with --dry-run, posts with --post, and without either still posts with a warning', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const env = { DATA_DIR: dir, DIGESTS_DIR: join(dir, 'none'), LOG_LEVEL: 'silent' };
    mkdirSync(join(dir, 'none'));
    const legacy = captureCliIo();
    await runCli(['digest'], env, legacy);
    expect(legacy.err).toContain('without --post still posts in this release');
    const explicit = captureCliIo();
    await runCli(['digest', '--post'], env, explicit);
    expect(explicit.err).not.toContain('warning');
    const both = captureCliIo();
    expect(await runCli(['digest', '--post', '--dry-run'], env, both)).toBe(2);
    expect(both.err).toContain('give one of them');
  });
});
