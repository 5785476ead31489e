import { afterEach, describe, expect, it } from 'vitest';
import { parseEnv } from '../config/index.ts';
import { createManualClock } from '../config/runtime.ts';
import {
  createLeases,
  createSqliteStore,
  type DocumentStore,
  retentionRules,
  startRetention,
} from '../storage/index.ts';
import { createNedbStore } from '../storage/embedded.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { type AuditLog, cliActor, createAuditLog, recordAudit, SYSTEM_ACTOR } from './index.ts';
import { AUDIT_COLLECTION, AUDIT_TIME_FIELD } from './log.ts';

const engines: Record<string, (dir: string) => Promise<DocumentStore>> = {
  sqlite: (dir) => createSqliteStore({ dir }),
  nedb: (dir) => createNedbStore({ dir, autocompactMs: 0 }),
};

for (const [engine, open] of Object.entries(engines)) {
  describe(`audit log (${engine})`, () => {
    let store: DocumentStore | undefined;
    let cleanup = () => {};
    afterEach(async () => {
      await store?.close();
      cleanup();
    });

    async function setup(): Promise<{ audit: AuditLog; clock: ReturnType<typeof createManualClock> }> {
      const t = tempDir();
      cleanup = t.cleanup;
      store = await open(t.dir);
      const clock = createManualClock(new Date('2026-12-01T10:00:00Z'));
      return { audit: createAuditLog(store, { clock }), clock };
    }

    it('records who, when, from where and what, and lists newest first with every filter', async () => {
      const { audit, clock } = await setup();
      const alice = { via: 'slack', user: 'UALICE', channel: 'C1', team: 'T1' } as const;
      const first = await audit.record({
        actor: alice,
        action: 'run.launch',
        object: { type: 'run', id: 'run_1' },
        summary: 'Launched quickstart <b>',
        details: { suite: 'quickstart' },
      });
      expect(first).toMatchObject({
        at: new Date('2026-12-01T10:00:00Z'),
        actor: alice,
        summary: 'Launched quickstart <b>',
        details: { suite: 'quickstart' },
      });
      clock.advance(60_000);
      await audit.record({
        actor: { via: 'cli', user: 'bob' },
        action: 'run.cancel',
        object: { type: 'run', id: 'run_1' },
        summary: 'Cancelled run_1',
      });
      clock.advance(60_000);
      await audit.record({
        actor: SYSTEM_ACTOR,
        action: 'review.close',
        object: { type: 'review', id: 'rev_1' },
        summary: 'Closed at its deadline',
      });
      clock.advance(60_000);
      await audit.record({
        actor: { via: 'console', user: 'console' },
        action: 'monitor.pause',
        object: { type: 'monitor', id: 'support' },
        summary: 'Paused support',
      });

      const all = await audit.list({});
      expect(all.map((r) => r.action)).toEqual(['monitor.pause', 'review.close', 'run.cancel', 'run.launch']);
      expect(all[1]!.actor).toEqual({ via: 'system', user: 'arbiter' });
      expect(all[2]!.actor).toEqual({ via: 'cli', user: 'bob' });
      expect(all[3]!.id).toBe(first.id);

      const ofRun = await audit.list({ objectType: 'run', objectId: 'run_1' });
      expect(ofRun.map((r) => r.action)).toEqual(['run.cancel', 'run.launch']);
      expect((await audit.list({ objectType: 'review' })).map((r) => r.object.id)).toEqual(['rev_1']);
      expect((await audit.list({ user: 'UALICE' })).map((r) => r.action)).toEqual(['run.launch']);
      const since = await audit.list({ since: new Date('2026-12-01T10:01:00Z') });
      expect(since.map((r) => r.action)).toEqual(['monitor.pause', 'review.close', 'run.cancel']);
      expect((await audit.list({ limit: 2 })).map((r) => r.action)).toEqual([
        'monitor.pause',
        'review.close',
      ]);
      expect(await audit.list({ objectType: 'run', objectId: 'run_2' })).toEqual([]);
    });

    it('a keyed record is stored once, however often the same action is recorded again', async () => {
      const { audit, clock } = await setup();
      const entry = {
        key: 'run.launch:run_1',
        actor: { via: 'slack', user: 'U1' } as const,
        action: 'run.launch',
        object: { type: 'run', id: 'run_1' } as const,
        summary: 'Launched',
      };
      const a = await audit.record(entry);
      clock.advance(1000);
      const b = await audit.record(entry);
      expect(b).toEqual(a);
      expect(await audit.list({})).toHaveLength(1);
    });

    it('is append-only: the API has no way to change or remove a record', async () => {
      const { audit } = await setup();
      expect(Object.keys(audit).sort()).toEqual(['list', 'record']);
      await expect(
        audit.record({
          actor: { via: 'cli', user: '' },
          action: 'x',
          object: { type: 'run', id: 'r' },
          summary: '',
        }),
      ).rejects.toMatchObject({ code: 'USAGE' });
    });

    it("retention (AUDIT_RETENTION, the store's retention table) is what removes records, by their time", async () => {
      const { audit, clock } = await setup();
      const day = 86_400_000;
      const rule = retentionRules(parseEnv({})).find((r) => r.collection === AUDIT_COLLECTION);
      expect(rule).toMatchObject({ dateField: AUDIT_TIME_FIELD, maxAgeMs: 365 * day });
      const launch = (id: string) =>
        audit.record({
          actor: cliActor({ ARBITER_USER: 'ops' }),
          action: 'run.launch',
          object: { type: 'run', id },
          summary: `Launched ${id}`,
        });
      await launch('run_old');
      clock.advance(30 * day);
      await launch('run_new');
      // A year and a week after the first record: only the first is past its age.
      clock.advance(342 * day);
      const retention = await startRetention({
        store: store!,
        leases: await createLeases(store!, { clock }),
        rules: [rule!],
        owner: 'p1',
        clock,
      });
      try {
        expect(await retention.runOnce()).toEqual([{ collection: AUDIT_COLLECTION, removed: 1 }]);
      } finally {
        await retention.stop();
      }
      expect((await audit.list({})).map((r) => r.object.id)).toEqual(['run_new']);
    });

    it('a record that cannot be stored is logged with the whole entry, and the caller goes on', async () => {
      const { audit } = await setup();
      const logged: unknown[] = [];
      const logger = { error: (obj: unknown) => logged.push(obj) };
      await store!.close();
      await recordAudit(
        audit,
        {
          actor: SYSTEM_ACTOR,
          action: 'digest.post',
          object: { type: 'digest', id: 'weekly' },
          summary: 'Posted',
        },
        logger,
      );
      expect(logged).toHaveLength(1);
      expect(JSON.stringify(logged[0])).toContain('digest.post');
      store = undefined;
    });
  });
}

describe('cliActor', () => {
  it('is ARBITER_USER when set, else the OS user name', () => {
    expect(cliActor({ ARBITER_USER: 'release-bot' })).toEqual({ via: 'cli', user: 'release-bot' });
    const os = cliActor({});
    expect(os.via).toBe('cli');
    expect(os.user.length).toBeGreaterThan(0);
  });
});
