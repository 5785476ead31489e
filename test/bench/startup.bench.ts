// Process start to the first `/healthz` 200, median of 5 cold starts of `node --import tsx bot/main.ts`.
import { spawn } from 'node:child_process';
import { tempDir } from '../helpers/tmp.ts';
import { isMain, median, report } from './util.ts';

async function once(): Promise<number> {
  const { dir, cleanup } = tempDir('arbiter-bench-');
  const port = 30_000 + Math.floor(Math.random() * 20_000);
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'bot/main.ts'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dir,
      LOG_LEVEL: 'warn',
    },
    stdio: 'ignore',
  });
  try {
    for (;;) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`);
        if (res.status === 200) return performance.now() - started;
      } catch {
        // Not listening yet.
      }
      if (child.exitCode !== null) throw new Error(`bot exited with ${child.exitCode}`);
      if (performance.now() - started > 30_000) throw new Error('bot did not answer /healthz in 30 s');
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    await new Promise<void>((resolve) => {
      child.on('exit', () => resolve());
      child.kill('SIGTERM');
    });
    cleanup();
  }
}

/** Runs the start-up benchmark and returns its figures. */
export async function run(): Promise<Record<string, number | string>> {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) times.push(await once());
  return report('start-up: process start to /healthz 200 (5 cold starts)', {
    'median ms': median(times),
    'min ms': Math.min(...times),
    'max ms': Math.max(...times),
    'target ms': 1500,
  });
}

if (isMain(import.meta.url)) await run();
