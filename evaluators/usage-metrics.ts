// Assertions on what the target recorded about its own call: cost and tokens (item.usage, from model and prompt
// targets) and how the reply ended (item.finish). Missing usage is an error naming the field, never a pass.
import { z } from 'zod';
import { errorScore, passFail } from './score.ts';
import { defineMetric, type Item, type Metric, type Score } from './types.ts';

function heuristic(name: string, score: (item: Item) => Score): Metric {
  return { name, kind: 'heuristic', score: async (item) => score(item) };
}

const NO_USAGE =
  'the item has no recorded `usage` (only model and prompt targets report tokens and cost; http and recorded targets do not)';

/** `cost`: the target's cost for the item is at most maxUsd. */
export const costMetric = defineMetric({
  description: "The target's recorded cost for the item (item.usage.costUsd) is at most maxUsd.",
  kind: 'heuristic',
  args: z.strictObject({
    maxUsd: z.number().positive().describe('highest allowed cost of one item in USD'),
  }),
  example: { maxUsd: 0.01 },
  create(args) {
    return heuristic('cost', (item) => {
      if (!item.usage) return errorScore('cost', NO_USAGE, { errorCause: 'input' });
      const cost = item.usage.costUsd;
      if (cost === undefined)
        return errorScore(
          'cost',
          "the item's `usage.costUsd` is missing: the model has no known price (add it with LLM_PRICES_FILE)",
          { errorCause: 'input' },
        );
      const pass = cost <= args.maxUsd;
      return passFail(
        'cost',
        pass,
        `$${cost.toFixed(6)}, ${pass ? 'within' : 'over'} the $${args.maxUsd} limit`,
        {
          costUsd: cost,
        },
      );
    });
  },
});

/** `tokens`: the target's tokens for the item stay within limits. */
export const tokensMetric = defineMetric({
  description:
    "The target's recorded tokens for the item (item.usage) are within max (total), maxInput and maxOutput.",
  kind: 'heuristic',
  args: z
    .strictObject({
      max: z.int().positive().optional().describe('most input + output tokens'),
      maxInput: z.int().positive().optional().describe('most input (prompt) tokens'),
      maxOutput: z.int().positive().optional().describe('most output (generated) tokens'),
    })
    .refine((a) => a.max !== undefined || a.maxInput !== undefined || a.maxOutput !== undefined, {
      error: 'expected max, maxInput or maxOutput',
    }),
  example: { max: 2000, maxOutput: 500 },
  create(args) {
    return heuristic('tokens', (item) => {
      if (!item.usage) return errorScore('tokens', NO_USAGE, { errorCause: 'input' });
      const { inputTokens, outputTokens } = item.usage;
      const total = inputTokens + outputTokens;
      const over: string[] = [];
      if (args.max !== undefined && total > args.max)
        over.push(`${total} tokens in all, over max ${args.max}`);
      if (args.maxInput !== undefined && inputTokens > args.maxInput)
        over.push(`${inputTokens} input tokens, over maxInput ${args.maxInput}`);
      if (args.maxOutput !== undefined && outputTokens > args.maxOutput)
        over.push(`${outputTokens} output tokens, over maxOutput ${args.maxOutput}`);
      return passFail(
        'tokens',
        over.length === 0,
        over.length === 0
          ? `${inputTokens} input + ${outputTokens} output tokens, within limits`
          : over.join('; '),
        { inputTokens, outputTokens },
      );
    });
  },
});

/** Finish reasons as llm/ records them on a target's reply. */
export const FINISH_REASONS = [
  'complete',
  'truncated',
  'refused',
  'context-overflow',
  'paused',
  'malformed',
  'other',
] as const;

/** `finish-reason`: the reply ended one of the expected ways. */
export const finishReasonMetric = defineMetric({
  description:
    'The reply ended one of the expected ways (item.finish: complete, truncated, refused, context-overflow, paused, malformed, other).',
  kind: 'heuristic',
  args: z.strictObject({
    expected: z
      .union([z.enum(FINISH_REASONS), z.array(z.enum(FINISH_REASONS)).min(1)])
      .default(['complete'])
      .describe('accepted finish reasons (default complete)'),
  }),
  example: { expected: ['complete', 'truncated'] },
  create(args) {
    const accepted: readonly string[] = typeof args.expected === 'string' ? [args.expected] : args.expected;
    return heuristic('finish-reason', (item) => {
      // Runs record `finish` only for a reply that did not complete; none recorded means complete.
      const finish = item.finish ?? 'complete';
      const pass = accepted.includes(finish);
      return passFail(
        'finish-reason',
        pass,
        `the reply ended ${finish}${item.finish === undefined ? ' (no finish reason recorded)' : ''}; ${pass ? 'accepted' : `expected ${accepted.join(' or ')}`}`,
        { finish },
      );
    });
  },
});
