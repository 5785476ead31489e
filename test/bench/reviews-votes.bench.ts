// Review votes: 2,000 signed `block_actions` clicks (50 reviewers × 40 pairs, review:vote:a|b|tie|both_bad) from 50
// concurrent clients against the HTTP receiver, plus vote changes and Slack-style redeliveries: time to ack, time
// until every vote is recorded, and, read back from the store, zero lost or double-counted votes.
//
// As in slack.bench.ts the bot runs in a child process (this file again, with ARBITER_BENCH_VOTES_SERVER=1) and the
// fake Slack Web API (chat.update, chat.postEphemeral, the close report) stays in this client process. The review
// needs 50 votes on each of its 40 pairs, so it closes on the very last one: the clicks that change a vote are sent
// in a first wave (first version) and the main wave (second version), and the one click that completes the review
// is held back to a last wave, so no vote can meet a closed review; one click after the close must be refused.
// Speed is printed, never asserted; a lost or double-counted vote is a correctness failure and throws (exit code 1)
// after the figures are printed.
import { type ChildProcess, fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ACTION_JOB_TYPE, slackActionKey } from '../../bot/action-jobs.ts';
import { startBot } from '../../bot/start.ts';
import { mulberry32, parseEnv } from '../../config/index.ts';
import type { Choice } from '../../reviews/types.ts';
import { loadSuite } from '../../runs/index.ts';
import { tempDir } from '../helpers/tmp.ts';
import { createChildAsk, createSlackClients, signBodies, startBotProbes } from './slack-load.ts';
import { isMain, percentile, report } from './util.ts';

const SECRET = 'bench-signing-secret';
const SERVER_FLAG = 'ARBITER_BENCH_VOTES_SERVER';
const USERS = 50;
const PAIRS = 40;
const CLIENTS = 50;
/** Cells (user, pair) whose vote is changed once: a second, distinct click with another choice. */
const CHANGES = 100;
/** Redeliveries of clicks of the main wave (identical body, same action_ts), sent after their original. */
const REDELIVERIES = 95;
/** Late redeliveries of first-wave clicks whose vote has been changed since: they must not change it back. */
const STALE_REDELIVERIES = 10;
/** Warm-up clicks on a second review, not counted. */
const WARMUP = 100;
const CHOICES: readonly Choice[] = ['a', 'b', 'tie', 'both_bad'];
const USER_IDS = Array.from({ length: USERS }, (_, i) => `UREV${String(i).padStart(3, '0')}`);

/** A pair as the clients need it: its ballot token and where its ballot was posted. */
interface PairRef {
  id: string;
  token: string;
  ts: string;
}

/** A vote document as read back from the store, reduced to what the checks need. */
interface VoteView {
  pairId: string;
  user: string;
  choice: string;
  keys: string[];
}

/** A chat.action job, reduced to what the figures need. */
interface JobView {
  key: string;
  status: string;
  ok: boolean;
  createdMs: number;
  finishedMs: number;
}

type ToServer =
  | { kind: 'mark' }
  | { kind: 'drain'; expectedJobs: number }
  | { kind: 'figures' }
  | { kind: 'stop' };
type FromServer =
  | {
      kind: 'ready';
      url: string;
      floorUrl: string;
      reviewId: string;
      parentTs: string;
      pairs: PairRef[];
      warmPairs: PairRef[];
    }
  | { kind: 'marked' }
  | { kind: 'drained'; ms: number }
  | {
      kind: 'figures';
      cpuMs: number;
      serverAckMs: number[];
      loopDelayP99Ms: number;
      loopDelayMaxMs: number;
      votes: VoteView[];
      jobs: JobView[];
      review: { status: string; closedReason?: string };
      queueLeft: number;
      readAllVotesMs: number;
    }
  | { kind: 'stopped' };

/** One distinct click (a redelivery reuses it as is). */
interface Click {
  user: string;
  pair: number;
  choice: Choice;
  actionTs: string;
}

function shuffle<T>(xs: T[], next: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

/** Runs the vote-recording benchmark, prints its figures, and throws when a vote was lost or counted twice. */
export async function run(): Promise<Record<string, number | string>> {
  const apiCalls = new Map<string, number>();
  let refused = 0;
  let nextTs = 0;
  const api = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const method = (req.url ?? '').replace(/^\/api\//, '');
      apiCalls.set(method, (apiCalls.get(method) ?? 0) + 1);
      const raw = Buffer.concat(chunks).toString('utf8');
      const form = (req.headers['content-type'] ?? '').includes('form')
        ? new URLSearchParams(raw)
        : undefined;
      // The closed-review refusal says so in its fallback text (and blocks); nothing else says "not counted".
      if (
        method === 'chat.postEphemeral' &&
        `${form?.get('text')}${form?.get('blocks')}`.includes('not counted')
      )
        refused += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      nextTs += 1;
      res.end(
        JSON.stringify({ ok: true, channel: form?.get('channel') ?? 'CBENCH', ts: `1700000000.${nextTs}` }),
      );
    });
  });
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', () => r()));
  const apiBase = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  const { dir, cleanup } = tempDir('arbiter-bench-votes-');
  const child = fork(fileURLToPath(import.meta.url), [], {
    env: { ...process.env, [SERVER_FLAG]: '1', BENCH_DIR: dir, BENCH_API_URL: `${apiBase}/api/` },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ask = createChildAsk<FromServer, ToServer>(child);
  const pool = createSlackClients(CLIENTS);
  let failure: Error | undefined;
  let figures: Record<string, number | string> = {};
  try {
    const ready = await ask('ready');
    const { url, floorUrl } = ready;
    let tsSeq = 0;
    const newActionTs = () => {
      tsSeq += 1;
      return `${1700000100 + Math.floor(tsSeq / 1000)}.${String(tsSeq % 1000).padStart(3, '0')}${String(tsSeq).padStart(3, '0')}`;
    };
    const bodyOf = (pairs: readonly PairRef[], c: Click) => {
      const pair = pairs[c.pair]!;
      const actionId = `review:vote:${c.choice}`;
      const payload = {
        type: 'block_actions',
        user: { id: c.user, username: c.user.toLowerCase(), name: c.user.toLowerCase(), team_id: 'T1' },
        api_app_id: 'A1',
        token: 'legacy-token-ignored',
        container: {
          type: 'message',
          message_ts: pair.ts,
          channel_id: 'CBENCH',
          is_ephemeral: false,
          thread_ts: ready.parentTs,
        },
        trigger_id: `${c.actionTs}.bench`,
        team: { id: 'T1', domain: 'bench' },
        enterprise: null,
        is_enterprise_install: false,
        channel: { id: 'CBENCH', name: 'bench' },
        message: {
          type: 'message',
          subtype: 'bot_message',
          ts: pair.ts,
          thread_ts: ready.parentTs,
          blocks: [],
        },
        state: { values: {} },
        response_url: `${apiBase}/response/${c.actionTs}`,
        actions: [
          {
            action_id: actionId,
            block_id: 'b1',
            text: { type: 'plain_text', text: c.choice, emoji: true },
            value: pair.token,
            type: 'button',
            action_ts: c.actionTs,
          },
        ],
      };
      return `payload=${encodeURIComponent(JSON.stringify(payload))}`;
    };
    // Signed right before each wave is sent: the clients only send; the 5-minute window is never at risk.
    const sign = (bodies: readonly string[]) => signBodies(SECRET, bodies);
    const load = pool.load;

    // ---- the clicks ----
    const random = mulberry32(7);
    const pick = () => CHOICES[Math.floor(random() * CHOICES.length)]!;
    const cells = shuffle(
      USER_IDS.flatMap((user) => Array.from({ length: PAIRS }, (_, pair) => ({ user, pair }))),
      random,
    );
    const changed = cells.slice(0, CHANGES);
    const completing = cells[cells.length - 1]!;
    const regular = cells.slice(CHANGES, -1);
    const wave1: Click[] = changed.map((c) => ({ ...c, choice: pick(), actionTs: newActionTs() }));
    const changes: Click[] = wave1.map((first) => {
      const others = CHOICES.filter((c) => c !== first.choice);
      return {
        user: first.user,
        pair: first.pair,
        choice: others[Math.floor(random() * others.length)]!,
        actionTs: newActionTs(),
      };
    });
    const distinct2: Click[] = shuffle(
      [...regular.map((c) => ({ ...c, choice: pick(), actionTs: newActionTs() })), ...changes],
      random,
    );
    // Each redelivery goes somewhere after its original; stale ones are first-wave clicks whose vote has changed.
    const wave2: Click[] = [...distinct2];
    for (const original of shuffle([...distinct2], random).slice(0, REDELIVERIES)) {
      const at = wave2.indexOf(original);
      wave2.splice(at + 1 + Math.floor(random() * (wave2.length - at)), 0, original);
    }
    for (const stale of shuffle([...wave1], random).slice(0, STALE_REDELIVERIES))
      wave2.splice(Math.floor(random() * (wave2.length + 1)), 0, stale);
    const wave3: Click[] = [{ ...completing, choice: pick(), actionTs: newActionTs() }];
    const distinctClicks = [...wave1, ...distinct2, ...wave3];
    // After the review has closed: one more click that changes a vote; it must be refused and change nothing.
    const lateCell = changes[0]!;
    const late: Click[] = [
      {
        ...lateCell,
        choice: CHOICES.find((c) => c !== lateCell.choice)!,
        actionTs: newActionTs(),
      },
    ];
    const sent = wave1.length + wave2.length + wave3.length + late.length;

    // Expected state: the last distinct click of each cell wins; its history holds every distinct click once.
    const keyOf = (c: Click) => slackActionKey(c.actionTs, c.user, `review:vote:${c.choice}`);
    const expected = new Map<string, { choice: Choice; keys: string[] }>();
    for (const c of distinctClicks) {
      const cell = `${ready.pairs[c.pair]!.id}|${c.user}`;
      const e = expected.get(cell) ?? { choice: c.choice, keys: [] };
      e.choice = c.choice;
      e.keys.push(keyOf(c));
      expected.set(cell, e);
    }

    // ---- warm-up (a second review, not counted), then the floor ----
    // JIT, lazy imports and the clients' 50 keep-alive connections: a bot in production has served clicks before.
    const warmClicks: Click[] = USER_IDS.flatMap((user) =>
      [0, 1].map((pair) => ({ user, pair, choice: pick(), actionTs: newActionTs() })),
    ).slice(0, WARMUP);
    let expectedJobs = warmClicks.length;
    await load(url, sign(warmClicks.map((c) => bodyOf(ready.warmPairs, c))));
    await ask('drained', { kind: 'drain', expectedJobs });
    // The floor: the same clients against a bare node:http handler in the bot's process that answers 200 at once.
    const wave2Bodies = wave2.map((c) => bodyOf(ready.pairs, c));
    await load(floorUrl, sign(wave2Bodies.slice(0, 100)));
    const floor = await load(floorUrl, sign(wave2Bodies));

    // ---- counted waves ----
    await ask('marked', { kind: 'mark' });
    const apiBefore = new Map(apiCalls);
    const first = await load(url, sign(wave1.map((c) => bodyOf(ready.pairs, c))));
    expectedJobs += wave1.length;
    await ask('drained', { kind: 'drain', expectedJobs });
    const wave2Start = Date.now();
    const main = await load(url, sign(wave2Bodies));
    expectedJobs += distinct2.length;
    const drained2 = await ask('drained', { kind: 'drain', expectedJobs });
    const last = await load(url, sign(wave3.map((c) => bodyOf(ready.pairs, c))));
    expectedJobs += wave3.length;
    await ask('drained', { kind: 'drain', expectedJobs });
    const refusedBefore = refused;
    const afterClose = await load(url, sign(late.map((c) => bodyOf(ready.pairs, c))));
    expectedJobs += late.length;
    await ask('drained', { kind: 'drain', expectedJobs });
    const server = await ask('figures', { kind: 'figures' });

    // ---- checks, from the store ----
    const found = new Map(server.votes.map((v) => [`${v.pairId}|${v.user}`, v]));
    let lost = 0;
    let doubleCounted = 0;
    let wrongChoice = 0;
    for (const [cell, e] of expected) {
      const v = found.get(cell);
      if (!v) {
        lost += e.keys.length;
        continue;
      }
      const inHistory = new Set(v.keys);
      lost += e.keys.filter((k) => !inHistory.has(k)).length;
      // Entries beyond the distinct clicks that were expected: a redelivery or a stale click counted again.
      doubleCounted += v.keys.length - e.keys.filter((k) => inHistory.has(k)).length;
      if (v.choice !== e.choice) wrongChoice += 1;
    }
    const strayDocs = server.votes.length - [...found.keys()].filter((k) => expected.has(k)).length;
    doubleCounted += strayDocs;
    const expectedHistory = [...expected.values()].reduce((n, e) => n + e.keys.length, 0);
    const foundHistory = server.votes.reduce((n, v) => n + v.keys.length, 0);
    const countedKeys = new Set(distinctClicks.map(keyOf));
    const jobs = server.jobs.filter((j) => countedKeys.has(j.key));
    const duplicateJobs = jobs.length - new Set(jobs.map((j) => j.key)).size;
    const failedJobs = jobs.filter((j) => j.status !== 'succeeded' || !j.ok).length;
    const mainKeys = new Set(distinct2.map(keyOf));
    const mainJobs = jobs.filter((j) => mainKeys.has(j.key));
    const lastRecordedMs = Math.max(...mainJobs.map((j) => j.finishedMs));
    const recordedS = (lastRecordedMs - wave2Start) / 1000;
    const clickToVote = mainJobs.map((j) => j.finishedMs - j.createdMs);
    // Recording rate over the first and the last quarter of the main wave's jobs (by finish time).
    const finished = mainJobs.map((j) => j.finishedMs).sort((a, b) => a - b);
    const q = Math.floor(finished.length / 4);
    const rate = (from: number, to: number) => ((to - from) * 1000) / (finished[to]! - finished[from]!);
    const times = [...first.times, ...main.times, ...last.times];
    const delta = (m: string) => (apiCalls.get(m) ?? 0) - (apiBefore.get(m) ?? 0);
    figures = report(
      `reviews-votes: ${distinctClicks.length} distinct signed vote clicks (${USERS} reviewers × ${PAIRS} pairs + ${CHANGES} changes) + ${REDELIVERIES + STALE_REDELIVERIES} redeliveries, ${CLIENTS} concurrent clients (bot in a child process)`,
      {
        'clicks sent (changed-first / main / completing / after close)': `${sent} (${wave1.length} / ${wave2.length} / ${wave3.length} / ${late.length})`,
        'ack p50 ms': percentile(times, 50),
        'ack p90 ms': percentile(times, 90),
        'ack p99 ms': percentile(times, 99),
        'ack max ms': Math.max(...times),
        'ack p99 ms, main wave only': percentile(main.times, 99),
        'in-bot request→response p50 / p99 ms': `${percentile(server.serverAckMs, 50).toFixed(1)} / ${percentile(server.serverAckMs, 99).toFixed(1)}`,
        'bot event-loop delay p99 / max ms': `${server.loopDelayP99Ms.toFixed(1)} / ${server.loopDelayMaxMs.toFixed(1)}`,
        'floor (bare 200) p50 / p99 ms': `${percentile(floor.times, 50).toFixed(1)} / ${percentile(floor.times, 99).toFixed(1)}`,
        'main wave: clicks/s acked': wave2.length / main.wallS,
        'main wave: s until all votes recorded': recordedS,
        'main wave: votes recorded/s': distinct2.length / recordedS,
        'main wave: votes recorded/s, first / last quarter': `${rate(0, q).toFixed(0)} / ${rate(finished.length - 1 - q, finished.length - 1).toFixed(0)}`,
        'one read of all 2,000 votes of the review ms': server.readAllVotesMs,
        'main wave: drain seen by the bench after ms': drained2.ms,
        'click→vote recorded p50 / p99 / max ms': `${percentile(clickToVote, 50).toFixed(0)} / ${percentile(clickToVote, 99).toFixed(0)} / ${Math.max(...clickToVote).toFixed(0)}`,
        'bot CPU ms per click (ack, job, replies)': server.cpuMs / sent,
        'non-200 responses': first.errors + main.errors + last.errors + afterClose.errors,
        'vote docs (expected)': `${server.votes.length} (${expected.size})`,
        'history entries (expected)': `${foundHistory} (${expectedHistory})`,
        'lost votes': lost,
        'double-counted votes': doubleCounted,
        'wrong final choice': wrongChoice,
        'click jobs (distinct clicks) / duplicate jobs': `${jobs.length} (${distinctClicks.length}) / ${duplicateJobs}`,
        'click jobs failed or not ok': failedJobs,
        'refused clicks before close': refusedBefore,
        'clicks after close: sent / refused': `${late.length} / ${refused - refusedBefore}`,
        'review after the last vote': `${server.review.status}${server.review.closedReason ? ` (${server.review.closedReason})` : ''}`,
        'jobs left queued or running': server.queueLeft,
        'chat.update / chat.postEphemeral / chat.postMessage': `${delta('chat.update')} / ${delta('chat.postEphemeral')} / ${delta('chat.postMessage')}`,
      },
    );
    const problems = [
      lost > 0 ? `${lost} vote click(s) lost` : '',
      doubleCounted > 0 ? `${doubleCounted} vote click(s) double-counted` : '',
      wrongChoice > 0 ? `${wrongChoice} vote(s) with the wrong final choice` : '',
      duplicateJobs > 0 ? `${duplicateJobs} duplicate click job(s)` : '',
      jobs.length < distinctClicks.length
        ? `${distinctClicks.length - jobs.length} click(s) never became a job`
        : '',
      refusedBefore > 0 ? `${refusedBefore} click(s) refused as closed before the review completed` : '',
      refused - refusedBefore !== late.length
        ? `${refused - refusedBefore} of ${late.length} click(s) after close refused`
        : '',
    ].filter(Boolean);
    if (problems.length > 0) failure = new Error(`reviews-votes: ${problems.join('; ')}`);
  } finally {
    pool.destroy();
    if (child.exitCode === null) await ask('stopped', { kind: 'stop' }).catch(() => undefined);
    await new Promise<void>((r) => api.close(() => r()));
    cleanup();
  }
  if (failure) throw failure;
  return figures;
}

// ---- the bot process ----

function writeSuites(suitesDir: string): { a: string; b: string } {
  mkdirSync(suitesDir, { recursive: true });
  const topics = ['refund', 'shipping', 'password', 'invoice', 'warranty'];
  const rows = (variant: 'a' | 'b') =>
    Array.from({ length: PAIRS }, (_, i) => {
      const topic = topics[i % topics.length]!;
      const input = `Question ${i + 1}: how does the ${topic} policy work for order ${1000 + i}?`;
      const output =
        variant === 'a'
          ? `The ${topic} policy for order ${1000 + i}: you can ask support within 30 days and we will help.`
          : `For order ${1000 + i}, see the ${topic} page in your account; most requests are handled in 2 days.`;
      return JSON.stringify({ id: `q${i + 1}`, input, output });
    }).join('\n');
  const suite = (name: string, dataset: string) =>
    [
      `name: ${name}`,
      `dataset: ./${dataset}`,
      'target:',
      '  type: recorded',
      'metrics:',
      '  - name: refusal',
      'threshold:',
      '  score: 0.5',
      '',
    ].join('\n');
  writeFileSync(join(suitesDir, 'a.jsonl'), `${rows('a')}\n`);
  writeFileSync(join(suitesDir, 'b.jsonl'), `${rows('b')}\n`);
  writeFileSync(join(suitesDir, 'bench-a.yaml'), suite('bench-a', 'a.jsonl'));
  writeFileSync(join(suitesDir, 'bench-b.yaml'), suite('bench-b', 'b.jsonl'));
  return { a: join(suitesDir, 'bench-a.yaml'), b: join(suitesDir, 'bench-b.yaml') };
}

async function until<T>(check: () => Promise<T | undefined | null | false>, what: string, ms = 120_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`reviews-votes bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The bot side: starts the bot with two finished runs and two open reviews, answers the parent over IPC. */
async function serve(child: ChildProcess | NodeJS.Process): Promise<void> {
  const probes = await startBotProbes();
  const dir = process.env.BENCH_DIR ?? '';
  for (const d of ['data', 'monitors', 'digests']) mkdirSync(join(dir, d), { recursive: true });
  const suites = writeSuites(join(dir, 'suites'));
  const bot = await startBot(
    parseEnv({
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: join(dir, 'data'),
      SUITES_DIR: join(dir, 'suites'),
      MONITORS_DIR: join(dir, 'monitors'),
      DIGESTS_DIR: join(dir, 'digests'),
      LOG_LEVEL: 'silent',
      SLACK_BOT_TOKEN: 'xoxb-bench',
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: process.env.BENCH_API_URL ?? '',
      ARBITER_ADMINS: 'UADMIN',
      ARBITER_REVIEWERS: USER_IDS.join(','),
      // Each reviewer clicks 40+ times in a burst: the intake caps (bot/slack-intake.ts) would refuse some.
      SLACK_QUEUE_MAX: '1000000',
      SLACK_QUEUE_MAX_PER_USER: '1000000',
    }),
  );
  const busy = async () =>
    (await bot.queue.list({ status: 'queued', limit: 1 })).length +
    (await bot.queue.list({ status: 'running', limit: 1 })).length;
  const runIds: string[] = [];
  for (const file of [suites.a, suites.b]) runIds.push((await bot.runs.startRun(loadSuite(file, {}))).runId);
  await until(async () => {
    const runs = await Promise.all(runIds.map((id) => bot.runs.getRun(id)));
    const bad = runs.find((r) => r && (r.status === 'failed' || r.status === 'cancelled'));
    if (bad) throw new Error(`reviews-votes bench: run ${bad._id} ended ${bad.status}`);
    return runs.every((r) => r?.status === 'completed');
  }, 'the two runs');
  const open = async () => {
    const { review } = await bot.reviews.create({
      runs: runIds,
      channel: 'CBENCH',
      pairs: PAIRS,
      reviewersPerPair: USERS,
      user: 'UADMIN',
    });
    return review._id;
  };
  const reviewId = await open();
  const warmId = await open();
  // Ballots posted (so every pair has its message ts), the judge done and the queue quiet before any click.
  const posted = async (id: string) => {
    const pairs = await bot.reviews.repository.pairs(id);
    return pairs.length === PAIRS && pairs.every((p) => p.postedRef) ? pairs : undefined;
  };
  const pairs = await until(() => posted(reviewId), 'the ballots');
  const warmPairs = await until(() => posted(warmId), 'the warm-up ballots');
  await until(async () => (await busy()) === 0, 'a quiet queue');
  const review = await bot.reviews.get(reviewId);
  if (review?.status !== 'open' || review.pairCount !== PAIRS)
    throw new Error(
      `reviews-votes bench: review ${reviewId} is ${review?.status} with ${review?.pairCount} pairs`,
    );
  const ref = (p: (typeof pairs)[number]): PairRef => ({ id: p._id, token: p.token, ts: p.postedRef!.ts });

  const doneBase = ((s) => s.succeeded + s.failed)(bot.worker.stats());
  child.on('message', async (msg: ToServer) => {
    if (msg.kind === 'mark') {
      probes.mark();
      child.send?.({ kind: 'marked' } satisfies FromServer);
    } else if (msg.kind === 'drain') {
      const t0 = performance.now();
      // The worker's counters are cheap to poll; the queue is read only to confirm, so polling does not slow the run.
      await until(
        async () => {
          const s = bot.worker.stats();
          return s.succeeded + s.failed - doneBase >= msg.expectedJobs && s.running === 0;
        },
        'the click jobs',
        600_000,
      );
      await until(async () => (await busy()) === 0, 'a quiet queue', 600_000);
      child.send?.({ kind: 'drained', ms: performance.now() - t0 } satisfies FromServer);
    } else if (msg.kind === 'figures') {
      const measured = probes.figures();
      const [votes, jobs, after, queueLeft] = await Promise.all([
        bot.reviews.repository.votes(reviewId),
        bot.queue.list({ type: ACTION_JOB_TYPE, limit: 1_000_000 }),
        bot.reviews.get(reviewId),
        busy(),
      ]);
      // Every vote job reads all the review's votes (and parses each); this is what one such read costs at the end.
      const reads: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        await bot.reviews.repository.votes(reviewId);
        reads.push(performance.now() - t0);
      }
      child.send?.({
        kind: 'figures',
        ...measured,
        votes: votes.map((v) => ({
          pairId: v.pairId,
          user: v.user,
          choice: v.choice,
          keys: v.history.map((h) => h.key),
        })),
        jobs: jobs.map((j) => ({
          key: j.idempotencyKey ?? '',
          status: j.status,
          ok: (j.result as { ok?: unknown } | undefined)?.ok !== false,
          createdMs: j.createdAt.getTime(),
          finishedMs: (j.finishedAt ?? j.updatedAt).getTime(),
        })),
        review: {
          status: after?.status ?? 'missing',
          ...(after?.closedReason ? { closedReason: after.closedReason } : {}),
        },
        queueLeft,
        readAllVotesMs: percentile(reads, 50),
      } satisfies FromServer);
    } else if (msg.kind === 'stop') {
      probes.close();
      await bot.stop();
      child.send?.({ kind: 'stopped' } satisfies FromServer, undefined, {}, () => process.exit(0));
    }
  });
  child.send?.({
    kind: 'ready',
    url: bot.url,
    floorUrl: probes.floorUrl,
    reviewId,
    parentTs: review.parentRef?.ts ?? '',
    pairs: pairs.map(ref),
    warmPairs: warmPairs.map(ref),
  } satisfies FromServer);
}

if (process.env[SERVER_FLAG] === '1') await serve(process);
else if (isMain(import.meta.url)) await run();
