// RECORD_FIELD_MAX_BYTES through the run service: an oversized row of a file dataset or of a Langfuse dataset is a
// listed bad row and the other rows run.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadSuite } from '../runs/index.ts';
import type { DocumentStore } from '../storage/index.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { drainRun, offlineRunService } from './helpers/runs.ts';
import { tempDir } from './helpers/tmp.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup() {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const store: DocumentStore = await createEmbeddedStore({ dir: join(dir, 'data') });
  cleanups.push(() => store.close());
  return { dir, store };
}

describe('the per-field limit in runs', () => {
  it('a file dataset row over maxFieldBytes is a bad row; the others run', async () => {
    const { dir, store } = await setup();
    writeFileSync(
      join(dir, 'rows.jsonl'),
      [
        JSON.stringify({ input: 'a', output: 'yes' }),
        JSON.stringify({ input: 'b', output: 'x'.repeat(5000) }),
        JSON.stringify({ input: 'c', output: 'yes' }),
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'suite.yaml'),
      'name: limit\ndataset: rows.jsonl\ntarget: { type: recorded }\nmetrics:\n  - { name: contains, args: { value: "yes" } }\nthreshold: 0.5\n',
    );
    const { queue, svc } = await offlineRunService(store, { maxFieldBytes: 2048 });
    const { runId } = await svc.startRun(loadSuite(join(dir, 'suite.yaml')));
    await drainRun(queue, svc, runId);
    const run = (await svc.getRun(runId))!;
    expect(run.total).toBe(2);
    expect(run.datasetErrors).toEqual([
      { row: 2, reason: expect.stringMatching(/^field `output` is 5 KB, over the 2 KB limit per field/) },
    ]);
  });

  it('a Langfuse dataset item over the limit is a bad row too', async () => {
    const { dir, store } = await setup();
    writeFileSync(
      join(dir, 'suite.yaml'),
      'name: lf\ndataset: { langfuse: qa }\ntarget: { type: recorded }\nmetrics:\n  - { name: contains, args: { value: "yes" } }\nthreshold: 0.5\n',
    );
    const { queue, svc } = await offlineRunService(store, {
      maxFieldBytes: 2048,
      datasets: {
        getDatasetItems: async () => ({
          items: [
            { key: 'k1', row: 1, input: 'a', output: 'yes' },
            { key: 'k2', row: 2, input: 'y'.repeat(3000), output: 'yes' },
          ],
          errors: [],
        }),
      },
    });
    const { runId } = await svc.startRun(loadSuite(join(dir, 'suite.yaml')));
    await drainRun(queue, svc, runId);
    const run = (await svc.getRun(runId))!;
    expect(run.total).toBe(1);
    expect(run.datasetErrors).toEqual([{ row: 2, reason: expect.stringMatching(/^field `input` is 3 KB/) }]);
  });
});
