// Public surface of web/: the report pages (run, comparison, review, monitor, leaderboard, overview) served by the
// bot's HTTP server behind signed links, and the link key.
export { REPORT_CSS, REPORT_JS } from './assets.ts';
export { escapeHtml, Html, html } from './html.ts';
export type { AuditReader, AuditRecordView } from './layout.ts';
export { createReportRoutes, LINK_REFUSED, REPORT_CSP, type ReportDeps } from './routes.ts';
export { LINK_SECRET_COLLECTION, openReportLinks, resolveLinkSecret } from './secret.ts';
