// Where a tick writes: its claims, its records (state, scored items, phases), Langfuse, review tokens, the channel and
// the tick summary. A scheduled or manual tick gets the live sinks; a dry run gets sinks that keep the tick's
// records in memory over the real store (read through), claim nothing, publish nothing, and post only the report,
// marked as a dry run. The tick's phases (tick-phases.ts) are the same for both: a dry run is this substitution.
import { createHash } from 'node:crypto';
import { deliverLater, type Message } from '../chat/index.ts';
import { reportPaths } from '../config/index.ts';
import type { Score } from '../evaluators/index.ts';
import { langfuseScoreValue, type ScoreInput } from '../langfuse/index.ts';
import type { LeaseHold, Leases } from '../storage/index.ts';
import { buildTickReport, type TickReport } from './report.ts';
import { attachReviewButtons, type MonitorReviewStore, publishPendingReviews } from './review.ts';
import type { Monitor } from './schema.ts';
import {
  type MonitorStateDoc,
  type MonitorStore,
  type ScoredItemDoc,
  scoredKey,
  type TickRunDoc,
} from './store.ts';
import type { TickLogInput } from './tick-log.ts';
import type { MonitorDeps } from './tick.ts';

/** A deterministic Langfuse score id (UUID-shaped) so re-publishing upserts instead of duplicating. */
export function scoreId(monitor: string, itemId: string, metric: string): string {
  const h = createHash('sha256').update(`arbiter|${monitor}|${itemId}|${metric}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** The Langfuse scores of one stored item (none without a trace; scores that failed are not published). */
function toLangfuseScores(
  monitor: string,
  doc: { itemId: string; traceId?: string; observationId?: string; environment?: string; scores: Score[] },
): ScoreInput[] {
  if (!doc.traceId) return [];
  return doc.scores
    .filter((s) => !s.error)
    .map((s) => ({
      id: scoreId(monitor, doc.itemId, s.metric),
      traceId: doc.traceId!,
      ...(doc.observationId ? { observationId: doc.observationId } : {}),
      // The scored trace's environment, so Langfuse files the score with it (not under `default`).
      ...(doc.environment ? { environment: doc.environment } : {}),
      name: s.metric,
      // BOOLEAN for pass/fail checks, CATEGORICAL for pairwise outcomes, NUMERIC otherwise (as runs publish them).
      ...langfuseScoreValue(s),
      comment: s.reason.slice(0, 500),
      metadata: { monitor, source: 'arbiter', ...(s.label ? { label: s.label } : {}) },
    }));
}

/** The part of the monitor store a tick's phases use (tick.ts, tick-phases.ts). */
export type TickStore = Pick<
  MonitorStore,
  | 'getState'
  | 'saveState'
  | 'openTickRun'
  | 'advanceTickRun'
  | 'tickRun'
  | 'unfinishedTicks'
  | 'scoredInTick'
  | 'alreadyScored'
  | 'recordScored'
> & { reviews: Pick<MonitorReviewStore, 'decidedBetween'> };

/** Everything a tick writes, and the store it reads its own records from. */
export interface TickSinks {
  /** The tick's claim and the work lease its phases run under. */
  leases: Pick<Leases, 'holdTick' | 'finishTick' | 'hold'>;
  /** The monitor's state, scored items and tick phase records (what the phases read and write of them). */
  store: TickStore;
  /** Sends the monitor's scores not yet in Langfuse (marking each item once sent) and pending human decisions. */
  publishScores(monitor: Monitor): Promise<{ published: number; publishFailed: number }>;
  /** Registers review tokens for the items' `needs_review` scores, which puts Confirm / Override buttons on them. */
  attachReviews(input: Parameters<typeof attachReviewButtons>[0]): Promise<void>;
  /** A keyed notice to the monitor's channel (its source is failing, or reads again). */
  notify(write: { key: string; channel: string; message: Message }): Promise<void>;
  /** Whether a tick with nothing to say (nothing scored, no alert, no unusable record) still posts its report. */
  reportsEmpty(monitor: Monitor): boolean;
  /** Whether the report of a tick an attempt left in `reporting` is already in the channel. */
  reportPosted(write: { key: string; channel: string; tickTime: Date }): Promise<boolean>;
  /** Posts the tick report (one keyed write). */
  postReport(write: { key: string; channel: string; report: TickReport }): Promise<void>;
  /** Writes the tick summary digests read; false when it could not be written. */
  recordSummary(input: TickLogInput): Promise<boolean>;
}

/** The sinks of a real tick: the store, the leases, Langfuse, the transport (through the outbox) and the tick log. */
export function liveSinks(deps: MonitorDeps): TickSinks {
  return {
    leases: deps.leases,
    store: deps.store,
    async publishScores(monitor) {
      let published = 0;
      let publishFailed = 0;
      if (!monitor.publish.langfuse || !deps.langfuse) return { published, publishFailed };
      // This tick's scores and any an earlier tick could not send, each marked once sent.
      for (const doc of await deps.store.unpublished(monitor.name)) {
        const inputs = toLangfuseScores(monitor.name, doc);
        const res = inputs.length ? await deps.langfuse.publishScores(inputs) : { published: [], failed: [] };
        published += res.published.length;
        publishFailed += res.failed.length;
        if (res.failed.length === 0) await deps.store.markPublished([doc._id]);
      }
      await publishPendingReviews(monitor.name, { ...deps, reviews: deps.store.reviews });
      return { published, publishFailed };
    },
    attachReviews: (input) => attachReviewButtons(input, deps.store.reviews),
    reportsEmpty: (monitor) => monitor.publish.reportEmpty,
    async notify({ key, channel, message }) {
      await deliverLater(deps.transport, [{ key, op: 'post', channel, message }]);
    },
    async reportPosted({ key, channel, tickTime }) {
      // Through the outbox, recording the report again delivers it once; a transport that posts at once may have
      // posted it before the crash, so it is looked up by its key.
      if (deps.transport.enqueue) return false;
      return Boolean(await deps.transport.findPosted?.({ channel }, key, tickTime));
    },
    async postReport({ key, channel, report }) {
      const message = buildTickReport({
        ...report,
        reportUrl: deps.reportUrl?.(reportPaths.monitor(report.monitor)),
      });
      await deliverLater(deps.transport, [{ key, op: 'post', channel, message }]);
    },
    recordSummary: (input) => (deps.tickLog ? deps.tickLog.recordTick(input) : Promise.resolve(true)),
  };
}

/** The sinks of a dry run: records in memory over the real store, no claims, no Langfuse, the report as a preview. */
export function dryRunSinks(deps: MonitorDeps): TickSinks {
  return {
    leases: freeLeases,
    store: createDryRunStore(deps.store),
    publishScores: async () => ({ published: 0, publishFailed: 0 }),
    // No tokens: a dry run's report has no buttons to click.
    attachReviews: async () => {},
    notify: async () => {},
    // Whoever asked for a dry run sees what it found, even nothing.
    reportsEmpty: () => true,
    reportPosted: async () => false,
    async postReport({ channel, report }) {
      await deps.transport.post({ channel }, buildTickReport({ ...report, dryRun: true }));
    },
    recordSummary: async () => true,
  };
}

const heldForNothing: LeaseHold = {
  signal: new AbortController().signal,
  renew: async () => {},
  release: async () => {},
};

/** Leases that grant every claim and record nothing (a dry run claims no tick). */
const freeLeases: TickSinks['leases'] = {
  holdTick: async () => heldForNothing,
  hold: async () => heldForNothing,
  finishTick: async () => {},
};

/**
 * The tick store of a dry run: its writes stay in memory and reads see the real store with this run's writes over
 * it. A dry run records its tick's phases and scored items here, so it goes through the same phases as a real tick
 * and leaves the real store as it found it. Human decisions are read from the real store.
 */
function createDryRunStore(base: MonitorStore): TickStore {
  const scored = new Map<string, ScoredItemDoc>();
  const runs = new Map<string, TickRunDoc>();
  const states = new Map<string, MonitorStateDoc>();
  const byTime = (a: ScoredItemDoc, b: ScoredItemDoc) =>
    a.scoredAt.getTime() - b.scoredAt.getTime() || (a.itemId < b.itemId ? -1 : a.itemId > b.itemId ? 1 : 0);
  const copy = <T>(value: T): T => structuredClone(value);
  return {
    reviews: { decidedBetween: (from, to, monitor) => base.reviews.decidedBetween(from, to, monitor) },
    async alreadyScored(source, monitor, ids) {
      const out = await base.alreadyScored(source, monitor, ids);
      for (const id of ids) if (scored.has(scoredKey(source, monitor, id))) out.add(id);
      return out;
    },
    async recordScored(doc) {
      const _id = scoredKey(doc.source, doc.monitor, doc.itemId);
      if (scored.has(_id)) return false;
      scored.set(_id, { _id, ...copy(doc) });
      return true;
    },
    async scoredInTick(monitor, tick) {
      return [...scored.values()]
        .filter((d) => d.monitor === monitor && d.tick === tick)
        .sort(byTime)
        .map(copy);
    },
    async tickRun(id) {
      const run = runs.get(id);
      return run ? copy(run) : null;
    },
    async openTickRun(run) {
      const before = runs.get(run._id);
      const doc: TickRunDoc = before
        ? { ...before, attempts: before.attempts + 1, updatedAt: run.now }
        : {
            _id: run._id,
            monitor: run.monitor,
            tickTime: run.tickTime,
            backfill: run.backfill,
            phase: 'scoring',
            attempts: 1,
            startedAt: run.now,
            updatedAt: run.now,
          };
      runs.set(run._id, doc);
      return copy(doc);
    },
    async advanceTickRun(id, phase, fields, now) {
      const run = runs.get(id);
      if (!run) return;
      const next: TickRunDoc = { ...run, phase, updatedAt: now };
      for (const [k, v] of Object.entries(fields)) if (v !== undefined) Object.assign(next, { [k]: copy(v) });
      if (phase === 'done') delete next.cursor;
      runs.set(id, next);
    },
    async unfinishedTicks(monitor) {
      return [...runs.values()]
        .filter((r) => r.monitor === monitor && r.phase !== 'done')
        .sort((a, b) => a.tickTime.getTime() - b.tickTime.getTime())
        .map(copy);
    },
    async getState(monitor) {
      const state = states.get(monitor);
      return state ? copy(state) : base.getState(monitor);
    },
    async saveState(state) {
      states.set(state._id, copy(state));
    },
  };
}
