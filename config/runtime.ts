import { randomBytes } from 'node:crypto';

/** Source of the current time; domain code takes `now` from here so tests can drive time. */
export interface Clock {
  now(): Date;
}

/** The wall clock, for production. */
export const systemClock: Clock = { now: () => new Date() };

/** A clock tests move by hand. */
export function createManualClock(start: Date | string | number = '2026-01-01T00:00:00Z') {
  let current = new Date(start).getTime();
  return {
    now: () => new Date(current),
    set(to: Date | string | number) {
      current = new Date(to).getTime();
    },
    advance(ms: number) {
      current += ms;
    },
  };
}

/** Source of new ids; time-ordered so ids sort by creation. */
export interface Ids {
  newId(prefix?: string): string;
}

let lastMs = 0;
let seq = 0;
// Random bytes come from a pool refilled 4 KiB at a time: one randomBytes(5) per id occasionally stalled the event
// loop for tens of milliseconds under load (measured in the Slack ack benchmark).
const POOL_SIZE = 4096;
let pool = Buffer.alloc(0);
let poolAt = POOL_SIZE;
function randomHex4(): string {
  if (poolAt + 4 > pool.length) {
    pool = randomBytes(POOL_SIZE);
    poolAt = 0;
  }
  const hex = pool.toString('hex', poolAt, poolAt + 4);
  poolAt += 4;
  return hex;
}

/** Time-sortable ids: 9 base36 chars of milliseconds, a 4-char sequence, 8 random chars. */
export const systemIds: Ids = {
  newId(prefix?: string) {
    const ms = Date.now();
    if (ms === lastMs) seq += 1;
    else {
      lastMs = ms;
      seq = 0;
    }
    const id =
      ms.toString(36).padStart(9, '0') + (seq % 36 ** 4).toString(36).padStart(4, '0') + randomHex4();
    return prefix ? `${prefix}_${id}` : id;
  },
};

/** Ids counted from 1, for tests that assert on ids. */
export function createSequentialIds(): Ids {
  let n = 0;
  return {
    newId(prefix?: string) {
      n += 1;
      const id = String(n).padStart(6, '0');
      return prefix ? `${prefix}_${id}` : id;
    },
  };
}

/**
 * A small seeded PRNG (mulberry32): uniform doubles in [0, 1), the same stream for the same seed on every machine,
 * so samples, bootstrap intervals and benchmark inputs are reproducible. Not for secrets.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A pause a loop can cut short: `sleep(ms)` resolves after `ms`, or at once when `wake()` is called. */
export function createWakeableSleep(): { sleep(ms: number): Promise<void>; wake(): void } {
  let wakeUp: (() => void) | undefined;
  return {
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          wakeUp = undefined;
          resolve();
        }
        wakeUp = done;
      }),
    wake: () => wakeUp?.(),
  };
}
