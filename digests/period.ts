// Periods in a timezone (pure): the last complete day or week before a moment, the one before it, and the
// latest scheduled time of a digest's cron. Local midnights are found with Intl, so DST days are 23 or 25 hours.
import { latestScheduledTime } from '../config/index.ts';
import type { DigestSchedule } from './schema.ts';

/** A half-open time range `[start, end)` with its local label. */
export interface Period {
  kind: 'day' | 'week';
  start: Date;
  end: Date;
  timezone: string;
  /** Local date of the start, `YYYY-MM-DD`: the period's key and file-name part. */
  key: string;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function partsIn(t: Date, timezone: string) {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      weekday: 'short',
    });
    formatters.set(timezone, f);
  }
  const p = Object.fromEntries(f.formatToParts(t).map((x) => [x.type, x.value]));
  return {
    y: Number(p.year),
    m: Number(p.month),
    d: Number(p.day),
    h: Number(p.hour),
    min: Number(p.minute),
    s: Number(p.second),
    weekday: ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(p.weekday ?? ''),
  };
}

/** Offset of a timezone at `t` in ms (local wall time minus UTC). */
function offsetAt(t: number, timezone: string): number {
  const p = partsIn(new Date(t), timezone);
  return Date.UTC(p.y, p.m - 1, p.d, p.h, p.min, p.s) - Math.floor(t / 1000) * 1000;
}

/** The instant of local midnight of a calendar date (month 1-12; day may overflow, as in Date.UTC). */
export function localMidnight(y: number, m: number, d: number, timezone: string): Date {
  const wall = Date.UTC(y, m - 1, d);
  let t = wall - offsetAt(wall, timezone);
  // Twice: the offset at the guess may differ from the offset at the answer across a DST change.
  t = wall - offsetAt(t, timezone);
  return new Date(t);
}

function dateKey(t: Date, timezone: string): string {
  const p = partsIn(t, timezone);
  return `${p.y}-${String(p.m).padStart(2, '0')}-${String(p.d).padStart(2, '0')}`;
}

/** The last complete day or week (weeks start on Monday) strictly before the local day of `at`. */
export function periodBefore(kind: 'day' | 'week', at: Date, timezone: string): Period {
  const p = partsIn(at, timezone);
  const back = kind === 'day' ? 1 : 7 + ((p.weekday + 6) % 7);
  const start = localMidnight(p.y, p.m, p.d - back, timezone);
  const end = localMidnight(p.y, p.m, p.d - back + (kind === 'day' ? 1 : 7), timezone);
  return { kind, start, end, timezone, key: dateKey(start, timezone) };
}

/** The period just before `period` (for the arrows). */
export function previousPeriod(period: Period): Period {
  return periodBefore(period.kind, period.start, period.timezone);
}

/** The period that is still running at `at` (today or this week so far), for previews. */
export function currentPeriod(kind: 'day' | 'week', at: Date, timezone: string): Period {
  const p = partsIn(at, timezone);
  const back = kind === 'day' ? 0 : (p.weekday + 6) % 7;
  const start = localMidnight(p.y, p.m, p.d - back, timezone);
  const end = localMidnight(p.y, p.m, p.d - back + (kind === 'day' ? 1 : 7), timezone);
  return { kind, start, end, timezone, key: dateKey(start, timezone) };
}

/** Human label of a period: `Thu 19 Nov 2026` or `week of Mon 16 Nov 2026` (same text on every ICU version). */
export function periodLabel(period: Period): string {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: period.timezone,
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    year: 'numeric',
  }).formatToParts(period.start);
  const get = (t: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === t)?.value ?? '';
  const text = `${get('weekday')} ${get('day')} ${get('month')} ${get('year')}`;
  return period.kind === 'day' ? text : `week of ${text}`;
}

/** The latest scheduled time at or before `now` (minute resolution), or undefined within 8 days. */
export function latestScheduled(schedule: DigestSchedule, now: Date): Date | undefined {
  return latestScheduledTime(schedule, now);
}

/** Buckets of a period for the chart: hours of a day, quarter days of a week. */
export function periodBuckets(period: Period): Date[] {
  const step = period.kind === 'day' ? 3_600_000 : 6 * 3_600_000;
  const out: Date[] = [];
  for (let t = period.start.getTime(); t < period.end.getTime(); t += step) out.push(new Date(t));
  return out;
}
