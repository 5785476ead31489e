import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isArbiterError } from '../config/index.ts';
import { kill9, startTsChild, waitForLines } from '../test/helpers/child.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { createJobQueue, createWorker } from './index.ts';
import { createNedbStore } from './embedded.ts';
import type { EmbeddedEngine } from './open.ts';
import { createEmbeddedStore } from './open.ts';

describe.each(['nedb', 'sqlite'] as EmbeddedEngine[])(
  'crash safety of the embedded store on %s (kill -9)',
  (engine) => {
    const cleanups: (() => void)[] = [];
    afterEach(() => {
      for (const c of cleanups.splice(0)) c();
    });
    const open = (dir: string) => createEmbeddedStore({ dir, engine, autocompactMs: 0 });

    it('keeps every acknowledged write when the process is killed mid-write', async () => {
      const { dir, cleanup } = tempDir();
      cleanups.push(cleanup);
      const child = startTsChild('test/fixtures/crash-writer.ts', [dir, engine]);
      const lines = await waitForLines(child, (ls) => ls.filter((l) => l.startsWith('ack')).length >= 400);
      await kill9(child);
      const acked = lines.filter((l) => l.startsWith('ack'));
      const store = await open(dir);
      try {
        const docs = await store.collection<{ _id: string; n: number; touched?: boolean }>('crash', [
          { fields: { n: 1 }, unique: true },
        ]);
        for (const line of acked) {
          const [, id, touched] = line.split(' ');
          const doc = await docs.findOne({ _id: id! });
          expect(doc, `acknowledged ${id} must survive`).not.toBeNull();
          if (touched) expect(doc?.touched).toBe(true);
        }
        // At most the writes in flight (not yet acknowledged) may be missing or present.
        const total = await docs.count({});
        expect(total).toBeGreaterThanOrEqual(acked.length);
        expect(total).toBeLessThanOrEqual(acked.length + 2);
        // The store is fully usable after the crash, unique index included.
        const dup = await docs.insertOne({ _id: 'again', n: 0 }).catch((e: unknown) => e);
        expect(isArbiterError(dup, 'STORE_DUPLICATE_KEY')).toBe(true);
      } finally {
        await store.close();
      }
    });

    it('retries a job held by a killed worker after its lease expires', async () => {
      const { dir, cleanup } = tempDir();
      cleanups.push(cleanup);
      {
        const store = await open(dir);
        const queue = await createJobQueue(store);
        await queue.enqueue({ type: 'work', payload: { n: 1 }, idempotencyKey: 'crash-job' });
        await store.close();
      }
      const child = startTsChild('test/fixtures/crash-worker.ts', [dir, engine]);
      const lines = await waitForLines(child, (ls) => ls.some((l) => l.startsWith('running')));
      await kill9(child);
      const jobId = lines.find((l) => l.startsWith('running'))!.split(' ')[1]!;

      // nedb: the dead process's lock file is stale and a new process takes the folder over; SQLite has no such lock.
      const store = await open(dir);
      try {
        const queue = await createJobQueue(store);
        expect(await queue.get(jobId)).toMatchObject({
          status: 'running',
          leaseOwner: 'doomed',
          attempts: 1,
          progress: { done: 1 },
        });
        const ran: string[] = [];
        const worker = createWorker({
          queue,
          concurrency: 1,
          leaseMs: 1000,
          pollMs: 20,
          handlers: { work: { run: async (_p, ctx) => ran.push(ctx.job._id) } },
        });
        worker.start();
        const deadline = Date.now() + 10_000;
        while ((await queue.get(jobId))?.status !== 'succeeded' && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 20));
        await worker.stop(0);
        expect(ran).toEqual([jobId]);
        expect(await queue.get(jobId)).toMatchObject({ status: 'succeeded', attempts: 2 });
      } finally {
        await store.close();
      }
    });
  },
);

describe('crash safety specific to the nedb store', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  it('drops a torn last line left by a crash and keeps everything before it', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    {
      const store = await createNedbStore({ dir, autocompactMs: 0 });
      const c = await store.collection<{ _id: string; n: number }>('torn');
      await c.insertMany([
        { _id: 'a', n: 1 },
        { _id: 'b', n: 2 },
      ]);
      await store.close();
    }
    // A write cut off by kill -9: half a JSON line with no newline.
    appendFileSync(join(dir, 'torn.db'), '{"_id":"c","n":3,"bo');
    const store = await createNedbStore({ dir, autocompactMs: 0 });
    try {
      const c = await store.collection<{ _id: string; n: number }>('torn');
      expect((await c.find({}, { sort: { n: 1 } })).map((d) => d._id)).toEqual(['a', 'b']);
      await c.insertOne({ _id: 'c', n: 3 });
      expect(await c.count({})).toBe(3);
    } finally {
      await store.close();
    }
  });

  it('refuses a second live process on the same DATA_DIR with a clear error', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const child = startTsChild('test/fixtures/crash-worker.ts', [dir, 'nedb']);
    try {
      await waitForLines(child, (ls) => ls.includes('ready'));
      const err = await createNedbStore({ dir }).catch((e: unknown) => e);
      expect(isArbiterError(err, 'STORE_LOCKED')).toBe(true);
      expect((err as Error).message).toMatch(/in use by another Arbiter process \(pid \d+/);
      expect((err as { hint: string }).hint).toMatch(/MONGODB_URI/);
    } finally {
      await kill9(child);
    }
  });
});
