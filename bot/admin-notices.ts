// "Tell the admins once": the one notifier for problems only an admin can fix (a Slack scope missing, a token
// refused, Slack refusing our rendering, deliveries failing in a channel nobody asked about). A problem has a key;
// the first report of it is logged at error level (`adminAlert: true`) and sent to each admin (ARBITER_ADMINS users)
// by DM. Later reports of the same problem are only counted, until the problem changes (its fingerprint: another
// reason, another scope) or it has been quiet for `quietMs` and comes back. What was told is kept in the store
// (collection `admin_notices`), so a restart does not tell it again; without a store it is kept in memory.
import { escapeMrkdwn, type Message } from '../chat/index.ts';
import { isArbiterError, type Logger, type Clock, systemClock } from '../config/index.ts';
import type { Collection, DocumentStore } from '../storage/index.ts';

/** Collection of problems told to the admins. */
export const ADMIN_NOTICES_COLLECTION = 'admin_notices';

/** Default quiet period after which a problem that comes back is told again: a day. */
export const ADMIN_NOTICE_QUIET_MS = 24 * 60 * 60_000;

/** One problem for the admins. */
export interface AdminProblem {
  /** Which problem it is, stable across reports: `slack:missing_scope:groups:history`, `delivery:not_in_channel:C1`. */
  key: string;
  /** What it is now; a change (another code or reason) tells the admins again. Default: `text`. */
  fingerprint?: string;
  /** The problem and its fix, in one or two sentences (logged, and the DM's text). */
  text: string;
  /** The DM's title (default: "Arbiter needs an admin"). */
  title?: string;
  /** The DM itself, when it is more than title and text. */
  message?: Message;
  /** Fields for the log line (method, channel, scope…); never secrets. */
  detail?: Record<string, unknown>;
}

/** The notifier. */
export interface AdminNotifier {
  /** Tells the admins about `problem` unless it was told and has not changed or gone quiet since; true if told now. */
  tell(problem: AdminProblem): Promise<boolean>;
}

/** Options of the notifier. */
export interface AdminNotifierOptions {
  /** Where told problems are kept (absent: memory only, forgotten on restart). */
  store?: DocumentStore;
  /** Admin user ids (U…/W…; user-group ids are skipped), read at each report. */
  admins: () => readonly string[];
  /** Sends the DM to one admin; `id` is an idempotency key for it. Absent: the log line is the only notice. */
  send?: (user: string, message: Message, id: string) => Promise<unknown>;
  logger: Logger;
  /** How long a problem must be quiet before it is told again (default a day). */
  quietMs?: number;
  clock?: Pick<Clock, 'now'>;
}

interface NoticeDoc {
  _id: string;
  fingerprint: string;
  toldAt: Date;
  lastSeenAt: Date;
  count: number;
}

/** The storage the notifier needs: get, insert-if-absent, and a conditional replace. */
interface NoticeRecords {
  get(key: string): Promise<NoticeDoc | null>;
  /** false when another report inserted it first. */
  insert(doc: NoticeDoc): Promise<boolean>;
  /** Sets `set` only if the record still has `seenAt` as lastSeenAt (no other report came between); false if not. */
  claim(key: string, seenAt: Date, set: Partial<NoticeDoc>): Promise<boolean>;
  seen(key: string, at: Date): Promise<void>;
}

function memoryRecords(): NoticeRecords {
  const docs = new Map<string, NoticeDoc>();
  return {
    async get(key) {
      return docs.get(key) ?? null;
    },
    async insert(doc) {
      if (docs.has(doc._id)) return false;
      docs.set(doc._id, { ...doc });
      return true;
    },
    async claim(key, seenAt, set) {
      const d = docs.get(key);
      if (!d || d.lastSeenAt.getTime() !== seenAt.getTime()) return false;
      docs.set(key, { ...d, ...set, count: d.count + 1 });
      return true;
    },
    async seen(key, at) {
      const d = docs.get(key);
      if (d) docs.set(key, { ...d, lastSeenAt: at, count: d.count + 1 });
    },
  };
}

async function storeRecords(store: DocumentStore): Promise<NoticeRecords> {
  const col: Collection<NoticeDoc> = await store.collection<NoticeDoc>(ADMIN_NOTICES_COLLECTION);
  return {
    get: (key) => col.findOne({ _id: key }),
    async insert(doc) {
      try {
        await col.insertOne(doc);
        return true;
      } catch (err) {
        if (isArbiterError(err, 'STORE_DUPLICATE_KEY')) return false;
        throw err;
      }
    },
    async claim(key, seenAt, set) {
      const after = await col.findOneAndUpdate(
        { _id: key, lastSeenAt: seenAt },
        { $set: set, $inc: { count: 1 } },
      );
      return after !== null;
    },
    async seen(key, at) {
      await col.updateOne({ _id: key }, { $set: { lastSeenAt: at }, $inc: { count: 1 } });
    },
  };
}

/** Creates the notifier (over the store when one is given). */
export async function createAdminNotifier(options: AdminNotifierOptions): Promise<AdminNotifier> {
  return notifierOver(options.store ? await storeRecords(options.store) : memoryRecords(), options);
}

/** A notifier kept in memory (Slack pieces built without a store: tests, embedding). */
export function createMemoryAdminNotifier(options: Omit<AdminNotifierOptions, 'store'>): AdminNotifier {
  return notifierOver(memoryRecords(), options);
}

function notifierOver(records: NoticeRecords, options: AdminNotifierOptions): AdminNotifier {
  const { logger } = options;
  const quietMs = options.quietMs ?? ADMIN_NOTICE_QUIET_MS;
  const clock = options.clock ?? systemClock;
  return {
    async tell(problem) {
      const at = clock.now();
      const fingerprint = problem.fingerprint ?? problem.text;
      const before = await records.get(problem.key);
      const changed = before !== null && before.fingerprint !== fingerprint;
      const cameBack = before !== null && at.getTime() - before.lastSeenAt.getTime() > quietMs;
      if (before && !changed && !cameBack) {
        await records.seen(problem.key, at);
        logger.debug({ problem: problem.key, ...problem.detail }, problem.text);
        return false;
      }
      // One report wins the right to tell (two workers, two replicas): the insert, or the replace of what it read.
      const won = before
        ? await records.claim(problem.key, before.lastSeenAt, { fingerprint, toldAt: at, lastSeenAt: at })
        : await records.insert({ _id: problem.key, fingerprint, toldAt: at, lastSeenAt: at, count: 1 });
      if (!won) return false;
      logger.error({ adminAlert: true, problem: problem.key, ...problem.detail }, problem.text);
      const admins = options.admins().filter((id) => /^[UW]/.test(id));
      if (!options.send) return true;
      if (admins.length === 0) {
        logger.error(
          { problem: problem.key },
          'an admin problem was not sent to anyone: ARBITER_ADMINS lists no user',
        );
        return true;
      }
      const message: Message = problem.message ?? {
        title: problem.title ?? 'Arbiter needs an admin',
        summary: problem.text,
        sections: [{ kind: 'text', text: escapeMrkdwn(problem.text) }],
      };
      for (const admin of admins)
        await options
          .send(admin, message, `notice:${problem.key}:${at.getTime()}:${admin}`.slice(0, 200))
          .catch((err: unknown) => logger.warn({ err, admin }, 'could not tell an admin about a problem'));
      return true;
    },
  };
}
