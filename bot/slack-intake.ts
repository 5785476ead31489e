// Bounded intake for Slack commands and clicks: a global and a per-user cap on interactive jobs still queued or
// running, checked before a request is recorded, so a flood is refused at once ("busy, try again in N s") instead of
// acked into a backlog the worker drains for minutes. The counts come from the store (JobQueue.backlog, read at
// most every `refreshMs` while requests arrive) plus what this process admitted since, so they also see jobs that
// other replicas enqueued or finished.
import { type Clock, systemClock } from '../config/index.ts';
import { notice } from '../commands/index.ts';
import type { Message } from '../chat/index.ts';
import type { Backlog, JobQueue } from '../storage/index.ts';

/** Options of the intake gauge. */
export interface IntakeLimits {
  /** Interactive jobs queued or running, all users together (SLACK_QUEUE_MAX). */
  maxQueued: number;
  /** The same for one user (SLACK_QUEUE_MAX_PER_USER). */
  maxPerUser: number;
}

/** Why a request was not admitted, and when to try again. */
export interface IntakeRefusal {
  scope: 'user' | 'global';
  retryAfterS: number;
}

/** What `admit` answers: a reservation to settle once the enqueue is known, or a refusal. */
export type Admission = { ok: true; settle: (created: boolean) => void } | ({ ok: false } & IntakeRefusal);

/** The gauge the Slack listeners ask before they record a job. */
export interface IntakeGauge {
  /** Reserves a place for `user`'s job, or refuses. A reservation must be settled (created or not). */
  admit(user: string): Admission;
  /** Reads the backlog from the store now (at start; tests). */
  refresh(): Promise<void>;
  /** Current counts, for tests and logs. */
  counts(): { total: number; user: (user: string) => number };
}

/** The job group of a Slack user's interactive jobs (JobQueue.backlog counts per group). */
export function slackUserGroup(user: string): string {
  return `slack:${user}`;
}

/** Options of createIntakeGauge. */
export interface IntakeGaugeOptions extends IntakeLimits {
  queue: Pick<JobQueue, 'backlog'>;
  /** Job types that count (chat commands and clicks). */
  types: readonly string[];
  /** How stale the stored counts may get while requests arrive (default 500 ms). */
  refreshMs?: number;
  clock?: Pick<Clock, 'nowMs'>;
  /** Told when a refresh fails; the gauge then keeps its last counts. */
  onRefreshError?: (err: unknown) => void;
}

/** Creates the intake gauge. */
export function createIntakeGauge(options: IntakeGaugeOptions): IntakeGauge {
  const clock = options.clock ?? systemClock;
  const now = () => clock.nowMs();
  const refreshMs = options.refreshMs ?? 500;
  // Counts as last read from the store, plus jobs this process created since that read.
  let stored: Backlog = { total: 0, byGroup: new Map() };
  let createdSince = 0;
  const createdSinceBy = new Map<string, number>();
  // Admitted but not yet settled: counted, or a burst of concurrent requests would all pass one free place.
  let pending = 0;
  const pendingBy = new Map<string, number>();
  let readAt = Number.NEGATIVE_INFINITY;
  let reading: Promise<void> | undefined;
  /** Jobs finished per second, from successive reads (for "try again in N s"). */
  let drainPerS: number | undefined;

  const bump = (m: Map<string, number>, k: string, d: number) => {
    const v = (m.get(k) ?? 0) + d;
    if (v <= 0) m.delete(k);
    else m.set(k, v);
  };
  const total = () => stored.total + createdSince + pending;
  const ofUser = (user: string) => {
    const g = slackUserGroup(user);
    return (stored.byGroup.get(g) ?? 0) + (createdSinceBy.get(g) ?? 0) + (pendingBy.get(g) ?? 0);
  };

  const refresh = (): Promise<void> => {
    reading ??= (async () => {
      const started = now();
      const createdBefore = createdSince;
      const createdBeforeBy = new Map(createdSinceBy);
      try {
        const next = await options.queue.backlog(options.types);
        const elapsedS = (started - readAt) / 1000;
        if (Number.isFinite(elapsedS) && elapsedS > 0) {
          // What left the backlog since the last read: what was there, plus what came in, minus what is left.
          const finished = stored.total + createdBefore - next.total;
          if (finished > 0) {
            const rate = finished / elapsedS;
            drainPerS = drainPerS === undefined ? rate : 0.7 * drainPerS + 0.3 * rate;
          }
        }
        stored = next;
        // Jobs created while the read ran may or may not be in it; counting them again errs on the safe side
        // only until the next read.
        createdSince -= createdBefore;
        for (const [g, n] of createdBeforeBy) bump(createdSinceBy, g, -n);
        readAt = started;
      } catch (err) {
        options.onRefreshError?.(err);
        readAt = started;
      } finally {
        reading = undefined;
      }
    })();
    return reading;
  };

  const retryAfter = (over: number): number => {
    const rate = drainPerS && drainPerS > 0 ? drainPerS : undefined;
    if (!rate) return 5;
    return Math.min(60, Math.max(1, Math.ceil(over / rate)));
  };

  return {
    admit(user) {
      if (now() - readAt >= refreshMs) void refresh();
      const all = total();
      if (all >= options.maxQueued)
        return { ok: false, scope: 'global', retryAfterS: retryAfter(all - options.maxQueued + 1) };
      const mine = ofUser(user);
      if (mine >= options.maxPerUser)
        // One user's jobs drain at about their share of the rate; the global rate is an optimistic bound.
        return { ok: false, scope: 'user', retryAfterS: retryAfter(mine - options.maxPerUser + 1) };
      const g = slackUserGroup(user);
      pending += 1;
      bump(pendingBy, g, 1);
      let settled = false;
      return {
        ok: true,
        settle(created) {
          if (settled) return;
          settled = true;
          pending -= 1;
          bump(pendingBy, g, -1);
          if (created) {
            createdSince += 1;
            bump(createdSinceBy, g, 1);
          }
        },
      };
    },
    refresh,
    counts: () => ({ total: total(), user: ofUser }),
  };
}

/** The ephemeral answer to a refused request. */
export function busyMessage(refusal: IntakeRefusal): Message {
  const who =
    refusal.scope === 'user'
      ? 'You have many commands and clicks waiting already.'
      : 'Arbiter has many commands and clicks waiting.';
  return notice(
    'Arbiter is busy',
    `${who} Busy, try again in ${refusal.retryAfterS} s. Nothing was recorded for this one.`,
  );
}

/** The ephemeral answer when the store cannot record a request (disk full, store down). */
export function cannotAcceptMessage(reason: string, ref: string): Message {
  return notice(
    'Arbiter cannot accept this now',
    `Nothing was recorded: ${reason}. Try again in a minute; if it persists, tell an admin (reference ${ref}).`,
  );
}
