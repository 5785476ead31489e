// The tick log (`monitor_ticks`): one small summary document per finished tick, so digests and reports read
// a week of ticks instead of every raw score. Written once per tick (idempotent on monitor + tick time).
import type { Logger } from '../config/index.ts';
import { maskPii, type Score } from '../evaluators/index.ts';
import type { Collection, DocumentStore } from '../storage/index.ts';
import type { AlertEvent } from './alerts.ts';
import { excerpt } from './report.ts';

/** Per-metric totals of one tick: mean = sum / count; `failing` counts items below threshold or in error. */
export interface TickMetricSummary {
  metric: string;
  sum: number;
  count: number;
  failing: number;
}

/** One of the worst items of a tick (excerpts are PII-masked: digests post them to shared channels). */
export interface TickWorstItem {
  itemId: string;
  metric: string;
  value: number;
  input: string;
  output: string;
  url?: string;
}

/** An alert state change of the tick. */
export interface TickAlertEvent {
  rule: string;
  kind: 'fired' | 'resolved';
  severity: string;
  value: number;
}

/** One finished tick as stored in `monitor_ticks`. */
export interface TickLogDoc {
  _id: string;
  monitor: string;
  tickTime: Date;
  finishedAt: Date;
  status: 'ok' | 'failed';
  error?: string;
  /** A backfill tick (scored older data); not a scheduled tick. */
  backfill: boolean;
  read: number;
  scored: number;
  /** Items that failed any metric. */
  failing: number;
  metrics: TickMetricSummary[];
  worst: TickWorstItem[];
  alerts: TickAlertEvent[];
}

/** What a tick hands to the log: the scored items and their thresholds, the alert events. */
export interface TickLogInput {
  monitor: string;
  tickTime: Date;
  finishedAt: Date;
  status?: 'ok' | 'failed';
  error?: string;
  backfill?: boolean;
  read: number;
  items: readonly { id: string; input: string; output: string; scores: readonly Score[]; url?: string }[];
  /** Metric name → threshold (a score below it fails the item); 0.5 when absent. */
  thresholds: ReadonlyMap<string, number>;
  events: readonly Pick<AlertEvent, 'rule' | 'kind' | 'severity' | 'value'>[];
}

/** How many worst items a tick keeps. */
export const TICK_WORST_LIMIT = 5;
const EXCERPT_CHARS = 280;

/** The `_id` of a tick's log document. */
export const tickLogId = (monitor: string, tickTime: Date) => `${monitor}@${tickTime.toISOString()}`;

/** Summarizes one tick (pure): per-metric sums, counts and failing items, the worst items, the alert events. */
export function summarizeTick(input: TickLogInput): TickLogDoc {
  const metrics = new Map<string, TickMetricSummary>();
  const worst: TickWorstItem[] = [];
  let failing = 0;
  for (const item of input.items) {
    let itemFails = false;
    let low: { metric: string; value: number } | undefined;
    for (const s of item.scores) {
      let m = metrics.get(s.metric);
      if (!m) {
        m = { metric: s.metric, sum: 0, count: 0, failing: 0 };
        metrics.set(s.metric, m);
      }
      // An error is a failed item with no value: it counts as failing, not in the mean.
      const value = s.error ? 0 : s.value;
      if (!s.error) {
        m.sum += s.value;
        m.count += 1;
      }
      if (s.error || s.value < (input.thresholds.get(s.metric) ?? 0.5)) {
        m.failing += 1;
        itemFails = true;
      }
      if (!low || value < low.value) low = { metric: s.metric, value };
    }
    if (itemFails) failing += 1;
    if (low) {
      worst.push({
        itemId: item.id,
        metric: low.metric,
        value: low.value,
        input: maskPii(excerpt(item.input, EXCERPT_CHARS)),
        output: maskPii(excerpt(item.output, EXCERPT_CHARS)),
        ...(item.url ? { url: item.url } : {}),
      });
    }
  }
  worst.sort((a, b) => a.value - b.value || a.itemId.localeCompare(b.itemId));
  return {
    _id: tickLogId(input.monitor, input.tickTime),
    monitor: input.monitor,
    tickTime: input.tickTime,
    finishedAt: input.finishedAt,
    status: input.status ?? 'ok',
    ...(input.error ? { error: input.error } : {}),
    backfill: input.backfill ?? false,
    read: input.read,
    scored: input.items.length,
    failing,
    metrics: [...metrics.values()].sort((a, b) => a.metric.localeCompare(b.metric)),
    worst: worst.slice(0, TICK_WORST_LIMIT),
    alerts: input.events.map((e) => ({ rule: e.rule, kind: e.kind, severity: e.severity, value: e.value })),
  };
}

/** The tick log repository. */
export interface TickLog {
  /** Records a finished tick; a second record of the same tick replaces it. Never throws (logs and returns false). */
  recordTick(input: TickLogInput): Promise<boolean>;
  /** Ticks with `from <= tickTime < to`, oldest first; optionally of one monitor. */
  listTicks(from: Date, to: Date, options?: { monitor?: string }): Promise<TickLogDoc[]>;
  /** Inserts summaries in bulk (benchmarks and imports). */
  seedTicks(docs: readonly TickLogDoc[]): Promise<void>;
}

/** Opens the `monitor_ticks` collection (indexed by tick time). */
export async function createTickLog(
  store: DocumentStore,
  options: { logger?: Logger } = {},
): Promise<TickLog> {
  const ticks: Collection<TickLogDoc> = await store.collection<TickLogDoc>('monitor_ticks', [
    { fields: { tickTime: 1 } },
  ]);
  return {
    async recordTick(input) {
      const doc = summarizeTick(input);
      try {
        const { _id, ...rest } = doc;
        await ticks.updateOne(
          { _id },
          { $set: rest, ...(doc.error === undefined ? { $unset: { error: true as const } } : {}) },
          { upsert: true },
        );
        return true;
      } catch (err) {
        // The tick itself succeeded: a missing summary only makes a digest undercount, never fails the tick.
        options.logger?.warn({ err, monitor: input.monitor }, 'could not record the tick summary');
        return false;
      }
    },
    listTicks(from, to, opts = {}) {
      return ticks.find(
        { tickTime: { $gte: from, $lt: to }, ...(opts.monitor ? { monitor: opts.monitor } : {}) },
        { sort: { tickTime: 1 } },
      );
    },
    async seedTicks(docs) {
      for (let i = 0; i < docs.length; i += 5000) await ticks.insertMany(docs.slice(i, i + 5000));
    },
  };
}
