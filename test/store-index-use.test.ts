// Every query the repositories issue is served by an index: on SQLite, EXPLAIN QUERY PLAN of the SQL the adapter
// compiles shows no full scan of the table; on MongoDB (when MONGODB_URI is set) the winning plan has no COLLSCAN.
// The list below is kept by hand, one entry per query site (file:function); the collections are opened by the real
// repository factories, so the indexes are the ones production creates.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleTransport } from '../bot/console-transport.ts';
import { createOutbox } from '../bot/outbox.ts';
import { createResponseUrlBudget } from '../bot/slack-reply.ts';
import { createSilentLogger, parseEnv } from '../config/index.ts';
import { createDigestPosts } from '../digests/index.ts';
import { createMonitorStore, createTickLog } from '../monitors/index.ts';
import { createPromptEventHandlers } from '../prompts/index.ts';
import { createReviewRepository } from '../reviews/index.ts';
import { createRunRepository } from '../runs/index.ts';
import { createStoreCheckpointer } from '../runs/checkpointer.ts';
import {
  createJobQueue,
  createLeases,
  type DocumentStore,
  type Filter,
  retentionRules,
} from '../storage/index.ts';
import { retentionIndex } from '../storage/retention.ts';
import type { Sort } from '../storage/port.ts';
import { createMongoStore } from '../storage/mongo.ts';
import { createSqliteStore, SQLITE_FILE } from '../storage/sqlite.ts';
import { compileFilter, compileSort } from '../storage/sqlite-sql.ts';
import { tempDir } from './helpers/tmp.ts';

const now = new Date('2026-12-01T00:00:00Z');

/** One query a repository issues: where, on which collection, its filter and sort. */
interface Query {
  site: string;
  collection: string;
  filter: Filter;
  sort?: Sort;
  /**
   * Why sorting the matching rows in memory is fine (few rows match, or it runs once at start). Without it a
   * sorted query must read in index order: pages that show "the latest N" of a growing collection stay fast.
   */
  sortsMatches?: string;
}

const QUERIES: Query[] = [
  // runs/repository.ts
  {
    site: 'runs findRun (idempotency)',
    collection: 'runs',
    filter: { idempotencyKey: 'k' },
    sort: { createdAt: -1 },
  },
  {
    site: 'runs findRun (unfinished run of a suite)',
    collection: 'runs',
    filter: { suiteHash: 'h', status: { $in: ['queued', 'running'] } },
    sort: { createdAt: -1 },
    sortsMatches: 'the runs of one suite version, a few',
  },
  { site: 'runs listRuns', collection: 'runs', filter: {}, sort: { createdAt: -1 } },
  {
    site: 'runs listRuns (one suite)',
    collection: 'runs',
    filter: { suiteName: 's' },
    sort: { createdAt: -1 },
  },
  {
    site: 'runs finishedBetween (digests)',
    collection: 'runs',
    filter: { finishedAt: { $gte: now, $lt: now } },
    sort: { finishedAt: 1 },
  },
  {
    site: 'run_items pending',
    collection: 'run_items',
    filter: { runId: 'r', status: 'pending' },
    sort: { seq: 1 },
  },
  { site: 'run_items items', collection: 'run_items', filter: { runId: 'r' }, sort: { seq: 1 } },
  { site: 'run_items countItems', collection: 'run_items', filter: { runId: 'r', status: 'done' } },
  { site: 'run_items by key', collection: 'run_items', filter: { runId: 'r', itemKey: 'k' } },
  // reviews/repository.ts
  { site: 'reviews by idempotency key', collection: 'reviews', filter: { idempotencyKey: 'k' } },
  { site: 'reviews listReviews', collection: 'reviews', filter: {}, sort: { createdAt: -1 } },
  {
    site: 'reviews listReviews (status)',
    collection: 'reviews',
    filter: { status: 'open' },
    sort: { createdAt: -1 },
  },
  {
    site: 'review_pairs of a review',
    collection: 'review_pairs',
    filter: { reviewId: 'r' },
    sort: { seq: 1 },
  },
  { site: 'review_pairs by token', collection: 'review_pairs', filter: { token: 't' } },
  { site: 'review_votes of a review', collection: 'review_votes', filter: { reviewId: 'r' } },
  { site: 'review_votes countVotes (pair)', collection: 'review_votes', filter: { pairId: 'p' } },
  // monitors/store.ts, monitors/review.ts, monitors/tick-log.ts
  {
    site: 'monitor_scored unpublished',
    collection: 'monitor_scored',
    filter: { monitor: 'm', published: false },
  },
  { site: 'monitor_scored scoredInTick', collection: 'monitor_scored', filter: { monitor: 'm', tick: 't' } },
  { site: 'monitor_scored countScored', collection: 'monitor_scored', filter: { monitor: 'm' } },
  {
    site: 'monitor_scored latestScored (report page)',
    collection: 'monitor_scored',
    filter: { monitor: 'm' },
    sort: { scoredAt: -1 },
  },
  {
    site: 'monitor_tick_runs unfinishedTicks',
    collection: 'monitor_tick_runs',
    filter: { monitor: 'm', phase: { $in: ['scoring', 'scored'] } },
  },
  {
    site: 'monitor_reviews of an item',
    collection: 'monitor_reviews',
    filter: { source: 's', monitor: 'm', itemId: 'i' },
  },
  {
    site: 'monitor_reviews unpublished (one monitor)',
    collection: 'monitor_reviews',
    filter: { published: false, monitor: 'm' },
  },
  { site: 'monitor_reviews unpublished (all)', collection: 'monitor_reviews', filter: { published: false } },
  {
    site: 'monitor_reviews decidedBetween',
    collection: 'monitor_reviews',
    filter: { createdAt: { $gte: now, $lt: now }, decision: { $exists: true } },
  },
  {
    site: 'monitor_ticks listTicks (digests)',
    collection: 'monitor_ticks',
    filter: { tickTime: { $gte: now, $lt: now }, monitor: 'm' },
    sort: { tickTime: 1 },
  },
  // bot/outbox.ts
  { site: 'outbox last seq (at start)', collection: 'outbox', filter: {}, sort: { seq: -1 } },
  {
    site: 'outbox supersede a pending delivery',
    collection: 'outbox',
    filter: { supersedeKey: 'k', status: 'pending', final: { $ne: true } },
  },
  {
    site: 'outbox rivals of a delivery',
    collection: 'outbox',
    filter: { supersedeKey: 'k', status: { $in: ['pending', 'sending', 'delivered'] }, _id: { $ne: 'd' } },
  },
  {
    site: 'outbox recover (all at start)',
    collection: 'outbox',
    filter: { status: 'sending', owner: { $ne: 'o' } },
  },
  {
    site: 'outbox recover (lease expired)',
    collection: 'outbox',
    filter: { status: 'sending', leaseUntil: { $lt: 1 } },
  },
  {
    site: 'outbox due deliveries',
    collection: 'outbox',
    filter: { dueAt: { $lte: 1 }, channel: { $nin: ['C1'] } },
    sort: { laneRank: 1, seq: 1 },
    sortsMatches: 'only due deliveries match (the backlog), read 200 at a time in lane order',
  },
  {
    site: 'outbox next due',
    collection: 'outbox',
    filter: { dueAt: { $gt: 1 } },
    sort: { dueAt: 1 },
  },
  { site: 'outbox open count', collection: 'outbox', filter: { status: { $in: ['pending', 'sending'] } } },
  { site: 'outbox deliveries of a group', collection: 'outbox', filter: { group: 'g' } },
  // prompts/events.ts
  { site: 'prompt_change_batches by event', collection: 'prompt_change_batches', filter: { eventIds: 'e' } },
  { site: 'prompt_change_batches open batch', collection: 'prompt_change_batches', filter: { openKey: 'p' } },
  { site: 'prompt_label_state of a prompt', collection: 'prompt_label_state', filter: { name: 'p' } },
  // bot/slack-reply.ts: the response_url budget's sweep
  {
    site: 'slack_response_urls expired',
    collection: 'slack_response_urls',
    filter: { expiresAt: { $lt: now } },
  },
  // digests/post.ts
  { site: 'digest_posts recent', collection: 'digest_posts', filter: {}, sort: { updatedAt: -1 } },
  // storage/jobs.ts
  { site: 'jobs enqueue (idempotency)', collection: 'jobs', filter: { idempotencyKey: 'k' } },
  { site: 'jobs claim', collection: 'jobs', filter: { claimableAt: { $lte: 1 } } },
  {
    site: 'jobs claim (types)',
    collection: 'jobs',
    filter: { type: { $in: ['a', 'b'] }, claimableAt: { $lte: 1 } },
  },
  { site: 'jobs backlog', collection: 'jobs', filter: { claimableAt: { $gte: 0 }, type: { $in: ['a'] } } },
  { site: 'jobs list', collection: 'jobs', filter: {}, sort: { createdAt: -1 } },
  { site: 'jobs list (status)', collection: 'jobs', filter: { status: 'failed' }, sort: { createdAt: -1 } },
  { site: 'jobs list (type)', collection: 'jobs', filter: { type: 'run' }, sort: { createdAt: -1 } },
  // storage/leases.ts
  { site: 'ticks lastTick', collection: 'ticks', filter: { name: 'n' }, sort: { tickTime: -1 } },
  // runs/checkpointer.ts
  {
    site: 'checkpoint_writes of a checkpoint',
    collection: 'run_checkpoint_writes',
    filter: { threadId: 't', ns: '', checkpointId: 'c' },
  },
  {
    site: 'checkpoints latest',
    collection: 'run_checkpoints',
    filter: { threadId: 't', ns: '' },
    sort: { checkpointId: -1 },
  },
  { site: 'checkpoints of a group', collection: 'run_checkpoints', filter: { group: 'g' } },
  { site: 'checkpoint_writes of a group', collection: 'run_checkpoint_writes', filter: { group: 'g' } },
  // storage/retention.ts: each rule's sweep and preview
  ...retentionRules(parseEnv({ RETENTION_RUN_ITEMS: '365d' })).map((r) => ({
    site: `retention ${r.collection}`,
    collection: r.collection,
    filter: { [r.dateField]: { $lt: now } },
    sort: { [r.dateField]: 1 } as Sort,
  })),
];

/** Opens every collection through the factory production uses, so each has exactly production's indexes. */
async function openRepositories(store: DocumentStore): Promise<void> {
  await createRunRepository(store);
  await createReviewRepository(store);
  await createMonitorStore(store);
  await createTickLog(store);
  await createDigestPosts(store);
  await createJobQueue(store);
  await createLeases(store);
  await createStoreCheckpointer(store);
  await createOutbox({ store, transport: createConsoleTransport(), logger: createSilentLogger() });
  await createPromptEventHandlers({
    store,
    queue: { enqueue: async () => Promise.reject(new Error('no jobs in this test')) },
    transport: createConsoleTransport(),
    channelFor: () => undefined,
  });
  await createResponseUrlBudget(store);
  for (const rule of retentionRules(parseEnv({ RETENTION_RUN_ITEMS: '365d' })))
    await store.collection(rule.collection, [retentionIndex(rule)]);
}

describe('every repository query uses an index on SQLite', () => {
  let store: DocumentStore;
  let db: import('better-sqlite3').Database;
  let cleanup: () => void;
  beforeAll(async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    store = await createSqliteStore({ dir: t.dir });
    await openRepositories(store);
    const { default: Database } = await import('better-sqlite3');
    db = new Database(join(t.dir, SQLITE_FILE), { readonly: true });
  });
  afterAll(async () => {
    db?.close();
    await store?.close();
    cleanup?.();
  });

  it.each(QUERIES.map((q) => [q.site, q] as const))('%s', async (_site, q) => {
    const coll = (await store.collection(q.collection)) as unknown as { indexedFields: Set<string> };
    // As the adapter compiles it: an indexed field holds no arrays here, so its equality stays on the index.
    const where = compileFilter(q.filter, { mayBeArray: (f) => !coll.indexedFields.has(f) });
    const sql = `SELECT doc FROM "${q.collection}" WHERE ${where.sql}${compileSort(q.sort)}`;
    const plan = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...where.params) as { detail: string }[];
    const details = plan.map((p) => p.detail);
    // "SCAN t" reads every row. A filtered query must SEARCH an index; "SCAN t USING INDEX" (every entry, in index
    // order) is only right for a query without a filter, which reads in sort order and stops at its limit.
    const table = details.filter((d) => new RegExp(`^(SCAN|SEARCH) ${q.collection}\\b`).test(d));
    const filtered = Object.keys(q.filter).length > 0;
    for (const d of table) {
      if (filtered)
        expect(d, `${sql}\n${details.join('\n')}`).toMatch(
          /^SEARCH .* USING (COVERING )?(INDEX|INTEGER PRIMARY KEY|PRIMARY KEY)/,
        );
      else expect(d, `${sql}\n${details.join('\n')}`).toMatch(/^SCAN \S+ USING (COVERING )?INDEX/);
    }
    expect(table.length).toBeGreaterThan(0);
    // Without a filter it must not sort the whole table either; with one, it reads the matches in index order
    // unless the entry says why sorting them is fine.
    if (!filtered || (q.sort && !q.sortsMatches))
      expect(details.join('\n'), `${sql}\n${details.join('\n')}`).not.toMatch(/TEMP B-TREE/);
  });
});

const mongoUri = process.env.MONGODB_URI;
describe.skipIf(!mongoUri)('every repository query uses an index on MongoDB', () => {
  let store: DocumentStore;
  let client: import('mongodb').MongoClient;
  const dbName = `arbiter_indexes_${process.pid}`;
  beforeAll(async () => {
    store = await createMongoStore({ uri: mongoUri ?? '', dbName });
    await openRepositories(store);
    const { MongoClient } = await import('mongodb');
    client = await MongoClient.connect(mongoUri ?? '');
  });
  afterAll(async () => {
    await client?.db(dbName).dropDatabase();
    await client?.close();
    await store?.close();
  });

  it.each(QUERIES.map((q) => [q.site, q] as const))('%s', async (_site, q) => {
    let cursor = client.db(dbName).collection(q.collection).find(q.filter);
    if (q.sort) cursor = cursor.sort(q.sort);
    const explained = JSON.stringify((await cursor.explain('queryPlanner')).queryPlanner.winningPlan);
    // A query with no filter and a sort reads in index order (IXSCAN); any COLLSCAN reads every document.
    expect(explained, explained).not.toMatch(/COLLSCAN/);
  });
});
