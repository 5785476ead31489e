// Jobs: 2 workers drain 10,000 jobs (2 × 5,000) from one embedded store; every job must run exactly once.
import { createJobQueue, createWorker } from '../../storage/index.ts';
import { createEmbeddedStore } from '../../storage/open.ts';
import { tempDir } from '../helpers/tmp.ts';
import { isMain, report } from './util.ts';

/** Runs the jobs benchmark and returns its figures. */
export async function run(): Promise<Record<string, number | string>> {
  const { dir, cleanup } = tempDir('arbiter-bench-');
  const store = await createEmbeddedStore({ dir, autocompactMs: 0 });
  try {
    const queue = await createJobQueue(store);
    const total = 10_000;
    const t0 = performance.now();
    for (let n = 0; n < total; n++) await queue.enqueue({ type: 'noop', payload: { n } });
    const enqueueS = (performance.now() - t0) / 1000;
    const runs = new Uint8Array(total);
    const handlers = {
      noop: {
        run: async (payload: unknown) => {
          runs[(payload as { n: number }).n]! += 1;
        },
      },
    };
    const workers = ['w1', 'w2'].map((workerId) =>
      createWorker({ queue, handlers, concurrency: 8, leaseMs: 60_000, pollMs: 5, workerId }),
    );
    const t1 = performance.now();
    for (const w of workers) w.start();
    while (workers.reduce((s, w) => s + w.stats().succeeded, 0) < total)
      await new Promise((r) => setTimeout(r, 20));
    const drainS = (performance.now() - t1) / 1000;
    await Promise.all(workers.map((w) => w.stop(0)));
    const once = runs.every((c) => c === 1);
    return report('jobs: 2 workers x 5,000 jobs each (10,000 total), embedded store', {
      'enqueue jobs/s': total / enqueueS,
      'claim+run+complete jobs/s': total / drainS,
      'drain seconds': drainS,
      'every job ran exactly once': once ? 'yes' : `NO (${runs.filter((c) => c !== 1).length} wrong)`,
      'worker w1 / w2 share': workers.map((w) => w.stats().succeeded).join(' / '),
    });
  } finally {
    await store.close();
    cleanup();
  }
}

if (isMain(import.meta.url)) await run();
