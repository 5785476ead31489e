// LLM wrapper: judge calls against a local stub of the Anthropic Messages API that answers after 200 ms,
// through the real SDK and the real wrapper (cache in an embedded store).
//  (a) 2,000 calls at concurrency 16, no rate limit: at least 90% of the ideal 16 / 0.2 s = 80 calls/s;
//  (b) the same with a 1,200 requests/minute limit: at most 20 calls/s in every 10-second window, at least 90% of it;
//  (c) a second identical pass of (a): zero provider calls.
// The wrapper's own overhead per call is its latency minus the time spent inside the provider call. A last pass
// repeats (a) with an in-process provider that just sleeps 200 ms, to show the wrapper without the SDK's CPU cost.
import { Worker } from 'node:worker_threads';
import { createLlm, type LlmService } from '../../llm/index.ts';
import { createAnthropicProvider } from '../../llm/anthropic.ts';
import type { LlmProvider } from '../../llm/types.ts';
import { createEmbeddedStore } from '../../storage/open.ts';
import { tempDir } from '../helpers/tmp.ts';
import { isMain, percentile, report } from './util.ts';

const LATENCY_MS = 200;
const CONCURRENCY = 16;

/**
 * Sizes of the passes. (b) runs 800 calls by default, not 2,000: at 20 calls/s the full 2,000 alone would take
 * 100 s, and 800 still spans four full 10-second windows.
 */
export interface LlmBenchOptions {
  calls?: number;
  limitedCalls?: number;
  requestsPerMinute?: number;
  /** Calls of the SDK-free pass. */
  bareCalls?: number;
}

interface Stub {
  url: string;
  /** Epoch ms at which each request arrived, in arrival order. */
  arrivals(): Promise<number[]>;
  close(): Promise<void>;
}

// A Messages API look-alike in its own thread, so its work does not compete with the wrapper's event loop
// (the real API is on another machine): reads the body, waits LATENCY_MS, answers with a small verdict.
const STUB_SOURCE = `
const { createServer } = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');
const arrivals = [];
const server = createServer((req, res) => {
  arrivals.push(performance.timeOrigin + performance.now());
  req.resume();
  req.on('end', () => {
    setTimeout(() => {
      const body = JSON.stringify({
        id: 'msg_' + arrivals.length, type: 'message', role: 'assistant', model: 'claude-sonnet-5-5',
        content: [{ type: 'text', text: '{"score": 4, "reason": "stub", "confidence": 0.9}' }],
        stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 120, output_tokens: 20 },
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    }, workerData.latencyMs);
  });
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
parentPort.on('message', (m) => {
  if (m === 'arrivals') parentPort.postMessage({ arrivals });
  if (m === 'close') { server.closeAllConnections(); server.close(() => process.exit(0)); }
});
`;

async function startStub(): Promise<Stub> {
  const worker = new Worker(STUB_SOURCE, { eval: true, workerData: { latencyMs: LATENCY_MS } });
  const next = <T>() => new Promise<T>((resolve) => worker.once('message', resolve));
  const { port } = await next<{ port: number }>();
  return {
    url: `http://127.0.0.1:${port}`,
    async arrivals() {
      const reply = next<{ arrivals: number[] }>();
      worker.postMessage('arrivals');
      return (await reply).arrivals;
    },
    async close() {
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.postMessage('close');
      await exited;
    },
  };
}

/** The real Anthropic provider, timed: how long each call spent inside the provider (SDK + HTTP + stub). */
function timed(provider: LlmProvider, spent: Map<string, number>): LlmProvider {
  return {
    ...provider,
    name: provider.name,
    heuristic: provider.heuristic,
    async complete(params, signal) {
      const t = performance.now();
      try {
        return await provider.complete(params, signal);
      } finally {
        spent.set(params.messages.at(-1)!.content, performance.now() - t);
      }
    },
  };
}

const prompt = (pass: string, i: number) =>
  `<task>\nrubric\n</task>\n<criteria>\nIs the answer correct?\n</criteria>\n<output>\nanswer ${pass}-${i}\n</output>`;

async function pass(llm: LlmService, name: string, calls: number, spent: Map<string, number>) {
  const latencies: number[] = [];
  const overheads: number[] = [];
  let next = 0;
  let errors = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < calls) {
        const i = next++;
        const content = prompt(name, i);
        const t = performance.now();
        try {
          await llm.complete({
            model: 'anthropic:claude-sonnet-5-5',
            messages: [{ role: 'user', content }],
            maxTokens: 256,
          });
        } catch {
          errors += 1;
          continue;
        }
        const latency = performance.now() - t;
        latencies.push(latency);
        overheads.push(latency - (spent.get(content) ?? 0));
        spent.delete(content);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, callsPerS: calls / seconds, latencies, overheads, errors };
}

// Largest number of request arrivals inside any 10-second window [t, t + 10 s).
function worstWindow(arrivals: readonly number[], windowMs = 10_000): number {
  const ts = [...arrivals].sort((a, b) => a - b);
  let worst = 0;
  let j = 0;
  for (let i = 0; i < ts.length; i++) {
    while (j < ts.length && ts[j]! < ts[i]! + windowMs) j++;
    worst = Math.max(worst, j - i);
  }
  return worst;
}

/** Runs the LLM wrapper benchmark and returns its figures. */
export async function run(options: LlmBenchOptions = {}): Promise<Record<string, number | string>> {
  const calls = options.calls ?? 2000;
  const limitedCalls = options.limitedCalls ?? 800;
  const bareCalls = options.bareCalls ?? 800;
  const rpm = options.requestsPerMinute ?? 1200;
  const stub = await startStub();
  const tmp = tempDir('arbiter-bench-llm-');
  const store = await createEmbeddedStore({ dir: tmp.dir, autocompactMs: 0 });
  const env = { ANTHROPIC_API_KEY: 'sk-ant-bench-0000000000', ANTHROPIC_BASE_URL: stub.url };
  const spent = new Map<string, number>();
  const provider = timed(
    createAnthropicProvider({ apiKey: env.ANTHROPIC_API_KEY, baseUrl: stub.url }),
    spent,
  );
  try {
    // (a) no rate limit
    const free = createLlm({ store, env, providers: { anthropic: provider }, settings: { limits: {} } });
    const a = await pass(free, 'a', calls, spent);
    await free.flush();
    const costA = free.stats().totals.costUsd;

    // (c) the same prompts again: all from the cache
    const before = (await stub.arrivals()).length;
    const c = await pass(free, 'a', calls, spent);
    const providerCallsC = (await stub.arrivals()).length - before;

    // (b) 1,200 requests/minute
    const limited = createLlm({
      store,
      env,
      providers: { anthropic: provider },
      settings: { limits: { anthropic: { requestsPerMinute: rpm, tokensPerMinute: 0 } } },
    });
    const startB = (await stub.arrivals()).length;
    const b = await pass(limited, 'b', limitedCalls, spent);
    await limited.flush();
    const arrivalsB = (await stub.arrivals()).slice(startB);
    const limitPerS = rpm / 60;
    const worst10s = worstWindow(arrivalsB) / 10;

    // The wrapper alone: a provider object that sleeps LATENCY_MS, no SDK, no HTTP.
    const sleeper: LlmProvider = {
      name: 'stub',
      heuristic: false,
      complete: () =>
        new Promise((resolve) =>
          setTimeout(
            () => resolve({ text: '{"score": 4}', usage: { inputTokens: 120, outputTokens: 20 } }),
            LATENCY_MS,
          ),
        ),
    };
    const bare = createLlm({
      store,
      env,
      providers: { anthropic: timed(sleeper, spent) },
      settings: { limits: {} },
    });
    const d = await pass(bare, 'd', bareCalls, spent);
    await bare.flush();

    const ideal = CONCURRENCY / (LATENCY_MS / 1000);
    return report(
      `llm: judge calls via the Anthropic SDK to a local stub (${LATENCY_MS} ms), concurrency ${CONCURRENCY}`,
      {
        '(a) calls': calls,
        '(a) calls/s (no limit)': a.callsPerS,
        '(a) % of ideal 80 calls/s (target >= 90)': (100 * a.callsPerS) / ideal,
        '(a) latency p50 ms': percentile(a.latencies, 50),
        '(a) latency p99 ms': percentile(a.latencies, 99),
        '(a) wrapper overhead p50 ms (target < 1)': percentile(a.overheads, 50),
        '(a) wrapper overhead p99 ms': percentile(a.overheads, 99),
        '(a) errors': a.errors,
        '(a) cost USD (price table)': costA,
        '(b) calls': limitedCalls,
        '(b) limit calls/s': limitPerS,
        '(b) calls/s overall': b.callsPerS,
        '(b) worst 10 s window calls/s (target <= 20)': worst10s,
        '(b) % of limit reached (target >= 90)': (100 * b.callsPerS) / limitPerS,
        '(b) latency p50 ms': percentile(b.latencies, 50),
        '(b) latency p99 ms': percentile(b.latencies, 99),
        '(b) wrapper overhead p50 ms (incl. queueing)': percentile(b.overheads, 50),
        '(b) errors': b.errors,
        '(c) provider calls on the second pass (target 0)': providerCallsC,
        '(c) calls/s from the cache': c.callsPerS,
        '(c) latency p50 ms': percentile(c.latencies, 50),
        '(c) latency p99 ms': percentile(c.latencies, 99),
        '(c) errors': c.errors,
        '(d) calls, in-process 200 ms stub (no SDK/HTTP)': bareCalls,
        '(d) calls/s': d.callsPerS,
        '(d) % of ideal 80 calls/s': (100 * d.callsPerS) / ideal,
        '(d) wrapper overhead p50 ms': percentile(d.overheads, 50),
        '(d) wrapper overhead p99 ms': percentile(d.overheads, 99),
      },
    );
  } finally {
    await store.close();
    await stub.close();
    tmp.cleanup();
  }
}

if (isMain(import.meta.url)) {
  // `--full` runs pass (b) with the 2,000 calls (about 100 s on its own).
  await run(process.argv.includes('--full') ? { limitedCalls: 2000 } : {});
}
