// kill -9 in the middle of a run, then `arbiter run` again: the run finishes with every item exactly once; a run is
// runnable only once all its items are stored, and never finishes with items missing without failing.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseEnv } from '../config/index.ts';
import { runVerdict } from '../commands/run-messages.ts';
import { type RunCliArgs, runRunCommand } from '../commands/runs-cli.ts';
import { withCliServices } from './helpers/cli-services.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { createRunRepository, loadSuite, renderJunit, summaryExitCode } from '../runs/index.ts';
import { startStubAgent } from './fixtures/runs-stub-server.ts';
import { kill9, startTsChild, waitForLines as waitFor } from './helpers/child.ts';
import { viaRegistry } from './helpers/cli-args.ts';
import { drainRun, offlineRunService } from './helpers/runs.ts';
import { withCollectionOverride } from './helpers/store-faults.ts';
import { tempDir } from './helpers/tmp.ts';

describe('runs survive kill -9', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('resumes where it stopped, storing and counting every item exactly once', async () => {
    const stub = await startStubAgent({ latencyMs: 40 });
    cleanups.push(() => stub.close());
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const total = 40;
    writeFileSync(
      join(dir, 'data.jsonl'),
      Array.from({ length: total }, (_, i) => JSON.stringify({ id: `i${i}`, input: `question ${i}` })).join(
        '\n',
      ),
    );
    writeFileSync(
      join(dir, 'suite.yaml'),
      `name: crash
dataset: data.jsonl
target: { type: http, url: "${stub.url}/chat", body: { message: "{{input}}" }, answer: reply }
metrics: [{ name: contains, args: { value: question } }]
threshold: 0.9
concurrency: 4
`,
    );
    const child = startTsChild('test/fixtures/runs-crash-child.ts', [dir]);
    const lines = await waitFor(child, (ls) =>
      ls.some((l) => /^stored (\d+)/.test(l) && Number(l.split(' ')[1]) >= 8),
    );
    await kill9(child);
    const runId = lines.find((l) => l.startsWith('started'))!.split(' ')[1]!;

    // Start again the way a user would: the unfinished run of the same suite is resumed.
    let out = '';
    let err = '';
    const code = await withCliServices(
      {
        env: parseEnv({ DATA_DIR: join(dir, 'data'), JOB_LEASE: '1s', LOG_LEVEL: 'silent' }),
        environment: {},
        io: { stdout: (t: string) => (out += t), stderr: (t: string) => (err += t) },
        pollMs: 20,
      },
      (d) => runRunCommand({ suite: join(dir, 'suite.yaml'), json: true }, d),
    );
    expect(err).toContain(`Resuming run ${runId}`);
    expect(code).toBe(0);
    const report = JSON.parse(out) as {
      _id: string;
      summary: { total: number; finished: number; passed: number };
    };
    expect(report._id).toBe(runId);
    expect(report.summary).toMatchObject({ total, finished: total, passed: total });

    const store = await createEmbeddedStore({ dir: join(dir, 'data'), autocompactMs: 0 });
    cleanups.push(() => store.close());
    const repo = await createRunRepository(store);
    const items = await repo.items(runId);
    expect(items).toHaveLength(total);
    expect(new Set(items.map((v) => v.doc.itemKey)).size).toBe(total);
    expect(items.every((v) => v.doc.status === 'done')).toBe(true);
    // Only items in flight at the kill may have been sent twice: twice the concurrency at most (the permits of
    // runs/permits.ts limit target calls to 4; an item being scored or stored holds none but is still in flight).
    const perInput = new Map<string, number>();
    for (const r of stub.requests) {
      const m = String((r.body as { message?: string }).message);
      perInput.set(m, (perInput.get(m) ?? 0) + 1);
    }
    expect(perInput.size).toBe(total);
    const resent = [...perInput.values()].filter((n) => n > 1).length;
    expect(resent).toBeLessThanOrEqual(8);
  });
});

/** A suite of `rows` rows (http target on `url`) in `dir`; returns the suite file. */
function writeSuite(dir: string, url: string, rows: number, tag = 'question'): string {
  writeFileSync(
    join(dir, 'data.jsonl'),
    Array.from({ length: rows }, (_, i) => JSON.stringify({ id: `i${i}`, input: `${tag} ${i}` })).join('\n'),
  );
  const file = join(dir, 'suite.yaml');
  writeFileSync(
    file,
    `name: batches
dataset: data.jsonl
target: { type: http, url: "${url}/chat", body: { message: "{{input}}" }, answer: reply }
metrics: [{ name: contains, args: { value: question } }]
threshold: 0.9
concurrency: 8
`,
  );
  return file;
}

async function runCli(dir: string, args: string[]) {
  let out = '';
  let err = '';
  const io = {
    stdout(t: string) {
      out += t;
    },
    stderr(t: string) {
      err += t;
    },
  };
  const code = await viaRegistry(['run', ...args], io, (cmd: RunCliArgs) =>
    withCliServices(
      {
        env: parseEnv({ DATA_DIR: join(dir, 'data'), JOB_LEASE: '1s', LOG_LEVEL: 'silent' }),
        environment: {},
        io,
        pollMs: 20,
      },
      (d) => runRunCommand(cmd, d),
    ),
  );
  return { code, out, err };
}

describe('a run is all or nothing', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('kill -9 between two batches of items: the resume stores the rest from the unchanged dataset and runs all 600', async () => {
    const stub = await startStubAgent({ latencyMs: 0 });
    cleanups.push(() => stub.close());
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const suite = writeSuite(dir, stub.url, 600);
    const child = startTsChild('test/fixtures/runs-crash-child.ts', [dir, 'hold-after-first-batch']);
    await waitFor(child, (ls) => ls.includes('batch 1'));
    await kill9(child);

    // What the kill left: a run with 500 of its 600 items, not runnable, and no job.
    const store = await createEmbeddedStore({ dir: join(dir, 'data'), autocompactMs: 0 });
    const repo = await createRunRepository(store);
    const [left] = await repo.listRuns();
    expect(left).toMatchObject({ status: 'queued', total: 600, itemsStored: false });
    expect(left!.jobId).toBeUndefined();
    expect(await repo.countItems(left!._id)).toBe(500);
    await store.close();

    const { code, out, err } = await runCli(dir, [suite, '--json']);
    expect(err).toContain(`Resuming run ${left!._id}`);
    const report = JSON.parse(out) as {
      _id: string;
      summary: { total: number; finished: number; missing: number };
    };
    expect(report._id).toBe(left!._id);
    expect(report.summary).toMatchObject({ total: 600, finished: 600, missing: 0 });
    expect(code).toBe(0);
    // Every row was sent exactly once (nothing ran before the kill).
    expect(new Set(stub.requests.map((r) => (r.body as { message: string }).message)).size).toBe(600);
    expect(stub.requests).toHaveLength(600);
  }, 60_000);

  it('a crash between batches and a dataset changed since: the run fails saying so, and runs nothing', async () => {
    const stub = await startStubAgent({ latencyMs: 0 });
    cleanups.push(() => stub.close());
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const file = writeSuite(dir, stub.url, 1200);
    const real = await createEmbeddedStore({ dir: join(dir, 'data'), autocompactMs: 0 });
    cleanups.push(() => real.close());
    let batches = 0;
    const crashing = withCollectionOverride(real, 'run_items', (col) => ({
      async insertMany(docs) {
        if (++batches > 1) throw new Error('killed between batches');
        return col.insertMany(docs);
      },
    }));
    const first = await offlineRunService(crashing);
    await expect(first.svc.startRun(loadSuite(file), { idempotencyKey: 'slack:cmd-1' })).rejects.toThrow(
      'killed between batches',
    );
    // The dataset is edited before anyone retries (a Slack command's job runs again with the same key).
    writeSuite(dir, stub.url, 1200, 'changed question');
    const { queue, svc } = await offlineRunService(real);
    const again = await svc.startRun(loadSuite(file), { idempotencyKey: 'slack:cmd-1' });
    expect(again).toMatchObject({ created: false, resumed: true });
    await drainRun(queue, svc, again.runId);
    const run = (await svc.getRun(again.runId))!;
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(
      /only 500 of the run's 1200 items were stored before its process stopped, and .*data\.jsonl has changed since/,
    );
    expect(run.summary).toBeUndefined();
    expect(stub.requests).toHaveLength(0);
  }, 60_000);

  it('a run whose stored items went missing finishes ERROR with the count, never passed', async () => {
    const stub = await startStubAgent({ latencyMs: 0 });
    cleanups.push(() => stub.close());
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const file = writeSuite(dir, stub.url, 12);
    const store = await createEmbeddedStore({ dir: join(dir, 'data'), autocompactMs: 0 });
    cleanups.push(() => store.close());
    const { queue, svc } = await offlineRunService(store);
    const { runId } = await svc.startRun(loadSuite(file));
    // The store loses five item documents (a corrupt line dropped on load, an operator's mistake).
    const items = await store.collection('run_items');
    expect(await items.deleteMany({ runId, row: { $gt: 7 } })).toBe(5);
    await drainRun(queue, svc, runId);
    const run = (await svc.getRun(runId))!;
    expect(run.status).toBe('completed');
    expect(run.summary).toMatchObject({
      total: 12,
      finished: 7,
      missing: 5,
      passed: 7,
      gate: { passed: false, verdict: 'errored', errorKind: 'infrastructure' },
    });
    expect(summaryExitCode(run.summary!)).toBe(3);
    expect(runVerdict(run)).toMatch(/^ERROR: 5 of 12 items were never stored/);
    const junit = renderJunit(run, await svc.items(runId));
    expect(junit).toContain('tests="8" failures="0" errors="1"');
    expect(junit).toContain('5 of 12 items were never stored');
  });
});
