// Answers reach the user wherever they typed (issue 16, Deliver 1): signed slash commands into the running bot, a
// real embedded store and worker, and the fake Slack Web API answering membership and response_url as Slack does
// (test/fixtures/fake-slack.ts). Covers DMs between people, private channels without the bot, the bot's own DM,
// the response_url budget across a restart, and the Slack error codes of the reply path.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MAPPED_SLACK_CODES, slackErrorAction } from '../bot/slack-errors.ts';
import { createMemoryResponseUrlBudget, createSlackReplies } from '../bot/slack-reply.ts';
import { signSlackRequest } from '../bot/slack-signature.ts';
import { createSlackClient } from '../bot/slack-transport.ts';
import { type RunningBot, startBot } from '../bot/start.ts';
import { createLogger, parseEnv } from '../config/index.ts';
import { type FakeSlack, type FakeSlackCall, startFakeSlack } from './fixtures/fake-slack.ts';
import { tempDir } from './helpers/tmp.ts';
import { waitUntil as until } from './helpers/wait.ts';

const SECRET = 'slack-signing-secret-for-tests';
const FORM = 'application/x-www-form-urlencoded';
const textOf = (c: FakeSlackCall | undefined) => JSON.stringify(c?.args ?? {});
const settle = () => new Promise((r) => setTimeout(r, 300));

function command(
  events: string,
  text: string,
  o: { channel?: string; user?: string; responseUrl?: string } = {},
) {
  const body = new URLSearchParams({
    token: 'ignored',
    team_id: 'T1',
    channel_id: o.channel ?? 'C1',
    channel_name: o.channel?.startsWith('D') ? 'directmessage' : 'evals',
    user_id: o.user ?? 'UADMIN',
    user_name: 'ada',
    command: '/arbiter',
    text,
    trigger_id: `trig-${Math.random().toString(36).slice(2)}`,
    ...(o.responseUrl ? { response_url: o.responseUrl } : {}),
  }).toString();
  const at = Math.floor(Date.now() / 1000);
  return fetch(events, {
    method: 'POST',
    headers: {
      'content-type': FORM,
      'x-slack-request-timestamp': String(at),
      'x-slack-signature': signSlackRequest(SECRET, at, body),
    },
    body,
  });
}

const QUESTIONS = ['What is 2 + 2?', 'Capital of Italy?', 'Colour of the sky?'];
function writeSuite(dir: string, name: string, answers: string[]): void {
  const rows = QUESTIONS.map((q, i) => JSON.stringify({ id: `q${i}`, input: q, output: answers[i] }));
  writeFileSync(join(dir, `${name}.jsonl`), `${rows.join('\n')}\n`);
  writeFileSync(
    join(dir, `${name}.yaml`),
    `name: ${name}\ndataset: ./${name}.jsonl\ntarget:\n  type: recorded\nmetrics:\n  - name: refusal\nthreshold:\n  score: 0.5\n`,
  );
}

describe('Slack replies reach the user wherever they typed', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup() {
    const slack = await startFakeSlack();
    const { dir, cleanup } = tempDir();
    const suites = join(dir, 'suites');
    mkdirSync(suites);
    writeSuite(suites, 'careful', ['4', 'Rome', 'Blue']);
    writeSuite(suites, 'sloppy', ['5', 'Milan', 'Green']);
    cleanups.push(cleanup, () => slack.close());
    const logs: string[] = [];
    const boot = async (): Promise<{ bot: RunningBot; events: string }> => {
      const bot = await startBot(
        parseEnv({
          PORT: '0',
          HOST: '127.0.0.1',
          DATA_DIR: join(dir, 'data'),
          MONITORS_DIR: join(dir, 'no-monitors'),
          DIGESTS_DIR: join(dir, 'no-digests'),
          SUITES_DIR: suites,
          LOG_LEVEL: 'info',
          SLACK_BOT_TOKEN: 'xoxb-test-token',
          SLACK_SIGNING_SECRET: SECRET,
          SLACK_API_URL: `${slack.url}/api/`,
          ARBITER_ADMINS: 'UADMIN',
        }),
        { progressEditMs: 0, slackRetries: 1, logSink: { write: (l: string) => logs.push(l) } },
      );
      let stopped = false;
      cleanups.push(() => (stopped ? undefined : bot.stop()));
      const stop = bot.stop.bind(bot);
      bot.stop = async () => {
        stopped = true;
        await stop();
      };
      return { bot, events: `${bot.url}/slack/events` };
    };
    return { slack, boot, logs };
  }

  /** Two completed runs, launched from C1 (a channel the bot is in). */
  async function twoRuns(bot: RunningBot, events: string) {
    await command(events, 'run careful');
    await command(events, 'run sloppy');
    await until(async () => (await bot.runs.listRuns()).filter((r) => r.status === 'completed').length === 2);
    const runs = await bot.runs.listRuns();
    return runs.map((r) => r._id);
  }

  it('`review A B` typed in a DM between people is refused with the fix, by response_url; no review opens and nothing is posted', async () => {
    const { slack, boot } = await setup();
    const { bot, events } = await boot();
    const [a, b] = await twoRuns(bot, events);
    // The runs' reports in C1 are done before the review is asked for.
    await bot.reporter.idle();
    await settle();
    const before = slack.calls.length;

    const res = await command(events, `review ${a} ${b}`, {
      channel: 'D0PEOPLE',
      responseUrl: `${slack.url}/response/dm1`,
    });
    expect(res.status).toBe(200);
    const answer = await until(() => slack.of('/response/dm1')[0]);
    expect(answer.args.response_type).toBe('ephemeral');
    expect(textOf(answer)).toContain('Arbiter cannot post here');
    expect(textOf(answer)).toContain('direct message between people');
    expect(textOf(answer)).toContain('Run it again in a channel Arbiter is in');
    expect(textOf(answer)).toContain('Nothing was started');
    // No invite hint in a 1:1 DM: nobody can invite an app there.
    expect(textOf(answer)).not.toContain('/invite');
    await settle();
    expect(await bot.reviews.list()).toHaveLength(0);
    const after = slack.calls.slice(before);
    // The membership check is the only Web API call: no post, no ephemeral, no ballots anywhere.
    expect(after.map((c) => c.method)).toEqual(['conversations.info', '/response/dm1']);
    expect(after[0]!.args.channel).toBe('D0PEOPLE');
    expect(await bot.queue.list({ type: 'review.post' })).toHaveLength(0);
  });

  it('a private channel without the bot gets the invite fix before any work (review and run); once invited, the review opens there', async () => {
    const { slack, boot } = await setup();
    const { bot, events } = await boot();
    const [a, b] = await twoRuns(bot, events);
    slack.setChannel('C0PRIV', { kind: 'private', member: false });

    await command(events, `review ${a} ${b}`, { channel: 'C0PRIV', responseUrl: `${slack.url}/response/p1` });
    const refused = await until(() => slack.of('/response/p1')[0]);
    expect(textOf(refused)).toContain('not in this private channel');
    expect(textOf(refused)).toContain('/invite @arbiter');
    await command(events, 'run careful', { channel: 'C0PRIV', responseUrl: `${slack.url}/response/p2` });
    const runRefused = await until(() => slack.of('/response/p2')[0]);
    expect(textOf(runRefused)).toContain("the run's progress line and report");
    await settle();
    expect(await bot.runs.listRuns()).toHaveLength(2);
    expect(await bot.reviews.list()).toHaveLength(0);
    expect(slack.of('chat.postMessage').filter((c) => c.args.channel === 'C0PRIV')).toHaveLength(0);

    // The user follows the fix: /invite @arbiter. The refusal was not cached, so the next try opens the review.
    slack.setChannel('C0PRIV', { kind: 'private', member: true });
    await command(events, `review ${a} ${b}`, { channel: 'C0PRIV', responseUrl: `${slack.url}/response/p3` });
    const opened = await until(() => slack.of('/response/p3')[0]);
    expect(textOf(opened)).toContain('Opened blind review');
    await until(() => slack.of('chat.postMessage').filter((c) => c.args.channel === 'C0PRIV').length === 4);
  });

  it("in the bot's own DM the review opens: summary and ballots are posted there", async () => {
    const { slack, boot } = await setup();
    const { bot, events } = await boot();
    const [a, b] = await twoRuns(bot, events);
    slack.setChannel('D0BOTDM', { kind: 'im', member: true, user: 'UADMIN' });
    await command(events, `review ${a} ${b}`, {
      channel: 'D0BOTDM',
      responseUrl: `${slack.url}/response/b1`,
    });
    const confirm = await until(() => slack.of('/response/b1')[0]);
    expect(textOf(confirm)).toContain('Opened blind review');
    const posts = await until(() => {
      const p = slack.of('chat.postMessage').filter((c) => c.args.channel === 'D0BOTDM');
      return p.length === 1 + QUESTIONS.length ? p : undefined;
    });
    expect(textOf(posts[0])).toContain('Blind review');
    for (const ballot of posts.slice(1)) expect(ballot.args.thread_ts).toBeDefined();
    expect(await bot.reviews.list()).toHaveLength(1);
  });

  it('response_url is used at most 5 times, counted in the store across a restart; then chat.postEphemeral answers', async () => {
    const { slack, boot } = await setup();
    const url = `${slack.url}/response/shared`;
    let { bot, events } = await boot();
    // Six answers asked for through one response_url (Slack gives one URL per command; a click's answers share one).
    for (let i = 0; i < 4; i++) {
      await command(events, 'runs list', { responseUrl: url });
      await until(() => slack.of('/response/shared').length === i + 1);
    }
    await bot.stop();
    ({ bot, events } = await boot());
    await command(events, 'runs list', { responseUrl: url });
    await until(() => slack.of('/response/shared').length === 5);
    await command(events, 'runs list', { responseUrl: url });
    const eph = await until(() => slack.of('chat.postEphemeral')[0]);
    expect(eph.args).toMatchObject({ channel: 'C1', user: 'UADMIN' });
    expect(textOf(eph)).toContain('No runs yet');
    await settle();
    // The fake would have answered a sixth post with 404 used_url: it was never sent.
    expect(slack.of('/response/shared')).toHaveLength(5);
  });

  it('an expired response_url in a DM between people falls back past the ephemeral (channel_not_found) to a DM from the bot', async () => {
    const { slack, boot } = await setup();
    const { events } = await boot();
    slack.expireResponseUrl('/response/old');
    await command(events, 'runs list', { channel: 'D0PEOPLE', responseUrl: `${slack.url}/response/old` });
    const dm = await until(() => slack.of('chat.postMessage').find((c) => c.args.channel === 'DUADMIN'));
    expect(textOf(dm)).toContain('No runs yet');
    expect(slack.of('conversations.open')[0]!.args.users).toBe('UADMIN');
    expect(slack.of('chat.postEphemeral')[0]!.args.channel).toBe('D0PEOPLE');
    expect(slack.calls.map((c) => c.method)).toEqual([
      '/response/old',
      'chat.postEphemeral',
      'conversations.open',
      'chat.postMessage',
    ]);
    expect(textOf(dm)).not.toContain('/invite');
  });

  it('a channel answer that cannot be posted in a DM between people reaches the user alone, with why and no invite hint', async () => {
    const { slack, boot } = await setup();
    const { events } = await boot();
    await command(events, 'leaderboard', { channel: 'D0PEOPLE', responseUrl: `${slack.url}/response/lb` });
    const told = await until(() => slack.of('/response/lb')[0]);
    expect(textOf(told)).toContain(
      'Only you see this: Arbiter cannot post in a direct message between people.',
    );
    expect(textOf(told)).not.toContain('/invite');
    expect(textOf(told)).not.toContain('channel_not_found');
  });
});

describe('Slack error codes on the reply path', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function replies(slack: FakeSlack) {
    const lines: string[] = [];
    const logger = createLogger(parseEnv({ LOG_LEVEL: 'debug' }), { write: (l: string) => lines.push(l) });
    const client = createSlackClient({ token: 'xoxb-test-token', apiUrl: `${slack.url}/api`, retries: 0 });
    return {
      lines,
      replies: createSlackReplies({
        client,
        budget: createMemoryResponseUrlBudget(),
        logger,
        retryDelayMs: 10,
      }),
    };
  }
  const message = { title: 'Recent runs', sections: [{ kind: 'text' as const, text: 'No runs yet.' }] };

  it('every code is mapped to retry, next route, plain-text resend or an admin report; unknown codes go to the admins', () => {
    const table: [string, string][] = [
      ['ratelimited', 'retry'],
      ['internal_error', 'retry'],
      ['fatal_error', 'retry'],
      ['channel_not_found', 'next'],
      ['not_in_channel', 'next'],
      ['user_not_in_channel', 'next'],
      ['is_archived', 'next'],
      ['used_url', 'next'],
      ['expired_url', 'next'],
      ['cannot_dm_bot', 'next'],
      ['user_disabled', 'next'],
      ['invalid_blocks', 'content'],
      ['msg_too_long', 'content'],
      ['no_text', 'content'],
      ['missing_scope', 'admin'],
      ['invalid_auth', 'admin'],
      ['token_revoked', 'admin'],
      ['not_allowed_token_type', 'admin'],
      ['something_new_from_slack', 'admin'],
    ];
    for (const [code, action] of table) expect([code, slackErrorAction(code)]).toEqual([code, action]);
    expect(MAPPED_SLACK_CODES.length).toBeGreaterThan(50);
  });

  it('ratelimited (HTTP 200 ok:false) is retried; invalid_blocks is resent as plain text and told to the admins once', async () => {
    const slack = await startFakeSlack();
    cleanups.push(() => slack.close());
    const { replies: r, lines } = await replies(slack);
    let limited = 0;
    slack.setReply((c) => {
      if (c.method === 'chat.postEphemeral' && limited++ === 0)
        return { body: { ok: false, error: 'ratelimited' } };
      if (c.method === 'chat.postEphemeral' && c.args.blocks)
        return { body: { ok: false, error: 'invalid_blocks' } };
      return undefined;
    });
    expect(await r.tell({ user: 'U1', channel: 'C1' }, message)).toBe('ephemeral');
    expect(await r.tell({ user: 'U1', channel: 'C1' }, message)).toBe('ephemeral');
    const sent = slack.of('chat.postEphemeral');
    // First: ratelimited, retried with blocks (invalid_blocks), then plain text; second: blocks, then plain text.
    expect(sent.map((c) => Boolean(c.args.blocks))).toEqual([true, true, false, true, false]);
    expect(sent.at(-1)!.args.text).toBe('Recent runs');
    const alerts = lines.filter((l) => l.includes('"adminAlert":true'));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toContain("bug in Arbiter's rendering");
  });

  it('missing_scope on conversations.open is told to the admins with the scope; the user gets nothing raw', async () => {
    const slack = await startFakeSlack();
    cleanups.push(() => slack.close());
    const { replies: r, lines } = await replies(slack);
    slack.setReply((c) =>
      c.method === 'conversations.open'
        ? { body: { ok: false, error: 'missing_scope', needed: 'im:write', provided: 'chat:write' } }
        : undefined,
    );
    expect(await r.tell({ user: 'U1', channel: 'D0PEOPLE' }, message)).toBe('none');
    const alert = lines.find((l) => l.includes('"adminAlert":true'));
    expect(alert).toContain('im:write');
    expect(alert).toContain('manifest.yml');
    expect(lines.some((l) => l.includes('could not reach its user'))).toBe(true);
  });
});
