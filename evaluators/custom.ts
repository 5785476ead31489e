// Custom metrics: `metric: ./path/to/metric.ts` (or .js) names a module next to the suite whose default export is a
// function (item, args) => number | {value, reason} (or a Promise of one). It is imported on first use (TypeScript
// through tsx, which the `arbiter` command registers); every way it can go wrong is an error naming the file.
import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { clamp01, errorMessage, errorScore } from './score.ts';
import type { Item, Metric, MetricDeps, Score } from './types.ts';

const CUSTOM_PATH = /^(?:\.{1,2}\/|\/).*\.(?:ts|mts|js|mjs|cjs)$/;

/** Whether a metric entry's `metric` names a module file rather than a registry metric. */
export function isCustomMetricPath(name: string): boolean {
  return CUSTOM_PATH.test(name);
}

/** The score name of a custom metric: its file name without the extension, as a lower-case name. */
export function customMetricName(path: string): string {
  const stem = basename(path).replace(/\.(?:ts|mts|js|mjs|cjs)$/, '');
  const name = stem
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 63);
  return name || 'custom';
}

/** The absolute file of a custom metric, relative to the suite's folder (the working directory when unknown). */
export function customMetricFile(path: string, baseDir?: string): string {
  return resolve(baseDir ?? process.cwd(), path);
}

/** Why a custom metric file cannot be used before anything runs (it does not exist), or undefined. */
export function checkCustomMetricFile(path: string, baseDir?: string): string | undefined {
  const file = customMetricFile(path, baseDir);
  return existsSync(file) ? undefined : `custom metric ${path}: file not found (${file})`;
}

type CustomFn = (item: Item, args: Record<string, unknown>) => unknown;

/** Reads what a custom metric returned as a Score, or says why it is not one. */
function toScore(name: string, path: string, returned: unknown): Score {
  const bad = (what: string) =>
    errorScore(
      name,
      `custom metric ${path} returned ${what}; expected a number from 0 to 1 or {value, reason}`,
      { errorCause: 'metric' },
    );
  const isUnit = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1;
  if (typeof returned === 'number') {
    if (!isUnit(returned)) return bad(String(returned));
    return { metric: name, value: clamp01(returned), reason: `custom metric ${path}: ${returned}` };
  }
  if (returned && typeof returned === 'object' && !Array.isArray(returned)) {
    const r = returned as { value?: unknown; reason?: unknown; label?: unknown };
    if (!isUnit(r.value)) return bad(`{value: ${JSON.stringify(r.value) ?? 'undefined'}}`);
    if (r.reason !== undefined && typeof r.reason !== 'string') return bad('a `reason` that is not text');
    return {
      metric: name,
      value: r.value,
      ...(typeof r.label === 'string' ? { label: r.label } : {}),
      reason:
        typeof r.reason === 'string' && r.reason !== '' ? r.reason : `custom metric ${path}: ${r.value}`,
    };
  }
  return bad(returned === undefined ? 'nothing' : Array.isArray(returned) ? 'a list' : typeof returned);
}

/** Builds a custom metric; the module is imported on its first item and its failures are errors on each item. */
export function createCustomMetric(path: string, args: Record<string, unknown>, deps: MetricDeps): Metric {
  const name = customMetricName(path);
  const file = customMetricFile(path, deps.baseDir);
  let loading: Promise<{ ok: true; fn: CustomFn } | { ok: false; error: string }> | undefined;
  const load = () => {
    loading ??= (async () => {
      if (!existsSync(file)) return { ok: false, error: `custom metric ${path}: file not found (${file})` };
      let mod: { default?: unknown };
      try {
        mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
      } catch (err) {
        return { ok: false, error: `custom metric ${path}: cannot load ${file}: ${errorMessage(err)}` };
      }
      if (typeof mod.default !== 'function')
        return {
          ok: false,
          error: `custom metric ${path}: the module has no default export function (found ${mod.default === undefined ? 'none' : typeof mod.default}); write \`export default function (item, args) { return 1; }\``,
        };
      return { ok: true, fn: mod.default as CustomFn };
    })();
    return loading;
  };
  return {
    name,
    kind: 'heuristic',
    async score(item) {
      const loaded = await load();
      if (!loaded.ok) return errorScore(name, loaded.error, { errorCause: 'metric' });
      let returned: unknown;
      try {
        // structuredClone: the module gets copies, so it cannot change the item other metrics see.
        returned = await loaded.fn(structuredClone(item), structuredClone(args));
      } catch (err) {
        return errorScore(name, `custom metric ${path} threw: ${errorMessage(err)}`, {
          errorCause: 'metric',
        });
      }
      return toScore(name, path, returned);
    },
  };
}
