// Channel names in YAML are resolved to ids once at start (conversations.list, paged and cached) or refused with a
// clear message; a missing_scope answer is told to the admins once (issue 16, Deliver 4). Driven against the fake
// Slack Web API (test/fixtures/fake-slack.ts), which answers conversations.list with Slack's paged shape.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createChannelDirectory, resolveChannelRefs } from '../bot/slack-channels.ts';
import { createScopeAlerts, watchClientScopes } from '../bot/slack-scopes.ts';
import { type RunningBot, startBot } from '../bot/start.ts';
import { createSlackClient } from '../bot/slack-transport.ts';
import { createSilentLogger, isArbiterError, parseEnv } from '../config/index.ts';
import { type FakeSlack, startFakeSlack } from './fixtures/fake-slack.ts';
import { tempDir } from './helpers/tmp.ts';
import { waitUntil } from './helpers/wait.ts';

const MONITOR = (channel: string, source = 'type: file\n  path: data.jsonl') => `name: watch
schedule:
  every: 30m
source:
  ${source}
extract:
  input: q
  output: a
metrics:
  - metric: refusal
publish:
  channel: "${channel}"
  reportEmpty: true
`;
const DIGEST = (channel: string) => `name: daily
schedule:
  cron: "0 9 * * *"
  timezone: UTC
channel: "${channel}"
`;

describe('channel names resolved once', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function fake(): Promise<FakeSlack> {
    const slack = await startFakeSlack();
    cleanups.push(() => slack.close());
    return slack;
  }

  it('pages conversations.list with its cursor, lists once, and keeps ids as they are', async () => {
    const slack = await fake();
    slack.channels.splice(0, slack.channels.length);
    for (let i = 0; i < 450; i++)
      slack.channels.push({ id: `C${String(i).padStart(9, '0')}`, name: `team-${i}` });
    slack.channels.push({ id: 'G0PRIVATE01', name: 'Evals-Private', is_private: true });
    const directory = createChannelDirectory(
      createSlackClient({ token: 'xoxb-t', apiUrl: `${slack.url}/api/` }),
    );
    const ids = await resolveChannelRefs(directory, [
      { where: 'a.yaml: publish.channel', value: '#team-3' },
      { where: 'b.yaml: channel', value: '#evals-private' },
      { where: 'c.yaml: channel', value: 'C000000007' },
      { where: 'd.yaml: channel', value: 'team-449' },
    ]);
    expect(Object.fromEntries(ids)).toEqual({
      '#team-3': 'C000000003',
      '#evals-private': 'G0PRIVATE01',
      'team-449': 'C000000449',
    });
    const calls = slack.of('conversations.list');
    // 451 channels at 200 a page: three pages, listed once for all four references.
    expect(calls.map((c) => [c.args.limit, c.args.types, c.args.cursor ?? ''])).toEqual([
      ['200', 'public_channel,private_channel', ''],
      ['200', 'public_channel,private_channel', expect.any(String)],
      ['200', 'public_channel,private_channel', expect.any(String)],
    ]);
  });

  it('refuses a name that matches no channel at start, naming the file and field', async () => {
    const slack = await fake();
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    mkdirSync(join(dir, 'monitors'));
    mkdirSync(join(dir, 'digests'));
    writeFileSync(join(dir, 'data.jsonl'), '');
    writeFileSync(join(dir, 'monitors', 'watch.yaml'), MONITOR('#does-not-exist'));
    writeFileSync(join(dir, 'digests', 'daily.yaml'), DIGEST('#llm-quality'));
    const err = await startBot(
      parseEnv({
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: join(dir, 'data'),
        MONITORS_DIR: join(dir, 'monitors'),
        DIGESTS_DIR: join(dir, 'digests'),
        LOG_LEVEL: 'silent',
        SLACK_BOT_TOKEN: 'xoxb-test',
        SLACK_SIGNING_SECRET: 'slack-signing-secret-for-tests',
        SLACK_API_URL: `${slack.url}/api/`,
      }),
    ).catch((e: unknown) => e);
    expect(isArbiterError(err, 'CONFIG_INVALID')).toBe(true);
    const message = (err as Error).message;
    expect(message).toContain(
      `${join(dir, 'monitors', 'watch.yaml')}: publish.channel: no channel "#does-not-exist"`,
    );
    expect(message).not.toContain('llm-quality');
    expect((err as { exitCode: number }).exitCode).toBe(2);
  });

  it('the shipped examples start against a workspace that has their channels, and post to the ids', async () => {
    const slack = await fake();
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const bot: RunningBot = await startBot(
      parseEnv({
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: dir,
        LOG_LEVEL: 'silent',
        SLACK_BOT_TOKEN: 'xoxb-test',
        SLACK_SIGNING_SECRET: 'slack-signing-secret-for-tests',
        SLACK_API_URL: `${slack.url}/api/`,
        ARBITER_ADMINS: 'UADMIN',
      }),
      { slackRetries: 0 },
    );
    cleanups.push(() => bot.stop());
    // The example monitor (publish.channel "#llm-monitors") ticks at start and posts its report to the channel id.
    await waitUntil(() => slack.of('chat.postMessage').length > 0, 20_000);
    expect(slack.of('chat.postMessage')[0]!.args.channel).toBe('C0LLMMONI01');
    expect(slack.of('conversations.list')).toHaveLength(1);
  });
});

describe('missing_scope is reported to the admins once', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('a WebClient call: the caller still gets the error, admins get one DM per scope', async () => {
    const slack = await startFakeSlack();
    cleanups.push(() => slack.close());
    // https://api.slack.com/methods/conversations.history: errors answer HTTP 200 {ok:false, error, needed, provided}.
    slack.setReply((call) =>
      call.method === 'conversations.history'
        ? { body: { ok: false, error: 'missing_scope', needed: 'groups:history', provided: 'chat:write' } }
        : undefined,
    );
    const client = createSlackClient({ token: 'xoxb-t', apiUrl: `${slack.url}/api/`, retries: 0 });
    const alerts = createScopeAlerts({
      admins: () => ['UADMIN1', 'SGROUP', 'UADMIN2'],
      notify: (user, message) => client.chat.postMessage({ channel: user, text: message.summary ?? '' }),
      logger: createSilentLogger(),
    });
    watchClientScopes(client, alerts);
    for (let i = 0; i < 3; i++)
      await expect(client.conversations.history({ channel: 'G0PRIV' })).rejects.toMatchObject({
        data: { error: 'missing_scope' },
      });
    await waitUntil(() => slack.of('chat.postMessage').length >= 2, 5000);
    await new Promise((r) => setTimeout(r, 100));
    const dms = slack.of('chat.postMessage');
    expect(dms.map((c) => c.args.channel).sort()).toEqual(['UADMIN1', 'UADMIN2']);
    expect(String(dms[0]!.args.text)).toContain('groups:history');
    expect(alerts.reported()).toEqual(['groups:history']);
  });

  it('the slack monitor source at start: the tick fails with the scope and the admin is told once', async () => {
    const slack = await startFakeSlack();
    cleanups.push(() => slack.close());
    slack.setReply((call) =>
      call.method === 'conversations.history'
        ? { body: { ok: false, error: 'missing_scope', needed: 'channels:history', provided: 'chat:write' } }
        : undefined,
    );
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    mkdirSync(join(dir, 'monitors'));
    writeFileSync(
      join(dir, 'monitors', 'watch.yaml'),
      MONITOR('#general', 'type: slack\n  channel: C0GENERAL01\n  botUserId: U0BOT\n  minIntervalSeconds: 0'),
    );
    const bot = await startBot(
      parseEnv({
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: join(dir, 'data'),
        MONITORS_DIR: join(dir, 'monitors'),
        DIGESTS_DIR: join(dir, 'none'),
        LOG_LEVEL: 'silent',
        SLACK_BOT_TOKEN: 'xoxb-test',
        SLACK_SIGNING_SECRET: 'slack-signing-secret-for-tests',
        SLACK_API_URL: `${slack.url}/api/`,
        ARBITER_ADMINS: 'UADMIN',
      }),
      { slackRetries: 0 },
    );
    cleanups.push(() => bot.stop());
    await waitUntil(() => slack.of('chat.postMessage').some((c) => c.args.channel === 'UADMIN'), 20_000);
    const dm = slack.of('chat.postMessage').filter((c) => c.args.channel === 'UADMIN');
    expect(dm).toHaveLength(1);
    expect(JSON.stringify(dm[0]!.args.blocks)).toContain('channels:history');
    // The failing tick itself is reported in the monitor's channel, with the scope to add.
    await waitUntil(() => slack.of('chat.postMessage').some((c) => c.args.channel === 'C0GENERAL01'), 20_000);
    const failing = slack.of('chat.postMessage').find((c) => c.args.channel === 'C0GENERAL01')!;
    expect(JSON.stringify(failing.args)).toContain('missing_scope');
  });
});
