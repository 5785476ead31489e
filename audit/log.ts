// The audit trail: who did what, when and from where. One append-only collection (`audit_log`): the API records and
// lists, nothing updates or deletes a record (retention, configured for the store, is the only thing that removes
// old ones). Capabilities record after their own durable write, so a failed action is never recorded as done.
import { userInfo } from 'node:os';
import { z } from 'zod';
import { ArbiterError, type Clock, type Ids, type Logger, systemClock, systemIds } from '../config/index.ts';
import type { Collection, Doc, DocumentStore, Filter, IndexSpec } from '../storage/index.ts';

/** Who acted, and through which front door. */
export type AuditActor =
  | { via: 'slack'; user: string; channel?: string; team?: string }
  /** OS user name (os.userInfo().username) or ARBITER_USER. */
  | { via: 'cli'; user: string }
  | { via: 'console'; user: string }
  /** Scheduler, webhooks, retention. */
  | { via: 'system'; user: 'arbiter' };

/** What a record is about. */
export type AuditObjectType = 'run' | 'review' | 'monitor' | 'digest' | 'prompt' | 'job' | 'store' | 'suite';

/** One audit record. */
export interface AuditRecord {
  id: string;
  at: Date;
  actor: AuditActor;
  /** e.g. 'run.launch', 'run.cancel', 'review.vote', 'review.vote-change', 'monitor.pause', 'admin.store-migrate'. */
  action: string;
  object: { type: AuditObjectType; id: string };
  /** One human line, plain text (NOT escaped; renderers escape). */
  summary: string;
  details?: Record<string, unknown>;
}

/** What to record; `key` makes the record idempotent (the same key twice stores one record). */
export type AuditEntry = Omit<AuditRecord, 'id' | 'at'> & { at?: Date; key?: string };

/** Filters of `list`; every one optional, combined with AND. */
export interface AuditQuery {
  objectType?: AuditObjectType;
  objectId?: string;
  since?: Date;
  user?: string;
  limit?: number;
}

/** The audit log: append and read, nothing else. */
export interface AuditLog {
  /**
   * Appends a record and returns it. With `key`, a record already stored under that key is returned instead
   * (a retried job records its action once).
   */
  record(entry: AuditEntry): Promise<AuditRecord>;
  /** Records, newest first (default 100, at most 1000). */
  list(query: AuditQuery): Promise<AuditRecord[]>;
}

/** The collection of the audit trail (for the store's retention table). */
export const AUDIT_COLLECTION = 'audit_log';
/** The field retention ages records by. */
export const AUDIT_TIME_FIELD = 'at';
/** How long records are kept when AUDIT_RETENTION is not set. */
export const DEFAULT_AUDIT_RETENTION = '365d';
/** The actor of everything the scheduler, webhooks and retention do. */
export const SYSTEM_ACTOR: AuditActor = { via: 'system', user: 'arbiter' };
/** Default and largest page of `list`. */
export const AUDIT_DEFAULT_LIMIT = 100;
export const AUDIT_MAX_LIMIT = 1000;

export const AUDIT_OBJECT_TYPES = [
  'run',
  'review',
  'monitor',
  'digest',
  'prompt',
  'job',
  'store',
  'suite',
] as const satisfies readonly AuditObjectType[];

/** The stored shape: flat, so each filter of `list` has an index on both adapters. */
const AuditDocSchema = z.object({
  _id: z.string(),
  at: z.coerce.date(),
  via: z.enum(['slack', 'cli', 'console', 'system']),
  user: z.string(),
  channel: z.string().optional(),
  team: z.string().optional(),
  action: z.string(),
  objectType: z.enum(AUDIT_OBJECT_TYPES),
  objectId: z.string(),
  summary: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});
type AuditDoc = z.infer<typeof AuditDocSchema> & Doc;

// SQLite serves each filter and its newest-first order from one of the compound indexes; nedb uses a compound index
// only when the query names every one of its fields, so the single-field ones are its candidates (test/bench/audit).
const INDEXES: IndexSpec[] = [
  // Ascending, as retention's index on `at` (storage/retention.ts): one index serves both, and on MongoDB it is the TTL
  // index (the same keys cannot be indexed twice there); either direction serves the newest-first scan.
  { fields: { at: 1 } },
  { fields: { objectType: 1, objectId: 1, at: -1 } },
  { fields: { user: 1, at: -1 } },
  { fields: { objectId: 1 } },
  { fields: { user: 1 } },
];

function toDoc(id: string, at: Date, e: AuditEntry): AuditDoc {
  const a = e.actor;
  return {
    _id: id,
    at,
    via: a.via,
    user: a.user,
    ...(a.via === 'slack' && a.channel ? { channel: a.channel } : {}),
    ...(a.via === 'slack' && a.team ? { team: a.team } : {}),
    action: e.action,
    objectType: e.object.type,
    objectId: e.object.id,
    summary: e.summary,
    ...(e.details ? { details: e.details } : {}),
  };
}

function toRecord(raw: unknown): AuditRecord {
  const parsed = AuditDocSchema.safeParse(raw);
  if (!parsed.success)
    throw new ArbiterError(
      'STORE_INVALID_DOCUMENT',
      `A stored audit record does not match its schema: ${parsed.error.issues[0]?.message}`,
    );
  const d = parsed.data;
  const actor: AuditActor =
    d.via === 'slack'
      ? {
          via: 'slack',
          user: d.user,
          ...(d.channel ? { channel: d.channel } : {}),
          ...(d.team ? { team: d.team } : {}),
        }
      : d.via === 'system'
        ? SYSTEM_ACTOR
        : { via: d.via, user: d.user };
  return {
    id: d._id,
    at: d.at,
    actor,
    action: d.action,
    object: { type: d.objectType, id: d.objectId },
    summary: d.summary,
    ...(d.details ? { details: d.details } : {}),
  };
}

function isDuplicate(err: unknown): boolean {
  return err instanceof ArbiterError && err.code === 'STORE_DUPLICATE_KEY';
}

/** Opens the audit log over a store (the collection and its indexes are made on first use). */
export function createAuditLog(
  store: DocumentStore,
  opts: { clock?: Clock | (() => Date); ids?: Ids } = {},
): AuditLog {
  const clock = opts.clock ?? systemClock;
  const now = typeof clock === 'function' ? clock : () => clock.now();
  const ids = opts.ids ?? systemIds;
  let opened: Promise<Collection<AuditDoc>> | undefined;
  const col = () => {
    opened ??= store.collection<AuditDoc>(AUDIT_COLLECTION, INDEXES).catch((err: unknown) => {
      opened = undefined;
      throw err;
    });
    return opened;
  };
  return {
    async record(entry) {
      if (!entry.action || !entry.object.id || !entry.actor.user)
        throw new ArbiterError('USAGE', 'An audit record needs an action, an object id and an actor.');
      const c = await col();
      const id = entry.key ? `k:${entry.key}` : ids.newId('aud');
      const doc = toDoc(id, entry.at ?? now(), entry);
      try {
        await c.insertOne(doc);
        return toRecord(doc);
      } catch (err) {
        if (!entry.key || !isDuplicate(err)) throw err;
        const existing = await c.findOne({ _id: id });
        if (!existing) throw err;
        return toRecord(existing);
      }
    },
    async list(query) {
      const limit = Math.min(Math.max(1, Math.floor(query.limit ?? AUDIT_DEFAULT_LIMIT)), AUDIT_MAX_LIMIT);
      const filter: Filter = {};
      if (query.objectType) filter.objectType = query.objectType;
      if (query.objectId) filter.objectId = query.objectId;
      if (query.user) filter.user = query.user;
      if (query.since) filter.at = { $gte: query.since };
      const docs = await (await col()).find(filter, { sort: { at: -1, _id: -1 }, limit });
      return docs.map(toRecord);
    },
  };
}

/**
 * Records an action that is already done (its durable write succeeded). A failure to record does not undo or fail
 * the action: it is logged at error level with the whole record, so an operator can see what the trail misses.
 */
export async function recordAudit(
  audit: Pick<AuditLog, 'record'> | undefined,
  entry: AuditEntry,
  logger: Pick<Logger, 'error'>,
): Promise<void> {
  if (!audit) return;
  try {
    await audit.record(entry);
  } catch (err) {
    logger.error(
      { err, audit: { ...entry, at: (entry.at ?? new Date()).toISOString() } },
      'audit record failed; the action itself is done',
    );
  }
}

/** The CLI's actor: ARBITER_USER, else the OS user name. */
export function cliActor(env: { ARBITER_USER?: string | undefined }): AuditActor {
  let user = env.ARBITER_USER?.trim();
  if (!user) {
    try {
      user = userInfo().username;
    } catch {
      user = 'unknown';
    }
  }
  return { via: 'cli', user: user || 'unknown' };
}

/** The actor of a button click (chat's ActionContext): the console prompt's, or a Slack user's in the clicked message's channel. */
export function clickActor(ctx: { user: string; channel?: string; via?: 'slack' | 'console' }): AuditActor {
  if (ctx.via === 'console') return { via: 'console', user: ctx.user };
  return { via: 'slack', user: ctx.user, ...(ctx.channel ? { channel: ctx.channel } : {}) };
}

/** Where an actor acted from, in a few plain words ("Slack in C123", "CLI", "console", "system"). */
export function describeVia(actor: AuditActor): string {
  if (actor.via === 'slack') return actor.channel ? `Slack in ${actor.channel}` : 'Slack';
  return actor.via === 'cli' ? 'CLI' : actor.via;
}
