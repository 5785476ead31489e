import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { describeTransport, type RunningBot, startBot } from '../bot/start.ts';
import { signSlackRequest } from '../bot/slack-signature.ts';
import { createSlackApp } from '../bot/slack-app.ts';
import { createSilentLogger, parseEnv } from '../config/index.ts';
import { type FakeSlack, type FakeSlackCall, startFakeSlack } from './fixtures/fake-slack.ts';
import { tempDir } from './helpers/tmp.ts';
import { waitUntil as until } from './helpers/wait.ts';

const SECRET = 'slack-signing-secret-for-tests';

function commandBody(text: string, extra: Record<string, string> = {}, responseUrl?: string): string {
  return new URLSearchParams({
    token: 'ignored',
    team_id: 'T1',
    channel_id: 'C1',
    channel_name: 'evals',
    user_id: 'UADMIN',
    user_name: 'ada',
    command: '/arbiter',
    text,
    trigger_id: `trig-${Math.random().toString(36).slice(2)}`,
    ...(responseUrl ? { response_url: responseUrl } : {}),
    ...extra,
  }).toString();
}

function signed(
  body: string,
  contentType: string,
  at = Math.floor(Date.now() / 1000),
  extra: Record<string, string> = {},
) {
  return {
    method: 'POST',
    headers: {
      'content-type': contentType,
      'x-slack-request-timestamp': String(at),
      'x-slack-signature': signSlackRequest(SECRET, at, body),
      ...extra,
    },
    body,
  };
}

const FORM = 'application/x-www-form-urlencoded';

const textOf = (c: FakeSlackCall) => JSON.stringify(c.args);

describe('Slack front door over HTTP', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function boot(
    extra: Record<string, string> = {},
  ): Promise<{ bot: RunningBot; slack: FakeSlack; events: string }> {
    const slack = await startFakeSlack();
    const { dir, cleanup } = tempDir();
    const bot = await startBot(
      parseEnv({
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: dir,
        MONITORS_DIR: `${dir}/no-monitors`,
        LOG_LEVEL: 'silent',
        SLACK_BOT_TOKEN: 'xoxb-test-token',
        SLACK_SIGNING_SECRET: SECRET,
        SLACK_API_URL: `${slack.url}/api/`,
        ARBITER_ADMINS: 'UADMIN',
        ...extra,
      }),
      { progressEditMs: 0, slackRetries: 2 },
    );
    cleanups.push(
      cleanup,
      () => slack.close(),
      () => bot.stop(),
    );
    return { bot, slack, events: `${bot.url}/slack/events` };
  }

  it('the start-up line names the Slack mode and command', () => {
    const base = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_COMMAND: '/evals' };
    expect(describeTransport(parseEnv({ ...base, SLACK_SIGNING_SECRET: SECRET }))).toBe(
      'slack (HTTP: POST /slack/events; command /evals)',
    );
    expect(describeTransport(parseEnv({ ...base, SLACK_APP_TOKEN: 'xapp-1' }))).toBe(
      'slack (Socket Mode; command /evals)',
    );
    expect(describeTransport(parseEnv({}))).toBe('console (no SLACK_BOT_TOKEN)');
  });

  it('answers url_verification, rejects bad signatures (401) and malformed payloads (400); nothing runs', async () => {
    const { bot, slack, events } = await boot();
    const challenge = JSON.stringify({ type: 'url_verification', challenge: 'abc123', token: 'x' });
    const ok = await fetch(events, signed(challenge, 'application/json'));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ challenge: 'abc123' });

    const body = commandBody('run quickstart');
    const now = Math.floor(Date.now() / 1000);
    const forged = await fetch(events, {
      ...signed(body, FORM),
      headers: { ...signed(body, FORM).headers, 'x-slack-signature': `v0=${'0'.repeat(64)}` },
    });
    expect(forged.status).toBe(401);
    expect((await fetch(events, signed(body, FORM, now - 330))).status).toBe(401);
    expect((await fetch(events, signed(body, FORM, now + 330))).status).toBe(401);
    expect((await fetch(events, { method: 'POST', headers: { 'content-type': FORM }, body })).status).toBe(
      401,
    );

    expect((await fetch(events, signed('{not json', 'application/json'))).status).toBe(400);
    expect((await fetch(events, signed('payload=%7Bbroken', FORM))).status).toBe(400);
    expect((await fetch(events, signed('user_id=U1&text=hi', FORM))).status).toBe(400);

    await new Promise((r) => setTimeout(r, 200));
    expect(await bot.runs.listRuns()).toHaveLength(0);
    expect(await bot.queue.list({})).toHaveLength(0);
    // Only the start-up listing of channels (the shipped digest names #llm-quality); nothing from the requests.
    expect(slack.calls.filter((c) => c.method !== 'conversations.list')).toHaveLength(0);
  });

  it('help, unknown words and refused roles are answered in the ack, ephemerally', async () => {
    const { slack, events } = await boot();
    const ack = async (text: string, user = 'UADMIN') => {
      const res = await fetch(events, signed(commandBody(text, { user_id: user }), FORM));
      expect(res.status).toBe(200);
      return (await res.json()) as { response_type: string; text: string; blocks: unknown[] };
    };
    const help = await ack('help');
    expect(help.response_type).toBe('ephemeral');
    expect(JSON.stringify(help.blocks)).toContain('runs compare');

    const unknown = await ack('frobnicate');
    expect(JSON.stringify(unknown)).toContain('Unknown command');
    expect(JSON.stringify(unknown)).toContain('leaderboard');

    const refusedReview = await ack('review r1 r2', 'UNOBODY');
    expect(JSON.stringify(refusedReview)).toContain('needs the admin role');

    const refused = await ack('run quickstart', 'UNOBODY');
    expect(refused.response_type).toBe('ephemeral');
    expect(JSON.stringify(refused)).toContain('needs the admin role');
    expect(JSON.stringify(refused)).toContain('ARBITER_ADMINS');
    // Only the start-up listing of channels (the shipped digest names #llm-quality); nothing from the requests.
    expect(slack.calls.filter((c) => c.method !== 'conversations.list')).toHaveLength(0);
  });

  it('a run posts one parent, reports once in place (its last edit) and threads the rest; a Slack retry starts nothing new', async () => {
    const { bot, slack, events } = await boot();
    const body = commandBody('run quickstart --limit 4');
    const started = Date.now();
    const first = await fetch(events, signed(body, FORM));
    expect(first.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(2000);
    // Slack retries the same request (same trigger_id).
    const retry = await fetch(
      events,
      signed(body, FORM, undefined, { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' }),
    );
    expect(retry.status).toBe(200);

    const parent = await until(() => slack.calls.find((c) => c.method === 'chat.postMessage'));
    expect(parent.args.channel).toBe('C1');
    expect(textOf(parent)).toContain('Evaluation run: quickstart');
    const parentTs = '1700000000.1001';
    const report = await until(() =>
      slack.calls.find((c) => c.method === 'chat.update' && textOf(c).includes('threshold')),
    );
    expect(report.args.ts).toBe(parentTs);
    expect(textOf(report)).toContain('Mean score');
    await bot.reporter.idle();
    await new Promise((r) => setTimeout(r, 300));
    const posts = slack.calls.filter((c) => c.method === 'chat.postMessage');
    // One parent; everything else is a reply in its thread.
    expect(posts.filter((c) => c.args.thread_ts === undefined)).toHaveLength(1);
    for (const p of posts.slice(1)) expect(p.args.thread_ts).toBe(parentTs);
    expect(await bot.runs.listRuns()).toHaveLength(1);
    expect(await bot.queue.list({ type: 'chat.command' })).toHaveLength(1);
    // The final report is the last edit of the parent.
    const updates = slack.calls.filter((c) => c.method === 'chat.update');
    expect(textOf(updates.at(-1)!)).toContain('threshold');
  });

  it('runs list answers ephemerally; a missing run gives a short reason with a reference, no stack trace', async () => {
    const { slack, events } = await boot();
    await fetch(events, signed(commandBody('runs list'), FORM));
    const list = await until(() => slack.calls.find((c) => c.method === 'chat.postEphemeral'));
    expect(list.args.user).toBe('UADMIN');
    expect(textOf(list)).toContain('No runs yet');
    await fetch(events, signed(commandBody('runs show run_nope'), FORM));
    const missing = await until(() => slack.calls.filter((c) => c.method === 'chat.postEphemeral')[1]);
    expect(textOf(missing)).toContain('No run with id run_nope');
    expect(textOf(missing)).toContain('Reference err_');
    expect(textOf(missing)).not.toMatch(/at .*\.ts:\d+/);
  });

  it('over the per-user cap a command is refused in its ack ("busy, try again in N s"); nothing is recorded for it', async () => {
    const { bot, slack, events } = await boot({ SLACK_QUEUE_MAX_PER_USER: '2' });
    // Replies are held, so the first two commands stay running (and count) until released.
    let release: () => void = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    slack.setReply(async (c) => {
      if (c.method === 'chat.postEphemeral') await held;
      return undefined;
    });
    for (let i = 0; i < 2; i++) {
      const res = await fetch(events, signed(commandBody('runs list'), FORM));
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('');
    }
    const busy = await fetch(events, signed(commandBody('runs list'), FORM));
    expect(busy.status).toBe(200);
    const body = (await busy.json()) as { response_type: string };
    expect(body.response_type).toBe('ephemeral');
    expect(JSON.stringify(body)).toMatch(/Busy, try again in \d+ s/);
    // Another user is not held up by this one.
    const other = await fetch(events, signed(commandBody('runs list', { user_id: 'UOTHER' }), FORM));
    expect(await other.text()).toBe('');
    expect(await bot.queue.list({ type: 'chat.command' })).toHaveLength(3);
    release();
    await until(() => slack.of('chat.postEphemeral').length === 3);
  });

  it('when the store cannot write, the ack says so (with the reason) and /healthz answers 503 with it', async () => {
    const { bot, slack, events } = await boot();
    const ok = await fetch(`${bot.url}/healthz`);
    expect(ok.status).toBe(200);
    // The data folder disappears under the running bot (an unmounted volume, a cleanup script).
    rmSync(bot.store.description.replace(/^embedded \w+ store in /, ''), { recursive: true, force: true });
    const res = await fetch(events, signed(commandBody('runs list'), FORM));
    expect(res.status).toBe(200);
    const text = JSON.stringify(await res.json());
    expect(text).toContain('cannot accept this now');
    expect(text).toMatch(/(jobs\.db|arbiter\.sqlite) was removed/);
    expect(text).toMatch(/reference err_/);
    const health = await fetch(`${bot.url}/healthz`);
    expect(health.status).toBe(503);
    const h = (await health.json()) as { status: string; reason: string };
    expect(h.status).toBe('unavailable');
    expect(h.reason).toMatch(/^store: /);
    await new Promise((r) => setTimeout(r, 200));
    expect(slack.of('chat.postEphemeral')).toHaveLength(0);
  });

  it('an answer goes through response_url first, content and all; chat.postEphemeral is not needed', async () => {
    const { slack, events } = await boot();
    await fetch(events, signed(commandBody('runs list', {}, `${slack.url}/response/abc`), FORM));
    const answer = await until(() => slack.calls.find((c) => c.method === '/response/abc'));
    expect(answer.args).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(textOf(answer)).toContain('No runs yet');
    await new Promise((r) => setTimeout(r, 200));
    expect(slack.of('chat.postEphemeral')).toHaveLength(0);
  });

  it('retries a rate-limited post after Retry-After', async () => {
    const { slack, events } = await boot();
    let limited = 0;
    slack.setReply((c) => {
      if (c.method === 'chat.postEphemeral' && limited === 0) {
        limited += 1;
        return { status: 429, headers: { 'retry-after': '1' }, body: { ok: false, error: 'ratelimited' } };
      }
      return undefined;
    });
    await fetch(events, signed(commandBody('runs list'), FORM));
    await until(() => slack.calls.filter((c) => c.method === 'chat.postEphemeral').length === 2);
    expect(limited).toBe(1);
  });

  it('acknowledges a button no handler knows with 200 and tells the clicker it is no longer active; no job', async () => {
    const { bot, slack, events } = await boot();
    const payload = JSON.stringify({
      type: 'block_actions',
      team: { id: 'T1' },
      user: { id: 'UADMIN' },
      api_app_id: 'A1',
      trigger_id: 't1',
      container: { type: 'message', message_ts: '1.1', channel_id: 'C1', is_ephemeral: false },
      channel: { id: 'C1', name: 'evals' },
      message: { type: 'message', ts: '1.1', text: 'old' },
      actions: [{ type: 'button', action_id: 'noop', block_id: 'b', value: 'v', action_ts: '1.1' }],
    });
    const res = await fetch(events, signed(`payload=${encodeURIComponent(payload)}`, FORM));
    expect(res.status).toBe(200);
    const eph = await until(() => slack.calls.find((c) => c.method === 'chat.postEphemeral'));
    expect(eph.args.user).toBe('UADMIN');
    expect(textOf(eph)).toContain('no longer active');
    expect(await bot.queue.list({ type: 'chat.action' })).toHaveLength(0);
  });

  it('with SLACK_APP_TOKEN the app is built for Socket Mode and /slack/events is not served', () => {
    const door = createSlackApp({
      env: parseEnv({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1' }),
      roles: { admins: [], reviewers: [] },
      queue: {} as never,
      onEnqueued: () => {},
      client: {} as never,
      runs: () => ({}) as never,
      ids: { newId: () => 'x' },
      logger: createSilentLogger(),
    });
    expect(door.mode).toBe('socket');
    expect(door.handle).toBeUndefined();
  });

  it('App Home shows recent runs, reviews waiting for a vote, monitors and the leaderboard; a redelivered event publishes once', async () => {
    const { slack, events } = await boot();
    const event = JSON.stringify({
      type: 'event_callback',
      team_id: 'T1',
      api_app_id: 'A1',
      event_id: 'Ev1',
      event_time: 1,
      authorizations: [{ team_id: 'T1', user_id: 'UBOT', is_bot: true }],
      event: { type: 'app_home_opened', user: 'U7', channel: 'D1', tab: 'home', event_ts: '1.1' },
    });
    expect((await fetch(events, signed(event, 'application/json'))).status).toBe(200);
    expect(
      (await fetch(events, signed(event, 'application/json', undefined, { 'x-slack-retry-num': '1' })))
        .status,
    ).toBe(200);
    const publish = await until(() => slack.calls.find((c) => c.method === 'views.publish'));
    expect(publish.args.user_id).toBe('U7');
    expect(textOf(publish)).toContain('Recent runs');
    expect(textOf(publish)).toContain('Nothing waiting for your vote.');
    expect(textOf(publish)).toContain('Monitors');
    expect(textOf(publish)).toContain('No ratings yet');
    expect(textOf(publish)).not.toContain('not available');
    await new Promise((r) => setTimeout(r, 300));
    expect(slack.calls.filter((c) => c.method === 'views.publish')).toHaveLength(1);
  });
});
