// App Home shows a user only what they may see: runs and reviews from channels they are in (users.conversations,
// cached) or their own; the admin view says it is one (issue 16, Deliver 7). The whole bot runs; Slack is the fake
// Web API, whose users.conversations answers with Slack's paged shape
// (https://api.slack.com/methods/users.conversations: channels[], response_metadata.next_cursor).
import { afterEach, describe, expect, it } from 'vitest';
import { signSlackRequest } from '../bot/slack-signature.ts';
import { type RunningBot, startBot } from '../bot/start.ts';
import { parseEnv } from '../config/index.ts';
import { type FakeSlack, startFakeSlack } from './fixtures/fake-slack.ts';
import { tempDir } from './helpers/tmp.ts';
import { waitUntil } from './helpers/wait.ts';

const SECRET = 'slack-signing-secret-for-tests';

describe('App Home visibility', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function boot(): Promise<{ bot: RunningBot; slack: FakeSlack }> {
    const slack = await startFakeSlack();
    slack.channels.push(
      { id: 'C0PUBLIC001', name: 'evals', members: ['U0MEMBER', 'U0ADMIN'] },
      { id: 'G0SECRET001', name: 'secret-evals', is_private: true, members: ['U0ADMIN'] },
    );
    // The bot is in the private channel, and D0ADMINDM1 is its own DM with the admin: runs may be posted in both.
    slack.setChannel('G0SECRET001', { kind: 'private', member: true });
    slack.setChannel('D0ADMINDM1', { kind: 'im', member: true, user: 'U0ADMIN' });
    const { dir, cleanup } = tempDir();
    const bot = await startBot(
      parseEnv({
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: dir,
        MONITORS_DIR: `${dir}/none`,
        DIGESTS_DIR: `${dir}/none`,
        LOG_LEVEL: 'silent',
        SLACK_BOT_TOKEN: 'xoxb-test-token',
        SLACK_SIGNING_SECRET: SECRET,
        SLACK_API_URL: `${slack.url}/api/`,
        ARBITER_ADMINS: 'U0ADMIN',
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

  async function openHome(bot: RunningBot, slack: FakeSlack, user: string, n: number): Promise<string> {
    const body = JSON.stringify({
      type: 'event_callback',
      team_id: 'T1',
      api_app_id: 'A1',
      event_id: `Ev-${user}-${n}`,
      event_time: 1,
      event: { type: 'app_home_opened', user, channel: 'D1', tab: 'home', event_ts: `1.${n}` },
    });
    const at = Math.floor(Date.now() / 1000);
    const res = await fetch(`${bot.url}/slack/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-slack-request-timestamp': String(at),
        'x-slack-signature': signSlackRequest(SECRET, at, body),
      },
      body,
    });
    expect(res.status).toBe(200);
    const publish = await waitUntil(() =>
      slack.of('views.publish').find((c) => c.args.user_id === user && !c.args.__seen),
    );
    publish.args.__seen = true;
    return JSON.stringify(publish.args.view);
  }

  it('a member sees runs of channels they are in, not a private channel’s or a DM’s; an admin sees all', async () => {
    const { bot, slack } = await boot();
    await bot.submitCommand('run quickstart --limit 2', { user: 'U0ADMIN', channel: 'C0PUBLIC001' });
    await bot.submitCommand('run quickstart --limit 2', { user: 'U0ADMIN', channel: 'G0SECRET001' });
    await bot.submitCommand('run quickstart --limit 2', { user: 'U0ADMIN', channel: 'D0ADMINDM1' });
    const runs = await waitUntil(async () => {
      const all = await bot.runs.listRuns({ limit: 10 });
      return all.length === 3 && all.every((r) => r.status === 'completed') ? all : undefined;
    }, 25_000);
    const byChannel = Object.fromEntries(runs.map((r) => [r.origin?.channel, r._id]));
    expect(runs.map((r) => r.origin?.user)).toEqual(['U0ADMIN', 'U0ADMIN', 'U0ADMIN']);

    const member = await openHome(bot, slack, 'U0MEMBER', 1);
    expect(member).toContain(byChannel.C0PUBLIC001);
    expect(member).not.toContain(byChannel.G0SECRET001);
    expect(member).not.toContain(byChannel.D0ADMINDM1);
    expect(member).toContain('from channels you are in');
    expect(member).not.toContain('Admin view');
    const asked = slack.of('users.conversations').map((c) => c.args.user);
    expect(asked).toEqual(['U0MEMBER']);

    const admin = await openHome(bot, slack, 'U0ADMIN', 2);
    for (const id of Object.values(byChannel)) expect(admin).toContain(id);
    expect(admin).toContain('Admin view');

    // The member's channels are cached: opening the tab again does not ask Slack again.
    await openHome(bot, slack, 'U0MEMBER', 3);
    expect(slack.of('users.conversations').map((c) => c.args.user)).toEqual(['U0MEMBER']);
  });

  it('when Slack cannot say which channels a user is in, the tab shows none of the others’ runs', async () => {
    const { bot, slack } = await boot();
    slack.setReply((call) =>
      call.method === 'users.conversations' ? { body: { ok: false, error: 'internal_error' } } : undefined,
    );
    await bot.submitCommand('run quickstart --limit 2', { user: 'U0ADMIN', channel: 'C0PUBLIC001' });
    const [run] = await waitUntil(async () => {
      const all = await bot.runs.listRuns({ limit: 10 });
      return all.length === 1 && all[0]!.status === 'completed' ? all : undefined;
    }, 25_000);
    const view = await openHome(bot, slack, 'U0MEMBER', 1);
    expect(view).not.toContain(run!._id);
    expect(view).toContain('Showing only your own runs');
  });
});
