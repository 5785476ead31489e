import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/tmp.ts';

interface Started {
  child: ChildProcess;
  url: string;
  output: () => string;
}

function launch(env: Record<string, string>): {
  child: ChildProcess;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bot/main.ts'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, stdout, stderr })),
  );
  (child as ChildProcess & { out: () => string }).out = () => stdout + stderr;
  return { child, done };
}

async function startAndWait(
  env: Record<string, string>,
): Promise<Started & { done: ReturnType<typeof launch>['done'] }> {
  const { child, done } = launch({ PORT: '0', HOST: '127.0.0.1', ...env });
  const output = () => (child as ChildProcess & { out: () => string }).out();
  const deadline = Date.now() + 20_000;
  for (;;) {
    const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(output());
    if (m) return { child, url: m[1]!, output, done };
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`bot did not start: ${output()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('npm start (the bot process)', () => {
  const cleanups: (() => void)[] = [];
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
    for (const c of cleanups.splice(0)) c();
  });

  it('starts on embedded defaults, serves /healthz, says what it runs on, and stops cleanly on SIGTERM', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const bot = await startAndWait({ DATA_DIR: dir });
    children.push(bot.child);
    const res = await fetch(`${bot.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: 'ok',
      store: { kind: 'embedded', ok: true },
      worker: { stopping: false },
    });
    expect(bot.output()).toMatch(
      /store: embedded SQLite store in .* \| transport: console \(no SLACK_BOT_TOKEN\) \| providers: offline .* \| judge: offline:heuristic/,
    );
    expect((await fetch(`${bot.url}/nope`)).status).toBe(404);
    // The shipped example monitor runs its first tick at start and its report is printed.
    expect(bot.output()).toMatch(/monitors: 1/);
    const deadline = Date.now() + 15_000;
    while (!bot.output().includes('Monitor support-quality') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(bot.output()).toContain('Monitor support-quality');
    // The embedded default is SQLite: one database file, its write-ahead log open while the bot runs.
    expect(existsSync(join(dir, 'arbiter.sqlite'))).toBe(true);
    expect(existsSync(join(dir, 'arbiter.sqlite-wal'))).toBe(true);
    bot.child.kill('SIGTERM');
    const { code } = await bot.done;
    expect(code).toBe(0);
    expect(bot.output()).toMatch(/stopped cleanly/);
    // A clean close checkpoints the log into the database and removes it.
    expect(existsSync(join(dir, 'arbiter.sqlite-wal'))).toBe(false);
  });

  it('a bad environment stops start-up with exit code 2, names the variable, writes nothing', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const dataDir = join(dir, 'never-created');
    const { child, done } = launch({
      DATA_DIR: dataDir,
      PORT: 'eighty',
      SLACK_BOT_TOKEN: 'xoxp-not-a-bot-token-secret',
    });
    children.push(child);
    const { code, stderr } = await done;
    expect(code).toBe(2);
    expect(stderr).toMatch(/PORT: expected a whole number from 0 to 65535 \(got "eighty"\)/);
    expect(stderr).toMatch(/SLACK_BOT_TOKEN: expected a bot token starting with xoxb-/);
    expect(stderr).not.toContain('not-a-bot-token-secret');
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('a judge model whose provider has no key stops start-up with exit code 2 before anything is written', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const dataDir = join(dir, 'data');
    const { child, done } = launch({ DATA_DIR: dataDir, ARBITER_JUDGE_MODEL: 'anthropic:claude-sonnet-5-5' });
    children.push(child);
    const { code, stderr } = await done;
    expect(code).toBe(2);
    expect(stderr).toMatch(/ARBITER_JUDGE_MODEL: anthropic:claude-sonnet-5-5 needs ANTHROPIC_API_KEY/);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('a malformed monitor file stops start-up with exit code 2 naming file, line and field', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    writeFileSync(
      join(dir, 'broken.yaml'),
      'name: broken\nschedule: "every: 30m"\nsource:\n  type: nowhere\n',
    );
    const { child, done } = launch({ DATA_DIR: join(dir, 'data'), MONITORS_DIR: dir });
    children.push(child);
    const { code, stderr } = await done;
    expect(code).toBe(2);
    expect(stderr).toMatch(/broken\.yaml:\d+:\d+: /);
    expect(existsSync(join(dir, 'data'))).toBe(false);
  });

  it('an unreachable MongoDB gives a clear message and exit code 3, without the password', async () => {
    const { child, done } = launch({
      MONGODB_URI: 'mongodb://arbiter:hunter2secret@127.0.0.1:1/arbiter',
      MONGODB_CONNECT_TIMEOUT: '300ms',
    });
    children.push(child);
    const { code, stderr } = await done;
    expect(code).toBe(3);
    expect(stderr).toMatch(/Cannot connect to MongoDB at 127\.0\.0\.1:1 \(MONGODB_URI\)/);
    expect(stderr).toMatch(/Unset MONGODB_URI to use the embedded store/);
    expect(stderr).not.toContain('hunter2secret');
  });

  it('a second bot on the same DATA_DIR runs beside the first on the SQLite store', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const first = await startAndWait({ DATA_DIR: dir });
    children.push(first.child);
    const second = await startAndWait({ DATA_DIR: dir });
    children.push(second.child);
    for (const bot of [first, second]) {
      const res = await fetch(`${bot.url}/healthz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: 'ok', store: { kind: 'embedded', ok: true } });
    }
    for (const bot of [second, first]) {
      bot.child.kill('SIGTERM');
      expect((await bot.done).code).toBe(0);
    }
  });

  it('on the nedb store a second process on the same DATA_DIR is refused with exit code 3', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const first = await startAndWait({ DATA_DIR: dir, EMBEDDED_STORE: 'nedb' });
    children.push(first.child);
    const second = launch({ DATA_DIR: dir, PORT: '0', EMBEDDED_STORE: 'nedb' });
    children.push(second.child);
    const { code, stderr } = await second.done;
    expect(code).toBe(3);
    expect(stderr).toMatch(/is in use by another Arbiter process/);
    first.child.kill('SIGTERM');
    expect((await first.done).code).toBe(0);
  });

  it('an unwritable DATA_DIR gives a clear message and exit code 3', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a folder');
    const { child, done } = launch({ DATA_DIR: join(file, 'data') });
    children.push(child);
    const { code, stderr } = await done;
    expect(code).toBe(3);
    expect(stderr).toMatch(/Cannot create DATA_DIR .*: ENOTDIR/);
    expect(stderr).toMatch(/Set DATA_DIR to a writable folder/);
  });
});
