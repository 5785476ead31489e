// What the App Home tab shows, read from the capabilities: recent runs, the reviews waiting for a user's vote, the
// monitors' status and the leaderboard's top. Transport-neutral; bot/app-home.ts renders it for Slack.
import { describeSchedule, type Monitor, type MonitorStore } from '../monitors/index.ts';
import type { RatingsTable, ReviewService } from '../reviews/index.ts';
import type { Run, RunService } from '../runs/index.ts';

/** A leaderboard row of the Home tab. */
export interface HomeLeaderRow {
  name: string;
  rating?: number;
  lower?: number;
  upper?: number;
  unrated?: boolean;
}

/** A monitor's status on the Home tab. */
export interface HomeMonitorRow {
  name: string;
  schedule: string;
  lastTickTime?: Date | undefined;
  failing: boolean;
  paused: boolean;
  channel: string;
  lastAlert?: { time: Date; text: string };
}

/** The Home tab's reads. */
export interface HomeReads {
  recentRuns(limit: number): Promise<readonly Run[]>;
  openReviewsFor: ReviewService['openFor'];
  /** The top `n` (rated first, then unrated names), pooled only over reviews whose channel `include` keeps. */
  leaderboardTop(n: number, include?: (channel: string) => boolean): Promise<HomeLeaderRow[]>;
  monitors(): Promise<HomeMonitorRow[]>;
}

/** The Home tab's reads over the run and review services and the monitors of this process. */
export function createHomeReads(deps: {
  runs: Pick<RunService, 'listRuns'>;
  reviews: Pick<ReviewService, 'openFor' | 'standings'>;
  monitors: readonly Monitor[];
  monitorStore: Pick<MonitorStore, 'getState'>;
}): HomeReads {
  const { runs, reviews, monitors, monitorStore } = deps;
  return {
    recentRuns: (limit) => runs.listRuns({ limit }),
    openReviewsFor: (user) => reviews.openFor(user),
    async leaderboardTop(n, include) {
      return leaderRows(
        await reviews.standings(undefined, include ? (r) => include(r.channel) : undefined),
        n,
      );
    },
    monitors: () =>
      Promise.all(monitors.map(async (m) => monitorRow(m, await monitorStore.getState(m.name)))),
  };
}

/** The top `n` of a ratings table: rated contenders first (with their interval), then unrated names up to `n`. */
export function leaderRows(table: Pick<RatingsTable, 'contenders' | 'unrated'>, n: number): HomeLeaderRow[] {
  return [
    ...table.contenders.slice(0, n).map((c) => ({
      name: c.name,
      rating: c.rating,
      ...(c.ci ? { lower: c.ci.lower, upper: c.ci.upper } : {}),
    })),
    ...table.unrated.slice(0, Math.max(0, n - table.contenders.length)).map((name) => ({
      name,
      unrated: true,
    })),
  ];
}

/** A monitor's Home row from its stored state: the newest firing alert's time and how many fire. */
function monitorRow(m: Monitor, state: Awaited<ReturnType<MonitorStore['getState']>>): HomeMonitorRow {
  const firing = Object.values(state.alerts).filter((a) => a.firing && a.since);
  const since = firing.map((a) => new Date(a.since as string)).sort((a, b) => +b - +a)[0];
  return {
    name: m.name,
    schedule: describeSchedule(m),
    lastTickTime: state.lastTickTime,
    failing: state.failing,
    paused: state.paused === true,
    channel: m.publish.channel,
    ...(since ? { lastAlert: { time: since, text: `${firing.length} alert(s) firing` } } : {}),
  };
}
