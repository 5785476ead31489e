// The App Home tab: recent runs with scores, open reviews waiting for this user's vote, monitor status and the
// leaderboard's top 5, each limited to what the viewer may see: what comes from channels they are in, or is theirs
// (admins see everything, and the tab says it is the admin view). Data comes through a small port (HomeData) the lead wires to runs/, reviews/ and
// monitors/; the view is a pure function of a snapshot and stays within Slack's view limits whatever the sizes.
import type { Message, MessageSection } from '../chat/index.ts';
import { type Run, runOutcome } from '../runs/index.ts';
import { type Block, renderBlocks, SLACK_LIMITS } from './render-blocks.ts';
import { escapeMrkdwn, toWellFormed, truncateText } from './slack-text.ts';

/** A Home tab view for views.publish. */
export interface HomeView {
  type: 'home';
  blocks: Block[];
}

/** An open review as the Home tab shows it. */
export interface HomeReview {
  id: string;
  title: string;
  /** Pairs still waiting for this user's vote. */
  pending: number;
  /** Where the review's thread is; with `dm` its ballots go by direct message to the user (they may see it). */
  channel?: string | undefined;
  dm?: boolean | undefined;
}

/** A monitor's status as the Home tab shows it. */
export interface HomeMonitor {
  name: string;
  schedule: string;
  lastTickTime?: Date | undefined;
  failing: boolean;
  lastAlert?: { time: Date; text?: string | undefined } | undefined;
  paused: boolean;
  /** Where its reports go (a channel id once resolved). */
  channel?: string | undefined;
}

/** A leaderboard row as the Home tab shows it. */
export interface HomeLeader {
  name: string;
  rating?: number | undefined;
  lower?: number | undefined;
  upper?: number | undefined;
  unrated?: boolean | undefined;
}

type MaybeAsync<T> = T | Promise<T>;

/**
 * What the Home tab reads. Optional parts are capabilities that may not be wired yet; the tab says so honestly
 * instead of showing an empty list.
 */
export interface HomeData {
  recentRuns(limit: number): MaybeAsync<readonly Run[]>;
  openReviewsFor?(user: string): MaybeAsync<readonly HomeReview[]>;
  monitors?(): MaybeAsync<readonly HomeMonitor[]>;
  /** The top `n`, pooled only over reviews whose channel `include` keeps (all when absent). */
  leaderboardTop?(n: number, include?: (channel: string) => boolean): MaybeAsync<readonly HomeLeader[]>;
}

/** Who is looking at the tab. */
export interface HomeViewer {
  user: string;
  /** Admins see everything (and are told it is the admin view). */
  admin: boolean;
  /** Channel ids the user is in; undefined when Slack could not tell (then only the user's own things show). */
  channels?: ReadonlySet<string> | undefined;
}

/** Whether `viewer` may see something posted in `channel` or started by `user`. */
export function canSee(
  viewer: HomeViewer,
  origin: { channel?: string | undefined; user?: string | undefined },
) {
  if (viewer.admin) return true;
  if (origin.user !== undefined && origin.user === viewer.user) return true;
  return origin.channel !== undefined && (viewer.channels?.has(origin.channel) ?? false);
}

/** Where a run came from: the channel it was launched in, and who launched it (from chat or a button). */
function runOrigin(r: Run): { channel?: string | undefined; user?: string | undefined } {
  return { channel: r.origin?.channel, user: r.origin?.user ?? r.trigger?.requestedBy };
}

/** One part of the snapshot: its rows, not wired yet, or failed to load (the tab shows the rest anyway). */
export type HomePart<T> = { ok: true; rows: readonly T[] } | { ok: false; reason: 'not-available' | 'error' };

/** Everything the Home tab shows for one user, already loaded. */
export interface HomeSnapshot {
  /** Whose view it is; absent in older callers (then nothing is said about scope). */
  viewer?: HomeViewer;
  runs: HomePart<Run>;
  reviews: HomePart<HomeReview>;
  monitors: HomePart<HomeMonitor>;
  leaders: HomePart<HomeLeader>;
}

/** How many rows each list shows at most (the rest is counted, with the command that lists them all). */
export const HOME_LIMITS = {
  runs: 10,
  reviews: 10,
  monitors: 10,
  leaders: 5,
  /** Characters of an untrusted name kept before escaping. */
  name: 60,
  /** Escaped text of one list section (a section holds 3000; the four lists share the message budget). */
  listChars: 2000,
} as const;

const nowhere: HomePart<never> = { ok: false, reason: 'not-available' };

async function part<T>(
  fn: (() => MaybeAsync<readonly T[]>) | undefined,
  onError: (err: unknown) => void,
): Promise<HomePart<T>> {
  if (!fn) return nowhere;
  try {
    return { ok: true, rows: await fn() };
  } catch (err) {
    onError(err);
    return { ok: false, reason: 'error' };
  }
}

/** Runs read to find the ones a non-admin may see (recent runs of other channels are skipped). */
const RUNS_SCANNED = 200;

/**
 * Loads a viewer's Home snapshot, keeping only what they may see (canSee); a part that fails is shown as
 * unavailable, never failing the whole tab.
 */
export async function loadHomeSnapshot(
  data: HomeData,
  viewer: HomeViewer,
  onError: (part: string, err: unknown) => void = () => {},
): Promise<HomeSnapshot> {
  const see = (origin: { channel?: string | undefined; user?: string | undefined }) => canSee(viewer, origin);
  const [runs, reviews, monitors, leaders] = await Promise.all([
    part(
      async () =>
        viewer.admin
          ? await data.recentRuns(HOME_LIMITS.runs)
          : (await data.recentRuns(RUNS_SCANNED)).filter((r) => see(runOrigin(r))).slice(0, HOME_LIMITS.runs),
      (e) => onError('runs', e),
    ),
    part(
      data.openReviewsFor
        ? async () =>
            (await data.openReviewsFor!(viewer.user)).filter((r) => r.dm || see({ channel: r.channel }))
        : undefined,
      (e) => onError('reviews', e),
    ),
    part(
      data.monitors
        ? async () => (await data.monitors!()).filter((m) => see({ channel: m.channel }))
        : undefined,
      (e) => onError('monitors', e),
    ),
    part(
      data.leaderboardTop
        ? () =>
            viewer.admin
              ? data.leaderboardTop!(HOME_LIMITS.leaders)
              : data.leaderboardTop!(HOME_LIMITS.leaders, (channel) => see({ channel }))
        : undefined,
      (e) => onError('leaderboard', e),
    ),
  ]);
  return { viewer, runs, reviews, monitors, leaders };
}

/** The note saying whose view the tab is. */
function scopeNote(viewer: HomeViewer | undefined): string[] {
  if (!viewer) return [];
  if (viewer.admin)
    return ['Admin view: runs, reviews, monitors and ratings from every channel, private ones included.'];
  if (!viewer.channels)
    return [
      'Showing only your own runs: Slack could not tell which channels you are in just now; reopen the tab to retry.',
    ];
  return ['Showing runs, reviews, monitors and ratings from channels you are in, and runs you started.'];
}

/** An untrusted name cut to a short, well-formed prefix and escaped for mrkdwn (mentions and links inert). */
function name(text: string): string {
  const flat = toWellFormed(String(text)).replace(/\s+/g, ' ').trim() || '(unnamed)';
  return escapeMrkdwn(truncateText(flat, HOME_LIMITS.name, '…'));
}

function code(text: string): string {
  return `\`${name(text).replace(/`/g, "'")}\``;
}

function score(x: number | null | undefined): string {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(3) : '—';
}

function when(d: Date | undefined, now: Date): string {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) return 'never';
  const s = Math.round((now.getTime() - d.getTime()) / 1000);
  if (s < 0) return d.toISOString().slice(0, 16).replace('T', ' ');
  if (s < 90) return `${s}s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

function runLine(r: Run): string {
  const mean = r.summary?.meanScore ?? r.progress.meanScore;
  const verdict = runOutcome(r);
  return `• *${name(r.suiteName)}*: ${verdict}, mean ${score(mean)}, ${r.progress.done}/${r.total} items ${code(r._id)}`;
}

function reviewLine(r: HomeReview): string {
  const n = Math.max(0, Math.floor(r.pending));
  return `• *${name(r.title)}*: ${n} pair${n === 1 ? '' : 's'} to vote on ${code(r.id)}`;
}

function monitorLine(m: HomeMonitor, now: Date): string {
  const state = m.paused ? 'paused' : m.failing ? ':red_circle: failing' : 'ok';
  const alert = m.lastAlert
    ? `last alert ${when(m.lastAlert.time, now)}${m.lastAlert.text ? ` (${name(m.lastAlert.text)})` : ''}`
    : 'no alert';
  return `• *${name(m.name)}* ${code(m.schedule)}: ${state}, last tick ${when(m.lastTickTime, now)}, ${alert}`;
}

function interval(x: number | undefined): string {
  return typeof x === 'number' && Number.isFinite(x) ? Math.round(x).toString() : '?';
}

function leaderLine(l: HomeLeader, i: number): string {
  const rated = !l.unrated && typeof l.rating === 'number' && Number.isFinite(l.rating);
  const rating = rated
    ? `${Math.round(l.rating!)}${l.lower !== undefined || l.upper !== undefined ? ` (95% ${interval(l.lower)}–${interval(l.upper)})` : ''}`
    : 'unrated (too few votes)';
  return `${i + 1}. *${name(l.name)}*: ${rating}`;
}

/** Lines joined up to a character budget, then a count of the rest and where to see them all. */
function listText(heading: string, lines: string[], total: number, more: string): string {
  const head = `*${heading}*`;
  const tail = (n: number) => `\n_+${n} more: ${more}_`;
  let text = head;
  let shown = 0;
  for (const line of lines) {
    const reserve = total - shown - 1 > 0 ? tail(total).length : 0;
    if (text.length + 1 + line.length + reserve > HOME_LIMITS.listChars) break;
    text += `\n${line}`;
    shown++;
  }
  return shown < total ? text + tail(total - shown) : text;
}

function partSection<T>(
  heading: string,
  p: HomePart<T>,
  opts: { max: number; line: (row: T, i: number) => string; empty: string; more: string; missing: string },
): MessageSection {
  if (!p.ok)
    return {
      kind: 'text',
      text: `*${heading}*\n${p.reason === 'error' ? '_Could not be loaded just now; reopen the tab to retry._' : opts.missing}`,
    };
  if (p.rows.length === 0) return { kind: 'text', text: `*${heading}*\n${opts.empty}` };
  const lines = p.rows.slice(0, opts.max).map((r, i) => opts.line(r, i));
  return { kind: 'text', text: listText(heading, lines, p.rows.length, opts.more) };
}

/** The Home tab as a Message (also what tests and the console can show). */
export function homeMessage(
  input: readonly Run[] | HomeSnapshot,
  command: string,
  now = new Date(),
): Message {
  const s: HomeSnapshot = isSnapshot(input)
    ? input
    : { runs: { ok: true, rows: input }, reviews: nowhere, monitors: nowhere, leaders: nowhere };
  const cmd = escapeMrkdwn(command);
  return {
    title: 'Arbiter',
    summary: 'Arbiter home',
    sections: [
      partSection('Recent runs', s.runs, {
        max: HOME_LIMITS.runs,
        line: runLine,
        empty: `None yet: start one with \`${cmd} run <suite>\`.`,
        more: `\`${cmd} runs list\``,
        missing: '_Not available._',
      }),
      { kind: 'divider' },
      partSection('Open reviews waiting for your vote', s.reviews, {
        max: HOME_LIMITS.reviews,
        line: reviewLine,
        empty: 'Nothing waiting for your vote.',
        more: `\`${cmd} review list\``,
        missing: '_Not available yet._',
      }),
      { kind: 'divider' },
      partSection('Monitors', s.monitors, {
        max: HOME_LIMITS.monitors,
        line: (m) => monitorLine(m, now),
        empty: 'No monitors configured.',
        more: `\`${cmd} monitor list\``,
        missing: `_Status here is not available yet: use \`${cmd} monitor list\`._`,
      }),
      { kind: 'divider' },
      partSection('Leaderboard (top 5)', s.leaders, {
        max: HOME_LIMITS.leaders,
        line: leaderLine,
        empty: 'No ratings yet: reviews produce them.',
        more: `\`${cmd} leaderboard\``,
        missing: '_Not available yet._',
      }),
      {
        kind: 'context',
        items: [
          ...scopeNote(s.viewer),
          `Start a run with ${command} run <suite>; ${command} help lists every command.`,
        ],
      },
    ],
  };
}

function isSnapshot(x: readonly Run[] | HomeSnapshot): x is HomeSnapshot {
  return !Array.isArray(x);
}

/** Renders the Home tab within the view limits (100 blocks; section text 3000). */
export function buildHomeView(
  input: readonly Run[] | HomeSnapshot,
  command: string,
  now = new Date(),
): HomeView {
  const { blocks } = renderBlocks(homeMessage(input, command, now));
  return { type: 'home', blocks: blocks.slice(0, SLACK_LIMITS.blocksPerView) };
}
