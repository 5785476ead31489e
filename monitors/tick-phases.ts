// The phases of one monitor tick, in order: read source → extract → sample → score → publish scores → alerts →
// report → record. Each is a named function over one TickContext; whatever a phase writes goes through the context's
// sinks (tick-sinks.ts), so a dry run is the same pipeline with other sinks. Reaching `scored`, `evaluated`,
// `reporting`, `reported` and `done` is recorded on the tick (store.ts, TickPhase): an attempt that finds a tick
// half-done resumes it from its record, so its report, alert evaluation and summary happen once.
import { z } from 'zod';
import type { Logger } from '../config/index.ts';
import {
  createMetricFromSpec,
  type Item,
  type Metric,
  type Score,
  toMetricSpec,
} from '../evaluators/index.ts';
import { withJudged } from '../llm/index.ts';
import { parseStoredJson } from '../storage/index.ts';
import {
  type AlertEvent,
  AlertEventSchema,
  type AlertState,
  AlertStateSchema,
  evaluateAlerts,
  type TickStats,
  TickStatsSchema,
  withHumanDecisions,
} from './alerts.ts';
import { extractItem, extractPaths } from './extract.ts';
import { buildFailingMessage, type ReportItem } from './report.ts';
import { humanAdjustments } from './review.ts';
import { sampleItems } from './sampling.ts';
import type { Monitor } from './schema.ts';
import {
  createSource,
  type Source,
  type SourceBatch,
  type SourceDeps,
  type SourceRecord,
} from './sources.ts';
import type { MonitorStateDoc, MonitorStore, ScoredItemDoc, TickReadRecord, TickRunDoc } from './store.ts';
import type { TickSinks } from './tick-sinks.ts';
import type { MonitorDeps } from './tick.ts';

/** What a tick reads with (source clients, the metrics' model, the clock); everything it writes goes to its sinks. */
type TickReaders = Omit<MonitorDeps, 'store' | 'leases' | 'transport' | 'tickLog' | 'audit' | 'reportUrl'>;

/** What every phase of one tick sees. */
export interface TickContext {
  monitor: Monitor;
  tickTime: Date;
  /** A backfill's start: read from it instead of the watermark; the watermark, alerts and history stay as they are. */
  since?: Date;
  /** The tick run's id: its phase record's and its scored items' `tick`. */
  id: string;
  deps: TickReaders;
  sinks: TickSinks;
  logger: Logger;
}

/** How many unusable records a tick keeps for its report (the report lists 20). */
const BAD_KEPT = 20;

/** Stats, alert states and events of a tick, computed once and kept on its record. */
export interface Evaluation {
  stats: TickStats;
  previous?: TickStats;
  history: TickStats[];
  states: Record<string, AlertState>;
  events: AlertEvent[];
}

/** A tick's kept evaluation as stored (`monitor_tick_runs.evaluationJson`), read back with this schema. */
const EvaluationSchema = z.object({
  stats: TickStatsSchema,
  previous: TickStatsSchema.optional(),
  history: z.array(TickStatsSchema),
  states: z.record(z.string(), AlertStateSchema),
  events: z.array(AlertEventSchema),
}) satisfies z.ZodType<Evaluation>;

/** The kept evaluation of a tick run; a corrupt one is STORE_INVALID_DOCUMENT naming the run and the field. */
export function readEvaluation(rec: TickRunDoc): Evaluation | undefined {
  if (!rec.evaluationJson) return undefined;
  return parseStoredJson(EvaluationSchema, rec.evaluationJson, {
    collection: 'monitor_tick_runs',
    id: rec._id,
    field: 'evaluationJson',
  });
}

type Extracted = { rec: SourceRecord; item: Item & { id: string } };
type Bad = { id: string; reason: string };

/** A scored item as the report, the alerts and the summary see it. */
type ScoredItem = ReportItem & {
  rec: Pick<SourceRecord, 'traceId' | 'observationId' | 'environment' | 'url'>;
};

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

/** Each metric's threshold by its name (what stats, alerts and summaries count failing items by). */
type Thresholds = Map<string, number>;

function thresholdsOf(metrics: readonly { metric: Metric; threshold: number }[]): Thresholds {
  return new Map(metrics.map((m) => [m.metric.name, m.threshold]));
}

/** What a monitor's source is built with (shared by ticks and the extractor dry run). */
export function sourceDepsOf(
  monitor: Monitor,
  deps: Pick<MonitorDeps, 'langfuse' | 'langfuseBaseUrl' | 'baseDir' | 'slack' | 'logger' | 'clock'>,
): SourceDeps {
  return {
    ...(deps.langfuse ? { langfuse: deps.langfuse } : {}),
    ...(deps.langfuseBaseUrl ? { langfuseBaseUrl: deps.langfuseBaseUrl } : {}),
    ...(deps.baseDir ? { baseDir: deps.baseDir } : {}),
    ...(deps.slack ? { slack: deps.slack } : {}),
    ...(deps.logger ? { logger: deps.logger } : {}),
    extractPaths: extractPaths(monitor.extract),
    clock: deps.clock,
  };
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

// ---------------------------------------------------------------------------------------------------------------
// 1. Read source

/** A source that read: the records of this tick, with the monitor's metrics ready to score them. */
type SourceRead =
  | { ok: true; source: Source; metrics: { metric: Metric; threshold: number }[]; batch: SourceBatch }
  | { ok: false; error: string };

/**
 * Builds the source and the metrics and reads from the watermark (or `since`). A failure is told to the channel
 * once and recorded on the monitor and in the tick summaries; the first good read after failures says so. A
 * backfill does neither: it is not the monitor's schedule.
 */
async function readSource(ctx: TickContext, state: MonitorStateDoc): Promise<SourceRead> {
  const { monitor, tickTime, deps, sinks, logger } = ctx;
  const backfill = ctx.since !== undefined;
  const made = createSource(monitor.source, sourceDepsOf(monitor, deps));
  const metricsMade = buildMetrics(monitor, deps);
  const configError = !made.ok ? made.error : !metricsMade.ok ? metricsMade.error : undefined;
  const read = made.ok
    ? await made.source.read(state.cursor, tickTime, ctx.since ? { since: ctx.since } : {})
    : undefined;
  if (configError || !read || !read.ok || !made.ok || !metricsMade.ok) {
    const error = configError ?? (read && !read.ok ? read.error : 'unknown source error');
    if (!backfill) await sourceFailing(ctx, state, error);
    logger.warn(
      { monitor: monitor.name, error },
      'monitor source failed; will retry from the same watermark',
    );
    return { ok: false, error };
  }
  if (state.failing && !backfill) {
    await sinks.notify({
      key: `monitor-recovered|${monitor.name}|${tickTime.toISOString()}`,
      channel: monitor.publish.channel,
      message: buildFailingMessage(monitor.name, undefined, tickTime),
    });
    state.failing = false;
    delete state.lastError;
    // Recorded at once: an attempt that resumes this tick must not say it again.
    await sinks.store.saveState(state);
  }
  return { ok: true, source: made.source, metrics: metricsMade.metrics, batch: read.value };
}

/** A source failure: told once (while the monitor is not yet failing), kept on its state, counted by digests. */
async function sourceFailing(ctx: TickContext, state: MonitorStateDoc, error: string): Promise<void> {
  const { monitor, tickTime, sinks, deps } = ctx;
  if (!state.failing)
    await sinks.notify({
      key: `monitor-failing|${monitor.name}|${tickTime.toISOString()}`,
      channel: monitor.publish.channel,
      message: buildFailingMessage(monitor.name, error, tickTime),
    });
  await sinks.store.saveState({ ...state, failing: true, lastError: error, lastTickTime: tickTime });
  // Digests count failed ticks too (the summary holds the reason and no items).
  await sinks.recordSummary({
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

// ---------------------------------------------------------------------------------------------------------------
// 2. Extract

/** The records as items (input, output, … by the monitor's paths); a record the paths do not fit is unmatched. */
function extract(
  ctx: TickContext,
  source: Source,
  batch: SourceBatch,
): { extracted: Extracted[]; unmatched: Bad[] } {
  const extracted: Extracted[] = [];
  const unmatched: Bad[] = [];
  for (const rec of batch.records) {
    const r = extractItem(rec.record, ctx.monitor.extract, rec.id, ctx.deps.maxFieldBytes);
    if (r.ok) {
      const item = r.item;
      if (rec.url) item.sourceRef = { source: source.key, id: item.id, url: rec.url };
      extracted.push({ rec, item });
    } else unmatched.push({ id: r.id, reason: r.reason });
  }
  return { extracted, unmatched };
}

// ---------------------------------------------------------------------------------------------------------------
// 3. Sample

/** What sampling picked, and what it left out. */
interface Sampled {
  /** Items an earlier attempt of this tick stored (they stay this tick's). */
  mine: ScoredItemDoc[];
  /** Items other ticks scored: left out. */
  others: Set<string>;
  sampled: Extracted[];
  /** The sampled items still to score, within the item budget. */
  toScore: Extracted[];
  /** Sampled items an earlier attempt of this tick already scored. */
  pickedBefore: number;
}

/**
 * Leaves out what other ticks scored, samples (the tick time is the seed, so a resumed attempt picks the same items)
 * and keeps within the item budget. Items an earlier attempt of this tick scored are picked again, not rescored.
 */
async function sample(ctx: TickContext, sourceKey: string, extracted: Extracted[]): Promise<Sampled> {
  const { monitor, sinks } = ctx;
  const mine = await sinks.store.scoredInTick(monitor.name, ctx.id);
  const mineIds = new Set(mine.map((d) => d.itemId));
  const already = await sinks.store.alreadyScored(
    sourceKey,
    monitor.name,
    extracted.map((e) => e.item.id),
  );
  const others = new Set([...already].filter((x) => !mineIds.has(x)));
  const candidates = extracted.filter((e) => !others.has(e.item.id));
  const sampled = sampleItems(
    candidates.map((e) => ({ ...e, id: e.item.id, time: e.rec.time })),
    monitor.sample,
    ctx.tickTime.getTime(),
  );
  const maxItems = monitor.budget.maxItems ?? Number.POSITIVE_INFINITY;
  const pickedBefore = sampled.filter((e) => mineIds.has(e.item.id)).length;
  const toScore = sampled
    .filter((e) => !mineIds.has(e.item.id))
    .slice(0, Math.max(0, maxItems - mineIds.size));
  return { mine, others, sampled, toScore, pickedBefore };
}

// ---------------------------------------------------------------------------------------------------------------
// 4. Score

async function mapLimit<T>(items: readonly T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

/** Scores each item with the monitor's metrics (within the judge budget) and stores it with the tick's time. */
async function score(
  ctx: TickContext,
  toScore: readonly Extracted[],
  with_: { metrics: { metric: Metric; threshold: number }[]; sourceKey: string; judgeCost: number },
): Promise<{ duplicates: number; overBudget: number }> {
  const { monitor, deps, sinks } = ctx;
  let judgeCost = with_.judgeCost;
  const maxCost = monitor.budget.maxJudgeCost ?? Number.POSITIVE_INFINITY;
  let duplicates = 0;
  let overBudget = 0;
  await mapLimit(toScore, deps.concurrency ?? 4, async (e) => {
    if (judgeCost >= maxCost) {
      overBudget += 1;
      return;
    }
    const scores: Score[] = [...(e.rec.scores ?? [])];
    for (const m of with_.metrics) {
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
    const inserted = await sinks.store.recordScored({
      monitor: monitor.name,
      source: with_.sourceKey,
      itemId: e.item.id,
      tickTime: ctx.tickTime,
      tick: ctx.id,
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
    if (!inserted) duplicates += 1;
  });
  return { duplicates, overBudget };
}

/**
 * Read source → extract → sample → score, then records phase `scored` with what the read found and the cursor to
 * move to. The tick's record is opened once the source has read (a failed read leaves no record). Returns the
 * metrics' thresholds too, so finishing the tick does not build the metrics again.
 */
export async function scoreTick(
  ctx: TickContext,
): Promise<{ ok: true; rec: TickRunDoc; thresholds: Thresholds } | { ok: false; error: string }> {
  const { monitor, tickTime, deps, sinks } = ctx;
  const backfill = ctx.since !== undefined;
  const state = await sinks.store.getState(monitor.name);
  const read = await readSource(ctx, state);
  if (!read.ok) return read;
  const { source, metrics, batch } = read;
  const { extracted, unmatched } = extract(ctx, source, batch);
  await sinks.store.openTickRun({
    _id: ctx.id,
    monitor: monitor.name,
    tickTime,
    backfill,
    now: deps.clock.now(),
  });
  const picked = await sample(ctx, source.key, extracted);
  const scored = await score(ctx, picked.toScore, {
    metrics,
    sourceKey: source.key,
    judgeCost: picked.mine.reduce((a, d) => a + d.scores.reduce((b, sc) => b + (sc.cost ?? 0), 0), 0),
  });
  const bad = [...batch.invalid, ...unmatched];
  const readRecord: TickReadRecord = {
    read: batch.records.length + batch.invalid.length,
    bad: bad.slice(0, BAD_KEPT).map((b) => ({ id: b.id, reason: b.reason.slice(0, 500) })),
    badCount: bad.length,
    alreadyScored: picked.others.size,
    sampled: picked.sampled.length,
    overBudget: picked.sampled.length - picked.pickedBefore - picked.toScore.length + scored.overBudget,
    duplicates: scored.duplicates,
    ...(batch.notes ? { notes: [...batch.notes] } : {}),
  };
  await sinks.store.advanceTickRun(
    ctx.id,
    'scored',
    {
      read: readRecord,
      moveCursor: !backfill,
      ...(backfill || batch.cursor === undefined ? {} : { cursor: batch.cursor }),
    },
    deps.clock.now(),
  );
  return { ok: true, rec: (await sinks.store.tickRun(ctx.id))!, thresholds: thresholdsOf(metrics) };
}

// ---------------------------------------------------------------------------------------------------------------
// 5. Publish scores

/** The items a tick stored, in the order they were scored. */
async function storedItems(ctx: TickContext): Promise<{ items: ScoredItem[]; source: string }> {
  const docs = await ctx.sinks.store.scoredInTick(ctx.monitor.name, ctx.id);
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
  return { items, source: docs[0]?.source ?? '' };
}

/**
 * Sends what is not yet in Langfuse (this tick's scores and any an earlier tick could not send) and registers the
 * review tokens that put Confirm / Override buttons on the report's items (idempotent).
 */
async function publish(
  ctx: TickContext,
  items: ScoredItem[],
  source: string,
): Promise<{ published: number; publishFailed: number }> {
  const { monitor, sinks } = ctx;
  const counts = await sinks.publishScores(monitor);
  if (source)
    await sinks.attachReviews({
      monitor: monitor.name,
      source,
      publishLangfuse: monitor.publish.langfuse,
      now: ctx.tickTime,
      items,
    });
  return counts;
}

// ---------------------------------------------------------------------------------------------------------------
// 6. Alerts

/** Stats of a tick's items: per-metric means and counts, and how many items fail any metric. */
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

/** Stats of a tick and the alert evaluation they lead to (backfills and empty ticks move no alert window). */
async function evaluate(
  ctx: TickContext,
  backfill: boolean,
  items: readonly { scores: Score[] }[],
  thresholds: Map<string, number>,
  state: MonitorStateDoc,
): Promise<Evaluation> {
  const { monitor, tickTime, sinks } = ctx;
  const stats: TickStats = { ...statsOf(items, thresholds), tickTime: tickTime.toISOString() };
  const previous = state.history.at(-1);
  // Backfills and empty ticks do not move alert windows: no data says nothing about quality.
  const moves = !backfill && stats.scored > 0;
  const history = moves ? [...state.history, stats] : state.history;
  const { states, events } = moves
    ? evaluateAlerts(
        monitor.alerts,
        state.alerts,
        monitor.alerts.some((r) => r.on === 'mean')
          ? await historyWithDecisions(history, monitor.name, sinks.store.reviews, tickTime)
          : history,
        tickTime,
      )
    : { states: state.alerts, events: [] };
  return { stats, ...(previous ? { previous } : {}), history, states, events };
}

/**
 * Evaluates stats and alerts once (kept on the record as `evaluated`) and commits the monitor's state: alert
 * states, history and, unless a backfill, the source's cursor. Saving the kept values again after a crash changes
 * nothing.
 */
async function alerts(
  ctx: TickContext,
  rec: TickRunDoc,
  items: ScoredItem[],
  thresholds: Map<string, number>,
): Promise<{ ev: Evaluation; rec: TickRunDoc }> {
  const { monitor, deps, sinks } = ctx;
  let ev = readEvaluation(rec);
  if (!ev) {
    ev = await evaluate(ctx, rec.backfill, items, thresholds, await sinks.store.getState(monitor.name));
    await sinks.store.advanceTickRun(
      rec._id,
      'evaluated',
      { evaluationJson: JSON.stringify(ev) },
      deps.clock.now(),
    );
    rec = { ...rec, phase: 'evaluated' };
  }
  if (rec.phase === 'evaluated') {
    const state = await sinks.store.getState(monitor.name);
    await sinks.store.saveState({
      ...state,
      ...(rec.moveCursor && rec.cursor !== undefined ? { cursor: rec.cursor } : {}),
      alerts: ev.states,
      history: ev.history,
      lastTickTime: rec.tickTime,
    });
  }
  return { ev, rec };
}

// ---------------------------------------------------------------------------------------------------------------
// 7. Report

/** What the read found, from the record (a tick whose scoring an attempt never finished is closed with what it stored). */
function readOf(rec: TickRunDoc, items: readonly ScoredItem[]): TickReadRecord {
  return (
    rec.read ?? {
      read: items.length,
      bad: [],
      badCount: 0,
      alreadyScored: 0,
      sampled: items.length,
      overBudget: 0,
      duplicates: 0,
      notes: ['finished after an interrupted attempt'],
    }
  );
}

/**
 * Posts the report once, when there is something to say (or the sinks report empty ticks: the monitor's
 * `publish.reportEmpty`, always for a dry run): phase `reporting` is
 * recorded first, and an attempt that resumes in `reporting` asks the sinks whether the report is already there.
 */
async function report(
  ctx: TickContext,
  rec: TickRunDoc,
  items: ScoredItem[],
  ev: Evaluation,
  read: TickReadRecord,
): Promise<void> {
  const { monitor, deps, sinks, logger } = ctx;
  const channel = monitor.publish.channel;
  const worthPosting =
    ev.stats.scored > 0 || ev.events.length > 0 || read.badCount > 0 || sinks.reportsEmpty(monitor);
  if (worthPosting && (rec.phase === 'evaluated' || rec.phase === 'reporting')) {
    const key = `monitor-tick|${rec._id}`.slice(0, 200);
    if (rec.phase === 'reporting' && (await sinks.reportPosted({ key, channel, tickTime: rec.tickTime })))
      logger.info(
        { monitor: monitor.name, tick: rec._id },
        'the tick report was posted before a crash; not posted again',
      );
    else {
      await sinks.store.advanceTickRun(rec._id, 'reporting', {}, deps.clock.now());
      // The report lists the first unusable records and counts them all (padding stands in for those not kept).
      const padding = Array.from({ length: Math.max(0, read.badCount - read.bad.length) }, () => ({
        id: '',
        reason: '',
      }));
      await sinks.postReport({
        key,
        channel,
        report: {
          monitor: monitor.name,
          tickTime: rec.tickTime,
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
        },
      });
    }
  }
  if (rec.phase !== 'reported') await sinks.store.advanceTickRun(rec._id, 'reported', {}, deps.clock.now());
}

// ---------------------------------------------------------------------------------------------------------------
// 8. Record

/**
 * Writes the per-tick summary digests read (a summary that cannot be written leaves the tick to be finished again)
 * and closes the record as `done`, keeping the stats for the outcome (the history and the cursor were only needed
 * to resume).
 */
async function record(
  ctx: TickContext,
  rec: TickRunDoc,
  items: ScoredItem[],
  ev: Evaluation,
  read: TickReadRecord,
  thresholds: Map<string, number>,
): Promise<void> {
  const { monitor, deps, sinks } = ctx;
  const written = await sinks.recordSummary({
    monitor: monitor.name,
    tickTime: rec.tickTime,
    finishedAt: deps.clock.now(),
    backfill: rec.backfill,
    read: read.read,
    items,
    thresholds,
    events: ev.events,
  });
  if (!written) throw new Error(`could not record the summary of tick ${rec._id}; the next tick finishes it`);
  await sinks.store.advanceTickRun(
    rec._id,
    'done',
    { evaluationJson: JSON.stringify({ ...ev, history: [] }) },
    deps.clock.now(),
  );
}

/**
 * Publish scores → alerts → report → record: takes a recorded tick from its phase to `done`. `thresholds` are the
 * ones scoreTick returned; a tick resumed from its record builds the metrics again for them (none when they no
 * longer build).
 */
export async function finishTick(
  ctx: TickContext,
  rec: TickRunDoc,
  thresholds?: Thresholds,
): Promise<{ published: number; publishFailed: number }> {
  const { items, source } = await storedItems(ctx);
  const counts = await publish(ctx, items, source);
  if (!thresholds) {
    const made = buildMetrics(ctx.monitor, ctx.deps);
    thresholds = made.ok ? thresholdsOf(made.metrics) : new Map();
  }
  const evaluated = await alerts(ctx, rec, items, thresholds);
  const read = readOf(evaluated.rec, items);
  await report(ctx, evaluated.rec, items, evaluated.ev, read);
  await record(ctx, evaluated.rec, items, evaluated.ev, read, thresholds);
  return counts;
}
