// Public surface of web/: the report pages (run, comparison, review, monitor, leaderboard, overview) served by the
// bot's HTTP server behind signed links, and the link key.
export { createReportRoutes } from './routes.ts';
export { openReportLinks } from './secret.ts';
