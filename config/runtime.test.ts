import { describe, expect, it } from 'vitest';
import { createManualClock, createWakeableSleep, systemClock } from './runtime.ts';

describe('createWakeableSleep', () => {
  it('resolves at once on wake, and after its time otherwise', async () => {
    const { sleep, wake } = createWakeableSleep();
    const started = Date.now();
    const long = sleep(10_000);
    wake();
    await long;
    expect(Date.now() - started).toBeLessThan(1000);
    const t0 = Date.now();
    await sleep(30);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25);
    wake(); // nothing pending: no effect
  });
});

describe('the one Clock', () => {
  it('the manual clock moves now and nowMs together, and sleep advances it at once, recording the wait', async () => {
    const clock = createManualClock('2026-03-01T00:00:00Z');
    const t0 = clock.nowMs();
    expect(clock.now().toISOString()).toBe('2026-03-01T00:00:00.000Z');
    await clock.sleep(1500);
    clock.advance(500);
    expect(clock.nowMs() - t0).toBe(2000);
    expect(clock.now().toISOString()).toBe('2026-03-01T00:00:02.000Z');
    expect(clock.sleeps).toEqual([1500]);
    const aborted = new AbortController();
    aborted.abort(new Error('stop'));
    await expect(clock.sleep(10, aborted.signal)).rejects.toThrow('stop');
  });

  it('the system clock sleeps for real and rejects with the reason when aborted', async () => {
    const t0 = systemClock.nowMs();
    expect(Math.abs(systemClock.now().getTime() - t0)).toBeLessThan(50);
    await systemClock.sleep(20);
    expect(systemClock.nowMs() - t0).toBeGreaterThanOrEqual(15);
    const controller = new AbortController();
    const pending = systemClock.sleep(10_000, controller.signal);
    controller.abort(new Error('shutdown'));
    await expect(pending).rejects.toThrow('shutdown');
  });
});
