// The monitor page: score trend per metric over the recorded ticks, alerts (firing now, and fired/resolved over
// time), the latest scored items with their scores and reasons.
import type { MonitorStateDoc, ScoredItemDoc, TickLogDoc } from '../monitors/index.ts';
import { trendChart } from './charts.ts';
import { html, type Html } from './html.ts';
import { type AuditReader, cards, historySection, num, page, when } from './layout.ts';

/** What the monitor page reads. */
export interface MonitorPageDeps {
  /** The configured monitors: name and schedule in words. */
  monitors(): readonly { name: string; schedule: string }[];
  getState(name: string): Promise<MonitorStateDoc>;
  ticks(name: string, from: Date, to: Date): Promise<TickLogDoc[]>;
  latestScored(name: string, limit: number): Promise<ScoredItemDoc[]>;
  audit?: AuditReader | undefined;
  now(): Date;
  /** How far back the trend goes, ms (default 30 days). */
  windowMs?: number;
}

const SAFE_URL = /^https?:\/\/[^\s"'<>]+$/i;

/** The monitor page, or null when no monitor has that name. */
export async function monitorPage(deps: MonitorPageDeps, name: string): Promise<Html | null> {
  const monitor = deps.monitors().find((m) => m.name === name);
  if (!monitor) return null;
  const to = deps.now();
  const from = new Date(to.getTime() - (deps.windowMs ?? 30 * 86_400_000));
  const [state, ticks, latest] = await Promise.all([
    deps.getState(name),
    deps.ticks(name, from, new Date(to.getTime() + 1)),
    deps.latestScored(name, 50),
  ]);
  const metricNames = [...new Set(ticks.flatMap((t) => t.metrics.map((m) => m.metric)))];
  const series = metricNames.map((metric) => ({
    name: metric,
    values: ticks.map((t) => {
      const m = t.metrics.find((x) => x.metric === metric);
      return m && m.count > 0 ? m.sum / m.count : null;
    }),
  }));
  const chart =
    ticks.length > 0
      ? await trendChart(
          ticks.map((t) => t.tickTime),
          series,
        )
      : html``;
  const last = ticks.at(-1);
  const firing = Object.entries(state.alerts).filter(([, a]) => a.firing);
  const events = ticks.flatMap((t) => t.alerts.map((a) => ({ ...a, at: t.tickTime }))).reverse();
  const body = html`${cards([
    { label: 'ticks', value: state.paused ? 'paused' : state.failing ? 'last tick failed' : 'running' },
    { label: 'schedule', value: monitor.schedule },
    { label: 'last tick', value: when(state.lastTickTime ? new Date(state.lastTickTime) : last?.tickTime) },
    { label: 'alerts firing', value: String(firing.length) },
    { label: 'ticks (30 days)', value: String(ticks.length) },
  ])}
<h2>Score trend</h2>${ticks.length > 0 ? chart : html`<p class="muted">No tick recorded in the last 30 days.</p>`}
<h2>Alerts</h2>${
    firing.length > 0
      ? html`<ul id="firing">${firing.map(([rule, a]) => html`<li><span class="badge fail">firing</span> ${rule}${a.since ? ` since ${when(new Date(a.since))}` : ''}</li>`)}</ul>`
      : html`<p class="muted">No alert is firing.</p>`
  }${
    events.length > 0
      ? html`<div class="scroll"><table id="alert-events"><thead><tr><th>When</th><th>Rule</th><th>Event</th><th>Severity</th><th>Value</th></tr></thead><tbody>${events
          .slice(0, 100)
          .map(
            (e) =>
              html`<tr><td>${when(e.at)}</td><td>${e.rule}</td><td>${e.kind}</td><td>${e.severity}</td><td>${num(e.value, 3)}</td></tr>`,
          )}</tbody></table></div>`
      : ''
  }
<h2>Latest items</h2>${
    latest.length === 0
      ? html`<p class="muted">Nothing scored yet.</p>`
      : html`<div id="latest">${latest.map(
          (
            d,
          ) => html`<details class="item"><summary><span class="key">${d.itemId}</span> <span class="muted">${when(d.scoredAt)}</span> ${d.scores.map((s) => (s.error !== undefined ? html`<span class="badge error">${s.metric}: could not score</span> ` : html`<span class="badge">${s.metric} ${num(s.value, 2)}</span> `))}<span class="excerpt">${d.input.replace(/\s+/g, ' ').slice(0, 140)}</span></summary><div class="body">
<div class="io"><div><h3>Input</h3><pre>${d.input}</pre></div><div><h3>Output</h3><pre>${d.output}</pre></div></div>
<table><thead><tr><th>Metric</th><th>Score</th><th>Reason</th></tr></thead><tbody>${d.scores.map((s) => html`<tr><td>${s.metric}</td><td>${s.error !== undefined ? 'could not score' : num(s.value, 3)}</td><td>${s.reason}</td></tr>`)}</tbody></table>
${d.url && SAFE_URL.test(d.url) ? html`<p><a href="${d.url}" rel="noopener noreferrer">Open the trace</a></p>` : ''}</div></details>`,
        )}</div>`
  }
${await historySection(deps.audit, 'monitor', name)}`;
  return page({ title: `Monitor ${name}`, heading: `Monitor ${name}`, sub: monitor.schedule, body });
}
