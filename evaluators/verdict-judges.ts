// Boolean and categorical judges, as Langfuse evaluators have them (score data types BOOLEAN and CATEGORICAL,
// https://langfuse.com/docs/evaluation/evaluation-methods/data-model#scores): the judge picks one label; each label
// maps to a value in [0, 1] (true = 1, false = 0), written with the label on the Score. Both can sit as a jury or be
// sampled repeatedly (majority by default).
import { z } from 'zod';
import { renderTranscript } from './score.ts';
import { callJudge, CLAIM_PROMPT_VERSION, fixedRubric } from './judge-call.ts';
import { heuristicReason, judgeCommonArgs, resolveJudge, unavailableJudge } from './llm-judge.ts';
import { isPanel, panelArgs, runPanel } from './panel.ts';
import { errorScore, spendFields } from './score.ts';
import {
  defineMetric,
  type Item,
  type JudgeDeps,
  type RubricRef,
  type Score,
  type ScoreContext,
} from './types.ts';

/** One category a categorical judge can pick. */
export interface Category {
  label: string;
  value: number;
  description?: string | undefined;
}

const ClassifySchema = (labels: readonly string[]) =>
  z.object({
    reason: z.string(),
    category: z
      .string()
      .trim()
      .transform((c) => labels.find((l) => l.toLowerCase() === c.toLowerCase()) ?? c)
      .pipe(z.enum(labels as [string, ...string[]], { error: `expected one of: ${labels.join(', ')}` })),
    confidence: z.number().min(0).max(1).optional(),
  });

function classifyJsonSchema(labels: readonly string[]): Record<string, unknown> {
  return {
    type: 'object',
    properties: {
      reason: {
        type: 'string',
        description: 'One or two sentences citing the evidence, written before the category.',
      },
      category: { type: 'string', enum: [...labels] },
      confidence: { type: 'number', description: 'How sure you are, from 0 to 1.' },
    },
    required: ['reason', 'category', 'confidence'],
    additionalProperties: false,
  };
}

/** Options of one classification. */
interface ClassifyOptions {
  metric: string;
  criteria: string;
  categories: readonly Category[];
  rubric: RubricRef;
  model: string;
  reviewBelow: number;
  effort: 'low' | 'medium' | 'high';
  temperature: number;
  cache: boolean;
}

/** One categorical verdict on an item, as a Score whose label is the category. */
export async function classifyItem(
  item: Item,
  opts: ClassifyOptions,
  deps: JudgeDeps,
  ctx: ScoreContext = {},
): Promise<Score> {
  const labels = opts.categories.map((c) => c.label);
  const reply = await callJudge(deps, {
    metric: opts.metric,
    model: opts.model,
    role: 'You are a strict, impartial evaluator of AI assistant outputs. You put each output in exactly one category.',
    blocks: [
      ['task', 'classify'],
      ['criteria', opts.criteria],
      ['categories', JSON.stringify(opts.categories)],
      ['input', item.input],
      typeof item.output === 'string'
        ? ['output', item.output]
        : ['transcript', renderTranscript(item.output)],
      ['reference', item.expected],
      ['context', item.context],
    ],
    instruction: `Decide which category in <categories> the output falls in, judged by <criteria>. Write your reason first, then the category.
Reply with only this JSON object: {"reason": "<one or two sentences>", "category": ${labels.map((l) => JSON.stringify(l)).join(' | ')}, "confidence": <number from 0 to 1>}`,
    schema: ClassifySchema(labels),
    jsonSchema: classifyJsonSchema(labels),
    effort: opts.effort,
    temperature: opts.temperature,
    cache: opts.cache,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  if (!reply.ok)
    return errorScore(opts.metric, reply.error, {
      rubric: opts.rubric,
      errorCause: reply.cause,
      ...spendFields(reply.usage),
      ...(reply.heuristic ? { heuristic: true } : {}),
      details: { model: opts.model, ...(reply.code ? { code: reply.code } : {}) },
    });
  const picked = opts.categories.find((c) => c.label === reply.value.category)!;
  const { confidence } = reply.value;
  const needsReview = confidence !== undefined && confidence < opts.reviewBelow;
  const text = reply.value.reason.trim() || 'no reason given';
  return {
    metric: opts.metric,
    value: picked.value,
    label: needsReview ? 'needs_review' : picked.label,
    reason: reply.heuristic ? heuristicReason(text) : text,
    ...(confidence !== undefined ? { confidence } : {}),
    ...spendFields(reply.usage),
    needsReview,
    rubric: opts.rubric,
    ...(reply.heuristic ? { heuristic: true } : {}),
    details: {
      category: picked.label,
      model: reply.model,
      cached: reply.cached,
      promptVersion: CLAIM_PROMPT_VERSION,
    },
  };
}

function categoricalMetric(
  name: string,
  criteria: string,
  categories: readonly Category[],
  args: {
    model?: string | undefined;
    reviewBelow: number;
    effort: 'low' | 'medium' | 'high';
    judges?: string[] | undefined;
    samples: number;
    aggregate?: 'mean' | 'median' | 'majority' | undefined;
    temperature?: number | undefined;
  },
  deps: Parameters<typeof resolveJudge>[0],
) {
  const judge = resolveJudge(deps, args.judges?.[0] ?? args.model);
  if (!judge.ok) return unavailableJudge(name, judge.error);
  const rubric = fixedRubric(
    `${name}: ${criteria}\ncategories: ${categories.map((c) => `${c.label}=${c.value}${c.description ? ` (${c.description})` : ''}`).join('; ')}`,
  );
  const temperature = args.temperature ?? (args.samples > 1 ? 1 : 0);
  const base: ClassifyOptions = {
    metric: name,
    criteria,
    categories,
    rubric,
    model: judge.deps.judgeModel,
    reviewBelow: args.reviewBelow,
    effort: args.effort,
    temperature,
    cache: args.samples <= 1,
  };
  return {
    name,
    kind: 'judge' as const,
    score: (item: Item, ctx?: ScoreContext) =>
      isPanel(args)
        ? runPanel(
            {
              metric: name,
              models: args.judges ?? [base.model],
              samples: args.samples,
              aggregate: args.aggregate ?? 'majority',
            },
            async (model, sample) => {
              const score = await classifyItem(item, { ...base, model }, judge.deps, ctx);
              return { model, sample, score, raw: String(score.details?.category ?? score.label ?? '') };
            },
          )
        : classifyItem(item, base, judge.deps, ctx),
  };
}

const criteriaArg = z
  .string()
  .trim()
  .min(1, { error: 'expected the question the judge answers, e.g. "Does the answer cite a source?"' });

const BooleanArgs = z.strictObject({
  criteria: criteriaArg.describe('a yes/no question about the output, e.g. "Does the answer cite a source?"'),
  model: judgeCommonArgs.model,
  reviewBelow: judgeCommonArgs.reviewBelow,
  effort: judgeCommonArgs.effort,
  ...panelArgs,
});

/** `boolean-judge`: a yes/no question about the output; true scores 1, false 0 (Langfuse BOOLEAN scores). */
export const booleanJudgeMetric = defineMetric({
  description:
    'LLM boolean judge: a yes/no question about the output; true = 1, false = 0 (label true/false).',
  kind: 'judge',
  args: BooleanArgs,
  example: { criteria: 'Does the answer tell the user how to reach a human agent?' },
  create: (args, deps) =>
    categoricalMetric(
      'boolean-judge',
      args.criteria,
      [
        { label: 'true', value: 1, description: 'the answer to the question is yes' },
        { label: 'false', value: 0, description: 'the answer to the question is no' },
      ],
      args,
      deps,
    ),
});

const CategoryArg = z.strictObject({
  label: z.string().trim().min(1).max(60).describe('the category name written as the score label'),
  value: z.number().min(0).max(1).describe('the score in [0, 1] this category maps to'),
  description: z.string().trim().min(1).optional().describe('when the judge should pick it'),
});

const CategoricalArgs = z.strictObject({
  criteria: criteriaArg.describe(
    'what the categories classify, e.g. "How does the answer handle the refund request?"',
  ),
  categories: z
    .array(CategoryArg)
    .min(2, { error: 'expected at least two categories' })
    .max(20)
    .refine((cs) => new Set(cs.map((c) => c.label.toLowerCase())).size === cs.length, {
      error: 'expected distinct category labels',
    })
    .describe('the categories: {label, value (0–1), description?}; the picked one gives the score'),
  model: judgeCommonArgs.model,
  reviewBelow: judgeCommonArgs.reviewBelow,
  effort: judgeCommonArgs.effort,
  ...panelArgs,
});

/** `categorical-judge`: the judge picks a category; its value is the score, its label the Score's label. */
export const categoricalJudgeMetric = defineMetric({
  description:
    'LLM categorical judge (Langfuse-style): picks one of the given categories; each maps to a score in 0–1.',
  kind: 'judge',
  args: CategoricalArgs,
  example: {
    criteria: 'How does the answer handle the refund request?',
    categories: [
      { label: 'resolved', value: 1, description: 'gives the refund steps or starts the refund' },
      { label: 'escalated', value: 0.5, description: 'hands over to a human' },
      { label: 'ignored', value: 0, description: 'does not address the refund' },
    ],
  },
  create: (args, deps) => categoricalMetric('categorical-judge', args.criteria, args.categories, args, deps),
});
