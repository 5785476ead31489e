// Buttons and file uploads through the real Bolt app and Web API client: signed `block_actions` payloads (Slack's
// form-encoded `payload=` JSON) over HTTP, a real embedded store and job worker, and a local fake Slack Web API
// (SLACK_API_URL) that records every call, so the assertions are on what would appear in Slack.
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { afterEach, describe, expect, it } from 'vitest';
import { ACTION_JOB_TYPE } from '../bot/action-jobs.ts';
import { createSlackApp } from '../bot/slack-app.ts';
import { createRoleResolver } from '../bot/slack-roles.ts';
import { signSlackRequest } from '../bot/slack-signature.ts';
import { createSlackClient, createSlackTransport, SlackPostError } from '../bot/slack-transport.ts';
import type { ActionContext, ActionHandler } from '../chat/actions.ts';
import type { RolePolicy } from '../chat/index.ts';
import { createSilentLogger, parseEnv, systemIds } from '../config/index.ts';
import { createJobQueue, createWorker } from '../storage/index.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { type FakeSlackCall, startFakeSlack } from './fixtures/fake-slack.ts';
import { tempDir } from './helpers/tmp.ts';
import { waitUntil as until } from './helpers/wait.ts';

const SECRET = 'slack-signing-secret-for-tests';
const FORM = 'application/x-www-form-urlencoded';

function signed(body: string, contentType = FORM, extra: Record<string, string> = {}) {
  const at = Math.floor(Date.now() / 1000);
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

const MESSAGE_TS = '1700000000.000100';

/** A `block_actions` payload shaped like Slack's for a button in a channel message. */
function blockActions(
  o: {
    user?: string;
    actionId?: string;
    value?: string;
    actionTs?: string;
    threadTs?: string;
    responseUrl?: string;
    ephemeral?: boolean;
  } = {},
) {
  const user = o.user ?? 'UREV';
  const payload = {
    type: 'block_actions',
    user: { id: user, username: 'rev', name: 'rev', team_id: 'T1' },
    api_app_id: 'A1',
    token: 'legacy-token-ignored',
    container: {
      type: 'message',
      message_ts: MESSAGE_TS,
      channel_id: 'C1',
      is_ephemeral: o.ephemeral ?? false,
      ...(o.threadTs ? { thread_ts: o.threadTs } : {}),
    },
    trigger_id: '123.456.abc',
    team: { id: 'T1', domain: 'acme' },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: 'C1', name: 'evals' },
    message: {
      type: 'message',
      subtype: 'bot_message',
      text: 'Which answer is better?',
      ts: MESSAGE_TS,
      bot_id: 'B1',
      ...(o.threadTs ? { thread_ts: o.threadTs } : {}),
      blocks: [],
    },
    state: { values: {} },
    ...(o.responseUrl ? { response_url: o.responseUrl } : {}),
    actions: [
      {
        action_id: o.actionId ?? 'vote:pair1',
        block_id: 'b1',
        text: { type: 'plain_text', text: 'A is better', emoji: true },
        value: o.value ?? 'a',
        style: 'primary',
        type: 'button',
        action_ts: o.actionTs ?? `1700000001.${Math.floor(Math.random() * 1e6)}`,
      },
    ],
  };
  return `payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

const textOf = (c: FakeSlackCall | undefined) => JSON.stringify(c?.args ?? {});

describe('Slack buttons (block_actions)', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function boot(
    actions: ActionHandler[],
    roles: (slackUrl: string) => RolePolicy | Promise<RolePolicy> = () => ({
      admins: ['UADMIN'],
      reviewers: ['UREV'],
    }),
  ) {
    const slack = await startFakeSlack();
    const { dir, cleanup } = tempDir();
    const store = await createEmbeddedStore({ dir });
    const queue = await createJobQueue(store);
    const logger = createSilentLogger();
    const env = parseEnv({
      SLACK_BOT_TOKEN: 'xoxb-test-token',
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: `${slack.url}/api/`,
    });
    const client = createSlackClient({ token: 'xoxb-test-token', apiUrl: env.SLACK_API_URL, retries: 2 });
    let notify = () => {};
    const door = createSlackApp({
      env,
      roles: await roles(slack.url),
      actions: () => actions,
      queue,
      onEnqueued: () => notify(),
      client,
      runs: () => ({}) as never,
      ids: systemIds,
      logger,
    });
    const worker = createWorker({ queue, handlers: door.handlers, concurrency: 2, leaseMs: 30_000, logger });
    notify = () => worker.notify();
    worker.start();
    const server = serve({ fetch: (req) => door.handle!(req), port: 0, hostname: '127.0.0.1' });
    await new Promise<void>((r) => server.once('listening', () => r()));
    const events = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
    cleanups.push(
      cleanup,
      () => store.close(),
      () => slack.close(),
      () => worker.stop(1000),
      () => new Promise<void>((r) => server.close(() => r())),
    );
    return { slack, queue, worker, events };
  }

  /** A vote handler that records its calls and answers with all three kinds of result. */
  function voteHandler() {
    const seen: { actionId: string; value: string; ctx: ActionContext }[] = [];
    const handler: ActionHandler = {
      prefix: 'vote',
      role: 'reviewer',
      async handle(input, ctx) {
        seen.push({ ...input, ctx });
        return {
          update: { title: 'Thanks: 1 vote so far', sections: [{ kind: 'text', text: 'Tally: A 1 · B 0' }] },
          reply: { title: 'New vote', sections: [{ kind: 'text', text: `<@${ctx.user}> voted` }] },
          ephemeral: { title: 'You voted A', sections: [{ kind: 'text', text: `value ${input.value}` }] },
        };
      },
    };
    return { handler, seen };
  }

  it('a reviewer click is acked at once, runs its handler once in a job, and updates, replies in thread and tells the clicker', async () => {
    const { handler, seen } = voteHandler();
    let release = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const slow: ActionHandler = {
      ...handler,
      async handle(input, ctx) {
        await gate;
        return handler.handle(input, ctx);
      },
    };
    const { slack, queue, events } = await boot([slow]);
    const body = blockActions({ actionTs: '1700000001.000001', value: 'pair1:a' });
    const res = await fetch(events, signed(body));
    // The ack does not wait for the handler (still blocked on the gate).
    expect(res.status).toBe(200);
    expect(seen).toHaveLength(0);
    // Slack redelivers the same click: same action_ts, user and action id.
    expect((await fetch(events, signed(body, FORM, { 'x-slack-retry-num': '1' }))).status).toBe(200);
    release();

    const update = await until(() => slack.of('chat.update')[0]);
    expect(update.args.channel).toBe('C1');
    expect(update.args.ts).toBe(MESSAGE_TS);
    expect(textOf(update)).toContain('Tally: A 1');
    const reply = await until(() => slack.of('chat.postMessage')[0]);
    expect(reply.args.thread_ts).toBe(MESSAGE_TS);
    expect(textOf(reply)).toContain('New vote');
    const eph = await until(() => slack.of('chat.postEphemeral')[0]);
    expect(eph.args.user).toBe('UREV');
    expect(textOf(eph)).toContain('value pair1:a');

    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      actionId: 'vote:pair1',
      value: 'pair1:a',
      ctx: {
        user: 'UREV',
        channel: 'C1',
        messageTs: MESSAGE_TS,
        key: 'slack:action:1700000001.000001:UREV:vote:pair1',
      },
    });
    expect(await queue.list({ type: ACTION_JOB_TYPE })).toHaveLength(1);
    expect(slack.of('chat.update')).toHaveLength(1);
    expect(slack.of('chat.postMessage')).toHaveLength(1);
  });

  it('a click inside a thread replies in that thread', async () => {
    const { handler } = voteHandler();
    const { slack, events } = await boot([handler]);
    await fetch(events, signed(blockActions({ threadTs: '1699999999.000001' })));
    const reply = await until(() => slack.of('chat.postMessage')[0]);
    expect(reply.args.thread_ts).toBe('1699999999.000001');
  });

  it('an unknown button gets "no longer active"; a user without the role is told which role and variable; nothing runs', async () => {
    const { handler, seen } = voteHandler();
    const { slack, queue, events } = await boot([handler]);
    await fetch(events, signed(blockActions({ actionId: 'old.feature' })));
    const inactive = await until(() => slack.of('chat.postEphemeral')[0]);
    expect(inactive.args.user).toBe('UREV');
    expect(inactive.args.channel).toBe('C1');
    expect(textOf(inactive)).toContain('no longer active');

    await fetch(events, signed(blockActions({ user: 'UNOBODY' })));
    const refused = await until(() => slack.of('chat.postEphemeral')[1]);
    expect(refused.args.user).toBe('UNOBODY');
    expect(textOf(refused)).toContain('needs the reviewer role');
    expect(textOf(refused)).toContain('ARBITER_REVIEWERS');
    expect(textOf(refused)).toContain('UNOBODY');

    // Admins may vote too.
    await fetch(events, signed(blockActions({ user: 'UADMIN' })));
    await until(() => seen.length === 1);
    expect(await queue.list({ type: ACTION_JOB_TYPE })).toHaveLength(1);
  });

  it('a member of a reviewer user group (ARBITER_REVIEWERS=S…) may vote once the group is read', async () => {
    const { handler, seen } = voteHandler();
    const { slack, events } = await boot([handler], async (url) => {
      const resolver = createRoleResolver({
        admins: ['UADMIN'],
        reviewers: ['S0REVIEWERS'],
        client: createSlackClient({ token: 'xoxb-test-token', apiUrl: `${url}/api/`, retries: 0 }),
        logger: createSilentLogger(),
      });
      await resolver.start();
      resolver.stop();
      return resolver.policy;
    });
    expect(slack.of('usergroups.users.list')[0]?.args.usergroup).toBe('S0REVIEWERS');
    await fetch(events, signed(blockActions({ user: 'UGROUPMEMBER' })));
    await until(() => seen.length === 1);
    await fetch(events, signed(blockActions({ user: 'UOUTSIDER' })));
    const refused = await until(() =>
      slack.of('chat.postEphemeral').find((c) => c.args.user === 'UOUTSIDER'),
    );
    expect(textOf(refused)).toContain('needs the reviewer role');
  });

  it('a handler error becomes an ephemeral with a reference id and no stack trace', async () => {
    const broken: ActionHandler = {
      prefix: 'vote',
      role: 'reader',
      async handle() {
        throw new Error('boom at handler (/work/main/reviews/x.ts:12:3)');
      },
    };
    const { slack, events } = await boot([broken]);
    await fetch(events, signed(blockActions()));
    const err = await until(() => slack.of('chat.postEphemeral')[0]);
    expect(textOf(err)).toContain('Reference err_');
    expect(textOf(err)).not.toContain('boom');
    expect(textOf(err)).not.toMatch(/\.ts:\d+/);
    expect(slack.of('chat.update')).toHaveLength(0);
  });

  it('a rate-limited update is retried after Retry-After and lands once', async () => {
    const { handler } = voteHandler();
    const { slack, events } = await boot([handler]);
    let limited = 0;
    slack.setReply((c) => {
      if (c.method === 'chat.update' && limited === 0) {
        limited += 1;
        return { status: 429, headers: { 'retry-after': '1' }, body: { ok: false, error: 'ratelimited' } };
      }
      return undefined;
    });
    await fetch(events, signed(blockActions()));
    await until(() => slack.of('chat.update').length === 2);
    expect(limited).toBe(1);
    expect(textOf(slack.of('chat.update')[1])).toContain('Tally');
    await until(() => slack.of('chat.postEphemeral')[0]);
  });

  it('where the bot cannot post, the clicker still gets everything through response_url; an ephemeral source is replaced there', async () => {
    const { handler } = voteHandler();
    const { slack, events } = await boot([handler]);
    slack.setReply((c) =>
      c.method === 'chat.postEphemeral' || c.method === 'chat.postMessage'
        ? { body: { ok: false, error: 'channel_not_found' } }
        : undefined,
    );
    await fetch(events, signed(blockActions({ responseUrl: `${slack.url}/response/r1`, ephemeral: true })));
    const replaced = await until(() =>
      slack.of('/response/r1').find((c) => c.args.replace_original === true),
    );
    expect(textOf(replaced)).toContain('Tally');
    const told = await until(() => slack.of('/response/r1').find((c) => textOf(c).includes('You voted A')));
    expect(told.args).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    // The thread reply could not be posted: the clicker sees it, told why, with no stack or Slack code.
    const reply = await until(() => slack.of('/response/r1').find((c) => textOf(c).includes('New vote')));
    expect(textOf(reply)).toContain('Only you see this');
    expect(textOf(reply)).not.toContain('channel_not_found');
    // An ephemeral message cannot be edited with chat.update.
    expect(slack.of('chat.update')).toHaveLength(0);
    expect(slack.of('chat.postEphemeral')).toHaveLength(0);
  });

  it('ephemeral answers to a click inside a thread carry its thread_ts, by response_url and by chat.postEphemeral', async () => {
    const { handler } = voteHandler();
    const { slack, events } = await boot([handler]);
    const thread = '1699999999.000001';
    await fetch(events, signed(blockActions({ threadTs: thread, responseUrl: `${slack.url}/response/t1` })));
    const byUrl = await until(() => slack.of('/response/t1').find((c) => textOf(c).includes('value')));
    expect(byUrl.args).toMatchObject({ response_type: 'ephemeral', thread_ts: thread });
    // Without a response_url (or once it is spent) the ephemeral goes by chat.postEphemeral, in the same thread.
    await fetch(events, signed(blockActions({ threadTs: thread })));
    const eph = await until(() => slack.of('chat.postEphemeral')[0]);
    expect(eph.args).toMatchObject({ channel: 'C1', user: 'UREV', thread_ts: thread });
    // A refusal told before any job runs goes to the thread too.
    await fetch(events, signed(blockActions({ threadTs: thread, user: 'UNOBODY' })));
    const refused = await until(() => slack.of('chat.postEphemeral').find((c) => c.args.user === 'UNOBODY'));
    expect(refused.args.thread_ts).toBe(thread);
    expect(textOf(refused)).toContain('needs the reviewer role');
  });
});

describe('Slack transport: file uploads and post keys', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup() {
    const slack = await startFakeSlack();
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup, () => slack.close());
    const client = createSlackClient({ token: 'xoxb-test-token', apiUrl: `${slack.url}/api`, retries: 0 });
    const path = join(dir, 'trend.png');
    const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
    writeFileSync(path, bytes);
    return { slack, transport: createSlackTransport(client, createSilentLogger()), path, bytes };
  }

  it('asks for an upload URL, posts the bytes there, then completes the upload into the thread', async () => {
    const { slack, transport, path, bytes } = await setup();
    await transport.uploadFile(
      { channel: 'C1', threadTs: '1700000000.000200' },
      { path, title: 'Score trend', altText: 'Mean score per day' },
    );
    expect(slack.calls.map((c) => c.method)).toEqual([
      'files.getUploadURLExternal',
      '/upload/F123',
      'files.completeUploadExternal',
    ]);
    const [slot, upload, complete] = slack.calls;
    expect(slot?.args).toMatchObject({
      filename: 'trend.png',
      length: String(bytes.length),
      alt_txt: 'Mean score per day',
    });
    expect(upload?.raw.equals(bytes)).toBe(true);
    expect(complete?.args).toMatchObject({
      files: [{ id: 'F123', title: 'Score trend' }],
      channel_id: 'C1',
      thread_ts: '1700000000.000200',
    });
  });

  it('a post with a key carries it as message metadata, and findPosted finds it in history or in a thread', async () => {
    const { slack, transport } = await setup();
    const ref = await transport.post(
      { channel: 'C1' },
      { title: 'Digest', summary: 'daily', sections: [] },
      { key: 'daily|day|2026-11-19|parent' },
    );
    const [posted] = slack.of('chat.postMessage');
    expect(JSON.parse(String(posted!.args.metadata))).toEqual({
      event_type: 'arbiter_post',
      event_payload: { key: 'daily|day|2026-11-19|parent' },
    });
    // Slack's history as it answers with include_all_metadata: other messages, then ours on the second page.
    const message = (ts: string, key?: string) => ({
      type: 'message',
      bot_id: 'B1',
      text: 'Digest',
      ts,
      ...(key ? { metadata: { event_type: 'arbiter_post', event_payload: { key } } } : {}),
    });
    slack.setReply((c) => {
      if (c.method === 'conversations.history')
        return c.args.cursor
          ? {
              body: { ok: true, messages: [message(ref.ts, 'daily|day|2026-11-19|parent')], has_more: false },
            }
          : {
              body: {
                ok: true,
                messages: [message('1700000000.2000'), message('1700000000.1999', 'other|parent')],
                has_more: true,
                response_metadata: { next_cursor: 'bmV4dA==' },
              },
            };
      if (c.method === 'conversations.replies')
        return { body: { ok: true, messages: [message(ref.ts), message('1700000000.3000', 'k|reply|0')] } };
      return undefined;
    });
    const since = new Date('2026-11-20T00:00:00Z');
    expect(await transport.findPosted!({ channel: 'C1' }, 'daily|day|2026-11-19|parent', since)).toEqual({
      channel: 'C1',
      ts: ref.ts,
    });
    const [first, second] = slack.of('conversations.history');
    expect(first!.args).toMatchObject({
      channel: 'C1',
      include_all_metadata: 'true',
      oldest: '1795132800.000000',
    });
    expect(second!.args).toMatchObject({ cursor: 'bmV4dA==' });
    expect(await transport.findPosted!({ channel: 'C1', threadTs: ref.ts }, 'k|reply|0', since)).toEqual({
      channel: 'C1',
      ts: '1700000000.3000',
    });
    expect(slack.of('conversations.replies')[0]!.args).toMatchObject({
      ts: ref.ts,
      include_all_metadata: 'true',
    });
    expect(
      await transport.findPosted!({ channel: 'C1', threadTs: ref.ts }, 'k|reply|1', since),
    ).toBeUndefined();
  });

  it("findUploaded finds a file by its name among a thread's replies", async () => {
    const { slack, transport } = await setup();
    slack.setReply((c) =>
      c.method === 'conversations.replies'
        ? {
            body: {
              ok: true,
              messages: [
                { type: 'message', ts: '1700000000.0001', text: 'Digest' },
                {
                  type: 'message',
                  ts: '1700000000.0002',
                  files: [{ id: 'F1', name: 'daily-2026-11-19.png', title: 'Score trend' }],
                },
              ],
            },
          }
        : undefined,
    );
    const thread = { channel: 'C1', threadTs: '1700000000.0001' };
    expect(await transport.findUploaded!(thread, 'daily-2026-11-19.png', new Date(0))).toEqual({
      channel: 'C1',
      ts: '1700000000.0002',
    });
    expect(await transport.findUploaded!(thread, 'daily-2026-11-20.png', new Date(0))).toBeUndefined();
  });

  it('findPosted cannot tell without the history scope (undefined), and fails when Slack fails', async () => {
    const { slack, transport } = await setup();
    slack.setReply(() => ({ body: { ok: false, error: 'missing_scope', needed: 'channels:history' } }));
    expect(await transport.findPosted!({ channel: 'C1' }, 'k', new Date())).toBeUndefined();
    slack.setReply(() => ({ body: { ok: false, error: 'internal_error' } }));
    await expect(transport.findPosted!({ channel: 'C1' }, 'k', new Date())).rejects.toBeInstanceOf(
      SlackPostError,
    );
  });

  it('a Slack error the user can fix comes back as a SlackPostError with a hint', async () => {
    const { slack, transport, path } = await setup();
    slack.setReply((c) =>
      c.method === 'files.completeUploadExternal'
        ? { body: { ok: false, error: 'not_in_channel' } }
        : undefined,
    );
    const err = await transport.uploadFile({ channel: 'C1' }, { path, title: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SlackPostError);
    expect((err as SlackPostError).hint).toContain('/invite @arbiter');
  });
});
