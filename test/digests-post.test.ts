// Posting digests against the real embedded store and leases: once per period across two replicas, Slack down
// then retried without a second post, a replica killed mid-post resumed by another, the scheduler's due period,
// the `digest` command, the CLI, and the chart PNG.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDigestInputs, type DigestCliCommand, handleDigest, runDigestCli } from '../commands/digest.ts';
import { parseEnv } from '../config/index.ts';
import { createManualClock } from '../config/runtime.ts';
import {
  createDigestPosts,
  type Digest,
  type DigestDeps,
  postDigest,
  startDigests,
} from '../digests/index.ts';
import { CHART_SIZE, renderChartPng, type TrendChart } from '../digests/chart.ts';
import { DigestSchema } from '../digests/schema.ts';
import { FAILED_RETRY_MS, runDueDigest } from '../digests/post.ts';
import { createDigestTransport } from '../digests/testing.ts';
import { createTickLog, type TickLog } from '../monitors/index.ts';
import { createRunRepository } from '../runs/index.ts';
import { createLeases, type DocumentStore } from '../storage/index.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { viaRegistry } from './helpers/cli-args.ts';
import { withCliServices } from './helpers/cli-services.ts';
import { tempDir } from './helpers/tmp.ts';
import { waitUntil } from './helpers/wait.ts';

let dir: string;
let cleanup: () => void;
let store: DocumentStore;
let tickLog: TickLog;

beforeEach(async () => {
  ({ dir, cleanup } = tempDir());
  store = await createEmbeddedStore({ dir: join(dir, 'data'), autocompactMs: 0 });
  tickLog = await createTickLog(store);
});
afterEach(async () => {
  await store.close();
  cleanup();
});

const T = (s: string) => new Date(s);

const daily: Digest = DigestSchema.parse({
  name: 'daily',
  schedule: { cron: '0 9 * * *', timezone: 'UTC' },
  channel: '#q',
});

async function seed() {
  for (const [at, v] of [
    ['2026-11-18T10:00:00Z', 0.8],
    ['2026-11-19T06:00:00Z', 0.9],
    ['2026-11-19T18:00:00Z', 0.4],
  ] as const)
    await tickLog.recordTick({
      monitor: 'support',
      tickTime: T(at),
      finishedAt: T(at),
      read: 1,
      items: [{ id: at, input: 'q', output: 'a', scores: [{ metric: 'helpful', value: v, reason: '' }] }],
      thresholds: new Map(),
      events: [],
    });
}

async function replica(owner: string, clock = createManualClock('2026-11-20T09:00:30Z')) {
  const transport = createDigestTransport(owner === 'a' ? 1_700_000_000 : 1_800_000_000);
  const deps: DigestDeps = {
    inputs: createDigestInputs({ tickLog, runs: await createRunRepository(store) }),
    transport,
    posts: await createDigestPosts(store),
    leases: await createLeases(store, { clock }),
    clock,
    owner,
    dataDir: join(dir, 'out'),
  };
  return { deps, transport, clock };
}

describe('posting once per period', () => {
  it('carries an Open report button to the overview page when a report URL is configured', async () => {
    await seed();
    const { deps, transport } = await replica('a');
    const out = await postDigest(daily, {
      ...deps,
      reportUrl: (path) => `https://arbiter.example.test${path}?exp=1&sig=s`,
    });
    expect(out).toMatchObject({ status: 'posted' });
    const [parent] = transport.posts();
    expect(parent!.message.sections.at(-1)).toEqual({
      kind: 'buttons',
      buttons: [
        {
          text: 'Open report',
          actionId: 'report:open',
          value: '',
          url: 'https://arbiter.example.test/r/overview?exp=1&sig=s',
        },
      ],
    });
  });

  it('posts the parent, its thread replies and the chart into the thread, and writes the PNG under DATA_DIR', async () => {
    await seed();
    const { deps, transport } = await replica('a');
    const out = await postDigest(daily, deps);
    expect(out).toMatchObject({ status: 'posted', resumed: false, channel: '#q' });
    const [parent, ...replies] = transport.posts();
    expect(parent!.threadTs).toBeUndefined();
    expect(parent!.message.thread).toBeUndefined();
    expect(parent!.message.title).toBe('Daily digest daily: Thu 19 Nov 2026');
    expect(replies.map((r) => r.threadTs)).toEqual(replies.map(() => parent!.ts));
    expect(replies.map((r) => r.message.title)).toEqual(['Worst regressions', 'Worst 2 item(s)']);
    const [upload] = transport.uploads();
    expect(upload).toMatchObject({ channel: '#q', threadTs: parent!.ts });
    expect(upload!.path).toBe(join(dir, 'out', 'digests', 'daily-2026-11-19.png'));
    expect(readFileSync(upload!.path).subarray(1, 4).toString()).toBe('PNG');
    // Asking again for the same period posts nothing.
    expect(await postDigest(daily, deps)).toMatchObject({ status: 'already-posted', ts: parent!.ts });
    expect(transport.calls).toHaveLength(4);
  });

  it('two replicas sharing one store: exactly one posts, the other is told', async () => {
    await seed();
    const a = await replica('a');
    const b = await replica('b');
    const outcomes = await Promise.all([postDigest(daily, a.deps), postDigest(daily, b.deps)]);
    // The loser either found the lease held (busy) or, if it came after, the post recorded.
    const statuses = outcomes.map((o) => o.status).sort();
    expect(statuses[1]).toBe('posted');
    expect(['busy', 'already-posted']).toContain(statuses[0]);
    const parents = [...a.transport.posts(), ...b.transport.posts()].filter((p) => !p.threadTs);
    expect(parents).toHaveLength(1);
    // Once the winner is done, both see it as posted.
    expect((await postDigest(daily, a.deps)).status).toBe('already-posted');
    expect((await postDigest(daily, b.deps)).status).toBe('already-posted');
  });

  it('Slack down: the failure is recorded, the retry resumes after the last step and nothing is posted twice', async () => {
    await seed();
    const { deps, transport } = await replica('a');
    // The parent goes out, then Slack fails on the first reply.
    const realPost = transport.post.bind(transport);
    let calls = 0;
    transport.post = async (target, message) => {
      calls += 1;
      if (calls === 2) throw new Error('slack unavailable (simulated)');
      return realPost(target, message);
    };
    const first = await postDigest(daily, deps);
    expect(first).toMatchObject({ status: 'failed', error: 'slack unavailable (simulated)' });
    expect(transport.posts()).toHaveLength(1);
    const saved = await deps.posts.get('daily|day|2026-11-19');
    expect(saved).toMatchObject({
      status: 'posting',
      repliesPosted: 0,
      lastError: 'slack unavailable (simulated)',
    });
    // Slack is down for the whole next attempt too.
    transport.failNext(1);
    expect((await postDigest(daily, deps)).status).toBe('failed');
    const retried = await postDigest(daily, deps);
    expect(retried).toMatchObject({ status: 'posted', resumed: true });
    const parents = transport.posts().filter((p) => !p.threadTs);
    expect(parents).toHaveLength(1);
    expect(
      transport
        .posts()
        .filter((p) => p.threadTs)
        .map((p) => p.message.title),
    ).toEqual(['Worst regressions', 'Worst 2 item(s)']);
    expect(transport.uploads()).toHaveLength(1);
    expect(await deps.posts.get('daily|day|2026-11-19')).toMatchObject({ status: 'posted', attempts: 3 });
  });

  it('a step Slack accepted but that was never recorded is found by its key, not posted twice', async () => {
    await seed();
    const { deps, transport } = await replica('a');
    // The process "dies" right after Slack accepted the parent, after it accepted the 2nd reply, and after the
    // chart upload.
    const realSave = deps.posts.save.bind(deps.posts);
    const dieOn = [
      (f: object) => 'parentTs' in f,
      (f: object) => (f as { repliesPosted?: number }).repliesPosted === 2,
      (f: object) => 'chartDone' in f,
    ];
    deps.posts.save = async (id, fields, onInsert) => {
      if (dieOn[0]?.(fields)) {
        dieOn.shift();
        throw new Error('killed (simulated)');
      }
      return realSave(id, fields, onInsert);
    };
    for (let death = 0; death < 3; death++)
      expect(await postDigest(daily, deps)).toMatchObject({ status: 'failed', error: 'killed (simulated)' });
    const done = await postDigest(daily, deps);
    expect(done).toMatchObject({ status: 'posted', resumed: true });
    const posts = transport.posts();
    expect(posts.filter((p) => !p.threadTs)).toHaveLength(1);
    expect(posts.filter((p) => p.threadTs).map((p) => p.message.title)).toEqual([
      'Worst regressions',
      'Worst 2 item(s)',
    ]);
    expect(posts.map((p) => p.key)).toEqual([
      'daily|day|2026-11-19|parent',
      'daily|day|2026-11-19|reply|0',
      'daily|day|2026-11-19|reply|1',
    ]);
    expect(done).toMatchObject({ ts: posts[0]!.ts });
    expect(transport.uploads()).toHaveLength(1);
  });

  it('a replica killed mid-post: another waits out its 30 s lease, then finishes the post without repeating it', async () => {
    await seed();
    const clock = createManualClock('2026-11-20T09:00:30Z');
    const a = await replica('a', clock);
    const b = await replica('b', clock);
    // A posts the parent and both replies, then hangs forever in the chart upload (as if killed).
    a.transport.post = a.transport.post.bind(a.transport);
    const realUpload = a.transport.uploadFile.bind(a.transport);
    a.transport.uploadFile = async (target, file) => {
      if (a.transport.posts().length === 3) await new Promise(() => {});
      return realUpload(target, file);
    };
    void postDigest(daily, a.deps);
    await waitUntil(async () => (await a.deps.posts.get('daily|day|2026-11-19'))?.repliesPosted === 2);
    // B wakes while A's lease is live: it posts nothing.
    expect(await postDigest(daily, b.deps)).toMatchObject({ status: 'busy' });
    clock.advance(29_000);
    expect(await postDigest(daily, b.deps)).toMatchObject({ status: 'busy' });
    // Once A stops renewing, its lease lapses after DEFAULT_LEASE_TTL_MS; the scheduler's retry task wakes B within
    // 20 s more (DIGEST_RETRY_CRON), so recovery takes at most about 50 s (it took 200-330 s with a 2-minute lease
    // and a 5-minute retry). The wake-up itself is what runDueDigest does.
    clock.advance(2_000);
    const out = await runDueDigest(daily, b.deps);
    expect(out).toMatchObject({ status: 'posted', resumed: true, ts: a.transport.posts()[0]!.ts });
    expect(b.transport.posts()).toHaveLength(0);
    expect(b.transport.uploads()).toEqual([
      expect.objectContaining({ threadTs: a.transport.posts()[0]!.ts, channel: '#q' }),
    ]);
  });
});

describe('scheduling', () => {
  it('the due period follows the latest scheduled time, so a wake-up before 09:00 covers the day before yesterday', async () => {
    await seed();
    const { deps, transport, clock } = await replica('a', createManualClock('2026-11-20T08:59:00Z'));
    // Before today's 09:00, the latest scheduled time is yesterday 09:00: the digest of 18 Nov is due.
    expect(await runDueDigest(daily, deps)).toMatchObject({
      status: 'posted',
      period: { key: '2026-11-18' },
    });
    expect(await runDueDigest(daily, deps)).toEqual({ status: 'not-due' });
    clock.set('2026-11-20T09:00:00Z');
    expect(await runDueDigest(daily, deps)).toMatchObject({
      status: 'posted',
      period: { key: '2026-11-19' },
    });
    expect(await runDueDigest(daily, deps)).toEqual({ status: 'not-due' });
    expect(transport.posts().filter((p) => !p.threadTs)).toHaveLength(2);
  });

  it('a digest seen for the first time posts nothing for periods scheduled before it existed', async () => {
    await seed();
    const clock = createManualClock('2026-11-20T09:00:30Z');
    const { deps, transport } = await replica('a', clock);
    const seen: string[] = [];
    const scheduler = startDigests([daily], deps, { onPost: (_n, o) => seen.push(o.status) });
    try {
      await waitUntil(() => seen.length === 1);
      expect(seen).toEqual(['not-due']);
      expect(transport.posts()).toHaveLength(0);
      clock.set('2026-11-21T09:00:05Z');
      await scheduler.checkAll();
      expect(seen).toEqual(['not-due', 'posted']);
      expect((await deps.posts.get('daily|day|2026-11-20'))?.status).toBe('posted');
    } finally {
      await scheduler.stop();
    }
  });

  it('startDigests catches up a missed post at start and a retry wake-up posts after Slack recovers', async () => {
    await seed();
    const { deps, transport, clock } = await replica('a');
    // The digest was scheduled before (a replica ran on the 18th), so the missed 09:00 post of the 20th is due.
    await deps.posts.firstSeen('daily', new Date('2026-11-18T12:00:00Z'));
    transport.failNext(1);
    const seen: string[] = [];
    const scheduler = startDigests([daily], deps, { onPost: (_n, o) => seen.push(o.status) });
    try {
      await waitUntil(() => seen.length === 1);
      expect(seen).toEqual(['failed']);
      // The retry task (every 20 s) leaves a failed post alone for FAILED_RETRY_MS, then tries again.
      await scheduler.checkAll();
      expect(seen).toEqual(['failed', 'not-due']);
      clock.advance(FAILED_RETRY_MS);
      await scheduler.checkAll();
      expect(seen).toEqual(['failed', 'not-due', 'posted']);
      await scheduler.checkAll();
      expect(seen).toEqual(['failed', 'not-due', 'posted', 'not-due']);
      expect(transport.posts().filter((p) => !p.threadTs)).toHaveLength(1);
    } finally {
      await scheduler.stop();
    }
  });
});

describe('the digest command', () => {
  it('preview is ephemeral and posts nothing; `digest now` posts once and then says it was already posted', async () => {
    await seed();
    const { deps, transport } = await replica('a');
    const preview = await handleDigest({ name: 'digest', now: false }, { specs: [daily], deps });
    expect(preview.ephemeral).toBe(true);
    expect(preview.title).toBe('Preview: Daily digest daily: Thu 19 Nov 2026');
    expect(transport.calls).toHaveLength(0);
    const now = await handleDigest({ name: 'digest', now: true }, { specs: [daily], deps });
    expect(now.sections[0]).toEqual({ kind: 'text', text: '*daily*: posted to #q for Thu 19 Nov 2026.' });
    const again = await handleDigest({ name: 'digest', now: true }, { specs: [daily], deps });
    expect(again.sections[0]).toMatchObject({
      kind: 'text',
      text: expect.stringMatching(
        /^\*daily\*: already posted for Thu 19 Nov 2026 at .*; not posted again\.$/,
      ),
    });
    expect(transport.posts().filter((p) => !p.threadTs)).toHaveLength(1);
    // A weekly digest is its own period: posted once too.
    const weekly = await handleDigest(
      { name: 'digest', now: true, period: 'week' },
      { specs: [daily], deps },
    );
    expect(weekly.sections[0]).toMatchObject({ text: '*daily*: posted to #q for week of Mon 9 Nov 2026.' });
    expect(await handleDigest({ name: 'digest', now: false }, undefined)).toMatchObject({
      sections: [{ kind: 'text', text: 'Digests are not set up in this process.' }],
    });
  });

  it('arbiter digest --dry-run prints and writes the chart; without it posts once per period', async () => {
    await seed();
    const env = parseEnv({ DATA_DIR: join(dir, 'out'), DIGESTS_DIR: 'examples/digests' });
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t) };
    const clock = createManualClock('2026-11-20T09:00:30Z');
    const transport = createDigestTransport();
    const digestCli = (argv: string[]) =>
      viaRegistry(['digest', ...argv], io, (cmd: DigestCliCommand) =>
        withCliServices({ env, io, store, clock, transport }, (d) => runDigestCli(cmd, d)),
      );
    expect(await digestCli(['--dry-run', '--period', 'day'])).toBe(0);
    expect(transport.calls).toHaveLength(0);
    const text = out.join('');
    expect(text).toContain('[dry run → #llm-quality] Preview: Daily digest daily: Thu 19 Nov 2026');
    const chart = join(dir, 'out', 'digests', 'daily-2026-11-19-preview.png');
    expect(text).toContain(`chart: ${chart}`);
    expect(existsSync(chart)).toBe(true);
    out.length = 0;
    expect(await digestCli(['--name', 'daily'])).toBe(0);
    expect(await digestCli([])).toBe(0);
    expect(out).toEqual([
      'daily: posted to #llm-quality for Thu 19 Nov 2026.\n',
      expect.stringMatching(/^daily: already posted for Thu 19 Nov 2026 at .*; not posted again\.\n$/),
    ]);
    expect(await digestCli(['--name', 'nope'])).toBe(2);
    expect(await digestCli(['--period', 'month'])).toBe(2);
    expect(err.join('')).toMatch(/No digest named "nope".*Known: daily/);
    expect(err.join('')).toContain('--period expects day or week.');
  });
});

describe('chart PNG', () => {
  const buckets = Array.from({ length: 24 }, (_, i) => new Date(Date.UTC(2026, 10, 19, i)));
  const chart = (title: string, shift = 0): TrendChart => ({
    title,
    timezone: 'UTC',
    buckets,
    series: [
      {
        name: 'support',
        points: buckets.map((t, i) => ({ t, value: 0.5 + 0.4 * Math.sin((i + shift) / 4) })),
      },
      { name: 'billing', points: buckets.map((t, i) => ({ t, value: i % 6 === 0 ? null : 0.3 + i / 100 })) },
    ],
  });

  function pngInfo(png: Buffer) {
    return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
  }

  it('is a PNG of the chart size, deterministic for the same data, different for other data or text', async () => {
    const a = await renderChartPng(chart('digest daily'));
    const b = await renderChartPng(chart('digest daily'));
    expect(a.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(pngInfo(a)).toEqual(CHART_SIZE);
    expect(a.equals(b)).toBe(true);
    // Other data, and other title text (so text is really drawn with the bundled font), change the image.
    expect(a.equals(await renderChartPng(chart('digest daily', 3)))).toBe(false);
    expect(a.equals(await renderChartPng(chart('digest weekly')))).toBe(false);
    // A blank white chart compresses to almost nothing; lines, axes and labels do not.
    const blank = await renderChartPng({ title: '', timezone: 'UTC', buckets: [], series: [] });
    expect(a.length).toBeGreaterThan(blank.length * 3);
  });
});
