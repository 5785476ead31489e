// Scheduling: the pure "which tick is due" logic, and a thin node-cron shell around it.
import { createRequire } from 'node:module';
import type cronLib from 'node-cron';
import { latestScheduledTime, wakeExpression } from '../config/index.ts';
import type { ScheduleSpec } from './schema.ts';

/** node-cron loads when a schedule is first checked or started, not when `arbiter help` starts (test/startup.test.ts). */
function cron(): typeof cronLib {
  return createRequire(import.meta.url)('node-cron') as typeof cronLib;
}

/** The latest scheduled time at or before `now` (minute resolution), or undefined if none within the scan range. */
export function latestScheduled(spec: ScheduleSpec, now: Date, notBefore?: Date): Date | undefined {
  return latestScheduledTime(spec, now, notBefore);
}

/**
 * The tick to run now, if any: the latest scheduled time not yet claimed. Ticks missed while down collapse
 * into this one tick (the source watermark makes it cover the whole gap).
 */
export function dueTick(spec: ScheduleSpec, lastTickTime: Date | undefined, now: Date): Date | undefined {
  const latest = latestScheduled(spec, now, lastTickTime);
  if (!latest) return undefined;
  if (lastTickTime && latest.getTime() <= lastTickTime.getTime()) return undefined;
  return latest;
}

export { wakeExpression };

/** Running schedules; `stop` waits for ticks in flight. */
export interface MonitorScheduler {
  stop(): Promise<void>;
  /** Checks every monitor once now (start-up catch-up); resolves when the checks finish. */
  checkAll(): Promise<void>;
}

/**
 * Starts one node-cron task per monitor. Each wake-up calls `onWake(name)`; a wake-up while the previous one
 * still runs is dropped (the next wake-up covers the gap), so an overrunning tick is never started twice.
 */
export function startSchedules(
  monitors: readonly { name: string; schedule: ScheduleSpec }[],
  onWake: (name: string) => Promise<void>,
  options: { onError?: (name: string, err: unknown) => void } = {},
): MonitorScheduler {
  const running = new Map<string, Promise<void>>();
  const wake = (name: string): Promise<void> => {
    const inFlight = running.get(name);
    if (inFlight) return inFlight;
    const p = onWake(name)
      .catch((err) => options.onError?.(name, err))
      .finally(() => running.delete(name));
    running.set(name, p);
    return p;
  };
  const tasks = monitors.map((m) => {
    const { expr, timezone } = wakeExpression(m.schedule);
    return cron().schedule(
      expr,
      () => {
        void wake(m.name);
      },
      { timezone, name: `monitor:${m.name}`, noOverlap: true },
    );
  });
  return {
    async checkAll() {
      await Promise.all(monitors.map((m) => wake(m.name)));
    },
    async stop() {
      for (const t of tasks) await t.destroy();
      await Promise.all([...running.values()]);
    },
  };
}
