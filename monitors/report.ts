// The tick report as a transport-neutral Message: counts, per-metric means against the previous tick, the
// alert line, and thread replies with the worst items and the items that need review. Pure.
import { link, type Message, type MessageSection, md, mention, openReportSection } from '../chat/index.ts';
import { maskPii, type Score } from '../evaluators/index.ts';
import type { AlertEvent, AlertState, TickStats } from './alerts.ts';
import type { ReviewDecision } from './review.ts';

/** A `needs_review` score of an item with its button token and the human decision, if any. */
export interface ReportReview {
  token: string;
  metric: string;
  judgeValue: number;
  decision?: ReviewDecision;
  replacedCount?: number;
}

/** One scored item as the report shows it. */
export interface ReportItem {
  id: string;
  input: string;
  output: string;
  scores: Score[];
  url?: string;
  /** Set when the tick stored review tokens: the item's message gets Confirm / Override buttons. */
  reviews?: ReportReview[];
}

/** Everything the report shows about one tick. */
export interface TickReport {
  monitor: string;
  tickTime: Date;
  read: number;
  unmatched: { id: string; reason: string }[];
  invalid: { id: string; reason: string }[];
  alreadyScored: number;
  sampled: number;
  overBudget: number;
  stats: TickStats;
  previous?: TickStats;
  items: ReportItem[];
  events: AlertEvent[];
  alerts: Record<string, AlertState>;
  judgeCost: number;
  worst: number;
  dryRun?: boolean;
  /** How the source read went (which API, what it left out or retried), shown in the context line. */
  notes?: readonly string[];
  /** The signed URL of the monitor's report page (PUBLIC_URL set): an *Open report* button. */
  reportUrl?: string | undefined;
}

/** Cuts text to `max` characters with an ellipsis. */
export function excerpt(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

function meanOf(scores: Score[]): number {
  const ok = scores.filter((s) => !s.error);
  return ok.length ? ok.reduce((a, s) => a + s.value, 0) / ok.length : 0;
}

const short = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/** The Confirm / Override buttons of one `needs_review` score, and its decision line once decided. */
export function reviewSections(r: ReportReview): MessageSection[] {
  const metric = short(r.metric, 30);
  const decided = r.decision
    ? [
        {
          kind: 'text' as const,
          text: md`${r.decision.kind === 'confirm' ? '✅' : '✏️'} ${mention(r.decision.by)} ${
            r.decision.kind === 'confirm'
              ? `confirmed ${metric} ${r.judgeValue.toFixed(2)}`
              : `overrode ${metric} ${r.judgeValue.toFixed(2)} → ${r.decision.kind} (${r.decision.value})`
          } at ${r.decision.at.toISOString()}${r.replacedCount ? ` (replaces ${r.replacedCount} earlier decision(s))` : ''}`,
        },
      ]
    : [
        {
          kind: 'context' as const,
          items: [`${metric}: the judge's ${r.judgeValue.toFixed(2)} needs review`],
        },
      ];
  return [
    ...decided,
    {
      kind: 'buttons',
      buttons: [
        {
          text: `Confirm ${metric} ${r.judgeValue.toFixed(2)}`,
          actionId: 'monitor.review:confirm',
          value: r.token,
          style: 'primary',
        },
        { text: `Override ${metric}: pass`, actionId: 'monitor.review:pass', value: r.token },
        {
          text: `Override ${metric}: fail`,
          actionId: 'monitor.review:fail',
          value: r.token,
          style: 'danger',
        },
      ],
    },
  ];
}

/** A reported item again, with its review decisions (the message a review button click redraws). */
export function buildReviewedItemMessage(item: ReportItem): Message {
  const open = (item.reviews ?? []).filter((r) => !r.decision).length;
  return itemMessage(open ? 'Needs review' : 'Reviewed', item);
}

function itemMessage(title: string, item: ReportItem): Message {
  return {
    title,
    sections: [
      // Reports go to a shared channel: personal data in traffic is masked there.
      { kind: 'code', label: 'input', text: maskPii(excerpt(item.input)) },
      { kind: 'code', label: 'output', text: maskPii(excerpt(item.output)) },
      {
        kind: 'fields',
        fields: item.scores.map((s) => ({
          label: s.metric,
          value: s.error
            ? `error: ${excerpt(s.error, 120)}`
            : `${s.value.toFixed(2)} — ${excerpt(s.reason, 160)}`,
        })),
      },
      {
        kind: 'context',
        mrkdwn: true,
        items: [
          md`item ${item.id}`,
          ...(item.url
            ? [md`${link(item.url, `open in ${/slack\.com/.test(item.url) ? 'Slack' : 'Langfuse'}`)}`]
            : []),
        ],
      },
      ...(item.reviews ?? []).flatMap(reviewSections),
    ],
    summary: `${title}: ${maskPii(excerpt(item.input, 80))}`,
  };
}

/** Needs-review items shown one by one in a report's thread; the rest are counted. */
const THREAD_REVIEW_ITEMS = 10;

/** The per-metric line: mean, and the change against the previous tick. */
export function metricLine(metric: string, stats: TickStats, previous?: TickStats): string {
  const mean = stats.means[metric]!;
  const prev = previous?.means[metric];
  const n = stats.counts[metric] ?? 0;
  if (prev === undefined) return `${mean.toFixed(2)} (n=${n})`;
  const d = mean - prev;
  const arrow = Math.abs(d) < 0.005 ? '=' : d > 0 ? '▲' : '▼';
  return `${mean.toFixed(2)} ${arrow}${Math.abs(d).toFixed(2)} vs ${prev.toFixed(2)} (n=${n})`;
}

/** Builds the report message of one tick. */
export function buildTickReport(r: TickReport): Message {
  const firing = Object.entries(r.alerts)
    .filter(([, s]) => s.firing)
    .map(([name]) => name);
  const alertLine = r.events.length
    ? r.events.map((e) => e.text).join(' · ')
    : firing.length
      ? `still firing: ${firing.join(', ')}`
      : 'no alerts';
  const sections: MessageSection[] = [
    {
      kind: 'fields',
      fields: [
        { label: 'New records', value: String(r.read) },
        { label: 'Scored', value: String(r.stats.scored) },
        { label: 'Failing', value: String(r.stats.failing) },
        { label: 'Already scored', value: String(r.alreadyScored) },
        { label: 'Unmatched', value: String(r.unmatched.length + r.invalid.length) },
        ...(r.overBudget ? [{ label: 'Over budget (not scored)', value: String(r.overBudget) }] : []),
      ],
    },
  ];
  const metricNames = Object.keys(r.stats.means);
  if (metricNames.length) {
    sections.push({
      kind: 'fields',
      fields: metricNames.map((m) => ({ label: m, value: metricLine(m, r.stats, r.previous) })),
    });
  }
  sections.push({ kind: 'text', text: md`Alerts: ${alertLine}` });
  sections.push({
    kind: 'context',
    items: [
      `tick ${r.tickTime.toISOString()}`,
      `sampled ${r.sampled}`,
      ...(r.judgeCost > 0 ? [`judge cost $${r.judgeCost.toFixed(4)}`] : []),
      ...(r.dryRun ? ['dry run: nothing stored or published'] : []),
      ...(r.notes ?? []).slice(0, 5),
    ],
  });
  sections.push(...openReportSection(r.reportUrl));

  const thread: Message[] = [];
  const ranked = [...r.items].sort((a, b) => meanOf(a.scores) - meanOf(b.scores));
  ranked.slice(0, r.worst).forEach((item, i) => {
    thread.push(itemMessage(`Worst #${i + 1} (mean ${meanOf(item.scores).toFixed(2)})`, item));
  });
  const shown = new Set(ranked.slice(0, r.worst).map((i) => i.id));
  const toReview = r.items.filter((i) => i.scores.some((s) => s.needsReview) && !shown.has(i.id));
  for (const item of toReview.slice(0, THREAD_REVIEW_ITEMS)) thread.push(itemMessage('Needs review', item));
  if (toReview.length > THREAD_REVIEW_ITEMS)
    thread.push({
      title: `${toReview.length - THREAD_REVIEW_ITEMS} more item(s) need review`,
      sections: [
        {
          kind: 'context',
          items: [
            `Only the first ${THREAD_REVIEW_ITEMS} are shown here; \`arbiter monitor run ${r.monitor} --dry-run\` lists every record.`,
          ],
        },
      ],
    });
  const bad = [...r.invalid, ...r.unmatched];
  if (bad.length) {
    thread.push({
      title: `${bad.length} record(s) did not match the extractor`,
      sections: [
        {
          kind: 'code',
          text: bad
            .slice(0, 20)
            .map((b) => `${b.id}: ${b.reason}`)
            .concat(bad.length > 20 ? [`… and ${bad.length - 20} more`] : [])
            .join('\n'),
        },
      ],
    });
  }
  const worstAlert = r.events.find((e) => e.kind === 'fired');
  return {
    title: `${worstAlert ? '🚨 ' : ''}Monitor ${r.monitor}: ${r.stats.scored} scored, ${r.stats.failing} failing`,
    summary: `Monitor ${r.monitor}: ${r.stats.scored} scored, ${r.stats.failing} failing; ${alertLine}`,
    sections,
    ...(thread.length ? { thread } : {}),
  };
}

/** The one message saying a monitor's source is failing (or has recovered). */
export function buildFailingMessage(monitor: string, reason: string | undefined, tickTime: Date): Message {
  if (reason === undefined) {
    return {
      title: `RESOLVED: monitor ${monitor} is reading its source again`,
      sections: [{ kind: 'context', items: [`tick ${tickTime.toISOString()}`] }],
    };
  }
  return {
    title: `🚨 Monitor ${monitor} is failing`,
    summary: `Monitor ${monitor} is failing: ${reason}`,
    sections: [
      { kind: 'text', text: md`The source could not be read: ${reason}` },
      {
        kind: 'context',
        items: [
          `tick ${tickTime.toISOString()}`,
          'each tick retries from the same watermark; nothing is skipped',
        ],
      },
    ],
  };
}
