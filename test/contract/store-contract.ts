// The one contract every DocumentStore adapter must satisfy. Run by storage/store-contract.test.ts against
// the embedded store always, and against MongoDB whenever MONGODB_URI is set.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isArbiterError } from '../../config/index.ts';
import type { Collection, DocumentStore } from '../../storage/index.ts';

/** Creates a fresh, empty store for one test and disposes of it afterwards. */
export interface StoreFactory {
  create(): Promise<DocumentStore>;
  dispose(store: DocumentStore): Promise<void>;
}

interface Person {
  _id: string;
  name: string;
  age: number;
  team?: string;
  tags?: string[];
  profile?: { city: string; visits?: number };
  createdAt?: Date;
}

let seq = 0;
const uniqueName = (base: string) => `${base}_${process.pid}_${++seq}`;

/** Registers the contract tests for one adapter. */
export function runStoreContract(label: string, factory: StoreFactory): void {
  describe(`DocumentStore contract: ${label}`, () => {
    let store: DocumentStore;
    let people: Collection<Person>;

    beforeEach(async () => {
      store = await factory.create();
      people = await store.collection<Person>(uniqueName('people'), [
        { fields: { name: 1 }, unique: true },
        { fields: { team: 1, age: 1 } },
      ]);
    });
    afterEach(async () => {
      await factory.dispose(store);
    });

    const seed = async (n: number) => {
      const docs: Person[] = Array.from({ length: n }, (_, i) => ({
        _id: `p${String(i).padStart(3, '0')}`,
        name: `person-${i}`,
        age: 20 + (i % 10),
        team: i % 2 === 0 ? 'red' : 'blue',
        createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
      }));
      await people.insertMany(docs);
      return docs;
    };

    it('lists its collections by name, sorted, without internal tables or files', async () => {
      await seed(1);
      const other = uniqueName('aardvarks');
      await (await store.collection<Person>(other)).insertOne({ _id: 'x', name: 'x', age: 1 });
      await store.ping(); // The write probe's collection is listed too; planner statistics are not.
      const names = await store.collectionNames();
      expect(names).toEqual([...names].sort());
      expect(names).toEqual(expect.arrayContaining([people.name, other, 'health']));
      for (const n of names) expect(n).toMatch(/^[a-z][a-z0-9_-]*$/);
      expect(names.some((n) => n.startsWith('sqlite_') || n.startsWith('system.'))).toBe(false);
    });

    describe('insert and find', () => {
      it('round-trips a document with nested fields, arrays and dates', async () => {
        const doc: Person = {
          _id: 'a',
          name: 'Ada',
          age: 36,
          tags: ['x', 'y'],
          profile: { city: 'London' },
          createdAt: new Date('2026-03-01T10:00:00Z'),
        };
        await people.insertOne(doc);
        const found = await people.findOne({ _id: 'a' });
        expect(found).toEqual(doc);
        expect(found?.createdAt).toBeInstanceOf(Date);
      });

      it('returns null and empty arrays when nothing matches', async () => {
        expect(await people.findOne({ _id: 'missing' })).toBeNull();
        expect(await people.find({ name: 'nobody' })).toEqual([]);
        expect(await people.count({})).toBe(0);
      });

      it('supports comparison, $in, $nin, $ne, $exists, $or, $and and dot paths', async () => {
        await seed(20);
        await people.updateOne({ _id: 'p001' }, { $set: { profile: { city: 'Paris' } } });
        const ids = async (f: Parameters<typeof people.find>[0]) =>
          (await people.find(f, { sort: { _id: 1 } })).map((d) => d._id);
        expect(await ids({ age: { $gte: 28 } })).toEqual(['p008', 'p009', 'p018', 'p019']);
        expect(await ids({ age: { $gt: 27, $lt: 29 } })).toEqual(['p008', 'p018']);
        expect(await ids({ _id: { $in: ['p003', 'p005', 'zzz'] } })).toEqual(['p003', 'p005']);
        expect((await ids({ team: { $nin: ['red'] } })).length).toBe(10);
        expect((await ids({ team: { $ne: 'red' } })).length).toBe(10);
        expect(await ids({ profile: { $exists: true } })).toEqual(['p001']);
        expect(await ids({ 'profile.city': 'Paris' })).toEqual(['p001']);
        // Equality on an array field matches documents whose array contains the value (MongoDB semantics).
        await people.updateOne({ _id: 'p004' }, { $set: { tags: ['production', 'latest'] } });
        await people.updateOne({ _id: 'p006' }, { $set: { tags: ['staging'] } });
        expect(await ids({ tags: 'production' })).toEqual(['p004']);
        expect(await ids({ tags: { $in: ['staging', 'latest'] } })).toEqual(['p004', 'p006']);
        expect(await ids({ $or: [{ _id: 'p002' }, { age: 29, team: 'blue' }] })).toEqual([
          'p002',
          'p009',
          'p019',
        ]);
        expect(await ids({ $and: [{ team: 'red' }, { age: { $lte: 22 } }] })).toEqual([
          'p000',
          'p002',
          'p010',
          'p012',
        ]);
        expect(await ids({ createdAt: { $lt: new Date(Date.UTC(2026, 0, 1, 0, 0, 2)) } })).toEqual([
          'p000',
          'p001',
        ]);
      });

      it('sorts on one and several keys, skips and limits (paging visits each document once)', async () => {
        await seed(25);
        const byAgeDesc = await people.find({}, { sort: { age: -1, _id: 1 }, limit: 3 });
        expect(byAgeDesc.map((d) => d._id)).toEqual(['p009', 'p019', 'p008']);
        const seen: string[] = [];
        for (let page = 0; ; page++) {
          const batch = await people.find({}, { sort: { createdAt: 1 }, skip: page * 7, limit: 7 });
          if (batch.length === 0) break;
          seen.push(...batch.map((d) => d._id));
        }
        expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `p${String(i).padStart(3, '0')}`));
        expect(await people.count({ team: 'red' })).toBe(13);
      });
    });

    describe('updates and upserts', () => {
      it('applies $set (dot paths), $unset, $inc, $push, $max and $min', async () => {
        await people.insertOne({
          _id: 'u',
          name: 'U',
          age: 30,
          tags: ['a'],
          profile: { city: 'Oslo', visits: 1 },
        });
        const res = await people.updateOne(
          { _id: 'u' },
          {
            $set: { 'profile.city': 'Bergen' },
            $inc: { age: 2, 'profile.visits': 5 },
            $push: { tags: 'b' },
            $unset: { team: true },
          },
        );
        expect(res).toEqual({ matched: 1 });
        await people.updateOne({ _id: 'u' }, { $max: { age: 31 } });
        let doc = await people.findOne({ _id: 'u' });
        expect(doc).toMatchObject({ age: 32, tags: ['a', 'b'], profile: { city: 'Bergen', visits: 6 } });
        await people.updateOne({ _id: 'u' }, { $min: { age: 10 } });
        doc = await people.findOne({ _id: 'u' });
        expect(doc?.age).toBe(10);
      });

      it('updateOne on no match changes nothing; updateMany counts matches', async () => {
        await seed(6);
        expect(await people.updateOne({ _id: 'nope' }, { $set: { age: 1 } })).toEqual({ matched: 0 });
        expect(await people.updateMany({ team: 'red' }, { $set: { age: 99 } })).toEqual({ matched: 3 });
        expect(await people.count({ age: 99 })).toBe(3);
      });

      it('upsert inserts from the filter equality fields and $setOnInsert, then updates without it', async () => {
        const first = await people.updateOne(
          { name: 'Grace', team: 'navy' },
          { $set: { age: 40 }, $setOnInsert: { tags: ['new'] } },
          { upsert: true },
        );
        expect(first.matched).toBe(0);
        expect(typeof first.upsertedId).toBe('string');
        const second = await people.updateOne(
          { name: 'Grace', team: 'navy' },
          { $set: { age: 41 }, $setOnInsert: { tags: ['again'] } },
          { upsert: true },
        );
        expect(second).toEqual({ matched: 1 });
        const docs = await people.find({ name: 'Grace' });
        expect(docs).toHaveLength(1);
        expect(docs[0]).toMatchObject({
          _id: first.upsertedId,
          name: 'Grace',
          team: 'navy',
          age: 41,
          tags: ['new'],
        });
      });

      it('upsert with an _id in the filter uses that id', async () => {
        await people.updateOne({ _id: 'fixed' }, { $set: { name: 'F', age: 1 } }, { upsert: true });
        expect(await people.findOne({ _id: 'fixed' })).toEqual({ _id: 'fixed', name: 'F', age: 1 });
      });

      it('findOneAndUpdate returns the document after (or before) and respects sort', async () => {
        await seed(5);
        const after = await people.findOneAndUpdate(
          { team: 'red' },
          { $inc: { age: 100 } },
          { sort: { createdAt: -1 } },
        );
        expect(after).toMatchObject({ _id: 'p004', age: 124 });
        const before = await people.findOneAndUpdate(
          { _id: 'p000' },
          { $set: { age: 7 } },
          { returnDocument: 'before' },
        );
        expect(before).toMatchObject({ _id: 'p000', age: 20 });
        expect(await people.findOneAndUpdate({ _id: 'none' }, { $set: { age: 7 } })).toBeNull();
        const upserted = await people.findOneAndUpdate(
          { _id: 'up' },
          { $set: { name: 'Up', age: 3 } },
          { upsert: true },
        );
        expect(upserted).toEqual({ _id: 'up', name: 'Up', age: 3 });
      });

      it('deletes one and many', async () => {
        await seed(6);
        expect(await people.deleteOne({ team: 'blue' })).toBe(1);
        expect(await people.deleteMany({ team: 'blue' })).toBe(2);
        expect(await people.deleteMany({ team: 'blue' })).toBe(0);
        expect(await people.count({})).toBe(3);
      });
    });

    describe('unique keys', () => {
      it('rejects a duplicate _id and a duplicate unique field with a typed error', async () => {
        await people.insertOne({ _id: 'd1', name: 'dup', age: 1 });
        const dupId = await people.insertOne({ _id: 'd1', name: 'other', age: 1 }).catch((e: unknown) => e);
        expect(isArbiterError(dupId, 'STORE_DUPLICATE_KEY')).toBe(true);
        const dupName = await people.insertOne({ _id: 'd2', name: 'dup', age: 2 }).catch((e: unknown) => e);
        expect(isArbiterError(dupName, 'STORE_DUPLICATE_KEY')).toBe(true);
        expect(await people.count({})).toBe(1);
      });

      it('an update that would duplicate a unique field fails and leaves the document unchanged', async () => {
        await people.insertMany([
          { _id: 'x', name: 'x', age: 1 },
          { _id: 'y', name: 'y', age: 1 },
        ]);
        const err = await people.updateOne({ _id: 'y' }, { $set: { name: 'x' } }).catch((e: unknown) => e);
        expect(isArbiterError(err, 'STORE_DUPLICATE_KEY')).toBe(true);
        expect((await people.findOne({ _id: 'y' }))?.name).toBe('y');
      });

      it('insertMany is ordered: documents before the violation stay, the rest are not inserted', async () => {
        const err = await people
          .insertMany([
            { _id: 'm1', name: 'm1', age: 1 },
            { _id: 'm2', name: 'm1', age: 1 },
            { _id: 'm3', name: 'm3', age: 1 },
          ])
          .catch((e: unknown) => e);
        expect(isArbiterError(err, 'STORE_DUPLICATE_KEY')).toBe(true);
        expect((await people.find({}, { sort: { _id: 1 } })).map((d) => d._id)).toEqual(['m1']);
      });

      it('a sparse unique index ignores documents without the key', async () => {
        const keyed = await store.collection<{ _id: string; key?: string }>(uniqueName('keyed'), [
          { fields: { key: 1 }, unique: true, sparse: true },
        ]);
        await keyed.insertMany([{ _id: '1' }, { _id: '2' }, { _id: '3', key: 'k' }]);
        const err = await keyed.insertOne({ _id: '4', key: 'k' }).catch((e: unknown) => e);
        expect(isArbiterError(err, 'STORE_DUPLICATE_KEY')).toBe(true);
        expect(await keyed.count({})).toBe(3);
      });

      it('range queries on a sparse index find exactly the documents that have the field', async () => {
        const timed = await store.collection<{ _id: string; at?: number }>(uniqueName('timed'), [
          { fields: { at: 1 }, sparse: true },
        ]);
        await timed.insertMany([{ _id: 'early', at: 100 }, { _id: 'late', at: 900 }, { _id: 'none' }]);
        expect((await timed.find({ at: { $lte: 500 } })).map((d) => d._id)).toEqual(['early']);
        expect((await timed.find({ at: { $gt: 0 } }, { sort: { at: -1 } })).map((d) => d._id)).toEqual([
          'late',
          'early',
        ]);
        await timed.updateOne({ _id: 'none' }, { $set: { at: 50 } });
        await timed.updateOne({ _id: 'late' }, { $unset: { at: true } });
        expect((await timed.find({ at: { $lte: 1000 } }, { sort: { at: 1 } })).map((d) => d._id)).toEqual([
          'none',
          'early',
        ]);
      });

      it('findOne and findOneAndUpdate by a range on an indexed field return the first match in sort order', async () => {
        const q = await store.collection<{ _id: string; at?: number; kind: string }>(uniqueName('queue'), [
          { fields: { at: 1 }, sparse: true },
        ]);
        await q.insertMany([
          { _id: 'a', at: 30, kind: 'x' },
          { _id: 'b', at: 10, kind: 'y' },
          { _id: 'c', at: 20, kind: 'x' },
          { _id: 'd', at: 99, kind: 'x' },
          { _id: 'e', kind: 'x' },
        ]);
        expect((await q.findOne({ at: { $lte: 50 } }, { sort: { at: 1 } }))?._id).toBe('b');
        expect((await q.findOne({ at: { $lte: 50 } }, { sort: { at: -1 } }))?._id).toBe('a');
        expect((await q.findOne({ at: { $lte: 50 }, kind: 'x' }, { sort: { at: 1 } }))?._id).toBe('c');
        expect(await q.findOne({ at: { $lte: 5 } }, { sort: { at: 1 } })).toBeNull();
        const taken = await q.findOneAndUpdate(
          { at: { $gte: 15 }, kind: { $in: ['x'] } },
          { $unset: { at: true } },
          { sort: { at: 1 } },
        );
        expect(taken).toMatchObject({ _id: 'c', kind: 'x' });
        expect(taken?.at).toBeUndefined();
        expect((await q.findOne({ at: { $gte: 15 } }, { sort: { at: 1 } }))?._id).toBe('a');
        // The returned document is a copy: changing it changes nothing stored.
        const copy = await q.findOne({ at: { $gt: 0 } }, { sort: { at: 1 } });
        copy!.kind = 'mutated';
        expect((await q.findOne({ _id: copy!._id }))?.kind).toBe('y');
      });

      it('the first match by an indexed range agrees with a full sort, over many keys, ties and filters', async () => {
        const q = await store.collection<{ _id: string; at?: number; kind: string }>(uniqueName('claims'), [
          { fields: { at: 1 }, sparse: true },
        ]);
        // Deterministic pseudo-random keys with many ties; every third document of kind y, some without a key.
        const docs = Array.from({ length: 600 }, (_, i) => ({
          _id: `d${String(i).padStart(4, '0')}`,
          ...(i % 17 === 0 ? {} : { at: (i * 7919) % 97 }),
          kind: i % 3 === 0 ? 'y' : 'x',
        }));
        await q.insertMany(docs);
        const expected = (lo: number, hi: number, kind: string | undefined, dir: 1 | -1) => {
          const keys = docs
            .filter((d) => d.at !== undefined && d.at >= lo && d.at <= hi && (!kind || d.kind === kind))
            .map((d) => d.at!);
          if (keys.length === 0) return undefined;
          return dir === 1 ? Math.min(...keys) : Math.max(...keys);
        };
        for (const [lo, hi] of [
          [0, 96],
          [10, 20],
          [50, 50],
          [95, 200],
          [-5, -1],
        ] as const)
          for (const kind of [undefined, 'y'])
            for (const dir of [1, -1] as const) {
              const got = await q.findOne(
                { at: { $gte: lo, $lte: hi }, ...(kind ? { kind } : {}) },
                { sort: { at: dir } },
              );
              expect(got?.at, `range [${lo}, ${hi}] kind ${kind} sort ${dir}`).toBe(
                expected(lo, hi, kind, dir),
              );
              if (got && kind) expect(got.kind).toBe(kind);
            }
      });

      it('a compound unique index allows repeats of one field but not of the pair', async () => {
        const pairs = await store.collection<{ _id: string; a: string; b: string }>(uniqueName('pairs'), [
          { fields: { a: 1, b: 1 }, unique: true },
        ]);
        await pairs.insertMany([
          { _id: '1', a: 'x', b: '1' },
          { _id: '2', a: 'x', b: '2' },
          { _id: '3', a: 'y', b: '1' },
        ]);
        const err = await pairs.insertOne({ _id: '4', a: 'x', b: '2' }).catch((e: unknown) => e);
        expect(isArbiterError(err, 'STORE_DUPLICATE_KEY')).toBe(true);
      });
    });

    describe('concurrency', () => {
      it('concurrent findOneAndUpdate claims hand each document to exactly one caller', async () => {
        const tasks = await store.collection<{ _id: string; state: string; owner?: string; n: number }>(
          uniqueName('tasks'),
        );
        await tasks.insertMany(Array.from({ length: 30 }, (_, i) => ({ _id: `t${i}`, state: 'free', n: i })));
        const claims = await Promise.all(
          Array.from({ length: 60 }, (_, w) =>
            tasks.findOneAndUpdate(
              { state: 'free' },
              { $set: { state: 'taken', owner: `w${w}` } },
              { sort: { n: 1 } },
            ),
          ),
        );
        const won = claims.filter((c) => c !== null);
        expect(won).toHaveLength(30);
        expect(new Set(won.map((c) => c!._id)).size).toBe(30);
        for (const c of won) expect((await tasks.findOne({ _id: c!._id }))?.owner).toBe(c!.owner);
      });

      it('concurrent $inc loses no increment', async () => {
        await people.insertOne({ _id: 'ctr', name: 'ctr', age: 0 });
        await Promise.all(
          Array.from({ length: 100 }, () => people.updateOne({ _id: 'ctr' }, { $inc: { age: 1 } })),
        );
        expect((await people.findOne({ _id: 'ctr' }))?.age).toBe(100);
      });

      it('concurrent upserts of one key create exactly one document', async () => {
        await Promise.all(
          Array.from({ length: 25 }, (_, i) =>
            people.updateOne(
              { name: 'same' },
              { $set: { age: i }, $setOnInsert: { team: 'first' } },
              { upsert: true },
            ),
          ),
        );
        expect(await people.count({ name: 'same' })).toBe(1);
      });

      it('concurrent inserts of one unique key: exactly one succeeds', async () => {
        const results = await Promise.allSettled(
          Array.from({ length: 20 }, (_, i) => people.insertOne({ _id: `c${i}`, name: 'contended', age: i })),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        for (const r of results)
          if (r.status === 'rejected') expect(isArbiterError(r.reason, 'STORE_DUPLICATE_KEY')).toBe(true);
      });
    });

    it('ping reports a healthy store', async () => {
      const health = await store.ping();
      expect(health.ok).toBe(true);
      expect(health.error).toBeUndefined();
      expect(health.latencyMs).toBeGreaterThanOrEqual(0);
    });

    it('ping reports a closed store as unhealthy, with the reason', async () => {
      const other = await factory.create();
      await other.close();
      const health = await other.ping();
      expect(health.ok).toBe(false);
      expect(health.error).toMatch(/closed/);
      await factory.dispose(other);
    });
  });
}
