// Signed report links: HMAC-SHA256 over a page's path and an expiry, so the bot can sit behind a public URL with no
// login and a link opens one page until it expires. The path is everything a page reads (ids are path segments), so
// a link cannot be bent to show another object; the query carries only the expiry and the signature.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { type Clock, systemClock } from './runtime.ts';

/** What a link check found: good, past its expiry, or not signed by this key (forged, tampered, malformed). */
export type LinkCheck = 'ok' | 'expired' | 'invalid';

/** Signs and checks report links. */
export interface ReportLinks {
  /** The path with `?exp=…&sig=…` (expiry in Unix seconds). */
  sign(path: string, ttlMs?: number): string;
  /** The absolute signed URL under PUBLIC_URL; undefined without PUBLIC_URL (no button then). */
  publicUrl(path: string): string | undefined;
  /** The absolute signed URL under `base` (PUBLIC_URL when set, else `fallbackBase`, e.g. the local server). */
  url(path: string, fallbackBase: string): string;
  /** Checks a request's path, `exp` and `sig` (constant-time comparison of the signature). */
  verify(path: string, exp: string | undefined, sig: string | undefined): LinkCheck;
}

/** What the signer needs. */
export interface ReportLinkOptions {
  secret: string;
  /** Default validity of a link, ms (REPORT_LINK_TTL). */
  ttlMs: number;
  /** PUBLIC_URL (no trailing slash needed). */
  publicUrl?: string | undefined;
  /** The one Clock (its `nowMs`); the system clock by default. */
  clock?: Pick<Clock, 'nowMs'>;
}

const SIG_RE = /^[A-Za-z0-9_-]{43}$/;
const EXP_RE = /^[0-9]{1,12}$/;

/** Creates the signer of report links. */
export function createReportLinks(options: ReportLinkOptions): ReportLinks {
  const clock = options.clock ?? systemClock;
  const mac = (path: string, exp: string) =>
    createHmac('sha256', options.secret).update(`${path}\n${exp}`).digest();
  const base = (url: string) => url.replace(/\/+$/, '');
  const links: ReportLinks = {
    sign(path, ttlMs = options.ttlMs) {
      const exp = String(Math.floor((clock.nowMs() + ttlMs) / 1000));
      return `${path}?exp=${exp}&sig=${mac(path, exp).toString('base64url')}`;
    },
    publicUrl(path) {
      return options.publicUrl ? `${base(options.publicUrl)}${links.sign(path)}` : undefined;
    },
    url(path, fallbackBase) {
      return `${base(options.publicUrl ?? fallbackBase)}${links.sign(path)}`;
    },
    verify(path, exp, sig) {
      if (!exp || !sig || !EXP_RE.test(exp) || !SIG_RE.test(sig)) return 'invalid';
      const given = Buffer.from(sig, 'base64url');
      const expected = mac(path, exp);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
      // Checked after the signature: an expired link is only reported as such when it was really ours.
      return Number(exp) * 1000 <= clock.nowMs() ? 'expired' : 'ok';
    },
  };
  return links;
}

/** Paths of the report pages (what a link signs). */
export const reportPaths = {
  run: (id: string) => `/r/runs/${encodeURIComponent(id)}`,
  compare: (id: string, other: string) =>
    `/r/runs/${encodeURIComponent(id)}/compare/${encodeURIComponent(other)}`,
  review: (id: string) => `/r/reviews/${encodeURIComponent(id)}`,
  monitor: (name: string) => `/r/monitors/${encodeURIComponent(name)}`,
  leaderboard: () => '/r/leaderboard',
  overview: () => '/r/overview',
};

/** The absolute signed URL of a report page for a message's *Open report* button; undefined: no button. */
export type ReportUrl = (path: string) => string | undefined;
