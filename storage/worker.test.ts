import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { registerSecret } from '../config/index.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import {
  createJobQueue,
  createWorker,
  type DocumentStore,
  type JobQueue,
  PermanentJobError,
  type Worker,
} from './index.ts';
import { createEmbeddedStore } from './open.ts';
import { waitUntil } from '../test/helpers/wait.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const waitFor = (check: () => Promise<boolean> | boolean) => waitUntil(check, 10_000, 10);

describe('worker loop', () => {
  let store: DocumentStore;
  let cleanup: () => void;
  let queue: JobQueue;
  const workers: Worker[] = [];

  beforeEach(async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    store = await createEmbeddedStore({ dir: t.dir, autocompactMs: 0 });
    queue = await createJobQueue(store, { backoffBaseMs: 10, backoffMaxMs: 20 });
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop(0)));
    await store.close();
    cleanup();
  });

  const start = (w: Worker) => {
    workers.push(w);
    w.start();
    return w;
  };

  it('once() skips an effect a crashed attempt finished, and says when one it started is uncertain', async () => {
    const { job } = await queue.enqueue({ type: 'post', maxAttempts: 5 });
    // What a first attempt that died would leave: reply done, notice started.
    const first = (await queue.claim('dead', 50))!;
    await queue.markEffect(job._id, 'dead', 'reply', 'done');
    await queue.markEffect(job._id, 'dead', 'notice', 'started');
    await sleep(60);
    const seen: string[] = [];
    start(
      createWorker({
        queue,
        concurrency: 1,
        leaseMs: 5000,
        pollMs: 5,
        handlers: {
          post: {
            run: async (_p, ctx) => {
              seen.push(`reply:${await ctx.once('reply', async () => void seen.push('posted reply'))}`);
              await ctx.once(
                'notice',
                async ({ uncertain }) => void seen.push(`notice uncertain=${uncertain}`),
              );
              await ctx.once(
                'fresh',
                async ({ uncertain }) => void seen.push(`fresh uncertain=${uncertain}`),
              );
              await ctx
                .once('broken', async () => {
                  throw new Error('slack down');
                })
                .catch(() => seen.push('broken threw'));
            },
          },
        },
      }),
    );
    await waitFor(async () => (await queue.get(job._id))?.status === 'succeeded');
    expect(first.attempts).toBe(1);
    expect(seen).toEqual(['reply:skipped', 'notice uncertain=true', 'fresh uncertain=false', 'broken threw']);
    // A failed effect leaves no mark: a retry would try it again as a fresh one.
    expect((await queue.get(job._id))?.effects).toEqual({ reply: 'done', notice: 'done', fresh: 'done' });
  });

  it('two workers run every job exactly once', async () => {
    const runs = new Map<number, number>();
    const handlers = {
      count: {
        payload: z.object({ n: z.number() }),
        run: async ({ n }: { n: number }) => {
          runs.set(n, (runs.get(n) ?? 0) + 1);
          await sleep(n % 3);
        },
      },
    };
    for (let n = 0; n < 300; n++) await queue.enqueue({ type: 'count', payload: { n } });
    const a = start(
      createWorker({ queue, handlers, concurrency: 4, leaseMs: 5000, pollMs: 5, workerId: 'a' }),
    );
    const b = start(
      createWorker({ queue, handlers, concurrency: 4, leaseMs: 5000, pollMs: 5, workerId: 'b' }),
    );
    await waitFor(async () => (await queue.list({ status: 'succeeded', limit: 1000 })).length === 300);
    expect(runs.size).toBe(300);
    expect([...runs.values()].every((c) => c === 1)).toBe(true);
    expect(a.stats().succeeded + b.stats().succeeded).toBe(300);
    expect(a.stats().succeeded).toBeGreaterThan(0);
    expect(b.stats().succeeded).toBeGreaterThan(0);
  });

  it('never runs more jobs at once than its concurrency', async () => {
    let active = 0;
    let peak = 0;
    const handlers = {
      slow: {
        run: async () => {
          active += 1;
          peak = Math.max(peak, active);
          await sleep(15);
          active -= 1;
        },
      },
    };
    for (let i = 0; i < 20; i++) await queue.enqueue({ type: 'slow' });
    start(createWorker({ queue, handlers, concurrency: 3, leaseMs: 5000, pollMs: 5 }));
    await waitFor(async () => (await queue.list({ status: 'succeeded' })).length === 20);
    expect(peak).toBe(3);
  });

  it('retries a failing handler and records the result when it finally succeeds', async () => {
    let calls = 0;
    const handlers = {
      flaky: {
        run: async () => {
          calls += 1;
          if (calls < 3) throw new Error(`transient ${calls}`);
          return { answer: 42 };
        },
      },
    };
    const { job } = await queue.enqueue({ type: 'flaky', maxAttempts: 3 });
    start(createWorker({ queue, handlers, concurrency: 1, leaseMs: 5000, pollMs: 5 }));
    await waitFor(async () => (await queue.get(job._id))?.status === 'succeeded');
    expect(await queue.get(job._id)).toMatchObject({
      attempts: 3,
      result: { answer: 42 },
      lastError: 'transient 2',
    });
  });

  it('a job that keeps failing ends failed with its last error; bad payloads fail at once', async () => {
    const handlers = {
      broken: {
        run: async () => {
          throw new Error('always broken');
        },
      },
      typed: { payload: z.object({ suite: z.string() }), run: async () => 'ok' },
      refused: {
        run: async () => {
          throw new PermanentJobError('suite file not found');
        },
      },
    };
    const broken = (await queue.enqueue({ type: 'broken', maxAttempts: 2 })).job;
    const typed = (await queue.enqueue({ type: 'typed', payload: { suite: 7 } })).job;
    const refused = (await queue.enqueue({ type: 'refused' })).job;
    start(createWorker({ queue, handlers, concurrency: 2, leaseMs: 5000, pollMs: 5 }));
    await waitFor(async () => {
      const states = await Promise.all([broken, typed, refused].map((j) => queue.get(j._id)));
      return states.every((s) => s?.status === 'failed');
    });
    expect(await queue.get(broken._id)).toMatchObject({ attempts: 2, lastError: 'always broken' });
    expect(await queue.get(typed._id)).toMatchObject({ attempts: 1 });
    expect((await queue.get(typed._id))?.lastError).toMatch(/invalid payload for typed/);
    expect(await queue.get(refused._id)).toMatchObject({ attempts: 1, lastError: 'suite file not found' });
  });

  it('a failed job stores and logs its error without any registered secret', async () => {
    const secret = 'agt_worker-S3cret-token-77';
    registerSecret(`Bearer ${secret}`);
    const handlers = {
      echo: {
        run: async () => {
          throw new PermanentJobError(`agent answered 401: got "Bearer ${secret}"`);
        },
      },
    };
    const { job } = await queue.enqueue({ type: 'echo' });
    start(createWorker({ queue, handlers, concurrency: 1, leaseMs: 5000, pollMs: 5 }));
    await waitFor(async () => (await queue.get(job._id))?.status === 'failed');
    const stored = await queue.get(job._id);
    expect(stored?.lastError).toBe('agent answered 401: got "Bearer [redacted]"');
    expect(JSON.stringify(stored)).not.toContain(secret);
  });

  it('picks up a job whose previous worker died once the lease expires', async () => {
    const { job } = await queue.enqueue({ type: 'work' });
    expect(await queue.claim('dead-process', 150)).not.toBeNull();
    const ran: string[] = [];
    start(
      createWorker({
        queue,
        handlers: { work: { run: async (_p, ctx) => ran.push(ctx.job._id) } },
        concurrency: 1,
        leaseMs: 1000,
        pollMs: 10,
      }),
    );
    await sleep(60);
    expect(ran).toEqual([]);
    await waitFor(async () => (await queue.get(job._id))?.status === 'succeeded');
    expect(ran).toEqual([job._id]);
    expect((await queue.get(job._id))?.attempts).toBe(2);
  });

  it('keeps the lease alive for jobs that outlast it', async () => {
    const { job } = await queue.enqueue({ type: 'long' });
    const runs: number[] = [];
    const handlers = {
      long: {
        run: async () => {
          runs.push(Date.now());
          await sleep(500);
        },
      },
    };
    start(createWorker({ queue, handlers, concurrency: 1, leaseMs: 150, pollMs: 10, workerId: 'one' }));
    start(createWorker({ queue, handlers, concurrency: 1, leaseMs: 150, pollMs: 10, workerId: 'two' }));
    await waitFor(async () => (await queue.get(job._id))?.status === 'succeeded');
    expect(runs).toHaveLength(1);
  });

  it('records progress and stops a cancelled job', async () => {
    const handlers = {
      watch: {
        run: async (
          _p: unknown,
          ctx: { signal: AbortSignal; progress: (p: { done: number; total: number }) => Promise<void> },
        ) => {
          for (let i = 1; i <= 1000; i++) {
            if (ctx.signal.aborted) throw ctx.signal.reason;
            await ctx.progress({ done: i, total: 1000 });
            await sleep(5);
          }
        },
      },
    };
    const { job } = await queue.enqueue({ type: 'watch' });
    start(createWorker({ queue, handlers, concurrency: 1, leaseMs: 90, pollMs: 5 }));
    await waitFor(async () => ((await queue.get(job._id))?.progress?.done ?? 0) >= 3);
    await queue.cancel(job._id);
    await waitFor(async () => (await queue.get(job._id))?.status === 'cancelled');
    const final = await queue.get(job._id);
    expect(final?.progress?.done).toBeLessThan(1000);
  });

  it('on shutdown finishes quick jobs and releases the ones that outlast the grace period', async () => {
    const handlers = {
      quick: { run: async () => sleep(30) },
      endless: {
        run: (_p: unknown, ctx: { signal: AbortSignal }) =>
          new Promise((_resolve, reject) =>
            ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)),
          ),
      },
    };
    const quick = (await queue.enqueue({ type: 'quick' })).job;
    const endless = (await queue.enqueue({ type: 'endless' })).job;
    const w = createWorker({ queue, handlers, concurrency: 2, leaseMs: 5000, pollMs: 5 });
    w.start();
    await waitFor(() => w.stats().running === 2);
    await w.stop(200);
    expect((await queue.get(quick._id))?.status).toBe('succeeded');
    expect(await queue.get(endless._id)).toMatchObject({ status: 'queued', attempts: 0 });
    expect(w.stats()).toMatchObject({ running: 0, released: 1, stopping: true });
  });

  it('a store failure while recording the outcome loses nothing: the job is retried after its lease', async () => {
    let failNext = true;
    // Fault injection at the store boundary: the first write of an outcome fails like a dropped connection.
    const flaky: JobQueue = {
      ...queue,
      complete: async (...args) => {
        if (failNext) {
          failNext = false;
          throw new Error('connection reset by peer');
        }
        return queue.complete(...args);
      },
    };
    let runs = 0;
    const { job } = await queue.enqueue({ type: 'once' });
    start(
      createWorker({
        queue: flaky,
        handlers: { once: { run: async () => ++runs } },
        concurrency: 1,
        leaseMs: 150,
        pollMs: 10,
      }),
    );
    await waitFor(async () => (await queue.get(job._id))?.status === 'succeeded');
    expect(runs).toBe(2);
    expect((await queue.get(job._id))?.attempts).toBe(2);
  });
});
