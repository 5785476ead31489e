import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isArbiterError } from '../config/index.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { createNedbStore } from './index.ts';

describe('embedded store specifics', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  it('refuses a Date in a sparse-indexed field instead of silently dropping it from queries', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const store = await createNedbStore({ dir, autocompactMs: 0 });
    try {
      const c = await store.collection<{ _id: string; at?: Date | number }>('sparse', [
        { fields: { at: 1 }, sparse: true },
      ]);
      const inserted = await c.insertOne({ _id: 'a', at: new Date() }).catch((e: unknown) => e);
      expect(isArbiterError(inserted, 'STORE_INVALID_DOCUMENT')).toBe(true);
      await c.insertOne({ _id: 'b', at: 5 });
      const updated = await c.updateOne({ _id: 'b' }, { $set: { at: new Date() } }).catch((e: unknown) => e);
      expect(isArbiterError(updated, 'STORE_INVALID_DOCUMENT')).toBe(true);
      expect((await c.findOne({ _id: 'b' }))?.at).toBe(5);
    } finally {
      await store.close();
    }
  });

  it('refuses keys that contain a dot or start with $, with a hint', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const store = await createNedbStore({ dir, autocompactMs: 0 });
    try {
      const c = await store.collection<{ _id: string; meta: Record<string, unknown> }>('meta');
      const err = await c.insertOne({ _id: 'a', meta: { 'ls.model': 'x' } }).catch((e: unknown) => e);
      expect(isArbiterError(err, 'STORE_INVALID_DOCUMENT')).toBe(true);
      expect((err as { hint: string }).hint).toMatch(/as a string/);
    } finally {
      await store.close();
    }
  });

  it('writes made after a compaction (which replaces the data file) are in the file, before and after close', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const store = await createNedbStore({ dir, autocompactMs: 0 });
    const c = await store.collection<{ _id: string; n: number }>('appends');
    await c.insertOne({ _id: 'before', n: 1 });
    // A compaction, as the periodic one does: nedb writes a fresh copy and renames it over the file.
    const nedb = (c as unknown as { db: { compactDatafileAsync(): Promise<void> } }).db;
    await nedb.compactDatafileAsync();
    await c.insertOne({ _id: 'after', n: 2 });
    await c.updateOne({ _id: 'before' }, { $set: { n: 3 } });
    // What a crash would leave: the file as written so far, read by another store (the lock is ours, so read raw).
    const lines = readFileSync(join(dir, 'appends.db'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.filter((l) => l._id === 'after')).toEqual([{ _id: 'after', n: 2 }]);
    expect(lines.filter((l) => l._id === 'before').at(-1)).toEqual({ _id: 'before', n: 3 });
    await store.close();
    const again = await createNedbStore({ dir, autocompactMs: 0 });
    try {
      const c2 = await again.collection<{ _id: string; n: number }>('appends');
      expect(await c2.find({}, { sort: { _id: 1 } })).toEqual([
        { _id: 'after', n: 2 },
        { _id: 'before', n: 3 },
      ]);
    } finally {
      await again.close();
    }
  });

  it("a data file that cannot be loaded fails with the file name and nedb's reason; close() still returns", async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    writeFileSync(join(dir, 'jobs.db'), 'not json\nnot json either\n');
    const store = await createNedbStore({ dir, autocompactMs: 0 });
    const err = await store.collection('jobs').catch((e: unknown) => e);
    expect(isArbiterError(err, 'STORE_UNAVAILABLE')).toBe(true);
    expect((err as Error).message).toContain(join(dir, 'jobs.db'));
    expect((err as Error).message).toMatch(/corrupt/);
    expect((err as { hint: string }).hint).toMatch(/Move .*jobs\.db aside/);
    expect((err as { exitCode: number }).exitCode).toBe(3);
    // Before: close() queued a compaction behind the load that never came, and the process exited 13 silently.
    await expect(
      Promise.race([
        store.close().then(() => 'closed'),
        new Promise((r) => setTimeout(() => r('hung'), 3000)),
      ]),
    ).resolves.toBe('closed');
  });

  it('a removed data file fails the next write (not silently appended to the deleted file) and ping says so', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const store = await createNedbStore({ dir, autocompactMs: 0 });
    try {
      const c = await store.collection<{ _id: string; n: number }>('things');
      await c.insertOne({ _id: 'kept', n: 1 });
      expect((await store.ping()).ok).toBe(true);
      rmSync(join(dir, 'things.db'));
      const err = await c.insertOne({ _id: 'lost', n: 2 }).catch((e: unknown) => e);
      expect(isArbiterError(err, 'STORE_UNAVAILABLE')).toBe(true);
      expect((err as Error).message).toContain('things.db was removed');
      // What the caller was told failed is not there to be found (or claimed) either.
      expect(await c.findOne({ _id: 'lost' })).toBeNull();
      const health = await store.ping();
      expect(health.ok).toBe(false);
      expect(health.error).toContain('things.db was removed');
    } finally {
      await store.close();
    }
  });

  it('a data folder removed as a whole makes ping fail with the reason', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const store = await createNedbStore({ dir, autocompactMs: 0 });
    try {
      expect((await store.ping()).ok).toBe(true);
      rmSync(dir, { recursive: true, force: true });
      const health = await store.ping();
      expect(health.ok).toBe(false);
      expect(health.error).toMatch(/lock lost|removed|write probe failed/);
    } finally {
      await store.close();
    }
  });
});
