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
  status: z.enum(['running', 'succeeded', 'failed']),
  finishedAt: z.date().optional(),
  error: z.string().optional(),
  summary: z.unknown().optional(),
});
export type Tick = z.infer<typeof TickSchema>;

const LeaseSchema = z.object({ _id: z.string(), owner: z.string(), expiresAt: z.date() });
type LeaseDoc = z.infer<typeof LeaseSchema>;

/** Cron-tick claims and expiring named leases, shared by every replica through the store. */
export interface Leases {
  /** True for exactly one caller per (name, tickTime), across processes and restarts. */
  tryAcquire(name: string, tickTime: Date, owner: string): Promise<boolean>;
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

/** Opens the `ticks` and `leases` collections. */
export async function createLeases(store: DocumentStore, options: { clock?: Clock } = {}): Promise<Leases> {
  const clock = options.clock ?? systemClock;
  const ticks = await store.collection<Tick>('ticks', [{ fields: { name: 1, tickTime: -1 } }]);
  const leases = await store.collection<LeaseDoc>('leases');

  return {
    async tryAcquire(name, tickTime, owner) {
      try {
        await ticks.insertOne({
          _id: tickId(name, tickTime),
          name,
          tickTime,
          owner,
          acquiredAt: clock.now(),
          status: 'running',
        });
        return true;
      } catch (err) {
        if (err instanceof ArbiterError && err.code === 'STORE_DUPLICATE_KEY') return false;
        throw err;
      }
    },
    async finishTick(name, tickTime, outcome) {
      await ticks.updateOne(
        { _id: tickId(name, tickTime) },
        {
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
}
