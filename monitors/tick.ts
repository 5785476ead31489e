// The tick runner: claims the tick, finishes any tick an earlier attempt left half-done, then runs this one through
// its phases (tick-phases.ts: read source → extract → sample → score → publish scores → alerts → report → record),
// writing through its sinks (tick-sinks.ts). A dry run is the same pipeline over the dry-run sinks. The watermark only
// moves after everything it covers is stored.
import type { Transport } from '../chat/index.ts';
import {
  type Clock,
  createSilentLogger,
  describeError,
  type Logger,
  type ReportUrl,
} from '../config/index.ts';
import type { LangfuseClient } from '../langfuse/index.ts';
import type { Llm } from '../llm/index.ts';
import type { Leases } from '../storage/index.ts';
import type { TickStats } from './alerts.ts';
import { dueTick } from './schedule.ts';
import type { Monitor } from './schema.ts';
import type { SlackReader } from './slack-reader.ts';
import type { MonitorStore, TickRunDoc } from './store.ts';
import { tickLogId } from './tick-log.ts';
import { finishTick, readEvaluation, scoreTick, type TickContext } from './tick-phases.ts';
import { dryRunSinks, liveSinks, type TickSinks } from './tick-sinks.ts';

/** What the runner needs; production and tests build it. */
export interface MonitorDeps {
  store: MonitorStore;
  leases: Leases;
  transport: Transport;
  /** Time, and the waits of sources (Slack pacing, Retry-After, Langfuse back-off). */
  clock: Clock;
  /** This replica's name in tick claims. */
  owner: string;
  llm?: Llm;
  judgeModel?: string;
  langfuse?: LangfuseClient;
  langfuseBaseUrl?: string;
  logger?: Logger;
  baseDir?: string;
  /** The Slack reading client of `slack` sources (the bot's WebClient, adapted; absent without SLACK_BOT_TOKEN). */
  slack?: SlackReader;
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

/** Options of one tick. */
export interface TickOptions {
  /**
   * Read and score through the same phases, with sinks that keep the tick's records in memory, claim nothing,
   * publish nothing and post only the report, marked as a dry run.
   */
  dryRun?: boolean;
  /** Backfill: read from this date instead of the watermark; leaves the watermark, alerts and history alone. */
  since?: Date;
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
  const sinks = options.dryRun ? dryRunSinks(deps) : liveSinks(deps);
  // Backfills claim their own ticks so they never stand in for (or block) a scheduled tick.
  const leaseName = options.since ? `monitor-backfill:${monitor.name}` : tickLeaseName(monitor.name);
  // The claim is renewed by heartbeat while the tick runs; if this replica dies, it lapses and the next wake-up
  // (of any replica) takes the tick over instead of leaving it claimed forever.
  const hold = await sinks.leases.holdTick(leaseName, tickTime, deps.owner);
  if (!hold) return { status: 'skipped', reason: `tick ${tickTime.toISOString()} already claimed` };
  try {
    const outcome = await tickBody(monitor, tickTime, deps, sinks, options, logger);
    await sinks.leases.finishTick(leaseName, tickTime, {
      ok: outcome.status === 'succeeded',
      ...(outcome.status === 'failed' ? { error: outcome.error } : {}),
      ...(outcome.status === 'succeeded'
        ? { summary: { read: outcome.read, scored: outcome.scored, failing: outcome.stats.failing } }
        : {}),
    });
    return outcome;
  } catch (err) {
    const error = describeError(err);
    logger.error({ monitor: monitor.name, err }, 'monitor tick failed');
    await sinks.leases.finishTick(leaseName, tickTime, { ok: false, error }).catch(() => {});
    return { status: 'failed', tickTime, error };
  } finally {
    await hold.release();
  }
}

/** The lease under which one tick's phases run (renewed by heartbeat; a dead holder's lapses after 30 s). */
const tickWorkLease = (id: string) => `monitor-tick:${id}`;

/** The id of a tick's phase record (and of its scored items' `tick`): a backfill is a tick of its own. */
const tickRunId = (monitor: string, tickTime: Date, backfill: boolean) =>
  `${tickLogId(monitor, tickTime)}${backfill ? '|backfill' : ''}`;

/**
 * One tick, in recorded phases (see TickPhase in store.ts): a tick an earlier attempt left half-done (a crash, a
 * failed post) is finished first, under its own lease, so its report, alert evaluation and summary happen once.
 */
async function tickBody(
  monitor: Monitor,
  tickTime: Date,
  deps: MonitorDeps,
  sinks: TickSinks,
  options: TickOptions,
  logger: Logger,
): Promise<TickOutcome> {
  const id = tickRunId(monitor.name, tickTime, options.since !== undefined);
  const context = (run: { id: string; tickTime: Date; since?: Date }): TickContext => ({
    monitor,
    tickTime: run.tickTime,
    ...(run.since ? { since: run.since } : {}),
    id: run.id,
    deps,
    sinks,
    logger,
  });
  for (const earlier of await sinks.store.unfinishedTicks(monitor.name)) {
    if (earlier._id === id) continue;
    const lease = await sinks.leases.hold(tickWorkLease(earlier._id), deps.owner);
    // Held by another replica: that replica is finishing it.
    if (!lease) continue;
    try {
      const rec = await sinks.store.tickRun(earlier._id);
      if (rec && rec.phase !== 'done') {
        logger.warn(
          { monitor: monitor.name, tick: rec.tickTime.toISOString(), phase: rec.phase },
          'finishing a tick an earlier attempt left half-done',
        );
        await finishTick(context({ id: rec._id, tickTime: rec.tickTime }), rec);
      }
    } finally {
      await lease.release();
    }
  }
  const lease = await sinks.leases.hold(tickWorkLease(id), deps.owner);
  if (!lease) return { status: 'failed', tickTime, error: `tick ${id} is being finished by another replica` };
  try {
    const ctx = context({ id, tickTime, ...(options.since ? { since: options.since } : {}) });
    let rec = await sinks.store.tickRun(id);
    if (rec?.phase === 'done') return outcomeOf(rec, 0, 0);
    let thresholds: Map<string, number> | undefined;
    if (!rec || rec.phase === 'scoring') {
      const scored = await scoreTick(ctx);
      if (!scored.ok) return { status: 'failed', tickTime, error: scored.error };
      rec = scored.rec;
      thresholds = scored.thresholds;
    }
    const counts = await finishTick(ctx, rec, thresholds);
    return outcomeOf((await sinks.store.tickRun(id)) ?? rec, counts.published, counts.publishFailed);
  } finally {
    await lease.release();
  }
}

/** The outcome of a finished tick, from its record. */
function outcomeOf(rec: TickRunDoc, published: number, publishFailed: number): TickOutcome {
  const ev = readEvaluation(rec);
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
