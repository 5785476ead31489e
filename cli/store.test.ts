import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../storage/index.ts';
import { createNedbStore } from '../storage/embedded.ts';
import { SQLITE_FILE } from '../storage/sqlite.ts';
import { kill9, startTsChild, waitForLines } from '../test/helpers/child.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { runCli } from './run-cli.ts';
import { captureCliIo } from '../test/helpers/cli-io.ts';

async function run(argv: string[], environment: Record<string, string>) {
  const io = captureCliIo();
  const code = await runCli(argv, environment, io);
  return { code, out: io.out, err: io.err };
}

/** A nedb DATA_DIR with two collections, written by the nedb store itself. */
async function nedbFolder(dir: string): Promise<void> {
  const nedb = await createNedbStore({ dir, autocompactMs: 0 });
  const people = await nedb.collection<{ _id: string; n: number; at: Date }>('people', [
    { fields: { n: 1 }, unique: true },
  ]);
  for (let i = 0; i < 5; i++)
    await people.insertOne({ _id: `p${i}`, n: i, at: new Date(Date.UTC(2026, 0, i + 1)) });
  await people.deleteOne({ _id: 'p4' });
  await (await nedb.collection<{ _id: string }>('notes')).insertOne({ _id: 'n1' });
  await nedb.close();
}

describe('arbiter store', () => {
  const cleanups: (() => void | Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const folder = () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    return dir;
  };

  it('migrate moves a nedb DATA_DIR into SQLite once; a second call has nothing to migrate', async () => {
    const dir = folder();
    await nedbFolder(dir);
    const first = await run(['store', 'migrate'], { DATA_DIR: dir });
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    expect(first.out).toBe(
      `Migrated 5 documents in 2 collections from nedb to SQLite; the nedb files are kept in ${join(dir, 'nedb-backup')}.\n`,
    );
    expect(readdirSync(join(dir, 'nedb-backup')).sort()).toEqual(['notes.db', 'people.db']);

    const store = await createSqliteStore({ dir });
    cleanups.push(() => store.close());
    const people = await store.collection<{ _id: string; n: number; at: Date }>('people');
    const got = await people.find({}, { sort: { n: 1 } });
    expect(got.map((p) => p._id)).toEqual(['p0', 'p1', 'p2', 'p3']);
    expect(got[1]!.at).toEqual(new Date(Date.UTC(2026, 0, 2)));
    expect(await (await store.collection('notes')).count({})).toBe(1);
    await store.close();

    const second = await run(['store', 'migrate'], { DATA_DIR: dir });
    expect(second).toEqual({
      code: 0,
      out: `Nothing to migrate: DATA_DIR ${dir} holds no nedb files.\n`,
      err: '',
    });
  });

  it('migrate refuses a folder a live nedb process holds, with or without data, and moves nothing', async () => {
    for (const mode of ['with-data', 'empty']) {
      const dir = folder();
      const holder = startTsChild('test/fixtures/nedb-holder.ts', [dir, mode]);
      cleanups.push(() => kill9(holder));
      await waitForLines(holder, (ls) => ls.includes('ready'));
      const res = await run(['store', 'migrate'], { DATA_DIR: dir });
      expect(res.code).toBe(3);
      expect(res.err).toContain(
        `DATA_DIR ${dir} is in use by an Arbiter process on the nedb store (pid ${holder.pid}`,
      );
      expect(res.err).not.toMatch(/\n\s+at /); // no stack trace
      expect(existsSync(join(dir, 'held.db'))).toBe(mode === 'with-data');
      expect(existsSync(join(dir, SQLITE_FILE))).toBe(false);
    }
  });

  it('migrate names a file too damaged to read and migrates nothing', async () => {
    const dir = folder();
    await nedbFolder(dir);
    writeFileSync(join(dir, 'jobs.db'), 'garbage\nmore garbage\n{"_id":"a","x":1}\n');
    const res = await run(['store', 'migrate'], { DATA_DIR: dir });
    expect(res.code).toBe(3);
    expect(res.out).toBe('');
    expect(res.err).toContain(
      `Cannot migrate ${join(dir, 'jobs.db')} to SQLite: 2 of 3 lines are unreadable.`,
    );
    expect(
      readdirSync(dir)
        .filter((f) => f.endsWith('.db'))
        .sort(),
    ).toEqual(['jobs.db', 'notes.db', 'people.db']);
    // Nothing was imported: once the damaged file is moved aside, the others migrate in full.
    writeFileSync(join(dir, 'jobs.db'), '');
    const again = await run(['store', 'migrate'], { DATA_DIR: dir });
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/^Migrated 5 documents in 3 collections/);
  });

  it('bad input is a usage or configuration error (exit 2), never a stack trace', async () => {
    const dir = folder();
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['store'], { DATA_DIR: dir }, /Unknown store command ""/],
      [['store', 'compact'], { DATA_DIR: dir }, /Unknown store command "compact"/],
      // Our words, not Node's parseArgs text (issue 17): the flag, then the usage line.
      [
        ['store', 'migrate', '--json'],
        { DATA_DIR: dir },
        /Unknown option --json\.[\s\S]*arbiter store migrate/,
      ],
      [['store', 'stats', 'extra'], { DATA_DIR: dir }, /store stats takes no arguments \(got "extra"\)/],
      [['store', 'migrate'], { DATA_DIR: join(dir, 'missing') }, /does not exist: nothing to migrate/],
      [
        ['store', 'migrate'],
        { DATA_DIR: dir, EMBEDDED_STORE: 'nedb' },
        /EMBEDDED_STORE=nedb keeps the nedb store/,
      ],
      [['store', 'stats'], { DATA_DIR: join(dir, 'missing') }, /does not exist: there is no store/],
    ];
    for (const [argv, env, message] of cases) {
      const res = await run(argv, env);
      expect({ argv, code: res.code }).toEqual({ argv, code: 2 });
      expect(res.err).toMatch(message);
      expect(res.err).not.toMatch(/\n\s+at /);
    }
    expect(existsSync(join(dir, 'missing'))).toBe(false);
  });

  it('stats counts each collection, sizes the SQLite database, its WAL and DATA_DIR, and shows retention', async () => {
    const dir = folder();
    const store = await createSqliteStore({ dir });
    cleanups.push(() => store.close());
    const items = await store.collection<{ _id: string; body: string }>('items');
    await items.insertMany(Array.from({ length: 30 }, (_, i) => ({ _id: `i${i}`, body: 'x'.repeat(500) })));
    await (await store.collection<{ _id: string }>('notes')).insertOne({ _id: 'n1' });
    await (await store.collection<{ _id: string }>('empty')).count({});
    const day = 86_400_000;
    await (await store.collection<{ _id: string; finishedAt: Date }>('jobs')).insertMany([
      { _id: 'old', finishedAt: new Date(Date.now() - 40 * day) },
      { _id: 'new', finishedAt: new Date(Date.now() - 10 * day) },
    ]);

    const json = await run(['store', 'stats', '--json'], { DATA_DIR: dir });
    expect(json.err).toBe('');
    expect(json.code).toBe(0);
    const stats = JSON.parse(json.out) as {
      engine: string;
      collections: { name: string; documents: number }[];
      sizes: { databaseBytes: number; walBytes: number; dataDirBytes: number };
      retention: { collection: string; expired: number; maxAgeMs: number | null; nextExpiryAt?: string }[];
    };
    expect(stats.engine).toBe('sqlite');
    expect(stats.collections).toEqual([
      { name: 'empty', documents: 0 },
      { name: 'items', documents: 30 },
      { name: 'jobs', documents: 2 },
      { name: 'notes', documents: 1 },
    ]);
    expect(stats.sizes.databaseBytes).toBeGreaterThan(0);
    expect(stats.sizes.walBytes).toBeGreaterThan(15_000); // the open store's writes are still in the WAL
    expect(stats.sizes.dataDirBytes).toBeGreaterThanOrEqual(stats.sizes.databaseBytes + stats.sizes.walBytes);
    expect(stats.retention.map((r) => [r.collection, r.expired, r.maxAgeMs])).toEqual([
      ['jobs', 1, 30 * day],
      ['llm_cache', 0, 30 * day],
      ['run_items', 0, null],
      ['monitor_scored', 0, 180 * day],
      ['audit_log', 0, 365 * day],
    ]);
    // The job that stays goes 30 days after it finished, i.e. in about 20 days.
    const next = Date.parse(stats.retention[0]?.nextExpiryAt ?? '');
    expect(Math.abs(next - (Date.now() + 20 * day))).toBeLessThan(60_000);

    const text = await run(['store', 'stats'], { DATA_DIR: dir });
    expect(text.code).toBe(0);
    expect(text.out).toContain(`Store: embedded SQLite store in ${dir}`);
    expect(text.out).toMatch(/^items\s+30$/m);
    expect(text.out).toMatch(/^Database file: [\d.]+ (B|KiB)$/m);
    expect(text.out).toMatch(/^WAL file: [\d.]+ KiB$/m);
    expect(text.out).toMatch(/^DATA_DIR: [\d.]+ KiB$/m);
    expect(text.out).toMatch(/^Retention \(what the next sweep/m);
    expect(text.out).toMatch(
      /^ {2}jobs\s+finishedAt older than 30 days: 1 to remove now, next on \d{4}-.*\(RETENTION_JOBS=30d\)$/m,
    );
    expect(text.out).toMatch(/^ {2}run_items\s+kept \(RETENTION_RUN_ITEMS=keep\)$/m);
    expect(text.out).toMatch(
      /^ {2}audit_log\s+at older than 365 days: 0 to remove now \(AUDIT_RETENTION=365d\)$/m,
    );
  });

  it('stats on the nedb engine counts documents and sizes each file; it never migrates a nedb folder', async () => {
    const dir = folder();
    await nedbFolder(dir);
    const refused = await run(['store', 'stats'], { DATA_DIR: dir });
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/holds a nedb store not yet migrated to SQLite/);
    expect(refused.err).toMatch(/arbiter store migrate/);
    expect(existsSync(join(dir, SQLITE_FILE))).toBe(false);

    const res = await run(['store', 'stats', '--json'], { DATA_DIR: dir, EMBEDDED_STORE: 'nedb' });
    expect(res.code).toBe(0);
    const stats = JSON.parse(res.out) as {
      engine: string;
      collections: { name: string; documents: number; bytes: number }[];
      sizes: Record<string, number>;
    };
    expect(stats.engine).toBe('nedb');
    expect(stats.collections.map((c) => [c.name, c.documents])).toEqual([
      ['notes', 1],
      ['people', 4],
    ]);
    for (const c of stats.collections) expect(c.bytes).toBeGreaterThan(0);
    expect(Object.keys(stats.sizes)).toEqual(['dataDirBytes']);
  });
});

const mongoUri = process.env.MONGODB_URI;
describe('arbiter store stats on MongoDB', () => {
  it.skipIf(!mongoUri)('counts the documents of each collection (runs when MONGODB_URI is set)', async () => {
    const env = { MONGODB_URI: mongoUri!, MONGODB_DB: `arbiter_storecli_${process.pid}` };
    const { createMongoStore } = await import('../storage/mongo.ts');
    const store = await createMongoStore({ uri: env.MONGODB_URI, dbName: env.MONGODB_DB });
    try {
      await (await store.collection<{ _id: string }>('items')).insertMany([{ _id: 'a' }, { _id: 'b' }]);
      const res = await run(['store', 'stats', '--json'], env);
      expect(res.code).toBe(0);
      const stats = JSON.parse(res.out) as { engine: string; collections: unknown[]; sizes?: unknown };
      expect(stats.engine).toBe('mongodb');
      expect(stats.collections).toContainEqual({ name: 'items', documents: 2 });
      expect(stats.sizes).toBeUndefined();
      const migrate = await run(['store', 'migrate'], env);
      expect(migrate.code).toBe(2);
      expect(migrate.err).toMatch(/MONGODB_URI is set/);
    } finally {
      await store.close();
    }
  });
});
