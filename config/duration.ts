// Durations as people write them, one grammar for chat options (`--deadline 2d`) and YAML (`every: 30m`).

const UNIT_MS: Record<string, number> = {
  s: 1000,
  sec: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const DURATION_RE = /^(\d+)\s*(s|sec|m|min|h|d|w)$/i;

/**
 * Parses a whole number and a unit (`45s`, `30m`, `30min`, `12h`, `2d`, `1w`, any case) into milliseconds;
 * undefined when the text is not such a duration or is zero. Callers set their own minimums.
 */
export function parseDuration(text: string): number | undefined {
  const m = DURATION_RE.exec(text.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * (UNIT_MS[(m[2] ?? '').toLowerCase()] ?? 0);
  return ms > 0 && Number.isSafeInteger(ms) ? ms : undefined;
}
