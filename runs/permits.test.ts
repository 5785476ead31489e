import { describe, expect, it } from 'vitest';
import { limitTarget, Permits } from './permits.ts';
import type { Target } from './targets.ts';

const tick = () => new Promise((r) => setImmediate(r));

describe('Permits', () => {
  it('never lets more than `size` holders in, and serves waiters first come, first served', async () => {
    const permits = new Permits(2);
    const order: number[] = [];
    const holders = Array.from({ length: 6 }, (_, i) =>
      permits.acquire().then(() => {
        order.push(i);
      }),
    );
    await tick();
    expect(order).toEqual([0, 1]);
    expect(permits.inUse).toBe(2);
    permits.release();
    await tick();
    expect(order).toEqual([0, 1, 2]);
    for (let i = 0; i < 5; i++) {
      permits.release();
      await tick();
    }
    await Promise.all(holders);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
    expect(permits.maxInUse).toBe(2);
    expect(permits.inUse).toBe(0);
  });

  it('a waiter whose signal aborts rejects with its reason and gives up its place', async () => {
    const permits = new Permits(1);
    await permits.acquire();
    const controller = new AbortController();
    const aborted = permits.acquire(controller.signal);
    const next = permits.acquire();
    controller.abort(new Error('cancelled'));
    await expect(aborted).rejects.toThrow('cancelled');
    permits.release();
    await next; // the permit went to the next waiter, not to the aborted one
    expect(permits.inUse).toBe(1);
    await expect(permits.acquire(controller.signal)).rejects.toThrow('cancelled');
  });

  it('refuses a size below 1 and a release without an acquire', () => {
    expect(() => new Permits(0)).toThrow(/positive integer/);
    expect(() => new Permits(1).release()).toThrow(/without a matching acquire/);
  });
});

describe('limitTarget', () => {
  it('holds a permit for exactly the duration of each call, failed calls included', async () => {
    const permits = new Permits(2);
    let inFlight = 0;
    let peak = 0;
    const target: Target = {
      type: 'fake',
      recorded: false,
      async respond(req) {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        expect(permits.inUse).toBeLessThanOrEqual(2);
        await new Promise((r) => setTimeout(r, 5));
        inFlight -= 1;
        if (req.turn === 3) throw new Error('boom');
        return { ok: true, text: 'x', latencyMs: 5 };
      },
    };
    const limited = limitTarget(target, permits);
    expect(limited.type).toBe('fake');
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        limited.respond({
          item: { key: `k${i}`, row: i + 1, input: 'q' },
          transcript: [],
          turn: i,
          conversationId: `c${i}`,
        }),
      ),
    );
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    expect(peak).toBe(2);
    expect(permits.inUse).toBe(0);
  });
});
