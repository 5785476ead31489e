// Stored runs read back through the real store and repository: a corrupt run document or a corrupt stored suite
// is a STORE_INVALID_DOCUMENT naming `runs/<id>`, not a TypeError inside the JUnit report or the summary.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isArbiterError } from '../config/index.ts';
import type { DocumentStore } from '../storage/index.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { renderJunit } from './junit.ts';
import { createRunRepository } from './repository.ts';
import { readRunSuite } from './stored-suite.ts';
import type { Run } from './types.ts';

let dir: string;
let store: DocumentStore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'arbiter-stored-suite-'));
  store = await createEmbeddedStore({ dir: join(dir, 'data'), autocompactMs: 0 });
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const suite = {
  name: 'quickstart',
  file: '/suites/quickstart.yaml',
  dataset: { kind: 'file', path: '/data/qa.jsonl' },
  target: { type: 'echo' },
  // An entry in the old form, as older versions stored it.
  metrics: [{ name: 'exact-match' }],
  threshold: { score: 0.7 },
};

function run(id: string, suiteJson: string): Run {
  const at = new Date('2026-01-01T00:00:00Z');
  return {
    _id: id,
    suiteName: 'quickstart',
    suiteFile: '/suites/quickstart.yaml',
    suiteHash: 'h',
    suiteJson,
    status: 'completed',
    options: { concurrency: 1 },
    total: 0,
    datasetErrors: [],
    datasetSource: 'qa.jsonl',
    progress: { done: 0, total: 0, errors: 0, meanScore: null },
    createdAt: at,
    updatedAt: at,
  };
}

function caught(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

describe('a suite stored on a run', () => {
  it('reads back a good stored suite, upgrading old metric entries', async () => {
    const repo = await createRunRepository(store);
    await repo.insertRun(run('run_ok', JSON.stringify(suite)));
    const back = readRunSuite((await repo.getRun('run_ok'))!);
    expect(back.threshold).toEqual({ score: 0.7 });
    expect(back.metrics[0]).toMatchObject({ metric: 'exact-match', name: 'exact-match' });
    expect(renderJunit((await repo.getRun('run_ok'))!, [])).toContain('<testsuite');
  });

  it('a stored suite missing its threshold is an error naming the run and the field, also in the JUnit report', async () => {
    const repo = await createRunRepository(store);
    const { threshold: _dropped, ...old } = suite;
    await repo.insertRun(run('run_old', JSON.stringify(old)));
    const stored = (await repo.getRun('run_old'))!;
    for (const err of [caught(() => readRunSuite(stored)), caught(() => renderJunit(stored, []))]) {
      expect(isArbiterError(err, 'STORE_INVALID_DOCUMENT')).toBe(true);
      expect((err as Error).message).toMatch(
        /^Stored document runs\/run_old \(field suiteJson\) does not match its schema: threshold: /,
      );
    }
  });

  it('unreadable suite JSON and a corrupt run document name the run', async () => {
    const repo = await createRunRepository(store);
    await repo.insertRun(run('run_cut', '{"name": "quickst'));
    expect(() => readRunSuite(run('run_cut', '{"name": "quickst'))).toThrow(
      /^Stored document runs\/run_cut \(field suiteJson\) holds unreadable JSON/,
    );
    const runs = await store.collection<{ _id: string } & Record<string, unknown>>('runs');
    await runs.insertOne({ ...run('run_bad', JSON.stringify(suite)), total: 'many' });
    await expect(repo.getRun('run_bad')).rejects.toThrow(
      /^Stored document runs\/run_bad does not match its schema: total: /,
    );
  });
});
