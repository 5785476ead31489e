// The embedded default: with no SLACK_BOT_TOKEN the same commands/ dispatcher and chat job drive the console
// transport, so `/arbiter run …` at the terminal shows the flow Slack users see.
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ACTION_JOB_TYPE, createActionJobHandler } from '../bot/action-jobs.ts';
import { createConsoleClicker, startConsolePrompt } from '../bot/console-prompt.ts';
import { createConsoleTransport } from '../bot/console-transport.ts';
import { createOutbox } from '../bot/outbox.ts';
import { createRunReporter, RUN_POSTS_COLLECTION } from '../bot/run-reporter.ts';
import { type RunningBot, startBot } from '../bot/start.ts';
import type { ActionContext, ActionHandler } from '../chat/actions.ts';
import type { Message } from '../chat/message.ts';
import type { PostedRef, Transport } from '../chat/transport.ts';
import { createSilentLogger, parseEnv, systemIds } from '../config/index.ts';
import type { Run, RunService } from '../runs/index.ts';
import { createJobQueue, createWorker } from '../storage/index.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { tempDir } from './helpers/tmp.ts';
import { waitUntil as until } from './helpers/wait.ts';

describe('console front door', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function boot(logLines?: string[]): Promise<{ bot: RunningBot; out: () => string }> {
    const { dir, cleanup } = tempDir();
    let out = '';
    const bot = await startBot(
      parseEnv({
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: dir,
        MONITORS_DIR: `${dir}/no-monitors`,
        LOG_LEVEL: logLines ? 'info' : 'silent',
        LOG_FORMAT: 'json',
      }),
      {
        transport: createConsoleTransport({ write: (t) => (out += t) }),
        progressEditMs: 0,
        ...(logLines ? { logSink: { write: (l: string) => logLines.push(l) } } : {}),
      },
    );
    cleanups.push(cleanup, () => bot.stop());
    return { bot, out: () => out };
  }

  it('a typed `/arbiter run …` posts the parent, then the report in place and failing items in its thread', async () => {
    const { bot, out } = await boot();
    const input = new PassThrough();
    const output = new PassThrough();
    let shown = '';
    output.on('data', (d) => (shown += d));
    const rl = startConsolePrompt({ submit: (t) => bot.submitCommand(t), input, output });
    cleanups.push(() => rl.close());
    expect(shown).toContain('/arbiter help');
    input.write('/arbiter run examples/suites/quickstart.yaml --limit 4\n');
    await until(() => /updated #console[\s\S]*threshold/.test(out()));
    await bot.reporter.idle();
    expect(out()).toContain('── to #console');
    expect(out()).toContain('Evaluation run: quickstart');
    expect(await bot.runs.listRuns()).toHaveLength(1);
  });

  it('bad words get the usage; errors carry a reference', async () => {
    const { bot, out } = await boot();
    await bot.submitCommand('frobnicate');
    await bot.submitCommand('run ../../package.json');
    await until(() => out().includes('outside the suites folder'));
    await until(() => out().includes('Unknown command'));
    expect(out()).toContain('only console sees this');
    expect(out()).toMatch(/Reference err_/);
  });

  it('user mistakes (bad suite name, traversal, unknown id) are logged at info, without a stack trace', async () => {
    const lines: string[] = [];
    const { bot, out } = await boot(lines);
    await bot.submitCommand('run no-such-suite');
    await bot.submitCommand('run ../../package.json');
    await bot.submitCommand('runs show run_doesnotexist');
    await until(() => out().includes('outside the suites folder'));
    await until(() => out().includes('No run with id run_doesnotexist'));
    await until(() => out().includes('No suite "no-such-suite"'));
    const failures = lines.map((l) => JSON.parse(l)).filter((l) => /command failed/.test(l.msg));
    expect(failures).toHaveLength(3);
    expect(failures.map((l) => l.code).sort()).toEqual(['NOT_FOUND', 'NOT_FOUND', 'USAGE']);
    for (const l of failures) {
      expect(l.level).toBe(30); // pino's info
      expect(l.err).toBeUndefined();
      expect(JSON.stringify(l)).not.toMatch(/\bat .*\.ts:\d+/);
      expect(l.reason).toEqual(expect.any(String));
    }
    expect(lines.map((l) => JSON.parse(l)).filter((l) => l.level >= 50)).toEqual([]);
  });
});

describe('console clicks', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('buttons print as [n] Label; `click <n>` runs the same handler in the same job and prints the answer', async () => {
    const { dir, cleanup } = tempDir();
    const store = await createEmbeddedStore({ dir });
    const queue = await createJobQueue(store);
    let out = '';
    const transport = createConsoleTransport({ write: (t) => (out += t) });
    const seen: { actionId: string; value: string; ctx: ActionContext }[] = [];
    const actions: ActionHandler[] = [
      {
        prefix: 'vote',
        role: 'reviewer',
        async handle(input, ctx) {
          seen.push({ ...input, ctx });
          return {
            update: { title: 'Pair 1: voted', sections: [{ kind: 'text', text: `tally ${input.value} 1` }] },
            reply: { title: 'Vote recorded', sections: [] },
            ephemeral: { title: `You chose ${input.value}`, sections: [] },
          };
        },
      },
      { prefix: 'admin', role: 'admin', handle: async () => ({}) },
    ];
    const logger = createSilentLogger();
    const worker = createWorker({
      queue,
      handlers: {
        [ACTION_JOB_TYPE]: createActionJobHandler({
          transport,
          actions: () => actions,
          ids: systemIds,
          logger,
        }),
      },
      concurrency: 1,
      leaseMs: 30_000,
      logger,
    });
    worker.start();
    cleanups.push(
      cleanup,
      () => store.close(),
      () => worker.stop(1000),
    );
    const click = createConsoleClicker({
      transport,
      queue,
      actions: () => actions,
      roles: { admins: ['UADMIN'], reviewers: ['console'] },
      ids: systemIds,
      onEnqueued: () => worker.notify(),
    });

    const ref = await transport.post(
      { channel: '#console' },
      {
        title: 'Which answer is better?',
        sections: [
          {
            kind: 'buttons',
            buttons: [
              { text: 'A is better', actionId: 'vote:p1', value: 'a' },
              { text: 'B is better', actionId: 'vote:p1~1', value: 'b' },
              { text: 'Close review', actionId: 'admin:close', value: 'r1' },
            ],
          },
        ],
      },
    );
    expect(out).toContain('[1] A is better');
    expect(out).toContain('[2] B is better');
    expect(out).toContain('[3] Close review');

    const input = new PassThrough();
    const output = new PassThrough();
    let shown = '';
    output.on('data', (d) => (shown += d));
    const rl = startConsolePrompt({ submit: async () => {}, click, input, output });
    cleanups.push(() => rl.close());
    expect(shown).toContain('click <n>');

    input.write('click 2\n');
    await until(() => out.includes('Vote recorded') && out.includes('You chose b'));
    expect(out).toContain(`updated #console · ${ref.ts}`);
    expect(out).toContain('tally b 1');
    expect(out).toContain(`(thread ${ref.ts})`);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      actionId: 'vote:p1~1',
      value: 'b',
      ctx: { user: 'console', channel: '#console', messageTs: ref.ts },
    });

    // The console user is a reviewer, not an admin: refused with the role named, and nothing runs.
    input.write('click 3\n');
    await until(() => out.includes('needs the admin role'));
    expect(out).toContain('ARBITER_ADMINS');
    input.write('click 99\n');
    await until(() => shown.includes('No button [99]'));
    await new Promise((r) => setTimeout(r, 200));
    expect(seen).toHaveLength(1);
    expect(await queue.list({ type: ACTION_JOB_TYPE })).toHaveLength(1);
  });
});

describe('run reporter', () => {
  function recorder() {
    const log: { kind: string; ref?: PostedRef; message: Message; threadTs?: string }[] = [];
    let n = 0;
    const t: Transport = {
      name: 'recorder',
      async post(target, message) {
        n += 1;
        log.push({ kind: 'post', message, ...(target.threadTs ? { threadTs: target.threadTs } : {}) });
        return { channel: target.channel, ts: `ts${n}` };
      },
      async update(ref, message) {
        log.push({ kind: 'update', ref, message });
      },
      async postEphemeral(_t, message) {
        log.push({ kind: 'ephemeral', message });
      },
      async uploadFile() {},
    };
    return { t, log };
  }

  it('edits progress at most once per interval and reports exactly once, even when finish is called twice', async () => {
    const { dir, cleanup } = tempDir();
    const store = await createEmbeddedStore({ dir });
    try {
      let run = {
        _id: 'run_1',
        suiteName: 'quickstart',
        status: 'running',
        total: 10,
        progress: { done: 1, total: 10, errors: 0, meanScore: 0.5 },
        datasetErrors: [],
      } as unknown as Run;
      const runs = { getRun: async () => run, items: async () => [] } as unknown as RunService;
      const { t, log } = recorder();
      const outbox = await createOutbox({ store, transport: t, logger: createSilentLogger() });
      outbox.start();
      const reporter = await createRunReporter({
        store,
        outbox,
        runs,
        logger: createSilentLogger(),
        intervalMs: 10_000,
      });
      await reporter.attach('run_1', 'C1', { title: 'Evaluation run: quickstart', sections: [] });
      for (let i = 0; i < 20; i++) reporter.progress('run_1');
      await reporter.idle();
      expect(log.filter((e) => e.kind === 'update')).toHaveLength(0);
      run = { ...run, status: 'completed' } as Run;
      await Promise.all([reporter.finish('run_1'), reporter.finish('run_1')]);
      await reporter.attach('run_1', 'C1', { title: 'again', sections: [] });
      await reporter.idle();
      expect(log.filter((e) => e.kind === 'post')).toHaveLength(1);
      const updates = log.filter((e) => e.kind === 'update');
      expect(updates).toHaveLength(1);
      expect(updates[0]?.ref).toEqual({ channel: 'C1', ts: 'ts1' });
      // Reported only now that the report was delivered.
      const posts = await store.collection<{ _id: string; reported: boolean }>(RUN_POSTS_COLLECTION);
      expect((await posts.findOne({ _id: 'run_1' }))?.reported).toBe(true);
      await outbox.stop();
    } finally {
      await store.close();
      cleanup();
    }
  });
});
