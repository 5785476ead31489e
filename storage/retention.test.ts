import { afterEach, describe, expect, it } from 'vitest';
import { parseEnv, systemClock } from '../config/index.ts';
import { createManualClock } from '../config/runtime.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import {
  createLeases,
  type Doc,
  type DocumentStore,
  type IndexSpec,
  retentionRules,
  startRetention,
} from './index.ts';
import { createNedbStore } from './embedded.ts';
import { RETENTION_LEASE, retentionPreview } from './retention.ts';
import { createMongoStore } from './mongo.ts';
import { createSqliteStore } from './sqlite.ts';

type AnyDoc = { _id: string } & Record<string, unknown>;
const DAY = 86_400_000;
const NOW = new Date('2026-12-01T00:00:00Z');
const ago = (days: number) => new Date(NOW.getTime() - days * DAY);

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** History of every kind retention knows, some past its default age and some not, plus what must always stay. */
async function seed(store: DocumentStore) {
  const jobs = await store.collection<AnyDoc>('jobs');
  await jobs.insertMany([
    { _id: 'job-old-done', status: 'succeeded', createdAt: ago(45), finishedAt: ago(40) },
    { _id: 'job-old-failed', status: 'failed', createdAt: ago(45), finishedAt: ago(31) },
    { _id: 'job-recent', status: 'succeeded', createdAt: ago(10), finishedAt: ago(10) },
    // Never finished: no finishedAt, so never removed however old.
    { _id: 'job-queued-old', status: 'queued', createdAt: ago(400) },
  ]);
  await (await store.collection<AnyDoc>('llm_cache')).insertMany([
    { _id: 'cache-old', createdAt: ago(31) },
    { _id: 'cache-new', createdAt: ago(29) },
  ]);
  await (await store.collection<AnyDoc>('monitor_scored')).insertMany([
    { _id: 'score-old', monitor: 'm', scoredAt: ago(181) },
    { _id: 'score-new', monitor: 'm', scoredAt: ago(179) },
  ]);
  // The per-tick summaries digests read: never in the table, so they stay.
  await (await store.collection<AnyDoc>('monitor_ticks')).insertMany([
    { _id: 'tick-old', monitor: 'm', tickTime: ago(800), finishedAt: ago(800) },
  ]);
  await (await store.collection<AnyDoc>('run_items')).insertMany([
    { _id: 'item-old', runId: 'r', itemKey: 'a', finishedAt: ago(900) },
  ]);
  // Audit records (audit/: `audit_log`, timed by `at`), kept 365 days by default.
  await (await store.collection<AnyDoc>('audit_log')).insertMany([
    { _id: 'audit-old', action: 'run.launch', at: ago(366) },
    { _id: 'audit-new', action: 'run.cancel', at: ago(364) },
  ]);
}

async function ids(store: DocumentStore, name: string): Promise<string[]> {
  return (await (await store.collection(name)).find({}, { sort: { _id: 1 } })).map((d) => d._id);
}

const engines: [string, (dir: string) => Promise<DocumentStore>][] = [
  ['sqlite', (dir) => createSqliteStore({ dir })],
  ['nedb', (dir) => createNedbStore({ dir, autocompactMs: 0 })],
];

describe.each(engines)('retention on the embedded store (%s)', (_engine, open) => {
  it('removes what is past its age at the injected time and keeps the rest, summaries included', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const store = await open(dir);
    cleanups.push(() => store.close());
    await seed(store);
    const clock = createManualClock(NOW);
    const leases = await createLeases(store, { clock });
    const retention = await startRetention({
      store,
      leases,
      rules: retentionRules(parseEnv({})),
      owner: 'p1',
      clock,
      batchSize: 1,
    });
    cleanups.push(() => retention.stop());

    const before = await retentionPreview(store, retentionRules(parseEnv({})), clock.now());
    expect(before.map((p) => [p.collection, p.expired])).toEqual([
      ['jobs', 2],
      ['llm_cache', 1],
      ['run_items', 0],
      ['monitor_scored', 1],
      ['audit_log', 1],
    ]);
    // The next to go: the recent job 30 days after it finished, the fresh cache entry 30 days after it was made.
    expect(before[0]?.nextExpiryAt).toEqual(new Date(ago(10).getTime() + 30 * DAY));
    expect(before[1]?.nextExpiryAt).toEqual(new Date(ago(29).getTime() + 30 * DAY));
    expect(before[2]).toMatchObject({ maxAgeMs: null, setting: 'RETENTION_RUN_ITEMS=keep' });
    expect(before[4]).toMatchObject({ maxAgeMs: 365 * DAY, setting: 'AUDIT_RETENTION=365d' });
    expect(before[4]?.nextExpiryAt).toEqual(new Date(ago(364).getTime() + 365 * DAY));

    const results = await retention.runOnce();
    expect(results).toEqual([
      { collection: 'jobs', removed: 2 },
      { collection: 'llm_cache', removed: 1 },
      { collection: 'monitor_scored', removed: 1 },
      { collection: 'audit_log', removed: 1 },
    ]);
    expect(await ids(store, 'jobs')).toEqual(['job-queued-old', 'job-recent']);
    expect(await ids(store, 'llm_cache')).toEqual(['cache-new']);
    expect(await ids(store, 'monitor_scored')).toEqual(['score-new']);
    expect(await ids(store, 'monitor_ticks')).toEqual(['tick-old']);
    expect(await ids(store, 'run_items')).toEqual(['item-old']);
    expect(await ids(store, 'audit_log')).toEqual(['audit-new']);

    // Time moves on: the cache entry that was 29 days old goes two days later, the job does not yet.
    clock.advance(2 * DAY);
    await retention.runOnce();
    expect(await ids(store, 'llm_cache')).toEqual([]);
    expect(await ids(store, 'jobs')).toEqual(['job-queued-old', 'job-recent']);
  });

  it('ages are configurable: run items with RETENTION_RUN_ITEMS=365d, jobs with RETENTION_JOBS=5d', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const store = await open(dir);
    cleanups.push(() => store.close());
    await seed(store);
    const clock = createManualClock(NOW);
    const env = parseEnv({
      RETENTION_RUN_ITEMS: '365d',
      RETENTION_JOBS: '5d',
      RETENTION_MONITOR_SCORES: 'keep',
      AUDIT_RETENTION: 'keep',
    });
    const retention = await startRetention({
      store,
      leases: await createLeases(store, { clock }),
      rules: retentionRules(env),
      owner: 'p1',
      clock,
    });
    cleanups.push(() => retention.stop());
    await retention.runOnce();
    expect(await ids(store, 'run_items')).toEqual([]);
    expect(await ids(store, 'jobs')).toEqual(['job-queued-old']);
    expect(await ids(store, 'monitor_scored')).toEqual(['score-new', 'score-old']);
    expect(await ids(store, 'audit_log')).toEqual(['audit-new', 'audit-old']);
  });

  it('AUDIT_RETENTION ages the audit trail: 300d removes both records, the preview counts them first', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const store = await open(dir);
    cleanups.push(() => store.close());
    await seed(store);
    const rules = retentionRules(parseEnv({ AUDIT_RETENTION: '300d' }));
    const preview = await retentionPreview(store, rules, NOW);
    expect(preview.find((p) => p.collection === 'audit_log')).toMatchObject({
      dateField: 'at',
      expired: 2,
      maxAgeMs: 300 * DAY,
      setting: 'AUDIT_RETENTION=300d',
    });
    const clock = createManualClock(NOW);
    const retention = await startRetention({
      store,
      leases: await createLeases(store, { clock }),
      rules,
      owner: 'p1',
      clock,
    });
    cleanups.push(() => retention.stop());
    expect(await retention.runOnce()).toContainEqual({ collection: 'audit_log', removed: 2 });
    expect(await ids(store, 'audit_log')).toEqual([]);
  });
});

describe('retention settings', () => {
  it('refuses an age that is not `keep` or a duration of at least an hour, naming the variable', () => {
    expect(() => parseEnv({ RETENTION_JOBS: 'forever' })).toThrow(
      /RETENTION_JOBS: expected `keep` or a duration/,
    );
    expect(() => parseEnv({ RETENTION_MONITOR_SCORES: '30m' })).toThrow(/RETENTION_MONITOR_SCORES/);
    expect(parseEnv({ RETENTION_RUN_ITEMS: 'KEEP' }).RETENTION_RUN_ITEMS).toBe('KEEP');
    // The audit trail keeps a day at least: who did what is not history to lose within hours.
    expect(() => parseEnv({ AUDIT_RETENTION: '12h' })).toThrow(
      /AUDIT_RETENTION: expected `keep` or a duration of at least a day/,
    );
    expect(parseEnv({}).AUDIT_RETENTION).toBe('365d');
    expect(retentionRules(parseEnv({ AUDIT_RETENTION: 'keep' })).at(-1)).toMatchObject({
      collection: 'audit_log',
      maxAgeMs: null,
    });
  });
});

describe('retention across processes on one DATA_DIR', () => {
  it('never sweeps in two processes at once: the lease admits one, the other skips', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    // Two connections to one database file, each with its own leases: what two processes have.
    const storeA = await createSqliteStore({ dir });
    const storeB = await createSqliteStore({ dir });
    cleanups.push(
      () => storeA.close(),
      () => storeB.close(),
    );
    const clock = createManualClock(NOW);
    const active = { now: 0, max: 0 };
    // Each sweep reads slowly, so the two would overlap without the lease.
    const slow = (store: DocumentStore): DocumentStore => ({
      ...store,
      kind: store.kind,
      description: store.description,
      collectionNames: () => store.collectionNames(),
      ping: () => store.ping(),
      close: () => store.close(),
      async collection<T extends Doc>(name: string, indexes?: readonly IndexSpec[]) {
        const coll = await store.collection<T>(name, indexes);
        return {
          ...coll,
          name: coll.name,
          find: async (filter, options) => {
            active.now++;
            active.max = Math.max(active.max, active.now);
            await new Promise((r) => setTimeout(r, 15));
            active.now--;
            return coll.find(filter, options) as never;
          },
          deleteMany: (filter) => coll.deleteMany(filter),
        } as typeof coll;
      },
    });
    const rules = retentionRules(parseEnv({}));
    const a = await startRetention({
      store: slow(storeA),
      leases: await createLeases(storeA, { clock: systemClock }),
      rules,
      owner: 'process-a',
      clock,
    });
    const b = await startRetention({
      store: slow(storeB),
      leases: await createLeases(storeB, { clock: systemClock }),
      rules,
      owner: 'process-b',
      clock,
    });
    cleanups.push(
      () => a.stop(),
      () => b.stop(),
    );
    for (let round = 0; round < 5; round++) {
      const [ra, rb] = await Promise.all([a.runOnce(), b.runOnce()]);
      expect([ra, rb].filter((r) => r !== null)).toHaveLength(1);
    }
    expect(active.max).toBe(1);

    // While A holds the lease (a sweep in progress), B skips; once A releases, B sweeps.
    const leasesA = await createLeases(storeA);
    const hold = await leasesA.hold(RETENTION_LEASE, 'process-a');
    expect(hold).not.toBeNull();
    expect(await b.runOnce()).toBeNull();
    await hold?.release();
    expect(await b.runOnce()).not.toBeNull();
  });
});

const mongoUri = process.env.MONGODB_URI;
describe.skipIf(!mongoUri)('retention on MongoDB (TTL indexes)', () => {
  it('makes each rule a TTL index, changes its age in place and removes it for `keep`', async () => {
    const dbName = `arbiter_retention_${process.pid}`;
    const store = await createMongoStore({ uri: mongoUri ?? '', dbName });
    cleanups.push(() => store.close());
    const { MongoClient } = await import('mongodb');
    const client = await MongoClient.connect(mongoUri ?? '');
    cleanups.push(async () => {
      await client.db(dbName).dropDatabase();
      await client.close();
    });
    // The LLM cache opens its plain createdAt index first, as at every start.
    await store.collection('llm_cache', [{ fields: { createdAt: 1 } }]);
    const leases = await createLeases(store);
    const start = (env: Record<string, string>) =>
      startRetention({ store, leases, rules: retentionRules(parseEnv(env)), owner: 'm' });
    const ttl = async (coll: string, field: string) =>
      (await client.db(dbName).collection(coll).listIndexes().toArray()).find(
        (i) => JSON.stringify(i.key) === JSON.stringify({ [field]: 1 }),
      )?.expireAfterSeconds as number | undefined;

    expect(await (await start({})).runOnce()).toBeNull();
    expect(await ttl('jobs', 'finishedAt')).toBe(30 * 86_400);
    expect(await ttl('llm_cache', 'createdAt')).toBe(30 * 86_400);
    expect(await ttl('monitor_scored', 'scoredAt')).toBe(180 * 86_400);
    expect(await ttl('run_items', 'finishedAt')).toBeUndefined();
    expect(await ttl('audit_log', 'at')).toBe(365 * 86_400);

    await start({ RETENTION_JOBS: '7d', RETENTION_MONITOR_SCORES: 'keep', RETENTION_RUN_ITEMS: '365d' });
    expect(await ttl('jobs', 'finishedAt')).toBe(7 * 86_400);
    expect(await ttl('monitor_scored', 'scoredAt')).toBeUndefined();
    expect(await ttl('run_items', 'finishedAt')).toBe(365 * 86_400);
    // The cache's own plain index request is satisfied by the TTL index on the same key.
    await store.collection('llm_cache', [{ fields: { createdAt: 1 } }]);

    // Expired documents are the server's to delete; the preview counts them.
    await (await store.collection<AnyDoc>('jobs')).insertMany([
      { _id: 'old', finishedAt: new Date(Date.now() - 8 * DAY) },
      { _id: 'new', finishedAt: new Date() },
    ]);
    const preview = await retentionPreview(
      store,
      retentionRules(parseEnv({ RETENTION_JOBS: '7d' })),
      new Date(),
    );
    expect(preview[0]).toMatchObject({ collection: 'jobs', expired: 1 });
  });
});
