// Tracing cost: one 1,000-item run of a Langfuse dataset with Langfuse tracing on (item traces as experiment items
// over OpenTelemetry, a generation per target and judge call, each item's scores published as it finishes) against
// the same run with tracing off (the dataset is still read from Langfuse; nothing is written). The target is a
// scripted model with 50 ms latency (concurrency 16: ideal 3.125 s), the judge a scripted model, plus two heuristics.
// The fake Langfuse v4 runs in a child process, as the real one is another service. Runs alternate off/on, three
// each; medians. It also prints the items phase (until the stored progress says every item is done, which is
// written after the scores sent during the run are drained) and what follows (flush, trace confirmation, scores
// that did not get through), and the process CPU per item. Target: tracing adds under 10% (issue 15).
import { fork } from 'node:child_process';
import nock from 'nock';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSilentLogger } from '../../config/index.ts';
import { createLangfuseClient } from '../../langfuse/client.ts';
import { createLlm } from '../../llm/index.ts';
import { createLangfuseTracing } from '../../llm/otel.ts';
import { createScriptedProvider } from '../../llm/testing.ts';
import { DEFAULT_PRICES } from '../../llm/prices.ts';
import { loadSuite } from '../../runs/index.ts';
import { createWorker } from '../../storage/index.ts';
import { createEmbeddedStore } from '../../storage/open.ts';
import { startFakeLangfuse } from '../fixtures/fake-langfuse.ts';
import { tempDir } from '../helpers/tmp.ts';
import { offlineRunService } from '../helpers/runs.ts';
import { isMain, median, report } from './util.ts';

// The fixture module also holds nock fakes, and importing nock patches the global fetch and http for interception
// (about 3x the CPU per request), which Arbiter in production never pays: switch it off for the measurement.
nock.restore();

const N = 1000;
const CONCURRENCY = 16;
const FAKE_FLAG = 'ARBITER_BENCH_FAKE_LANGFUSE';

function datasetOf(n: number) {
  const now = '2026-01-01T00:00:00.000Z';
  return {
    dataset: {
      id: 'ds_bench',
      name: 'bench',
      description: 'bench',
      metadata: null,
      projectId: 'proj_1',
      createdAt: now,
      updatedAt: now,
    },
    items: Array.from({ length: n }, (_, i) => ({
      id: `item_${i}`,
      status: 'ACTIVE',
      input: `question ${i}`,
      expectedOutput: `answer ${i}`,
      metadata: null,
      sourceTraceId: null,
      sourceObservationId: null,
      datasetId: 'ds_bench',
      datasetName: 'bench',
      createdAt: now,
      updatedAt: now,
    })),
  };
}

async function startFakeProcess(): Promise<{ url: string; close(): Promise<void> }> {
  const child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, [FAKE_FLAG]: '1' } });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { url: string }).url));
    child.once('error', reject);
  });
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function oneRun(url: string, traced: boolean) {
  const { dir, cleanup } = tempDir('arbiter-bench-tracing-');
  const store = await createEmbeddedStore({ dir: join(dir, 'data'), autocompactMs: 0 });
  const tracing = traced
    ? createLangfuseTracing({
        baseUrl: url,
        publicKey: 'pk-lf-bench',
        secretKey: 'sk-lf-bench',
        logger: createSilentLogger(),
      })
    : undefined;
  try {
    const agent = createScriptedProvider('agent', [{ text: 'the answer' }], { latencyMs: 50 });
    const judge = createScriptedProvider('judge', [
      { text: '{"score": 4, "reason": "fine", "confidence": 0.9}' },
    ]);
    const keys = {
      LANGFUSE_PUBLIC_KEY: 'pk-lf-bench',
      LANGFUSE_SECRET_KEY: 'sk-lf-bench',
      LANGFUSE_BASE_URL: url,
    };
    const llm = createLlm({
      env: traced ? { ...keys, LLM_TRACE: true } : {},
      providers: { agent: agent.provider, judge: judge.provider },
      settings: {
        cache: false,
        limits: {},
        prices: { ...DEFAULT_PRICES, 'judge:j': { input: 1, output: 2 } },
      },
      ...(tracing ? { tracing } : {}),
    });
    const { queue, svc } = await offlineRunService(store, {
      langfuse: createLangfuseClient({ baseUrl: url, publicKey: 'pk-lf-bench', secretKey: 'sk-lf-bench' }),
      llm,
      judgeModel: 'judge:j',
      engine: 'direct',
      ...(tracing ? { tracing } : {}),
    });
    writeFileSync(
      join(dir, 'suite.yaml'),
      `name: bench-tracing
dataset: { langfuse: bench }
target: { type: model, model: "agent:a" }
metrics:
  - { name: contains, args: { value: answer } }
  - { name: pii }
  - { name: llm-judge, args: { name: quality, criteria: "Is it right?" } }
threshold: 0.1
concurrency: ${CONCURRENCY}
`,
    );
    const { runId } = await svc.startRun(loadSuite(join(dir, 'suite.yaml')));
    const worker = createWorker({
      queue,
      handlers: svc.handlers,
      concurrency: 1,
      leaseMs: 60_000,
      pollMs: 5,
    });
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let itemsS: number | undefined;
    let itemsCpuMs: number | undefined;
    worker.start();
    for (;;) {
      const run = await svc.getRun(runId);
      if (itemsS === undefined && run && run.progress.done >= run.total) {
        itemsS = (performance.now() - t0) / 1000;
        const c = process.cpuUsage(cpu0);
        itemsCpuMs = (c.user + c.system) / 1000;
      }
      if (run && ['completed', 'failed', 'cancelled'].includes(run.status)) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const wallS = (performance.now() - t0) / 1000;
    await worker.stop(0);
    const run = (await svc.getRun(runId))!;
    return {
      wallS,
      itemsS: itemsS ?? wallS,
      itemsCpuMsPerItem: (itemsCpuMs ?? 0) / N,
      linked: run.langfuse?.linked ?? 0,
      finished: run.summary?.finished ?? 0,
      exported: tracing?.stats().exported ?? 0,
      failed: tracing?.stats().failed ?? 0,
    };
  } finally {
    await tracing?.shutdown();
    await store.close();
    cleanup();
  }
}

/** The benchmark; returns its figures. */
export async function run(): Promise<Record<string, number | string>> {
  const fake = await startFakeProcess();
  try {
    const off: Awaited<ReturnType<typeof oneRun>>[] = [];
    const on: Awaited<ReturnType<typeof oneRun>>[] = [];
    for (let rep = 0; rep < Number(process.env.ARBITER_BENCH_REPS ?? 3); rep++) {
      off.push(await oneRun(fake.url, false));
      on.push(await oneRun(fake.url, true));
    }
    const ideal = (N * 0.05) / CONCURRENCY;
    const offWall = median(off.map((r) => r.wallS));
    const onWall = median(on.map((r) => r.wallS));
    const offItems = median(off.map((r) => r.itemsS));
    const onItems = median(on.map((r) => r.itemsS));
    return report(`runs with Langfuse tracing: ${N} items, 50 ms target, concurrency ${CONCURRENCY}`, {
      'ideal wall s': ideal,
      '[off] wall s, median of 3': offWall,
      '[on] wall s, median of 3': onWall,
      'tracing overhead, whole run %': (onWall / offWall - 1) * 100,
      '[off] items phase s, median': offItems,
      '[on] items phase s, median': onItems,
      'tracing overhead, items phase %': (onItems / offItems - 1) * 100,
      '[on] publishing (flush + scores) s, median': median(on.map((r) => r.wallS - r.itemsS)),
      '[off] items phase CPU ms/item (process), median': median(off.map((r) => r.itemsCpuMsPerItem)),
      '[on] items phase CPU ms/item (process), median': median(on.map((r) => r.itemsCpuMsPerItem)),
      'tracing CPU overhead, items phase %':
        (median(on.map((r) => r.itemsCpuMsPerItem)) / median(off.map((r) => r.itemsCpuMsPerItem)) - 1) * 100,
      '[off] items phase s per run': off.map((r) => r.itemsS.toFixed(2)).join(' '),
      '[on] items phase s per run': on.map((r) => r.itemsS.toFixed(2)).join(' '),
      '[on] spans exported / failed per run': on.map((r) => `${r.exported}/${r.failed}`).join(' '),
      '[on] items linked per run': on.map((r) => r.linked).join(' '),
      'items finished off/on': `${off.map((r) => r.finished).join(' ')} / ${on.map((r) => r.finished).join(' ')}`,
    });
  } finally {
    await fake.close();
  }
}

if (process.env[FAKE_FLAG]) {
  const lf = await startFakeLangfuse({ datasets: [datasetOf(N)] });
  // A long benchmark must not keep every span and score in memory.
  setInterval(() => {
    lf.spans.length = 0;
    lf.requests.length = 0;
    lf.scores.length = 0;
  }, 1000).unref();
  process.send?.({ url: lf.url });
  process.once('SIGTERM', () => void lf.close().then(() => process.exit(0)));
} else if (isMain(import.meta.url)) await run();
