import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, isArbiterError } from '../config/index.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { createNedbStore } from './embedded.ts';

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

  it('a garbled record in the middle of a file is skipped, counted and named in a warning, and the file kept beside', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const lines = Array.from({ length: 20 }, (_, i) => JSON.stringify({ _id: `d${i}`, n: i }));
    lines.splice(10, 0, '{"_id":"d10","n":10,"garbl');
    const original = `${lines.join('\n')}\n`;
    writeFileSync(join(dir, 'notes.db'), original);
    const logged: string[] = [];
    const logger = createLogger(
      { LOG_LEVEL: 'info', LOG_FORMAT: 'json' },
      { write: (line: string) => logged.push(line) },
    );
    const store = await createNedbStore({ dir, autocompactMs: 0, logger });
    try {
      const notes = await store.collection<{ _id: string; n: number }>('notes');
      expect(await notes.count({})).toBe(20);
      const evidence = readdirSync(dir).filter((f) => f.startsWith('notes.db.corrupt-'));
      expect(evidence).toHaveLength(1);
      expect(readFileSync(join(dir, evidence[0]!), 'utf8')).toBe(original);
      const warning = logged.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.skipped);
      expect(warning).toMatchObject({
        level: 40,
        collection: 'notes',
        skipped: 1,
        file: join(dir, 'notes.db'),
        evidence: join(dir, evidence[0]!),
      });
    } finally {
      await store.close();
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

  it('a process whose lock file was removed or taken by another stops writing and says why', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const store = await createNedbStore({ dir, autocompactMs: 0 });
    try {
      const c = await store.collection<{ _id: string }>('things');
      await c.insertOne({ _id: 'before' });
      // Someone deletes the lock; a second process takes the folder (its own lock file).
      rmSync(join(dir, 'arbiter.lock'));
      const err1 = await c.insertOne({ _id: 'unlocked' }).catch((e: unknown) => e);
      expect(isArbiterError(err1, 'STORE_UNAVAILABLE')).toBe(true);
      expect((err1 as Error).message).toMatch(/arbiter\.lock was removed; this process no longer writes/);
      writeFileSync(
        join(dir, 'arbiter.lock'),
        JSON.stringify({ pid: 4242, host: 'other', startedAt: 'now' }),
      );
      const err2 = await c.insertOne({ _id: 'taken' }).catch((e: unknown) => e);
      expect((err2 as Error).message).toMatch(
        /arbiter\.lock was taken by another process \(pid 4242 on other\)/,
      );
      expect(await c.findOne({ _id: 'taken' })).toBeNull();
      const health = await store.ping();
      expect(health).toMatchObject({ ok: false, error: expect.stringMatching(/taken by another process/) });
      expect(readFileSync(join(dir, 'things.db'), 'utf8')).not.toContain('taken');
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
