// The page shell and the parts every report page shares: header, summary cards, the History section (the audit
// trail of the page's object), number formats.
import { html, type Html } from './html.ts';

/** What the History section reads (the audit trail's `list`, see /work/notes/audit-contract.md). */
export type AuditActorView =
  | { via: 'slack'; user: string; channel?: string; team?: string }
  | { via: 'cli'; user: string }
  | { via: 'console'; user: string }
  | { via: 'system'; user: string };

/** One record of the audit trail, as the History section shows it. */
export interface AuditRecordView {
  id: string;
  at: Date;
  actor: AuditActorView;
  action: string;
  object: { type: string; id: string };
  summary: string;
}

/** The audit trail's read side, structurally (the real AuditLog satisfies it). */
export interface AuditReader {
  list(query: {
    objectType?: 'run' | 'review' | 'monitor' | 'digest' | 'prompt' | 'job' | 'store' | 'suite';
    objectId?: string;
    limit?: number;
  }): Promise<AuditRecordView[]>;
}

/** A whole page: doctype, viewport for phones, the bot's stylesheet and script, no referrer (links are signed). */
export function page(opts: { title: string; heading: Html | string; sub?: Html | string; body: Html }): Html {
  return html`${pageHead(opts)}${opts.body}${pageTail()}`;
}

/** A page up to and including `<main>`: what a streamed page sends first. */
export function pageHead(opts: { title: string; heading: Html | string; sub?: Html | string }): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><meta name="robots" content="noindex">
<title>${opts.title}</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/assets/report.css"></head>
<body><header><h1>${opts.heading}</h1>${opts.sub ? html`<p class="sub">${opts.sub}</p>` : ''}</header>
<main>`;
}

/** The end of a page after its body: `</main>`, the footer and the script. */
export function pageTail(): Html {
  return html`</main>
<footer>Arbiter report · generated ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC</footer>
<script src="/assets/report.js" defer></script></body></html>`;
}

/** A small page with one message (403, 404). */
export function messagePage(title: string, text: string): Html {
  return page({ title, heading: title, body: html`<p>${text}</p>` });
}

/** Summary cards: a big value over a small label. */
export function cards(items: readonly { label: string; value: string }[]): Html {
  return html`<div class="cards">${items.map((i) => html`<div class="card"><b>${i.value}</b><span>${i.label}</span></div>`)}</div>`;
}

export const pct = (x: number | null | undefined) =>
  x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)}%`;
export const num = (x: number | null | undefined, digits = 3) =>
  x === null || x === undefined ? '—' : x.toFixed(digits);
export const when = (d: Date | undefined) =>
  d ? `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC` : '—';

function from(actor: AuditActorView): string {
  if (actor.via === 'slack') return `Slack${actor.channel ? ` ${actor.channel}` : ''}`;
  if (actor.via === 'cli') return 'CLI';
  if (actor.via === 'console') return 'console';
  return 'Arbiter (scheduler, webhook)';
}

/** The History section: who did what to this object, when and from where (newest first). */
export async function historySection(
  audit: AuditReader | undefined,
  objectType: 'run' | 'review' | 'monitor',
  objectId: string,
): Promise<Html> {
  if (!audit) return html``;
  let records: AuditRecordView[];
  try {
    records = await audit.list({ objectType, objectId, limit: 200 });
  } catch {
    return html`<h2>History</h2><p class="muted">The history could not be read.</p>`;
  }
  if (records.length === 0) return html`<h2>History</h2><p class="muted">Nothing recorded yet.</p>`;
  return html`<h2>History</h2><div class="scroll"><table id="history"><thead><tr><th>When</th><th>Who</th><th>From</th><th>What</th></tr></thead><tbody>${records.map(
    (r) =>
      html`<tr><td>${when(r.at)}</td><td>${r.actor.user}</td><td>${from(r.actor)}</td><td>${r.summary}</td></tr>`,
  )}</tbody></table></div>`;
}
