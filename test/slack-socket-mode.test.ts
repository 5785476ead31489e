import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningBot, startBot } from '../bot/start.ts';
import { parseEnv } from '../config/index.ts';
import { startFakeSlack } from './fixtures/fake-slack.ts';
import { tempDir } from './helpers/tmp.ts';
import { waitUntil as until } from './helpers/wait.ts';

// `ws` ships no types (and @types/ws is not installed); describe the little used here.
interface WsSocket {
  send(data: string): void;
  on(event: 'message', fn: (data: Buffer) => void): void;
  close(): void;
}
interface WsServer {
  on(event: 'connection', fn: (socket: WsSocket, req: { url?: string }) => void): void;
  once(event: 'listening', fn: () => void): void;
  address(): AddressInfo;
  clients: Set<WsSocket>;
  close(cb?: () => void): void;
}
const { WebSocketServer } = createRequire(import.meta.url)('ws') as {
  WebSocketServer: new (o: { port: number; host: string }) => WsServer;
};

/** Slack's side: the Web API (apps.connections.open and the rest) and the Socket Mode WebSocket. */
async function fakeSlack() {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const wsUrl = `ws://127.0.0.1:${wss.address().port}/link/?ticket=t-1&app_id=A1`;
  const acks: Record<string, unknown>[] = [];
  const connections: string[] = [];
  let socket: WsSocket | undefined;
  wss.on('connection', (s, req) => {
    socket = s;
    connections.push(req.url ?? '');
    s.on('message', (data) => acks.push(JSON.parse(data.toString('utf8'))));
    s.send(
      JSON.stringify({
        type: 'hello',
        num_connections: 1,
        debug_info: { host: 'fake', approximate_connection_time: 18060 },
        connection_info: { app_id: 'A1' },
      }),
    );
  });

  const api = await startFakeSlack();
  api.setReply((c) =>
    c.method === 'apps.connections.open' ? { body: { ok: true, url: wsUrl } } : undefined,
  );
  return {
    url: api.url,
    calls: api.calls,
    acks,
    connections,
    send(envelope: unknown) {
      if (!socket) throw new Error('no Socket Mode connection');
      socket.send(JSON.stringify(envelope));
    },
    close: async () => {
      for (const c of wss.clients) c.close();
      await new Promise<void>((r) => wss.close(() => r()));
      await api.close();
    },
  };
}

function slashEnvelope(envelopeId: string, text: string, user = 'UADMIN', responseUrl?: string) {
  return {
    envelope_id: envelopeId,
    type: 'slash_commands',
    accepts_response_payload: true,
    payload: {
      token: 'legacy',
      team_id: 'T1',
      team_domain: 'acme',
      channel_id: 'C1',
      channel_name: 'evals',
      user_id: user,
      user_name: 'ada',
      command: '/arbiter',
      text,
      api_app_id: 'A1',
      is_enterprise_install: 'false',
      // Tests never reach hooks.slack.com: a response_url points at the fake, or there is none.
      ...(responseUrl ? { response_url: responseUrl } : {}),
      // Socket Mode redelivers the same payload, so the trigger id (and the job's key) stays the same.
      trigger_id: `trig.${envelopeId}`,
    },
  };
}

describe('Socket Mode', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function boot(): Promise<{ bot: RunningBot; slack: Awaited<ReturnType<typeof fakeSlack>> }> {
    const slack = await fakeSlack();
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup, () => slack.close());
    const bot = await startBot(
      parseEnv({
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: dir,
        MONITORS_DIR: `${dir}/no-monitors`,
        LOG_LEVEL: 'silent',
        SLACK_BOT_TOKEN: 'xoxb-test-token',
        SLACK_APP_TOKEN: 'xapp-1-A1-test',
        SLACK_API_URL: `${slack.url}/api/`,
        ARBITER_ADMINS: 'UADMIN',
      }),
      { progressEditMs: 0, slackRetries: 1 },
    );
    cleanups.push(() => bot.stop());
    return { bot, slack };
  }

  it('connects through SLACK_API_URL with the app token, acks a slash command envelope and enqueues one job, even when redelivered', async () => {
    const { bot, slack } = await boot();
    expect(bot.slack?.mode).toBe('socket');
    const open = slack.calls.find((c) => c.method === 'apps.connections.open');
    expect(open?.auth).toBe('Bearer xapp-1-A1-test');
    expect(slack.connections).toHaveLength(1);

    const envelope = slashEnvelope('env-1', 'runs list', 'UADMIN', `${slack.url}/commands/T1/1/abc`);
    slack.send(envelope);
    await until(() => slack.acks.find((a) => a.envelope_id === 'env-1'));
    // Slack did not see the ack in time and sends the same envelope again.
    slack.send(envelope);
    await until(() => slack.acks.filter((a) => a.envelope_id === 'env-1').length === 2);

    // The answer goes by the command's response_url, once.
    const answer = await until(() => slack.calls.find((c) => c.method === '/commands/T1/1/abc'));
    expect(answer.args.response_type).toBe('ephemeral');
    expect(JSON.stringify(answer.args)).toContain('No runs yet');
    await new Promise((r) => setTimeout(r, 300));
    expect(await bot.queue.list({ type: 'chat.command' })).toHaveLength(1);
    expect(slack.calls.filter((c) => c.method === '/commands/T1/1/abc')).toHaveLength(1);
    expect(slack.calls.filter((c) => c.method === 'chat.postEphemeral')).toHaveLength(0);
  });

  it('answers help and refusals in the envelope ack payload, with no job', async () => {
    const { bot, slack } = await boot();
    slack.send(slashEnvelope('env-help', 'help'));
    const help = await until(() => slack.acks.find((a) => a.envelope_id === 'env-help'));
    expect(help.payload).toMatchObject({ response_type: 'ephemeral' });
    expect(JSON.stringify(help.payload)).toContain('runs compare');
    slack.send(slashEnvelope('env-refused', 'run quickstart', 'UNOBODY'));
    const refused = await until(() => slack.acks.find((a) => a.envelope_id === 'env-refused'));
    expect(JSON.stringify(refused.payload)).toContain('ARBITER_ADMINS');
    expect(await bot.queue.list({})).toHaveLength(0);
  });

  it('an interactive envelope (a button) is acked; a button nothing handles is answered to the clicker only', async () => {
    const { bot, slack } = await boot();
    slack.send({
      envelope_id: 'env-click',
      type: 'interactive',
      accepts_response_payload: false,
      payload: {
        type: 'block_actions',
        user: { id: 'UADMIN', team_id: 'T1' },
        api_app_id: 'A1',
        team: { id: 'T1' },
        container: { type: 'message', message_ts: '1700000000.5', channel_id: 'C1', is_ephemeral: false },
        channel: { id: 'C1', name: 'evals' },
        message: { type: 'message', ts: '1700000000.5', text: 'old ballot' },
        trigger_id: '1.2.3',
        actions: [
          { type: 'button', action_id: 'gone', block_id: 'b', value: 'v', action_ts: '1700000001.1' },
        ],
      },
    });
    await until(() => slack.acks.find((a) => a.envelope_id === 'env-click'));
    const eph = await until(() => slack.calls.find((c) => c.method === 'chat.postEphemeral'));
    expect(eph.args.user).toBe('UADMIN');
    expect(JSON.stringify(eph.args)).toContain('no longer active');
    expect(await bot.queue.list({ type: 'chat.action' })).toHaveLength(0);
  });

  it('an events_api envelope and its retry are both acked; the Home tab is published once', async () => {
    const { slack } = await boot();
    const payload = {
      token: 'legacy',
      team_id: 'T1',
      api_app_id: 'A1',
      type: 'event_callback',
      event_id: 'Ev42',
      event_time: 1700000000,
      authorizations: [{ team_id: 'T1', user_id: 'UBOT', is_bot: true }],
      event: { type: 'app_home_opened', user: 'U7', channel: 'D1', tab: 'home', event_ts: '1700000000.1' },
    };
    slack.send({
      envelope_id: 'env-ev-1',
      type: 'events_api',
      accepts_response_payload: false,
      retry_attempt: 0,
      retry_reason: '',
      payload,
    });
    // Socket Mode redelivers under a new envelope id with a retry count; the event id stays.
    slack.send({
      envelope_id: 'env-ev-2',
      type: 'events_api',
      accepts_response_payload: false,
      retry_attempt: 1,
      retry_reason: 'timeout',
      payload,
    });
    await until(() => slack.acks.find((a) => a.envelope_id === 'env-ev-1'));
    await until(() => slack.acks.find((a) => a.envelope_id === 'env-ev-2'));
    const publish = await until(() => slack.calls.find((c) => c.method === 'views.publish'));
    expect(publish.args.user_id).toBe('U7');
    await new Promise((r) => setTimeout(r, 400));
    expect(slack.calls.filter((c) => c.method === 'views.publish')).toHaveLength(1);
  });
});
