// Monitor use cases shared by the bot and the CLI: list, pause/resume, run now, dry-run an extractor, and start
// the schedules.
import { type AuditActor, recordAudit } from '../audit/index.ts';
import type { Message } from '../chat/index.ts';
import { createSilentLogger } from '../config/index.ts';
import type { PostedRef, Transport } from '../chat/index.ts';
import { closestName } from '../config/index.ts';
import { extractItem, getPath } from './extract.ts';
import { excerpt } from './report.ts';
import { type MonitorScheduler, startSchedules } from './schedule.ts';
import type { Monitor } from './schema.ts';
import { createSource } from './sources.ts';
import { type MonitorDeps, runDueTick, runTick, type TickOutcome } from './tick.ts';
import { sourceDepsOf } from './tick-phases.ts';

/** A one-line description of a monitor's schedule. */
export function describeSchedule(m: Monitor): string {
  return 'every' in m.schedule
    ? `every ${m.schedule.every}`
    : `cron "${m.schedule.cron}" (${m.schedule.timezone})`;
}

/** What `monitor list` shows: each monitor with its schedule, source, last tick and state. */
export async function listMonitors(
  monitors: readonly Monitor[],
  deps: Pick<MonitorDeps, 'store' | 'leases'>,
): Promise<Message> {
  const lines: string[] = [];
  for (const m of monitors) {
    const last = await deps.leases.lastTick(`monitor:${m.name}`);
    const state = await deps.store.getState(m.name);
    const firing = Object.entries(state.alerts)
      .filter(([, s]) => s.firing)
      .map(([k]) => k);
    lines.push(
      `${m.name}  ${describeSchedule(m)}  source=${m.source.type}  metrics=${m.metrics.map((x) => x.name ?? x.metric).join(',')}` +
        `  ${state.paused ? `PAUSED${state.pausedBy ? ` by ${state.pausedBy}` : ''}${state.pausedAt ? ` at ${state.pausedAt.toISOString()}` : ''}` : 'active'}` +
        `  last=${last ? `${last.tickTime.toISOString()} ${last.status}${last.error ? ` (${last.error})` : ''}` : 'never'}` +
        (state.failing ? '  FAILING' : '') +
        `  open alerts: ${firing.length ? firing.join('; ') : 'none'}`,
    );
    // Old forms the file still uses: shown with the monitor's status until the file is updated.
    for (const w of m.warnings ?? []) lines.push(`  warning: ${w}`);
  }
  return {
    title: `${monitors.length} monitor(s)`,
    sections: [{ kind: 'code', text: lines.join('\n') || '(no monitors: add YAML files to MONITORS_DIR)' }],
  };
}

/** The monitor of that name, or a usage error that lists the valid names. */
export function findMonitor(
  monitors: readonly Monitor[],
  name: string,
): { ok: true; monitor: Monitor } | { ok: false; error: string } {
  const m = monitors.find((x) => x.name === name);
  if (m) return { ok: true, monitor: m };
  const known = monitors.map((x) => x.name).join(', ');
  const guess = closestName(
    name,
    monitors.map((x) => x.name),
  );
  return {
    ok: false,
    error: `No monitor named "${name}". Valid names: ${known || '(none: add YAML files to MONITORS_DIR)'}.${guess ? ` Did you mean "${guess}"?` : ''}`,
  };
}

/** Pauses or resumes a monitor's scheduled ticks (persisted); says whether anything changed. */
export async function setMonitorPaused(
  monitor: Monitor,
  paused: boolean,
  who: AuditActor,
  deps: Pick<MonitorDeps, 'store' | 'clock' | 'audit' | 'logger'>,
): Promise<{ changed: boolean; text: string }> {
  const before = (await deps.store.getState(monitor.name)).paused === true;
  if (before !== paused) {
    await deps.store.setPaused(monitor.name, paused, { user: who.user, at: deps.clock.now() });
    await recordAudit(
      deps.audit,
      {
        actor: who,
        action: paused ? 'monitor.pause' : 'monitor.resume',
        object: { type: 'monitor', id: monitor.name },
        summary: paused ? `Paused ${monitor.name}` : `Resumed ${monitor.name}`,
      },
      deps.logger ?? createSilentLogger(),
    );
  }
  const changed = before !== paused;
  const text = paused
    ? changed
      ? `Paused ${monitor.name}: scheduled ticks are skipped until \`monitor resume ${monitor.name}\`.`
      : `${monitor.name} was already paused.`
    : changed
      ? `Resumed ${monitor.name}: the next due tick runs on schedule (${describeSchedule(monitor)}).`
      : `${monitor.name} was not paused.`;
  return { changed, text };
}

/**
 * Runs one tick of a monitor now (a manual tick, to the second, claimed with the same lease as scheduled ones) and
 * returns its report instead of posting it to the monitor's channel, so the caller posts it where it was asked for.
 * Messages the tick would post (report, source failing/recovered) come back as one message: the last one, with the
 * earlier ones in its thread. Runs even when the monitor is paused: pausing stops the schedule, not explicit runs.
 */
export async function runMonitorNow(
  monitor: Monitor,
  deps: MonitorDeps,
  actor?: AuditActor,
): Promise<{ outcome: TickOutcome; message: Message | undefined }> {
  const captured: Message[] = [];
  const capture: Transport = {
    name: deps.transport.name,
    async post(target, message): Promise<PostedRef> {
      captured.push(message);
      return { channel: target.channel, ts: `captured.${captured.length}` };
    },
    update: (ref, message) => deps.transport.update(ref, message),
    postEphemeral: (target, message) => deps.transport.postEphemeral(target, message),
    uploadFile: (target, file) => deps.transport.uploadFile(target, file),
  };
  const tickTime = new Date(Math.floor(deps.clock.now().getTime() / 1000) * 1000);
  const outcome = await runTick(monitor, tickTime, { ...deps, transport: capture });
  if (actor) await auditManualTick(monitor, outcome, actor, deps);
  const last = captured.at(-1);
  const thread = [...captured.slice(0, -1), ...(last?.thread ?? [])];
  const message = last ? { ...last, ...(thread.length ? { thread } : {}) } : undefined;
  return { outcome, message };
}

/** Records a tick someone asked for (run now, backfill); a tick the lease skipped did nothing and is not recorded. */
export async function auditManualTick(
  monitor: Monitor,
  outcome: TickOutcome,
  actor: AuditActor,
  deps: Pick<MonitorDeps, 'audit' | 'logger'>,
  options: { since?: Date } = {},
): Promise<void> {
  if (outcome.status === 'skipped') return;
  const what = options.since
    ? `Backfilled ${monitor.name} since ${options.since.toISOString()}`
    : `Ran ${monitor.name} now`;
  await recordAudit(
    deps.audit,
    {
      actor,
      action: options.since ? 'monitor.backfill' : 'monitor.run',
      object: { type: 'monitor', id: monitor.name },
      summary:
        outcome.status === 'failed'
          ? `${what}: the tick failed`
          : `${what}: read ${outcome.read}, scored ${outcome.scored}`,
      details: {
        tickTime: outcome.tickTime.toISOString(),
        status: outcome.status,
        ...(options.since ? { since: options.since.toISOString() } : {}),
      },
    },
    deps.logger ?? createSilentLogger(),
  );
}

/** Records `monitor run --dry-run` shows when --records is not given. */
export const DRY_RUN_RECORDS = 5;

/** Shows what the extractor produces for the latest `n` records (nothing stored, nothing scored). */
export async function dryRunExtractor(
  monitor: Monitor,
  deps: Pick<
    MonitorDeps,
    'langfuse' | 'langfuseBaseUrl' | 'baseDir' | 'clock' | 'slack' | 'maxFieldBytes' | 'logger'
  >,
  n = DRY_RUN_RECORDS,
): Promise<{ ok: true; message: Message } | { ok: false; error: string }> {
  const made = createSource(monitor.source, sourceDepsOf(monitor, deps));
  if (!made.ok) return { ok: false, error: made.error };
  const got = await made.source.latest(n, deps.clock.now());
  if (!got.ok) return { ok: false, error: got.error };
  const lines: string[] = [];
  for (const rec of got.value.records) {
    const r = extractItem(rec.record, monitor.extract, rec.id, deps.maxFieldBytes);
    if (r.ok) {
      lines.push(
        `✓ ${r.item.id}\n    input:  ${excerpt(r.item.input, 120)}\n    output: ${excerpt(
          typeof r.item.output === 'string' ? r.item.output : JSON.stringify(r.item.output),
          120,
        )}${r.item.context ? `\n    context: ${excerpt(r.item.context, 120)}` : ''}${
          r.item.metadata ? `\n    metadata: ${excerpt(JSON.stringify(r.item.metadata), 120)}` : ''
        }${rec.url ? `\n    link: ${rec.url}` : ''}`,
      );
    } else lines.push(`✗ ${r.id}: ${r.reason}${nearestValue(rec.record, r.reason)}`);
  }
  for (const bad of got.value.invalid) lines.push(`✗ ${bad.id}: ${bad.reason}`);
  return {
    ok: true,
    message: {
      title: `Extractor dry run of ${monitor.name}: latest ${got.value.records.length} record(s)`,
      sections: [
        { kind: 'code', text: lines.join('\n') || '(no records)' },
        ...(got.value.notes?.length ? [{ kind: 'context' as const, items: got.value.notes }] : []),
      ],
    },
  };
}

/** For a missing path, what the record holds at the longest part of it that exists (so the path can be fixed). */
function nearestValue(record: unknown, reason: string): string {
  const path = /'([^']+)' is missing/.exec(reason)?.[1];
  if (!path) return '';
  const steps = path
    .replace(/\[(-?\d+)\]/g, '.$1')
    .split('.')
    .filter(Boolean);
  for (let i = steps.length - 1; i > 0; i--) {
    const at = steps.slice(0, i).join('.');
    const v = getPath(record, at);
    if (v === undefined || v === null) continue;
    const kind = Array.isArray(v) ? 'array' : typeof v;
    return `\n    ${at} is ${/^[aeiou]/.test(kind) ? 'an' : 'a'} ${kind}: ${excerpt(JSON.stringify(v) ?? String(v), 120)}`;
  }
  return '';
}

/** Starts every monitor's schedule and runs due (or missed) ticks once at start; `stop` on shutdown. */
export function startMonitors(
  monitors: readonly Monitor[],
  deps: MonitorDeps,
  options: { onTick?: (name: string, outcome: TickOutcome) => void; catchUp?: boolean } = {},
): MonitorScheduler {
  const byName = new Map(monitors.map((m) => [m.name, m]));
  const scheduler = startSchedules(
    monitors,
    async (name) => {
      const m = byName.get(name);
      if (!m) return;
      const outcome = await runDueTick(m, deps);
      options.onTick?.(name, outcome);
    },
    { onError: (name, err) => deps.logger?.error({ monitor: name, err }, 'monitor wake-up failed') },
  );
  if (options.catchUp !== false) void scheduler.checkAll();
  return scheduler;
}
