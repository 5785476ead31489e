// The report pages' HTTP routes, mounted on the bot's hono app: every page under /r/ needs a signed link (checked
// before anything is read, so an unsigned request learns nothing, not even whether an object exists); the
// stylesheet and the script under /assets/ are public. Every response carries a strict Content-Security-Policy:
// scripts and styles from the bot only, images from the bot or data: URIs (the charts), nothing else.
import { Hono } from 'hono';
import { compress } from 'hono/compress';
import type { Context } from 'hono';
import { type Clock, type Logger, type ReportLinks, systemClock } from '../config/index.ts';
import type { MonitorStateDoc, ScoredItemDoc, TickLogDoc } from '../monitors/index.ts';
import type { Pair, RatingsTable, Review, VoteDoc } from '../reviews/index.ts';
import type { Run, RunItemView } from '../runs/index.ts';
import { REPORT_CSS, REPORT_JS } from './assets.ts';
import type { Html } from './html.ts';
import { type AuditReader, messagePage } from './layout.ts';
import { monitorPage } from './monitor-page.ts';
import { overviewPage } from './overview-page.ts';
import { leaderboardPage, reviewPage } from './review-page.ts';
import { comparePage, runPageParts } from './run-page.ts';

/** What the report pages read, through the capabilities' public surfaces. */
export interface ReportDeps {
  links: ReportLinks;
  runs: {
    getRun(id: string): Promise<Run | null>;
    items(id: string): Promise<RunItemView[]>;
    listRuns(options: { limit?: number; suiteName?: string }): Promise<Run[]>;
  };
  reviews: {
    get(id: string): Promise<Review | null>;
    pairs(id: string): Promise<Pair[]>;
    votes(id: string): Promise<VoteDoc[]>;
    list(limit: number): Promise<Review[]>;
    standings(): Promise<RatingsTable>;
  };
  monitors: {
    list(): readonly { name: string; schedule: string }[];
    getState(name: string): Promise<MonitorStateDoc>;
    ticks(name: string, from: Date, to: Date): Promise<TickLogDoc[]>;
    latestScored(name: string, limit: number): Promise<ScoredItemDoc[]>;
  };
  /** The audit trail's read side (History sections); absent until it is wired. */
  audit?: AuditReader | undefined;
  /** The one Clock (its `now`); the system clock by default. */
  clock?: Pick<Clock, 'now'>;
  logger?: Logger;
}

/** The Content-Security-Policy of every report response. */
export const REPORT_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const SECURITY_HEADERS = {
  'content-security-policy': REPORT_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

/** The words of the 403 page: nothing about why, whose or what. */
export const LINK_REFUSED = 'This link has expired or is invalid.';

/** Creates the routes of the report pages (mount at `/`). */
export function createReportRoutes(deps: ReportDeps): Hono {
  const app = new Hono();
  const clock = deps.clock ?? systemClock;
  const now = () => clock.now();
  const sign = (path: string) => deps.links.sign(path);

  const send = (c: Context, body: Html, status: 200 | 403 | 404 | 500 = 200) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.header(k, v);
    c.header('cache-control', 'private, no-store');
    return c.html(`${body.text}`, status);
  };
  const notFound = (c: Context, what: string) =>
    send(
      c,
      messagePage('Not found', `There is no ${what} at this link: it does not exist or was deleted.`),
      404,
    );

  app.get('/assets/report.css', (c) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.header(k, v);
    c.header('cache-control', 'public, max-age=3600');
    return c.body(REPORT_CSS, 200, { 'content-type': 'text/css; charset=utf-8' });
  });
  app.get('/assets/report.js', (c) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.header(k, v);
    c.header('cache-control', 'public, max-age=3600');
    return c.body(REPORT_JS, 200, { 'content-type': 'text/javascript; charset=utf-8' });
  });

  // Pages are large (every item of a run): compressed when the browser accepts it.
  app.use('/r/*', compress());
  app.use('/r/*', async (c, next) => {
    const path = new URL(c.req.url).pathname;
    const check = deps.links.verify(path, c.req.query('exp'), c.req.query('sig'));
    if (check !== 'ok') return send(c, messagePage('Link expired or invalid', LINK_REFUSED), 403);
    await next();
  });

  const runDeps = { ...deps.runs, audit: deps.audit, sign };
  const reviewDeps = {
    getReview: deps.reviews.get,
    pairs: deps.reviews.pairs,
    votes: deps.reviews.votes,
    standings: deps.reviews.standings,
    closedReviews: async () => (await deps.reviews.list(10_000)).filter((r) => r.status === 'closed').length,
    audit: deps.audit,
    sign,
  };
  const monitorDeps = {
    monitors: deps.monitors.list,
    getState: deps.monitors.getState,
    ticks: deps.monitors.ticks,
    latestScored: deps.monitors.latestScored,
    audit: deps.audit,
    now,
  };

  // Streamed: the head goes out before the items are read, and the items a chunk at a time (TTFB of a 10,000-item
  // run: web.bench). A failure after the head cannot change the status any more: the page then ends with it.
  app.get('/r/runs/:id', async (c) => {
    const parts = await runPageParts(runDeps, c.req.param('id'));
    if (!parts) return notFound(c, 'run');
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.header(k, v);
    c.header('cache-control', 'private, no-store');
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const next = await parts.next();
          if (next.done) controller.close();
          else controller.enqueue(encoder.encode(next.value.text));
        } catch (err) {
          deps.logger?.warn({ err: String(err) }, 'run page: could not finish the page');
          controller.enqueue(
            encoder.encode(
              '<p class="error"><b>This page could not be finished:</b> the rest of the run could not be read. Reload to try again.</p></main></body></html>',
            ),
          );
          controller.close();
        }
      },
      async cancel() {
        await parts.return(undefined);
      },
    });
    return c.body(body, 200, { 'content-type': 'text/html; charset=UTF-8' });
  });
  app.get('/r/runs/:id/compare/:other', async (c) => {
    const body = await comparePage(runDeps, c.req.param('id'), c.req.param('other'));
    return body ? send(c, body) : notFound(c, 'pair of runs');
  });
  app.get('/r/reviews/:id', async (c) => {
    const body = await reviewPage(reviewDeps, c.req.param('id'));
    return body ? send(c, body) : notFound(c, 'review');
  });
  app.get('/r/monitors/:name', async (c) => {
    const body = await monitorPage(monitorDeps, c.req.param('name'));
    return body ? send(c, body) : notFound(c, 'monitor');
  });
  app.get('/r/leaderboard', async (c) => send(c, await leaderboardPage(reviewDeps)));
  app.get('/r/overview', async (c) =>
    send(
      c,
      await overviewPage({
        listRuns: deps.runs.listRuns,
        listReviews: deps.reviews.list,
        monitors: deps.monitors.list,
        sign,
      }),
    ),
  );
  app.all('/r/*', (c) => notFound(c, 'report'));

  app.onError((err, c) => {
    deps.logger?.error({ err, path: c.req.path }, 'report page failed');
    return send(
      c,
      messagePage('Report unavailable', 'The report could not be built. Try again in a moment.'),
      500,
    );
  });
  return app;
}
