// The tick runner: claim the tick, read the source from its watermark, extract, dedup, sample, score, store,
// publish, alert and report, in phases recorded on the tick (store.ts, TickPhase) so that a tick an attempt left
// half-done is finished by the next one. The watermark only moves after everything it covers is stored.
import { createHash } from 'node:crypto';
import { deliverLater, type Transport } from '../chat/index.ts';
import {
  type Clock,
  createSilentLogger,
  describeError,
  type Logger,
  reportPaths,
  type ReportUrl,
} from '../config/index.ts';
import {
  createMetricFromSpec,
  type Item,
  type Metric,
  type Score,
  toMetricSpec,
} from '../evaluators/index.ts';
import { type LangfuseClient, langfuseScoreValue, type ScoreInput } from '../langfuse/index.ts';
import { type Llm, withJudged } from '../llm/index.ts';
import type { Leases } from '../storage/index.ts';
import {
  type AlertEvent,
  type AlertState,
  evaluateAlerts,
  type TickStats,
  withHumanDecisions,
} from './alerts.ts';
import { extractItem, extractPaths } from './extract.ts';
import { buildFailingMessage, buildTickReport, type ReportItem } from './report.ts';
import { attachReviewButtons, humanAdjustments, publishPendingReviews } from './review.ts';
import { sampleItems } from './sampling.ts';
import { dueTick } from './schedule.ts';
import type { Monitor } from './schema.ts';
import { createSource, type SourceDeps, type SourceRecord } from './sources.ts';
import type { MonitorStateDoc, MonitorStore, TickReadRecord, TickRunDoc } from './store.ts';
import { tickLogId } from './tick-log.ts';

/** What the runner needs; production and tests build it. */
export interface MonitorDeps {
  store: MonitorStore;
  leases: Leases;
  transport: Transport;
  clock: Clock;
  /** This replica's name in tick claims. */
  owner: string;
  llm?: Llm;
  judgeModel?: string;
  langfuse?: LangfuseClient;
  langfuseBaseUrl?: string;
  logger?: Logger;
  baseDir?: string;
  sleep?: SourceDeps['sleep'];
  /** Bot token and API base for `slack` sources (SLACK_BOT_TOKEN, SLACK_API_URL). */
  slack?: SourceDeps['slack'];
  /** Items scored at once (default 4). */
  concurrency?: number;
  /** Where each finished tick's summary goes (`monitor_ticks`, read by digests); none = not recorded. */
  tickLog?: import('./tick-log.ts').TickLog;
  /** The audit trail: pauses, resumes, manual runs and score overrides are recorded there. */
  audit?: Pick<import('../audit/index.ts').AuditLog, 'record'>;
  /** The signed URL of a report page (PUBLIC_URL set): tick reports carry an *Open report* button. */
  reportUrl?: ReportUrl;
  /** Largest field of a source record in bytes (RECORD_FIELD_MAX_BYTES); a larger one makes the record unusable. */
  maxFieldBytes?: number;
}

/** How one tick ended. */
export type TickOutcome =
  | { status: 'skipped'; reason: string }
  | { status: 'failed'; tickTime: Date; error: string }
  | {
      status: 'succeeded';
      tickTime: Date;
      read: number;
      scored: number;
      duplicates: number;
      alreadyScored: number;
      unmatched: number;
      published: number;
      publishFailed: number;
      overBudget: number;
      stats: TickStats;
    };

/** Lease name of a monitor's ticks. */
export const tickLeaseName = (monitor: string) => `monitor:${monitor}`;

/** A deterministic Langfuse score id (UUID-shaped) so re-publishing upserts instead of duplicating. */
export function scoreId(monitor: string, itemId: string, metric: string): string {
  const h = createHash('sha256').update(`arbiter|${monitor}|${itemId}|${metric}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Builds the metrics of a monitor; errors name the metric. */
export function buildMetrics(
  monitor: Monitor,
  deps: Pick<MonitorDeps, 'llm' | 'judgeModel' | 'logger' | 'baseDir'>,
): { ok: true; metrics: { metric: Metric; threshold: number }[] } | { ok: false; error: string } {
  const out: { metric: Metric; threshold: number }[] = [];
  // Files a metric names (a custom module, a schemaPath) are relative to the monitor file, like the rest of it.
  const baseDir = monitor.dir ?? deps.baseDir;
  for (const [i, m] of monitor.metrics.entries()) {
    const spec = toMetricSpec(m);
    const made = createMetricFromSpec(spec, {
      ...(baseDir ? { baseDir } : {}),
      ...(deps.llm ? { llm: deps.llm } : {}),
      ...(deps.judgeModel ? { judgeModel: deps.judgeModel } : {}),
      ...(deps.logger ? { logger: deps.logger } : {}),
    });
    if (!made.ok) return { ok: false, error: `metrics[${i}]: ${made.error}` };
    // An advisory metric (`gate: false`) is scored and reported but never fails an item: its threshold is 0.
    out.push({ metric: made.graded.metric, threshold: spec.gate ? spec.threshold : 0 });
  }
  return { ok: true, metrics: out };
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

type Extracted = { rec: SourceRecord; item: Item & { id: string } };

function statsOf(scored: readonly { scores: Score[] }[], thresholds: Map<string, number>): TickStats {
  const sums: Record<string, number> = {};
  const counts: Record<string, number> = {};
  let failing = 0;
  for (const s of scored) {
    let fails = false;
    for (const sc of s.scores) {
      if (sc.error) {
        fails = true;
        continue;
      }
      sums[sc.metric] = (sums[sc.metric] ?? 0) + sc.value;
      counts[sc.metric] = (counts[sc.metric] ?? 0) + 1;
      if (sc.value < (thresholds.get(sc.metric) ?? 0.5)) fails = true;
    }
    if (fails) failing += 1;
  }
  const means = Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / counts[k]!]));
  return { means, counts, failing, scored: scored.length };
}

/** The alert history with the human decisions made on its ticks' items (the stored history keeps judge values). */
export async function historyWithDecisions(
  history: readonly TickStats[],
  monitor: string,
  reviews: Pick<MonitorStore['reviews'], 'decidedBetween'>,
  now: Date,
): Promise<TickStats[]> {
  const first = history.find((t) => t.tickTime !== undefined)?.tickTime;
  if (!first) return [...history];
  const decided = await reviews.decidedBetween(new Date(first), new Date(now.getTime() + 1), monitor);
  return decided.length ? withHumanDecisions(history, monitor, humanAdjustments(decided)) : [...history];
}

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

/** Options of one tick. */
export interface TickOptions {
  /** Read and score but store, publish and post nothing (prints via `onReport`). */
  dryRun?: boolean;
  /** Backfill: read from this date instead of the watermark; leaves the watermark, alerts and history alone. */
  since?: Date;
  /** Skip claiming the tick (dry runs). */
  noLease?: boolean;
}

/**
 * Runs one tick of a monitor at `tickTime`. Exactly one caller per (monitor, tickTime) proceeds (lease claim);
 * a source failure is recorded on the tick, alerted once, and retried next tick from the same watermark.
 */
export async function runTick(
  monitor: Monitor,
  tickTime: Date,
  deps: MonitorDeps,
  options: TickOptions = {},
): Promise<TickOutcome> {
  const logger = deps.logger ?? createSilentLogger();
  // Backfills claim their own ticks so they never stand in for (or block) a scheduled tick.
  const leaseName = options.since ? `monitor-backfill:${monitor.name}` : tickLeaseName(monitor.name);
  const claim = !options.dryRun && !options.noLease;
  // The claim is renewed by heartbeat while the tick runs; if this replica dies, it lapses and the next wake-up
  // (of any replica) takes the tick over instead of leaving it claimed forever.
  const hold = claim ? await deps.leases.holdTick(leaseName, tickTime, deps.owner) : undefined;
  if (claim && !hold) {
    return { status: 'skipped', reason: `tick ${tickTime.toISOString()} already claimed` };
  }
  try {
    const outcome = await tickBody(monitor, tickTime, deps, options, logger);
    if (claim) {
      await deps.leases.finishTick(leaseName, tickTime, {
        ok: outcome.status === 'succeeded',
        ...(outcome.status === 'failed' ? { error: outcome.error } : {}),
        ...(outcome.status === 'succeeded'
          ? { summary: { read: outcome.read, scored: outcome.scored, failing: outcome.stats.failing } }
          : {}),
      });
    }
    return outcome;
  } catch (err) {
    const error = describeError(err);
    logger.error({ monitor: monitor.name, err }, 'monitor tick failed');
    if (claim) await deps.leases.finishTick(leaseName, tickTime, { ok: false, error }).catch(() => {});
    return { status: 'failed', tickTime, error };
  } finally {
    await hold?.release();
  }
}

/** The lease under which one tick's phases run (renewed by heartbeat; a dead holder's lapses after 30 s). */
const tickWorkLease = (id: string) => `monitor-tick:${id}`;

/** The id of a tick's phase record (and of its scored items' `tick`): a backfill is a tick of its own. */
const tickRunId = (monitor: string, tickTime: Date, backfill: boolean) =>
  `${tickLogId(monitor, tickTime)}${backfill ? '|backfill' : ''}`;

/** How many unusable records a tick keeps for its report (the report lists 20). */
const BAD_KEPT = 20;

/** Stats, alert states and events of a tick, computed once and kept on its record. */
interface Evaluation {
  stats: TickStats;
  previous?: TickStats;
  history: TickStats[];
  states: Record<string, AlertState>;
  events: AlertEvent[];
}

type ScoredItem = ReportItem & {
  rec: Pick<SourceRecord, 'traceId' | 'observationId' | 'environment' | 'url'>;
};

/** Scores `toScore` with the monitor's metrics; unless `record` is false, stores each one with the tick's time. */
async function scoreAll(
  toScore: readonly Extracted[],
  ctx: {
    monitor: Monitor;
    metrics: { metric: Metric; threshold: number }[];
    deps: MonitorDeps;
    sourceKey: string;
    tickTime: Date;
    /** The tick run the items are stored with; absent: nothing is stored (dry run). */
    tick?: string;
    judgeCost: number;
  },
): Promise<{ items: ScoredItem[]; duplicates: number; overBudget: number; judgeCost: number }> {
  const { monitor, metrics, deps } = ctx;
  let judgeCost = ctx.judgeCost;
  const maxCost = monitor.budget.maxJudgeCost ?? Number.POSITIVE_INFINITY;
  const items: ScoredItem[] = [];
  let duplicates = 0;
  let overBudget = 0;
  await mapLimit(toScore, deps.concurrency ?? 4, async (e) => {
    if (judgeCost >= maxCost) {
      overBudget += 1;
      return;
    }
    const scores: Score[] = [...(e.rec.scores ?? [])];
    for (const m of metrics) {
      // A judge's generation (LLM_TRACE) names the Langfuse trace it scored; it never writes into that trace.
      const judged = e.rec.traceId
        ? { traceId: e.rec.traceId, ...(e.rec.observationId ? { observationId: e.rec.observationId } : {}) }
        : undefined;
      const s = await withJudged(judged, () => m.metric.score(e.item));
      judgeCost += s.cost ?? 0;
      scores.push(s);
    }
    const output =
      typeof e.item.output === 'string' ? e.item.output : e.item.output.map((t) => t.content).join('\n');
    if (ctx.tick) {
      const inserted = await deps.store.recordScored({
        monitor: monitor.name,
        source: ctx.sourceKey,
        itemId: e.item.id,
        tickTime: ctx.tickTime,
        tick: ctx.tick,
        scoredAt: deps.clock.now(),
        scores,
        published: !monitor.publish.langfuse,
        input: e.item.input.slice(0, 2000),
        output: output.slice(0, 2000),
        ...(e.rec.traceId ? { traceId: e.rec.traceId } : {}),
        ...(e.rec.observationId ? { observationId: e.rec.observationId } : {}),
        ...(e.rec.environment ? { environment: e.rec.environment } : {}),
        ...(e.rec.url ? { url: e.rec.url } : {}),
      });
      if (!inserted) {
        duplicates += 1;
        return;
      }
    }
    items.push({
      id: e.item.id,
      input: e.item.input,
      output,
      scores,
      rec: e.rec,
      ...(e.rec.url ? { url: e.rec.url } : {}),
    });
  });
  return { items, duplicates, overBudget, judgeCost };
}

/** Stats of a tick and the alert evaluation they lead to (backfills and empty ticks move no alert window). */
async function evaluate(
  monitor: Monitor,
  tickTime: Date,
  items: readonly { scores: Score[] }[],
  thresholds: Map<string, number>,
  state: MonitorStateDoc,
  backfill: boolean,
  deps: MonitorDeps,
): Promise<Evaluation> {
  const stats: TickStats = { ...statsOf(items, thresholds), tickTime: tickTime.toISOString() };
  const previous = state.history.at(-1);
  // Backfills and empty ticks do not move alert windows: no data says nothing about quality.
  const history = backfill || stats.scored === 0 ? state.history : [...state.history, stats];
  const { states, events } =
    backfill || stats.scored === 0
      ? { states: state.alerts, events: [] }
      : evaluateAlerts(
          monitor.alerts,
          state.alerts,
          monitor.alerts.some((r) => r.on === 'mean')
            ? await historyWithDecisions(history, monitor.name, deps.store.reviews, tickTime)
            : history,
          tickTime,
        );
  return { stats, ...(previous ? { previous } : {}), history, states, events };
}

/** Reads the monitor's source, or says why it cannot; failures are posted once and recorded (not in dry runs). */
async function readSource(
  monitor: Monitor,
  tickTime: Date,
  deps: MonitorDeps,
  options: TickOptions,
  state: MonitorStateDoc,
  logger: Logger,
) {
  const dry = options.dryRun === true;
  const backfill = options.since !== undefined;
  const made = createSource(monitor.source, {
    ...(deps.langfuse ? { langfuse: deps.langfuse } : {}),
    ...(deps.langfuseBaseUrl ? { langfuseBaseUrl: deps.langfuseBaseUrl } : {}),
    ...(deps.baseDir ? { baseDir: deps.baseDir } : {}),
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
    ...(deps.slack ? { slack: deps.slack } : {}),
    ...(deps.logger ? { logger: deps.logger } : {}),
    extractPaths: extractPaths(monitor.extract),
    now: () => deps.clock.now().getTime(),
  });
  const metricsMade = buildMetrics(monitor, deps);
  const configError = !made.ok ? made.error : !metricsMade.ok ? metricsMade.error : undefined;
  const read = made.ok
    ? await made.source.read(state.cursor, tickTime, backfill ? { since: options.since! } : {})
    : undefined;
  if (configError || !read || !read.ok || !made.ok || !metricsMade.ok) {
    const error = configError ?? (read && !read.ok ? read.error : 'unknown source error');
    if (!dry && !backfill) {
      if (!state.failing)
        await deliverLater(deps.transport, [
          {
            key: `monitor-failing|${monitor.name}|${tickTime.toISOString()}`,
            op: 'post',
            channel: monitor.publish.channel,
            message: buildFailingMessage(monitor.name, error, tickTime),
          },
        ]);
      await deps.store.saveState({ ...state, failing: true, lastError: error, lastTickTime: tickTime });
      // Digests count failed ticks too (the summary holds the reason and no items).
      await deps.tickLog?.recordTick({
        monitor: monitor.name,
        tickTime,
        finishedAt: deps.clock.now(),
        status: 'failed',
        error,
        read: 0,
        items: [],
        thresholds: new Map(),
        events: [],
      });
    }
    logger.warn(
      { monitor: monitor.name, error },
      'monitor source failed; will retry from the same watermark',
    );
    return { ok: false as const, error };
  }
  if (state.failing && !dry && !backfill) {
    await deliverLater(deps.transport, [
      {
        key: `monitor-recovered|${monitor.name}|${tickTime.toISOString()}`,
        op: 'post',
        channel: monitor.publish.channel,
        message: buildFailingMessage(monitor.name, undefined, tickTime),
      },
    ]);
    state.failing = false;
    delete state.lastError;
    // Recorded at once: an attempt that resumes this tick must not say it again.
    await deps.store.saveState(state);
  }
  const source = made.source;
  const { records, invalid } = read.value;
  const extracted: Extracted[] = [];
  const unmatched: { id: string; reason: string }[] = [];
  for (const rec of records) {
    const r = extractItem(rec.record, monitor.extract, rec.id, deps.maxFieldBytes);
    if (r.ok) {
      const item = r.item;
      if (rec.url) item.sourceRef = { source: source.key, id: item.id, url: rec.url };
      extracted.push({ rec, item });
    } else unmatched.push({ id: r.id, reason: r.reason });
  }
  return {
    ok: true as const,
    source,
    metrics: metricsMade.metrics,
    value: read.value,
    extracted,
    unmatched,
    invalid,
  };
}

/** A dry run: reads and scores, stores and publishes nothing, and prints the report it would post. */
async function dryTick(
  monitor: Monitor,
  tickTime: Date,
  deps: MonitorDeps,
  options: TickOptions,
  logger: Logger,
): Promise<TickOutcome> {
  const state = await deps.store.getState(monitor.name);
  const read = await readSource(monitor, tickTime, deps, options, state, logger);
  if (!read.ok) return { status: 'failed', tickTime, error: read.error };
  const { source, metrics, extracted, unmatched, invalid } = read;
  const already = await deps.store.alreadyScored(
    source.key,
    monitor.name,
    extracted.map((e) => e.item.id),
  );
  const fresh = extracted.filter((e) => !already.has(e.item.id));
  const sampled = sampleItems(
    fresh.map((e) => ({ ...e, id: e.item.id, time: e.rec.time })),
    monitor.sample,
    tickTime.getTime(),
  );
  const toScore = sampled.slice(0, monitor.budget.maxItems ?? Number.POSITIVE_INFINITY);
  const scored = await scoreAll(toScore, {
    monitor,
    metrics,
    deps,
    sourceKey: source.key,
    tickTime,
    judgeCost: 0,
  });
  const overBudget = sampled.length - toScore.length + scored.overBudget;
  const thresholds = new Map(metrics.map((m) => [m.metric.name, m.threshold]));
  const ev = await evaluate(monitor, tickTime, scored.items, thresholds, state, false, deps);
  const n = read.value.records.length + invalid.length;
  await deps.transport.post(
    { channel: monitor.publish.channel },
    buildTickReport({
      monitor: monitor.name,
      tickTime,
      read: n,
      unmatched,
      invalid,
      alreadyScored: already.size,
      sampled: sampled.length,
      overBudget,
      stats: ev.stats,
      ...(ev.previous ? { previous: ev.previous } : {}),
      items: scored.items,
      events: ev.events,
      alerts: ev.states,
      judgeCost: scored.judgeCost,
      worst: monitor.publish.worst,
      dryRun: true,
      ...(read.value.notes ? { notes: read.value.notes } : {}),
    }),
  );
  return {
    status: 'succeeded',
    tickTime,
    read: n,
    scored: scored.items.length,
    duplicates: 0,
    alreadyScored: already.size,
    unmatched: unmatched.length + invalid.length,
    published: 0,
    publishFailed: 0,
    overBudget,
    stats: ev.stats,
  };
}

/**
 * One tick, in recorded phases (see TickPhase in store.ts): a tick an earlier attempt left half-done (a crash, a
 * failed post) is finished first, under its own lease, so its report, alert evaluation and summary happen once.
 */
async function tickBody(
  monitor: Monitor,
  tickTime: Date,
  deps: MonitorDeps,
  options: TickOptions,
  logger: Logger,
): Promise<TickOutcome> {
  if (options.dryRun) return dryTick(monitor, tickTime, deps, options, logger);
  const id = tickRunId(monitor.name, tickTime, options.since !== undefined);
  for (const earlier of await deps.store.unfinishedTicks(monitor.name)) {
    if (earlier._id === id) continue;
    const lease = await deps.leases.hold(tickWorkLease(earlier._id), deps.owner);
    // Held by another replica: that replica is finishing it.
    if (!lease) continue;
    try {
      const rec = await deps.store.tickRun(earlier._id);
      if (rec && rec.phase !== 'done') {
        logger.warn(
          { monitor: monitor.name, tick: rec.tickTime.toISOString(), phase: rec.phase },
          'finishing a tick an earlier attempt left half-done',
        );
        await finishTickPhases(monitor, rec, deps, logger);
      }
    } finally {
      await lease.release();
    }
  }
  const lease = await deps.leases.hold(tickWorkLease(id), deps.owner);
  if (!lease) return { status: 'failed', tickTime, error: `tick ${id} is being finished by another replica` };
  try {
    let rec = await deps.store.tickRun(id);
    if (rec?.phase === 'done') return outcomeOf(rec, 0, 0);
    let counts = { published: 0, publishFailed: 0 };
    if (!rec || rec.phase === 'scoring') {
      const scored = await scorePhase(monitor, tickTime, deps, options, logger);
      if (!scored.ok) return { status: 'failed', tickTime, error: scored.error };
      rec = scored.rec;
    }
    counts = await finishTickPhases(monitor, rec, deps, logger);
    return outcomeOf((await deps.store.tickRun(id)) ?? rec, counts.published, counts.publishFailed);
  } finally {
    await lease.release();
  }
}

/** Reads, samples and scores; every scored item is stored with the tick's time; ends in phase `scored`. */
async function scorePhase(
  monitor: Monitor,
  tickTime: Date,
  deps: MonitorDeps,
  options: TickOptions,
  logger: Logger,
): Promise<{ ok: true; rec: TickRunDoc } | { ok: false; error: string }> {
  const backfill = options.since !== undefined;
  const id = tickRunId(monitor.name, tickTime, backfill);
  const state = await deps.store.getState(monitor.name);
  const read = await readSource(monitor, tickTime, deps, options, state, logger);
  if (!read.ok) return read;
  const { source, metrics, extracted, unmatched, invalid } = read;
  await deps.store.openTickRun({ _id: id, monitor: monitor.name, tickTime, backfill, now: deps.clock.now() });
  // Items an earlier attempt of this tick scored stay this tick's: sampled again (the same seed picks the same
  // items), not scored again; items scored by other ticks are left out as before.
  const mine = await deps.store.scoredInTick(monitor.name, id);
  const mineIds = new Set(mine.map((d) => d.itemId));
  const already = await deps.store.alreadyScored(
    source.key,
    monitor.name,
    extracted.map((e) => e.item.id),
  );
  const others = new Set([...already].filter((x) => !mineIds.has(x)));
  const candidates = extracted.filter((e) => !others.has(e.item.id));
  const sampled = sampleItems(
    candidates.map((e) => ({ ...e, id: e.item.id, time: e.rec.time })),
    monitor.sample,
    tickTime.getTime(),
  );
  const maxItems = monitor.budget.maxItems ?? Number.POSITIVE_INFINITY;
  const pickedBefore = sampled.filter((e) => mineIds.has(e.item.id)).length;
  const toScore = sampled
    .filter((e) => !mineIds.has(e.item.id))
    .slice(0, Math.max(0, maxItems - mineIds.size));
  const scored = await scoreAll(toScore, {
    monitor,
    metrics,
    deps,
    sourceKey: source.key,
    tickTime,
    tick: id,
    judgeCost: mine.reduce((a, d) => a + d.scores.reduce((b, sc) => b + (sc.cost ?? 0), 0), 0),
  });
  const bad = [...invalid, ...unmatched];
  const readRecord: TickReadRecord = {
    read: read.value.records.length + invalid.length,
    bad: bad.slice(0, BAD_KEPT).map((b) => ({ id: b.id, reason: b.reason.slice(0, 500) })),
    badCount: bad.length,
    alreadyScored: others.size,
    sampled: sampled.length,
    overBudget: sampled.length - pickedBefore - toScore.length + scored.overBudget,
    duplicates: scored.duplicates,
    ...(read.value.notes ? { notes: [...read.value.notes] } : {}),
  };
  await deps.store.advanceTickRun(
    id,
    'scored',
    {
      read: readRecord,
      moveCursor: !backfill,
      ...(backfill || read.value.cursor === undefined ? {} : { cursor: read.value.cursor }),
    },
    deps.clock.now(),
  );
  return { ok: true, rec: (await deps.store.tickRun(id))! };
}

/**
 * Takes a recorded tick from its phase to `done`: publishes what is unpublished (marking each item as it goes),
 * evaluates stats and alerts once (kept on the record), saves the monitor's state, posts the report once (looked up
 * by its key if an attempt may have posted it) and writes the tick summary.
 */
async function finishTickPhases(
  monitor: Monitor,
  rec: TickRunDoc,
  deps: MonitorDeps,
  logger: Logger,
): Promise<{ published: number; publishFailed: number }> {
  const { tickTime, backfill } = rec;
  const id = rec._id;
  const channel = monitor.publish.channel;
  const docs = await deps.store.scoredInTick(monitor.name, id);
  const items: ScoredItem[] = docs.map((d) => ({
    id: d.itemId,
    input: d.input,
    output: d.output,
    scores: d.scores,
    rec: {
      ...(d.traceId ? { traceId: d.traceId } : {}),
      ...(d.observationId ? { observationId: d.observationId } : {}),
      ...(d.environment ? { environment: d.environment } : {}),
      ...(d.url ? { url: d.url } : {}),
    },
    ...(d.url ? { url: d.url } : {}),
  }));
  const source = docs[0]?.source ?? '';

  // Scores not yet in Langfuse (this tick's and any an earlier tick could not send), each marked once sent.
  let published = 0;
  let publishFailed = 0;
  if (monitor.publish.langfuse && deps.langfuse) {
    for (const doc of await deps.store.unpublished(monitor.name)) {
      const inputs = toLangfuseScores(monitor.name, doc);
      const res = inputs.length ? await deps.langfuse.publishScores(inputs) : { published: [], failed: [] };
      published += res.published.length;
      publishFailed += res.failed.length;
      if (res.failed.length === 0) await deps.store.markPublished([doc._id]);
    }
    await publishPendingReviews(monitor.name, { ...deps, reviews: deps.store.reviews });
  }
  // Registering review tokens is idempotent; it also puts the buttons on the report's items.
  if (source)
    await attachReviewButtons(
      {
        monitor: monitor.name,
        source,
        publishLangfuse: monitor.publish.langfuse,
        now: tickTime,
        items,
      },
      deps.store.reviews,
    );

  const made = buildMetrics(monitor, deps);
  const thresholds = new Map(made.ok ? made.metrics.map((m) => [m.metric.name, m.threshold]) : []);
  let ev: Evaluation;
  if (rec.evaluationJson) ev = JSON.parse(rec.evaluationJson) as Evaluation;
  else {
    ev = await evaluate(
      monitor,
      tickTime,
      items,
      thresholds,
      await deps.store.getState(monitor.name),
      backfill,
      deps,
    );
    await deps.store.advanceTickRun(
      id,
      'evaluated',
      { evaluationJson: JSON.stringify(ev) },
      deps.clock.now(),
    );
    rec = { ...rec, phase: 'evaluated' };
  }
  if (rec.phase === 'evaluated') {
    // Absolute values from the kept evaluation: saving them again after a crash changes nothing.
    const state = await deps.store.getState(monitor.name);
    await deps.store.saveState({
      ...state,
      ...(rec.moveCursor && rec.cursor !== undefined ? { cursor: rec.cursor } : {}),
      alerts: ev.states,
      history: ev.history,
      lastTickTime: tickTime,
    });
  }

  const read: TickReadRecord = rec.read ?? {
    // A tick whose scoring an attempt never finished is closed with what it stored.
    read: items.length,
    bad: [],
    badCount: 0,
    alreadyScored: 0,
    sampled: items.length,
    overBudget: 0,
    duplicates: 0,
    notes: ['finished after an interrupted attempt'],
  };
  const worthPosting =
    ev.stats.scored > 0 || ev.events.length > 0 || read.badCount > 0 || monitor.publish.reportEmpty;
  if (worthPosting && (rec.phase === 'evaluated' || rec.phase === 'reporting')) {
    // The report lists the first unusable records and counts them all (padding stands in for those not kept).
    const padding = Array.from({ length: Math.max(0, read.badCount - read.bad.length) }, () => ({
      id: '',
      reason: '',
    }));
    const report = buildTickReport({
      monitor: monitor.name,
      tickTime,
      read: read.read,
      unmatched: padding,
      invalid: read.bad,
      alreadyScored: read.alreadyScored,
      sampled: read.sampled,
      overBudget: read.overBudget,
      stats: ev.stats,
      ...(ev.previous ? { previous: ev.previous } : {}),
      items,
      events: ev.events,
      alerts: ev.states,
      judgeCost: items.reduce((a, i) => a + i.scores.reduce((b, sc) => b + (sc.cost ?? 0), 0), 0),
      worst: monitor.publish.worst,
      ...(read.notes ? { notes: read.notes } : {}),
      reportUrl: deps.reportUrl?.(reportPaths.monitor(monitor.name)),
    });
    const key = `monitor-tick|${id}`.slice(0, 200);
    // The report (and its thread) is one keyed write: the outbox records it and the tick goes on without waiting
    // for Slack; recording it again after a crash delivers once. A transport without a delivery loop posts at once:
    // an attempt that died in `reporting` may have posted it, so it is looked up by its key first.
    const found =
      rec.phase === 'reporting' && !deps.transport.enqueue
        ? await deps.transport.findPosted?.({ channel }, key, tickTime)
        : undefined;
    if (found)
      logger.info(
        { monitor: monitor.name, tick: id },
        'the tick report was posted before a crash; not posted again',
      );
    else {
      await deps.store.advanceTickRun(id, 'reporting', {}, deps.clock.now());
      await deliverLater(deps.transport, [{ key, op: 'post', channel, message: report }]);
    }
  }
  if (rec.phase !== 'reported') await deps.store.advanceTickRun(id, 'reported', {}, deps.clock.now());

  // The per-tick summary digests read; a summary that cannot be written leaves the tick to be finished again.
  if (deps.tickLog) {
    const written = await deps.tickLog.recordTick({
      monitor: monitor.name,
      tickTime,
      finishedAt: deps.clock.now(),
      backfill,
      read: read.read,
      items,
      thresholds,
      events: ev.events,
    });
    if (!written) throw new Error(`could not record the summary of tick ${id}; the next tick finishes it`);
  }
  // The outcome keeps the stats; the history and the cursor were only needed to resume.
  await deps.store.advanceTickRun(
    id,
    'done',
    { evaluationJson: JSON.stringify({ ...ev, history: [] }) },
    deps.clock.now(),
  );
  return { published, publishFailed };
}

/** The outcome of a finished tick, from its record. */
function outcomeOf(rec: TickRunDoc, published: number, publishFailed: number): TickOutcome {
  const ev = rec.evaluationJson ? (JSON.parse(rec.evaluationJson) as Evaluation) : undefined;
  const read = rec.read;
  const stats = ev?.stats ?? { means: {}, counts: {}, failing: 0, scored: 0 };
  return {
    status: 'succeeded',
    tickTime: rec.tickTime,
    read: read?.read ?? 0,
    scored: stats.scored,
    duplicates: read?.duplicates ?? 0,
    alreadyScored: read?.alreadyScored ?? 0,
    unmatched: read?.badCount ?? 0,
    published,
    publishFailed,
    overBudget: read?.overBudget ?? 0,
    stats,
  };
}

/**
 * Runs the due tick of a monitor, if any (the scheduler's wake-up; also the start-up catch-up). A paused monitor
 * claims nothing, so after `resume` the ticks it missed collapse into one due tick.
 */
export async function runDueTick(monitor: Monitor, deps: MonitorDeps): Promise<TickOutcome> {
  // Read from the store at every wake-up, so a pause from any replica (or before a restart) applies here.
  if ((await deps.store.getState(monitor.name)).paused) return { status: 'skipped', reason: 'paused' };
  const last = await deps.leases.lastTick(tickLeaseName(monitor.name));
  // A tick whose replica died mid-run (still "running", its claim lapsed) is run again, from the same watermark.
  if (last?.status === 'running' && last.expiresAt && last.expiresAt <= deps.clock.now())
    return runTick(monitor, last.tickTime, deps);
  const due = dueTick(monitor.schedule, last?.tickTime, deps.clock.now());
  if (!due) return { status: 'skipped', reason: 'no tick due' };
  return runTick(monitor, due, deps);
}
