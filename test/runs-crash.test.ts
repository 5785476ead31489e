// kill -9 in the middle of a run, then `arbiter run` again: the run finishes with every item exactly once.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseEnv } from '../config/index.ts';
import { runRunCommand } from '../commands/runs.ts';
import { createEmbeddedStore } from '../storage/index.ts';
import { createRunRepository } from '../runs/index.ts';
import { startStubAgent } from './fixtures/runs-stub-server.ts';
import { kill9, startTsChild, waitForLines as waitFor } from './helpers/child.ts';
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
    const code = await runRunCommand([join(dir, 'suite.yaml'), '--json'], {
      env: parseEnv({ DATA_DIR: join(dir, 'data'), JOB_LEASE_MS: '1000', LOG_LEVEL: 'silent' }),
      environment: {},
      io: { stdout: (t) => (out += t), stderr: (t) => (err += t) },
      pollMs: 20,
    });
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
