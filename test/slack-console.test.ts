// The embedded default: with no SLACK_BOT_TOKEN the same commands/ dispatcher and chat job drive the console
// transport, so `/arbiter run …` at the terminal shows the flow Slack users see.
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { startConsolePrompt } from '../bot/console-prompt.ts';
import { createConsoleTransport } from '../bot/console-transport.ts';
import { createRunReporter } from '../bot/run-reporter.ts';
import { type RunningBot, startBot } from '../bot/start.ts';
import type { Message } from '../commands/message.ts';
import type { PostedRef, Transport } from '../commands/transport.ts';
import { createSilentLogger, parseEnv } from '../config/index.ts';
import type { Run, RunService } from '../runs/index.ts';
import { createEmbeddedStore } from '../storage/index.ts';
import { tempDir } from './helpers/tmp.ts';
import { waitUntil as until } from './helpers/wait.ts';

describe('console front door', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function boot(): Promise<{ bot: RunningBot; out: () => string }> {
    const { dir, cleanup } = tempDir();
    let out = '';
    const bot = await startBot(
      parseEnv({
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: dir,
        MONITORS_DIR: `${dir}/no-monitors`,
        LOG_LEVEL: 'silent',
      }),
      {
        transport: createConsoleTransport({ write: (t) => (out += t) }),
        progressEditMs: 0,
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

  it('bad words get the usage; unbuilt commands say so; errors carry a reference', async () => {
    const { bot, out } = await boot();
    await bot.submitCommand('frobnicate');
    await bot.submitCommand('leaderboard');
    await bot.submitCommand('run ../../package.json');
    await until(() => out().includes('outside the suites folder'));
    await until(() => out().includes('Unknown command') && out().includes('not available yet'));
    expect(out()).toContain('only console sees this');
    expect(out()).toMatch(/Reference err_/);
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
      const reporter = await createRunReporter({
        store,
        transport: t,
        runs: () => runs,
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
      expect(log.filter((e) => e.kind === 'post')).toHaveLength(1);
      const updates = log.filter((e) => e.kind === 'update');
      expect(updates).toHaveLength(1);
      expect(updates[0]?.ref).toEqual({ channel: 'C1', ts: 'ts1' });
    } finally {
      await store.close();
      cleanup();
    }
  });
});
