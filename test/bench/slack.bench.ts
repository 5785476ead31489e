// Slack: 500 signed slash commands from 50 concurrent clients against the HTTP receiver on loopback (plus 50
// replays of earlier trigger ids, as Slack retries): time to ack, errors, and one job per distinct command.
//
// The bot runs in a child process (this file again, with ARBITER_BENCH_SLACK_SERVER=1), as it would in production:
// Slack's clients are other machines, so the 50 clients' fetch/JSON work must not share the bot's event loop. The
// fake Slack Web API the bot posts replies to stays in this (client) process. Figures: time to ack as the clients
// see it, time from request to response inside the bot (node:http diagnostics), and the bot's event-loop delay.
import { join } from 'node:path';
import { type ChildProcess, fork } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { startBot } from '../../bot/start.ts';
import { parseEnv } from '../../config/index.ts';
import { tempDir } from '../helpers/tmp.ts';
import { createChildAsk, createSlackClients, signBodies, startBotProbes } from './slack-load.ts';
import { isMain, percentile, report } from './util.ts';

const SECRET = 'bench-signing-secret';
const SERVER_FLAG = 'ARBITER_BENCH_SLACK_SERVER';

/** What the bot process reports back when asked. */
interface ServerFigures {
  cpuMs: number;
  serverAckMs: number[];
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  jobs: number;
  distinctKeys: number;
}

type ToServer = { kind: 'mark' } | { kind: 'figures' } | { kind: 'stop' };
type FromServer =
  | { kind: 'ready'; url: string; floorUrl: string }
  | ({ kind: 'figures' } & ServerFigures)
  | { kind: 'marked' }
  | { kind: 'stopped' };

/** Runs the Slack ingress benchmark and returns its figures. */
export async function run(): Promise<Record<string, number | string>> {
  let apiCalls = 0;
  const api = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      apiCalls += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true,"ts":"1.1"}');
    });
  });
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', () => r()));
  const apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}/api/`;
  const { dir, cleanup } = tempDir('arbiter-bench-');
  const child = fork(fileURLToPath(import.meta.url), [], {
    env: { ...process.env, [SERVER_FLAG]: '1', BENCH_DATA_DIR: dir, BENCH_API_URL: apiUrl },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ask = createChildAsk<FromServer, ToServer>(child);
  const total = 500;
  const replays = 50;
  const clients = 50;
  const pool = createSlackClients(clients);
  try {
    const { url, floorUrl } = await ask('ready');
    const warmup = 100;
    const formOf = (trigger: string) =>
      new URLSearchParams({
        command: '/arbiter',
        text: 'runs list',
        user_id: 'UBENCH',
        channel_id: 'CBENCH',
        trigger_id: trigger,
        team_id: 'T1',
      }).toString();
    const load = pool.load;
    // Signed up front so the clients only send: the signing clock is seconds, well within the 5-minute window.
    const triggers = Array.from({ length: total }, (_, i) => `bench.${i}`);
    const requests = signBodies(SECRET, [...triggers, ...triggers.slice(0, replays)].map(formOf)).map(
      (r, i) => ({ ...r, retry: i >= total }),
    );

    // Warm-up (JIT, lazy imports, the clients' 50 keep-alive connections), not counted: a bot in production has
    // served requests before, and Slack's connection set-up is not our listener's time to ack.
    await load(
      url,
      signBodies(
        SECRET,
        Array.from({ length: warmup }, (_, i) => formOf(`warm.${i}`)),
      ),
    );
    while (apiCalls < warmup) await new Promise((r) => setTimeout(r, 20));
    // The floor: the same clients against a bare node:http handler in the bot's process that answers 200 at once.
    // What it shows is the cost of the clients, loopback and this machine's load, not of Arbiter.
    await load(floorUrl, requests.slice(0, 100));
    const floor = await load(floorUrl, requests);

    await ask('marked', { kind: 'mark' });
    const bot = await load(url, requests);
    const deadline = Date.now() + 60_000;
    while (apiCalls < total + warmup && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    // Give late replays time to (not) enqueue, then count.
    await new Promise((r) => setTimeout(r, 500));
    const server = await ask('figures', { kind: 'figures' });
    const acks = server.serverAckMs;
    const { times } = bot;
    return report(
      `slack: ${total} signed slash commands + ${replays} retries, ${clients} concurrent clients (bot in a child process)`,
      {
        'ack p50 ms': percentile(times, 50),
        'ack p90 ms': percentile(times, 90),
        'ack p99 ms': percentile(times, 99),
        'ack p50 ms, first 100 / last 100 acks': `${percentile(times.slice(0, 100), 50).toFixed(1)} / ${percentile(times.slice(-100), 50).toFixed(1)}`,
        'ack max ms': Math.max(...times),
        'in-bot request→response p50 / p99 ms': `${percentile(acks, 50).toFixed(1)} / ${percentile(acks, 99).toFixed(1)}`,
        'bot event-loop delay p99 / max ms': `${server.loopDelayP99Ms.toFixed(1)} / ${server.loopDelayMaxMs.toFixed(1)}`,
        'floor (bare 200) p50 / p99 ms': `${percentile(floor.times, 50).toFixed(1)} / ${percentile(floor.times, 99).toFixed(1)}`,
        'bot CPU ms per request (ack, job, reply)': server.cpuMs / requests.length,
        'requests/s': requests.length / bot.wallS,
        'non-200 responses': bot.errors,
        'jobs enqueued (distinct commands)': `${server.jobs - warmup} (${total})`,
        'duplicate jobs': server.jobs - server.distinctKeys + Math.max(0, server.jobs - warmup - total),
        'ephemeral replies posted': apiCalls - warmup,
      },
    );
  } finally {
    pool.destroy();
    if (child.exitCode === null) await ask('stopped', { kind: 'stop' }).catch(() => undefined);
    await new Promise<void>((r) => api.close(() => r()));
    cleanup();
  }
}

/** The bot side: starts the bot, times its Slack requests, answers the parent over IPC. */
async function serve(child: ChildProcess | NodeJS.Process): Promise<void> {
  const probes = await startBotProbes();
  const bot = await startBot(
    parseEnv({
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: process.env.BENCH_DATA_DIR ?? '',
      // No monitors or digests: the shipped ones post to #names that the bench's Slack does not list.
      MONITORS_DIR: join(process.env.BENCH_DATA_DIR ?? '', 'none'),
      DIGESTS_DIR: join(process.env.BENCH_DATA_DIR ?? '', 'none'),
      LOG_LEVEL: 'silent',
      SLACK_BOT_TOKEN: 'xoxb-bench',
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: process.env.BENCH_API_URL ?? '',
      // One user sends every command: the intake caps (bot/slack-intake.ts) would refuse most of them.
      SLACK_QUEUE_MAX: '1000000',
      SLACK_QUEUE_MAX_PER_USER: '1000000',
    }),
  );
  child.on('message', async (msg: ToServer) => {
    if (msg.kind === 'mark') {
      probes.mark();
      child.send?.({ kind: 'marked' } satisfies FromServer);
    } else if (msg.kind === 'figures') {
      const measured = probes.figures();
      const jobs = await bot.queue.list({ type: 'chat.command', limit: 10_000 });
      child.send?.({
        kind: 'figures',
        ...measured,
        jobs: jobs.length,
        distinctKeys: new Set(jobs.map((j) => j.idempotencyKey)).size,
      } satisfies FromServer);
    } else if (msg.kind === 'stop') {
      probes.close();
      await bot.stop();
      child.send?.({ kind: 'stopped' } satisfies FromServer, undefined, {}, () => process.exit(0));
    }
  });
  child.send?.({ kind: 'ready', url: bot.url, floorUrl: probes.floorUrl } satisfies FromServer);
}

if (process.env[SERVER_FLAG] === '1') await serve(process);
else if (isMain(import.meta.url)) await run();
