// `monitor list | run | pause | resume` through the real commands/ dispatcher and the real embedded store: the
// paused flag is persisted (a new store handle sees it), the scheduler's due tick skips a paused monitor, and the
// console front door posts a manual tick's report where the command was typed.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createConsoleTransport } from '../bot/console-transport.ts';
import { type RunningBot, startBot } from '../bot/start.ts';
import { type DispatchDeps, dispatch } from '../commands/dispatch.ts';
import type { Message } from '../chat/message.ts';
import { parseCommand } from '../commands/parse.ts';
import { parseEnv } from '../config/index.ts';
import { createManualClock } from '../config/runtime.ts';
import {
  createMonitorStore,
  loadMonitors,
  type Monitor,
  type MonitorCliCommand,
  type MonitorDeps,
  runMonitorCli,
  startMonitors,
} from '../monitors/index.ts';
import { runDueTick } from '../monitors/tick.ts';
import { createRecordingTransport } from '../prompts/testing.ts';
import type { RunService } from '../runs/index.ts';
import { createLeases, type DocumentStore } from '../storage/index.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { viaRegistry } from './helpers/cli-args.ts';
import { withCliServices } from './helpers/cli-services.ts';
import { tempDir } from './helpers/tmp.ts';
import { waitUntil as until } from './helpers/wait.ts';

const EXAMPLE_DATA = 'examples/monitors/data/support-traffic.jsonl';

/** A MONITORS_DIR of its own: the shipped example, its data copied next to it (absolute path), another channel. */
function monitorsFolder(
  root: string,
  data = readFileSync(EXAMPLE_DATA, 'utf8'),
): { dir: string; data: string } {
  const dir = join(root, 'monitors');
  mkdirSync(dir, { recursive: true });
  const dataPath = join(dir, 'traffic.jsonl');
  writeFileSync(dataPath, data);
  const yaml = readFileSync('examples/monitors/example.yaml', 'utf8').replace(
    /path: .*\n/,
    `path: ${JSON.stringify(dataPath)}\n`,
  );
  writeFileSync(join(dir, 'support.yaml'), yaml);
  return { dir, data: dataPath };
}

const text = (m: Message) => JSON.stringify(m);

describe('monitor commands through the dispatcher', () => {
  let root: string;
  let cleanup: () => void;
  let store: DocumentStore;
  let monitors: Monitor[];
  const clock = createManualClock('2026-11-20T10:00:00Z');

  beforeEach(async () => {
    ({ dir: root, cleanup } = tempDir());
    clock.set('2026-11-20T10:00:00Z');
    const folder = monitorsFolder(root);
    monitors = loadMonitors(folder.dir).map((l) => l.value);
    store = await createEmbeddedStore({ dir: join(root, 'data'), autocompactMs: 0 });
  });
  afterEach(async () => {
    await store.close();
    cleanup();
  });

  async function setup(s = store) {
    const transport = createRecordingTransport();
    const mdeps: MonitorDeps = {
      store: await createMonitorStore(s),
      leases: await createLeases(s, { clock }),
      transport,
      clock,
      owner: 'test',
    };
    const deps: DispatchDeps = {
      runs: {} as RunService,
      suitesDir: 'examples/suites',
      environment: {},
      roles: { admins: ['UADMIN'], reviewers: [] },
      monitors: { list: monitors, deps: mdeps },
    };
    const run = async (line: string, user = 'UADMIN') => {
      const parsed = parseCommand(line);
      if (!parsed.ok) throw new Error(parsed.error);
      return (await dispatch(parsed.command, { user }, deps)).message;
    };
    return { run, mdeps, transport };
  }

  it('list shows schedule, source, metrics, paused state, last tick and open alerts', async () => {
    const { run } = await setup();
    const before = await run('monitor list', 'UREADER');
    expect(before.ephemeral).toBe(true);
    expect(text(before)).toMatch(
      /support-quality {2}every 30m {2}source=file {2}metrics=no-refusal,pii,length {2}active {2}last=never {2}open alerts: none/,
    );
    const paused = await run('monitor pause support-quality');
    expect(paused.ephemeral).toBe(false);
    expect(text(paused)).toContain('Paused support-quality');
    expect(text(await run('monitor list'))).toMatch(/PAUSED by UADMIN at 2026-11-20T10:00:00.000Z/);
    expect(text(await run('monitor pause support-quality'))).toContain('already paused');
  });

  it('pause survives a restart (a new store handle) and shows in the CLI list; resume clears it', async () => {
    const { run } = await setup();
    await run('monitor pause support-quality');
    await store.close();
    store = await createEmbeddedStore({ dir: join(root, 'data'), autocompactMs: 0 });
    const again = await setup();
    expect(text(await again.run('monitor list'))).toContain('PAUSED by UADMIN');
    await store.close();

    const out: string[] = [];
    const io = { stdout: (t: string) => void out.push(t), stderr: (t: string) => void out.push(t) };
    const cli = (argv: string[]) =>
      viaRegistry(['monitor', ...argv], io, (cmd: MonitorCliCommand) =>
        withCliServices(
          {
            env: parseEnv({
              DATA_DIR: join(root, 'data'),
              MONITORS_DIR: join(root, 'monitors'),
              LOG_LEVEL: 'silent',
            }),
            io,
            clock,
          },
          (d) => runMonitorCli(cmd, d),
        ),
      );
    expect(await cli(['list'])).toBe(0);
    expect(out.join('')).toMatch(/support-quality .*PAUSED by UADMIN/);
    expect(await cli(['resume', 'support-quality'])).toBe(0);
    expect(out.join('')).toContain('Resumed support-quality');
    expect(await cli(['pause', 'nope'])).toBe(2);
    expect(out.join('')).toContain('Known: support-quality');

    store = await createEmbeddedStore({ dir: join(root, 'data'), autocompactMs: 0 });
    const third = await setup();
    expect(text(await third.run('monitor list'))).toMatch(/support-quality .* active /);
  });

  it("the scheduler skips a paused monitor's due tick and runs it after resume", async () => {
    const { run, mdeps, transport } = await setup();
    await run('monitor pause support-quality');
    const m = monitors[0]!;
    expect(await runDueTick(m, mdeps)).toEqual({ status: 'skipped', reason: 'paused' });
    // The real scheduler shell (start-up catch-up) goes through the same check.
    const seen: string[] = [];
    const scheduler = startMonitors(monitors, mdeps, {
      catchUp: false,
      onTick: (_n, o) => seen.push(o.status === 'skipped' ? o.reason : o.status),
    });
    await scheduler.checkAll();
    await scheduler.stop();
    expect(seen).toEqual(['paused']);
    expect(await mdeps.leases.lastTick('monitor:support-quality')).toBeNull();
    expect(transport.posts).toHaveLength(0);

    clock.advance(45 * 60_000);
    await run('monitor resume support-quality');
    const resumed = await runDueTick(m, mdeps);
    expect(resumed).toMatchObject({ status: 'succeeded', scored: 6 });
    // The ticks missed while paused collapse into the latest scheduled one.
    expect((await mdeps.leases.lastTick('monitor:support-quality'))?.tickTime.toISOString()).toBe(
      '2026-11-20T10:30:00.000Z',
    );
    expect(transport.posts[0]?.channel).toBe('#llm-monitors');
  });

  it('a tick that saves state never undoes a pause made while it ran', async () => {
    const { mdeps } = await setup();
    const read = await mdeps.store.getState('support-quality');
    await mdeps.store.setPaused('support-quality', true, { user: 'U1', at: clock.now() });
    await mdeps.store.saveState({ ...read, paused: false, failing: false });
    expect((await mdeps.store.getState('support-quality')).paused).toBe(true);
  });

  it('run, pause and resume are for admins: a reader is refused with the role named', async () => {
    const { run, mdeps } = await setup();
    for (const line of ['monitor run support-quality', 'monitor pause support-quality', 'monitor resume x']) {
      const refused = await run(line, 'UNOBODY');
      expect(refused.ephemeral).toBe(true);
      expect(text(refused)).toContain('needs the admin role');
      expect(text(refused)).toContain('ARBITER_ADMINS');
    }
    expect(await mdeps.leases.lastTick('monitor:support-quality')).toBeNull();
    expect((await mdeps.store.getState('support-quality')).paused).toBeUndefined();
  });

  it('an unknown monitor name gets a usage message listing the valid names', async () => {
    const { run } = await setup();
    for (const line of ['monitor run nope', 'monitor pause nope', 'monitor resume nope']) {
      const m = await run(line);
      expect(m.ephemeral).toBe(true);
      expect(text(m)).toContain('No monitor named \\"nope\\". Valid names: support-quality.');
      expect(text(m)).toContain('monitor run <name>');
    }
  });

  it('run returns the tick report (posted where asked, not in the monitor channel) and respects the tick lease', async () => {
    const { run, transport } = await setup();
    await run('monitor pause support-quality');
    const report = await run('monitor run support-quality');
    expect(report.ephemeral).toBeFalsy();
    expect(report.title).toMatch(/support-quality: 6 scored/);
    expect(report.thread?.length).toBeGreaterThan(0);
    expect(text(report)).toContain('is paused: only its scheduled ticks are skipped');
    expect(transport.posts).toHaveLength(0);
    // Same second: the tick is already claimed, so nothing runs twice.
    expect(text(await run('monitor run support-quality'))).toContain('already claimed');
    clock.advance(5_000);
    expect(text(await run('monitor run support-quality'))).toContain('Nothing new to report');
  });
});

describe('monitor commands at the console prompt', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('list, pause and run: the manual tick report is posted, threaded, into the channel of the command', async () => {
    const { dir: root, cleanup } = tempDir();
    // Empty at start, so the start-up catch-up tick finds nothing and posts nothing.
    const folder = monitorsFolder(root, '');
    let out = '';
    const bot: RunningBot = await startBot(
      parseEnv({
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: join(root, 'data'),
        MONITORS_DIR: folder.dir,
        LOG_LEVEL: 'silent',
      }),
      { transport: createConsoleTransport({ write: (t) => (out += t) }) },
    );
    cleanups.push(cleanup, () => bot.stop());
    await until(async () => (await bot.leases.lastTick('monitor:support-quality'))?.status === 'succeeded');
    copyFileSync(EXAMPLE_DATA, folder.data);

    await bot.submitCommand('monitor pause support-quality', { channel: '#ops' });
    await until(() => out.includes('Paused support-quality'));
    await bot.submitCommand('monitor list');
    await until(() => /support-quality .*PAUSED by console/.test(out));
    await bot.submitCommand('monitor run support-quality', { channel: '#ops' });
    await until(() => /support-quality: 6 scored/.test(out));
    expect(out).toMatch(/── to #ops [^\n]*\n[^\n]*support-quality: 6 scored/);
    expect(out).not.toContain('#llm-monitors');
    await bot.submitCommand('monitor run nope');
    await until(() => out.includes('Valid names: support-quality'));
  });
});
