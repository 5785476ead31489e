// Runs: 1,000 single-turn items against a local stub agent with 50 ms latency, offline metrics, concurrency 16
// (ideal wall time 1,000 × 50 ms / 16 = 3.125 s), on both engines, three times each; then 200 four-turn persona
// items against stubs. The `graph` engine runs a single-turn item as one LangGraph step checkpointed once at exit,
// and a conversation as a step per node checkpointed after every step (see runs/engine.ts). Besides wall time it
// prints CPU and event-loop busy time per item, since wall time here is bound by one event loop's CPU, and two
// reference points: the floor (the same requests from a bare HTTP client, no engine) and LangGraph alone (a one-node
// graph with nothing of ours in it). The graph engine runs after the direct one, so its first run includes
// LangGraph's cold start (JIT) in this process, as a fresh `arbiter run` would.
import { fork } from 'node:child_process';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { Runnable } from '@langchain/core/runnables';
import { Annotation, Command, END, START, StateGraph } from '@langchain/langgraph';
import { type EngineMode, loadSuite } from '../../runs/index.ts';
import { createWorker } from '../../storage/index.ts';
import { createEmbeddedStore } from '../../storage/open.ts';
import { startStubAgent } from '../fixtures/runs-stub-server.ts';
import { tempDir } from '../helpers/tmp.ts';
import { offlineRunService } from '../helpers/runs.ts';
import { isMain, median, peakRssMiB, report } from './util.ts';

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
    const { queue, svc } = await offlineRunService(store, { engine });
    const { runId } = await svc.startRun(loadSuite(join(dir, 'suite.yaml')));
    const worker = createWorker({
      queue,
      handlers: svc.handlers,
      concurrency: 1,
      leaseMs: 60_000,
      pollMs: 5,
    });
    const cpu0 = process.cpuUsage();
    const elu0 = performance.eventLoopUtilization();
    const t0 = performance.now();
    worker.start();
    for (;;) {
      const run = await svc.getRun(runId);
      if (run && ['completed', 'failed', 'cancelled'].includes(run.status)) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const wallS = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const busyMs = performance.eventLoopUtilization(elu0).active;
    await worker.stop(0);
    const run = (await svc.getRun(runId))!;
    // CPU of this process per item (the stub agent runs in its own process): the figure load distorts least. The
    // event loop's busy time per item is the part that cannot run in parallel: at 320 items/s (the ideal), 3.1 ms
    // of it per item is the whole of one core.
    return {
      wallS,
      run,
      cpuMsPerItem: (cpu.user + cpu.system) / 1000 / run.total,
      loopMsPerItem: busyMs / run.total,
    };
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

/**
 * What the benchmark itself costs: the same 1,000 requests to the stub from a bare keep-alive node:http client, 16
 * at a time, with no engine at all. The stub's timer, the loopback and the client put this above 100%.
 */
async function httpFloor(url: string, n: number, conc: number): Promise<number> {
  const target = new URL(`${url}/chat`);
  const agent = new http.Agent({ keepAlive: true });
  const request = () =>
    new Promise<void>((resolve, reject) => {
      const req = http.request(
        {
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json' },
        },
        (res) => {
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      req.end('{"message":"question"}');
    });
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (next++ < n) await request();
    }),
  );
  const wall = performance.now() - t0;
  agent.destroy();
  return (wall / ((n * 50) / conc)) * 100;
}

/** A node as the engine builds them (runs/engine.ts): a Runnable LangGraph calls as is. */
class SleepNode extends Runnable<unknown, Record<string, unknown>> {
  lc_namespace = ['arbiter', 'bench'];
  override async invoke(): Promise<Record<string, unknown>> {
    await sleep(50);
    return { output: 'answer', stop: 'single-turn' };
  }
}

/**
 * LangGraph's own cost per invocation, with nothing of ours in it: a one-node StateGraph (the node sleeps 50 ms,
 * like the stub) invoked n times, 16 at a time, without a checkpointer. Event-loop busy time per invocation, after
 * one warm-up pass. The engine's single-turn graph is this plus the target call, the metrics and a checkpoint.
 */
async function langGraphAlone(n: number, conc: number): Promise<number> {
  const keep = <T>() => Annotation<T>({ reducer: (_a: T, b: T) => b, default: () => undefined as T });
  const State = Annotation.Root({ item: keep<unknown>(), output: keep<string>(), stop: keep<string>() });
  const graph = new StateGraph(State)
    .addNode('call_and_evaluate', new SleepNode())
    .addEdge(START, 'call_and_evaluate')
    .addEdge('call_and_evaluate', END)
    .compile();
  let busyMs = 0;
  for (let pass = 0; pass < 2; pass++) {
    let next = 0;
    const elu0 = performance.eventLoopUtilization();
    await Promise.all(
      Array.from({ length: conc }, async () => {
        while (next < n) {
          const i = next++;
          await graph.invoke(new Command({ update: { item: i }, goto: 'call_and_evaluate' }));
        }
      }),
    );
    busyMs = performance.eventLoopUtilization(elu0).active;
  }
  return (busyMs * 1000) / n;
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
  - { metric: contains, args: { value: question } }
  - { metric: length, args: { max: 50 } }
  - { metric: pii }
threshold: 0.5
concurrency: ${c}
`;
    const figures: Record<string, number | string> = {};
    figures['floor: bare HTTP client, % of ideal'] = await httpFloor(stub.url, n, conc);
    // Each engine runs three times; the first graph run is LangGraph's first in this process (its JIT warm-up), as
    // in a fresh `arbiter run`.
    for (const engine of ['direct', 'graph'] as const) {
      const runs = [];
      for (let rep = 0; rep < 3; rep++) runs.push(await runSuite(single(conc), data, 'data.jsonl', engine));
      const first = runs[0]!;
      const wallS = median(runs.map((r) => r.wallS));
      figures[`[${engine}] % of ideal, first run`] = (first.wallS / ideal) * 100;
      figures[`[${engine}] % of ideal, median of 3`] = (wallS / ideal) * 100;
      figures[`[${engine}] wall s, median (ideal ${ideal.toFixed(3)})`] = wallS;
      figures[`[${engine}] items/s, median`] = n / wallS;
      figures[`[${engine}] engine overhead ms/item`] = (wallS * 1000 * conc) / n - 50;
      figures[`[${engine}] CPU ms/item (process)`] = median(runs.map((r) => r.cpuMsPerItem));
      figures[`[${engine}] event loop busy ms/item`] = median(runs.map((r) => r.loopMsPerItem));
      figures[`[${engine}] items stored / errors`] = runs
        .map((r) => `${r.run.summary?.finished}/${r.run.summary?.errors}`)
        .join(' ');
    }
    figures['CPU ratio graph/direct'] =
      (figures['[graph] CPU ms/item (process)'] as number) /
      (figures['[direct] CPU ms/item (process)'] as number);
    // After the engine runs, so that the graph engine's first run met LangGraph cold.
    figures['LangGraph alone: loop us per invocation'] = await langGraphAlone(n, conc);
    figures['peak RSS (MiB)'] = peakRssMiB();

    const convN = 200;
    const conv = `name: bench-conv
dataset: conv.jsonl
target: { type: http, url: "${stub.url}/chat", body: { message: "{{input}}" }, answer: reply }
conversation: { personas: [persona.yaml], maxTurns: 4 }
metrics: [{ metric: contains, args: { value: asked } }, { metric: pii }]
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
