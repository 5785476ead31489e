// Retention: how long each kind of history is kept, as one declarative table. On MongoDB each entry becomes a TTL
// index (the server deletes); on the embedded stores a periodic sweep deletes, under a lease so one process at a
// time does it. A new collection with a retention (as the audit log has) is one more entry in `retentionRules`.
import {
  type Clock,
  createSilentLogger,
  type Env,
  type Logger,
  parseDuration,
  systemClock,
} from '../config/index.ts';
import type { Leases } from './leases.ts';
import type { DocumentStore, Filter, IndexSpec } from './port.ts';

/** One retention entry: documents of `collection` whose `dateField` is older than `maxAgeMs` (and match `filter`) go. */
export interface RetentionRule {
  collection: string;
  /** A Date field; documents without it are never removed (e.g. a job that has not finished has no finishedAt). */
  dateField: string;
  /** Only documents matching this are removed (equality, `$in`, `$exists`: what a MongoDB partial index accepts). */
  filter?: Filter;
  /** null: kept forever. */
  maxAgeMs: number | null;
  /** The setting that controls it, for `arbiter store stats` (e.g. `RETENTION_JOBS=30d`). */
  setting: string;
}

/** Parses a retention setting: `keep` is null, else a duration in ms. */
export function parseRetentionAge(text: string): number | null {
  if (text.trim().toLowerCase() === 'keep') return null;
  const ms = parseDuration(text);
  if (ms === undefined) throw new Error(`Invalid retention age "${text}"`);
  return ms;
}

/** The settings retention reads. */
export type RetentionEnv = Pick<
  Env,
  'RETENTION_JOBS' | 'RETENTION_RUN_ITEMS' | 'RETENTION_MONITOR_SCORES' | 'LLM_CACHE_TTL' | 'AUDIT_RETENTION'
>;

/**
 * The retention table. What is never listed here is kept: runs (their summaries), monitor tick summaries
 * (`monitor_ticks`, read by digests and trends), reviews and votes, prompt events.
 */
export function retentionRules(env: RetentionEnv): RetentionRule[] {
  return [
    // Only finished jobs carry finishedAt; queued and running ones are never touched.
    {
      collection: 'jobs',
      dateField: 'finishedAt',
      maxAgeMs: parseRetentionAge(env.RETENTION_JOBS),
      setting: `RETENTION_JOBS=${env.RETENTION_JOBS}`,
    },
    // An entry older than LLM_CACHE_TTL is a miss anyway: keeping it longer only costs disk.
    {
      collection: 'llm_cache',
      dateField: 'createdAt',
      maxAgeMs: parseRetentionAge(env.LLM_CACHE_TTL),
      setting: `LLM_CACHE_TTL=${env.LLM_CACHE_TTL}`,
    },
    {
      collection: 'run_items',
      dateField: 'finishedAt',
      maxAgeMs: parseRetentionAge(env.RETENTION_RUN_ITEMS),
      setting: `RETENTION_RUN_ITEMS=${env.RETENTION_RUN_ITEMS}`,
    },
    {
      collection: 'monitor_scored',
      dateField: 'scoredAt',
      maxAgeMs: parseRetentionAge(env.RETENTION_MONITOR_SCORES),
      setting: `RETENTION_MONITOR_SCORES=${env.RETENTION_MONITOR_SCORES}`,
    },
    // The audit trail (audit/: AUDIT_COLLECTION, records timed by `at`): retention is the only thing that removes
    // a record. Its plain `at` index is this rule's index, so on MongoDB the TTL index is the one it sorts by.
    {
      collection: 'audit_log',
      dateField: 'at',
      maxAgeMs: parseRetentionAge(env.AUDIT_RETENTION),
      setting: `AUDIT_RETENTION=${env.AUDIT_RETENTION}`,
    },
  ];
}

/** The index a rule needs: its date field (a TTL index on MongoDB, a plain one the sweep reads on embedded stores). */
export function retentionIndex(rule: RetentionRule): IndexSpec {
  return {
    fields: { [rule.dateField]: 1 },
    ttlMs: rule.maxAgeMs,
    ...(rule.filter ? { ttlFilter: rule.filter } : {}),
  };
}

/** The filter of the documents a rule removes at `now` (undefined when the rule keeps everything). */
export function expiredFilter(rule: RetentionRule, now: Date): Filter | undefined {
  if (rule.maxAgeMs === null) return undefined;
  const cutoff = new Date(now.getTime() - rule.maxAgeMs);
  return { ...(rule.filter ?? {}), [rule.dateField]: { $lt: cutoff } };
}

/** What one sweep removed from one collection. */
export interface SweepResult {
  collection: string;
  removed: number;
}

/** Options of a sweep. */
export interface SweepOptions {
  /** Documents deleted per write transaction, so a long sweep never holds the write lock for long (500). */
  batchSize?: number;
  /** Stops between batches when aborted (the lease was lost). */
  signal?: AbortSignal;
}

/**
 * Removes what the rules expire at `now`, collection by collection, in batches (oldest first). Used by the embedded
 * stores; on MongoDB the TTL indexes do this.
 */
export async function sweepRetention(
  store: DocumentStore,
  rules: readonly RetentionRule[],
  now: Date,
  options: SweepOptions = {},
): Promise<SweepResult[]> {
  const batchSize = options.batchSize ?? 500;
  const results: SweepResult[] = [];
  for (const rule of rules) {
    const filter = expiredFilter(rule, now);
    if (!filter) continue;
    const coll = await store.collection<{ _id: string }>(rule.collection, [retentionIndex(rule)]);
    let removed = 0;
    for (;;) {
      options.signal?.throwIfAborted();
      const batch = await coll.find(filter, { sort: { [rule.dateField]: 1 }, limit: batchSize });
      if (batch.length === 0) break;
      removed += await coll.deleteMany({ _id: { $in: batch.map((d) => d._id) } });
      if (batch.length < batchSize) break;
    }
    results.push({ collection: rule.collection, removed });
  }
  return results;
}

/** What retention will do to one collection, for `arbiter store stats`. */
export interface RetentionPreview {
  collection: string;
  dateField: string;
  setting: string;
  /** null: kept forever. */
  maxAgeMs: number | null;
  /** Documents past their age now: the next sweep (or TTL pass) removes them. */
  expired: number;
  /** When the oldest document that stays now expires (absent when nothing is waiting, or everything is kept). */
  nextExpiryAt?: Date;
}

/**
 * Counts, per rule, what retention removes next. Opens (and indexes) the collections it reads; with `existing`,
 * a collection not in it counts as empty and is not created.
 */
export async function retentionPreview(
  store: DocumentStore,
  rules: readonly RetentionRule[],
  now: Date,
  existing?: ReadonlySet<string>,
): Promise<RetentionPreview[]> {
  const out: RetentionPreview[] = [];
  for (const rule of rules) {
    const base = {
      collection: rule.collection,
      dateField: rule.dateField,
      setting: rule.setting,
      maxAgeMs: rule.maxAgeMs,
    };
    const filter = expiredFilter(rule, now);
    if (!filter || rule.maxAgeMs === null || (existing && !existing.has(rule.collection))) {
      out.push({ ...base, expired: 0 });
      continue;
    }
    const coll = await store.collection<Record<string, unknown> & { _id: string }>(rule.collection, [
      retentionIndex(rule),
    ]);
    const expired = await coll.count(filter);
    const cutoff = new Date(now.getTime() - rule.maxAgeMs);
    const next = await coll.findOne(
      { ...(rule.filter ?? {}), [rule.dateField]: { $gte: cutoff } },
      { sort: { [rule.dateField]: 1 } },
    );
    const at = next?.[rule.dateField];
    out.push({
      ...base,
      expired,
      ...(at instanceof Date ? { nextExpiryAt: new Date(at.getTime() + rule.maxAgeMs) } : {}),
    });
  }
  return out;
}

/** The name of the lease that makes one process at a time sweep. */
export const RETENTION_LEASE = 'retention-sweep';

/** Options of the retention service. */
export interface RetentionOptions {
  store: DocumentStore;
  leases: Leases;
  rules: readonly RetentionRule[];
  /** This process, as the lease owner. */
  owner: string;
  clock?: Clock;
  logger?: Logger;
  /** Time between sweeps (1 hour); the first runs a minute after start. */
  intervalMs?: number;
  firstDelayMs?: number;
  batchSize?: number;
}

/** The running retention service. */
export interface Retention {
  /** Sweeps now if this process gets the lease; null when another process holds it (or the store is MongoDB). */
  runOnce(): Promise<SweepResult[] | null>;
  stop(): Promise<void>;
}

/**
 * Starts retention: on MongoDB it ensures the TTL indexes once and the server does the rest; on an embedded store it
 * sweeps every `intervalMs`, under a lease, so two processes on one DATA_DIR never sweep at once.
 */
export async function startRetention(options: RetentionOptions): Promise<Retention> {
  const { store, leases, rules, owner } = options;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createSilentLogger();
  // Opening with the rule's index: a TTL index on MongoDB, the index the sweep reads on an embedded store.
  for (const rule of rules) await store.collection(rule.collection, [retentionIndex(rule)]);
  if (store.kind === 'mongodb') {
    return { runOnce: async () => null, stop: async () => undefined };
  }
  let running: Promise<unknown> | undefined;
  let stopped = false;
  const runOnce = async (): Promise<SweepResult[] | null> => {
    const hold = await leases.hold(RETENTION_LEASE, owner);
    if (!hold) return null;
    try {
      const results = await sweepRetention(store, rules, clock.now(), {
        signal: hold.signal,
        ...(options.batchSize ? { batchSize: options.batchSize } : {}),
      });
      const removed = results.filter((r) => r.removed > 0);
      if (removed.length > 0) logger.info({ removed }, 'retention removed old documents');
      return results;
    } finally {
      await hold.release();
    }
  };
  const tick = () => {
    if (stopped || running) return;
    running = runOnce()
      .catch((err: unknown) => logger.warn({ err }, 'retention sweep failed; retried at the next one'))
      .finally(() => {
        running = undefined;
      });
  };
  const first = setTimeout(tick, options.firstDelayMs ?? 60_000);
  const timer = setInterval(tick, options.intervalMs ?? 3_600_000);
  first.unref();
  timer.unref();
  return {
    runOnce,
    async stop() {
      stopped = true;
      clearTimeout(first);
      clearInterval(timer);
      await running;
    },
  };
}
