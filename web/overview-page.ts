// The overview page a digest links to: recent runs, reviews and monitors, each linked to its own page.
import type { Review } from '../reviews/index.ts';
import type { Run } from '../runs/index.ts';
import { html, type Html } from './html.ts';
import { num, page, when } from './layout.ts';
import { reportPaths } from '../config/index.ts';

/** What the overview reads. */
export interface OverviewDeps {
  listRuns(options: { limit?: number }): Promise<Run[]>;
  listReviews(limit: number): Promise<Review[]>;
  monitors(): readonly { name: string; schedule: string }[];
  sign(path: string): string;
}

/** The overview page. */
export async function overviewPage(deps: OverviewDeps): Promise<Html> {
  const [runs, reviews] = await Promise.all([deps.listRuns({ limit: 30 }), deps.listReviews(30)]);
  const body = html`<h2>Recent runs</h2>${
    runs.length === 0
      ? html`<p class="muted">No run yet.</p>`
      : html`<div class="scroll"><table id="runs"><thead><tr><th>Run</th><th>Suite</th><th>Status</th><th>Mean score</th><th>Started</th></tr></thead><tbody>${runs.map(
          (r) =>
            html`<tr><td><a href="${deps.sign(reportPaths.run(r._id))}">${r._id}</a></td><td>${r.suiteName}</td><td>${r.summary?.gate.verdict ?? r.status}</td><td>${num(r.summary?.meanScore ?? null, 3)}</td><td>${when(r.createdAt)}</td></tr>`,
        )}</tbody></table></div>`
  }
<h2>Reviews</h2>${
    reviews.length === 0
      ? html`<p class="muted">No review yet.</p>`
      : html`<ul>${reviews.map(
          (r) =>
            // An open review is listed without its contenders, as its ballots are.
            html`<li><a href="${deps.sign(reportPaths.review(r._id))}">Review ${r._id}</a> <span class="muted">${r.status}${r.status === 'closed' ? `: ${r.contenders.map((c) => c.label).join(' vs ')}` : ''}, ${when(r.createdAt)}</span></li>`,
        )}</ul>`
  }
<h2>Monitors</h2>${
    deps.monitors().length === 0
      ? html`<p class="muted">No monitor configured.</p>`
      : html`<ul>${deps.monitors().map((m) => html`<li><a href="${deps.sign(reportPaths.monitor(m.name))}">${m.name}</a> <span class="muted">${m.schedule}</span></li>`)}</ul>`
  }
<p><a href="${deps.sign(reportPaths.leaderboard())}">Leaderboard</a></p>`;
  return page({ title: 'Arbiter reports', heading: 'Arbiter reports', body });
}
