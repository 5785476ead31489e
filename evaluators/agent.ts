// Agent metrics on the tool calls a target made (`item.toolCalls`): tool-call correctness against the expected
// calls as F1, and trajectory checks (order, forbidden tools, step budget). A missing list is an error naming it.
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { errorScore, passFail } from './score.ts';
import {
  defineMetric,
  type Item,
  type Metric,
  type Score,
  type ToolCall,
  ToolCallListSchema,
} from './types.ts';

function heuristic(name: string, score: (item: Item) => Score): Metric {
  return { name, kind: 'heuristic', score: async (item) => score(item) };
}

const NO_TOOL_CALLS =
  'the item has no `toolCalls`: the target does not report tool calls (set `toolCallsPath` on an http target, `tools` on a model target, `toolCalls` in the dataset or the extractor)';

/** Whether an actual call's arguments satisfy an expected call's: equal, or (subset) every expected key equal. */
function argsMatch(expected: ToolCall['args'], actual: ToolCall['args'], mode: 'exact' | 'subset'): boolean {
  if (mode === 'exact') return isDeepStrictEqual(expected, actual);
  return Object.entries(expected).every(
    ([k, v]) => Object.hasOwn(actual, k) && isDeepStrictEqual(v, actual[k]),
  );
}

/**
 * Matches expected calls to actual calls one-to-one (each actual call used once) as a maximum bipartite matching
 * (Kuhn's augmenting paths): with `subset` arguments one actual call may satisfy several expected ones, and a greedy
 * pass could then count fewer matches than there are.
 */
export function matchToolCalls(
  expected: readonly ToolCall[],
  actual: readonly ToolCall[],
  args: false | 'exact' | 'subset',
): { matched: number; missing: ToolCall[]; unexpected: ToolCall[] } {
  const fits = expected.map((e) =>
    actual.flatMap((a, j) =>
      a.name === e.name && (args === false || argsMatch(e.args, a.args, args)) ? [j] : [],
    ),
  );
  const owner = new Array<number>(actual.length).fill(-1);
  const augment = (i: number, seen: boolean[]): boolean => {
    for (const j of fits[i]!) {
      if (seen[j]) continue;
      seen[j] = true;
      if (owner[j] === -1 || augment(owner[j]!, seen)) {
        owner[j] = i;
        return true;
      }
    }
    return false;
  };
  let matched = 0;
  const missing: ToolCall[] = [];
  expected.forEach((e, i) => {
    if (augment(i, new Array<boolean>(actual.length).fill(false))) matched++;
    else missing.push(e);
  });
  // A later augmenting path never unmatches an expected call, so `missing` stays right.
  return { matched, missing, unexpected: actual.filter((_, j) => owner[j] === -1) };
}

const names = (calls: readonly ToolCall[]) => calls.map((c) => c.name).join(', ') || 'none';

/** `tool-correctness`: F1 of the calls made against the expected calls (names, and arguments with matchArgs). */
export const toolCorrectnessMetric = defineMetric({
  description:
    'F1 of the tool calls made (item.toolCalls) against the expected ones (item.expectedToolCalls): by name, or with matchArgs also by arguments.',
  kind: 'heuristic',
  args: z.strictObject({
    matchArgs: z
      .union([z.boolean(), z.literal('subset')])
      .default(false)
      .describe(
        '`true`: a call matches only with equal arguments; `subset`: the expected arguments must be present and equal',
      ),
    expected: ToolCallListSchema.optional().describe(
      "expected calls for every item, instead of the item's expectedToolCalls",
    ),
  }),
  example: { matchArgs: true },
  create(args) {
    const mode = args.matchArgs === false ? false : args.matchArgs === true ? 'exact' : 'subset';
    return heuristic('tool-correctness', (item) => {
      const expected = args.expected ?? item.expectedToolCalls;
      if (expected === undefined)
        return errorScore(
          'tool-correctness',
          "the item has no `expectedToolCalls` (set them in the dataset or the metric's `expected` argument)",
          { errorCause: 'input' },
        );
      if (item.toolCalls === undefined)
        return errorScore('tool-correctness', NO_TOOL_CALLS, { errorCause: 'input' });
      const actual = item.toolCalls;
      if (expected.length === 0 && actual.length === 0)
        return { metric: 'tool-correctness', value: 1, reason: 'no tool calls expected and none made' };
      const m = matchToolCalls(expected, actual, mode);
      const precision = actual.length ? m.matched / actual.length : 0;
      const recall = expected.length ? m.matched / expected.length : 0;
      const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
      const parts = [
        `${m.matched} of ${expected.length} expected call(s) made, ${actual.length} made in all`,
      ];
      if (m.missing.length) parts.push(`missing ${names(m.missing)}`);
      if (m.unexpected.length) parts.push(`unexpected ${names(m.unexpected)}`);
      if (mode) parts.push(`arguments compared (${mode})`);
      return {
        metric: 'tool-correctness',
        value: f1,
        reason: `F1 ${Math.round(f1 * 1000) / 1000}: ${parts.join('; ')}`,
        details: {
          precision,
          recall,
          matched: m.matched,
          missing: m.missing.map((c) => c.name),
          unexpected: m.unexpected.map((c) => c.name),
        },
      };
    });
  },
});

/** Whether `sub` appears in `seq` in order (other items may come between). */
function isSubsequence(sub: readonly string[], seq: readonly string[]): boolean {
  let i = 0;
  for (const s of seq) if (i < sub.length && s === sub[i]) i++;
  return i === sub.length;
}

/** Names of `want` (a multiset) that `have` lacks. */
function missingNames(want: readonly string[], have: readonly string[]): string[] {
  const left = new Map<string, number>();
  for (const h of have) left.set(h, (left.get(h) ?? 0) + 1);
  const out: string[] = [];
  for (const w of want) {
    const n = left.get(w) ?? 0;
    if (n > 0) left.set(w, n - 1);
    else out.push(w);
  }
  return out;
}

/** `trajectory`: the sequence of tool calls follows the expected order, avoids forbidden tools, stays in budget. */
export const trajectoryMetric = defineMetric({
  description:
    'The tool-call trajectory: expected tools in order (strict, in-order or any-order), no forbidden tool, at most maxSteps calls.',
  kind: 'heuristic',
  args: z
    .strictObject({
      order: z
        .enum(['strict', 'in-order', 'any-order'])
        .optional()
        .describe(
          'strict: exactly the expected sequence; in-order (default): expected tools in order, others may come between; any-order: every expected tool, any order. Checked whenever expected calls are known',
        ),
      expected: z
        .array(z.string().min(1))
        .optional()
        .describe("expected tool names in order, instead of the names of the item's expectedToolCalls"),
      forbidden: z.array(z.string().min(1)).optional().describe('tools that must never be called'),
      maxSteps: z.int().positive().optional().describe('most tool calls allowed'),
    })
    .strict(),
  example: { order: 'in-order', forbidden: ['delete_account'], maxSteps: 8 },
  create(args) {
    // An order check is wanted when asked for, or when nothing else is checked.
    const wantsOrder =
      args.order !== undefined || (args.forbidden === undefined && args.maxSteps === undefined);
    const order = args.order ?? 'in-order';
    return heuristic('trajectory', (item) => {
      if (item.toolCalls === undefined)
        return errorScore('trajectory', NO_TOOL_CALLS, { errorCause: 'input' });
      const actual = item.toolCalls.map((c) => c.name);
      const expected = args.expected ?? item.expectedToolCalls?.map((c) => c.name);
      const failures: string[] = [];
      const checks: string[] = [];
      if (wantsOrder || expected !== undefined) {
        if (expected === undefined)
          return errorScore(
            'trajectory',
            "the item has no `expectedToolCalls` to check the order against (set them in the dataset or the metric's `expected` argument)",
            { errorCause: 'input' },
          );
        checks.push(order);
        const ok =
          order === 'strict'
            ? actual.length === expected.length && actual.every((n, i) => n === expected[i])
            : order === 'in-order'
              ? isSubsequence(expected, actual)
              : missingNames(expected, actual).length === 0;
        if (!ok) {
          const lacking = missingNames(expected, actual);
          failures.push(
            `expected ${order} [${expected.join(', ')}], made [${actual.join(', ')}]${lacking.length ? ` (missing ${lacking.join(', ')})` : ''}`,
          );
        }
      }
      if (args.forbidden) {
        checks.push('forbidden');
        const hit = [...new Set(actual.filter((n) => args.forbidden!.includes(n)))];
        if (hit.length) failures.push(`called forbidden ${hit.join(', ')}`);
      }
      if (args.maxSteps !== undefined) {
        checks.push('maxSteps');
        if (actual.length > args.maxSteps)
          failures.push(`${actual.length} calls, over maxSteps ${args.maxSteps}`);
      }
      return passFail(
        'trajectory',
        failures.length === 0,
        failures.length === 0
          ? `trajectory ok (${checks.join(', ')}): [${actual.join(', ')}]`
          : failures.join('; '),
        { steps: actual.length, calls: actual },
      );
    });
  },
});
