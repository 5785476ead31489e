// Sampling strategies: which of a tick's new items get scored. Pure and deterministic given a seed.
import { createHash } from 'node:crypto';
import { mulberry32 } from '../config/index.ts';
import type { SampleSpec } from './schema.ts';

/** What sampling needs from an item: its id and when it happened (ms since epoch). */
export interface Sampleable {
  id: string;
  time: number;
}

/** A value in [0, 1) from the hash of a string: the same id always lands on the same side of a rate. */
export function hashUnit(key: string): number {
  const h = createHash('sha256').update(key).digest();
  return h.readUInt32BE(0) / 2 ** 32;
}

const byTime = <T extends Sampleable>(a: T, b: T) =>
  a.time - b.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Picks the items to score; `seed` drives `random` (the tick time, so a replayed tick picks the same items). */
export function sampleItems<T extends Sampleable>(items: readonly T[], spec: SampleSpec, seed = 0): T[] {
  switch (spec.strategy) {
    case 'all':
      return [...items];
    case 'most-recent':
      return [...items].sort(byTime).slice(-spec.n).reverse();
    case 'oldest':
      return [...items].sort(byTime).slice(0, spec.n);
    case 'deterministic':
      return items.filter((i) => hashUnit(i.id) < spec.rate);
    case 'random': {
      const rand = mulberry32(spec.seed ?? seed);
      if (spec.rate !== undefined) return items.filter(() => rand() < spec.rate!);
      // Partial Fisher–Yates over a copy sorted by id, so input order does not change the pick.
      const pool = [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const n = Math.min(spec.n ?? pool.length, pool.length);
      for (let i = 0; i < n; i++) {
        const j = i + Math.floor(rand() * (pool.length - i));
        [pool[i], pool[j]] = [pool[j]!, pool[i]!];
      }
      return pool.slice(0, n);
    }
  }
}
