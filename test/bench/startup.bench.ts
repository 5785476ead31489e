// Start-up, medians of 5 cold starts each: `arbiter help` (process start to exit), `npm start`'s process start to
// the first `/healthz` 200, and the bot's resident memory once idle (3 s after /healthz). Measured through the
// launchers (bin/arbiter.mjs, bin/start.mjs: compiled dist/ when current, see README "How start works") and, for
// comparison, from the TypeScript sources through tsx. Targets on the development machine: help under 0.3 s, start
// to /healthz under 1 s, idle RSS under 120 MB.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { distProblem } from '../../bin/launch.mjs';
import { tempDir } from '../helpers/tmp.ts';
import { isMain, median, report } from './util.ts';

const FROM_DIST = ['bin/start.mjs'];
const FROM_SOURCES = ['--import', 'tsx', 'bot/main.ts'];

function baseEnv(dir: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATA_DIR: dir, LOG_LEVEL: 'warn' };
}

/** Resident set size of a process in MiB (Linux /proc), or NaN elsewhere. */
function rssMb(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Milliseconds from spawning `node <args>` to its exit (status 0 required). */
async function cliOnce(args: string[]): Promise<number> {
  const { dir, cleanup } = tempDir('arbiter-bench-');
  const started = performance.now();
  try {
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, args, { env: baseEnv(dir), stdio: 'ignore' });
      child.on('exit', resolve);
    });
    if (code !== 0) throw new Error(`node ${args.join(' ')} exited with ${code}`);
    return performance.now() - started;
  } finally {
    cleanup();
  }
}

/** Process start to the first /healthz 200, then the idle RSS 3 s later. */
async function botOnce(args: string[]): Promise<{ ms: number; rss: number }> {
  const { dir, cleanup } = tempDir('arbiter-bench-');
  const port = 30_000 + Math.floor(Math.random() * 20_000);
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    env: { ...baseEnv(dir), PORT: String(port), HOST: '127.0.0.1' },
    stdio: 'ignore',
  });
  try {
    for (;;) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`);
        if (res.status === 200) break;
      } catch {
        // Not listening yet.
      }
      if (child.exitCode !== null) throw new Error(`bot exited with ${child.exitCode}`);
      if (performance.now() - started > 30_000) throw new Error('bot did not answer /healthz in 30 s');
      await new Promise((r) => setTimeout(r, 5));
    }
    const ms = performance.now() - started;
    await new Promise((r) => setTimeout(r, 3000));
    return { ms, rss: rssMb(child.pid!) };
  } finally {
    await new Promise<void>((resolve) => {
      child.on('exit', () => resolve());
      child.kill('SIGTERM');
    });
    cleanup();
  }
}

async function five<T>(fn: () => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < 5; i++) out.push(await fn());
  return out;
}

/** Runs the start-up benchmark and returns its figures. */
export async function run(): Promise<Record<string, number | string>> {
  const problem = distProblem();
  const help = await five(() => cliOnce(['bin/arbiter.mjs', 'help']));
  const helpTs = await five(() => cliOnce(['--import', 'tsx', 'cli/main.ts', 'help']));
  const bot = await five(() => botOnce(FROM_DIST));
  const botTs = await five(() => botOnce(FROM_SOURCES));
  const [load1] = (await import('node:os')).loadavg();
  return report('start-up (medians of 5 cold starts)', {
    'launchers run': problem ? `TypeScript sources (${problem})` : 'compiled dist/',
    'load average (1 min)': load1 ?? Number.NaN,
    'arbiter help ms': median(help),
    'arbiter help ms, sources via tsx': median(helpTs),
    'start to /healthz ms': median(bot.map((b) => b.ms)),
    'start to /healthz ms, sources via tsx': median(botTs.map((b) => b.ms)),
    'idle RSS MiB': median(bot.map((b) => b.rss)),
    'idle RSS MiB, sources via tsx': median(botTs.map((b) => b.rss)),
    'targets: help ms / healthz ms / idle MB (114 MiB)': '300 / 1000 / 120',
  });
}

if (isMain(import.meta.url)) await run();
