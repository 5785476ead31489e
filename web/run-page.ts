// The run page: summary, per-metric distributions, every item (input, output, expected, scores and reasons) with
// filters, links to comparisons with the suite's other runs; and the comparison page, regressions first.
import { reportPaths } from '../config/index.ts';
import { DEFAULT_METRIC_THRESHOLD, renderTranscript } from '../evaluators/index.ts';
import { compareRuns, type Run, type RunItemView } from '../runs/index.ts';
import { distributionChart } from './charts.ts';
import { Html, html } from './html.ts';
import {
  type AuditReader,
  cards,
  historySection,
  num,
  page,
  pageHead,
  pageTail,
  pct,
  when,
} from './layout.ts';

/** What the run pages read. */
export interface RunPageDeps {
  getRun(id: string): Promise<Run | null>;
  items(id: string): Promise<RunItemView[]>;
  listRuns(options: { limit?: number; suiteName?: string }): Promise<Run[]>;
  audit?: AuditReader | undefined;
  /** The signed path of another page (links between pages carry their own signature). */
  sign(path: string): string;
}

interface Thresholds {
  threshold: (metric: string) => number;
  gate: (metric: string) => boolean;
}

function thresholdsOf(run: Run): Thresholds {
  const specs = new Map<string, { threshold?: number; gate?: boolean }>();
  try {
    const suite = JSON.parse(run.suiteJson) as {
      metrics?: { name?: string; threshold?: number; gate?: boolean }[];
    };
    for (const m of suite.metrics ?? []) if (typeof m.name === 'string') specs.set(m.name, m);
  } catch {
    // An unreadable suite leaves the defaults: the item's own passed flag still decides its state.
  }
  return {
    threshold: (m) => specs.get(m)?.threshold ?? DEFAULT_METRIC_THRESHOLD,
    gate: (m) => specs.get(m)?.gate ?? true,
  };
}

type ItemState = 'passed' | 'failed' | 'errored' | 'pending';

function stateOf(v: RunItemView): ItemState {
  if (v.doc.status === 'error') return 'errored';
  if (v.doc.status === 'pending') return 'pending';
  return v.doc.passed === false ? 'failed' : 'passed';
}

const BADGE: Record<ItemState, Html> = {
  passed: html`<span class="badge pass">passed</span>`,
  failed: html`<span class="badge fail">failed</span>`,
  errored: html`<span class="badge error">errored</span>`,
  pending: html`<span class="badge">pending</span>`,
};

function excerpt(text: string, n = 140): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > n ? `${flat.slice(0, n - 1)}…` : flat;
}

/** Items on screen at once; the rest are in the page, hidden, and shown by the filters or *Show more*. */
export const ITEMS_PAGE = 200;

function itemRow(v: RunItemView, t: Thresholds, hidden: boolean): Html {
  const state = stateOf(v);
  const scores = v.result?.scores ?? [];
  const failed = scores.filter(
    (s) => s.error !== undefined || (t.gate(s.metric) && s.value + 1e-12 < t.threshold(s.metric)),
  );
  const output = v.result?.transcript ? renderTranscript(v.result.transcript) : (v.result?.output ?? '');
  const review = v.doc.needsReview === true;
  return html`<details class="item" data-state="${state}" data-metrics="${scores.map((s) => s.metric).join(' ')}" data-failed="${failed.map((s) => s.metric).join(' ')}"${review ? html` data-review` : ''}${hidden ? html` hidden` : ''}>
<summary><span class="key">#${v.doc.row} ${v.doc.itemKey}</span> ${BADGE[state]}${review ? html` <span class="badge review">needs review</span>` : ''} <span>score ${num(v.doc.score ?? null, 2)}</span> <span class="excerpt">${excerpt(v.item.input)}</span></summary>
<div class="body">${v.doc.error ? html`<p><b>Error${v.doc.errorCause ? ` (${v.doc.errorCause})` : ''}:</b> ${v.doc.error}</p>` : ''}
<div class="io"><div><h3>Input</h3><pre>${v.item.input}</pre></div><div><h3>Output</h3><pre>${output || '—'}</pre></div>${v.item.expected !== undefined ? html`<div><h3>Expected</h3><pre>${v.item.expected}</pre></div>` : ''}</div>
${
  scores.length > 0
    ? html`<div class="scroll"><table><thead><tr><th>Metric</th><th>Score</th><th>Reason</th></tr></thead><tbody>${scores.map(
        (s) =>
          html`<tr><td>${s.metric}</td><td>${s.error !== undefined ? html`<span class="badge error">could not score</span>` : num(s.value, 3)}${s.needsReview ? html` <span class="badge review">review</span>` : ''}</td><td>${s.error !== undefined ? `${s.reason} (${s.error})` : s.reason}</td></tr>`,
      )}</tbody></table></div>`
    : ''
}</div></details>`;
}

/** Item rows written per chunk of a streamed page (about 1 MB of HTML). */
const ROWS_PER_CHUNK = 250;

/** The items list with its filter bar (the client script filters in place), in chunks of rows. */
function* itemsSection(
  items: readonly RunItemView[],
  t: Thresholds,
  metrics: readonly string[],
  initial?: string,
): Generator<Html> {
  yield html`<h2>Items</h2>
<div class="filters" id="filters"${initial ? html` data-initial="${initial}"` : ''}>
<button type="button" data-filter="all" aria-pressed="true">All</button>
<button type="button" data-filter="failing" aria-pressed="false">Failing</button>
<button type="button" data-filter="errored" aria-pressed="false">Errored</button>
<button type="button" data-filter="review" aria-pressed="false">Needs review</button>
<select data-metric aria-label="Metric"><option value="">Every metric</option>${metrics.map((m) => html`<option value="${m}">${m}</option>`)}</select>
<input type="search" data-search placeholder="Search input, output, reasons" aria-label="Search">
<span class="count" id="count">Showing ${items.length} of ${items.length} items</span></div>
<div id="items" data-page="${ITEMS_PAGE}">`;
  for (let i = 0; i < items.length; i += ROWS_PER_CHUNK)
    yield html`${items.slice(i, i + ROWS_PER_CHUNK).map((v, j) => itemRow(v, t, i + j >= ITEMS_PAGE))}`;
  yield html`</div>
<p><button type="button" id="more"${items.length > ITEMS_PAGE ? '' : html` hidden`}>Show ${Math.min(ITEMS_PAGE, items.length - ITEMS_PAGE)} more (${Math.min(ITEMS_PAGE, items.length)} of ${items.length} on screen)</button></p>`;
}

/** The run page, or null when there is no such run. */
export async function runPage(deps: RunPageDeps, id: string): Promise<Html | null> {
  const parts = await runPageParts(deps, id);
  if (!parts) return null;
  let text = '';
  for await (const part of parts) text += part.text;
  return new Html(text);
}

/**
 * The run page in parts, or null when there is no such run: the head (from the run alone) comes first, before
 * the items are read, then the summary, then the items a chunk at a time, then the end of the page. The server
 * streams them, so a 10,000-item page starts arriving before it is built.
 */
export async function runPageParts(deps: RunPageDeps, id: string): Promise<AsyncGenerator<Html> | null> {
  const run = await deps.getRun(id);
  if (!run) return null;
  return runPageBody(deps, run);
}

async function* runPageBody(deps: RunPageDeps, run: Run): AsyncGenerator<Html> {
  const id = run._id;
  yield pageHead({
    title: `Run ${run._id} · ${run.suiteName}`,
    heading: `${run.suiteName}`,
    sub: `Run ${run._id} · ${run.status} · started ${when(run.startedAt ?? run.createdAt)}${run.finishedAt ? ` · finished ${when(run.finishedAt)}` : ''}`,
  });
  // Reading 10,000 items from the embedded store holds the event loop: let the head reach the socket first.
  await new Promise((r) => setImmediate(r));
  const [items, others] = await Promise.all([
    deps.items(id),
    deps.listRuns({ suiteName: run.suiteName, limit: 11 }),
  ]);
  const t = thresholdsOf(run);
  const s = run.summary;
  const metricValues = new Map<string, number[]>();
  for (const v of items)
    for (const sc of v.result?.scores ?? []) {
      const list = metricValues.get(sc.metric) ?? [];
      if (sc.error === undefined) list.push(sc.value);
      metricValues.set(sc.metric, list);
    }
  const metrics = [...metricValues.keys()];
  const charts = await Promise.all(metrics.map((m) => distributionChart(m, metricValues.get(m) ?? [])));
  const counts = { failed: 0, errored: 0, passed: 0, pending: 0, review: 0 };
  for (const v of items) {
    counts[stateOf(v)] += 1;
    if (v.doc.needsReview) counts.review += 1;
  }
  const verdict = s?.gate.verdict ?? (s ? (s.gate.passed ? 'passed' : 'failed') : run.status);
  const compareWith = others.filter((o) => o._id !== run._id).slice(0, 10);
  yield html`${cards([
    { label: 'verdict', value: verdict },
    { label: 'items', value: String(run.total) },
    { label: 'passed', value: String(counts.passed) },
    { label: 'failing', value: String(counts.failed) },
    { label: 'errored', value: String(counts.errored) },
    { label: 'needs review', value: String(counts.review) },
    { label: 'mean score', value: num(s?.meanScore ?? run.progress.meanScore, 3) },
    { label: 'pass rate', value: pct(s?.passRate) },
    ...(s ? [{ label: `cost${s.costUnknown ? ' (at least)' : ''}`, value: `$${s.costUsd.toFixed(4)}` }] : []),
    ...(s ? [{ label: 'duration', value: `${(s.durationMs / 1000).toFixed(1)} s` }] : []),
  ])}
${run.error ? html`<p><b>Run error:</b> ${run.error}</p>` : ''}
${(run.warnings ?? []).map((w) => html`<p class="muted">Warning: ${w}</p>`)}
${run.datasetErrors.length > 0 ? html`<h2>Dataset rows not used</h2><ul>${run.datasetErrors.map((e) => html`<li>row ${e.row}: ${e.reason}</li>`)}</ul>` : ''}
${
  s && s.metrics.length > 0
    ? html`<h2>Metrics</h2><div class="scroll"><table id="metrics"><thead><tr><th>Metric</th><th>Mean</th><th>Scored</th><th>Could not score</th></tr></thead><tbody>${s.metrics.map(
        (m) =>
          html`<tr><td>${m.metric}${m.heuristic ? ' (heuristic)' : ''}</td><td>${num(m.mean, 3)}</td><td>${m.count}</td><td>${m.errors}</td></tr>`,
      )}</tbody></table></div>`
    : ''
}
${charts.length > 0 ? html`<h2>Distributions</h2><div class="charts">${charts}</div>` : ''}
${
  compareWith.length > 0
    ? html`<h2>Compare</h2><ul id="compare">${compareWith.map(
        (o) =>
          html`<li><a href="${deps.sign(reportPaths.compare(run._id, o._id))}">against ${o._id}</a> <span class="muted">${o.status}, ${when(o.createdAt)}, mean ${num(o.summary?.meanScore ?? null, 3)}</span></li>`,
      )}</ul>`
    : ''
}
${await historySection(deps.audit, 'run', run._id)}
`;
  yield* itemsSection(items, t, metrics);
  yield pageTail();
}

/** The comparison of run `id` (B, the new one) against `other` (A, the baseline): regressions first. */
export async function comparePage(deps: RunPageDeps, id: string, other: string): Promise<Html | null> {
  const [b, a] = await Promise.all([deps.getRun(id), deps.getRun(other)]);
  if (!a || !b) return null;
  const [ib, ia] = await Promise.all([deps.items(id), deps.items(other)]);
  const cmp = compareRuns({ run: a, items: ia }, { run: b, items: ib }, { top: Number.MAX_SAFE_INTEGER });
  const deltaCell = (d: number | null) =>
    d === null
      ? html`<td>—</td>`
      : html`<td class="${d < 0 ? 'delta-neg' : d > 0 ? 'delta-pos' : ''}">${d > 0 ? '+' : ''}${d.toFixed(3)}</td>`;
  const rows = (list: typeof cmp.regressions) =>
    html`<div class="scroll"><table><thead><tr><th>Item</th><th>Input</th><th>Baseline</th><th>This run</th><th>Change</th></tr></thead><tbody>${list.map(
      (d) =>
        html`<tr><td>${d.key}</td><td>${excerpt(d.input, 200)}</td><td>${num(d.scoreA, 3)}</td><td>${num(d.scoreB, 3)}</td>${deltaCell(d.delta)}</tr>`,
    )}</tbody></table></div>`;
  const body = html`${cards([
    { label: 'paired items', value: String(cmp.paired) },
    { label: 'regressions', value: String(cmp.regressions.length) },
    { label: 'improvements', value: String(cmp.improvements.length) },
    { label: 'only in baseline', value: String(cmp.onlyInA) },
    { label: 'only in this run', value: String(cmp.onlyInB) },
  ])}
${cmp.sameSuite ? '' : html`<p class="muted">The runs are of different suites: items are paired by input.</p>`}
<h2>Regressions</h2>${cmp.regressions.length > 0 ? html`<div id="regressions">${rows(cmp.regressions)}</div>` : html`<p class="muted">No item scored lower.</p>`}
<h2>Metrics</h2><div class="scroll"><table><thead><tr><th>Metric</th><th>Baseline</th><th>This run</th><th>Change</th><th>95% interval</th><th>W/L/T</th><th>p</th></tr></thead><tbody>${cmp.metrics.map(
    (m) =>
      html`<tr><td>${m.metric}${m.significant ? ' *' : ''}</td><td>${num(m.meanA, 3)}</td><td>${num(m.meanB, 3)}</td>${deltaCell(m.delta)}<td>${m.ci ? `[${m.ci[0].toFixed(3)}, ${m.ci[1].toFixed(3)}]` : '—'}</td><td>${m.wins}/${m.losses}/${m.ties}</td><td>${m.pValue === null ? '—' : m.pValue.toPrecision(2)}</td></tr>`,
  )}</tbody></table></div>
<h2>Improvements</h2>${cmp.improvements.length > 0 ? rows(cmp.improvements) : html`<p class="muted">No item scored higher.</p>`}
<p><a href="${deps.sign(reportPaths.run(b._id))}">Run ${b._id}</a> · <a href="${deps.sign(reportPaths.run(a._id))}">Baseline ${a._id}</a></p>`;
  return page({
    title: `Run ${b._id} against ${a._id}`,
    heading: `${b.suiteName}: ${b._id} against ${a._id}`,
    sub: `Baseline ${a._id} (${when(a.createdAt)}) · this run ${b._id} (${when(b.createdAt)})`,
    body,
  });
}
