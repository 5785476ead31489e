// Monitor persistence: the scored-items store (dedup by a unique _id), per-monitor state (cursor, alerts) and the
// record of each tick's phases (so a tick an attempt left half-done is finished by the next one).
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
  /** The tick run that scored it (its TickRunDoc id); absent on items stored by older versions. */
  tick?: string;
  scoredAt: Date;
  scores: Score[];
  /** False until its scores reached Langfuse (when the monitor publishes there). */
  published: boolean;
  traceId?: string;
  observationId?: string;
  /** Langfuse environment of the scored trace; its published scores carry it (absent: Langfuse files them in default). */
  environment?: string;
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

/**
 * The phases of a tick, in order; each is recorded once reached. `scoring`: items are being scored and stored with
 * the tick's time; `scored`: all of them are, with what the read found; `evaluated`: stats and alerts computed and
 * kept (so they are applied once); `reporting`: the report is being posted (it may be in the channel); `reported`;
 * `done`: the tick summary is written.
 */
export type TickPhase = 'scoring' | 'scored' | 'evaluated' | 'reporting' | 'reported' | 'done';

/** What a tick's read found, kept so an attempt that resumes after scoring reports it as the first one saw it. */
export interface TickReadRecord {
  read: number;
  /** The first records (invalid, then unmatched) the extractor could not use, and how many there were. */
  bad: { id: string; reason: string }[];
  badCount: number;
  alreadyScored: number;
  sampled: number;
  overBudget: number;
  duplicates: number;
  notes?: string[];
}

/** One tick's progress through its phases (`monitor_tick_runs`; `_id`: see tickRunId in tick.ts). */
export interface TickRunDoc extends Doc {
  monitor: string;
  tickTime: Date;
  backfill: boolean;
  phase: TickPhase;
  attempts: number;
  startedAt: Date;
  updatedAt: Date;
  /** From `scored`: what the read found. */
  read?: TickReadRecord;
  /** From `scored`, when the tick moves the watermark: the source's cursor after the read. */
  cursor?: unknown;
  moveCursor?: boolean;
  /** From `evaluated`: stats, previous stats, history, alert states and events (JSON: names may hold dots). */
  evaluationJson?: string;
}

const OPEN_PHASES: readonly TickPhase[] = ['scoring', 'scored', 'evaluated', 'reporting', 'reported'];

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
  /** The items a tick run scored (stored with its id), in the order they were scored. */
  scoredInTick(monitor: string, tick: string): Promise<ScoredItemDoc[]>;
  /** A tick's phase record, if it has one. */
  tickRun(id: string): Promise<TickRunDoc | null>;
  /** Creates a tick's record in phase `scoring` (or counts another attempt of it) and returns it. */
  openTickRun(run: {
    _id: string;
    monitor: string;
    tickTime: Date;
    backfill: boolean;
    now: Date;
  }): Promise<TickRunDoc>;
  /** Records that a tick reached `phase`, with what that phase keeps; `done` drops what only resuming needed. */
  advanceTickRun(
    id: string,
    phase: TickPhase,
    fields: Partial<Pick<TickRunDoc, 'read' | 'cursor' | 'moveCursor' | 'evaluationJson'>>,
    now: Date,
  ): Promise<void>;
  /** Ticks of a monitor an attempt left before `done`, oldest first. */
  unfinishedTicks(monitor: string): Promise<TickRunDoc[]>;
  markPublished(ids: readonly string[]): Promise<void>;
  getState(monitor: string): Promise<MonitorStateDoc>;
  saveState(state: MonitorStateDoc): Promise<void>;
  /** Pauses or resumes a monitor's scheduled ticks; persisted, so it survives restarts and applies to all replicas. */
  setPaused(monitor: string, paused: boolean, by: { user: string; at: Date }): Promise<void>;
  countScored(monitor: string): Promise<number>;
  /** The `limit` items of a monitor scored last, newest first (the report page). */
  latestScored(monitor: string, limit: number): Promise<ScoredItemDoc[]>;
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
    { fields: { monitor: 1, tick: 1 } },
    // The report page's latest items of a monitor, newest first, without sorting every item it ever scored.
    { fields: { monitor: 1, scoredAt: -1 } },
  ]);
  const tickRuns: Collection<TickRunDoc> = await store.collection<TickRunDoc>('monitor_tick_runs', [
    { fields: { monitor: 1, phase: 1 } },
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
    latestScored(monitor, limit) {
      return scored.find({ monitor }, { sort: { scoredAt: -1 }, limit });
    },
    async scoredInTick(monitor, tick) {
      const docs = await scored.find({ monitor, tick });
      return docs.sort(
        (a, b) =>
          a.scoredAt.getTime() - b.scoredAt.getTime() ||
          (a.itemId < b.itemId ? -1 : a.itemId > b.itemId ? 1 : 0),
      );
    },
    tickRun(id) {
      return tickRuns.findOne({ _id: id });
    },
    async openTickRun(run) {
      const doc = await tickRuns.findOneAndUpdate(
        { _id: run._id },
        {
          $setOnInsert: {
            monitor: run.monitor,
            tickTime: run.tickTime,
            backfill: run.backfill,
            phase: 'scoring',
            startedAt: run.now,
          },
          $set: { updatedAt: run.now },
          $inc: { attempts: 1 },
        },
        { upsert: true, returnDocument: 'after' },
      );
      if (!doc) throw new ArbiterError('STORE_UNAVAILABLE', `could not record tick ${run._id}`);
      return doc;
    },
    async advanceTickRun(id, phase, fields, now) {
      const set: Record<string, unknown> = { phase, updatedAt: now };
      for (const [k, v] of Object.entries(fields)) if (v !== undefined) set[k] = v;
      await tickRuns.updateOne(
        { _id: id },
        {
          $set: set,
          ...(phase === 'done' ? { $unset: { cursor: true as const } } : {}),
        },
      );
    },
    async unfinishedTicks(monitor) {
      const docs = await tickRuns.find({ monitor, phase: { $in: [...OPEN_PHASES] } });
      return docs.sort((a, b) => a.tickTime.getTime() - b.tickTime.getTime());
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
