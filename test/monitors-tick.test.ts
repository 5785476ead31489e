// Tick runner against the real embedded store and leases: dedup, crash recovery, failures, alerts, replicas,
// catch-up, and the real node-cron scheduler.
import { appendFileSync, copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../config/runtime.ts';
import {
  createMonitorStore,
  createTickLog,
  loadMonitors,
  type Monitor,
  type MonitorDeps,
} from '../monitors/index.ts';
import { MonitorSchema } from '../monitors/schema.ts';
import { runDueTick, runTick } from '../monitors/tick.ts';
import { startSchedules } from '../monitors/schedule.ts';
import type { TickRunDoc } from '../monitors/store.ts';
import { readEvaluation } from '../monitors/tick-phases.ts';
import { createRecordingTransport } from '../prompts/testing.ts';
import { createLeases, type DocumentStore } from '../storage/index.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { tempDir } from './helpers/tmp.ts';

let dir: string;
let cleanup: () => void;
let store: DocumentStore;

beforeEach(async () => {
  ({ dir, cleanup } = tempDir());
  store = await createEmbeddedStore({ dir: join(dir, 'data'), autocompactMs: 0 });
});
afterEach(async () => {
  await store.close();
  cleanup();
});

function line(id: string, q: string, a: string, ts = '2026-11-20T09:00:00Z') {
  return `${JSON.stringify({ id, timestamp: ts, prompt: `Customer question: ${q}`, response: { text: a } })}\n`;
}

function monitor(path: string, extra: Record<string, unknown> = {}): Monitor {
  return MonitorSchema.parse({
    name: 'm',
    schedule: { every: '30m' },
    source: { type: 'file', path },
    extract: {
      patterns: [{ from: 'prompt', regex: 'Customer question: (?<q>.+)$' }],
      input: '$q',
      output: 'response.text',
    },
    metrics: [{ metric: 'refusal', name: 'no-refusal' }],
    publish: { channel: '#c', worst: 2 },
    ...extra,
  });
}

async function deps(owner = 'a', clock = createManualClock('2026-11-20T10:00:00Z')) {
  const transport = createRecordingTransport();
  const d: MonitorDeps = {
    store: await createMonitorStore(store),
    leases: await createLeases(store, { clock }),
    transport,
    clock,
    owner,
  };
  return { d, transport, clock };
}

const T = (s: string) => new Date(s);

describe('tick runner', () => {
  it('runs the shipped example offline and reports counts, means and unmatched records', async () => {
    const [ex] = loadMonitors('examples/monitors');
    const { d, transport } = await deps();
    const out = await runTick(ex!.value, T('2026-11-20T10:00:00Z'), d);
    expect(out).toMatchObject({ status: 'succeeded', read: 8, scored: 6, unmatched: 2 });
    const post = transport.posts[0]!;
    expect(post.channel).toBe('#llm-monitors');
    expect(post.message.title).toMatch(/support-quality: 6 scored/);
    const text = JSON.stringify(post.message);
    expect(text).toContain('no-refusal');
    expect(text).toContain('did not match the extractor');
    expect(text).toMatch(/line-8: line 8: not valid JSON/);
    // The refusal (t-003) and the leaked e-mail (t-004) are the worst items, in the thread.
    expect(post.message.thread?.slice(0, 2).map((m) => JSON.stringify(m))).toEqual([
      expect.stringMatching(/t-00[34]/),
      expect.stringMatching(/t-00[34]/),
    ]);
    // Next tick: nothing new, nothing posted.
    const again = await runTick(ex!.value, T('2026-11-20T10:30:00Z'), d);
    expect(again).toMatchObject({ status: 'succeeded', read: 0, scored: 0 });
    expect(transport.posts).toHaveLength(1);
  });

  it('scores each item once per monitor, ever, and only new lines on later ticks', async () => {
    const file = join(dir, 'in.jsonl');
    writeFileSync(file, line('a', 'q1?', 'fine') + line('b', 'q2?', "I can't help with that."));
    const m = monitor(file);
    const { d, transport } = await deps();
    expect(await runTick(m, T('2026-11-20T10:00:00Z'), d)).toMatchObject({ scored: 2 });
    appendFileSync(file, line('c', 'q3?', 'sure') + line('a', 'q1 again?', 'dup id'));
    const out = await runTick(m, T('2026-11-20T10:30:00Z'), d);
    expect(out).toMatchObject({ scored: 1, alreadyScored: 1 });
    expect(await d.store.countScored('m')).toBe(3);
    // Per-metric mean against the previous tick is in the second report.
    expect(JSON.stringify(transport.posts[1]!.message)).toMatch(/vs 0\.50/);
  });

  it('after a crash mid-tick, the next tick scores only what was not yet scored', async () => {
    const file = join(dir, 'in.jsonl');
    writeFileSync(file, ['a', 'b', 'c', 'd'].map((id) => line(id, `${id}?`, 'ok')).join(''));
    const m = monitor(file);
    const { d } = await deps();
    // Simulate kill -9 after two items were stored: the store write of the third throws, state is never saved.
    let writes = 0;
    const crashing = {
      ...d,
      store: {
        ...d.store,
        async recordScored(doc: Parameters<typeof d.store.recordScored>[0]) {
          writes += 1;
          if (writes > 2) throw new Error('killed');
          return d.store.recordScored(doc);
        },
      },
      concurrency: 1,
    };
    const crashed = await runTick(m, T('2026-11-20T10:00:00Z'), crashing);
    expect(crashed).toMatchObject({ status: 'failed', error: 'killed' });
    const next = await runTick(m, T('2026-11-20T10:30:00Z'), d);
    expect(next).toMatchObject({ status: 'succeeded', scored: 2, alreadyScored: 2 });
    expect(await d.store.countScored('m')).toBe(4);
  });

  it('two replicas on the same tick: exactly one runs it', async () => {
    const file = join(dir, 'in.jsonl');
    writeFileSync(file, line('a', 'q?', 'ok'));
    const m = monitor(file);
    const a = await deps('replica-a');
    const b = await deps('replica-b');
    const t = T('2026-11-20T10:00:00Z');
    const outs = await Promise.all([runTick(m, t, a.d), runTick(m, t, b.d)]);
    expect(outs.map((o) => o.status).sort()).toEqual(['skipped', 'succeeded']);
    expect(a.transport.posts.length + b.transport.posts.length).toBe(1);
  });

  it('a failing source is recorded, alerted once, retried from the same watermark, then resolved', async () => {
    const file = join(dir, 'missing.jsonl');
    const m = monitor(file);
    const { d, transport } = await deps();
    const t1 = await runTick(m, T('2026-11-20T10:00:00Z'), d);
    const t2 = await runTick(m, T('2026-11-20T10:30:00Z'), d);
    expect(t1).toMatchObject({ status: 'failed', error: expect.stringMatching(/cannot read .*ENOENT/) });
    expect(t2.status).toBe('failed');
    expect(transport.posts.map((p) => p.message.title)).toEqual(['🚨 Monitor m is failing']);
    const tick = await d.leases.lastTick('monitor:m');
    expect(tick).toMatchObject({ status: 'failed', error: expect.stringContaining('ENOENT') });
    writeFileSync(file, line('a', 'q?', 'ok'));
    expect(await runTick(m, T('2026-11-20T11:00:00Z'), d)).toMatchObject({ status: 'succeeded', scored: 1 });
    expect(transport.posts[1]!.message.title).toMatch(/RESOLVED/);
  });

  it('the tick log records failed ticks with their reason, and succeeded ones with their counts', async () => {
    const file = join(dir, 'later.jsonl');
    const m = monitor(file);
    const { d } = await deps();
    const tickLog = await createTickLog(store);
    d.tickLog = tickLog;
    await runTick(m, T('2026-11-20T10:00:00Z'), d);
    writeFileSync(file, line('a', 'q?', 'ok'));
    await runTick(m, T('2026-11-20T10:30:00Z'), d);
    const docs = await tickLog.listTicks(T('2026-11-20T00:00:00Z'), T('2026-11-21T00:00:00Z'));
    expect(docs.map((x) => [x.status, x.scored])).toEqual([
      ['failed', 0],
      ['ok', 1],
    ]);
    expect(docs[0]!.error).toMatch(/ENOENT/);
  });

  it('alerts post when a rule breaks and when it recovers, not every tick', async () => {
    const file = join(dir, 'in.jsonl');
    writeFileSync(file, '');
    const m = monitor(file, { alerts: [{ metric: 'no-refusal', below: 0.8, severity: 'critical' }] });
    const { d, transport } = await deps();
    const batches = [
      ['ok', 'ok'],
      ["I can't help with that.", 'ok'],
      ["I can't help with that.", 'ok'],
      ['ok', 'ok'],
    ];
    let n = 0;
    for (const [i, answers] of batches.entries()) {
      appendFileSync(file, answers.map((a) => line(`i${n++}`, 'q?', a)).join(''));
      await runTick(m, new Date(Date.parse('2026-11-20T10:00:00Z') + i * 1_800_000), d);
    }
    const alertLines = transport.posts.map(
      (p) => (p.message.sections.find((s) => s.kind === 'text') as { text: string }).text,
    );
    expect(alertLines[0]).toBe('Alerts: no alerts');
    // Text sections are mrkdwn: the rule's "<" is escaped once.
    expect(alertLines[1]).toMatch(/CRITICAL: mean no-refusal &lt; 0.8/);
    expect(alertLines[2]).toMatch(/still firing/);
    expect(alertLines[3]).toMatch(/RESOLVED: mean no-refusal &lt; 0.8/);
  });

  it('respects the item budget and reports what it left', async () => {
    const file = join(dir, 'in.jsonl');
    writeFileSync(file, Array.from({ length: 10 }, (_, i) => line(`i${i}`, 'q?', 'ok')).join(''));
    const m = monitor(file, { budget: { maxItems: 3 }, sample: { strategy: 'oldest', n: 5 } });
    const { d } = await deps();
    expect(await runTick(m, T('2026-11-20T10:00:00Z'), d)).toMatchObject({ scored: 3, overBudget: 2 });
  });

  it('dry run stores nothing and moves no watermark', async () => {
    const file = join(dir, 'in.jsonl');
    writeFileSync(file, line('a', 'q?', 'ok'));
    const m = monitor(file);
    const { d, transport } = await deps();
    expect(await runTick(m, T('2026-11-20T10:00:00Z'), d, { dryRun: true })).toMatchObject({ scored: 1 });
    expect(await d.store.countScored('m')).toBe(0);
    expect(await d.leases.lastTick('monitor:m')).toBeNull();
    expect(JSON.stringify(transport.posts[0]!.message)).toContain('dry run');
  });

  it('a dry run goes through every phase but writes nothing: no notice, state, summary, tick record or claim', async () => {
    const file = join(dir, 'in.jsonl');
    writeFileSync(file, line('a', 'q?', 'ok') + line('b', 'q?', "I can't help with that."));
    const m = monitor(file, { alerts: [{ on: 'failing', above: 0, severity: 'critical' }] });
    const { d, transport } = await deps();
    const tickLog = await createTickLog(store);
    const live = { ...d, tickLog };
    // The monitor's source was failing: a real tick would say it reads again and clear the state.
    const before = {
      ...(await d.store.getState('m')),
      failing: true,
      lastError: 'cannot read in.jsonl (ENOENT)',
    };
    await d.store.saveState(before);
    const t = T('2026-11-20T10:00:00Z');
    const out = await runTick(m, t, live, { dryRun: true });
    expect(out).toMatchObject({ status: 'succeeded', read: 2, scored: 2, published: 0, duplicates: 0 });
    expect(out.status === 'succeeded' && out.stats.failing).toBe(1);
    // One post: the report preview, with the alert it would fire; no "reading again" notice.
    expect(transport.posts.map((p) => p.message.title)).toEqual(['🚨 Monitor m: 2 scored, 1 failing']);
    expect(JSON.stringify(transport.posts[0]!.message)).toContain('dry run: nothing stored or published');
    const after = await d.store.getState('m');
    expect(after).toMatchObject({ failing: true, lastError: 'cannot read in.jsonl (ENOENT)', history: [] });
    expect(after.cursor).toBeUndefined();
    expect(await d.store.unfinishedTicks('m')).toEqual([]);
    expect(await d.store.tickRun(`m@${t.toISOString()}`)).toBeNull();
    expect(await tickLog.listTicks(t, new Date(t.getTime() + 1))).toEqual([]);
    expect(await d.leases.lastTick('monitor:m')).toBeNull();

    // A dry run with nothing new still shows its (empty) report; a real tick with nothing to say posts nothing.
    writeFileSync(file, '');
    expect(await runTick(m, T('2026-11-20T10:30:00Z'), live, { dryRun: true })).toMatchObject({ scored: 0 });
    expect(transport.posts.at(-1)!.message.title).toBe('Monitor m: 0 scored, 0 failing');
    const posts = transport.posts.length;
    expect(await runTick(m, T('2026-11-20T10:30:00Z'), live)).toMatchObject({
      status: 'succeeded',
      scored: 0,
    });
    expect(transport.posts.map((p) => p.message.title).slice(posts)).toEqual([
      'RESOLVED: monitor m is reading its source again',
    ]);
  });

  it('catches up missed ticks as one tick, and does not rerun a claimed tick', async () => {
    const file = join(dir, 'in.jsonl');
    copyFileSync('examples/monitors/data/support-traffic.jsonl', file);
    const m = monitor(file);
    const { d, clock } = await deps('a', createManualClock('2026-11-20T10:05:00Z'));
    expect(await runDueTick(m, d)).toMatchObject({
      status: 'succeeded',
      tickTime: T('2026-11-20T10:00:00Z'),
    });
    expect(await runDueTick(m, d)).toMatchObject({ status: 'skipped', reason: 'no tick due' });
    // Down for a day.
    clock.set('2026-11-21T10:10:00Z');
    appendFileSync(file, line('late', 'q?', 'ok'));
    expect(await runDueTick(m, d)).toMatchObject({
      status: 'succeeded',
      tickTime: T('2026-11-21T10:00:00Z'),
      scored: 1,
    });
    expect(await runDueTick(m, d)).toMatchObject({ status: 'skipped' });
  });
});

describe('a replica that dies holding a tick', () => {
  it('leaves a claim that lapses after 30 s; the next wake-up of another replica runs that tick', async () => {
    const file = join(dir, 'in.jsonl');
    writeFileSync(file, ['a', 'b'].map((id) => line(id, `${id}?`, 'ok')).join(''));
    const m = monitor(file);
    const clock = createManualClock('2026-11-20T10:05:00Z');
    const a = await deps('replica-a', clock);
    const b = await deps('replica-b', clock);
    const tick = T('2026-11-20T10:00:00Z');
    // Replica a claimed the tick and was killed: nothing renews its claim any more.
    expect(await a.d.leases.tryAcquire('monitor:m', tick, 'replica-a', 30_000)).toBe(true);
    clock.advance(20_000);
    expect(await runDueTick(m, b.d)).toMatchObject({ status: 'skipped' });
    clock.advance(11_000);
    expect(await runDueTick(m, b.d)).toMatchObject({ status: 'succeeded', tickTime: tick, scored: 2 });
    expect(await a.d.leases.lastTick('monitor:m')).toMatchObject({ owner: 'replica-b', status: 'succeeded' });
    expect(await runDueTick(m, b.d)).toMatchObject({ status: 'skipped', reason: 'no tick due' });
  });
});

describe('node-cron scheduler', () => {
  it('wakes on schedule and never starts a wake-up while the previous one runs', async () => {
    let running = 0;
    let maxRunning = 0;
    let wakes = 0;
    // A 1-second cron (seconds field) so the real scheduler fires within the test.
    const sched = startSchedules(
      [{ name: 'x', schedule: { cron: '* * * * * *', timezone: 'UTC' } }],
      async () => {
        wakes += 1;
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((r) => setTimeout(r, 2500));
        running -= 1;
      },
    );
    await new Promise((r) => setTimeout(r, 4200));
    await sched.stop();
    expect(wakes).toBeGreaterThanOrEqual(1);
    expect(wakes).toBeLessThanOrEqual(2);
    expect(maxRunning).toBe(1);
  });
});

describe('report privacy', () => {
  it('masks personal data in item excerpts', async () => {
    const [ex] = loadMonitors('examples/monitors');
    const { d, transport } = await deps();
    await runTick(ex!.value, T('2026-11-20T10:00:00Z'), d);
    expect(JSON.stringify(transport.posts[0]!.message)).not.toContain('jane.doe@example.com');
  });
});

describe('stored tick records', () => {
  it.each([
    [
      'a field of the wrong type',
      JSON.stringify({ stats: { means: 'high' }, history: [], states: {}, events: [] }),
      /does not match its schema: stats\.means/,
    ],
    ['unreadable JSON', '{"stats": {', /holds unreadable JSON/],
  ])(
    'a kept evaluation with %s is STORE_INVALID_DOCUMENT naming the tick run, not a crash',
    async (_what, json, detail) => {
      const file = join(dir, 'in.jsonl');
      writeFileSync(file, line('a', 'q?', 'ok'));
      const m = monitor(file);
      const { d, transport } = await deps();
      // A tick an attempt left after keeping its evaluation, whose kept evaluation was since damaged.
      const earlier = T('2026-11-20T09:30:00Z');
      const id = `m@${earlier.toISOString()}`;
      const runs = await store.collection<TickRunDoc>('monitor_tick_runs');
      await runs.insertOne({
        _id: id,
        monitor: 'm',
        tickTime: earlier,
        backfill: false,
        phase: 'evaluated',
        attempts: 1,
        startedAt: earlier,
        updatedAt: earlier,
        evaluationJson: json,
      });
      const rec = (await d.store.tickRun(id))!;
      expect(() => readEvaluation(rec)).toThrow(
        expect.objectContaining({
          code: 'STORE_INVALID_DOCUMENT',
          message: expect.stringMatching(
            new RegExp(
              `^Stored document monitor_tick_runs/${id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(field evaluationJson\\) `,
            ),
          ),
        }),
      );
      expect(() => readEvaluation(rec)).toThrow(detail);

      // The next tick finishes that one first: it fails with the clear error, and posts nothing half-read.
      const out = await runTick(m, T('2026-11-20T10:00:00Z'), d);
      expect(out).toMatchObject({
        status: 'failed',
        error: expect.stringContaining(`monitor_tick_runs/${id} (field evaluationJson)`),
      });
      expect(transport.posts).toEqual([]);
      expect((await d.store.tickRun(id))?.phase).toBe('evaluated');
    },
  );
});
