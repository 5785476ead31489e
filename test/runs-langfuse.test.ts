// Langfuse datasets as a run's dataset, and the run linked back as a Langfuse experiment run (OTel item traces with
// the experiment attributes, judge and target generations as their children, scores on the item's root
// observation), on the real store, queue, worker and tracing pipeline; Langfuse is faked at the HTTP boundary (nock
// for reads, a loopback fake Langfuse v4 for writes), in the shapes of its current API.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { renderRunSummary } from '../commands/run-messages.ts';
import { runRunsCommand } from '../commands/runs-cli.ts';
import { withCliServices } from './helpers/cli-services.ts';
import { isArbiterError, parseEnv } from '../config/index.ts';
import { createMetric } from '../evaluators/registry.ts';
import { createLangfuseClient } from '../langfuse/client.ts';
import { createLlm } from '../llm/index.ts';
import { createLangfuseTracing } from '../llm/otel.ts';
import { createScriptedProvider } from '../llm/testing.ts';
import { DEFAULT_PRICES } from '../llm/prices.ts';
import { langfuseRunName, loadSuite } from '../runs/index.ts';
import {
  createLangfuseDatasetSource,
  fromLangfuseItem,
  itemSpanIds,
  langfuseExperimentId,
  langfuseScoreId,
  langfuseScoreValue,
} from '../runs/langfuse.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { createSilentLogger } from '../config/index.ts';
import { type FakeLangfuse, startFakeLangfuse } from './fixtures/fake-langfuse.ts';
import { tempDir } from './helpers/tmp.ts';
import { waitUntil } from './helpers/wait.ts';
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
  nock.enableNetConnect('127.0.0.1');
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

describe('tool calls on Langfuse dataset items', () => {
  // The documented shapes: expected calls in `expectedOutput.toolCalls` (or `metadata.expectedToolCalls`), the
  // recorded calls in `metadata.toolCalls`, each `[{name, args}]`; items served by the loopback fake Langfuse.
  const call = (name: string, args: Record<string, unknown>) => ({ name, args });
  const items = [
    {
      ...lfItem('tc_1', 'Weather in Paris?', {
        output: 'Sunny.',
        toolCalls: [call('get_weather', { city: 'Paris' })],
      }),
      metadata: { toolCalls: [call('get_weather', { city: 'Paris' })] },
    },
    {
      ...lfItem('tc_2', 'Book a table', { toolCalls: [call('book', { size: 2 })] }),
      metadata: { source: 'prod' },
    },
    {
      ...lfItem('tc_3', 'Refund order 7', 'Refunded.'),
      metadata: { expectedToolCalls: [call('refund', { order: 7 })], toolCalls: [call('lookup', {})] },
    },
    { ...lfItem('tc_bad', 'Bad calls', 'x'), metadata: { toolCalls: [{ tool: 'x' }] } },
  ];

  it('reads expected and recorded tool calls in the documented places, and a malformed list is a row error', async () => {
    const lf = await startFakeLangfuse({ datasets: [{ dataset: DATASET, items }] });
    try {
      const lfClient = createLangfuseClient({ baseUrl: lf.url, publicKey: 'pk-lf-1', secretKey: SECRET });
      const res = await createLangfuseDatasetSource(lfClient).getDatasetItems('support qa');
      expect(res.items.map((i) => [i.key, i.expected, i.expectedToolCalls, i.toolCalls])).toEqual([
        [
          'lf:tc_1',
          'Sunny.',
          [call('get_weather', { city: 'Paris' })],
          [call('get_weather', { city: 'Paris' })],
        ],
        // `expectedOutput: {toolCalls}` alone: no expected text.
        ['lf:tc_2', undefined, [call('book', { size: 2 })], undefined],
        ['lf:tc_3', 'Refunded.', [call('refund', { order: 7 })], [call('lookup', {})]],
      ]);
      expect(res.errors).toEqual([
        {
          row: 4,
          reason: expect.stringMatching(
            /Langfuse item tc_bad: metadata\.toolCalls\[0\]\.name: .*expected a list of tool calls \[\{name, args\}\]/,
          ),
        },
      ]);
      // The agent metrics read them: tool-correctness scores the recorded calls against the expected ones.
      const made = createMetric('tool-correctness', {}, {});
      if (!made.ok) throw new Error(made.error);
      const scores = await Promise.all(
        res.items.map((i) =>
          made.metric.score({
            input: i.input,
            output: 'x',
            toolCalls: i.toolCalls ?? [],
            ...(i.expectedToolCalls ? { expectedToolCalls: i.expectedToolCalls } : {}),
          }),
        ),
      );
      expect(scores.map((s) => s.value)).toEqual([1, 0, 0]);
    } finally {
      await lf.close();
    }
  });
});

async function harness(opts: { agentLatencyMs?: number; concurrency?: number } = {}) {
  const { dir, cleanup } = tempDir();
  const lf: FakeLangfuse = await startFakeLangfuse({
    datasets: [{ dataset: DATASET, items: [...PAGE1.filter((i) => i.status === 'ACTIVE'), ...PAGE2] }],
  });
  const store = await createEmbeddedStore({ dir: join(dir, 'data'), autocompactMs: 0 });
  const tracing = createLangfuseTracing({
    baseUrl: lf.url,
    publicKey: 'pk-lf-1',
    secretKey: SECRET,
    environment: 'ci',
    flushTimeoutMs: 3000,
    timeoutMs: 1000,
    logger: createSilentLogger(),
  });
  // A real model wrapper; the judge and the target are scripted providers (LLM APIs are outside the machine).
  const judge = createScriptedProvider('judge', [
    { text: '{"score": 4, "reason": "grounded", "confidence": 0.9}' },
  ]);
  const agent = createScriptedProvider('agent', [{ text: 'Support is open 9 to 5.' }], {
    ...(opts.agentLatencyMs ? { latencyMs: opts.agentLatencyMs } : {}),
  });
  const llm = createLlm({
    env: {
      LLM_TRACE: true,
      LANGFUSE_PUBLIC_KEY: 'pk-lf-1',
      LANGFUSE_SECRET_KEY: SECRET,
      LANGFUSE_BASE_URL: lf.url,
    },
    providers: { judge: judge.provider, agent: agent.provider },
    settings: { cache: false, prices: { ...DEFAULT_PRICES, 'judge:j1': { input: 1000, output: 2000 } } },
    tracing,
  });
  const lfClient = createLangfuseClient({ baseUrl: lf.url, publicKey: 'pk-lf-1', secretKey: SECRET });
  const { queue, svc } = await offlineRunService(store, {
    langfuse: lfClient,
    tracing,
    llm,
    judgeModel: 'judge:j1',
    progressIntervalMs: 0,
  });
  writeFileSync(
    join(dir, 'suite.yaml'),
    `name: lf-suite
description: Nightly support check
dataset: { langfuse: support qa }
target: { type: model, model: "agent:a1", system: "Answer briefly." }
metrics:
  - { name: contains, args: { value: ["9"] } }
  - { name: llm-judge, args: { name: faithfulness, criteria: "Is the answer supported?" } }
threshold: 0.1
${opts.concurrency ? `concurrency: ${opts.concurrency}\n` : ''}`,
  );
  return {
    lf,
    svc,
    store,
    tracing,
    suite: () => loadSuite(join(dir, 'suite.yaml')),
    drain: (runId: string) => drainRun(queue, svc, runId),
    close: async () => {
      await tracing.shutdown();
      await store.close();
      await lf.close();
      cleanup();
    },
  };
}

describe('a run of a Langfuse dataset is linked as a Langfuse experiment run (OpenTelemetry)', () => {
  it('sends one item trace per dataset item with the experiment attributes, children and scores', async () => {
    const h = await harness();
    try {
      const { runId } = await h.svc.startRun(h.suite());
      await h.drain(runId);
      const run = (await h.svc.getRun(runId))!;
      expect(run.status).toBe('completed');
      expect(run.langfuse).toMatchObject({
        datasetName: 'support qa',
        datasetId: 'ds_123',
        linked: 3,
        failed: 0,
      });

      const roots = h.lf.spans.filter((s) => s.name === 'arbiter.run.item');
      expect(roots).toHaveLength(3);
      const runName = langfuseRunName({ _id: runId, suiteName: 'lf-suite' });
      for (const [key, itemId] of [
        ['lf:it_1', 'it_1'],
        ['lf:it_2', 'it_2'],
        ['lf:it_3', 'it_3'],
      ] as const) {
        const ids = itemSpanIds(runId, key);
        const root = roots.find((s) => s.traceId === ids.traceId)!;
        expect(root.spanId).toBe(ids.spanId);
        expect(root.parentSpanId).toBeUndefined(); // the item's root is the trace's root
        expect(root.attributes).toMatchObject({
          'langfuse.experiment.id': langfuseExperimentId(runId),
          'langfuse.experiment.name': runName,
          'langfuse.experiment.dataset.id': 'ds_123',
          'langfuse.experiment.item.id': itemId,
          'langfuse.experiment.item.root_observation_id': ids.spanId,
          'langfuse.experiment.description': 'Nightly support check',
          'langfuse.environment': 'sdk-experiment',
          'langfuse.trace.tags': ['arbiter', 'evaluation'],
          'langfuse.observation.metadata.source': 'arbiter',
          'langfuse.observation.metadata.arbiterRunId': runId,
        });
        // Every observation of the item's trace carries the same experiment and item attributes (the v4 linking).
        const children = h.lf.spans.filter((s) => s.traceId === ids.traceId && s !== root);
        expect(children.map((c) => c.name).sort()).toEqual(['arbiter.judge.faithfulness', 'arbiter.target']);
        for (const c of children) {
          expect(c.parentSpanId).toBe(root.spanId);
          expect(c.attributes).toMatchObject({
            'langfuse.observation.type': 'generation',
            'langfuse.observation.metadata.source': 'arbiter',
            'langfuse.experiment.id': langfuseExperimentId(runId),
            'langfuse.experiment.name': runName,
            'langfuse.experiment.dataset.id': 'ds_123',
            'langfuse.experiment.item.id': itemId,
            'langfuse.experiment.item.root_observation_id': ids.spanId,
          });
        }
        const judgeSpan = children.find((c) => c.name === 'arbiter.judge.faithfulness')!;
        expect(JSON.parse(judgeSpan.attributes['langfuse.observation.usage_details'] as string)).toEqual({
          input: 10,
          output: 5,
          total: 15,
        });
        expect(JSON.parse(judgeSpan.attributes['langfuse.observation.cost_details'] as string)).toEqual({
          total: 0.02,
        });
      }
      expect(
        roots.find((s) => s.traceId === itemSpanIds(runId, 'lf:it_1').traceId)!.attributes,
      ).toMatchObject({
        'langfuse.experiment.item.expected_output': 'Support is open 9 to 5.',
        'langfuse.observation.input': 'When is support open?',
        'langfuse.observation.output': 'Support is open 9 to 5.',
      });

      // Two metrics on three items, on each item's root observation, typed, with ids derived from trace + metric.
      expect(h.lf.scores).toHaveLength(6);
      for (const s of h.lf.scores) {
        expect(s.id).toBe(langfuseScoreId(s.traceId as string, s.name as string));
        expect(s.observationId).toBe(roots.find((r) => r.traceId === s.traceId)!.spanId);
        expect(s.environment).toBe('sdk-experiment');
      }
      expect(h.lf.scores.filter((s) => s.name === 'contains').map((s) => [s.dataType, s.value])).toEqual([
        ['BOOLEAN', 1],
        ['BOOLEAN', 1],
        ['BOOLEAN', 1],
      ]);
      expect(h.lf.scores.find((s) => s.name === 'faithfulness')).toMatchObject({ dataType: 'NUMERIC' });
      // Nothing went to the endpoints v4 removed.
      expect(
        h.lf.requests.filter(
          (r) => r.path === '/api/public/ingestion' || r.path.startsWith('/api/public/dataset-run-items'),
        ),
      ).toEqual([]);
      const items = await h.svc.items(runId);
      expect(items.map((v) => v.doc.langfuse)).toEqual(
        items.map((v) => ({
          traceId: itemSpanIds(runId, v.doc.itemKey).traceId,
          traced: true,
          scored: true,
        })),
      );
    } finally {
      await h.close();
    }
  });

  it('an unreachable Langfuse never fails the run; publishing later re-sends the same item traces and scores', async () => {
    const h = await harness();
    try {
      h.lf.state.otelDrop = true;
      const { runId } = await h.svc.startRun(h.suite());
      await h.drain(runId);
      const first = (await h.svc.getRun(runId))!;
      expect(first.status).toBe('completed');
      expect(first.summary?.finished).toBe(3);
      expect(first.langfuse).toMatchObject({ linked: 0, failed: 3 });
      // Scores went out as items finished (their endpoint was up); the item traces did not, so nothing is linked.
      expect(h.lf.scores).toHaveLength(6);
      expect(h.tracing.stats().failed).toBeGreaterThan(0);

      // The report says it once, with the endpoint and how to send the rest; the verdict stands on its own.
      const note = (r: typeof first) => {
        const ctx = renderRunSummary(r).sections.find((x) => x.kind === 'context');
        return (ctx?.kind === 'context' ? ctx.items : []).filter((t) => t.startsWith('Langfuse:'));
      };
      expect(note(first)).toEqual([
        expect.stringMatching(
          new RegExp(
            `^Langfuse: 3 item\\(s\\) not linked as experiment run "lf-suite ${runId}" of dataset support qa \\(trace: Langfuse is unreachable \\(POST ${h.lf.url.replace(/\./g, '\\.')}/api/public/otel/v1/traces\\): .*\\); the verdict does not depend on it\\. \`arbiter runs publish ${runId}\` sends what is missing\\.$`,
          ),
        ),
      ]);

      // `arbiter runs publish` (the CLI, building its own Langfuse client and tracing from the environment).
      h.lf.state.otelDrop = false;
      const out: string[] = [];
      const code = await withCliServices(
        {
          env: parseEnv({
            LANGFUSE_PUBLIC_KEY: 'pk-lf-1',
            LANGFUSE_SECRET_KEY: SECRET,
            LANGFUSE_BASE_URL: h.lf.url,
            LOG_LEVEL: 'silent',
          }),
          environment: {},
          io: { stdout: (t: string) => void out.push(t), stderr: (t: string) => void out.push(t) },
          store: h.store,
        },
        (d) => runRunsCommand({ name: 'runs.publish', id: runId }, d),
      );
      expect(code).toBe(0);
      expect(out.join('')).toBe(`${runId}: 3 item(s) linked in Langfuse.\n`);
      expect(note((await h.svc.getRun(runId))!)).toEqual([
        `Langfuse: 3 item(s) linked as experiment run "lf-suite ${runId}" of dataset support qa.`,
      ]);
      const roots = h.lf.spans.filter((s) => s.name === 'arbiter.run.item');
      // The stored items were sent again under the same deterministic ids (an upsert in Langfuse).
      expect(roots.map((r) => r.spanId).sort()).toEqual(
        ['lf:it_1', 'lf:it_2', 'lf:it_3'].map((k) => itemSpanIds(runId, k).spanId).sort(),
      );
      expect(roots[0]!.attributes['langfuse.experiment.item.root_observation_id']).toBe(roots[0]!.spanId);
      expect(h.lf.scores).toHaveLength(6);
      // A third publication has nothing left to send.
      const before = h.lf.requests.length;
      expect(await h.svc.publishToLangfuse(runId)).toMatchObject({ linked: 3, failed: 0 });
      expect(h.lf.requests.length).toBe(before);
    } finally {
      await h.close();
    }
  });

  it("publishes each item's scores as it finishes, while the run goes on", async () => {
    const h = await harness({ agentLatencyMs: 300, concurrency: 1 });
    try {
      const { runId } = await h.svc.startRun(h.suite());
      const draining = h.drain(runId);
      await waitUntil(() => h.lf.scores.length >= 2, 10_000);
      const during = (await h.svc.getRun(runId))!;
      expect(during.status).toBe('running');
      expect(during.progress.done).toBeLessThan(3);
      await draining;
      const run = (await h.svc.getRun(runId))!;
      expect(run.langfuse).toMatchObject({ linked: 3, failed: 0 });
      // Each score once: the end of the run did not send again what had gone out.
      expect(h.lf.scores.map((x) => x.id).sort()).toEqual([...new Set(h.lf.scores.map((x) => x.id))].sort());
      expect(h.lf.scores).toHaveLength(6);
    } finally {
      await h.close();
    }
  });

  it('a failing scores endpoint neither blocks nor fails the run: tried a bounded number of times, counted, sent later', async () => {
    const h = await harness();
    try {
      h.lf.state.scoresStatus = 503;
      const { runId } = await h.svc.startRun(h.suite());
      const started = Date.now();
      await h.drain(runId);
      const run = (await h.svc.getRun(runId))!;
      expect(run.status).toBe('completed');
      expect(run.summary?.finished).toBe(3);
      expect(run.langfuse).toMatchObject({ linked: 0, failed: 3 });
      expect(run.langfuse?.lastError).toMatch(/^scores: Langfuse answered 503 to POST \/api\/public\/scores/);
      // One back-off sequence at most (1 + 2 + 4 s), not one per score.
      expect(Date.now() - started).toBeLessThan(12_000);
      const tries = h.lf.requests.filter((r) => r.path === '/api/public/scores').length;
      expect(tries).toBeLessThanOrEqual(12);

      h.lf.state.scoresStatus = 200;
      expect(await h.svc.publishToLangfuse(runId)).toMatchObject({ linked: 3, failed: 0 });
      expect(h.lf.scores).toHaveLength(6);
    } finally {
      await h.close();
    }
  }, 20_000);

  it.each([
    [
      { value: 1, label: 'pass' },
      { dataType: 'BOOLEAN', value: 1 },
    ],
    [
      { value: 0, label: 'fail' },
      { dataType: 'BOOLEAN', value: 0 },
    ],
    [
      { value: 0.5, label: 'pass' },
      { dataType: 'NUMERIC', value: 0.5 },
    ],
    [
      { value: 1, label: 'win' },
      { dataType: 'CATEGORICAL', value: 'win' },
    ],
    [
      { value: 0.5, label: 'tie' },
      { dataType: 'CATEGORICAL', value: 'tie' },
    ],
    [{ value: 0.8 }, { dataType: 'NUMERIC', value: 0.8 }],
  ] as const)('score %j is published as %j', (score, expected) => {
    expect(langfuseScoreValue(score)).toEqual(expected);
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
