// Runs: 1,000 single-turn items against a local stub agent with 50 ms latency, offline metrics, concurrency 16
// (ideal wall time 1,000 × 50 ms / 16 = 3.125 s), on both engines; then 200 four-turn persona items against stubs.
// The `graph` engine runs a single-turn item as one LangGraph step checkpointed once at exit, and a conversation as
// a step per node checkpointed after every step (see runs/engine.ts); CPU per item is printed too, since wall time
// on a loaded machine is CPU-bound, and the graph/direct CPU ratio, which load distorts least. The graph engine
// runs second, so its figures include LangGraph's cold start (JIT) in this process, as a fresh `arbiter run` would.
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { createSilentLogger, systemClock, systemIds } from '../../config/index.ts';
import { createLlm } from '../../llm/index.ts';
import { createRunService, type EngineMode, loadSuite } from '../../runs/index.ts';
import { createEmbeddedStore, createJobQueue, createWorker } from '../../storage/index.ts';
import { startStubAgent } from '../fixtures/runs-stub-server.ts';
import { tempDir } from '../helpers/tmp.ts';
import { isMain, peakRssMiB, report } from './util.ts';

async function runSuite(suiteText: string, data: string, dataName: string, engine: EngineMode) {
  const { dir, cleanup } = tempDir('arbiter-bench-');
  writeFileSync(join(dir, dataName), data);
  writeFileSync(
    join(dir, 'persona.yaml'),
    'name: p\ngoal: get answers\nturns: [second question, third question, fourth question]\n',
  );
  writeFileSync(join(dir, 'suite.yaml'), suiteText);
  const store = await createEmbeddedStore({ dir: join(dir, 'data'), autocompactMs: 0 });
  try {
    const queue = await createJobQueue(store);
    const svc = await createRunService({
      store,
      queue,
      clock: systemClock,
      ids: systemIds,
      logger: createSilentLogger(),
      env: {},
      llm: createLlm({ env: {} }),
      judgeModel: 'offline:heuristic',
      engine,
    });
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
    worker.start();
    for (;;) {
      const run = await svc.getRun(runId);
      if (run && ['completed', 'failed', 'cancelled'].includes(run.status)) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const wallS = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    await worker.stop(0);
    const run = (await svc.getRun(runId))!;
    // CPU of this process per item (the stub agent runs in its own process): the figure load distorts least.
    return { wallS, run, cpuMsPerItem: (cpu.user + cpu.system) / 1000 / run.total };
  } finally {
    await store.close();
    cleanup();
  }
}

const STUB_FLAG = 'ARBITER_BENCH_RUNS_STUB';

/**
 * The stub agent runs in a child process (this file again, with STUB_FLAG set): a real agent endpoint is another
 * service, so its request handling must not be billed to the engine's event loop and CPU.
 */
async function startStubProcess(): Promise<{ url: string; close(): Promise<void> }> {
  const child = fork(fileURLToPath(import.meta.url), [], {
    env: { ...process.env, [STUB_FLAG]: '1' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m: { url: string }) => resolve(m.url));
    child.once('exit', (code) => reject(new Error(`stub agent exited (${code})`)));
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

/** Runs the runs benchmark and returns its figures. */
export async function run(): Promise<Record<string, number | string>> {
  const stub = await startStubProcess();
  try {
    const n = 1000;
    const conc = 16;
    const ideal = (n * 0.05) / conc;
    const data = Array.from({ length: n }, (_, i) =>
      JSON.stringify({ input: `question ${i}`, expected: `answer ${i}` }),
    ).join('\n');
    const single = (c: number) => `name: bench
dataset: data.jsonl
target: { type: http, url: "${stub.url}/chat", body: { message: "{{input}}" }, answer: reply }
metrics:
  - { name: contains, args: { value: question } }
  - { name: length, args: { max: 50 } }
  - { name: pii }
threshold: 0.5
concurrency: ${c}
`;
    const figures: Record<string, number | string> = {};
    for (const engine of ['direct', 'graph'] as const) {
      const { wallS, run: r, cpuMsPerItem } = await runSuite(single(conc), data, 'data.jsonl', engine);
      const perItemMs = (wallS * 1000 * conc) / n - 50;
      figures[`[${engine}] wall s (ideal ${ideal.toFixed(3)})`] = wallS;
      figures[`[${engine}] % of ideal`] = (wallS / ideal) * 100;
      figures[`[${engine}] items/s`] = n / wallS;
      figures[`[${engine}] engine overhead ms/item`] = perItemMs;
      figures[`[${engine}] CPU ms/item (process)`] = cpuMsPerItem;
      figures[`[${engine}] items stored / errors`] = `${r.summary?.finished}/${r.summary?.errors}`;
    }
    figures['CPU ratio graph/direct'] =
      (figures['[graph] CPU ms/item (process)'] as number) /
      (figures['[direct] CPU ms/item (process)'] as number);
    figures['peak RSS (MiB)'] = peakRssMiB();

    const convN = 200;
    const conv = `name: bench-conv
dataset: conv.jsonl
target: { type: http, url: "${stub.url}/chat", body: { message: "{{input}}" }, answer: reply }
conversation: { personas: [persona.yaml], maxTurns: 4 }
metrics: [{ name: contains, args: { value: asked } }, { name: pii }]
threshold: 0.5
concurrency: ${conc}
`;
    const convData = Array.from({ length: convN }, (_, i) =>
      JSON.stringify({ input: `first question ${i}` }),
    ).join('\n');
    for (const engine of ['direct', 'graph'] as const) {
      const { wallS, run: r } = await runSuite(conv, convData, 'conv.jsonl', engine);
      figures[`[${engine}] 200 x 4-turn persona items/s`] = convN / wallS;
      figures[`[${engine}] 4-turn wall s (ideal ${((convN * 4 * 0.05) / conc).toFixed(3)})`] = wallS;
      figures[`[${engine}] 4-turn items stored`] = `${r.summary?.finished}`;
    }
    figures['peak RSS after persona runs (MiB)'] = peakRssMiB();
    return report('runs: 1,000 items x 50 ms stub at concurrency 16; 200 x 4-turn personas', figures);
  } finally {
    await stub.close();
  }
}

if (process.env[STUB_FLAG]) {
  const stub = await startStubAgent({ latencyMs: 50, keepRequests: false });
  process.send?.({ url: stub.url });
  process.once('SIGTERM', () => void stub.close().then(() => process.exit(0)));
} else if (isMain(import.meta.url)) await run();
