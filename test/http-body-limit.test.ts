// Request bodies are capped on every route before they are read in full, and Slack's unsigned ssl_check is
// answered 200 (issue 16, Deliver 3). Driven against the real bot over real sockets.
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { signSlackRequest } from '../bot/slack-signature.ts';
import { type RunningBot, startBot } from '../bot/start.ts';
import { parseEnv } from '../config/index.ts';
import { type FakeSlack, startFakeSlack } from './fixtures/fake-slack.ts';
import { tempDir } from './helpers/tmp.ts';

const SECRET = 'slack-signing-secret-for-tests';
const FORM = 'application/x-www-form-urlencoded';
const MB = 1024 * 1024;

/**
 * POSTs `total` bytes in 1 MiB chunks (the same buffer each time, so the client holds no more than one chunk),
 * declared with Content-Length or sent chunked; stops writing as soon as the server answers.
 */
function streamPost(
  url: string,
  path: string,
  total: number,
  declared: boolean,
): Promise<{ status: number; sent: number; body: string }> {
  const chunk = Buffer.alloc(MB, 'a');
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(url);
    let sent = 0;
    let answered = false;
    const req = request(
      {
        hostname,
        port,
        path,
        method: 'POST',
        headers: {
          'content-type': FORM,
          ...(declared ? { 'content-length': String(total) } : { 'transfer-encoding': 'chunked' }),
        },
      },
      (res) => {
        answered = true;
        let body = '';
        res.on('data', (d: Buffer) => {
          body += d.toString('utf8');
        });
        res.on('end', () => {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, sent, body });
        });
      },
    );
    // The server may close the socket while we still write: that is the refusal working, not a failure.
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    const pump = () => {
      while (!answered && sent < total && !req.destroyed) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!answered && sent >= total) req.end();
    };
    pump();
  });
}

describe('HTTP body cap and ssl_check', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function boot(extra: Record<string, string> = {}): Promise<{ bot: RunningBot; slack: FakeSlack }> {
    const slack = await startFakeSlack();
    const { dir, cleanup } = tempDir();
    const bot = await startBot(
      parseEnv({
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: dir,
        MONITORS_DIR: `${dir}/no-monitors`,
        DIGESTS_DIR: `${dir}/no-digests`,
        LOG_LEVEL: 'silent',
        SLACK_BOT_TOKEN: 'xoxb-test-token',
        SLACK_SIGNING_SECRET: SECRET,
        SLACK_API_URL: `${slack.url}/api/`,
        LANGFUSE_WEBHOOK_SECRET: 'lf-whsec_test',
        ARBITER_ADMINS: 'UADMIN',
        ...extra,
      }),
      { progressEditMs: 0, slackRetries: 0 },
    );
    cleanups.push(
      cleanup,
      () => slack.close(),
      () => bot.stop(),
    );
    return { bot, slack };
  }

  it('answers an unsigned ssl_check with 200 and runs nothing it carries', async () => {
    const { bot, slack } = await boot();
    const plain = await fetch(`${bot.url}/slack/events`, {
      method: 'POST',
      headers: { 'content-type': FORM },
      body: 'ssl_check=1&token=abc',
    });
    expect(plain.status).toBe(200);
    // A slash command smuggled into an ssl_check is not run unsigned.
    const smuggled = new URLSearchParams({
      ssl_check: '1',
      command: '/arbiter',
      text: 'runs list',
      user_id: 'UADMIN',
      channel_id: 'C1',
      trigger_id: 'trig-ssl',
    }).toString();
    const r = await fetch(`${bot.url}/slack/events`, {
      method: 'POST',
      headers: { 'content-type': FORM },
      body: smuggled,
    });
    expect(r.status).toBe(200);
    expect(await bot.queue.list({ type: 'chat.command' })).toHaveLength(0);
    // Without ssl_check the same unsigned body is still refused.
    const unsigned = await fetch(`${bot.url}/slack/events`, {
      method: 'POST',
      headers: { 'content-type': FORM },
      body: 'command=%2Farbiter&text=help',
    });
    expect(unsigned.status).toBe(401);
    expect(slack.calls).toHaveLength(0);
  });

  it('refuses a 200 MB unsigned POST with 413 on every route without holding it in memory', async () => {
    const { bot } = await boot();
    for (const path of ['/slack/events', '/webhooks/langfuse', '/healthz', '/anything']) {
      for (const declared of [true, false]) {
        global.gc?.();
        const before = process.memoryUsage().rss;
        const r = await streamPost(bot.url, path, 200 * MB, declared);
        const grew = process.memoryUsage().rss - before;
        expect({ path, declared, status: r.status }).toEqual({ path, declared, status: 413 });
        // Had the body been read whole, RSS would have grown by 200 MB or more; the cap holds at most 1 MiB, and
        // the server stops reading (discarding at most what is already in flight).
        expect(
          grew,
          `${path} (${declared ? 'content-length' : 'chunked'}) grew RSS by ${grew} bytes`,
        ).toBeLessThan(48 * MB);
        expect(r.sent).toBeLessThan(200 * MB);
        expect(JSON.parse(r.body)).toMatchObject({ error: 'payload too large', maxBytes: MB });
      }
    }
  });

  it('accepts a signed command under HTTP_MAX_BODY_BYTES and refuses one over it', async () => {
    const { bot } = await boot({ HTTP_MAX_BODY_BYTES: '2048' });
    const send = async (padding: number) => {
      const at = Math.floor(Date.now() / 1000);
      const body = new URLSearchParams({
        command: '/arbiter',
        text: 'runs list',
        user_id: 'UADMIN',
        channel_id: 'C1',
        trigger_id: `trig-${padding}`,
        pad: 'x'.repeat(padding),
      }).toString();
      return fetch(`${bot.url}/slack/events`, {
        method: 'POST',
        headers: {
          'content-type': FORM,
          'x-slack-request-timestamp': String(at),
          'x-slack-signature': signSlackRequest(SECRET, at, body),
        },
        body,
      });
    };
    expect((await send(1000)).status).toBe(200);
    expect((await send(3000)).status).toBe(413);
    expect(await bot.queue.list({ type: 'chat.command' })).toHaveLength(1);
  });
});
