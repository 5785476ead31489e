// Alert rules as a state machine: an alert posts once when its rule breaks and once when it recovers. Pure.
import { z } from 'zod';
import { type AlertRuleSpec, AlertSeveritySchema } from './schema.ts';

/** What one tick measured: per-metric mean and scored count, and how many items failed any metric. */
export interface TickStats {
  means: Record<string, number>;
  counts: Record<string, number>;
  failing: number;
  scored: number;
  /** The tick's time (ISO), so human decisions on its items can be applied later; absent in older states. */
  tickTime?: string;
}

/** A tick's stats as stored (in a tick's kept evaluation), read back with this schema. */
export const TickStatsSchema = z.object({
  means: z.record(z.string(), z.number()),
  counts: z.record(z.string(), z.number()),
  failing: z.number(),
  scored: z.number(),
  tickTime: z.string().optional(),
}) satisfies z.ZodType<TickStats>;

/**
 * The history as alert windows see it: each tick's means with the human decisions made since on its items
 * (stored stats keep the judge's values; see humanAdjustments). Ticks without a time are left as they are.
 */
export function withHumanDecisions(
  history: readonly TickStats[],
  monitor: string,
  adjustments: {
    forTick(monitor: string, tickTime: string): { delta: ReadonlyMap<string, number> } | undefined;
  },
): TickStats[] {
  return history.map((t) => {
    const adj = t.tickTime ? adjustments.forTick(monitor, t.tickTime) : undefined;
    if (!adj) return t;
    const means = { ...t.means };
    for (const [metric, delta] of adj.delta) {
      const n = t.counts[metric] ?? 0;
      if (n > 0 && means[metric] !== undefined) means[metric] = means[metric]! + delta / n;
    }
    return { ...t, means };
  });
}

/** Per-rule state kept between ticks. */
export interface AlertState {
  firing: boolean;
  since?: string;
}

/** A state change worth posting. */
export interface AlertEvent {
  rule: string;
  kind: 'fired' | 'resolved';
  severity: AlertRuleSpec['severity'];
  value: number;
  text: string;
}

/** An alert state as stored. */
export const AlertStateSchema = z.object({
  firing: z.boolean(),
  since: z.string().optional(),
}) satisfies z.ZodType<AlertState>;

/** An alert event as stored. */
export const AlertEventSchema = z.object({
  rule: z.string(),
  kind: z.enum(['fired', 'resolved']),
  severity: AlertSeveritySchema,
  value: z.number(),
  text: z.string(),
}) satisfies z.ZodType<AlertEvent>;

/** A stable name for a rule: its `name`, or a description of it. */
export function ruleName(rule: AlertRuleSpec): string {
  if (rule.name) return rule.name;
  const what = rule.on === 'failing' ? 'failing items' : `mean ${rule.metric}`;
  const cmp = rule.below !== undefined ? `< ${rule.below}` : `> ${rule.above}`;
  return `${what}${rule.window > 1 ? ` over ${rule.window} ticks` : ''} ${cmp}`;
}

/**
 * The value a rule looks at: the failing count of this tick, or a metric's mean over the last `window` ticks
 * (weighted by scored count; `history` is oldest first and includes this tick). Undefined when nothing was scored.
 */
export function ruleValue(rule: AlertRuleSpec, history: readonly TickStats[]): number | undefined {
  const current = history.at(-1);
  if (!current) return undefined;
  if (rule.on === 'failing') return current.failing;
  const metric = rule.metric!;
  let sum = 0;
  let n = 0;
  for (const t of history.slice(-rule.window)) {
    const c = t.counts[metric] ?? 0;
    if (c > 0 && t.means[metric] !== undefined) {
      sum += t.means[metric]! * c;
      n += c;
    }
  }
  return n > 0 ? sum / n : undefined;
}

/** Applies every rule to the new tick; returns the next states and the events to post. */
export function evaluateAlerts(
  rules: readonly AlertRuleSpec[],
  previous: Readonly<Record<string, AlertState>>,
  history: readonly TickStats[],
  now: Date,
): { states: Record<string, AlertState>; events: AlertEvent[] } {
  const states: Record<string, AlertState> = {};
  const events: AlertEvent[] = [];
  for (const rule of rules) {
    const name = ruleName(rule);
    const prev = previous[name] ?? { firing: false };
    const value = ruleValue(rule, history);
    // No data says nothing about quality: the rule keeps its state.
    if (value === undefined) {
      states[name] = prev;
      continue;
    }
    const broken = rule.below !== undefined ? value < rule.below : value > rule.above!;
    const shown = Number.isInteger(value) ? String(value) : value.toFixed(3);
    if (broken && !prev.firing) {
      states[name] = { firing: true, since: now.toISOString() };
      events.push({
        rule: name,
        kind: 'fired',
        severity: rule.severity,
        value,
        text: `${rule.severity.toUpperCase()}: ${name} (now ${shown})`,
      });
    } else if (!broken && prev.firing) {
      states[name] = { firing: false };
      events.push({
        rule: name,
        kind: 'resolved',
        severity: rule.severity,
        value,
        text: `RESOLVED: ${name} (now ${shown})`,
      });
    } else states[name] = prev;
  }
  return { states, events };
}
