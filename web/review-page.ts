// The review page. Before the review closes it is as blind as the ballots: no contender label, run, suite or
// prompt, no answer, no vote choice; only how far the voting got. After the close: the reveal, the ratings with their
// intervals as a chart, the verdict, every vote with its reason, and the judge's agreement.
import {
  buildReport,
  notEnoughVotes,
  type Pair,
  type RatingsTable,
  type Review,
  type VoteDoc,
  votesAsOfClose,
} from '../reviews/index.ts';
import { ratingsChart } from './charts.ts';
import { html, type Html } from './html.ts';
import { type AuditReader, cards, historySection, page, pct, when } from './layout.ts';
import { reportPaths } from '../config/index.ts';

/** What the review and leaderboard pages read. */
export interface ReviewPageDeps {
  getReview(id: string): Promise<Review | null>;
  pairs(id: string): Promise<Pair[]>;
  votes(id: string): Promise<VoteDoc[]>;
  standings(): Promise<RatingsTable>;
  closedReviews(): Promise<number>;
  audit?: AuditReader | undefined;
  sign(path: string): string;
  /** Bootstrap rounds of the ratings (the review service's; 1000 by default). */
  bootstrap?: number;
}

function ratingsTable(table: RatingsTable): Html {
  return html`<div class="scroll"><table id="ratings"><thead><tr><th>Rank</th><th>Contender</th><th>Rating</th><th>95% interval</th><th>W/L/T</th><th>Both bad</th><th>Win rate</th></tr></thead><tbody>${table.contenders.map(
    (r) =>
      html`<tr><td>${r.rank ?? '—'}</td><td>${r.name}</td><td>${r.rating.toFixed(0)}</td><td>${
        !r.enoughVotes
          ? notEnoughVotes(r.games, table.settings.minVotes)
          : r.ci
            ? `[${r.ci.lower.toFixed(0)}, ${r.ci.upper.toFixed(0)}]`
            : '—'
      }</td><td>${r.wins}/${r.losses}/${r.ties}</td><td>${r.bothBad}</td><td>${pct(r.winRate)}</td></tr>`,
  )}${table.unrated.map((name) => html`<tr><td>—</td><td>${name}</td><td colspan="5" class="muted">no counted vote</td></tr>`)}</tbody></table></div>`;
}

/** The ratings chart of a table (contenders with a rating). */
export function tableChart(table: RatingsTable): Promise<Html> {
  return ratingsChart(
    table.contenders.map((r) => ({
      name: r.name,
      rating: r.rating,
      ...(r.ci && r.enoughVotes ? { lower: r.ci.lower, upper: r.ci.upper } : {}),
    })),
  );
}

/** The page of a review that has not closed: nothing that identifies a contender. */
async function blindPage(deps: ReviewPageDeps, review: Review): Promise<Html> {
  const [pairs, votes] = await Promise.all([deps.pairs(review._id), deps.votes(review._id)]);
  const needed = (p: Pair) => (review.options.dm ? p.assignees.length : review.options.reviewersPerPair);
  const perPair = new Map<string, number>();
  for (const v of votes) perPair.set(v.pairId, (perPair.get(v.pairId) ?? 0) + 1);
  const complete = pairs.filter((p) => (perPair.get(p._id) ?? 0) >= needed(p)).length;
  const deadline = review.options.deadlineMs
    ? new Date(review.createdAt.getTime() + review.options.deadlineMs)
    : undefined;
  const body = html`${cards([
    { label: 'status', value: review.status },
    { label: 'pairs', value: String(pairs.length || review.pairCount) },
    { label: 'votes so far', value: String(votes.length) },
    { label: 'pairs with all their votes', value: String(complete) },
  ])}
<p>The answers come from different runs; which is which is revealed on this page when the review closes.</p>
<p class="muted">${deadline ? `Closes at ${when(deadline)}.` : 'Closes when every pair has its votes.'}</p>
${await historySection(deps.audit, 'review', review._id)}`;
  return page({
    title: `Blind review ${review._id}`,
    heading: `Blind review ${review._id}`,
    sub: `${review.status === 'abandoned' ? 'Abandoned' : 'Open'} · ${review.contenders.length} contenders · opened ${when(review.createdAt)}`,
    body,
  });
}

/** The review page, or null when there is no such review. */
export async function reviewPage(deps: ReviewPageDeps, id: string): Promise<Html | null> {
  const review = await deps.getReview(id);
  if (!review) return null;
  if (review.status !== 'closed') return blindPage(deps, review);
  const [pairs, allVotes] = await Promise.all([deps.pairs(id), deps.votes(id)]);
  const votes = votesAsOfClose(review, allVotes);
  const report = buildReport(review, pairs, votes, { bootstrap: deps.bootstrap ?? 1000 });
  const labelOf = (runId: string) => review.contenders.find((c) => c.runId === runId)?.label ?? runId;
  const chose = (p: Pair, v: VoteDoc) =>
    v.choice === 'a'
      ? labelOf(p.aRunId)
      : v.choice === 'b'
        ? labelOf(p.bRunId)
        : v.choice === 'both_bad'
          ? 'both bad'
          : 'tie';
  const votesByPair = new Map<string, VoteDoc[]>();
  for (const v of votes) votesByPair.set(v.pairId, [...(votesByPair.get(v.pairId) ?? []), v]);
  const agreement = report.judge.agreement;
  const body = html`<p><b>${report.verdict.text}</b></p>
${cards([
  { label: 'votes', value: `${report.votes.total} of ${report.votes.expected}` },
  { label: 'pairs with all votes', value: `${report.votes.pairsComplete} of ${report.votes.pairCount}` },
  { label: 'closed', value: `${report.closedReason}, ${when(review.closedAt)}` },
  {
    label: 'judge',
    value:
      report.judge.status === 'done'
        ? `${report.judge.judged} pairs${report.judge.heuristic ? ' (heuristic)' : ''}`
        : report.judge.status,
  },
])}
<h2>Contenders</h2><div class="scroll"><table id="reveal"><thead><tr><th>Label</th><th>Run</th><th>Suite</th><th>Shown as A / B</th></tr></thead><tbody>${report.contenders.map(
    (c) =>
      html`<tr><td>${c.label}</td><td><a href="${deps.sign(reportPaths.run(c.runId))}">${c.runId}</a></td><td>${c.suiteName}</td><td>${c.shownA} / ${c.shownB}</td></tr>`,
  )}</tbody></table></div>
<h2>Ratings</h2>${report.table.contenders.length > 0 ? await tableChart(report.table) : ''}${ratingsTable(report.table)}
${agreement.percent !== null ? html`<p class="muted">Judge agreement with reviewers on ${agreement.n} votes: ${pct(agreement.percent)}${agreement.kappa !== null ? ` (κ ${agreement.kappa.toFixed(2)})` : ''}.</p>` : ''}
<h2>Votes</h2>${pairs.map((p) => {
    const list = votesByPair.get(p._id) ?? [];
    return html`<details class="item"><summary><span class="key">Pair ${p.seq}</span> <span>${list.length} vote${list.length === 1 ? '' : 's'}</span> <span class="excerpt">${p.input.replace(/\s+/g, ' ').slice(0, 140)}</span></summary><div class="body">
<div class="io"><div><h3>Input</h3><pre>${p.input}</pre></div><div><h3>A: ${labelOf(p.aRunId)}</h3><pre>${p.answerA}</pre></div><div><h3>B: ${labelOf(p.bRunId)}</h3><pre>${p.answerB}</pre></div></div>
${p.judge ? html`<p class="muted">Judge: ${p.judge.winner === null ? 'no verdict' : p.judge.winner === 'tie' ? 'tie' : labelOf(p.judge.winner === 'a' ? p.aRunId : p.bRunId)}</p>` : ''}
${list.length > 0 ? html`<table><thead><tr><th>Reviewer</th><th>Chose</th><th>Reason</th></tr></thead><tbody>${list.map((v) => html`<tr><td>${v.user}</td><td>${chose(p, v)}</td><td>${v.reason ?? ''}</td></tr>`)}</tbody></table>` : html`<p class="muted">No vote.</p>`}</div></details>`;
  })}
<h2>Participation</h2><ul>${report.participation.map((u) => html`<li>${u.user}: ${u.votes}</li>`)}</ul>
${await historySection(deps.audit, 'review', review._id)}`;
  return page({
    title: `Review ${review._id}`,
    heading: `Review ${review._id}: ${review.contenders.map((c) => c.label).join(' vs ')}`,
    sub: `Closed ${when(review.closedAt)}${review.prompt ? ` · prompt ${review.prompt}` : ''}`,
    body,
  });
}

/** The leaderboard: ratings pooled over every closed review. */
export async function leaderboardPage(deps: ReviewPageDeps): Promise<Html> {
  const [table, closed] = await Promise.all([deps.standings(), deps.closedReviews()]);
  const body =
    table.contenders.length + table.unrated.length === 0
      ? html`<p class="muted">No closed review yet.</p>`
      : html`${table.contenders.length > 0 ? await tableChart(table) : ''}${ratingsTable(table)}
<p class="muted">Pooled over ${closed} closed review${closed === 1 ? '' : 's'}; ${table.votes.counted} counted votes.${table.components > 1 ? ' Some contenders were never compared with each other: their ratings are not comparable.' : ''}</p>`;
  return page({
    title: 'Leaderboard',
    heading: 'Leaderboard',
    sub: 'Blind pairwise reviews, Bradley–Terry ratings',
    body,
  });
}
