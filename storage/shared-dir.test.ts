import { afterEach, describe, expect, it } from 'vitest';
import { kill9, startTsChild, waitForLines } from '../test/helpers/child.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { isArbiterError } from '../config/index.ts';
import { createJobQueue, createSqliteStore } from './index.ts';
import { createNedbStore } from './embedded.ts';

describe('several processes on one SQLite DATA_DIR', () => {
  const cleanups: (() => void | Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('two processes run every job exactly once and win every tick exactly once, while a third reads', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const jobs = 400;
    const ticks = 100;
    const store = await createSqliteStore({ dir });
    cleanups.push(() => store.close());
    const queue = await createJobQueue(store);
    for (let i = 0; i < jobs; i++)
      await queue.enqueue({ type: 'work', payload: { i }, idempotencyKey: `w${i}` });

    const children = ['a', 'b'].map((name) =>
      startTsChild('test/fixtures/shared-dir-worker.ts', [dir, name, `${ticks}`]),
    );
    for (const child of children) cleanups.push(() => kill9(child));
    const outputs = children.map((child) => waitForLines(child, (ls) => ls.includes('done'), 120_000));
    // This process stays open on the same folder meanwhile (the CLI beside the bot) and keeps enqueueing.
    for (let i = jobs; i < jobs + 50; i++) await queue.enqueue({ type: 'work', payload: { i } });
    await (await store.collection<{ _id: string }>('control')).insertOne({ _id: 'enqueued' });
    const [a, b] = await Promise.all(outputs);

    const runs = [...a!, ...b!].filter((l) => l.startsWith('ran ')).map((l) => l.slice(4));
    expect(runs).toHaveLength(jobs + 50);
    expect(new Set(runs).size).toBe(jobs + 50);
    // Both processes took part (claims interleave across processes, not one process after the other).
    expect(a!.filter((l) => l.startsWith('ran ')).length).toBeGreaterThan(0);
    expect(b!.filter((l) => l.startsWith('ran ')).length).toBeGreaterThan(0);
    const all = await queue.list({ limit: 1000 });
    expect(all).toHaveLength(jobs + 50);
    expect(all.every((j) => j.status === 'succeeded' && j.attempts === 1)).toBe(true);
    const ran = await store.collection<{ _id: string }>('ran');
    expect(await ran.count({})).toBe(jobs + 50);

    const won = [...a!, ...b!].filter((l) => l.startsWith('tick ')).map((l) => Number(l.slice(5)));
    expect(won.sort((x, y) => x - y)).toEqual(Array.from({ length: ticks }, (_, t) => t));
  }, 180_000);

  it('the two engines never share a folder: SQLite refuses a live nedb process, nedb refuses a SQLite folder', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const child = startTsChild('test/fixtures/crash-worker.ts', [dir, 'nedb']);
    cleanups.push(() => kill9(child));
    await waitForLines(child, (ls) => ls.includes('ready'));
    const err = await createSqliteStore({ dir }).catch((e: unknown) => e);
    expect(isArbiterError(err, 'STORE_LOCKED')).toBe(true);
    expect((err as Error).message).toMatch(/in use by an Arbiter process on the nedb store \(pid \d+/);
    expect((err as { hint: string }).hint).toMatch(/EMBEDDED_STORE=nedb/);

    const other = tempDir();
    cleanups.push(other.cleanup);
    await (await createSqliteStore({ dir: other.dir })).close();
    const refused = await createNedbStore({ dir: other.dir }).catch((e: unknown) => e);
    expect(isArbiterError(refused, 'STORE_UNAVAILABLE')).toBe(true);
    expect((refused as Error).message).toMatch(/holds a SQLite store/);
  });
});
