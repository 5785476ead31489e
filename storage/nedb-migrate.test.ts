import { appendFileSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isArbiterError } from '../config/index.ts';
import { startTsChild, waitForLines } from '../test/helpers/child.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { createJobQueue, createSqliteStore } from './index.ts';
import { createNedbStore } from './embedded.ts';

interface Person {
  _id: string;
  name: string;
  n: number;
  at: Date;
  nested?: { when: Date; tags: string[] };
  gone?: boolean;
}

describe('migrating a nedb DATA_DIR to SQLite', () => {
  const cleanups: (() => void | Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('moves every document once, with updates, deletes, Dates and indexes, and keeps the nedb files as a backup', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const expected: Person[] = [];
    {
      const nedb = await createNedbStore({ dir, autocompactMs: 0 });
      const people = await nedb.collection<Person>('people', [{ fields: { name: 1 }, unique: true }]);
      for (let i = 0; i < 300; i++) {
        const doc: Person = {
          _id: `p${i}`,
          name: `name-${i}`,
          n: i,
          at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
          ...(i % 7 === 0
            ? { nested: { when: new Date(Date.UTC(2025, 5, i % 28)), tags: ['a', `t${i}`] } }
            : {}),
        };
        await people.insertOne(doc);
        expected.push(doc);
      }
      // Superseded lines and deletions in the file: the migration must apply them as nedb does.
      for (let i = 0; i < 300; i += 3) {
        await people.updateOne({ _id: `p${i}` }, { $inc: { n: 1000 } });
        expected[i]!.n += 1000;
      }
      for (let i = 1; i < 300; i += 10) await people.deleteOne({ _id: `p${i}` });
      const queue = await createJobQueue(nedb);
      await queue.enqueue({ type: 'work', payload: { k: 1 }, idempotencyKey: 'queued-before' });
      await nedb.close(); // Compacts: the file then holds one line per document.
      const again = await createNedbStore({ dir, autocompactMs: 0 });
      const p2 = await again.collection<Person>('people');
      await p2.updateOne({ _id: 'p2' }, { $set: { name: 'renamed' } }); // An appended, superseding line.
      expected[2]!.name = 'renamed';
      await again.close();
    }
    // A write cut off by a crash at the end of a file (never acknowledged).
    appendFileSync(join(dir, 'people.db'), '{"_id":"torn","name":"to');
    const survivors = expected.filter((_, i) => i % 10 !== 1);

    const store = await createSqliteStore({ dir });
    cleanups.push(() => store.close());
    const people = await store.collection<Person>('people', [{ fields: { name: 1 }, unique: true }]);
    const got = await people.find({}, { sort: { n: 1 } });
    expect(got).toEqual([...survivors].sort((a, b) => a.n - b.n));
    expect(got.find((d) => d.nested)?.nested?.when).toBeInstanceOf(Date);
    // The unique index holds on migrated data, and queries on Dates work.
    const dup = await people.insertOne({ ...expected[0]!, _id: 'dup' }).catch((e: unknown) => e);
    expect(isArbiterError(dup, 'STORE_DUPLICATE_KEY')).toBe(true);
    expect(await people.count({ at: { $lt: new Date(Date.UTC(2026, 0, 1, 0, 0, 10)) } })).toBe(9);
    // A job queued under nedb runs under SQLite, idempotency key included.
    const queue = await createJobQueue(store);
    expect((await queue.enqueue({ type: 'work', idempotencyKey: 'queued-before' })).created).toBe(false);
    expect((await queue.claim('w', 1000))?.payload).toEqual({ k: 1 });
    // The nedb files are moved into the backup folder, untouched.
    expect(readdirSync(dir).filter((f) => f.endsWith('.db'))).toEqual([]);
    expect(readdirSync(join(dir, 'nedb-backup')).sort()).toEqual(['jobs.db', 'people.db']);
    await store.close();

    // Opening again imports nothing twice.
    const reopened = await createSqliteStore({ dir });
    cleanups.push(() => reopened.close());
    expect(await (await reopened.collection<Person>('people')).count({})).toBe(survivors.length);
  });

  it('two processes starting at once on a nedb folder migrate it exactly once', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const nedb = await createNedbStore({ dir, autocompactMs: 0 });
    const c = await nedb.collection<{ _id: string; i: number }>('items');
    await c.insertMany(Array.from({ length: 2000 }, (_, i) => ({ _id: `i${i}`, i })));
    await nedb.close();
    const children = [0, 1].map(() => startTsChild('test/fixtures/sqlite-count.ts', [dir, 'items']));
    const outs = await Promise.all(
      children.map((ch) => waitForLines(ch, (ls) => ls.some((l) => l.startsWith('count')))),
    );
    expect(outs.map((ls) => ls.find((l) => l.startsWith('count')))).toEqual(['count 2000', 'count 2000']);
    expect(existsSync(join(dir, 'items.db'))).toBe(false);
  });

  it('a nedb file too damaged to read is named, and nothing is migrated', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    writeFileSync(join(dir, 'jobs.db'), 'garbage\nmore garbage\n{"_id":"a","x":1}\n');
    const err = await createSqliteStore({ dir }).catch((e: unknown) => e);
    expect(isArbiterError(err, 'STORE_UNAVAILABLE')).toBe(true);
    expect((err as Error).message).toContain(join(dir, 'jobs.db'));
    expect((err as Error).message).toMatch(/2 of 3 lines are unreadable/);
    expect(existsSync(join(dir, 'jobs.db'))).toBe(true);
  });
});
