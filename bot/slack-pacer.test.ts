import { describe, expect, it } from 'vitest';
import { createManualClock } from '../config/runtime.ts';
import { createChannelPacer } from './slack-pacer.ts';

describe('channel pacer', () => {
  it('lets a burst through, then one message per second per channel, in order; other channels do not wait', async () => {
    const clock = createManualClock();
    const start = clock.nowMs();
    const pacer = createChannelPacer({ perSecond: 1, burst: 3, clock });
    const granted: [string, number][] = [];
    const waits = [
      ...Array.from({ length: 6 }, (_, i) =>
        pacer.wait('C1').then(() => granted.push([`C1#${i}`, clock.nowMs() - start])),
      ),
      pacer.wait('C2').then(() => granted.push(['C2#0', clock.nowMs() - start])),
    ];
    await Promise.all(waits);
    const c1 = granted.filter(([k]) => k.startsWith('C1'));
    expect(c1.map(([k]) => k)).toEqual(['C1#0', 'C1#1', 'C1#2', 'C1#3', 'C1#4', 'C1#5']);
    expect(c1.map(([, t]) => Math.round(t))).toEqual([0, 0, 0, 1000, 2000, 3000]);
    expect(granted.find(([k]) => k === 'C2#0')![1]).toBe(0);
  });

  it('refills while idle: after a quiet spell the burst is available again', async () => {
    const clock = createManualClock();
    const pacer = createChannelPacer({ perSecond: 1, burst: 2, clock });
    for (let i = 0; i < 4; i++) await pacer.wait('C1');
    expect(clock.sleeps.map(Math.round)).toEqual([1000, 1000]);
    clock.advance(10_000);
    await pacer.wait('C1');
    await pacer.wait('C1');
    expect(clock.sleeps).toHaveLength(2);
  });

  it('refuses nonsensical settings', () => {
    const clock = createManualClock();
    expect(() => createChannelPacer({ perSecond: 0, burst: 1, clock })).toThrow(/perSecond/);
    expect(() => createChannelPacer({ perSecond: 1, burst: 0, clock })).toThrow(/burst/);
  });
});
