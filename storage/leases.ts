import { z } from 'zod';
import { ArbiterError, type Clock, systemClock } from '../config/index.ts';
import type { DocumentStore } from './port.ts';

/** A claimed cron tick: exactly one replica inserts it. */
export const TickSchema = z.object({
  _id: z.string(),
  name: z.string(),
  tickTime: z.date(),
  owner: z.string(),
  acquiredAt: z.date(),
  /** While running: when the claim lapses unless its holder renews it (absent on claims without a TTL). */
  expiresAt: z.date().optional(),
  status: z.enum(['running', 'succeeded', 'failed']),
  finishedAt: z.date().optional(),
  error: z.string().optional(),
  summary: z.unknown().optional(),
});
export type Tick = z.infer<typeof TickSchema>;

const LeaseSchema = z.object({ _id: z.string(), owner: z.string(), expiresAt: z.date() });
type LeaseDoc = z.infer<typeof LeaseSchema>;

/** Default TTL of held leases and tick claims: a crashed holder is replaced within this (plus a wake-up). */
export const DEFAULT_LEASE_TTL_MS = 30_000;

/** A lease (or tick claim) held by a heartbeat that renews it every third of its TTL until released. */
export interface LeaseHold {
  /** Aborted when a renewal finds the lease taken by someone else (the holder should stop). */
  readonly signal: AbortSignal;
  /** Renews now; throws JOB_LEASE_LOST when the lease is no longer ours. */
  renew(): Promise<void>;
  /** Stops the heartbeat (and deletes a named lease); a tick claim stays, for finishTick. */
  release(): Promise<void>;
}

/** Options of a held lease. */
export interface HoldOptions {
  /**
   * The heartbeat stops after this long (real time), so a holder stuck in a call that never returns loses the lease
   * like a crashed one would; default: renew until released.
   */
  maxHoldMs?: number;
}

/** Cron-tick claims and expiring named leases, shared by every replica through the store. */
export interface Leases {
  /**
   * True for exactly one caller per (name, tickTime), across processes and restarts. With `ttlMs`, the claim lapses
   * unless renewed (see holdTick): a running tick whose holder stopped renewing is taken over by the next caller.
   */
  tryAcquire(name: string, tickTime: Date, owner: string, ttlMs?: number): Promise<boolean>;
  /** Extends a running tick claim of `owner`; false when it is not (or no longer) ours. */
  renewTick(name: string, tickTime: Date, owner: string, ttlMs: number): Promise<boolean>;
  /** Claims a tick (tryAcquire with a TTL) and keeps the claim alive by heartbeat; null if someone else holds it. */
  holdTick(
    name: string,
    tickTime: Date,
    owner: string,
    ttlMs?: number,
    options?: HoldOptions,
  ): Promise<LeaseHold | null>;
  /** Takes a named lease (acquire) and keeps it alive by heartbeat; null while another owner holds it. */
  hold(name: string, owner: string, ttlMs?: number, options?: HoldOptions): Promise<LeaseHold | null>;
  /** Records how a claimed tick ended. */
  finishTick(
    name: string,
    tickTime: Date,
    outcome: { ok: boolean; error?: string; summary?: unknown },
  ): Promise<void>;
  /** The latest claimed tick of a schedule (for catch-up after downtime). */
  lastTick(name: string): Promise<Tick | null>;
  /** Takes or renews an expiring lease; false while another owner holds it. */
  acquire(name: string, owner: string, ttlMs: number): Promise<boolean>;
  release(name: string, owner: string): Promise<boolean>;
  holder(name: string): Promise<{ owner: string; expiresAt: Date } | null>;
}

function tickId(name: string, tickTime: Date): string {
  return `${name}@${tickTime.toISOString()}`;
}

/**
 * Keeps a lease alive: `renewOnce` every third of the TTL (real timers, unref'd so a held lease never keeps a process
 * up). A renewal that says "not ours" aborts the signal; one that fails (store down) is retried at the next beat.
 */
function heartbeat(
  what: string,
  ttlMs: number,
  renewOnce: () => Promise<boolean>,
  onRelease: () => Promise<unknown>,
  options: HoldOptions = {},
): LeaseHold {
  const controller = new AbortController();
  const stopAt = options.maxHoldMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.maxHoldMs;
  const lost = () => {
    if (!controller.signal.aborted)
      controller.abort(new ArbiterError('JOB_LEASE_LOST', `Lost the lease on ${what} to another replica.`));
  };
  const renew = async () => {
    if (controller.signal.aborted) throw controller.signal.reason;
    if (!(await renewOnce())) {
      lost();
      throw controller.signal.reason;
    }
  };
  const timer = setInterval(
    () => {
      if (Date.now() >= stopAt) {
        clearInterval(timer);
        return;
      }
      renew().catch(() => undefined);
    },
    Math.max(10, Math.floor(ttlMs / 3)),
  );
  timer.unref?.();
  let released = false;
  return {
    signal: controller.signal,
    renew,
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await onRelease();
    },
  };
}

/** Opens the `ticks` and `leases` collections. */
export async function createLeases(store: DocumentStore, options: { clock?: Clock } = {}): Promise<Leases> {
  const clock = options.clock ?? systemClock;
  const ticks = await store.collection<Tick>('ticks', [{ fields: { name: 1, tickTime: -1 } }]);
  const leases = await store.collection<LeaseDoc>('leases');

  const api: Leases = {
    async tryAcquire(name, tickTime, owner, ttlMs) {
      const now = clock.now();
      const expiresAt = ttlMs === undefined ? undefined : new Date(now.getTime() + ttlMs);
      try {
        await ticks.insertOne({
          _id: tickId(name, tickTime),
          name,
          tickTime,
          owner,
          acquiredAt: now,
          ...(expiresAt ? { expiresAt } : {}),
          status: 'running',
        });
        return true;
      } catch (err) {
        if (!(err instanceof ArbiterError && err.code === 'STORE_DUPLICATE_KEY')) throw err;
      }
      // Claimed before: take it over only if it is still running and its holder stopped renewing it (crashed).
      if (!expiresAt) return false;
      const taken = await ticks.findOneAndUpdate(
        { _id: tickId(name, tickTime), status: 'running', expiresAt: { $lte: now } },
        { $set: { owner, acquiredAt: now, expiresAt } },
      );
      return taken?.owner === owner;
    },
    async renewTick(name, tickTime, owner, ttlMs) {
      const res = await ticks.updateOne(
        { _id: tickId(name, tickTime), owner, status: 'running' },
        { $set: { expiresAt: new Date(clock.now().getTime() + ttlMs) } },
      );
      return res.matched === 1;
    },
    async holdTick(name, tickTime, owner, ttlMs = DEFAULT_LEASE_TTL_MS, options = {}) {
      if (!(await api.tryAcquire(name, tickTime, owner, ttlMs))) return null;
      return heartbeat(
        `tick ${tickId(name, tickTime)}`,
        ttlMs,
        () => api.renewTick(name, tickTime, owner, ttlMs),
        async () => undefined,
        options,
      );
    },
    async hold(name, owner, ttlMs = DEFAULT_LEASE_TTL_MS, options = {}) {
      if (!(await api.acquire(name, owner, ttlMs))) return null;
      return heartbeat(
        name,
        ttlMs,
        () => api.acquire(name, owner, ttlMs),
        () => api.release(name, owner).catch(() => false),
        options,
      );
    },
    async finishTick(name, tickTime, outcome) {
      await ticks.updateOne(
        { _id: tickId(name, tickTime) },
        {
          $unset: { expiresAt: true as const },
          $set: {
            status: outcome.ok ? 'succeeded' : 'failed',
            finishedAt: clock.now(),
            ...(outcome.error ? { error: outcome.error } : {}),
            ...(outcome.summary === undefined ? {} : { summary: outcome.summary }),
          },
        },
      );
    },
    async lastTick(name) {
      const doc = await ticks.findOne({ name }, { sort: { tickTime: -1 } });
      return doc ? TickSchema.parse(doc) : null;
    },
    async acquire(name, owner, ttlMs) {
      const now = clock.now();
      try {
        const doc = await leases.findOneAndUpdate(
          { _id: name, $or: [{ expiresAt: { $lte: now } }, { owner }] },
          { $set: { owner, expiresAt: new Date(now.getTime() + ttlMs) } },
          { upsert: true },
        );
        return doc?.owner === owner;
      } catch (err) {
        // The lease exists and is held: the upsert collided with it on _id.
        if (err instanceof ArbiterError && err.code === 'STORE_DUPLICATE_KEY') return false;
        throw err;
      }
    },
    async release(name, owner) {
      return (await leases.deleteOne({ _id: name, owner })) === 1;
    },
    async holder(name) {
      const doc = await leases.findOne({ _id: name, expiresAt: { $gt: clock.now() } });
      if (!doc) return null;
      const lease = LeaseSchema.parse(doc);
      return { owner: lease.owner, expiresAt: lease.expiresAt };
    },
  };
  return api;
}
