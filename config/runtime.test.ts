import { describe, expect, it } from 'vitest';
import { createWakeableSleep } from './runtime.ts';

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
