// User groups in ARBITER_ADMINS / ARBITER_REVIEWERS: expanded with usergroups.users.list through the real Web API
// client, with nock standing in for slack.com/api.
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRoleResolver, isUserGroupId } from '../bot/slack-roles.ts';
import { createSlackClient } from '../bot/slack-transport.ts';
import { hasRole } from '../chat/index.ts';
import { createSilentLogger } from '../config/index.ts';
import { waitUntil as until } from './helpers/wait.ts';

const API = 'https://slack.test';

function usergroupsReply(users: string[]) {
  return { ok: true, users };
}

describe('role resolver (user groups)', () => {
  beforeAll(() => {
    nock.disableNetConnect();
  });
  afterEach(() => {
    nock.cleanAll();
  });
  afterAll(() => {
    nock.enableNetConnect();
  });

  const client = () => createSlackClient({ token: 'xoxb-test', apiUrl: `${API}/api`, retries: 0 });

  it('tells user-group ids from user ids', () => {
    expect(isUserGroupId('S0REVIEW')).toBe(true);
    expect(isUserGroupId('U0REVIEW')).toBe(false);
    expect(isUserGroupId('W0ENTERPRISE')).toBe(false);
  });

  it('expands groups at start, keeps plain user ids, and sends the group id with the bot token', async () => {
    const asked: string[] = [];
    nock(API)
      .post('/api/usergroups.users.list', (body: Record<string, string>) => {
        asked.push(body.usergroup ?? '');
        return true;
      })
      .matchHeader('authorization', 'Bearer xoxb-test')
      .reply(200, usergroupsReply(['U1', 'U2']));
    const roles = createRoleResolver({
      admins: ['UADMIN'],
      reviewers: ['S0REV', 'U9'],
      client: client(),
      logger: createSilentLogger(),
    });
    await roles.start();
    roles.stop();
    expect(asked).toEqual(['S0REV']);
    expect(roles.policy.reviewers).toEqual(expect.arrayContaining(['U1', 'U2', 'U9']));
    expect(hasRole(roles.policy, 'U1', 'reviewer')).toBe(true);
    expect(hasRole(roles.policy, 'U9', 'reviewer')).toBe(true);
    expect(hasRole(roles.policy, 'U1', 'admin')).toBe(false);
    expect(hasRole(roles.policy, 'U3', 'reviewer')).toBe(false);
    expect(nock.isDone()).toBe(true);
  });

  it('refreshes periodically and keeps the last good members when a refresh fails', async () => {
    nock(API)
      .post('/api/usergroups.users.list')
      .reply(200, usergroupsReply(['U1']));
    const roles = createRoleResolver({
      admins: ['S0ADM'],
      reviewers: [],
      client: client(),
      logger: createSilentLogger(),
      refreshMs: 30,
    });
    await roles.start();
    try {
      expect(hasRole(roles.policy, 'U1', 'admin')).toBe(true);
      // Next refresh fails (Slack error, then a 500): U1 stays an admin.
      nock(API).post('/api/usergroups.users.list').reply(200, { ok: false, error: 'no_such_subteam' });
      nock(API).post('/api/usergroups.users.list').reply(500, 'oops');
      await until(() => nock.isDone());
      await new Promise((r) => setTimeout(r, 50));
      expect(hasRole(roles.policy, 'U1', 'admin')).toBe(true);
      // Then the group changes: U2 joins, U1 leaves.
      nock(API)
        .post('/api/usergroups.users.list')
        .reply(200, usergroupsReply(['U2']));
      await until(() => hasRole(roles.policy, 'U2', 'admin'));
      expect(hasRole(roles.policy, 'U1', 'admin')).toBe(false);
    } finally {
      roles.stop();
    }
  });

  it('an admin group that cannot be read never makes everyone an admin', async () => {
    nock(API).post('/api/usergroups.users.list').reply(200, { ok: false, error: 'missing_scope' });
    const roles = createRoleResolver({
      admins: ['S0ADM'],
      reviewers: ['S0ADM'],
      client: client(),
      logger: createSilentLogger(),
    });
    await roles.start();
    roles.stop();
    expect(roles.policy.admins.length).toBeGreaterThan(0);
    expect(hasRole(roles.policy, 'URANDOM', 'admin')).toBe(false);
    expect(hasRole(roles.policy, 'URANDOM', 'reviewer')).toBe(false);
  });

  it('without groups it makes no call and the policy is the configured ids', async () => {
    const roles = createRoleResolver({
      admins: ['UADMIN'],
      reviewers: ['UREV'],
      client: client(),
      logger: createSilentLogger(),
    });
    await roles.start();
    expect(roles.policy).toMatchObject({ admins: ['UADMIN'], reviewers: ['UREV'] });
    expect(hasRole(roles.policy, 'UREV', 'reviewer')).toBe(true);
  });
});
