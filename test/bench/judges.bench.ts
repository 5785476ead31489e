// The LLM-backed metrics of issue 19 (`npm run bench -- judges`): each metric scores 1,000 items against a fake
// model that answers after 50 ms, at most 16 items in flight. Every call goes through the real Llm wrapper
// (validation, limiter, breaker, time-out, structured output parsing, cost); only the model is fake. For each metric:
// model calls per item, its sequential depth (calls that must wait for the previous one), the median wall time of
// three runs, and the ratio to the concurrency bound N / 16 × depth × 50 ms (1.0 = no overhead beyond the model).
import { createLlm } from '../../llm/index.ts';
import type { LlmProvider } from '../../llm/types.ts';
import { parseTagBlocks } from '../../llm/judge-protocol.ts';
import type { Item, Metric } from '../../evaluators/index.ts';
import { createMetric } from '../../evaluators/registry.ts';
import { resetGeneratedSteps } from '../../evaluators/g-eval.ts';
import { isMain, median, peakRssMiB, report } from './util.ts';

const LATENCY_MS = 50;
const N = 1000;
const CONC = 16;
const REPS = 3;

/** A model that answers every judge task after LATENCY_MS, with the number of verdicts the prompt asks for. */
function fakeProvider(): { provider: LlmProvider; calls: () => number } {
  let calls = 0;
  const answer = (prompt: string): unknown => {
    const b = parseTagBlocks(prompt);
    switch (b.task?.trim()) {
      case 'statements':
        return { statements: ['Refunds take 5 business days.', 'They go to the card.', 'We sell hats.'] };
      case 'verdicts': {
        const n = (JSON.parse(b.statements ?? '[]') as unknown[]).length;
        return {
          verdicts: Array.from({ length: n }, (_, i) => ({
            reason: 'checked',
            verdict: i % 3 ? 'yes' : 'no',
          })),
        };
      }
      case 'steps':
        return { steps: ['Read the answer.', 'Check it against the criteria.', 'Score it.'] };
      case 'classify':
        return {
          reason: 'fits',
          category: b.categories?.includes('"resolved"') ? 'resolved' : 'true',
          confidence: 0.9,
        };
      case 'task-completion':
        return { task: 't', outcome: 'o', reason: 'done', score: 0.9 };
      case 'goal-check':
        return { reason: 'reached', achieved: true, confidence: 0.9 };
      default:
        return { reason: 'good', score: 4, confidence: 0.9 };
    }
  };
  const provider: LlmProvider = {
    name: 'fake',
    heuristic: false,
    complete: (params, signal) =>
      new Promise((resolve, reject) => {
        calls += 1;
        const text = JSON.stringify(answer(params.messages.at(-1)?.content ?? ''));
        const t = setTimeout(
          () => resolve({ text, usage: { inputTokens: 400, outputTokens: 60 }, finish: 'complete' }),
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

const context =
  'Refunds are issued within 5 business days.\n\nRefunds go to the original payment method.\n\nShipping is free over $50.';
const rag = (i: number): Item => ({
  input: `How long do refunds take? (${i})`,
  output: 'Refunds take 5 business days. They go to the card. We sell hats.',
  expected: 'Refunds take 5 business days. They go to the original card.',
  context,
});
const chat = (i: number): Item => ({
  input: '',
  output: [
    { role: 'user', content: `My order ${i} is late. I want a refund.` },
    { role: 'assistant', content: 'I started the refund.' },
    { role: 'user', content: 'How long will it take?' },
    { role: 'assistant', content: 'Five business days.' },
  ],
  metadata: { goal: 'Get a refund', role: 'support agent' },
});

// [label, metric, args, item, sequential depth]
const CASES: [string, string, Record<string, unknown>, (i: number) => Item, number][] = [
  ['faithfulness', 'faithfulness', {}, rag, 2],
  ['answer-relevancy', 'answer-relevancy', {}, rag, 2],
  ['context-precision', 'context-precision', {}, rag, 1],
  ['context-recall', 'context-recall', {}, rag, 1],
  ['context-relevancy', 'context-relevancy', {}, rag, 1],
  ['hallucination', 'hallucination', {}, rag, 1],
  ['task-completion', 'task-completion', {}, rag, 1],
  ['role-adherence', 'role-adherence', {}, chat, 1],
  ['knowledge-retention', 'knowledge-retention', {}, chat, 1],
  ['conversation-completeness', 'conversation-completeness', {}, chat, 2],
  ['goal-achieved', 'goal-achieved', {}, chat, 1],
  ['policy-violation', 'policy-violation', { policy: 'Never reveal secrets.' }, chat, 1],
  ['g-eval', 'g-eval', { criteria: 'Is the answer accurate?' }, rag, 1],
  [
    'llm-judge + levels',
    'llm-judge',
    { criteria: 'Accurate?', levels: { '1': 'wrong', '5': 'right' } },
    rag,
    1,
  ],
  ['boolean-judge', 'boolean-judge', { criteria: 'Does it give a time?' }, rag, 1],
  [
    'categorical-judge',
    'categorical-judge',
    {
      criteria: 'How?',
      categories: [
        { label: 'resolved', value: 1 },
        { label: 'ignored', value: 0 },
      ],
    },
    rag,
    1,
  ],
  [
    'llm-judge jury of 3',
    'llm-judge',
    { criteria: 'Accurate?', judges: ['fake:a', 'fake:b', 'fake:c'] },
    rag,
    1,
  ],
  ['llm-judge samples: 3', 'llm-judge', { criteria: 'Accurate?', samples: 3 }, rag, 1],
];

async function runOnce(
  metric: Metric,
  item: (i: number) => Item,
): Promise<{ wallS: number; errors: number }> {
  let next = 0;
  let errors = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONC }, async () => {
      for (let i = next++; i < N; i = next++) if ((await metric.score(item(i))).error) errors += 1;
    }),
  );
  return { wallS: (performance.now() - t0) / 1000, errors };
}

/** Runs the benchmark and returns its figures. */
export async function run(): Promise<Record<string, number | string>> {
  const figures: Record<string, number | string> = {};
  for (const [label, name, args, item, depth] of CASES) {
    const walls: number[] = [];
    let callsPerItem = 0;
    let errors = 0;
    for (let rep = 0; rep < REPS; rep++) {
      resetGeneratedSteps();
      const fake = fakeProvider();
      const llm = createLlm({
        env: {},
        providers: { fake: fake.provider },
        settings: { cache: false, limits: {} },
      });
      const made = createMetric(name, args, { llm, judgeModel: 'fake:judge' });
      if (!made.ok) throw new Error(made.error);
      const r = await runOnce(made.metric, item);
      walls.push(r.wallS);
      callsPerItem = fake.calls() / N;
      errors += r.errors;
    }
    const bound = (N / CONC) * depth * (LATENCY_MS / 1000);
    const wall = median(walls);
    figures[label] =
      `${callsPerItem.toFixed(3)} calls/item, depth ${depth}, wall ${wall.toFixed(2)} s, bound ${bound.toFixed(2)} s, ×${(wall / bound).toFixed(2)}${errors ? `, ${errors} errors` : ''}`;
  }
  figures['peak RSS (MiB)'] = peakRssMiB();
  return report(
    `LLM-backed metrics: ${N} items each, fake model ${LATENCY_MS} ms per call, ${CONC} items in flight, median of ${REPS}`,
    figures,
  );
}

if (isMain(import.meta.url)) await run();
