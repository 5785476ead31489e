import { describe, expect, it } from 'vitest';
import { BlockActionsBodySchema, clickFromBlockActions } from './slack-app.ts';

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
