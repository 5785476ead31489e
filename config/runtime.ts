import { randomBytes } from 'node:crypto';

/**
 * The one source of time. Domain code reads `now()` (a Date); time arithmetic, pacing, back-off and breakers read
 * `nowMs()` and wait with `sleep`, so tests drive minutes of waiting in microseconds. A consumer that needs only
 * part of it takes `Pick<Clock, …>`, e.g. `Pick<Clock, 'nowMs' | 'sleep'>` for the LLM wrapper's stages.
 */
export interface Clock {
  /** The current time. */
  now(): Date;
  /** The current time in epoch milliseconds (fractional allowed). */
  nowMs(): number;
  /** Resolves after `ms`; rejects with the signal's reason if the signal aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** An abortable setTimeout. */
function realSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The wall clock, for production: sub-millisecond epoch time and setTimeout. */
export const systemClock: Clock = {
  now: () => new Date(),
  nowMs: () => performance.timeOrigin + performance.now(),
  sleep: realSleep,
};

/** A clock tests move by hand; `sleep` advances time at once (after what is already runnable) and records each wait. */
export function createManualClock(start: Date | string | number = '2026-01-01T00:00:00Z') {
  let current = new Date(start).getTime();
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => new Date(current),
    nowMs: () => current,
    async sleep(ms: number, signal?: AbortSignal) {
      if (signal?.aborted) throw signal.reason;
      sleeps.push(ms);
      // Let everything already runnable finish at the current time before time jumps, as it would for real.
      await new Promise<void>((resolve) => setImmediate(resolve));
      current += Math.max(0, ms);
    },
    set(to: Date | string | number) {
      current = new Date(to).getTime();
    },
    advance(ms: number) {
      current += ms;
    },
  } satisfies Clock & Record<string, unknown>;
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
