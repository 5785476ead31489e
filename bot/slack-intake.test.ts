import { afterEach, describe, expect, it } from 'vitest';
import { createJobQueue, type DocumentStore, type JobQueue } from '../storage/index.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { busyMessage, createIntakeGauge, slackUserGroup } from './slack-intake.ts';

describe('intake gauge', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup(): Promise<{ store: DocumentStore; queue: JobQueue }> {
    const { dir, cleanup } = tempDir();
    const store = await createEmbeddedStore({ dir, autocompactMs: 0 });
    cleanups.push(cleanup, () => store.close());
    return { store, queue: await createJobQueue(store) };
  }

  it('refuses past the per-user cap and the global cap, counting reservations not yet settled', async () => {
    const { queue } = await setup();
    let t = 0;
    const gauge = createIntakeGauge({
      queue,
      types: ['chat.command'],
      maxQueued: 5,
      maxPerUser: 2,
      refreshMs: 1000,
      clock: { nowMs: () => t },
    });
    await gauge.refresh();
    const a1 = gauge.admit('UA');
    const a2 = gauge.admit('UA');
    // Two concurrent requests of UA are in flight: a third is refused before either is settled.
    expect(a1.ok && a2.ok).toBe(true);
    expect(gauge.admit('UA')).toMatchObject({ ok: false, scope: 'user' });
    if (a1.ok) a1.settle(false); // a redelivery: nothing created, the place is free again
    const a3 = gauge.admit('UA');
    expect(a3.ok).toBe(true);
    const others = ['UB', 'UB', 'UC'].map((u) => gauge.admit(u));
    expect(others.every((o) => o.ok)).toBe(true);
    expect(gauge.counts().total).toBe(5);
    expect(gauge.admit('UD')).toMatchObject({ ok: false, scope: 'global', retryAfterS: 5 });
    for (const o of [a2, a3, ...others]) if (o.ok) o.settle(true);
    expect(gauge.counts().total).toBe(5);
    expect(gauge.counts().user('UA')).toBe(2);
    t += 2000;
    // Stale: the next admit reads the store, which holds none of these (nothing was really enqueued).
    await gauge.refresh();
    expect(gauge.counts().total).toBe(0);
  });

  it('counts what the store holds (another process, an earlier run), and estimates the wait from the drain', async () => {
    const { queue } = await setup();
    let t = 0;
    const gauge = createIntakeGauge({
      queue,
      types: ['chat.command'],
      maxQueued: 4,
      maxPerUser: 10,
      refreshMs: 1000,
      clock: { nowMs: () => t },
    });
    const ids: string[] = [];
    for (let i = 0; i < 10; i++)
      ids.push((await queue.enqueue({ type: 'chat.command', group: slackUserGroup(`U${i % 2}`) })).job._id);
    await gauge.refresh();
    expect(gauge.counts().total).toBe(10);
    expect(gauge.counts().user('U0')).toBe(5);
    // 5 jobs finish in 1 s: 5 jobs/s.
    for (const _ of ids.slice(0, 5)) {
      const job = (await queue.claim('w', 60_000))!;
      await queue.complete(job._id, 'w');
    }
    t += 1000;
    await gauge.refresh();
    expect(gauge.counts().total).toBe(5);
    const refused = gauge.admit('U9');
    expect(refused).toMatchObject({ ok: false, scope: 'global' });
    // Two over the cap at 5 jobs/s: try again in 1 s.
    if (!refused.ok) expect(refused.retryAfterS).toBe(1);
    expect(busyMessage({ scope: 'global', retryAfterS: 3 }).sections).toBeDefined();
    expect(JSON.stringify(busyMessage({ scope: 'user', retryAfterS: 3 }))).toMatch(/try again in 3 s/);
  });
});
