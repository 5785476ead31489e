// Slack: 500 signed slash commands from 50 concurrent clients against the HTTP receiver on loopback (plus 50
// replays of earlier trigger ids, as Slack retries): time to ack, errors, and one job per distinct command.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signSlackRequest } from '../../bot/slack-signature.ts';
import { startBot } from '../../bot/start.ts';
import { parseEnv } from '../../config/index.ts';
import { tempDir } from '../helpers/tmp.ts';
import { isMain, percentile, report } from './util.ts';

const SECRET = 'bench-signing-secret';

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
  const bot = await startBot(
    parseEnv({
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dir,
      LOG_LEVEL: 'silent',
      SLACK_BOT_TOKEN: 'xoxb-bench',
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: apiUrl,
    }),
  );
  try {
    const total = 500;
    const replays = 50;
    const clients = 50;
    const triggers = Array.from({ length: total }, (_, i) => `bench.${i}`);
    const requests = [...triggers, ...triggers.slice(0, replays)];
    const times: number[] = [];
    let errors = 0;
    let next = 0;
    const send = async (trigger: string, retry: boolean) => {
      const body = new URLSearchParams({
        command: '/arbiter',
        text: 'runs list',
        user_id: 'UBENCH',
        channel_id: 'CBENCH',
        trigger_id: trigger,
        team_id: 'T1',
      }).toString();
      const ts = Math.floor(Date.now() / 1000);
      const t0 = performance.now();
      const res = await fetch(`${bot.url}/slack/events`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-slack-request-timestamp': String(ts),
          'x-slack-signature': signSlackRequest(SECRET, ts, body),
          ...(retry ? { 'x-slack-retry-num': '1' } : {}),
        },
        body,
      });
      await res.arrayBuffer();
      times.push(performance.now() - t0);
      if (res.status !== 200) errors += 1;
    };
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async () => {
        for (let i = next++; i < requests.length; i = next++) await send(requests[i]!, i >= total);
      }),
    );
    const wallS = (performance.now() - t0) / 1000;
    const deadline = Date.now() + 60_000;
    while (apiCalls < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    // Give late replays time to (not) enqueue, then count.
    await new Promise((r) => setTimeout(r, 500));
    const jobs = await bot.queue.list({ type: 'chat.command', limit: 10_000 });
    return report(
      `slack: ${total} signed slash commands + ${replays} retries, ${clients} concurrent clients`,
      {
        'ack p50 ms': percentile(times, 50),
        'ack p90 ms': percentile(times, 90),
        'ack p99 ms': percentile(times, 99),
        'ack p50 ms, first 100 / last 100 acks': `${percentile(times.slice(0, 100), 50).toFixed(1)} / ${percentile(times.slice(-100), 50).toFixed(1)}`,
        'ack max ms': Math.max(...times),
        'requests/s': requests.length / wallS,
        'non-200 responses': errors,
        'jobs enqueued (distinct commands)': `${jobs.length} (${total})`,
        'duplicate jobs':
          jobs.length - new Set(jobs.map((j) => j.idempotencyKey)).size + Math.max(0, jobs.length - total),
        'ephemeral replies posted': apiCalls,
      },
    );
  } finally {
    await bot.stop();
    await new Promise<void>((r) => api.close(() => r()));
    cleanup();
  }
}

if (isMain(import.meta.url)) await run();
