// The audit trail through the real use cases and the CLI: each recorded action on the real embedded store, a failed
// action recorded as nothing, a record that cannot be written leaving the action done (and logged), and
// `arbiter audit` with its filters and --json. Slack and the console are in test/audit-front-doors.test.ts.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type AuditRecord, createAuditLog } from '../audit/index.ts';
import { runCli } from '../cli/run-cli.ts';
import { createLogger } from '../config/index.ts';
import { createManualClock } from '../config/runtime.ts';
import { createMonitorReviewActions, createMonitorReviewStore } from '../monitors/index.ts';
import type { ReviewTokenDoc } from '../monitors/review.ts';
import { loadSuite } from '../runs/index.ts';
import { createJobQueue, createSqliteStore, type DocumentStore } from '../storage/index.ts';
import { createNedbStore } from '../storage/embedded.ts';
import { offlineRunService } from './helpers/runs.ts';
import { tempDir } from './helpers/tmp.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function folder(): string {
  const t = tempDir('arbiter-audit-');
  cleanups.push(t.cleanup);
  return t.dir;
}

async function sqlite(dir: string): Promise<DocumentStore> {
  const store = await createSqliteStore({ dir });
  cleanups.push(() => store.close());
  return store;
}

async function cli(argv: string[], env: Record<string, string>) {
  let out = '';
  let err = '';
  const code = await runCli(
    argv,
    { LOG_LEVEL: 'silent', ...env },
    {
      stdout: (t) => {
        out += t;
      },
      stderr: (t) => {
        err += t;
      },
      readFile: async () => '',
    },
  );
  return { code, out, err };
}

/** Reads the records with a fresh handle (the CLI closed its own). */
async function recordsIn(dir: string): Promise<AuditRecord[]> {
  const store = await createSqliteStore({ dir });
  try {
    return await createAuditLog(store).list({});
  } finally {
    await store.close();
  }
}

const QUICKSTART = 'examples/suites/quickstart.yaml';

describe('runs: launch, cancel and retry are recorded once they are stored', () => {
  it('a CLI launch and cancel carry the CLI user; an unknown run or a bad suite records nothing', async () => {
    const store = await sqlite(folder());
    const audit = createAuditLog(store);
    const { svc } = await offlineRunService(store, { audit });
    const actor = { via: 'cli', user: 'release-bot' } as const;
    const { runId } = await svc.startRun(loadSuite(QUICKSTART), { limit: 2, actor });
    // The same suite again while the run is unfinished resumes it: recorded as a resume, not a second launch.
    expect(await svc.startRun(loadSuite(QUICKSTART), { limit: 2, actor })).toMatchObject({
      runId,
      resumed: true,
    });
    await svc.cancelRun(runId, { actor });
    await expect(svc.cancelRun('run_nope', { actor })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const dir = folder();
    writeFileSync(join(dir, 'empty.jsonl'), '');
    writeFileSync(
      join(dir, 'empty.yaml'),
      'name: empty\ndataset: ./empty.jsonl\ntarget:\n  type: recorded\nmetrics:\n  - name: refusal\nthreshold:\n  score: 0.5\n',
    );
    await expect(svc.startRun(loadSuite(join(dir, 'empty.yaml')), { actor })).rejects.toMatchObject({
      code: 'USAGE',
    });

    const records = await audit.list({});
    expect(records.map((r) => [r.action, r.object.id, r.actor])).toEqual([
      ['run.cancel', runId, actor],
      ['run.resume', runId, actor],
      ['run.launch', runId, actor],
    ]);
    expect(records[2]!.summary).toBe('Launched quickstart (2 items)');
    expect(records[1]!.summary).toBe('Resumed quickstart at 0/2');
    expect(records[0]!.details).toEqual({ from: 'queued', to: 'cancelled' });
    // Cancelling an ended run changes nothing and records nothing.
    await svc.cancelRun(runId, { actor });
    expect(await audit.list({})).toHaveLength(3);
  });

  it('a run started by a prompt webhook is the system; a retried request with the same key records one launch', async () => {
    const store = await sqlite(folder());
    const audit = createAuditLog(store);
    const { svc } = await offlineRunService(store, { audit });
    const suite = loadSuite(QUICKSTART);
    const options = {
      limit: 2,
      idempotencyKey: 'prompt-autorun:batch1:quickstart',
      trigger: { reason: 'auto' as const, prompt: { name: 'support', version: 7 } },
    };
    const first = await svc.startRun(suite, options);
    const again = await svc.startRun(suite, options);
    expect(again.runId).toBe(first.runId);
    const records = await audit.list({ objectType: 'run', objectId: first.runId });
    expect(records).toHaveLength(1);
    expect(records[0]!.actor).toEqual({ via: 'system', user: 'arbiter' });
    expect(records[0]!.summary).toBe('Launched quickstart (2 items) for support v7 (auto)');
  });

  it('a retried launch whose first attempt stopped before its record writes the record then', async () => {
    const store = await sqlite(folder());
    const audit = createAuditLog(store);
    const lines: string[] = [];
    const logger = createLogger(
      { LOG_LEVEL: 'info', LOG_FORMAT: 'json' },
      { write: (l: string) => void lines.push(l) },
    );
    // The first attempt's audit write fails (the store was briefly unwritable): the run is launched regardless.
    const broken = { record: () => Promise.reject(new Error('disk I/O error')) };
    const { svc } = await offlineRunService(store, { audit: broken, logger });
    const options = {
      limit: 2,
      idempotencyKey: 'slack:cmd:1',
      actor: { via: 'slack', user: 'U1', channel: 'C1' } as const,
    };
    const { runId, created } = await svc.startRun(loadSuite(QUICKSTART), options);
    expect(created).toBe(true);
    expect(await svc.getRun(runId)).toMatchObject({ status: 'queued' });
    const failure = lines.map((l) => JSON.parse(l)).find((l) => l.msg?.startsWith('audit record failed'));
    expect(failure.level).toBe(50);
    expect(failure.audit).toMatchObject({ action: 'run.launch', object: { type: 'run', id: runId } });
    expect(await audit.list({})).toEqual([]);

    // The job retries the same command: nothing new starts, and the missing record is written.
    const { svc: retried } = await offlineRunService(store, { audit });
    const again = await retried.startRun(loadSuite(QUICKSTART), options);
    expect(again).toMatchObject({ runId, created: false });
    const records = await audit.list({});
    expect(records.map((r) => [r.action, r.actor])).toEqual([['run.launch', options.actor]]);
  });
});

describe('monitors: pause, resume, run now and score overrides', () => {
  it('arbiter monitor pause|resume|run record the CLI user (ARBITER_USER); a no-op records nothing', async () => {
    const dir = folder();
    const env = { DATA_DIR: join(dir, 'data'), MONITORS_DIR: 'examples/monitors', ARBITER_USER: 'ops-alice' };
    expect((await cli(['monitor', 'pause', 'support-quality'], env)).code).toBe(0);
    expect((await cli(['monitor', 'pause', 'support-quality'], env)).out).toContain('already paused');
    expect((await cli(['monitor', 'resume', 'support-quality'], env)).code).toBe(0);
    expect((await cli(['monitor', 'run', 'support-quality'], env)).code).toBe(0);
    const records = await recordsIn(join(dir, 'data'));
    expect(records.map((r) => r.action)).toEqual(['monitor.run', 'monitor.resume', 'monitor.pause']);
    for (const r of records) {
      expect(r.actor).toEqual({ via: 'cli', user: 'ops-alice' });
      expect(r.object).toEqual({ type: 'monitor', id: 'support-quality' });
    }
    expect(records[0]!.summary).toBe('Ran support-quality now: read 8, scored 6');
  });

  it('a human override of a judge score is recorded with its clicker and channel; a redelivered click is not', async () => {
    const store = await sqlite(folder());
    const audit = createAuditLog(store);
    const reviews = await createMonitorReviewStore(store);
    const token: ReviewTokenDoc = {
      _id: 'mrt_1',
      monitor: 'support-quality',
      source: 'file',
      itemId: 't-001',
      metric: 'helpfulness',
      judgeValue: 0.8,
      publishLangfuse: false,
      createdAt: new Date('2026-12-01T09:00:00Z'),
    };
    await reviews.register([token]);
    const actions = createMonitorReviewActions({
      store: { reviews, getScored: async () => null },
      clock: createManualClock('2026-12-01T10:00:00Z'),
      audit,
    });
    const ctx = { user: 'UREV', channel: 'C9', key: 'slack:action:1' };
    await actions.handle({ actionId: 'monitor.review:fail', value: 'mrt_1' }, ctx);
    await actions.handle({ actionId: 'monitor.review:fail', value: 'mrt_1' }, ctx);
    const records = await audit.list({ objectType: 'monitor', objectId: 'support-quality' });
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      action: 'review.override',
      actor: { via: 'slack', user: 'UREV', channel: 'C9' },
      summary: "Overrode the judge's 0.80 with fail on helpfulness for item t-001",
      details: { decision: 'fail', value: 0, judgeValue: 0.8 },
    });
  });
});

describe('admin actions from the CLI', () => {
  it('arbiter digest posts once per period and records it; a second call records nothing more', async () => {
    const dir = folder();
    const env = { DATA_DIR: dir, DIGESTS_DIR: 'examples/digests', ARBITER_USER: 'ops-bob' };
    const first = await cli(['digest'], env);
    expect(first.code).toBe(0);
    await cli(['digest'], env);
    const records = await recordsIn(dir);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      action: 'digest.post',
      actor: { via: 'cli', user: 'ops-bob' },
      object: { type: 'digest' },
    });
    expect(records[0]!.summary).toMatch(/^Posted the \S+ digest for (day|week) /);
  });

  it('arbiter jobs cancel records the job it cancelled; cancelling it again records nothing', async () => {
    const dir = folder();
    const store = await createSqliteStore({ dir });
    const queue = await createJobQueue(store);
    const { job } = await queue.enqueue({ type: 'test.noop', payload: {} });
    await store.close();
    const env = { DATA_DIR: dir, ARBITER_USER: 'ops-carol' };
    expect((await cli(['jobs', 'cancel', job._id], env)).out).toBe(`Cancelled ${job._id}.\n`);
    // Cancelling it again changes nothing, so it is not recorded again.
    expect((await cli(['jobs', 'cancel', job._id], env)).code).toBe(0);
    const records = await recordsIn(dir);
    expect(records.map((r) => [r.action, r.object, r.actor])).toEqual([
      ['job.cancel', { type: 'job', id: job._id }, { via: 'cli', user: 'ops-carol' }],
    ]);
  });

  it('arbiter store migrate records the migration in the SQLite store it made', async () => {
    const dir = folder();
    const nedb = await createNedbStore({ dir, autocompactMs: 0 });
    await (await nedb.collection('notes')).insertOne({ _id: 'n1' });
    await nedb.close();
    const done = await cli(['store', 'migrate'], { DATA_DIR: dir, ARBITER_USER: 'ops-dan' });
    expect(done.code).toBe(0);
    const records = await recordsIn(dir);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      action: 'admin.store-migrate',
      actor: { via: 'cli', user: 'ops-dan' },
      object: { type: 'store', id: 'embedded' },
      summary: 'Migrated 1 document(s) in 1 collection(s) from nedb to SQLite',
    });
  });
});

describe('arbiter audit', () => {
  async function seeded(): Promise<string> {
    const dir = folder();
    const store = await createSqliteStore({ dir });
    const clock = createManualClock('2026-12-01T10:00:00Z');
    const audit = createAuditLog(store, { clock });
    const add = async (user: string, action: string, type: 'run' | 'review', id: string, summary: string) => {
      await audit.record({
        actor:
          user === 'arbiter' ? { via: 'system', user: 'arbiter' } : { via: 'slack', user, channel: 'C1' },
        action,
        object: { type, id },
        summary,
      });
      clock.advance(3_600_000);
    };
    await add('UALICE', 'run.launch', 'run', 'run_1', 'Launched quickstart (4 items)');
    await add('UBOB', 'run.cancel', 'run', 'run_1', 'Cancelled quickstart at 1/4');
    await add('arbiter', 'review.close', 'review', 'rev_1', 'Closed the review (its deadline passed)');
    await store.close();
    return dir;
  }

  it('--json prints every record, newest first, with its actor, object and ISO time', async () => {
    const dir = await seeded();
    const r = await cli(['audit', '--json'], { DATA_DIR: dir });
    expect(r.code).toBe(0);
    const records = JSON.parse(r.out) as Record<string, unknown>[];
    expect(records.map((x) => x.action)).toEqual(['review.close', 'run.cancel', 'run.launch']);
    expect(records[2]).toMatchObject({
      at: '2026-12-01T10:00:00.000Z',
      actor: { via: 'slack', user: 'UALICE', channel: 'C1' },
      object: { type: 'run', id: 'run_1' },
      summary: 'Launched quickstart (4 items)',
    });
    expect(typeof records[2]!.id).toBe('string');
  });

  it('filters by --user, --object and --since, and prints one line per record', async () => {
    const dir = await seeded();
    const byUser = await cli(['audit', '--user', 'UBOB'], { DATA_DIR: dir });
    expect(byUser.out).toBe(
      '2026-12-01 11:00Z  UBOB (Slack in C1)  run.cancel  run:run_1  Cancelled quickstart at 1/4\n',
    );
    const ofRun = JSON.parse(
      (await cli(['audit', '--object', 'run:run_1', '--json'], { DATA_DIR: dir })).out,
    );
    expect(ofRun.map((x: { action: string }) => x.action)).toEqual(['run.cancel', 'run.launch']);
    const reviews = JSON.parse((await cli(['audit', '--object', 'review', '--json'], { DATA_DIR: dir })).out);
    expect(reviews.map((x: { object: { id: string } }) => x.object.id)).toEqual(['rev_1']);
    const since = JSON.parse(
      (await cli(['audit', '--since', '2026-12-01T11:00:00Z', '--json'], { DATA_DIR: dir })).out,
    );
    expect(since.map((x: { action: string }) => x.action)).toEqual(['review.close', 'run.cancel']);
    // Relative to now: the seeded records are in the past, so a one-day window from today holds none of them.
    const recent = await cli(['audit', '--since', '1d'], { DATA_DIR: dir });
    expect(recent.out).toMatch(/^No audit records match \(since /);
    expect((await cli(['audit', '--limit', '1', '--json'], { DATA_DIR: dir })).out).toContain('review.close');
  });

  it('bad options exit 2 with a message naming the option', async () => {
    const dir = await seeded();
    const bad = async (...argv: string[]) => {
      const r = await cli(['audit', ...argv], { DATA_DIR: dir });
      expect(r.code).toBe(2);
      return r.err;
    };
    expect(await bad('--since', 'yesterday')).toContain('--since expects a duration');
    expect(await bad('--object', 'spaceship:1')).toContain('--object expects <type>:<id>');
    expect(await bad('--limit', '0')).toContain('--limit must be at least 1');
    expect(await bad('--limit', 'ten')).toContain('--limit expects a whole number');
    expect(await bad('--frobnicate')).toContain('Unknown option --frobnicate');
  });
});
