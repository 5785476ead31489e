// Building a digest (pure apart from reading its inputs): the headline against the previous period, thread replies
// with the worst regressions and items, and the chart data, as a transport-neutral Message within Slack's limits.
import { escapeMrkdwn, link as mdLink, type Message, type MessageSection } from '../chat/index.ts';
import { scheduleTimezone } from '../config/index.ts';
import type { ChartSeries, TrendChart } from './chart.ts';
import { type Period, periodBefore, periodBuckets, periodLabel, previousPeriod } from './period.ts';
import type { Digest } from './schema.ts';

/** One finished monitor tick, as the tick log stores it. */
export interface DigestTick {
  monitor: string;
  tickTime: Date;
  status: 'ok' | 'failed';
  scored: number;
  failing: number;
  metrics: readonly { metric: string; sum: number; count: number; failing: number }[];
  worst: readonly {
    itemId: string;
    metric: string;
    value: number;
    input: string;
    output: string;
    url?: string;
  }[];
  alerts: readonly { rule: string; kind: 'fired' | 'resolved'; severity: string; value: number }[];
  /** Human decisions on `needs_review` scores already applied to `metrics` and `worst`. */
  humanDecisions?: number;
}

/** One evaluation run that finished in the period. */
export interface DigestRun {
  id: string;
  suite: string;
  status: string;
  /** Whether its gate passed; null when it has no quality verdict (failed, cancelled, or errored). */
  passed: boolean | null;
  /** Too many of its items errored (target, provider or scoring trouble): no quality verdict, never FAILED. */
  errored?: boolean;
  meanScore: number | null;
  finishedAt: Date;
}

/** One blind review closed in the period. */
export interface DigestReview {
  id: string;
  title: string;
  closedAt: Date;
  ballots?: number;
  winner?: string;
}

/** One row of the review leaderboard at a moment. */
export interface DigestLeaderboardEntry {
  name: string;
  rating: number;
}

/** What a digest reads (a port: commands/ adapts monitors, runs and reviews to it). */
export interface DigestInputs {
  /** Ticks with `from <= tickTime < to`. */
  monitorTicks(from: Date, to: Date): Promise<readonly DigestTick[]>;
  /** Runs with `from <= finishedAt < to`. */
  runsFinished(from: Date, to: Date): Promise<readonly DigestRun[]>;
  /** Reviews with `from <= closedAt < to` (absent until reviews are wired). */
  reviewsClosed?(from: Date, to: Date): Promise<readonly DigestReview[]>;
  /** The leaderboard as it stood at `at`, best first (absent until reviews are wired). */
  leaderboard?(at: Date): Promise<readonly DigestLeaderboardEntry[]>;
}

/** Per monitor and metric totals of a period. */
interface MetricTotals {
  monitor: string;
  metric: string;
  sum: number;
  count: number;
  failing: number;
}

interface PeriodTotals {
  scored: number;
  failing: number;
  failedTicks: number;
  ticks: number;
  humanDecisions: number;
  monitors: Set<string>;
  metrics: Map<string, MetricTotals>;
  fired: DigestTick['alerts'][number][];
  resolved: number;
}

const key = (monitor: string, metric: string) => `${monitor}\u0000${metric}`;

function totalsOf(ticks: readonly DigestTick[]): PeriodTotals & { firedBy: Map<string, string[]> } {
  const t: PeriodTotals & { firedBy: Map<string, string[]> } = {
    scored: 0,
    failing: 0,
    failedTicks: 0,
    humanDecisions: 0,
    ticks: 0,
    monitors: new Set(),
    metrics: new Map(),
    fired: [],
    resolved: 0,
    firedBy: new Map(),
  };
  for (const tick of ticks) {
    t.ticks += 1;
    t.monitors.add(tick.monitor);
    if (tick.status === 'failed') t.failedTicks += 1;
    t.scored += tick.scored;
    t.failing += tick.failing;
    t.humanDecisions += tick.humanDecisions ?? 0;
    for (const m of tick.metrics) {
      const k = key(tick.monitor, m.metric);
      let acc = t.metrics.get(k);
      if (!acc) {
        acc = { monitor: tick.monitor, metric: m.metric, sum: 0, count: 0, failing: 0 };
        t.metrics.set(k, acc);
      }
      acc.sum += m.sum;
      acc.count += m.count;
      acc.failing += m.failing;
    }
    for (const a of tick.alerts) {
      if (a.kind === 'fired') {
        t.fired.push(a);
        t.firedBy.set(tick.monitor, [...(t.firedBy.get(tick.monitor) ?? []), a.rule]);
      } else t.resolved += 1;
    }
  }
  return t;
}

const meanOf = (m: { sum: number; count: number } | undefined) =>
  m && m.count > 0 ? m.sum / m.count : undefined;

/** Below this, a change of a mean is shown as flat. */
export const FLAT_EPSILON = 0.005;

/** ↑ ↓ → for a change of a mean (→ within ±0.005); `new` when there is nothing to compare with. */
export function trendArrow(current: number, previous: number | undefined): string {
  if (previous === undefined) return 'new';
  const d = current - previous;
  if (Math.abs(d) < FLAT_EPSILON) return '→';
  return d > 0 ? '↑' : '↓';
}

function signed(d: number, digits = 2): string {
  return `${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(digits)}`;
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

function countChange(cur: number, prev: number): string {
  if (prev === 0) return cur === 0 ? '' : ' (none the period before)';
  const pct = ((cur - prev) / prev) * 100;
  const arrow = Math.abs(pct) < 0.5 ? '→' : pct > 0 ? '↑' : '↓';
  return ` (${arrow} ${Math.abs(pct).toFixed(0)}% vs ${count(prev)})`;
}

function cut(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

/** Joins lines into code sections of at most `max` characters each, keeping at most `maxSections`. */
function codeSections(lines: string[], label?: string, max = 2800, maxSections = 3): MessageSection[] {
  const out: MessageSection[] = [];
  let buf: string[] = [];
  let len = 0;
  let used = 0;
  for (const line of lines) {
    if (len + line.length + 1 > max && buf.length > 0) {
      out.push({ kind: 'code', text: buf.join('\n'), ...(label && out.length === 0 ? { label } : {}) });
      buf = [];
      len = 0;
      if (out.length === maxSections) break;
    }
    buf.push(line);
    len += line.length + 1;
    used += 1;
  }
  if (buf.length > 0 && out.length < maxSections)
    out.push({ kind: 'code', text: buf.join('\n'), ...(label && out.length === 0 ? { label } : {}) });
  else if (used < lines.length)
    out.push({ kind: 'context', items: [`… ${lines.length - used} more line(s) not shown`] });
  return out;
}

/** A link in mrkdwn for a plain http(s) URL of reasonable length (chat/message.ts link); else escaped text. */
function link(url: string, label: string): string {
  return url.length <= 1500 ? mdLink(url, label).text : escapeMrkdwn(url);
}

/** One metric of one monitor over the period, against the period before. */
export interface MetricTrend {
  monitor: string;
  metric: string;
  mean: number;
  previous?: number;
  count: number;
  failing: number;
}

/** Everything a digest found, besides its rendering (tests and the CLI read it). */
export interface DigestData {
  period: Period;
  previous: Period;
  scored: number;
  previousScored: number;
  failing: number;
  failedTicks: number;
  trends: MetricTrend[];
  alertsFired: number;
  alertsResolved: number;
  runs: {
    finished: number;
    passed: number;
    withGate: number;
    previousFinished: number;
    previousPassed: number;
  };
  reviews?: { closed: number; moves: { name: string; from?: number; to: number }[] };
}

/** A built digest: the message to post, the chart to attach (when included), and the numbers. */
export interface BuiltDigest {
  message: Message;
  chart?: TrendChart;
  data: DigestData;
}

function chartOf(spec: Digest, period: Period, ticks: readonly DigestTick[], monitors: string[]): TrendChart {
  const buckets = periodBuckets(period);
  const step = buckets.length > 1 ? buckets[1]!.getTime() - buckets[0]!.getTime() : 1;
  const start = period.start.getTime();
  const series: ChartSeries[] = monitors.map((name) => {
    const sums = new Float64Array(buckets.length);
    const counts = new Float64Array(buckets.length);
    for (const t of ticks) {
      if (t.monitor !== name) continue;
      const i = Math.min(buckets.length - 1, Math.floor((t.tickTime.getTime() - start) / step));
      if (i < 0) continue;
      for (const m of t.metrics) {
        sums[i]! += m.sum;
        counts[i]! += m.count;
      }
    }
    return {
      name,
      points: buckets.map((b, i) => ({ t: b, value: counts[i]! > 0 ? sums[i]! / counts[i]! : null })),
    };
  });
  return {
    title: `${spec.name}: mean score per monitor, ${periodLabel(period)}`,
    timezone: period.timezone,
    buckets,
    series,
  };
}

/** Options of a build: another period kind than the digest's (the `--period` flag), or an explicit period. */
export interface BuildOptions {
  periodKind?: 'day' | 'week';
  period?: Period;
  /** Marks the message as a preview. */
  preview?: boolean;
}

/**
 * Builds a digest of the last complete period before `now` (or `options.period`) against the period before it.
 * Reads its inputs once per period; everything else is pure.
 */
export async function buildDigest(
  inputs: DigestInputs,
  spec: Digest,
  now: Date,
  options: BuildOptions = {},
): Promise<BuiltDigest> {
  const tz = scheduleTimezone(spec.schedule);
  const period = options.period ?? periodBefore(options.periodKind ?? spec.period, now, tz);
  const previous = previousPeriod(period);
  const include = new Set(spec.include);
  const wanted = (t: DigestTick) => !spec.monitors || spec.monitors.includes(t.monitor);
  const needTicks = include.has('monitors') || include.has('alerts') || include.has('chart');
  const [curTicks, prevTicks, curRuns, prevRuns, reviews, boardStart, boardEnd] = await Promise.all([
    needTicks ? inputs.monitorTicks(period.start, period.end) : [],
    needTicks ? inputs.monitorTicks(previous.start, previous.end) : [],
    include.has('runs') ? inputs.runsFinished(period.start, period.end) : [],
    include.has('runs') ? inputs.runsFinished(previous.start, previous.end) : [],
    include.has('reviews') && inputs.reviewsClosed
      ? inputs.reviewsClosed(period.start, period.end)
      : undefined,
    include.has('reviews') && inputs.leaderboard ? inputs.leaderboard(period.start) : undefined,
    include.has('reviews') && inputs.leaderboard ? inputs.leaderboard(period.end) : undefined,
  ]);
  const cur = totalsOf(curTicks.filter(wanted));
  const prev = totalsOf(prevTicks.filter(wanted));

  const trends: MetricTrend[] = [...cur.metrics.values()]
    .filter((m) => m.count > 0)
    .map((m) => {
      const p = meanOf(prev.metrics.get(key(m.monitor, m.metric)));
      return {
        monitor: m.monitor,
        metric: m.metric,
        mean: m.sum / m.count,
        ...(p === undefined ? {} : { previous: p }),
        count: m.count,
        failing: m.failing,
      };
    })
    .sort((a, b) => a.monitor.localeCompare(b.monitor) || a.metric.localeCompare(b.metric));

  const gated = (rs: readonly DigestRun[]) => rs.filter((r) => r.passed !== null);
  const runs = {
    finished: curRuns.length,
    passed: curRuns.filter((r) => r.passed === true).length,
    withGate: gated(curRuns).length,
    previousFinished: prevRuns.length,
    previousPassed: prevRuns.filter((r) => r.passed === true).length,
  };

  let reviewData: DigestData['reviews'];
  if (reviews || boardEnd) {
    const rankAt = new Map((boardStart ?? []).map((e, i) => [e.name, i + 1]));
    const moves = (boardEnd ?? [])
      .map((e, i) => ({ name: e.name, from: rankAt.get(e.name), to: i + 1 }))
      .filter((m) => m.from !== m.to)
      .map((m) =>
        m.from === undefined ? { name: m.name, to: m.to } : { name: m.name, from: m.from, to: m.to },
      );
    reviewData = { closed: reviews?.length ?? 0, moves };
  }

  const data: DigestData = {
    period,
    previous,
    scored: cur.scored,
    previousScored: prev.scored,
    failing: cur.failing,
    failedTicks: cur.failedTicks,
    trends,
    alertsFired: cur.fired.length,
    alertsResolved: cur.resolved,
    runs,
    ...(reviewData ? { reviews: reviewData } : {}),
  };

  // Headline.
  const label = periodLabel(period);
  const title = cut(
    `${options.preview ? 'Preview: ' : ''}${spec.period === 'week' || period.kind === 'week' ? 'Weekly' : 'Daily'} digest ${spec.name}: ${label}`,
    150,
  );
  const headline: string[] = [];
  if (include.has('monitors')) {
    headline.push(
      cur.ticks === 0 && prev.ticks === 0
        ? '*No monitor ticks* in this period.'
        : `*${count(cur.scored)} items scored* by ${cur.monitors.size} monitor(s)${countChange(cur.scored, prev.scored)}` +
            (cur.scored > 0 ? ` · ${count(cur.failing)} failing` : '') +
            (cur.failedTicks > 0 ? ` · ${cur.failedTicks} failed tick(s)` : '') +
            (cur.humanDecisions > 0
              ? ` · ${count(cur.humanDecisions)} human review decision(s) applied`
              : ''),
    );
  }
  if (include.has('alerts')) headline.push(`*Alerts:* ${cur.fired.length} fired, ${cur.resolved} resolved`);
  if (include.has('runs')) {
    const rate = runs.withGate > 0 ? ` (${Math.round((runs.passed / runs.withGate) * 100)}% pass rate)` : '';
    const prevRate =
      gated(prevRuns).length > 0
        ? `; previous period ${runs.previousPassed}/${gated(prevRuns).length}`
        : runs.previousFinished > 0
          ? `; previous period ${runs.previousFinished} finished`
          : '';
    headline.push(
      runs.finished === 0
        ? `*Runs:* none finished${runs.previousFinished ? ` (${runs.previousFinished} the period before)` : ''}`
        : `*Runs:* ${runs.finished} finished, ${runs.passed} passed their gate${rate}${prevRate}`,
    );
  }
  if (include.has('reviews') && reviewData) {
    const moves = reviewData.moves
      .slice(0, 5)
      .map((m) =>
        m.from === undefined
          ? `${escapeMrkdwn(m.name)} new at #${m.to}`
          : `${escapeMrkdwn(m.name)} #${m.from} → #${m.to} ${m.to < m.from ? '↑' : '↓'}`,
      );
    headline.push(
      `*Reviews:* ${reviewData.closed} closed${moves.length ? ` · leaderboard: ${moves.join(', ')}` : ' · no leaderboard moves'}`,
    );
  }

  const sections: MessageSection[] = [];
  if (headline.length > 0) sections.push({ kind: 'text', text: headline.join('\n') });
  if (include.has('monitors') && trends.length > 0) {
    const width = Math.min(40, Math.max(...trends.map((t) => `${t.monitor} · ${t.metric}`.length)));
    const lines = trends.map((t) => {
      const name = cut(`${t.monitor} · ${t.metric}`, 40).padEnd(width);
      const change =
        t.previous === undefined
          ? 'new'
          : `${trendArrow(t.mean, t.previous)} ${signed(t.mean - t.previous)} vs ${t.previous.toFixed(2)}`;
      return `${name}  ${t.mean.toFixed(2)} ${change}  (n=${count(t.count)}, failing ${count(t.failing)})`;
    });
    sections.push(...codeSections(lines, 'mean per monitor and metric vs the previous period', 2800, 2));
  }
  if (include.has('alerts') && cur.firedBy.size > 0) {
    const items = [...cur.firedBy.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .slice(0, 8)
      .map(([m, rules]) => cut(`${m}: ${[...new Set(rules)].join('; ')}`, 200));
    sections.push({ kind: 'context', items: ['Alerts fired:', ...items] });
  }
  sections.push({
    kind: 'context',
    items: [
      `${label} (${period.timezone}) vs ${periodLabel(previous)}`,
      ...(options.preview ? ['Preview: only you see this; nothing was posted.'] : []),
    ],
  });

  const thread: Message[] = [];
  const worstN = spec.worst;
  // `worst: 0` shows neither the worst regressions nor the worst items.
  if (include.has('monitors') && worstN > 0) {
    const drops = trends
      .filter((t) => t.previous !== undefined && t.mean - t.previous <= -FLAT_EPSILON)
      .sort((a, b) => a.mean - a.previous! - (b.mean - b.previous!))
      .slice(0, worstN);
    thread.push({
      title: 'Worst regressions',
      summary: `${drops.length} metric(s) dropped`,
      sections: drops.length
        ? codeSections(
            drops.map(
              (d) =>
                `${cut(`${d.monitor} · ${d.metric}`, 50)}  ${d.previous!.toFixed(2)} → ${d.mean.toFixed(2)}  (${signed(d.mean - d.previous!)}, n=${count(d.count)})`,
            ),
          )
        : [{ kind: 'text', text: 'No metric dropped against the previous period.' }],
    });
    const worst = curTicks
      .filter(wanted)
      .flatMap((t) => t.worst.map((w) => ({ ...w, monitor: t.monitor })))
      .sort(
        (a, b) => a.value - b.value || a.monitor.localeCompare(b.monitor) || a.itemId.localeCompare(b.itemId),
      )
      .slice(0, worstN);
    if (worst.length > 0) {
      const sectionsW: MessageSection[] = [];
      for (const [i, w] of worst.entries()) {
        if (i > 0) sectionsW.push({ kind: 'divider' });
        sectionsW.push(
          {
            kind: 'text',
            text: `*${i + 1}. ${escapeMrkdwn(cut(w.monitor, 80))}* · ${escapeMrkdwn(cut(w.metric, 80))} ${w.value.toFixed(2)} · item \`${escapeMrkdwn(cut(w.itemId, 120))}\`${w.url ? ` · ${link(w.url, 'open in Langfuse')}` : ''}`,
          },
          { kind: 'code', label: 'input', text: cut(w.input, 400) },
          { kind: 'code', label: 'output', text: cut(w.output, 400) },
        );
      }
      thread.push({ title: `Worst ${worst.length} item(s)`, summary: 'Worst items', sections: sectionsW });
    }
  }
  if (include.has('runs') && curRuns.length > 0) {
    const lines = [...curRuns]
      .sort((a, b) => a.finishedAt.getTime() - b.finishedAt.getTime())
      .slice(-30)
      .map((r) =>
        `${r.id}  ${cut(r.suite, 40)}  ${r.status}  ${r.meanScore === null ? '—' : r.meanScore.toFixed(3)}  ${r.errored ? 'ERROR' : r.passed === null ? '' : r.passed ? 'passed' : 'FAILED'}`.trimEnd(),
      );
    thread.push({
      title: 'Runs finished',
      summary: `${curRuns.length} run(s)`,
      sections: codeSections(lines),
    });
  }

  const message: Message = {
    title,
    summary: cut(
      `${title}: ${count(cur.scored)} items scored, ${cur.fired.length} alert(s) fired, ${runs.finished} run(s) finished`,
      300,
    ),
    sections,
    ...(thread.length ? { thread } : {}),
  };
  const monitors = [...cur.monitors].sort();
  const built: BuiltDigest = { message, data };
  if (include.has('chart') && monitors.length > 0)
    built.chart = chartOf(spec, period, curTicks.filter(wanted), monitors);
  return built;
}
