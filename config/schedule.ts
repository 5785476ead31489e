// The one schedule type of monitors and digests: `{every: 15m}` (a fixed interval) or `{cron, timezone}` (a 5-field
// cron expression read in an IANA timezone), and the pure "latest scheduled time" both schedulers ask.
import { createRequire } from 'node:module';
import type cronLib from 'node-cron';
import type { ScheduledTask } from 'node-cron';
import { z } from 'zod';
import { durationSchema, parseDuration } from './duration.ts';

/** node-cron loads when a schedule is first checked or started, not when `arbiter help` starts (test/startup.test.ts). */
function cron(): typeof cronLib {
  return createRequire(import.meta.url)('node-cron') as typeof cronLib;
}

function isTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const TimezoneSchema = z
  .string()
  .refine(isTimezone, { message: 'unknown IANA timezone, e.g. Europe/Paris' })
  .default('UTC');

/** True for a 5-field cron expression node-cron accepts. */
export function isCronExpression(text: string): boolean {
  return text.trim().split(/\s+/).length === 5 && cron().validate(text);
}

/** A 5-field cron expression read in an IANA timezone. */
export const CronScheduleSchema = z.strictObject({
  cron: z
    .string()
    .refine(isCronExpression, {
      message: 'not a valid 5-field cron expression (minute hour day-of-month month day-of-week)',
    })
    .describe('minute hour day-of-month month day-of-week, e.g. `0 9 * * 1-5` (09:00 on weekdays)'),
  timezone: TimezoneSchema.describe('IANA timezone the cron fields are read in, e.g. Europe/Paris'),
});

/** A fixed interval counted from 00:00 UTC (`every: 1h` ticks on the hour); `timezone` places a digest's periods. */
export const EveryScheduleSchema = z.strictObject({
  every: durationSchema({ example: '15m', min: 60_000 }).describe(
    'a fixed interval of at least 1m, e.g. 15m, 2h, 1d (counted from 00:00 UTC)',
  ),
  timezone: z
    .string()
    .refine(isTimezone, { message: 'unknown IANA timezone, e.g. Europe/Paris' })
    .optional()
    .describe("IANA timezone of a digest's day and week (default UTC)"),
});

/** When a monitor ticks or a digest posts: `{every: 15m}` or `{cron: '0 9 * * 1-5', timezone: Europe/Paris}`. */
export const ScheduleSchema = z.union([EveryScheduleSchema, CronScheduleSchema]);
/** A validated schedule. */
export type Schedule = z.infer<typeof ScheduleSchema>;

/** The timezone a schedule's days are read in (an `every` schedule without one: UTC). */
export function scheduleTimezone(schedule: Schedule): string {
  return schedule.timezone ?? 'UTC';
}

/** The two schedule forms as YAML, for messages about a schedule written another way. */
export const SCHEDULE_FORMS =
  '`schedule: {every: 15m}` or `schedule: {cron: "0 9 * * 1-5", timezone: Europe/Paris}`';

const MINUTE = 60_000;
/** How far back a cron schedule is searched for its latest time (a weekly schedule fits). */
const MAX_SCAN_MINUTES = 8 * 24 * 60;
const cronMatchers = new Map<string, ScheduledTask>();

/**
 * The latest time of a cron schedule at or before `now` (minute resolution), searched back no further than
 * `notBefore` and 8 days; undefined when none is found there.
 */
export function latestCronTime(
  schedule: { cron: string; timezone: string },
  now: Date,
  notBefore?: Date,
): Date | undefined {
  const key = `${schedule.cron}|${schedule.timezone}`;
  let task = cronMatchers.get(key);
  if (!task) {
    // A created, never started task: only its timezone-aware `match` is used.
    task = cron().createTask(schedule.cron, () => {}, { timezone: schedule.timezone });
    cronMatchers.set(key, task);
  }
  const floor = notBefore ? notBefore.getTime() : Number.NEGATIVE_INFINITY;
  let t = Math.floor(now.getTime() / MINUTE) * MINUTE;
  for (let i = 0; i < MAX_SCAN_MINUTES && t > floor; i++, t -= MINUTE)
    if (task.match(new Date(t))) return new Date(t);
  return undefined;
}

/** The latest scheduled time at or before `now` of either form (shared by monitor and digest schedules). */
export function latestScheduledTime(
  schedule: { every: string } | { cron: string; timezone: string },
  now: Date,
  notBefore?: Date,
): Date | undefined {
  if ('every' in schedule) {
    const every = parseDuration(schedule.every)!;
    return new Date(Math.floor(now.getTime() / every) * every);
  }
  return latestCronTime(schedule, now, notBefore);
}

/** The node-cron expression that wakes a schedule: its own cron, or every minute for `every:` schedules. */
export function wakeExpression(schedule: Schedule): { expr: string; timezone: string } {
  if ('every' in schedule) return { expr: '* * * * *', timezone: 'UTC' };
  return { expr: schedule.cron, timezone: schedule.timezone };
}
