// A run's concurrency limit, as permits for target calls. `concurrency: 16` means at most 16 requests to the
// target at once, the thing a team sizes to protect its agent or its provider quota. Everything else an item does
// (starting its graph, scoring, storing its result) holds no permit, so while one item is being scored the next
// one's request is already on its way instead of waiting for a free lane.
import type { Target, TargetRequest, TargetResponse } from './targets.ts';

/** A counting semaphore: at most `size` holders at once, waiters served first come, first served. */
export class Permits {
  private free: number;
  private readonly waiting: { grant: () => void; onAbort?: () => void }[] = [];
  private held = 0;
  private peak = 0;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1)
      throw new Error(`permits: size must be a positive integer, got ${size}`);
    this.free = size;
  }

  /** Waits for a permit. Rejects with the signal's reason if it aborts first (the place in line is given up). */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.free > 0) {
      this.free -= 1;
      this.take();
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: (typeof this.waiting)[number] = {
        grant: () => {
          if (waiter.onAbort) signal?.removeEventListener('abort', waiter.onAbort);
          this.take();
          resolve();
        },
      };
      if (signal) {
        waiter.onAbort = () => {
          const i = this.waiting.indexOf(waiter);
          if (i !== -1) this.waiting.splice(i, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiting.push(waiter);
    });
  }

  /** Returns a permit: the longest waiter gets it, or it goes back to the pool. */
  release(): void {
    if (this.held === 0) throw new Error('permits: release without a matching acquire');
    this.held -= 1;
    const next = this.waiting.shift();
    if (next) next.grant();
    else this.free += 1;
  }

  /** Permits held now. */
  get inUse(): number {
    return this.held;
  }

  /** The most permits ever held at once. */
  get maxInUse(): number {
    return this.peak;
  }

  private take() {
    this.held += 1;
    if (this.held > this.peak) this.peak = this.held;
  }
}

/** The target with every call holding one of `permits` for as long as the request is in flight. */
export function limitTarget(target: Target, permits: Permits): Target {
  return {
    type: target.type,
    recorded: target.recorded,
    async respond(req: TargetRequest): Promise<TargetResponse> {
      await permits.acquire(req.signal);
      try {
        return await target.respond(req);
      } finally {
        permits.release();
      }
    },
  };
}
