// Slack outbox: eight 60-item runs launched from one channel finish together, then 20 `/arbiter runs list` come
// from 20 users in 20 other channels while the eight reports (edit + thread replies each) are still being
// delivered. Figures: time from each command to its answer at the fake Slack (p50/p99), how many report
// deliveries were still waiting when the last answer arrived, and the post rates the fake Slack observed (per
// channel, at most Slack's ~1/s after a short burst; chat.update at most Tier 3's ~50/min).
//
// The bot runs in this process with the real store, worker and delivery loop; Slack is the loopback fake of
// test/fixtures/fake-slack.ts, reached through signed requests and the Web API client.
//
// Reading the `runs list` figures: the 20 commands are claimed one after another by the worker (about 8 ms apart
// on a 2-core machine), so the p50 is mostly the time to work through half the queue while the report deliveries
// run beside it. Its run-to-run spread is about ±30 %. To compare two commits, run them alternately, in both
// orders, for ten or more pairs, and look at the process CPU in the answer window as well: a change that adds work
// moves that figure; one that only reorders it does not.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBot } from '../../bot/start.ts';
import { signSlackRequest } from '../../bot/slack-signature.ts';
import { parseEnv } from '../../config/index.ts';
import { startFakeSlack } from '../fixtures/fake-slack.ts';
import { tempDir } from '../helpers/tmp.ts';
import { isMain, percentile, report } from './util.ts';

const SECRET = 'bench-outbox-secret';
const RUNS = 8;
const ITEMS = 60;
const LISTS = 20;

/** Most events in any window of `ms` in a sorted list of times. */
function maxInWindow(times: readonly number[], ms: number): number {
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < times.length; hi++) {
    while (times[hi]! - times[lo]! >= ms) lo += 1;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

/** Runs the benchmark and returns its figures. */
export async function run(): Promise<Record<string, number | string>> {
  const slack = await startFakeSlack();
  const { dir, cleanup } = tempDir('arbiter-bench-outbox-');
  const at: { method: string; channel: string; t: number; path: string }[] = [];
  slack.setReply((c) => {
    at.push({
      method: c.method,
      channel: String(c.args.channel ?? ''),
      t: performance.now(),
      path: c.method,
    });
    return undefined;
  });
  // A 60-row suite: a third of the answers are refusals, so each report has a thread of failing items.
  const suites = join(dir, 'suites');
  mkdirSync(suites, { recursive: true });
  mkdirSync(join(dir, 'empty'), { recursive: true });
  writeFileSync(
    join(suites, 'rows.jsonl'),
    Array.from({ length: ITEMS }, (_, i) =>
      JSON.stringify({
        id: `row-${i}`,
        input: `What is item ${i}?`,
        expected: `Item ${i}`,
        output: i % 3 === 0 ? 'I cannot help with that.' : `Item ${i} is item ${i}.`,
      }),
    ).join('\n'),
  );
  writeFileSync(
    join(suites, 'bench60.yaml'),
    [
      'name: bench60',
      'dataset: rows.jsonl',
      'target:',
      '  type: recorded',
      'metrics:',
      '  - metric: refusal',
      '  - metric: length',
      '    args: { max: 120, unit: words }',
      'threshold:',
      '  score: 0.7',
    ].join('\n'),
  );
  const bot = await startBot(
    parseEnv({
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: join(dir, 'data'),
      LOG_LEVEL: 'silent',
      SLACK_BOT_TOKEN: 'xoxb-bench',
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: `${slack.url}/api/`,
      SUITES_DIR: suites,
      MONITORS_DIR: join(dir, 'empty'),
      DIGESTS_DIR: join(dir, 'empty'),
      WORKER_CONCURRENCY: String(RUNS),
    }),
    { progressEditMs: 500 },
  );
  const send = async (text: string, user: string, channel: string, n: string) => {
    const body = new URLSearchParams({
      team_id: 'T1',
      channel_id: channel,
      user_id: user,
      command: '/arbiter',
      text,
      trigger_id: `bench.${n}`,
      response_url: `${slack.url}/commands/T1/${n}/x`,
    }).toString();
    const ts = Math.floor(Date.now() / 1000);
    const res = await fetch(`${bot.url}/slack/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': String(ts),
        'x-slack-signature': signSlackRequest(SECRET, ts, body),
      },
      body,
    });
    await res.text();
    if (res.status !== 200) throw new Error(`command answered ${res.status}`);
  };
  const until = async <T>(fn: () => T | Promise<T>, ms: number, what: string): Promise<NonNullable<T>> => {
    const end = Date.now() + ms;
    for (;;) {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  try {
    await Promise.all(
      Array.from({ length: RUNS }, (_, i) => send('run bench60', 'URUNNER', 'CRUNS', `run${i}`)),
    );
    await until(
      async () => {
        const runs = await bot.runs.listRuns({ limit: 50 });
        return runs.length === RUNS && runs.every((r) => r.status === 'completed');
      },
      180_000,
      'the eight runs',
    );
    const runsDone = performance.now();
    // Right away, while the reports are on their way: 20 users ask in 20 other channels.
    const sentAt = new Map<string, number>();
    const cpuBefore = process.cpuUsage();
    await Promise.all(
      Array.from({ length: LISTS }, async (_, i) => {
        sentAt.set(`CL${i}`, performance.now());
        await send('runs list', `UL${i}`, `CL${i}`, `list${i}`);
      }),
    );
    const answered = await until(
      () => {
        const m = new Map<string, number>();
        for (const c of at) {
          // An answer comes by the command's response_url (first choice), or by a chat.* call to its channel.
          const byUrl = /^\/commands\/T1\/list(\d+)\/x$/.exec(c.method);
          const channel = byUrl ? `CL${byUrl[1]}` : c.method.startsWith('chat.') ? c.channel : '';
          if (channel.startsWith('CL') && !m.has(channel)) m.set(channel, c.t);
        }
        return m.size === LISTS ? m : undefined;
      },
      60_000,
      'the 20 answers',
    );
    const cpuInWindow = process.cpuUsage(cpuBefore);
    const lastAnswer = Math.max(...answered.values());
    const latencies = [...answered].map(([ch, t]) => t - sentAt.get(ch)!);
    const postsWhenAnswered = at.filter(
      (c) => c.channel === 'CRUNS' && c.t <= lastAnswer && c.method === 'chat.postMessage',
    ).length;
    // Every report recorded as delivered (the run marked reported only then).
    const runPosts = await bot.store.collection<{ _id: string; reported: boolean }>('chat_run_posts');
    await until(
      async () => (await runPosts.count({ reported: true })) === RUNS,
      300_000,
      'the eight reports',
    );
    const reportsDone = performance.now();
    const posts = at.filter((c) => c.channel === 'CRUNS' && c.method === 'chat.postMessage').map((c) => c.t);
    const updates = at.filter((c) => c.method === 'chat.update').map((c) => c.t);
    const afterBurst = posts.slice(5);
    const sustained =
      afterBurst.length > 1 ? (afterBurst.length - 1) / ((afterBurst.at(-1)! - afterBurst[0]!) / 1000) : 0;
    return report(
      `slack outbox: ${RUNS} runs × ${ITEMS} items finish in one channel, then ${LISTS} \`runs list\` from ${LISTS} users in other channels`,
      {
        'runs list: command → answer p50 ms': percentile(latencies, 50),
        'runs list: command → answer p99 ms': percentile(latencies, 99),
        'runs list: command → answer max ms': Math.max(...latencies),
        'runs list: process CPU ms, first command → last answer':
          (cpuInWindow.user + cpuInWindow.system) / 1000,
        'report posts in #runs when the last answer came': `${postsWhenAnswered} of ${posts.length}`,
        'reports: runs done → all 8 reported s': (reportsDone - runsDone) / 1000,
        '#runs chat.postMessage: max in any 1 s': maxInWindow(posts, 1000),
        '#runs chat.postMessage: max in any 10 s': maxInWindow(posts, 10_000),
        '#runs chat.postMessage after the burst, msg/s': sustained,
        'chat.update (workspace): max in any 60 s': maxInWindow(updates, 60_000),
        'chat.update (workspace): total': updates.length,
      },
    );
  } finally {
    await bot.stop();
    await slack.close();
    cleanup();
  }
}

if (isMain(import.meta.url)) await run();
