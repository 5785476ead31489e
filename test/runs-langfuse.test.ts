// Langfuse datasets as a run's dataset, and the run linked back as a Langfuse dataset run (traces, dataset run
// items, scores), on the real store, queue and worker; Langfuse is faked at the HTTP boundary with nock, in the
// shapes of its public API.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isArbiterError } from '../config/index.ts';
import { createLangfuseClient } from '../langfuse/index.ts';
import {
  createLangfuseDatasetSource,
  fromLangfuseItem,
  langfuseRunName,
  langfuseScoreId,
  langfuseTraceId,
  loadSuite,
  type RunService,
} from '../runs/index.ts';
import { createEmbeddedStore } from '../storage/index.ts';
import { tempDir } from './helpers/tmp.ts';
import { drainRun, offlineRunService } from './helpers/runs.ts';

const LF = 'https://langfuse.test';
const SECRET = 'sk-lf-never-shown';
const client = () => createLangfuseClient({ baseUrl: LF, publicKey: 'pk-lf-1', secretKey: SECRET });

// Shapes of GET /api/public/v2/datasets/{datasetName} (commons.Dataset) and GET /api/public/dataset-items
// (PaginatedDatasetItems, page-based, limit ≤ 100): https://github.com/langfuse/langfuse/blob/main/fern/apis/server/definition/datasets.yml,
// dataset-items.yml and commons.yml (rendered at https://api.reference.langfuse.com/#tag/datasets).
const DATASET = {
  id: 'ds_123',
  name: 'support qa',
  description: 'Support questions',
  metadata: null,
  inputSchema: null,
  expectedOutputSchema: null,
  projectId: 'proj_1',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
};

function lfItem(id: string, input: unknown, expectedOutput: unknown, status = 'ACTIVE') {
  return {
    id,
    status,
    input,
    expectedOutput,
    metadata: { source: 'prod' },
    sourceTraceId: null,
    sourceObservationId: null,
    datasetId: 'ds_123',
    datasetName: 'support qa',
    createdAt: '2026-01-02T00:00:00.000Z',
    updatedAt: '2026-01-02T00:00:00.000Z',
    mediaReferences: [],
  };
}

const PAGE1 = [
  lfItem('it_1', 'When is support open?', 'Support is open 9 to 5.'),
  lfItem(
    'it_2',
    { question: 'How do I reset my password?', product: 'web' },
    { output: 'Use the reset link.' },
  ),
  lfItem('it_old', 'An archived question', 'x', 'ARCHIVED'),
];
const PAGE2 = [lfItem('it_3', 'Do you ship abroad?', 'Yes.')];

function mockDataset(scope: nock.Scope) {
  return scope
    .get('/api/public/v2/datasets/support%20qa')
    .reply(200, DATASET)
    .get('/api/public/dataset-items')
    .query({ datasetName: 'support qa', page: '1', limit: '100' })
    .reply(200, { data: PAGE1, meta: { page: 1, limit: 100, totalItems: 4, totalPages: 2 } })
    .get('/api/public/dataset-items')
    .query({ datasetName: 'support qa', page: '2', limit: '100' })
    .reply(200, { data: PAGE2, meta: { page: 2, limit: 100, totalItems: 4, totalPages: 2 } });
}

beforeEach(() => {
  nock.disableNetConnect();
});
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

describe('Langfuse datasets as a run dataset', () => {
  it('reads every page, skips archived items and maps object inputs to input + variables', async () => {
    const scope = mockDataset(nock(LF));
    const res = await createLangfuseDatasetSource(client()).getDatasetItems('support qa');
    scope.done();
    expect(res.datasetId).toBe('ds_123');
    expect(res.errors).toEqual([]);
    expect(res.items.map((i) => i.key)).toEqual(['lf:it_1', 'lf:it_2', 'lf:it_3']);
    expect(res.items[1]).toMatchObject({
      input: 'How do I reset my password?',
      expected: 'Use the reset link.',
      variables: { question: 'How do I reset my password?', product: 'web' },
      metadata: { source: 'prod' },
      sourceId: 'it_2',
    });
  });

  it.each([
    [null, 'no input'],
    ['', 'no input'],
  ])('reports an item without input (%j) as a row error', (input, reason) => {
    const r = fromLangfuseItem({ id: 'x', status: 'ACTIVE', input }, 4);
    expect(r).toEqual({ ok: false, error: { row: 4, reason: expect.stringContaining(reason) } });
  });

  it.each([
    [404, 'NOT_FOUND', /no dataset named 'support qa'/],
    [401, 'CONFIG_INVALID', /refused to read dataset 'support qa'/],
  ] as const)('HTTP %i names the dataset (%s) and never the key', async (status, code, message) => {
    nock(LF).get('/api/public/v2/datasets/support%20qa').reply(status, { message: 'nope' });
    const err = await createLangfuseDatasetSource(client())
      .getDatasetItems('support qa')
      .catch((e: unknown) => e);
    expect(isArbiterError(err) && err.code).toBe(code);
    expect(String((err as Error).message)).toMatch(message);
    expect(String((err as Error).message)).not.toContain(SECRET);
  });

  it('a record that does not parse is a row error; the rest still run', async () => {
    nock(LF)
      .get('/api/public/v2/datasets/support%20qa')
      .reply(200, DATASET)
      .get('/api/public/dataset-items')
      .query(true)
      .reply(200, {
        data: [{ status: 'ACTIVE', input: 'no id' }, PAGE2[0]],
        meta: { page: 1, limit: 100, totalItems: 2, totalPages: 1 },
      });
    const res = await createLangfuseDatasetSource(client()).getDatasetItems('support qa');
    expect(res.items.map((i) => i.key)).toEqual(['lf:it_3']);
    expect(res.errors).toEqual([{ row: 1, reason: expect.stringContaining('id') }]);
  });
});

interface Captured {
  traces: {
    id: string;
    body: { id: string; name?: string; input?: unknown; metadata?: Record<string, unknown> };
  }[];
  links: {
    runName: string;
    runDescription?: string;
    datasetItemId: string;
    traceId: string;
    metadata?: unknown;
  }[];
  scores: { id: string; traceId: string; name: string; value: number }[];
}

/** Fake Langfuse write endpoints, capturing every body; `failLinkFor` answers 500 once for that dataset item. */
function mockWrites(scope: nock.Scope, captured: Captured, opts: { failLinkFor?: string } = {}) {
  let failed = false;
  return scope
    .post('/api/public/ingestion')
    .times(100)
    .reply(207, (_uri, body) => {
      const batch = (body as { batch: { id: string; type: string; body: Captured['traces'][0]['body'] }[] })
        .batch;
      for (const e of batch) captured.traces.push({ id: e.id, body: e.body });
      return { successes: batch.map((e) => ({ id: e.id, status: 201 })), errors: [] };
    })
    .post('/api/public/dataset-run-items')
    .times(100)
    .reply((_uri, body) => {
      const b = body as Captured['links'][0];
      if (b.datasetItemId === opts.failLinkFor && !failed) {
        failed = true;
        return [500, { message: 'internal' }];
      }
      captured.links.push(b);
      return [
        200,
        {
          id: `dri_${b.datasetItemId}`,
          datasetRunId: 'run_lf',
          datasetRunName: b.runName,
          datasetItemId: b.datasetItemId,
          traceId: b.traceId,
          observationId: null,
          createdAt: '2026-01-03T00:00:00.000Z',
          updatedAt: '2026-01-03T00:00:00.000Z',
        },
      ];
    })
    .post('/api/public/scores')
    .times(1000)
    .reply(200, (_uri, body) => {
      captured.scores.push(body as Captured['scores'][0]);
      return { id: (body as { id: string }).id };
    });
}

async function harness() {
  const { dir, cleanup } = tempDir();
  const store = await createEmbeddedStore({ dir: join(dir, 'data'), autocompactMs: 0 });
  const { queue, svc } = await offlineRunService(store, { langfuse: client(), progressIntervalMs: 0 });
  writeFileSync(
    join(dir, 'suite.yaml'),
    `name: lf-suite
description: Nightly support check
dataset: { langfuse: support qa }
target: { type: model, model: "offline:heuristic", system: "Answer briefly." }
metrics:
  - { name: length, args: { max: 200 } }
  - { name: pii }
threshold: 0.1
`,
  );
  const drain = (s: RunService, runId: string) => drainRun(queue, s, runId);
  return {
    svc,
    suite: () => loadSuite(join(dir, 'suite.yaml')),
    drain,
    close: async () => {
      await store.close();
      cleanup();
    },
  };
}

describe('a run of a Langfuse dataset is linked as a Langfuse dataset run', () => {
  it('sends one trace, one dataset run item and the scores per item, all with ids derived from run + item', async () => {
    const h = await harness();
    try {
      const captured: Captured = { traces: [], links: [], scores: [] };
      const reads = mockDataset(nock(LF));
      mockWrites(nock(LF), captured);
      const { runId } = await h.svc.startRun(h.suite());
      await h.drain(h.svc, runId);
      const run = (await h.svc.getRun(runId))!;
      expect(run.status).toBe('completed');
      expect(run.datasetSource).toBe('langfuse:support qa');
      expect(run.langfuse).toMatchObject({
        datasetName: 'support qa',
        datasetId: 'ds_123',
        linked: 3,
        failed: 0,
      });

      const keys = ['lf:it_1', 'lf:it_2', 'lf:it_3'];
      const traceIds = keys.map((k) => langfuseTraceId(runId, k));
      expect(captured.traces.map((t) => t.body.id).sort()).toEqual([...traceIds].sort());
      expect(new Set(captured.traces.map((t) => t.id)).size).toBe(3);
      expect(captured.traces.find((t) => t.body.id === traceIds[0])!.body).toMatchObject({
        input: 'When is support open?',
        metadata: { arbiterRunId: runId, itemKey: 'lf:it_1' },
      });
      expect(captured.links.map((l) => [l.datasetItemId, l.traceId]).sort()).toEqual(
        [
          ['it_1', traceIds[0]],
          ['it_2', traceIds[1]],
          ['it_3', traceIds[2]],
        ].sort(),
      );
      for (const l of captured.links) {
        expect(l.runName).toBe(langfuseRunName({ _id: runId, suiteName: 'lf-suite' }));
        expect(l.runDescription).toBe('Nightly support check');
      }
      // Two metrics on three items, each id derived from trace + metric.
      expect(captured.scores).toHaveLength(6);
      for (const s of captured.scores) {
        expect(s.id).toBe(langfuseScoreId(s.traceId, s.name));
        expect(s.value).toBeGreaterThanOrEqual(0);
      }
      const items = await h.svc.items(runId);
      expect(items.every((v) => v.doc.langfuse?.scored && v.doc.langfuse.linkId)).toBe(true);
      reads.done();
    } finally {
      await h.close();
    }
  });

  it('a failed link is sent again later with the same ids, and only what is missing', async () => {
    const h = await harness();
    try {
      const captured: Captured = { traces: [], links: [], scores: [] };
      mockWrites(mockDataset(nock(LF)), captured, { failLinkFor: 'it_2' });
      // The retry looks the run's items up first: it_2's link never reached Langfuse.
      nock(LF)
        .get('/api/public/dataset-run-items')
        .query(true)
        .reply(200, (uri) => {
          const q = new URL(uri, LF).searchParams;
          expect(q.get('datasetId')).toBe('ds_123');
          return {
            data: captured.links.map((l) => ({
              id: `dri_${l.datasetItemId}`,
              datasetItemId: l.datasetItemId,
              traceId: l.traceId,
            })),
            meta: { page: 1, limit: 100, totalItems: captured.links.length, totalPages: 1 },
          };
        });
      const { runId } = await h.svc.startRun(h.suite());
      await h.drain(h.svc, runId);
      const first = (await h.svc.getRun(runId))!;
      expect(first.status).toBe('completed');
      expect(first.langfuse).toMatchObject({
        linked: 2,
        failed: 1,
        lastError: expect.stringContaining('500'),
      });
      expect(captured.links.map((l) => l.datasetItemId).sort()).toEqual(['it_1', 'it_3']);
      const tracesBefore = captured.traces.length;
      const scoresBefore = captured.scores.map((s) => s.id);

      const again = await h.svc.publishToLangfuse(runId);
      expect(again).toMatchObject({ linked: 3, failed: 0 });
      // Traces were all accepted the first time: none is sent again.
      expect(captured.traces).toHaveLength(tracesBefore);
      expect(captured.links.map((l) => l.datasetItemId).sort()).toEqual(['it_1', 'it_2', 'it_3']);
      const newScores = captured.scores.slice(scoresBefore.length);
      const t2 = langfuseTraceId(runId, 'lf:it_2');
      expect(newScores.map((s) => s.traceId)).toEqual([t2, t2]);
      expect(newScores.every((s) => s.id === langfuseScoreId(t2, s.name))).toBe(true);
      expect((await h.svc.getRun(runId))!.langfuse).toMatchObject({ linked: 3, failed: 0 });
      expect((await h.svc.getRun(runId))!.langfuse?.lastError).toBeUndefined();
    } finally {
      await h.close();
    }
  });

  it('a link whose answer was lost is found in Langfuse and not created twice', async () => {
    const h = await harness();
    try {
      const captured: Captured = { traces: [], links: [], scores: [] };
      // it_3's link reaches Langfuse but the connection drops before the answer.
      mockDataset(nock(LF))
        .post('/api/public/dataset-run-items', (b: { datasetItemId: string }) => b.datasetItemId === 'it_3')
        .replyWithError('socket hang up');
      mockWrites(nock(LF), captured);
      const { runId } = await h.svc.startRun(h.suite());
      await h.drain(h.svc, runId);
      expect((await h.svc.getRun(runId))!.langfuse).toMatchObject({ linked: 2, failed: 1 });
      const t3 = langfuseTraceId(runId, 'lf:it_3');
      nock(LF)
        .get('/api/public/dataset-run-items')
        .query(true)
        .reply(200, {
          data: [
            ...captured.links.map((l) => ({
              id: `dri_${l.datasetItemId}`,
              datasetItemId: l.datasetItemId,
              traceId: l.traceId,
            })),
            { id: 'dri_lost', datasetItemId: 'it_3', traceId: t3 },
          ],
          meta: { page: 1, limit: 100, totalItems: 3, totalPages: 1 },
        });
      const linksBefore = captured.links.length;
      const again = await h.svc.publishToLangfuse(runId);
      expect(again).toMatchObject({ linked: 3, failed: 0 });
      // No second POST for it_3: it would have been captured here.
      expect(captured.links).toHaveLength(linksBefore);
      const item3 = (await h.svc.items(runId)).find((v) => v.doc.itemKey === 'lf:it_3')!;
      expect(item3.doc.langfuse).toMatchObject({ traceId: t3, linkId: 'dri_lost', scored: true });
    } finally {
      await h.close();
    }
  });

  it('without Langfuse a Langfuse dataset is a usage error', async () => {
    const { dir, cleanup } = tempDir();
    const store = await createEmbeddedStore({ dir, autocompactMs: 0 });
    try {
      const { svc } = await offlineRunService(store);
      writeFileSync(
        join(dir, 's.yaml'),
        'name: s\ndataset: { langfuse: qa }\ntarget: { type: recorded }\nmetrics: [{ name: pii }]\nthreshold: 0.5\n',
      );
      const err = await svc.startRun(loadSuite(join(dir, 's.yaml'))).catch((e: unknown) => e);
      expect(isArbiterError(err) && err.code).toBe('USAGE');
      expect(String((err as Error).message)).toContain("Langfuse dataset 'qa' needs Langfuse");
    } finally {
      await store.close();
      cleanup();
    }
  });
});
