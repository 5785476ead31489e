// Slack intake: (1) job claim latency with 1k, 10k and 100k jobs queued (embedded store); (2) kill -9 of the bot
// mid-burst, N trials (INTAKE_TRIALS, default 5): 50 clients send signed commands and clicks, the bot is killed
// after a third is acked and restarted: acked, answered, lost (must be 0), duplicated replies; (3) a flood of
// INTAKE_FLOOD_S seconds (default 60) from 50 clients against the default caps: ack p99, refusals, jobs/s drained,
// peak RSS of the bot. The bot runs in a child process (test/fixtures/slack-crash-bot.ts) as in production.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createJobQueue } from '../../storage/index.ts';
import { createEmbeddedStore } from '../../storage/open.ts';
import { startFakeSlack } from '../fixtures/fake-slack.ts';
import { kill9, startTsChild, waitForLines } from '../helpers/child.ts';
import {
  CRASH_BOT_SECRET,
  clickRequest,
  commandRequest,
  createBurst,
  isAccepted,
  repliesByChannel,
  serveThreadHistory,
} from '../helpers/slack-crash.ts';
import { tempDir } from '../helpers/tmp.ts';
import { isMain, median, percentile, report } from './util.ts';

async function claimLatency(queued: number): Promise<{ claimMs: number; enqueueMs: number }> {
  const { dir, cleanup } = tempDir('arbiter-bench-claims-');
  const store = await createEmbeddedStore({ dir, autocompactMs: 0 });
  try {
    const queue = await createJobQueue(store);
    const t0 = performance.now();
    for (let n = 0; n < queued; n++)
      await queue.enqueue({
        type: 'chat.command',
        payload: { n },
        idempotencyKey: `k${n}`,
        group: `slack:U${n % 50}`,
      });
    const enqueueMs = (performance.now() - t0) / queued;
    const times: number[] = [];
    // 200 claims (each takes the earliest job), each followed by an enqueue so the backlog stays at `queued`.
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      const job = await queue.claim('bench', 60_000, ['chat.command']);
      times.push(performance.now() - t);
      if (!job) throw new Error('intake bench: nothing to claim');
      await queue.complete(job._id, 'bench');
      await queue.enqueue({ type: 'chat.command', payload: { i }, idempotencyKey: `again${i}` });
    }
    return { claimMs: median(times), enqueueMs };
  } finally {
    await store.close();
    cleanup();
  }
}

async function startChild(dir: string, apiUrl: string, extra: string[] = []) {
  const child = startTsChild('test/fixtures/slack-crash-bot.ts', [dir, apiUrl, ...extra]);
  const lines = await waitForLines(child, (ls) => ls.some((l) => l.startsWith('ready ')), 60_000);
  return { child, url: lines.find((l) => l.startsWith('ready '))!.slice('ready '.length) };
}

/** Peak RSS of a child in MiB (Linux: VmHWM). */
function peakRss(child: ChildProcess): number {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 'NaN');
  return Math.round(kb / 102.4) / 10;
}

async function killTrial(trial: number) {
  const slack = await startFakeSlack();
  serveThreadHistory(slack);
  const { dir, cleanup } = tempDir('arbiter-bench-crash-');
  const apiUrl = `${slack.url}/api/`;
  const burst = createBurst(CRASH_BOT_SECRET, 50);
  try {
    const first = await startChild(dir, apiUrl);
    const total = 2000;
    const id = `t${trial}`;
    const requests = Array.from({ length: total }, (_, n) =>
      n % 3 === 2 ? clickRequest(id, n, 50, slack.url) : commandRequest(id, n, 50, slack.url),
    );
    let accepted = 0;
    let killing: Promise<void> | undefined;
    // Kill after a varying share was acked (a quarter to a half), so trials land at different moments.
    const killAt = Math.round(total * (0.25 + ((trial * 7) % 10) / 40));
    const outcomes = await burst.run(first.url, requests, (_i, o) => {
      if (isAccepted(o)) accepted += 1;
      if (!killing && accepted >= killAt) {
        killing = kill9(first.child);
        burst.stop();
      }
    });
    await killing;
    const acked = requests.filter((_, i) => outcomes[i] && isAccepted(outcomes[i]!));
    const second = await startChild(dir, apiUrl);
    const deadline = Date.now() + 60_000;
    const answered = () => {
      const r = repliesByChannel(slack);
      return acked.filter((q) => (r.get(q.channel) ?? 0) > 0).length;
    };
    while (answered() < acked.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 1500));
    const replies = repliesByChannel(slack);
    await kill9(second.child);
    const dup = [...replies.values()].filter((n) => n > 1).length;
    return {
      acked: acked.length,
      answered: answered(),
      lost: acked.length - answered(),
      duplicated: dup,
      answeredUnacked: [...replies.keys()].filter((ch) => !acked.some((q) => q.channel === ch)).length,
    };
  } finally {
    burst.destroy();
    await slack.close();
    cleanup();
  }
}

async function flood(seconds: number) {
  const slack = await startFakeSlack();
  const { dir, cleanup } = tempDir('arbiter-bench-flood-');
  const burst = createBurst(CRASH_BOT_SECRET, 50);
  // The default caps (SLACK_QUEUE_MAX=1000, SLACK_QUEUE_MAX_PER_USER=20), 200 users.
  const bot = await startChild(dir, `${slack.url}/api/`, [
    'SLACK_QUEUE_MAX=1000',
    'SLACK_QUEUE_MAX_PER_USER=20',
  ]);
  try {
    const times: number[] = [];
    let accepted = 0;
    let refused = 0;
    let errors = 0;
    const t0 = performance.now();
    let n = 0;
    const until = Date.now() + seconds * 1000;
    // Batches of requests until the time is up (the burst sender takes a fixed list).
    while (Date.now() < until) {
      const batch = Array.from({ length: 2000 }, () => {
        const i = n++;
        return i % 3 === 2 ? clickRequest('f', i, 200, slack.url) : commandRequest('f', i, 200, slack.url);
      });
      const stopAt = setTimeout(() => burst.stop(), Math.max(0, until - Date.now()));
      const outs = await burst.run(bot.url, batch, (_i, o) => {
        if (o.ms !== undefined) times.push(o.ms);
        if (isAccepted(o)) accepted += 1;
        else if (o.status === 200) refused += 1;
        else errors += 1;
      });
      clearTimeout(stopAt);
      if (outs.length === 0) break;
    }
    const floodS = (performance.now() - t0) / 1000;
    const answeredAtEnd = repliesByChannel(slack).size;
    // Drain: wait until every accepted request is answered (or 5 minutes).
    const t1 = performance.now();
    const deadline = Date.now() + 300_000;
    while (repliesByChannel(slack).size < accepted && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    const drainS = (performance.now() - t1) / 1000;
    const answered = repliesByChannel(slack).size;
    return {
      floodS,
      sent: times.length,
      accepted,
      refused,
      errors,
      ackP50: percentile(times, 50),
      ackP99: percentile(times, 99),
      answeredDuring: answeredAtEnd,
      jobsPerS: answered / (floodS + drainS),
      drainAfterS: drainS,
      leftUnanswered: accepted - answered,
      rss: peakRss(bot.child),
    };
  } finally {
    burst.destroy();
    await kill9(bot.child);
    await slack.close();
    cleanup();
  }
}

/** Runs the intake benchmark and returns its figures. */
export async function run(): Promise<Record<string, number | string>> {
  const figures: Record<string, number | string> = {};
  // INTAKE_PARTS=claims,kill,flood (default all) runs only some parts.
  const parts = new Set((process.env.INTAKE_PARTS ?? 'claims,kill,flood').split(','));
  if (parts.has('claims'))
    for (const queued of [1000, 10_000, 100_000]) {
      const r = await claimLatency(queued);
      figures[`claim median ms at ${queued} queued`] = r.claimMs;
      figures[`enqueue mean ms while filling to ${queued}`] = r.enqueueMs;
    }
  const trials = parts.has('kill') ? Number(process.env.INTAKE_TRIALS ?? 5) : 0;
  const rows: Awaited<ReturnType<typeof killTrial>>[] = [];
  for (let t = 0; t < trials; t++) rows.push(await killTrial(t));
  const sum = (k: keyof (typeof rows)[number]) => rows.reduce((s, r) => s + r[k], 0);
  figures['kill -9 trials'] = trials;
  figures['acked per trial (median)'] = median(rows.map((r) => r.acked));
  figures['acked / answered / lost, all trials'] = `${sum('acked')} / ${sum('answered')} / ${sum('lost')}`;
  figures['duplicated replies, all trials'] = sum('duplicated');
  figures['answered though not acked (in flight at kill)'] = sum('answeredUnacked');
  if (parts.has('flood')) {
    const f = await flood(Number(process.env.INTAKE_FLOOD_S ?? 60));
    figures['flood seconds (50 clients)'] = f.floodS;
    figures['flood requests sent / accepted / refused busy / errors'] =
      `${f.sent} / ${f.accepted} / ${f.refused} / ${f.errors}`;
    figures['flood ack p50 / p99 ms'] = `${f.ackP50.toFixed(1)} / ${f.ackP99.toFixed(1)}`;
    figures['jobs/s drained (answered / (flood + drain))'] = f.jobsPerS;
    figures['drain after the flood s'] = f.drainAfterS;
    figures['accepted but unanswered after drain'] = f.leftUnanswered;
    figures['bot peak RSS MiB'] = f.rss;
  }
  report('intake: claims by backlog, kill -9 mid-burst, 50-client flood', figures);
  if (sum('lost') > 0) throw new Error(`intake bench: ${sum('lost')} acked requests were lost`);
  return figures;
}

if (isMain(import.meta.url)) await run();
