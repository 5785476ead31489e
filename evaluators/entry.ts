// The one metric entry shape of suites and monitors (`- metric: <registry name>` with optional `name`, `args`,
// `threshold`, `weight`, `gate`), how an entry becomes a configured metric, and how an item is graded from its scores:
// an item passes only when every gating metric reaches its threshold, a metric that could not score makes the item
// errored (neither passed nor failed), and the item score is the weighted mean of the metrics that scored.
import { z } from 'zod';
import { isMapping, mappingsAt, msAsDuration, NameSchema, renameKey } from '../config/index.ts';
import { checkCustomMetricFile, customMetricName, isCustomMetricPath } from './custom.ts';
import { closestName, createMetric, isMetricName, METRIC_NAMES, metrics } from './registry.ts';
import type { Metric, MetricDeps, Score, ScoreErrorCause } from './types.ts';

/** Threshold of a metric entry that names none. */
export const DEFAULT_METRIC_THRESHOLD = 0.5;

const unit = z
  .number({ error: 'expected a number from 0 to 1' })
  .min(0, { error: 'expected a number from 0 to 1' })
  .max(1, {
    error: 'expected a number from 0 to 1',
  });

/** The name a score is written under: the one name rule (lower-case letters, digits, `-`, `_` and `.`). */
export const ScoreNameSchema = NameSchema;

/** One metric entry as written in a suite or a monitor. */
export const MetricEntrySchema = z.strictObject({
  metric: z
    .string({ error: 'expected `metric: <registry name>`, e.g. `metric: pii`' })
    .min(1)
    .describe(
      'registry name of the metric (see [Metrics](#metrics); `arbiter metrics` lists them), or a module file relative to the suite or monitor file (`./metrics/my-metric.ts` or `.js`) whose default export is `(item, args) => number | {value, reason}`',
    ),
  name: ScoreNameSchema.optional().describe(
    "name written on the scores (default: the metric's own); alerts and reports use this name",
  ),
  args: z.record(z.string(), z.unknown()).optional().describe("the metric's own arguments"),
  threshold: unit
    .optional()
    .describe('a score below this fails the item when the metric gates (default 0.5)'),
  weight: z
    .number()
    .min(0, { error: 'expected a weight of 0 or more' })
    .optional()
    .describe("weight in the item's weighted mean score (default 1)"),
  gate: z
    .boolean()
    .optional()
    .describe('`false` makes the metric advisory: scored and shown, never failing the item (default true)'),
});

/** One metric entry as written. */
export type MetricEntry = z.infer<typeof MetricEntrySchema>;

/** The suite form before the shared shape: `- name: <registry name>` with optional `args`. */
export const LegacyMetricEntrySchema = z.strictObject({
  name: z.string().min(1),
  args: z.record(z.string(), z.unknown()).optional(),
});

/** A metric entry with its defaults applied; `name` is the score name (the metric's own when not renamed). */
export interface MetricSpec {
  metric: string;
  name: string;
  args: Record<string, unknown>;
  threshold: number;
  weight: number;
  gate: boolean;
}

/** The score name a metric writes when the entry does not rename it (a judge may name itself with `args.name`). */
function ownName(metric: string, args: Record<string, unknown>): string {
  if (isCustomMetricPath(metric)) return customMetricName(metric);
  if ((metric === 'llm-judge' || metric === 'pairwise-judge') && typeof args.name === 'string')
    return args.name;
  return metric;
}

/** Applies an entry's defaults. */
export function toMetricSpec(entry: MetricEntry): MetricSpec {
  const args = entry.args ?? {};
  return {
    metric: entry.metric,
    name: entry.name ?? ownName(entry.metric, args),
    args,
    threshold: entry.threshold ?? DEFAULT_METRIC_THRESHOLD,
    weight: entry.weight ?? 1,
    gate: entry.gate ?? true,
  };
}

/** The new form of a legacy `- name: x` entry, as YAML text for the warning that shows it. */
export function legacyEntryHint(legacy: z.infer<typeof LegacyMetricEntrySchema>): string {
  const args =
    legacy.args && Object.keys(legacy.args).length > 0 ? `, args: ${JSON.stringify(legacy.args)}` : '';
  return `- metric: ${legacy.name}${args}`;
}

/** Old argument names of metrics, by metric: `latency`'s `maxMs` (milliseconds) is `maxDuration` (a duration). */
const OLD_ARGS: Record<string, { from: string; to: string; convert: (v: unknown) => unknown }[]> = {
  latency: [{ from: 'maxMs', to: 'maxDuration', convert: msAsDuration }],
};

/**
 * Rewrites the old forms of the metric entries at `metrics` (suites and monitors alike), warning with the new form:
 * the old suite form `- name: pii` (with only `args`) becomes `- metric: pii`; old argument names get their new
 * ones (`latency`'s `maxMs: 5000` → `maxDuration: 5s`).
 */
export function upgradeMetricEntries(
  data: unknown,
  warn: (
    path: readonly PropertyKey[],
    message: string,
    moved?: { from: readonly PropertyKey[]; to: readonly PropertyKey[] },
  ) => void,
): void {
  for (const { obj, path } of mappingsAt(data, ['metrics', '*'])) {
    const keys = Object.keys(obj);
    if (
      !('metric' in obj) &&
      typeof obj.name === 'string' &&
      obj.name !== '' &&
      keys.every((k) => k === 'name' || k === 'args')
    ) {
      const old = { name: obj.name, ...(isMapping(obj.args) ? { args: obj.args } : {}) };
      warn(
        path,
        `\`- name: ${obj.name}\` is the old form and will stop working in a later release; write \`${legacyEntryHint(old)}\``,
        { from: [...path, 'name'], to: [...path, 'metric'] },
      );
      obj.metric = obj.name;
      delete obj.name;
    }
    const renames = typeof obj.metric === 'string' ? OLD_ARGS[obj.metric] : undefined;
    if (renames && isMapping(obj.args))
      for (const r of renames) renameKey(obj.args, [...path, 'args'], r.from, r.to, warn, r.convert);
  }
}

/** One problem with a metric entry, at a path below the entry. */
export interface EntryIssue {
  path: (string | number)[];
  message: string;
}

/**
 * Checks an entry against the registry: the metric exists and its arguments parse. A custom metric module must exist
 * when `baseDir` (the suite's folder) is given; its arguments are its own.
 */
export function checkMetricEntry(entry: MetricEntry, baseDir?: string): EntryIssue[] {
  if (isCustomMetricPath(entry.metric)) {
    const missing = baseDir === undefined ? undefined : checkCustomMetricFile(entry.metric, baseDir);
    return missing ? [{ path: ['metric'], message: missing }] : [];
  }
  if (!isMetricName(entry.metric)) {
    const guess = closestName(entry.metric, METRIC_NAMES);
    return [
      {
        path: ['metric'],
        message: `unknown metric '${entry.metric}'${guess ? ` (did you mean '${guess}'?)` : ''}; valid: ${METRIC_NAMES.join(', ')}, or a module file such as ./metrics/my-metric.ts`,
      },
    ];
  }
  const parsed = (metrics[entry.metric].args as z.ZodType).safeParse(entry.args ?? {});
  if (parsed.success) {
    // With the suite's folder known, a heuristic is built once so files it names (schemaPath) are checked at load.
    if (baseDir === undefined || metrics[entry.metric].kind !== 'heuristic') return [];
    const made = createMetric(entry.metric, entry.args ?? {}, { baseDir });
    return made.ok ? [] : [{ path: ['args'], message: made.error.replace(/^metric '[^']+': /, '') }];
  }
  return parsed.error.issues.map((issue) => ({
    path: ['args', ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))],
    message: issue.message,
  }));
}

/** Score names must be unique within one suite or monitor, or two metrics would overwrite each other. */
export function duplicateScoreNames(specs: readonly MetricSpec[]): { index: number; name: string }[] {
  const seen = new Set<string>();
  const out: { index: number; name: string }[] = [];
  specs.forEach((s, index) => {
    if (seen.has(s.name)) out.push({ index, name: s.name });
    seen.add(s.name);
  });
  return out;
}

/** A configured metric with its entry's gate settings. */
export interface GradedMetric {
  metric: Metric;
  spec: MetricSpec;
}

/** Builds the metric an entry names, writing scores under the entry's name. */
export function createMetricFromSpec(
  spec: MetricSpec,
  deps: MetricDeps = {},
): { ok: true; graded: GradedMetric } | { ok: false; error: string } {
  const made = createMetric(spec.metric, spec.args, deps);
  if (!made.ok) return made;
  const base = made.metric;
  const metric: Metric =
    base.name === spec.name
      ? base
      : {
          name: spec.name,
          kind: base.kind,
          score: async (item, ctx) => ({ ...(await base.score(item, ctx)), metric: spec.name }),
        };
  return { ok: true, graded: { metric, spec } };
}

/** Why an item could not be fully scored: one entry per metric that could not score. */
export interface ScoreError {
  metric: string;
  reason: string;
  cause: ScoreErrorCause;
}

/** The grade of one item from its scores. */
export interface ItemGrade {
  /** Weighted mean of the scores that scored; null when none did (or every weight is 0). */
  score: number | null;
  /** Every gating metric reached its threshold and none could not score. */
  passed: boolean;
  /** Metrics that could not score; a non-empty list makes the item errored. */
  errors: ScoreError[];
  /** Gating metrics below their threshold. */
  failedGates: { metric: string; value: number; threshold: number }[];
}

/** Grades an item: every gating metric must reach its threshold; an error on any metric makes the item errored. */
export function gradeItem(scores: readonly Score[], specs: readonly MetricSpec[]): ItemGrade {
  const byName = new Map(specs.map((s) => [s.name, s]));
  let sum = 0;
  let weights = 0;
  const errors: ScoreError[] = [];
  const failedGates: ItemGrade['failedGates'] = [];
  for (const s of scores) {
    const spec = byName.get(s.metric);
    if (s.error !== undefined) {
      errors.push({ metric: s.metric, reason: s.reason, cause: s.errorCause ?? 'metric' });
      continue;
    }
    const weight = spec?.weight ?? 1;
    sum += weight * s.value;
    weights += weight;
    const threshold = spec?.threshold ?? DEFAULT_METRIC_THRESHOLD;
    if ((spec?.gate ?? true) && s.value + 1e-12 < threshold)
      failedGates.push({ metric: s.metric, value: s.value, threshold });
  }
  // A gating metric that produced no score at all is as much an error as one that said it could not score.
  for (const spec of specs)
    if (!scores.some((s) => s.metric === spec.name))
      errors.push({ metric: spec.name, reason: 'the metric returned no score', cause: 'metric' });
  return {
    score: weights > 0 ? sum / weights : null,
    passed: errors.length === 0 && failedGates.length === 0,
    errors,
    failedGates,
  };
}
