import { describe, expect, it } from 'vitest';
import { createSilentLogger, systemIds } from '../config/index.ts';
import { createJobQueue, type JobQueue } from '../storage/index.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { startFakeSlack } from '../test/fixtures/fake-slack.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { signSlackRequest } from './slack-signature.ts';
import { BlockActionsBodySchema, clickFromBlockActions, createSlackApp, HOME_JOB_TYPE } from './slack-app.ts';
import { createSlackClient } from './slack-transport.ts';

describe('clickFromBlockActions', () => {
  const body = (actionTs: string) =>
    BlockActionsBodySchema.parse({
      type: 'block_actions',
      user: { id: 'U1' },
      channel: { id: 'C1' },
      message: { ts: '1700000000.000100', thread_ts: '1700000000.000001' },
      response_url: 'https://hooks.slack.com/actions/T1/1/x',
      actions: [{ action_id: 'review:vote:a', value: 'bt_token', action_ts: actionTs }],
    });

  it('keys the click on action_ts, user and action id, and dates it from action_ts', () => {
    expect(clickFromBlockActions(body('1700000123.456789'))).toMatchObject({
      actionId: 'review:vote:a',
      value: 'bt_token',
      user: 'U1',
      channel: 'C1',
      messageTs: '1700000000.000100',
      threadTs: '1700000000.000001',
      key: 'slack:action:1700000123.456789:U1:review:vote:a',
      clickedAt: 1_700_000_123_457,
    });
  });

  it('a malformed action_ts gives no click time (order then falls back to arrival)', () => {
    expect(clickFromBlockActions(body('not-a-time')).clickedAt).toBeUndefined();
  });
});

describe('Events API intake', () => {
  it('an event whose enqueue fails is answered 500 and not marked seen, so Slack’s retry is recorded', async () => {
    const { dir, cleanup } = tempDir();
    const slack = await startFakeSlack();
    const store = await createEmbeddedStore({ dir, autocompactMs: 0 });
    try {
      const real = await createJobQueue(store);
      // The store refuses the first write (as a full disk would), then recovers.
      let failures = 1;
      const queue: JobQueue = {
        ...real,
        enqueue: (input) =>
          failures-- > 0
            ? Promise.reject(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }))
            : real.enqueue(input),
      };
      const secret = 'events-secret';
      const door = createSlackApp({
        env: {
          SLACK_BOT_TOKEN: 'xoxb-1',
          SLACK_SIGNING_SECRET: secret,
          SLACK_APP_TOKEN: undefined,
          SLACK_API_URL: `${slack.url}/api/`,
          SLACK_COMMAND: '/arbiter',
        },
        roles: { admins: [], reviewers: [] },
        queue,
        onEnqueued: () => {},
        client: createSlackClient({ token: 'xoxb-1', apiUrl: `${slack.url}/api/`, retries: 0 }),
        runs: () => {
          throw new Error('not used');
        },
        ids: systemIds,
        logger: createSilentLogger(),
      });
      await door.start();
      // An app_home_opened event as Slack sends it (https://api.slack.com/events/app_home_opened).
      const body = JSON.stringify({
        token: 'x',
        team_id: 'T1',
        api_app_id: 'A1',
        type: 'event_callback',
        event_id: 'Ev0HOME1',
        event_time: 1700000000,
        event: { type: 'app_home_opened', user: 'U1', channel: 'D1', tab: 'home', event_ts: '1700000000.1' },
      });
      const send = (retry?: string) => {
        const ts = Math.floor(Date.now() / 1000);
        return door.handle!(
          new Request('http://bot/slack/events', {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'x-slack-request-timestamp': String(ts),
              'x-slack-signature': signSlackRequest(secret, ts, body),
              ...(retry ? { 'x-slack-retry-num': retry, 'x-slack-retry-reason': 'http_error' } : {}),
            },
            body,
          }),
        );
      };
      expect((await send()).status).toBe(500);
      expect(await real.list({ type: HOME_JOB_TYPE })).toHaveLength(0);
      expect((await send('1')).status).toBe(200);
      expect(await real.list({ type: HOME_JOB_TYPE })).toHaveLength(1);
      // Recorded now: a further redelivery is ignored.
      expect((await send('2')).status).toBe(200);
      expect(await real.list({ type: HOME_JOB_TYPE })).toHaveLength(1);
    } finally {
      await store.close();
      await slack.close();
      cleanup();
    }
  });
});
