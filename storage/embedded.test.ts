import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isArbiterError } from '../config/index.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { createEmbeddedStore } from './index.ts';

describe('embedded store specifics', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  it('refuses a Date in a sparse-indexed field instead of silently dropping it from queries', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const store = await createEmbeddedStore({ dir, autocompactMs: 0 });
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
    const store = await createEmbeddedStore({ dir, autocompactMs: 0 });
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
    const store = await createEmbeddedStore({ dir, autocompactMs: 0 });
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
    const again = await createEmbeddedStore({ dir, autocompactMs: 0 });
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
});
