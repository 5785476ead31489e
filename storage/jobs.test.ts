import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isArbiterError } from '../config/index.ts';
import { createManualClock, createSequentialIds } from '../config/runtime.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { createJobQueue, createLeases, type DocumentStore, type JobQueue } from './index.ts';
import { createEmbeddedStore } from './open.ts';

describe('job queue', () => {
  let store: DocumentStore;
  let cleanup: () => void;
  let queue: JobQueue;
  const clock = createManualClock('2026-05-01T12:00:00Z');

  beforeEach(async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    store = await createEmbeddedStore({ dir: t.dir, autocompactMs: 0 });
    clock.set('2026-05-01T12:00:00Z');
    queue = await createJobQueue(store, {
      clock,
      ids: createSequentialIds(),
      defaultMaxAttempts: 3,
      backoffBaseMs: 1000,
    });
  });
  afterEach(async () => {
    await store.close();
    cleanup();
  });

  it('the same idempotency key enqueues once, even concurrently', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        queue.enqueue({ type: 'run', payload: { suite: 'a' }, idempotencyKey: 'slack:trigger:1' }),
      ),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.job._id)).size).toBe(1);
    expect(await queue.list()).toHaveLength(1);
    const other = await queue.enqueue({
      type: 'run',
      payload: { suite: 'a' },
      idempotencyKey: 'slack:trigger:2',
    });
    expect(other.created).toBe(true);
  });

  it('claims due jobs in runAt order, never a future one, and counts attempts', async () => {
    await queue.enqueue({ type: 'a', payload: 1, runAt: new Date('2026-05-01T12:00:05Z') });
    await queue.enqueue({ type: 'a', payload: 2 });
    const first = await queue.claim('w1', 10_000);
    expect(first).toMatchObject({ payload: 2, status: 'running', attempts: 1, leaseOwner: 'w1' });
    expect(await queue.claim('w1', 10_000)).toBeNull();
    clock.advance(5000);
    expect((await queue.claim('w2', 10_000))?.payload).toBe(1);
  });

  it('claims only the requested types', async () => {
    await queue.enqueue({ type: 'digest' });
    expect(await queue.claim('w', 1000, ['run'])).toBeNull();
    expect((await queue.claim('w', 1000, ['run', 'digest']))?.type).toBe('digest');
  });

  it('a job held by a crashed worker is retried after its lease expires', async () => {
    const { job } = await queue.enqueue({ type: 'a' });
    expect((await queue.claim('crashed', 30_000))?._id).toBe(job._id);
    clock.advance(29_999);
    expect(await queue.claim('rescuer', 30_000)).toBeNull();
    clock.advance(1);
    const again = await queue.claim('rescuer', 30_000);
    expect(again).toMatchObject({ _id: job._id, attempts: 2, leaseOwner: 'rescuer' });
    // The crashed worker comes back: it no longer owns the job and cannot complete it.
    expect(await queue.complete(job._id, 'crashed')).toBe(false);
    expect(await queue.heartbeat(job._id, 'crashed', 1000)).toBe('lost');
    expect(await queue.complete(job._id, 'rescuer', { ok: 1 })).toBe(true);
    expect(await queue.get(job._id)).toMatchObject({ status: 'succeeded', result: { ok: 1 } });
  });

  it('heartbeats extend the lease', async () => {
    const { job } = await queue.enqueue({ type: 'a' });
    await queue.claim('w1', 10_000);
    clock.advance(9_000);
    expect(await queue.heartbeat(job._id, 'w1', 10_000)).toBe('ok');
    clock.advance(9_000);
    expect(await queue.claim('w2', 10_000)).toBeNull();
  });

  it('a failing job is retried with backoff, then ends failed with its last error', async () => {
    const { job } = await queue.enqueue({ type: 'a' });
    await queue.claim('w', 1000);
    expect(await queue.fail(job._id, 'w', 'boom 1')).toBe('retrying');
    expect(await queue.get(job._id)).toMatchObject({
      status: 'queued',
      lastError: 'boom 1',
      runAt: new Date('2026-05-01T12:00:01Z'),
    });
    expect(await queue.claim('w', 1000)).toBeNull();
    clock.advance(1000);
    await queue.claim('w', 1000);
    expect(await queue.fail(job._id, 'w', 'boom 2')).toBe('retrying');
    clock.advance(2000);
    await queue.claim('w', 1000);
    expect(await queue.fail(job._id, 'w', 'boom 3')).toBe('failed');
    expect(await queue.get(job._id)).toMatchObject({ status: 'failed', attempts: 3, lastError: 'boom 3' });
    clock.advance(60_000);
    expect(await queue.claim('w', 1000)).toBeNull();
  });

  it('a job whose worker dies on its last attempt ends failed instead of running forever', async () => {
    const { job } = await queue.enqueue({ type: 'a', maxAttempts: 2 });
    await queue.claim('w1', 1000);
    clock.advance(1000);
    await queue.claim('w2', 1000);
    clock.advance(1000);
    expect(await queue.claim('w3', 1000)).toBeNull();
    expect(await queue.get(job._id)).toMatchObject({ status: 'failed', attempts: 2 });
    expect((await queue.get(job._id))?.lastError).toMatch(/lease expired/);
  });

  it('non-retryable failures end at once', async () => {
    const { job } = await queue.enqueue({ type: 'a' });
    await queue.claim('w', 1000);
    expect(await queue.fail(job._id, 'w', 'bad input', { retryable: false })).toBe('failed');
    expect((await queue.get(job._id))?.attempts).toBe(1);
  });

  it('records progress for the owner only', async () => {
    const { job } = await queue.enqueue({ type: 'a' });
    await queue.claim('w', 1000);
    expect(await queue.setProgress(job._id, 'w', { done: 3, total: 10, message: 'scoring' })).toBe(true);
    expect(await queue.setProgress(job._id, 'intruder', { done: 9 })).toBe(false);
    expect((await queue.get(job._id))?.progress).toEqual({ done: 3, total: 10, message: 'scoring' });
  });

  it('release gives the job back without spending an attempt', async () => {
    const { job } = await queue.enqueue({ type: 'a' });
    await queue.claim('w', 1000);
    expect(await queue.release(job._id, 'w')).toBe(true);
    expect(await queue.get(job._id)).toMatchObject({ status: 'queued', attempts: 0 });
  });

  it('cancels queued jobs at once and asks running ones to stop', async () => {
    const queued = (await queue.enqueue({ type: 'a' })).job;
    const running = (await queue.enqueue({ type: 'a' })).job;
    await queue.claim('w', 1000);
    // Claims go in runAt order, so `queued` (enqueued first) is the running one; swap names for clarity.
    const [runningId, queuedId] = [queued._id, running._id];
    expect((await queue.cancel(queuedId)).status).toBe('cancelled');
    expect((await queue.cancel(runningId)).cancelRequested).toBe(true);
    expect(await queue.heartbeat(runningId, 'w', 1000)).toBe('cancel');
    expect(await queue.fail(runningId, 'w', 'cancelled')).toBe('failed');
    expect((await queue.get(runningId))?.status).toBe('cancelled');
    const err = await queue.cancel('nope').catch((e: unknown) => e);
    expect(isArbiterError(err, 'JOB_NOT_FOUND')).toBe(true);
  });

  it('counts the backlog of some types, in all and per group, without finished jobs', async () => {
    const a = await queue.enqueue({ type: 'chat.command', group: 'slack:U1' });
    await queue.enqueue({ type: 'chat.command', group: 'slack:U1' });
    await queue.enqueue({ type: 'chat.action', group: 'slack:U2' });
    await queue.enqueue({ type: 'run', group: 'slack:U1' });
    await queue.enqueue({ type: 'chat.command', runAt: new Date(clock.now().getTime() + 60_000) });
    expect(await queue.claim('w1', 1000, ['chat.command'])).toMatchObject({ _id: a.job._id });
    let b = await queue.backlog(['chat.command', 'chat.action']);
    // Running and scheduled jobs are still waiting for an answer; the run job is another type.
    expect(b.total).toBe(4);
    expect(Object.fromEntries(b.byGroup)).toEqual({ 'slack:U1': 2, 'slack:U2': 1 });
    await queue.complete(a.job._id, 'w1');
    b = await queue.backlog(['chat.command', 'chat.action']);
    expect(b.total).toBe(3);
    expect(b.byGroup.get('slack:U1')).toBe(1);
  });

  it('records effects on a job for its owner only, and a retry sees them', async () => {
    await queue.enqueue({ type: 'work' });
    const job = (await queue.claim('w1', 1000))!;
    expect(await queue.markEffect(job._id, 'w1', 'reply', 'started')).toBe(true);
    expect(await queue.markEffect(job._id, 'other', 'reply', 'done')).toBe(false);
    await expect(queue.markEffect(job._id, 'w1', 'a.b', 'done')).rejects.toThrow(/Invalid effect name/);
    // The worker dies; the lease expires; the next claim sees what the first attempt got to.
    clock.advance(1001);
    const again = (await queue.claim('w2', 1000))!;
    expect(again.attempts).toBe(2);
    expect(again.effects).toEqual({ reply: 'started' });
    expect(await queue.markEffect(job._id, 'w2', 'reply', 'done')).toBe(true);
    expect(await queue.markEffect(job._id, 'w2', 'other', 'started')).toBe(true);
    expect(await queue.markEffect(job._id, 'w2', 'other', undefined)).toBe(true);
    expect((await queue.get(job._id))?.effects).toEqual({ reply: 'done' });
  });

  it('rejects a bad maxAttempts', async () => {
    const err = await queue.enqueue({ type: 'a', maxAttempts: 0 }).catch((e: unknown) => e);
    expect(isArbiterError(err, 'USAGE')).toBe(true);
  });
});

describe('leases', () => {
  let store: DocumentStore;
  let cleanup: () => void;
  const clock = createManualClock('2026-05-01T12:00:00Z');

  beforeEach(async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    store = await createEmbeddedStore({ dir: t.dir, autocompactMs: 0 });
  });
  afterEach(async () => {
    await store.close();
    cleanup();
  });

  it('exactly one of many replicas acquires a cron tick', async () => {
    const leases = await createLeases(store, { clock });
    const tick = new Date('2026-05-01T12:30:00Z');
    const wins = await Promise.all(
      Array.from({ length: 8 }, (_, i) => leases.tryAcquire('monitor:checkout', tick, `replica-${i}`)),
    );
    expect(wins.filter(Boolean)).toHaveLength(1);
    expect(await leases.tryAcquire('monitor:checkout', tick, 'late')).toBe(false);
    expect(await leases.tryAcquire('monitor:checkout', new Date('2026-05-01T13:00:00Z'), 'late')).toBe(true);
    await leases.finishTick('monitor:checkout', tick, { ok: true, summary: { scored: 4 } });
    expect((await leases.lastTick('monitor:checkout'))?.tickTime).toEqual(new Date('2026-05-01T13:00:00Z'));
  });

  it('a named lease is exclusive until it expires or is released', async () => {
    const leases = await createLeases(store, { clock });
    const got = await Promise.all(['a', 'b', 'c'].map((o) => leases.acquire('digest', o, 10_000)));
    expect(got.filter(Boolean)).toHaveLength(1);
    const owner = ['a', 'b', 'c'][got.indexOf(true)]!;
    const other = owner === 'a' ? 'b' : 'a';
    expect(await leases.acquire('digest', owner, 10_000)).toBe(true);
    expect(await leases.acquire('digest', other, 10_000)).toBe(false);
    clock.advance(10_001);
    expect(await leases.holder('digest')).toBeNull();
    expect(await leases.acquire('digest', other, 10_000)).toBe(true);
    expect(await leases.release('digest', owner)).toBe(false);
    expect(await leases.release('digest', other)).toBe(true);
    expect(await leases.acquire('digest', owner, 10_000)).toBe(true);
  });

  it('a running tick claim with a TTL is taken over once its holder stops renewing, never while renewed or finished', async () => {
    const leases = await createLeases(store, { clock });
    const tick = new Date('2026-05-01T14:00:00Z');
    expect(await leases.tryAcquire('monitor:ttl', tick, 'a', 30_000)).toBe(true);
    clock.advance(20_000);
    expect(await leases.tryAcquire('monitor:ttl', tick, 'b', 30_000)).toBe(false);
    expect(await leases.renewTick('monitor:ttl', tick, 'a', 30_000)).toBe(true); // a's heartbeat
    clock.advance(20_000);
    // 40 s after the claim, but renewed 20 s ago: still a's.
    expect(await leases.tryAcquire('monitor:ttl', tick, 'b', 30_000)).toBe(false);
    clock.advance(10_001);
    // a died: its claim lapsed, exactly one of the next callers takes the tick over.
    const wins = await Promise.all(
      ['b', 'c', 'd'].map((o) => leases.tryAcquire('monitor:ttl', tick, o, 30_000)),
    );
    expect(wins.filter(Boolean)).toHaveLength(1);
    expect(await leases.renewTick('monitor:ttl', tick, 'a', 30_000)).toBe(false);
    const winner = ['b', 'c', 'd'][wins.indexOf(true)]!;
    expect(await leases.lastTick('monitor:ttl')).toMatchObject({ owner: winner, status: 'running' });
    await leases.finishTick('monitor:ttl', tick, { ok: true });
    clock.advance(60_000);
    expect(await leases.tryAcquire('monitor:ttl', tick, 'e', 30_000)).toBe(false);
    expect((await leases.lastTick('monitor:ttl'))?.expiresAt).toBeUndefined();
    // A claim made without a TTL never lapses (the old behaviour, for callers that do not renew).
    const old = new Date('2026-05-01T15:00:00Z');
    expect(await leases.tryAcquire('monitor:ttl', old, 'a')).toBe(true);
    clock.advance(3_600_000);
    expect(await leases.tryAcquire('monitor:ttl', old, 'b', 30_000)).toBe(false);
  });

  it('a held lease is renewed by its heartbeat past its TTL, and lapses when the holder stops', async () => {
    // Real time: the heartbeat runs on timers.
    const leases = await createLeases(store);
    const held = await leases.hold('digest:hb', 'a', 90);
    expect(held).not.toBeNull();
    expect(await leases.hold('digest:hb', 'b', 90)).toBeNull();
    await new Promise((r) => setTimeout(r, 300));
    // More than three TTLs later a still holds it, renewed by heartbeat.
    expect(await leases.acquire('digest:hb', 'b', 90)).toBe(false);
    expect((await leases.holder('digest:hb'))?.owner).toBe('a');
    await held!.renew();
    await held!.release();
    expect(await leases.holder('digest:hb')).toBeNull();
    // A holder stuck past maxHoldMs stops renewing, like a crashed one: the lease lapses and another takes it.
    const stuck = await leases.hold('digest:stuck', 'a', 90, { maxHoldMs: 100 });
    expect(stuck).not.toBeNull();
    await new Promise((r) => setTimeout(r, 400));
    const next = await leases.hold('digest:stuck', 'b', 90);
    expect(next).not.toBeNull();
    // The stuck holder learns at its next renewal that the lease is gone.
    await expect(stuck!.renew()).rejects.toMatchObject({ code: 'JOB_LEASE_LOST' });
    expect(stuck!.signal.aborted).toBe(true);
    await next!.release();
    await stuck!.release();
  });
});
