// Monitor use cases shared by the bot and the CLI: list, dry-run an extractor, and start the schedules.
import type { Message } from '../commands/message.ts';
import { extractItem } from './extract.ts';
import { excerpt } from './report.ts';
import { type MonitorScheduler, startSchedules } from './schedule.ts';
import type { Monitor } from './schema.ts';
import { createSource } from './sources.ts';
import { type MonitorDeps, runDueTick, type TickOutcome } from './tick.ts';

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
        `  last=${last ? `${last.tickTime.toISOString()} ${last.status}${last.error ? ` (${last.error})` : ''}` : 'never'}` +
        (state.failing ? '  FAILING' : '') +
        (firing.length ? `  alerts: ${firing.join('; ')}` : ''),
    );
  }
  return {
    title: `${monitors.length} monitor(s)`,
    sections: [{ kind: 'code', text: lines.join('\n') || '(no monitors: add YAML files to MONITORS_DIR)' }],
  };
}

/** Shows what the extractor produces for the latest `n` records (nothing stored, nothing scored). */
export async function dryRunExtractor(
  monitor: Monitor,
  deps: Pick<MonitorDeps, 'langfuse' | 'langfuseBaseUrl' | 'baseDir' | 'clock'>,
  n = 5,
): Promise<{ ok: true; message: Message } | { ok: false; error: string }> {
  const made = createSource(monitor.source, {
    ...(deps.langfuse ? { langfuse: deps.langfuse } : {}),
    ...(deps.langfuseBaseUrl ? { langfuseBaseUrl: deps.langfuseBaseUrl } : {}),
    ...(deps.baseDir ? { baseDir: deps.baseDir } : {}),
  });
  if (!made.ok) return { ok: false, error: made.error };
  const got = await made.source.latest(n, deps.clock.now());
  if (!got.ok) return { ok: false, error: got.error };
  const lines: string[] = [];
  for (const rec of got.value.records) {
    const r = extractItem(rec.record, monitor.extract, rec.id);
    if (r.ok) {
      lines.push(
        `✓ ${r.item.id}\n    input:  ${excerpt(r.item.input, 120)}\n    output: ${excerpt(
          typeof r.item.output === 'string' ? r.item.output : JSON.stringify(r.item.output),
          120,
        )}${r.item.context ? `\n    context: ${excerpt(r.item.context, 120)}` : ''}${
          r.item.metadata ? `\n    metadata: ${excerpt(JSON.stringify(r.item.metadata), 120)}` : ''
        }${rec.url ? `\n    link: ${rec.url}` : ''}`,
      );
    } else lines.push(`✗ ${r.id}: ${r.reason}`);
  }
  for (const bad of got.value.invalid) lines.push(`✗ ${bad.id}: ${bad.reason}`);
  return {
    ok: true,
    message: {
      title: `Extractor dry run of ${monitor.name}: latest ${got.value.records.length} record(s)`,
      sections: [{ kind: 'code', text: lines.join('\n') || '(no records)' }],
    },
  };
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
