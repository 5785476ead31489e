// The Slack source through real ticks (embedded store, leases) against nock serving Slack's Web API shapes:
// cursor paging with has_more, limit ≤ 15, pacing, 429 + Retry-After, malformed messages, threads, reactions,
// errors, and a restart that resumes from the stored cursor. The source reads through the bot's real reading client
// (bot/slack-reader.ts over the @slack/web-api WebClient that createSlackClient builds), as the bot wires it.
// Shapes: https://docs.slack.dev/reference/methods/conversations.history and
// https://docs.slack.dev/reference/methods/conversations.replies (HTTP 200 `{ok:false, error, needed, provided}`
// for errors; HTTP 429 with Retry-After when rate limited, https://docs.slack.dev/apis/web-api/rate-limits).
import { join } from 'node:path';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSlackReader } from '../bot/slack-reader.ts';
import { createSlackClient } from '../bot/slack-transport.ts';
import type { Clock } from '../config/index.ts';
import { createManualClock } from '../config/runtime.ts';
import { createMonitorStore, type Monitor, type MonitorDeps } from '../monitors/index.ts';
import {
  compareTs,
  feedbackScore,
  HUMAN_FEEDBACK_METRIC,
  messageUrl,
  msToTs,
  nextTs,
  SlackCursorSchema,
} from '../monitors/slack-source.ts';
import { dryRunExtractor } from '../monitors/service.ts';
import { MonitorSchema } from '../monitors/schema.ts';
import { runTick } from '../monitors/tick.ts';
import { sources } from '../monitors/sources.ts';
import { createRecordingTransport } from '../prompts/testing.ts';
import { createLeases, type DocumentStore } from '../storage/index.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { tempDir } from './helpers/tmp.ts';

const SLACK = 'https://slack.test';
const API_URL = `${SLACK}/api/`;
const TOKEN = 'xoxb-test-token';
const CHANNEL = 'C0SUPPORT';
const BOT = 'U0BOT';
const T = new Date('2026-11-20T10:00:00Z');
const T_S = T.getTime() / 1000;
/** A Slack ts `offset` seconds from T. */
const ts = (offset: number) => `${T_S + offset}.000100`;

const user = (t: string, text: string, extra: Record<string, unknown> = {}) => ({
  type: 'message',
  user: 'U0ALICE',
  text,
  ts: t,
  team: 'T0ACME',
  blocks: [{ type: 'rich_text', block_id: 'x', elements: [] }],
  ...extra,
});
const bot = (t: string, text: string, extra: Record<string, unknown> = {}) => ({
  type: 'message',
  user: BOT,
  bot_id: 'B0BOT',
  app_id: 'A0APP',
  text,
  ts: t,
  team: 'T0ACME',
  bot_profile: { id: 'B0BOT', name: 'supportbot', app_id: 'A0APP' },
  ...extra,
});
const page = (messages: unknown[], next?: string) => ({
  ok: true,
  messages,
  has_more: next !== undefined,
  pin_count: 0,
  channel_actions_ts: null,
  channel_actions_count: 0,
  response_metadata: { next_cursor: next ?? '' },
});

function monitor(source: Record<string, unknown> = {}): Monitor {
  return MonitorSchema.parse({
    name: 'slk',
    schedule: { every: '30m' },
    source: {
      type: 'slack',
      channel: CHANNEL,
      botUserId: BOT,
      lookback: '1h',
      workspaceUrl: 'https://acme.slack.com',
      ...source,
    },
    extract: { input: 'input', output: 'output' },
    metrics: [{ metric: 'refusal', name: 'no-refusal' }],
    publish: { channel: '#c', worst: 5 },
  });
}

type Body = Record<string, string>;

let dir: string;
let cleanup: () => void;
let store: DocumentStore;
beforeEach(async () => {
  nock.disableNetConnect();
  ({ dir, cleanup } = tempDir());
  store = await createEmbeddedStore({ dir: join(dir, 'data'), autocompactMs: 0 });
});
afterEach(async () => {
  nock.cleanAll();
  nock.enableNetConnect();
  await store.close();
  cleanup();
});

/** The bot's reading client: a WebClient that never waits inside a call (as bot/start.ts builds it). */
const reader = () =>
  createSlackReader(
    createSlackClient({ token: TOKEN, apiUrl: API_URL, retries: 0, rejectRateLimitedCalls: true }),
  );

async function deps(clock = createManualClock(T)) {
  const transport = createRecordingTransport();
  const sleeps: number[] = [];
  // Slack pacing waits on the clock: the manual clock moves instead of sleeping; each wait is recorded here.
  const recording: Clock = {
    now: () => clock.now(),
    nowMs: () => clock.nowMs(),
    sleep: (ms, signal) => {
      sleeps.push(ms);
      return clock.sleep(ms, signal);
    },
  };
  const d: MonitorDeps = {
    store: await createMonitorStore(store),
    leases: await createLeases(store, { clock }),
    transport,
    clock: recording,
    owner: 'a',
    slack: reader(),
  };
  return { d, transport, clock, sleeps };
}

/** Intercepts one Slack method call, recording its form body. */
function slackCall(method: string, bodies: Body[], status: number, reply: unknown, headers = {}) {
  return nock(SLACK, { reqheaders: { authorization: `Bearer ${TOKEN}` } })
    .post(`/api/${method}`, (b: Body) => {
      bodies.push(b);
      return true;
    })
    .reply(status, reply as nock.Body, headers);
}

describe('slack source', () => {
  it('pages history with cursors (limit ≤ 15, paced), reads threads, pairs answers, records reactions', async () => {
    const { d, transport, sleeps } = await deps();
    const history: Body[] = [];
    const replies: Body[] = [];
    slackCall(
      'conversations.history',
      history,
      200,
      page(
        [
          bot(ts(-100), 'Open Settings → Security → Reset password.', {
            reactions: [
              { name: '+1', users: ['U0ALICE', 'U0BOB'], count: 2 },
              { name: 'eyes', users: ['U0BOB'], count: 1 },
            ],
          }),
          {
            type: 'message',
            subtype: 'channel_join',
            user: 'U0BOB',
            text: '<@U0BOB> has joined',
            ts: ts(-150),
          },
          user(ts(-200), 'How do I reset my password?'),
        ],
        'bmV4dF90czoxNzYzNjMyNjAwMDAwMTAw',
      ),
    );
    slackCall(
      'conversations.history',
      history,
      200,
      page(
        [
          bot(ts(-300), "I'm sorry, I can't help with that.", {
            reactions: [{ name: '-1::skin-tone-3', users: ['U0ALICE'], count: 1 }],
          }),
          { type: 'message', user: 'U0ALICE', text: 'a message without a ts' },
          user(ts(-400), 'Can I get a refund on my annual plan?', {
            thread_ts: ts(-400),
            reply_count: 3,
            reply_users: [BOT, 'U0ALICE'],
            latest_reply: ts(-370),
          }),
        ],
        'bmV4dF90czoxNzYzNjMyNDAwMDAwMTAw',
      ),
    );
    slackCall(
      'conversations.history',
      history,
      200,
      page([
        bot(ts(-500), 'Refunds are possible within 30 days.'),
        user(ts(-600), "What's the refund window?"),
      ]),
    );
    slackCall('conversations.replies', replies, 200, {
      ok: true,
      messages: [
        user(ts(-400), 'Can I get a refund on my annual plan?', { thread_ts: ts(-400), reply_count: 3 }),
        bot(ts(-390), 'Annual plans are refunded pro rata.', {
          thread_ts: ts(-400),
          parent_user_id: 'U0ALICE',
        }),
        user(ts(-380), 'And how long does it take?', { thread_ts: ts(-400), parent_user_id: 'U0ALICE' }),
        bot(ts(-370), 'About five business days.', { thread_ts: ts(-400), parent_user_id: 'U0ALICE' }),
      ],
      has_more: false,
      response_metadata: { next_cursor: '' },
    });

    const out = await runTick(monitor({ reactions: true }), T, d);
    expect(out).toMatchObject({ status: 'succeeded', scored: 5, unmatched: 1 });
    expect(nock.pendingMocks()).toEqual([]);

    // Every request within Tier-1: at most 15 a page, one call a minute, the cursor sent back, a fixed range.
    for (const b of [...history, ...replies]) {
      expect(Number(b.limit)).toBeLessThanOrEqual(15);
      expect(b.channel).toBe(CHANNEL);
    }
    expect(history.map((b) => [b.oldest, b.latest, b.cursor])).toEqual([
      [msToTs(T.getTime() - 3_600_000), nextTs(msToTs(T.getTime())), undefined],
      [msToTs(T.getTime() - 3_600_000), nextTs(msToTs(T.getTime())), 'bmV4dF90czoxNzYzNjMyNjAwMDAwMTAw'],
      [msToTs(T.getTime() - 3_600_000), nextTs(msToTs(T.getTime())), 'bmV4dF90czoxNzYzNjMyNDAwMDAwMTAw'],
    ]);
    expect(replies).toEqual([expect.objectContaining({ ts: ts(-400) })]);
    expect(sleeps).toEqual([60_000, 60_000, 60_000]);

    // Answers are keyed by their ts and paired with the user message they reply to.
    const source = `slack:${CHANNEL}`;
    const pairs = await Promise.all(
      [-100, -300, -500, -390, -370].map(async (o) => {
        const doc = await d.store.getScored(source, 'slk', ts(o));
        return [o, doc?.input];
      }),
    );
    expect(pairs).toEqual([
      [-100, 'How do I reset my password?'],
      [-300, 'Can I get a refund on my annual plan?'],
      [-500, "What's the refund window?"],
      [-390, 'Can I get a refund on my annual plan?'],
      [-370, 'And how long does it take?'],
    ]);
    // 👍 / 👎 (skin tones included) become human feedback scores stored with the item's scores.
    const up = await d.store.getScored(source, 'slk', ts(-100));
    const down = await d.store.getScored(source, 'slk', ts(-300));
    const plain = await d.store.getScored(source, 'slk', ts(-500));
    expect(up!.scores.find((s) => s.metric === HUMAN_FEEDBACK_METRIC)).toMatchObject({
      value: 1,
      label: 'thumbs_up',
    });
    expect(down!.scores.find((s) => s.metric === HUMAN_FEEDBACK_METRIC)).toMatchObject({
      value: 0,
      label: 'thumbs_down',
    });
    expect(down!.scores.find((s) => s.metric === 'no-refusal')?.value).toBe(0);
    expect(plain!.scores.map((s) => s.metric)).toEqual(['no-refusal']);
    expect(up!.url).toBe(`https://acme.slack.com/archives/${CHANNEL}/p${ts(-100).replace('.', '')}`);

    // The malformed message is counted and shown, not crashed on; the watermark moved to the scanned range's end.
    const report = JSON.stringify(transport.posts[0]!.message);
    expect(report).toContain('malformed Slack message');
    expect(report).toContain('open in Slack');
    const cursor = SlackCursorSchema.parse((await d.store.getState('slk')).cursor);
    expect(cursor).toMatchObject({ watermark: msToTs(T.getTime()), threads: [], pending: [] });
    expect(cursor.scan).toBeUndefined();
  });

  it('stops at the per-tick call budget and, after a restart, resumes from the stored cursor and pacing', async () => {
    const clock = createManualClock(T);
    const first = await deps(clock);
    const m = monitor({ maxCallsPerTick: 1, threads: false });
    const bodies: Body[] = [];
    slackCall('conversations.history', bodies, 200, page([bot(ts(-100), 'Answer nine.')], 'Y3Vyc29yLTE='));
    expect(await runTick(m, T, first.d)).toMatchObject({ status: 'succeeded', scored: 0, read: 0 });
    // The answer waits in the cursor for the older user message it replies to.
    const stored = SlackCursorSchema.parse((await first.d.store.getState('slk')).cursor);
    expect(stored.scan).toEqual({ latest: msToTs(T.getTime()), cursor: 'Y3Vyc29yLTE=' });
    expect(stored.pending.map((p) => p.ts)).toEqual([ts(-100)]);

    // Restart: a new store handle on the same folder, 20 s later (the next call must still wait 40 s).
    await store.close();
    store = await createEmbeddedStore({ dir: join(dir, 'data'), autocompactMs: 0 });
    clock.set(T.getTime() + 20_000);
    const second = await deps(clock);
    slackCall(
      'conversations.history',
      bodies,
      200,
      page([
        user(ts(-200), 'Question nine?'),
        bot(ts(-300), 'Answer eight.'),
        user(ts(-400), 'Question eight?'),
      ]),
    );
    const t2 = new Date(T.getTime() + 20_000);
    expect(await runTick(m, t2, second.d)).toMatchObject({ status: 'succeeded', scored: 2 });
    expect(bodies[1]).toMatchObject({
      cursor: 'Y3Vyc29yLTE=',
      oldest: msToTs(T.getTime() - 3_600_000),
      latest: nextTs(msToTs(T.getTime())),
    });
    expect(second.sleeps).toEqual([40_000]);
    const source = `slack:${CHANNEL}`;
    expect((await second.d.store.getScored(source, 'slk', ts(-100)))?.input).toBe('Question nine?');

    // The next scan starts at the watermark; an answer with no user message in it replies to the last one before.
    clock.set(T.getTime() + 1_800_000);
    slackCall('conversations.history', bodies, 200, page([bot(ts(60), 'Also: check your spam folder.')]));
    const t3 = new Date(T.getTime() + 1_800_000);
    expect(await runTick(m, t3, second.d)).toMatchObject({ status: 'succeeded', scored: 1 });
    expect(bodies[2]).toMatchObject({ oldest: msToTs(T.getTime()), latest: nextTs(msToTs(t3.getTime())) });
    expect(bodies[2]!.cursor).toBeUndefined();
    expect((await second.d.store.getScored(source, 'slk', ts(60)))?.input).toBe('Question nine?');
    expect(await second.d.store.countScored('slk')).toBe(3);
  });

  it('honours Retry-After on a 429 and retries within the tick', async () => {
    const { d, sleeps } = await deps();
    const bodies: Body[] = [];
    slackCall(
      'conversations.history',
      bodies,
      429,
      { ok: false, error: 'ratelimited' },
      { 'Retry-After': '7' },
    );
    slackCall('conversations.history', bodies, 200, page([bot(ts(-10), 'Hi!'), user(ts(-20), 'Hello?')]));
    expect(await runTick(monitor(), T, d)).toMatchObject({ status: 'succeeded', scored: 1 });
    expect(sleeps).toEqual([7_000]);
    expect(bodies).toHaveLength(2);
  });

  it('429 beyond the retries fails the tick with the reason; the next tick retries from the same watermark', async () => {
    const { d, transport, clock } = await deps();
    const m = monitor({ maxRetries: 1 });
    const bodies: Body[] = [];
    slackCall('conversations.history', bodies, 200, page([bot(ts(-10), 'Hi!'), user(ts(-20), 'Hello?')]));
    expect(await runTick(m, T, d)).toMatchObject({ status: 'succeeded', scored: 1 });
    const watermark = SlackCursorSchema.parse((await d.store.getState('slk')).cursor).watermark;
    expect(watermark).toBe(msToTs(T.getTime()));

    const t2 = new Date(T.getTime() + 1_800_000);
    clock.set(t2);
    for (let i = 0; i < 2; i++)
      slackCall(
        'conversations.history',
        bodies,
        429,
        { ok: false, error: 'ratelimited' },
        { 'Retry-After': '30' },
      );
    const failed = await runTick(m, t2, d);
    expect(failed).toMatchObject({ status: 'failed' });
    expect(failed.status === 'failed' && failed.error).toMatch(/rate limited \(429\).*Retry-After 30s/);
    expect(transport.posts.map((p) => p.message.title).at(-1)).toBe('🚨 Monitor slk is failing');
    expect(SlackCursorSchema.parse((await d.store.getState('slk')).cursor).watermark).toBe(watermark);

    const t3 = new Date(T.getTime() + 3_600_000);
    clock.set(t3);
    slackCall(
      'conversations.history',
      bodies,
      200,
      page([bot(ts(1900), 'Yes.'), user(ts(1800), 'Still there?')]),
    );
    expect(await runTick(m, t3, d)).toMatchObject({ status: 'succeeded', scored: 1 });
    // Nothing skipped: the retry reads from the watermark of the last good tick, not from the failed one.
    expect(bodies.map((b) => b.oldest)).toEqual([
      msToTs(T.getTime() - 3_600_000),
      watermark,
      watermark,
      watermark,
    ]);
    expect(bodies[3]!.latest).toBe(nextTs(msToTs(t3.getTime())));
    expect(transport.posts.map((p) => p.message.title)).toContain(
      'RESOLVED: monitor slk is reading its source again',
    );
  });

  it('Slack errors (not_in_channel, invalid_auth) and a missing token fail the tick with a clear reason', async () => {
    const { d } = await deps();
    const bodies: Body[] = [];
    slackCall('conversations.history', bodies, 200, { ok: false, error: 'not_in_channel' });
    const a = await runTick(monitor(), T, d);
    expect(a.status === 'failed' && a.error).toMatch(/not_in_channel: the bot is not a member of C0SUPPORT/);

    slackCall('conversations.history', bodies, 200, { ok: false, error: 'invalid_auth' });
    const t2 = new Date(T.getTime() + 1_800_000);
    const b = await runTick(monitor(), t2, d);
    expect(b.status === 'failed' && b.error).toMatch(/invalid_auth.*SLACK_BOT_TOKEN/);
    // No watermark yet: each attempt starts at its lookback; a failed tick stores no cursor.
    expect((await d.store.getState('slk')).cursor).toBeUndefined();
    expect(bodies.map((x) => x.oldest)).toEqual([
      msToTs(T.getTime() - 3_600_000),
      msToTs(t2.getTime() - 3_600_000),
    ]);

    const { slack: _token, ...noToken } = d;
    const c = await runTick(monitor(), new Date(T.getTime() + 3_600_000), noToken);
    expect(c.status === 'failed' && c.error).toMatch(/SLACK_BOT_TOKEN/);
    expect(bodies).toHaveLength(2);
  });

  it('through the WebClient: missing_scope names the scope, channel_not_found, HTTP 503 and a 429 without Retry-After', async () => {
    const { d, sleeps } = await deps();
    const bodies: Body[] = [];
    const at = (minutes: number) => new Date(T.getTime() + minutes * 60_000);
    // https://docs.slack.dev/reference/methods/conversations.history: errors are HTTP 200 {ok:false, error, ...};
    // missing_scope adds `needed` and `provided`.
    slackCall('conversations.history', bodies, 200, {
      ok: false,
      error: 'missing_scope',
      needed: 'channels:history',
      provided: 'chat:write,commands',
    });
    const scope = await runTick(monitor(), T, d);
    expect(scope.status === 'failed' && scope.error).toBe(
      'slack conversations.history: missing_scope: add channels:history to the Slack app and reinstall it',
    );

    slackCall('conversations.history', bodies, 200, { ok: false, error: 'channel_not_found' });
    const gone = await runTick(monitor(), at(30), d);
    expect(gone.status === 'failed' && gone.error).toMatch(
      /channel_not_found: C0SUPPORT does not exist or the bot cannot see it/,
    );

    // Slack's Web API uses no status besides 200 and 429: anything else (a proxy, an outage) is an HTTP error.
    slackCall('conversations.history', bodies, 503, 'upstream unavailable');
    const down = await runTick(monitor(), at(60), d);
    expect(down.status === 'failed' && down.error).toBe('slack conversations.history: HTTP 503');

    // A 429 without a usable Retry-After waits the source's own interval (1 minute) before its retry.
    slackCall('conversations.history', bodies, 429, { ok: false, error: 'ratelimited' });
    slackCall('conversations.history', bodies, 200, page([bot(ts(5390), 'Hi!'), user(ts(5380), 'Hello?')]));
    expect(await runTick(monitor(), at(90), d)).toMatchObject({ status: 'succeeded', scored: 1 });
    expect(sleeps.at(-1)).toBe(60_000);
    expect(bodies).toHaveLength(5);
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('a call with no answer (network failure, time-out) fails the tick, retryable, with the reason', async () => {
    const { d } = await deps();
    nock(SLACK).post('/api/conversations.history').replyWithError('socket hang up');
    const lost = await runTick(monitor(), T, d);
    expect(lost.status === 'failed' && lost.error).toMatch(/^slack conversations\.history: .*socket hang up/);

    // The reading client gives up on a call Slack does not answer in time (here 50 ms).
    const slow = {
      ...d,
      slack: createSlackReader(
        createSlackClient({ token: TOKEN, apiUrl: API_URL, retries: 0, rejectRateLimitedCalls: true }),
        { timeoutMs: 50 },
      ),
    };
    nock(SLACK).post('/api/conversations.history').delay(2_000).reply(200, page([]));
    const late = await runTick(monitor(), new Date(T.getTime() + 1_800_000), slow);
    expect(late.status === 'failed' && late.error).toBe(
      'slack conversations.history: no answer within 50 ms',
    );
    // No cursor was stored: the next tick reads the same range again.
    expect((await d.store.getState('slk')).cursor).toBeUndefined();
  });

  it('validates the YAML: channel ids, a bot to look for, pages of at most 15', () => {
    const base = { name: 'x', schedule: { every: '1h' }, extract: { input: 'input', output: 'output' } };
    const metrics = [{ metric: 'refusal' }];
    const parse = (source: Record<string, unknown>) =>
      MonitorSchema.safeParse({ ...base, metrics, source: { type: 'slack', ...source } });
    expect(parse({ channel: CHANNEL, botId: 'B0BOT' }).success).toBe(true);
    expect(JSON.stringify(parse({ channel: CHANNEL, botUserId: BOT, pageSize: 50 }).error?.issues)).toMatch(
      /pageSize/,
    );
    expect(JSON.stringify(parse({ channel: CHANNEL }).error?.issues)).toMatch(/botUserId/);
    expect(JSON.stringify(parse({ channel: '#support', botUserId: BOT }).error?.issues)).toMatch(
      /channel id/,
    );
    expect(sources.slack.description).toMatch(/conversations\.history/);
  });

  it('reads thread replies page by page and a dry run of the extractor shows the latest pairs', async () => {
    const { d, sleeps } = await deps();
    const bodies: Body[] = [];
    const parent = user(ts(-900), 'Is SSO supported?', { thread_ts: ts(-900), reply_count: 4 });
    slackCall('conversations.history', bodies, 200, page([parent]));
    slackCall('conversations.replies', bodies, 200, {
      ok: true,
      messages: [
        parent,
        bot(ts(-890), 'Yes, SAML and OIDC.', { thread_ts: ts(-900) }),
        user(ts(-880), 'Which plan?', { thread_ts: ts(-900) }),
      ],
      has_more: true,
      response_metadata: { next_cursor: 'dGhyZWFkLTI=' },
    });
    slackCall('conversations.replies', bodies, 200, {
      ok: true,
      // A later page starts with the parent again, then the rest of the replies; the first answer here replies to
      // the user message at the end of the previous page.
      messages: [
        parent,
        bot(ts(-875), 'It needs the Enterprise plan.', { thread_ts: ts(-900) }),
        user(ts(-870), 'Thanks!', { thread_ts: ts(-900) }),
      ],
      has_more: false,
      response_metadata: { next_cursor: '' },
    });
    expect(await runTick(monitor(), T, d)).toMatchObject({ status: 'succeeded', scored: 2 });
    expect(bodies.map((b) => [b.ts, b.cursor])).toEqual([
      [undefined, undefined],
      [ts(-900), undefined],
      [ts(-900), 'dGhyZWFkLTI='],
    ]);
    expect(sleeps).toEqual([60_000, 60_000]);
    const source = `slack:${CHANNEL}`;
    expect((await d.store.getScored(source, 'slk', ts(-875)))?.input).toBe('Which plan?');
    expect((await d.store.getScored(source, 'slk', ts(-890)))?.input).toBe('Is SSO supported?');

    slackCall('conversations.history', bodies, 200, page([bot(ts(-10), 'Hi!'), user(ts(-20), 'Hello?')]));
    const dry = await dryRunExtractor(monitor(), d, 5);
    expect(dry.ok).toBe(true);
    const text = JSON.stringify(dry.ok && dry.message);
    expect(text).toContain('input:  Hello?');
    expect(text).toContain('output: Hi!');
    expect(Number(bodies.at(-1)!.limit)).toBeLessThanOrEqual(15);
  });
});

describe('slack source helpers', () => {
  it.each([
    ['1763632800.000100', '1763632800.000099', 1],
    ['1763632800.000100', '1763632800.0001', 0],
    ['999999999.9', '1000000000.0', -1],
  ])('compareTs(%s, %s) = %i', (a, b, want) => {
    expect(compareTs(a, b)).toBe(want);
  });

  it.each([
    [[{ name: '+1', count: 3 }], 1, 'thumbs_up'],
    [[{ name: 'thumbsdown', users: ['U1', 'U2'] }], 0, 'thumbs_down'],
    [
      [
        { name: '+1::skin-tone-4', count: 1 },
        { name: '-1', count: 1 },
      ],
      0.5,
      'mixed',
    ],
  ])('feedbackScore(%j) = %d (%s)', (reactions, value, label) => {
    expect(feedbackScore(reactions)).toMatchObject({ metric: HUMAN_FEEDBACK_METRIC, value, label });
  });

  it('nextTs is the exclusive bound just after a ts', () => {
    expect(nextTs('1700000000.999999')).toBe('1700000001.000000');
    expect(nextTs('1700000000.0001')).toBe('1700000000.000101');
  });

  it('no 👍/👎 means no feedback score, and links point at the message or its thread', () => {
    expect(feedbackScore([{ name: 'eyes', count: 2 }])).toBeUndefined();
    expect(feedbackScore(undefined)).toBeUndefined();
    expect(messageUrl('https://acme.slack.com/', 'C1', '1700000000.000100')).toBe(
      'https://acme.slack.com/archives/C1/p1700000000000100',
    );
    expect(messageUrl('https://acme.slack.com', 'C1', '1700000001.000100', '1700000000.000100')).toBe(
      'https://acme.slack.com/archives/C1/p1700000001000100?thread_ts=1700000000.000100&cid=C1',
    );
  });
});
