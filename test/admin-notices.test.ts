// The one "tell the admins once" notifier (bot/admin-notices.ts) over the real embedded store, and its three callers:
// Slack error codes on the reply path (createAdminAlerts), missing scopes (createScopeAlerts) and deliveries that fail
// where nobody asked (reportDeliveryFailures, over the real outbox and Slack transport against the fake Web API).
// Also: the one Slack error table is what both the outbox and the reply path act on.
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_NOTICE_QUIET_MS, createAdminNotifier } from '../bot/admin-notices.ts';
import { outboxAdminSender, reportDeliveryFailures } from '../bot/outbox.ts';
import {
  createAdminAlerts,
  MAPPED_SLACK_CODES,
  SLACK_ERRORS,
  slackErrorAction,
  slackErrorEntry,
} from '../bot/slack-errors.ts';
import { createScopeAlerts } from '../bot/slack-scopes.ts';
import { classifySlackError, SlackPostError } from '../bot/slack-transport.ts';
import type { Message } from '../chat/index.ts';
import { createSilentLogger } from '../config/index.ts';
import { createManualClock } from '../config/runtime.ts';
import type { DocumentStore } from '../storage/index.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { startFakeSlack } from './fixtures/fake-slack.ts';
import { fakeSlackClient, openSlackOutbox } from './helpers/slack-outbox.ts';
import { tempDir } from './helpers/tmp.ts';
import { waitUntil } from './helpers/wait.ts';

const logger = createSilentLogger();

describe('admin notices', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function storeAt(dir: string): Promise<DocumentStore> {
    const store = await createEmbeddedStore({ dir, autocompactMs: 0 });
    cleanups.push(() => store.close());
    return store;
  }

  it('tells each problem once, not again after a restart; again when it changes or comes back after a quiet period', async () => {
    const { dir, cleanup } = tempDir('arbiter-notices-');
    cleanups.push(cleanup);
    const clock = createManualClock('2026-12-01T10:00:00Z');
    const sent: { user: string; text: string }[] = [];
    const open = async (store: DocumentStore) =>
      createAdminNotifier({
        store,
        admins: () => ['UADMIN', 'SGROUP', 'WADMIN2'],
        send: async (user, message: Message) => {
          sent.push({ user, text: message.summary ?? '' });
        },
        logger,
        clock,
      });
    const store1 = await storeAt(dir);
    const n1 = await open(store1);
    const scope = {
      key: 'slack:missing_scope:groups:history',
      fingerprint: 'missing_scope',
      text: 'needs groups:history',
    };
    expect(await n1.tell(scope)).toBe(true);
    // User-group ids are not DM'd; each admin user once.
    expect(sent.map((s) => s.user)).toEqual(['UADMIN', 'WADMIN2']);
    clock.advance(60_000);
    expect(await n1.tell(scope)).toBe(false);
    await store1.close();

    // A restart: the same problem is not told again.
    const store2 = await storeAt(dir);
    const n2 = await open(store2);
    clock.advance(60_000);
    expect(await n2.tell(scope)).toBe(false);
    expect(sent).toHaveLength(2);
    // The problem keeps happening for two days, never quiet for a day: still not told again.
    for (let h = 0; h < 48; h++) {
      clock.advance(60 * 60_000);
      expect(await n2.tell(scope)).toBe(false);
    }
    // The problem changes (another code under the same key): told.
    expect(await n2.tell({ ...scope, fingerprint: 'token_revoked', text: 'token revoked' })).toBe(true);
    expect(sent.slice(2).map((s) => s.text)).toEqual(['token revoked', 'token revoked']);
    // Quiet for longer than the quiet period, then back: told again.
    clock.advance(ADMIN_NOTICE_QUIET_MS + 1);
    expect(await n2.tell({ ...scope, fingerprint: 'token_revoked', text: 'token revoked' })).toBe(true);
    expect(sent).toHaveLength(6);
    // Another problem is its own.
    expect(await n2.tell({ key: 'slack:invalid_blocks', text: 'refused' })).toBe(true);
  });

  it('two reports racing for a new problem tell it once', async () => {
    const { dir, cleanup } = tempDir('arbiter-notices-');
    cleanups.push(cleanup);
    const store = await storeAt(dir);
    let sends = 0;
    const n = await createAdminNotifier({
      store,
      admins: () => ['UADMIN'],
      send: async () => {
        sends += 1;
      },
      logger,
    });
    const told = await Promise.all(Array.from({ length: 5 }, () => n.tell({ key: 'k', text: 't' })));
    expect(told.filter(Boolean)).toHaveLength(1);
    expect(sends).toBe(1);
  });

  it('the three callers share it: a missing scope seen by the scope watcher and by the reply path, and failed deliveries, each reach the admins once', async () => {
    const slack = await startFakeSlack();
    cleanups.push(() => slack.close());
    const { dir, cleanup } = tempDir('arbiter-notices-');
    cleanups.push(cleanup);
    const store = await storeAt(dir);
    slack.setReply((c) =>
      c.method === 'chat.postMessage' && c.args.channel === 'CGONE'
        ? { body: { ok: false, error: 'channel_not_found' } }
        : undefined,
    );
    const outbox = await openSlackOutbox(store, fakeSlackClient(slack), { backoffMs: 10 });
    outbox.start();
    cleanups.push(() => outbox.stop());
    const notifier = await createAdminNotifier({
      store,
      admins: () => ['UADMIN'],
      send: outboxAdminSender(outbox),
      logger,
    });
    const scopes = createScopeAlerts({ notifier, logger });
    const alerts = createAdminAlerts(logger, notifier);
    reportDeliveryFailures({ outbox, admins: () => ['UADMIN'], logger, notifier });

    scopes.report('conversations.history', 'groups:history');
    alerts.report('missing_scope', { method: 'conversations.open', needed: 'groups:history' });
    scopes.report('conversations.history', 'groups:history');
    for (const title of ['A', 'B', 'C'])
      await outbox.enqueue({ op: 'post', channel: 'CGONE', message: { title, sections: [] } });
    await outbox.idle();
    await waitUntil(() => slack.posted.filter((p) => p.channel === 'DUADMIN').length >= 2);
    await new Promise((r) => setTimeout(r, 200));
    await outbox.idle();
    const dms = slack.posted.filter((p) => p.channel === 'DUADMIN').map((p) => String(p.message.text));
    expect(dms).toHaveLength(2);
    expect(dms.filter((t) => t.includes('groups:history'))).toHaveLength(1);
    expect(dms.filter((t) => t.includes('channel_not_found'))).toHaveLength(1);
  });
});

describe('one Slack error table', () => {
  it('the outbox and the reply path read the same kind for every code, with a hint wherever someone can act', () => {
    expect(MAPPED_SLACK_CODES.length).toBeGreaterThan(60);
    for (const code of MAPPED_SLACK_CODES) {
      const entry = SLACK_ERRORS[code]!;
      const v = classifySlackError(new SlackPostError(code, undefined));
      const row = {
        code,
        retry: v.retry,
        content: v.refusedContent === true,
        admin: v.admin === true,
        action: slackErrorAction(code),
      };
      expect(row).toEqual({
        code,
        retry: entry.kind === 'retry',
        content: entry.kind === 'content',
        admin: entry.kind === 'admin',
        action: entry.kind,
      });
      if (entry.kind === 'admin' || entry.kind === 'content') expect(v.hint, code).toBeTruthy();
    }
    // Slack's transient answers (HTTP 200 ok:false, https://docs.slack.dev/apis/web-api/rate-limits and the methods'
    // Errors sections) are retried by both; a code Slack adds later is an admin's to look at, never retried.
    for (const code of [
      'ratelimited',
      'internal_error',
      'fatal_error',
      'service_unavailable',
      'request_timeout',
    ])
      expect([
        code,
        slackErrorAction(code),
        classifySlackError(new SlackPostError(code, undefined)).retry,
      ]).toEqual([code, 'retry', true]);
    expect(slackErrorEntry('something_new_from_slack').kind).toBe('admin');
    expect(classifySlackError(new SlackPostError('something_new_from_slack', undefined)).retry).toBe(false);
    // Network failures and 5xx without a Slack code are retried by the outbox.
    expect(classifySlackError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })).retry).toBe(
      true,
    );
  });
});
