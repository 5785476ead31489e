// The tick runner: claim the tick, read the source from its watermark, extract, dedup, sample, score, store,
// publish, alert and report. The watermark only moves after everything it covers is stored.
import { createHash } from 'node:crypto';
import type { Transport } from '../commands/transport.ts';
import { type Clock, createSilentLogger, describeError, type Logger } from '../config/index.ts';
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
import { evaluateAlerts, type TickStats, withHumanDecisions } from './alerts.ts';
import { extractItem, extractPaths } from './extract.ts';
import { buildFailingMessage, buildTickReport, type ReportItem } from './report.ts';
import { attachReviewButtons, humanAdjustments, publishPendingReviews } from './review.ts';
import { sampleItems } from './sampling.ts';
import { dueTick } from './schedule.ts';
import type { Monitor } from './schema.ts';
import { createSource, type SourceDeps, type SourceRecord } from './sources.ts';
import type { MonitorStore } from './store.ts';

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
  deps: Pick<MonitorDeps, 'llm' | 'judgeModel' | 'logger'>,
): { ok: true; metrics: { metric: Metric; threshold: number }[] } | { ok: false; error: string } {
  const out: { metric: Metric; threshold: number }[] = [];
  for (const [i, m] of monitor.metrics.entries()) {
    const spec = toMetricSpec(m);
    const made = createMetricFromSpec(spec, {
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

function statsOf(scored: { scores: Score[] }[], thresholds: Map<string, number>): TickStats {
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
  doc: { itemId: string; traceId?: string; observationId?: string; scores: Score[] },
): ScoreInput[] {
  if (!doc.traceId) return [];
  return doc.scores
    .filter((s) => !s.error)
    .map((s) => ({
      id: scoreId(monitor, doc.itemId, s.metric),
      traceId: doc.traceId!,
      ...(doc.observationId ? { observationId: doc.observationId } : {}),
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

async function tickBody(
  monitor: Monitor,
  tickTime: Date,
  deps: MonitorDeps,
  options: TickOptions,
  logger: Logger,
): Promise<TickOutcome> {
  const dry = options.dryRun === true;
  const backfill = options.since !== undefined;
  const channel = monitor.publish.channel;
  const state = await deps.store.getState(monitor.name);
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
  if (configError || !read || !read.ok) {
    const error = configError ?? (read && !read.ok ? read.error : 'unknown source error');
    if (!dry && !backfill) {
      if (!state.failing)
        await deps.transport.post({ channel }, buildFailingMessage(monitor.name, error, tickTime));
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
    return { status: 'failed', tickTime, error };
  }
  if (!made.ok || !metricsMade.ok) throw new Error('unreachable');
  const source = made.source;
  const metrics = metricsMade.metrics;
  if (state.failing && !dry && !backfill) {
    await deps.transport.post({ channel }, buildFailingMessage(monitor.name, undefined, tickTime));
    state.failing = false;
    delete state.lastError;
  }

  // Scores stored by an earlier attempt that never reached Langfuse go out first (same ids: upserts).
  let published = 0;
  let publishFailed = 0;
  const publish = async (
    docs: { _id: string; itemId: string; traceId?: string; observationId?: string; scores: Score[] }[],
  ) => {
    if (!monitor.publish.langfuse || !deps.langfuse || dry || docs.length === 0) return;
    const done: string[] = [];
    for (const doc of docs) {
      const inputs = toLangfuseScores(monitor.name, doc);
      const res = inputs.length ? await deps.langfuse.publishScores(inputs) : { published: [], failed: [] };
      published += res.published.length;
      publishFailed += res.failed.length;
      if (res.failed.length === 0) done.push(doc._id);
    }
    await deps.store.markPublished(done);
  };
  if (!dry) await publish(await deps.store.unpublished(monitor.name));
  if (!dry && monitor.publish.langfuse)
    await publishPendingReviews(monitor.name, { ...deps, reviews: deps.store.reviews });

  const { records, invalid } = read.value;
  const extracted: Extracted[] = [];
  const unmatched: { id: string; reason: string }[] = [];
  for (const rec of records) {
    const r = extractItem(rec.record, monitor.extract, rec.id);
    if (r.ok) {
      const item = r.item;
      if (rec.url) item.sourceRef = { source: source.key, id: item.id, url: rec.url };
      extracted.push({ rec, item });
    } else unmatched.push({ id: r.id, reason: r.reason });
  }
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
  const maxItems = monitor.budget.maxItems ?? Number.POSITIVE_INFINITY;
  const toScore = sampled.slice(0, maxItems);
  let overBudget = sampled.length - toScore.length;

  const thresholds = new Map(metrics.map((m) => [m.metric.name, m.threshold]));
  let judgeCost = 0;
  const maxCost = monitor.budget.maxJudgeCost ?? Number.POSITIVE_INFINITY;
  const scoredItems: (ReportItem & { rec: SourceRecord })[] = [];
  let duplicates = 0;
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
    if (!dry) {
      const inserted = await deps.store.recordScored({
        monitor: monitor.name,
        source: source.key,
        itemId: e.item.id,
        tickTime,
        scoredAt: deps.clock.now(),
        scores,
        published: !monitor.publish.langfuse,
        input: e.item.input.slice(0, 2000),
        output: output.slice(0, 2000),
        ...(e.rec.traceId ? { traceId: e.rec.traceId } : {}),
        ...(e.rec.observationId ? { observationId: e.rec.observationId } : {}),
        ...(e.rec.url ? { url: e.rec.url } : {}),
      });
      if (!inserted) {
        duplicates += 1;
        return;
      }
    }
    scoredItems.push({
      id: e.item.id,
      input: e.item.input,
      output,
      scores,
      rec: e.rec,
      ...(e.rec.url ? { url: e.rec.url } : {}),
    });
  });
  await publish(
    scoredItems.map((s) => ({
      _id: `${source.key}|${monitor.name}|${s.id}`,
      itemId: s.id,
      scores: s.scores,
      ...(s.rec.traceId ? { traceId: s.rec.traceId } : {}),
      ...(s.rec.observationId ? { observationId: s.rec.observationId } : {}),
    })),
  );

  if (!dry) {
    await attachReviewButtons(
      {
        monitor: monitor.name,
        source: source.key,
        publishLangfuse: monitor.publish.langfuse,
        now: tickTime,
        items: scoredItems,
      },
      deps.store.reviews,
    );
  }
  const stats: TickStats = { ...statsOf(scoredItems, thresholds), tickTime: tickTime.toISOString() };
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
  const report = buildTickReport({
    monitor: monitor.name,
    tickTime,
    read: records.length + invalid.length,
    unmatched,
    invalid,
    alreadyScored: already.size,
    sampled: sampled.length,
    overBudget,
    stats,
    ...(previous ? { previous } : {}),
    items: scoredItems,
    events,
    alerts: states,
    judgeCost,
    worst: monitor.publish.worst,
    dryRun: dry,
    ...(read.value.notes ? { notes: read.value.notes } : {}),
  });
  const worthPosting =
    dry ||
    stats.scored > 0 ||
    events.length > 0 ||
    unmatched.length + invalid.length > 0 ||
    monitor.publish.reportEmpty;
  if (worthPosting) await deps.transport.post({ channel }, report);
  // The per-tick summary digests read (before saveState: a crash between the two re-records the same tick id).
  if (!dry)
    await deps.tickLog?.recordTick({
      monitor: monitor.name,
      tickTime,
      finishedAt: deps.clock.now(),
      backfill,
      read: records.length + invalid.length,
      items: scoredItems,
      thresholds,
      events,
    });
  if (!dry) {
    await deps.store.saveState({
      ...state,
      ...(backfill ? {} : { cursor: read.value.cursor }),
      alerts: states,
      history,
      lastTickTime: tickTime,
    });
  }
  return {
    status: 'succeeded',
    tickTime,
    read: records.length + invalid.length,
    scored: scoredItems.length,
    duplicates,
    alreadyScored: already.size,
    unmatched: unmatched.length + invalid.length,
    published,
    publishFailed,
    overBudget,
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
