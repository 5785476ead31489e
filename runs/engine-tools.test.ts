// The engine hands metrics the tool calls the target made (summed over turns), the item's expected calls and the
// target's own usage, in both engine modes (LangGraph with a checkpoint store, and direct).
import { afterEach, describe, expect, it } from 'vitest';
import type { Item, Metric } from '../evaluators/index.ts';
import { createMetric } from '../evaluators/registry.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { createStoreCheckpointer } from './checkpointer.ts';
import { createItemGraph, type EngineMode, runItem } from './engine.ts';
import type { TargetResponse } from './targets.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function engineWith(reply: TargetResponse, metrics: Metric[]) {
  const { dir, cleanup } = tempDir();
  const store = await createEmbeddedStore({ dir, autocompactMs: 0 });
  cleanups.push(cleanup, () => store.close());
  return createItemGraph({
    target: { type: 'fake', recorded: false, respond: async () => reply },
    metrics,
    checkpointer: await createStoreCheckpointer(store),
  });
}

/** A metric that records the item it was given. */
function spy(seen: Item[]): Metric {
  return {
    name: 'spy',
    kind: 'heuristic',
    score: async (item) => {
      seen.push(item);
      return { metric: 'spy', value: 1, reason: 'seen' };
    },
  };
}

const built = (name: string, args: unknown) => {
  const m = createMetric(name, args);
  if (!m.ok) throw new Error(m.error);
  return m.metric;
};

describe.each(['graph', 'direct'] as EngineMode[])(
  'engine (%s): tool calls and usage reach the metrics',
  (mode) => {
    it('passes toolCalls, expectedToolCalls and the target usage on the item', async () => {
      const seen: Item[] = [];
      const engine = await engineWith(
        {
          ok: true,
          text: 'booked',
          latencyMs: 5,
          usage: { inputTokens: 120, outputTokens: 30 },
          costUsd: 0.002,
          priceKnown: true,
          toolCalls: [
            { name: 'search', args: { q: 'paris' } },
            { name: 'book', args: {} },
          ],
        },
        [
          spy(seen),
          built('tool-correctness', {}),
          built('cost', { maxUsd: 0.001 }),
          built('tokens', { max: 200 }),
        ],
      );
      const out = await runItem(
        engine,
        { key: 'k', row: 1, input: 'book a hotel', expectedToolCalls: [{ name: 'search', args: {} }] },
        `run_${mode}::k`,
        { mode },
      );
      expect(seen[0]).toMatchObject({
        toolCalls: [
          { name: 'search', args: { q: 'paris' } },
          { name: 'book', args: {} },
        ],
        expectedToolCalls: [{ name: 'search', args: {} }],
        usage: { inputTokens: 120, outputTokens: 30, costUsd: 0.002 },
      });
      const byName = Object.fromEntries(out.result.scores.map((s) => [s.metric, s]));
      expect(byName['tool-correctness']?.value).toBeCloseTo(2 / 3, 12);
      expect(byName.cost?.value).toBe(0);
      expect(byName.tokens?.value).toBe(1);
    });

    it('a target that reports neither tool calls nor usage makes those metrics input errors, not scores', async () => {
      const engine = await engineWith({ ok: true, text: 'hi', latencyMs: 1 }, [
        built('tool-correctness', {}),
        built('tokens', { max: 10 }),
      ]);
      const out = await runItem(
        engine,
        { key: 'k2', row: 1, input: 'q', expectedToolCalls: [{ name: 'search', args: {} }] },
        `run_${mode}::k2`,
        { mode },
      );
      for (const s of out.result.scores) {
        expect(s.errorCause).toBe('input');
        expect(s.label).toBe('error');
      }
    });

    it('an unknown price leaves usage.costUsd out, so `cost` names it', async () => {
      const engine = await engineWith(
        {
          ok: true,
          text: 'hi',
          latencyMs: 1,
          usage: { inputTokens: 1, outputTokens: 1 },
          costUsd: 0,
          priceKnown: false,
        },
        [built('cost', { maxUsd: 1 })],
      );
      const out = await runItem(engine, { key: 'k3', row: 1, input: 'q' }, `run_${mode}::k3`, { mode });
      expect(out.result.scores[0]?.error).toContain('`usage.costUsd`');
    });
  },
);
