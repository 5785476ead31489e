import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { isArbiterError } from '../config/index.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { createJobQueue, type DocumentStore } from './index.ts';
import { createSqliteStore, SQLITE_FILE } from './sqlite.ts';

const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;

describe('SQLite store specifics', () => {
  const cleanups: (() => void | Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const open = async (dir?: string): Promise<{ store: DocumentStore; dir: string }> => {
    let d = dir;
    if (!d) {
      const t = tempDir();
      cleanups.push(t.cleanup);
      d = t.dir;
    }
    const store = await createSqliteStore({ dir: d });
    cleanups.push(() => store.close());
    return { store, dir: d };
  };

  it('round-trips strings that look like its Date encoding, and compares values by type as MongoDB does', async () => {
    const { store } = await open();
    const c = await store.collection<{ _id: string; v: unknown; flag?: boolean }>('typed', [
      { fields: { v: 1 } },
    ]);
    const tricky = '\u0001D2026-01-01T00:00:00.000Z';
    await c.insertMany([
      { _id: 'str', v: tricky },
      { _id: 'date', v: new Date('2026-01-01T00:00:00.000Z') },
      { _id: 'one', v: 1 },
      { _id: 'true', v: true },
      { _id: 'text', v: 'abc' },
    ]);
    expect((await c.findOne({ _id: 'str' }))?.v).toBe(tricky);
    expect((await c.findOne({ _id: 'date' }))?.v).toEqual(new Date('2026-01-01T00:00:00.000Z'));
    expect((await c.find({ v: tricky })).map((d) => d._id)).toEqual(['str']);
    expect((await c.find({ v: true })).map((d) => d._id)).toEqual(['true']);
    expect((await c.find({ v: 1 })).map((d) => d._id)).toEqual(['one']);
    const ids = async (f: Parameters<typeof c.find>[0]) =>
      (await c.find(f, { sort: { _id: 1 } })).map((d) => d._id);
    // A number bound matches numbers only, a string bound strings only, a Date bound Dates only.
    expect(await ids({ v: { $gte: 0 } })).toEqual(['one']);
    expect(await ids({ v: { $gte: '' } })).toEqual(['text']);
    expect(await ids({ v: { $lte: new Date('2027-01-01') } })).toEqual(['date']);
  });

  it('matches array elements on an indexed field (multikey) and keeps scalar lookups on the index', async () => {
    const { store, dir } = await open();
    const c = await store.collection<{ _id: string; key?: string; tags?: string[] }>('multi', [
      { fields: { tags: 1 } },
      { fields: { key: 1 }, unique: true, sparse: true },
    ]);
    await c.insertMany([
      { _id: 'a', tags: ['x', 'y'], key: 'ka' },
      { _id: 'b', tags: ['y'] },
    ]);
    expect((await c.find({ tags: 'y' }, { sort: { _id: 1 } })).map((d) => d._id)).toEqual(['a', 'b']);
    expect((await c.find({ tags: { $in: ['x', 'z'] } })).map((d) => d._id)).toEqual(['a']);
    await c.findOneAndUpdate({ tags: 'x' }, { $push: { tags: 'z' } });
    expect((await c.findOne({ tags: 'z' }))?._id).toBe('a');
    // The unique lookup and the job claim use their indexes (a search, not a scan of the table).
    const queue = await createJobQueue(store);
    await queue.enqueue({ type: 't', idempotencyKey: 'k1' });
    const db = new Database(join(dir, SQLITE_FILE), { readonly: true });
    try {
      const plan = (sql: string, ...params: unknown[]) =>
        (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[])
          .map((r) => r.detail)
          .join('; ');
      expect(plan(`SELECT doc FROM "multi" WHERE json_extract(doc, '$."key"') = ?`, 'ka')).toMatch(
        /SEARCH multi USING INDEX multi__key_1__u__s/,
      );
      expect(
        plan(
          `SELECT rowid, doc FROM "jobs" WHERE json_extract(doc, '$."claimableAt"') <= ? ORDER BY json_extract(doc, '$."claimableAt"') ASC LIMIT 1`,
          Date.now(),
        ),
      ).toMatch(/SEARCH jobs USING INDEX jobs__claimableAt_1__s/);
    } finally {
      db.close();
    }
  });

  it('a corrupt database file is reported with the file name and how to recover', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    writeFileSync(
      join(dir, SQLITE_FILE),
      'this is not a SQLite database, just text that a crash or a copy left here',
    );
    const err = await createSqliteStore({ dir }).catch((e: unknown) => e);
    expect(isArbiterError(err, 'STORE_UNAVAILABLE')).toBe(true);
    expect((err as Error).message).toContain(join(dir, SQLITE_FILE));
    expect((err as Error).message).toMatch(/corrupt/);
    expect((err as { hint: string }).hint).toMatch(/\.recover/);
    expect((err as { hint: string }).hint).toMatch(/backup/);
    expect((err as { exitCode: number }).exitCode).toBe(3);
  });

  it('a removed database file fails the next write and ping says so', async () => {
    const { store, dir } = await open();
    const c = await store.collection<{ _id: string }>('things');
    await c.insertOne({ _id: 'kept' });
    expect((await store.ping()).ok).toBe(true);
    rmSync(join(dir, SQLITE_FILE));
    const err = await c.insertOne({ _id: 'lost' }).catch((e: unknown) => e);
    expect(isArbiterError(err, 'STORE_UNAVAILABLE')).toBe(true);
    expect((err as Error).message).toContain(`${SQLITE_FILE} was removed`);
    const health = await store.ping();
    expect(health.ok).toBe(false);
    expect(health.error).toContain(`${SQLITE_FILE} was removed`);
  });

  it('a row that is not a document (written outside Arbiter) is reported when read, not handed on', async () => {
    const { store, dir } = await open();
    const c = await store.collection<{ _id: string; n: number }>('rows');
    await c.insertOne({ _id: 'ok', n: 1 });
    const db = new Database(join(dir, SQLITE_FILE));
    db.prepare(`INSERT INTO "rows" (id, doc) VALUES ('bad', json('[1,2]'))`).run();
    db.close();
    expect(await c.findOne({ _id: 'ok' })).toEqual({ _id: 'ok', n: 1 });
    const err = await c.find({}).catch((e: unknown) => e);
    expect(isArbiterError(err, 'STORE_INVALID_DOCUMENT')).toBe(true);
    expect((err as Error).message).toMatch(/not an object with a string _id: \[1,2\]/);
  });

  it('refuses keys with a dot or a leading $, with a hint', async () => {
    const { store } = await open();
    const c = await store.collection<{ _id: string; meta: Record<string, unknown> }>('meta');
    const err = await c.insertOne({ _id: 'a', meta: { 'ls.model': 'x' } }).catch((e: unknown) => e);
    expect(isArbiterError(err, 'STORE_INVALID_DOCUMENT')).toBe(true);
    expect((err as { hint: string }).hint).toMatch(/as a string/);
    expect(await c.count({})).toBe(0);
  });

  // A real full disk and a real read-only remount need a small filesystem of our own: tmpfs, which needs root.
  const canMount = (() => {
    if (process.getuid?.() !== 0) return false;
    const { dir, cleanup } = tempDir();
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'ignore' });
      execFileSync('umount', [dir], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    } finally {
      cleanup();
    }
  })();

  it.skipIf(!canMount)(
    'a full disk and a read-only remount fail the write clearly and lose nothing acknowledged',
    async () => {
      const { dir: root, cleanup } = tempDir();
      const mnt = join(root, 'mnt');
      mkdirSync(mnt);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt]);
      cleanups.push(() => {
        execFileSync('umount', [mnt]);
        cleanup();
      });
      let store = await createSqliteStore({ dir: mnt });
      cleanups.push(() => store.close());
      let c = await store.collection<{ _id: string; body: string }>('fill');
      const acked: string[] = [];
      let full: unknown;
      for (let i = 0; i < 10_000; i++) {
        try {
          await c.insertOne({ _id: `d${i}`, body: `${i}`.padEnd(2000, 'x') });
          acked.push(`d${i}`);
        } catch (err) {
          full = err;
          break;
        }
      }
      expect(isArbiterError(full, 'STORE_UNAVAILABLE')).toBe(true);
      expect((full as Error).message).toMatch(/disk is full/);
      expect((full as Error).message).toContain(SQLITE_FILE);
      expect((await store.ping()).ok).toBe(false);
      await store.close();
      execFileSync('mount', ['-o', 'remount,size=8m', mnt]);
      store = await createSqliteStore({ dir: mnt });
      c = await store.collection<{ _id: string; body: string }>('fill');
      expect(await c.count({})).toBe(acked.length);
      await c.insertOne({ _id: 'after-full', body: 'ok' });
      await store.close();
      // A read-only DATA_DIR: opening fails with the file and the reason (no write can be accepted); nothing is lost.
      execFileSync('mount', ['-o', 'remount,ro', mnt]);
      const ro = await createSqliteStore({ dir: mnt }).catch((e: unknown) => e);
      expect(isArbiterError(ro, 'STORE_UNAVAILABLE')).toBe(true);
      expect((ro as Error).message).toContain(SQLITE_FILE);
      expect((ro as { hint: string }).hint).toMatch(/writable/);
      execFileSync('mount', ['-o', 'remount,rw', mnt]);
      store = await createSqliteStore({ dir: mnt });
      c = await store.collection<{ _id: string; body: string }>('fill');
      expect(await c.count({})).toBe(acked.length + 1);
    },
    60_000,
  );
});
