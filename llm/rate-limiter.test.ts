import { createManualClock } from '../config/runtime.ts';
import { describe, expect, it } from 'vitest';
import { createLlm } from './create-llm.ts';
import { createRateLimiter } from './rate-limiter.ts';
import { retryDelay } from './retry.ts';
import { createScriptedProvider } from './testing.ts';

describe('rate limiter', () => {
  it('with no limits never waits', async () => {
    const clock = createManualClock();
    const l = createRateLimiter({ requestsPerMinute: 0, tokensPerMinute: 0 }, clock);
    await Promise.all(Array.from({ length: 100 }, () => l.acquire(10_000)));
    expect(clock.sleeps).toEqual([]);
  });

  it('spaces requests evenly: 600/min → one every 100 ms, in order', async () => {
    const clock = createManualClock();
    const start = clock.nowMs();
    const l = createRateLimiter({ requestsPerMinute: 600, tokensPerMinute: 0 }, clock);
    const granted: [number, number][] = [];
    await Promise.all(
      Array.from({ length: 5 }, (_, i) => l.acquire(1).then(() => granted.push([i, clock.nowMs() - start]))),
    );
    expect(granted).toEqual([
      [0, 0],
      [1, 100],
      [2, 200],
      [3, 300],
      [4, 400],
    ]);
  });

  it('no 10-second window exceeds the limit', async () => {
    const clock = createManualClock();
    const l = createRateLimiter({ requestsPerMinute: 1200, tokensPerMinute: 0 }, clock);
    const times: number[] = [];
    await Promise.all(Array.from({ length: 500 }, () => l.acquire(1).then(() => times.push(clock.nowMs()))));
    let worst = 0;
    for (let i = 0; i < times.length; i++) {
      let j = i;
      while (j < times.length && times[j]! < times[i]! + 10_000) j++;
      worst = Math.max(worst, j - i);
    }
    expect(worst).toBeLessThanOrEqual(200);
    expect(worst).toBeGreaterThanOrEqual(199);
  });

  it('limits tokens per minute, charging the real usage after the call', async () => {
    const clock = createManualClock();
    const start = clock.nowMs();
    // 6,000 tokens/min = 100 per second, bucket of 100
    const l = createRateLimiter({ requestsPerMinute: 0, tokensPerMinute: 6000 }, clock);
    await l.acquire(100);
    expect(clock.nowMs() - start).toBe(0);
    l.settle(100, 600); // the call used 600: the bucket is 500 in debt
    await l.acquire(100);
    // 500 debt + 100 needed at 0.1 token/ms = 6 s
    expect(clock.nowMs() - start).toBeCloseTo(6000, 0);
  });

  it('a request bigger than the bucket waits for a full bucket rather than forever', async () => {
    const clock = createManualClock();
    const l = createRateLimiter({ requestsPerMinute: 0, tokensPerMinute: 60 }, clock);
    await l.acquire(1);
    await l.acquire(10_000);
    expect(clock.nowMs()).toBeGreaterThan(0);
  });

  it('an aborted waiter leaves the queue', async () => {
    const clock = createManualClock();
    const l = createRateLimiter(
      { requestsPerMinute: 1, tokensPerMinute: 0 },
      { nowMs: clock.nowMs, sleep: () => new Promise(() => {}) },
    );
    await l.acquire(1);
    const ac = new AbortController();
    const waiting = l.acquire(1, ac.signal);
    expect(l.waiting).toBe(1);
    ac.abort(new Error('gave up'));
    await expect(waiting).rejects.toThrow('gave up');
    expect(l.waiting).toBe(0);
  });
});

describe('retry delay', () => {
  const options = {
    maxRetries: 5,
    baseDelayMs: 500,
    maxDelayMs: 4000,
    maxRetryAfterMs: 60_000,
    budgetMs: 60_000,
  };
  it.each([
    [1, 0, 250],
    [1, 1, 500],
    [2, 0, 500],
    [3, 0.5, 1500],
    [5, 1, 4000], // capped
    [9, 0, 2000],
  ])('retry %i with random %d waits %d ms', (retry, r, expected) => {
    expect(retryDelay(retry, options, () => r)).toBe(expected);
  });

  it('honours retry-after, adding at most 10% (and 1 s) of jitter', () => {
    expect(retryDelay(1, options, () => 0, 2000)).toBe(2000);
    expect(retryDelay(1, options, () => 1, 2000)).toBe(2200);
    expect(retryDelay(1, options, () => 1, 30_000)).toBe(31_000);
  });
});

describe('rate limits in the wrapper', () => {
  it('queues calls to a limited provider and leaves others alone', async () => {
    const clock = createManualClock();
    const slow = createScriptedProvider('slow', [{ text: 'ok' }]);
    const fast = createScriptedProvider('fast', [{ text: 'ok' }]);
    const llm = createLlm({
      providers: { slow: slow.provider, fast: fast.provider },
      settings: { cache: false, limits: { slow: { requestsPerMinute: 60, tokensPerMinute: 0 } } },
      clock,
    });
    const start = clock.nowMs();
    await Promise.all(
      Array.from({ length: 3 }, (_, i) =>
        llm.complete({ model: 'slow:m', messages: [{ role: 'user', content: `q${i}` }] }),
      ),
    );
    expect(clock.nowMs() - start).toBe(2000);
    const before = clock.nowMs();
    await Promise.all(
      Array.from({ length: 3 }, (_, i) =>
        llm.complete({ model: 'fast:m', messages: [{ role: 'user', content: `q${i}` }] }),
      ),
    );
    expect(clock.nowMs()).toBe(before);
  });
});
