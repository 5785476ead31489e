// Runs with an LLM judge (issue 14): 1,000 single-turn items, a `model` target and an `llm-judge` metric, both
// answered by a local fake provider that takes 50 ms per call, at concurrency 16. Two calls per item, so the bound is
// 1,000 × 2 × 50 ms / 16 = 6.25 s; the same suite without the judge (the target call only, heuristic metrics) has
// the bound 3.125 s. Both go through the real wrapper (validation, limiter, breaker, time-out, cost) and the real
// engine and store; only the model is fake. Prints medians of three runs per engine and the ratios to the bounds.
// The run's concurrency limits target calls (runs/permits.ts) while twice as many items are in flight, so judge
// calls of finished targets overlap the next targets and a run can come in under the two-call bound.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLlm } from '../../llm/index.ts';
import type { LlmProvider } from '../../llm/types.ts';
import { type EngineMode, loadSuite } from '../../runs/index.ts';
import { createWorker } from '../../storage/index.ts';
import { createEmbeddedStore } from '../../storage/open.ts';
import { tempDir } from '../helpers/tmp.ts';
import { offlineRunService } from '../helpers/runs.ts';
import { isMain, median, peakRssMiB, report } from './util.ts';

const LATENCY_MS = 50;
const N = 1000;
const CONC = 16;

/** A model that answers after LATENCY_MS: a verdict for judge prompts, an answer otherwise. */
function fakeProvider(): { provider: LlmProvider; calls: () => number } {
  let calls = 0;
  const provider: LlmProvider = {
    name: 'fake',
    heuristic: false,
    complete: (params, signal) =>
      new Promise((resolve, reject) => {
        calls += 1;
        const prompt = params.messages.at(-1)?.content ?? '';
        const judge = prompt.includes('<task>\nrubric\n</task>');
        const t = setTimeout(
          () =>
            resolve({
              text: judge
                ? '{"reason": "The answer matches the question.", "score": 4, "confidence": 0.8}'
                : `answer to ${prompt.slice(0, 40)}`,
              usage: { inputTokens: judge ? 400 : 40, outputTokens: judge ? 60 : 12 },
              finish: 'complete',
            }),
          LATENCY_MS,
        );
        signal.addEventListener('abort', () => {
          clearTimeout(t);
          reject(signal.reason);
        });
      }),
  };
  return { provider, calls: () => calls };
}

async function runOnce(withJudge: boolean, engine: EngineMode) {
  const { dir, cleanup } = tempDir('arbiter-bench-judge-');
  const data = Array.from({ length: N }, (_, i) => JSON.stringify({ input: `question ${i}` })).join('\n');
  writeFileSync(join(dir, 'data.jsonl'), data);
  const metrics = withJudge
    ? '  - { metric: llm-judge, args: { criteria: "Does the answer address the question?" } }\n  - { metric: pii }\n'
    : '  - { metric: length, args: { max: 200 } }\n  - { metric: pii }\n';
  writeFileSync(
    join(dir, 'suite.yaml'),
    `name: bench-judge\ndataset: data.jsonl\ntarget: { type: model, model: "fake:target" }\nmetrics:\n${metrics}threshold: 0.5\nconcurrency: ${CONC}\n`,
  );
  const fake = fakeProvider();
  const llm = createLlm({
    env: {},
    providers: { fake: fake.provider },
    settings: { cache: false, limits: {} },
  });
  const store = await createEmbeddedStore({ dir: join(dir, 'data'), autocompactMs: 0 });
  try {
    const { queue, svc } = await offlineRunService(store, { engine, llm, judgeModel: 'fake:judge' });
    const { runId } = await svc.startRun(loadSuite(join(dir, 'suite.yaml')));
    const worker = createWorker({
      queue,
      handlers: svc.handlers,
      concurrency: 1,
      leaseMs: 60_000,
      pollMs: 5,
    });
    const t0 = performance.now();
    worker.start();
    for (;;) {
      const run = await svc.getRun(runId);
      if (run && ['completed', 'failed', 'cancelled'].includes(run.status)) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const wallS = (performance.now() - t0) / 1000;
    await worker.stop(0);
    const run = (await svc.getRun(runId))!;
    const stats = llm.stats().totals;
    return { wallS, run, calls: fake.calls(), judgeTokens: stats.inputTokens + stats.outputTokens };
  } finally {
    await store.close();
    cleanup();
  }
}

/** Runs the benchmark and returns its figures. */
export async function run(): Promise<Record<string, number | string>> {
  const figures: Record<string, number | string> = {};
  const boundWith = (N * 2 * LATENCY_MS) / 1000 / CONC;
  const boundWithout = (N * LATENCY_MS) / 1000 / CONC;
  for (const engine of ['direct', 'graph'] as const) {
    const walls: Record<'with' | 'without', number[]> = { with: [], without: [] };
    let last: Awaited<ReturnType<typeof runOnce>> | undefined;
    for (let rep = 0; rep < 3; rep++) {
      walls.without.push((await runOnce(false, engine)).wallS);
      last = await runOnce(true, engine);
      walls.with.push(last.wallS);
    }
    const withS = median(walls.with);
    const withoutS = median(walls.without);
    figures[`[${engine}] with judge: wall s, median (bound ${boundWith.toFixed(3)})`] = withS;
    figures[`[${engine}] with judge: % of bound`] = (withS / boundWith) * 100;
    figures[`[${engine}] without judge: wall s, median (bound ${boundWithout.toFixed(3)})`] = withoutS;
    figures[`[${engine}] without judge: % of bound`] = (withoutS / boundWithout) * 100;
    figures[`[${engine}] ratio with/without judge (2.0 = the judge costs exactly its call)`] =
      withS / withoutS;
    figures[`[${engine}] model calls in the last judged run`] = last!.calls;
    figures[`[${engine}] items finished / errors, last judged run`] =
      `${last!.run.summary?.finished}/${last!.run.summary?.errors}`;
  }
  figures['peak RSS (MiB)'] = peakRssMiB();
  return report(
    `runs with llm-judge: ${N} items, fake provider ${LATENCY_MS} ms per call, concurrency ${CONC}`,
    figures,
  );
}

if (isMain(import.meta.url)) await run();
