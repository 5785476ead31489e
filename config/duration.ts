// Durations as people write them, one grammar for chat options (`--deadline 2d`) and every time field of the YAML
// files (`every: 30m`, `timeout: 30s`, `lookback: 24h`, `minInterval: 0s`).
import { z } from 'zod';

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const DURATION_RE = /^(\d+)\s*(ms|s|sec|m|min|h|d|w)$/i;

/** Milliseconds of a duration text, zero included; undefined when the text is not a duration. */
export function durationMs(text: string): number | undefined {
  const m = DURATION_RE.exec(text.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * (UNIT_MS[(m[2] ?? '').toLowerCase()] ?? 0);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/**
 * Parses a whole number and a unit (`500ms`, `45s`, `30m`, `30min`, `12h`, `2d`, `1w`, any case) into milliseconds;
 * undefined when the text is not such a duration or is zero. Callers set their own minimums.
 */
export function parseDuration(text: string): number | undefined {
  const ms = durationMs(text);
  return ms !== undefined && ms > 0 ? ms : undefined;
}

/** A duration as text for a warning or a default: the largest unit that divides it (`90000` → `90s`). */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['w', 604_800_000],
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const)
    if (ms > 0 && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/**
 * The one duration type of the YAML files: a whole number and a unit (`30s`, `10m`, `24h`, `2d`; `ms`, `s`, `m`,
 * `h`, `d`, `w`). `min`/`max` bound it in milliseconds (zero is allowed only when `min` is 0).
 */
export function durationSchema(options: { example: string; min?: number; max?: number }) {
  const min = options.min ?? 1;
  const bounds =
    options.max !== undefined
      ? ` from ${formatDuration(min) === '0ms' ? '0s' : formatDuration(min)} to ${formatDuration(options.max)}`
      : min > 1
        ? ` of at least ${formatDuration(min)}`
        : '';
  const message = `expected a duration${bounds} like ${options.example} (a whole number and ms, s, m, h, d or w)`;
  return z
    .string({ error: message })
    .refine(
      (d) => {
        const ms = durationMs(d);
        return ms !== undefined && ms >= min && (options.max === undefined || ms <= options.max);
      },
      { message },
    )
    .meta({ format: 'duration' });
}
