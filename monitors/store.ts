// Monitor persistence: the scored-items store (dedup by a unique _id) and per-monitor state (cursor, alerts).
import { ArbiterError } from '../config/index.ts';
import type { Score } from '../evaluators/index.ts';
import type { Collection, Doc, DocumentStore } from '../storage/index.ts';
import type { AlertState, TickStats } from './alerts.ts';
import { createMonitorReviewStore, type MonitorReviewStore } from './review.ts';

/** One item scored by one monitor; `_id` = source|monitor|item id, so a second insert fails on the unique key. */
export interface ScoredItemDoc extends Doc {
  monitor: string;
  source: string;
  itemId: string;
  tickTime: Date;
  scoredAt: Date;
  scores: Score[];
  /** False until its scores reached Langfuse (when the monitor publishes there). */
  published: boolean;
  traceId?: string;
  observationId?: string;
  url?: string;
  input: string;
  output: string;
}

/** State a monitor carries from tick to tick. */
export interface MonitorStateDoc extends Doc {
  cursor?: unknown;
  alerts: Record<string, AlertState>;
  /** Recent tick stats, oldest first (bounded), for deltas and rolling windows. */
  history: TickStats[];
  failing: boolean;
  lastError?: string;
  lastTickTime?: Date;
  /** Set by `monitor pause`: the scheduler skips this monitor's ticks (every replica reads it at tick time). */
  paused?: boolean;
  pausedBy?: string;
  pausedAt?: Date;
}

/** The fields only `setPaused` writes; a tick's `saveState` never touches them, so a pause during a tick sticks. */
const PAUSE_FIELDS = ['paused', 'pausedBy', 'pausedAt'] as const;

const HISTORY_LIMIT = 50;

type StoredAlert = AlertState & { rule: string };

/** The key that makes an item scored once per monitor, ever. */
export function scoredKey(source: string, monitor: string, itemId: string): string {
  return `${source}|${monitor}|${itemId}`;
}

/** Repository of scored items and monitor state. */
export interface MonitorStore {
  /** Ids (of `ids`) this monitor already scored from this source. */
  alreadyScored(source: string, monitor: string, ids: readonly string[]): Promise<Set<string>>;
  /** Records a scored item; false when it was already there (another replica or an earlier attempt won). */
  recordScored(doc: Omit<ScoredItemDoc, '_id'>): Promise<boolean>;
  unpublished(monitor: string): Promise<ScoredItemDoc[]>;
  markPublished(ids: readonly string[]): Promise<void>;
  getState(monitor: string): Promise<MonitorStateDoc>;
  saveState(state: MonitorStateDoc): Promise<void>;
  /** Pauses or resumes a monitor's scheduled ticks; persisted, so it survives restarts and applies to all replicas. */
  setPaused(monitor: string, paused: boolean, by: { user: string; at: Date }): Promise<void>;
  countScored(monitor: string): Promise<number>;
  /** One scored item (to redraw a report message after a review). */
  getScored(source: string, monitor: string, itemId: string): Promise<ScoredItemDoc | null>;
  /** Review tokens and human decisions on `needs_review` scores. */
  reviews: MonitorReviewStore;
  /** Inserts pre-scored docs in bulk (benchmarks and imports). */
  seedScored(docs: readonly ScoredItemDoc[]): Promise<void>;
}

/** Opens the `monitor_scored` and `monitor_state` collections. */
export async function createMonitorStore(store: DocumentStore): Promise<MonitorStore> {
  const scored: Collection<ScoredItemDoc> = await store.collection<ScoredItemDoc>('monitor_scored', [
    { fields: { monitor: 1, published: 1 } },
  ]);
  const states = await store.collection<MonitorStateDoc>('monitor_state');
  const reviews = await createMonitorReviewStore(store);
  return {
    reviews,
    getScored(source, monitor, itemId) {
      return scored.findOne({ _id: scoredKey(source, monitor, itemId) });
    },
    async alreadyScored(source, monitor, ids) {
      const out = new Set<string>();
      const CHUNK = 1000;
      for (let i = 0; i < ids.length; i += CHUNK) {
        const keys = ids.slice(i, i + CHUNK).map((id) => scoredKey(source, monitor, id));
        for (const d of await scored.find({ _id: { $in: keys } })) out.add(d.itemId);
      }
      return out;
    },
    async recordScored(doc) {
      try {
        await scored.insertOne({ _id: scoredKey(doc.source, doc.monitor, doc.itemId), ...doc });
        return true;
      } catch (err) {
        if (err instanceof ArbiterError && err.code === 'STORE_DUPLICATE_KEY') return false;
        throw err;
      }
    },
    unpublished(monitor) {
      return scored.find({ monitor, published: false });
    },
    async markPublished(ids) {
      if (ids.length > 0) await scored.updateMany({ _id: { $in: [...ids] } }, { $set: { published: true } });
    },
    async getState(monitor) {
      const doc = (await states.findOne({ _id: monitor })) as
        | (MonitorStateDoc & { alertList?: StoredAlert[] })
        | null;
      if (!doc) return { _id: monitor, alerts: {}, history: [], failing: false };
      // A doc written only by `setPaused` has no tick fields yet.
      const { alertList = [], history = [], failing = false, ...rest } = doc;
      // Rule names may contain dots, which document stores read as paths: they are stored as a list.
      return {
        ...rest,
        history,
        failing,
        alerts: Object.fromEntries(alertList.map(({ rule, ...st }) => [rule, st])),
      };
    },
    async saveState(state) {
      const { _id, alerts, ...rest } = state;
      const set: Record<string, unknown> = Object.fromEntries(
        Object.entries(rest).filter(
          ([k, v]) => v !== undefined && !(PAUSE_FIELDS as readonly string[]).includes(k),
        ),
      );
      set.alertList = Object.entries(alerts).map(([rule, st]) => ({ rule, ...st })) satisfies StoredAlert[];
      set.alerts = {};
      await states.updateOne(
        { _id },
        {
          $set: { ...set, history: rest.history.slice(-HISTORY_LIMIT) },
          ...(rest.lastError === undefined ? { $unset: { lastError: true as const } } : {}),
        },
        { upsert: true },
      );
    },
    async setPaused(monitor, paused, by) {
      await states.updateOne(
        { _id: monitor },
        paused
          ? { $set: { paused: true, pausedBy: by.user, pausedAt: by.at } }
          : { $set: { paused: false }, $unset: { pausedBy: true, pausedAt: true } },
        { upsert: true },
      );
    },
    countScored(monitor) {
      return scored.count({ monitor });
    },
    async seedScored(docs) {
      await scored.insertMany(docs);
    },
  };
}
