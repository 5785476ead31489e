// Slack: 500 signed slash commands from 50 concurrent clients against the HTTP receiver on loopback (plus 50
// replays of earlier trigger ids, as Slack retries): time to ack, errors, and one job per distinct command.
//
// The bot runs in a child process (this file again, with ARBITER_BENCH_SLACK_SERVER=1), as it would in production:
// Slack's clients are other machines, so the 50 clients' fetch/JSON work must not share the bot's event loop. The
// fake Slack Web API the bot posts replies to stays in this (client) process. Figures: time to ack as the clients
// see it, time from request to response inside the bot (node:http diagnostics), and the bot's event-loop delay.
import { type ChildProcess, fork } from 'node:child_process';
import diagnostics from 'node:diagnostics_channel';
import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { signSlackRequest } from '../../bot/slack-signature.ts';
import { startBot } from '../../bot/start.ts';
import { parseEnv } from '../../config/index.ts';
import { tempDir } from '../helpers/tmp.ts';
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
  const ask = <K extends FromServer['kind']>(kind: K, msg?: ToServer) =>
    new Promise<Extract<FromServer, { kind: K }>>((resolve, reject) => {
      const onMessage = (m: FromServer) => {
        if (m.kind !== kind) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(m as Extract<FromServer, { kind: K }>);
      };
      const onExit = (code: number | null) =>
        reject(new Error(`bot process exited (${code}) before '${kind}'`));
      child.on('message', onMessage);
      child.once('exit', onExit);
      if (msg) child.send(msg);
    });
  const total = 500;
  const replays = 50;
  const clients = 50;
  // node:http with keep-alive, not fetch: undici's fetch costs ~2 ms of client CPU per request here, against
  // ~0.3 ms, and the clients must not be what this benchmark measures.
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  try {
    const { url, floorUrl } = await ask('ready');
    const warmup = 100;
    const signed = (trigger: string) => {
      const body = new URLSearchParams({
        command: '/arbiter',
        text: 'runs list',
        user_id: 'UBENCH',
        channel_id: 'CBENCH',
        trigger_id: trigger,
        team_id: 'T1',
      }).toString();
      const ts = Math.floor(Date.now() / 1000);
      return { body, ts, signature: signSlackRequest(SECRET, ts, body), retry: false };
    };
    const send = (base: string, req: ReturnType<typeof signed>) =>
      new Promise<{ ms: number; ok: boolean }>((resolve, reject) => {
        const t0 = performance.now();
        const r = request(
          `${base}/slack/events`,
          {
            method: 'POST',
            agent,
            headers: {
              'content-type': 'application/x-www-form-urlencoded',
              'content-length': Buffer.byteLength(req.body),
              'x-slack-request-timestamp': String(req.ts),
              'x-slack-signature': req.signature,
              ...(req.retry ? { 'x-slack-retry-num': '1' } : {}),
            },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve({ ms: performance.now() - t0, ok: res.statusCode === 200 }));
            res.on('error', reject);
          },
        );
        r.on('error', reject);
        r.end(req.body);
      });
    const load = async (base: string, requests: ReturnType<typeof signed>[]) => {
      const times: number[] = [];
      let errors = 0;
      let next = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: clients }, async () => {
          for (let i = next++; i < requests.length; i = next++) {
            const r = await send(base, requests[i]!);
            times.push(r.ms);
            if (!r.ok) errors += 1;
          }
        }),
      );
      return { times, errors, wallS: (performance.now() - t0) / 1000 };
    };
    // Signed up front so the clients only send: the signing clock is seconds, well within the 5-minute window.
    const triggers = Array.from({ length: total }, (_, i) => `bench.${i}`);
    const requests = [...triggers, ...triggers.slice(0, replays)].map((t, i) => ({
      ...signed(t),
      retry: i >= total,
    }));

    // Warm-up (JIT, lazy imports, the clients' 50 keep-alive connections), not counted: a bot in production has
    // served requests before, and Slack's connection set-up is not our listener's time to ack.
    await load(
      url,
      Array.from({ length: warmup }, (_, i) => signed(`warm.${i}`)),
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
    agent.destroy();
    if (child.exitCode === null) await ask('stopped', { kind: 'stop' }).catch(() => undefined);
    await new Promise<void>((r) => api.close(() => r()));
    cleanup();
  }
}

/** The bot side: starts the bot, times its Slack requests, answers the parent over IPC. */
async function serve(child: ChildProcess | NodeJS.Process): Promise<void> {
  const loop = monitorEventLoopDelay({ resolution: 5 });
  const started = new WeakMap<ServerResponse, number>();
  const serverAckMs: number[] = [];
  diagnostics.subscribe('http.server.request.start', (m) => {
    const { request, response } = m as { request: IncomingMessage; response: ServerResponse };
    if (request.url?.startsWith('/slack/events')) started.set(response, performance.now());
  });
  diagnostics.subscribe('http.server.response.finish', (m) => {
    const t = started.get((m as { response: ServerResponse }).response);
    if (t !== undefined) serverAckMs.push(performance.now() - t);
  });
  const bot = await startBot(
    parseEnv({
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: process.env.BENCH_DATA_DIR ?? '',
      LOG_LEVEL: 'silent',
      SLACK_BOT_TOKEN: 'xoxb-bench',
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: process.env.BENCH_API_URL ?? '',
    }),
  );
  const floor = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200).end());
  });
  await new Promise<void>((r) => floor.listen(0, '127.0.0.1', () => r()));
  const floorUrl = `http://127.0.0.1:${(floor.address() as AddressInfo).port}`;
  let cpu0 = process.cpuUsage();
  loop.enable();
  child.on('message', async (msg: ToServer) => {
    if (msg.kind === 'mark') {
      serverAckMs.length = 0;
      loop.reset();
      cpu0 = process.cpuUsage();
      child.send?.({ kind: 'marked' } satisfies FromServer);
    } else if (msg.kind === 'figures') {
      loop.disable();
      const jobs = await bot.queue.list({ type: 'chat.command', limit: 10_000 });
      child.send?.({
        kind: 'figures',
        serverAckMs,
        cpuMs: ((u) => (u.user + u.system) / 1000)(process.cpuUsage(cpu0)),
        loopDelayP99Ms: loop.percentile(99) / 1e6,
        loopDelayMaxMs: loop.max / 1e6,
        jobs: jobs.length,
        distinctKeys: new Set(jobs.map((j) => j.idempotencyKey)).size,
      } satisfies FromServer);
    } else if (msg.kind === 'stop') {
      floor.close();
      await bot.stop();
      child.send?.({ kind: 'stopped' } satisfies FromServer, undefined, {}, () => process.exit(0));
    }
  });
  child.send?.({ kind: 'ready', url: bot.url, floorUrl } satisfies FromServer);
}

if (process.env[SERVER_FLAG] === '1') await serve(process);
else if (isMain(import.meta.url)) await run();
