import { z } from 'zod';
import { ModelNameSchema, NAME_RE } from '../config/index.ts';
import type { Effort } from '../llm/index.ts';
import {
  buildRubricMessages,
  JUDGE_PROMPT_VERSION,
  type Rubric,
  rubricJsonSchema,
  rubricRef,
  rubricText,
  type Scale,
} from './judge-prompt.ts';
import { type Aggregate, isPanel, panelArgs, runPanel } from './panel.ts';
import { clamp01, errorMessage, errorScore, isProviderTrouble, spendFields, usageOf } from './score.ts';
import {
  defineMetric,
  type Item,
  type JudgeDeps,
  type Metric,
  type MetricDeps,
  type Score,
  type ScoreContext,
} from './types.ts';

/** Shown before every offline-provider reason, so nobody mistakes a heuristic for a model's judgement. */
export const HEURISTIC_PREFIX = 'Heuristic estimate (offline provider, not an LLM verdict): ';

/** A heuristic's reason, prefixed unless it already opens by saying it is not an LLM verdict. */
export function heuristicReason(reason: string): string {
  return /^\W*heuristic\b[^:]{0,60}not an llm verdict/i.test(reason) ? reason : HEURISTIC_PREFIX + reason;
}

/** Default `reviewBelow`: judge confidence under this marks a score `needs_review`. */
export const DEFAULT_REVIEW_BELOW = 0.5;

/**
 * Default output budget of a judge call. Current models think before they answer and thinking counts against
 * max_tokens (512 was spent on thinking alone), so the budget leaves room for it; unused tokens cost nothing.
 */
export const JUDGE_MAX_TOKENS = 4096;

/** Default thinking effort of a judge call: a verdict on a rubric needs little deliberation. */
export const JUDGE_EFFORT: Effort = 'low';

// Models often quote numbers ("4"); accepting that avoids a repair round-trip for a harmless slip.
const numberish = z.union([
  z.number(),
  z
    .string()
    .trim()
    .regex(/^-?\d+(?:\.\d+)?$/, { error: 'expected a number' })
    .transform(Number),
]);

/** The JSON a rubric judge must return, with the score bounded by the scale so a repair can fix it. */
export function rubricVerdictSchema(scale: Scale) {
  return z.object({
    reason: z.string(),
    score: numberish.pipe(
      z
        .number()
        .min(scale.min, { error: `expected a score from ${scale.min} to ${scale.max}` })
        .max(scale.max, { error: `expected a score from ${scale.min} to ${scale.max}` }),
    ),
    confidence: numberish.pipe(z.number().min(0).max(1)).optional(),
  });
}

const ScaleArg = z
  .union([
    z
      .string()
      .regex(/^\s*\d+\s*-\s*\d+\s*$/, { error: 'expected a scale such as "1-5" or {min: 1, max: 5}' })
      .transform((s) => {
        const [min = 0, max = 0] = s.split('-').map((x) => Number(x.trim()));
        return { min, max };
      }),
    z.strictObject({ min: z.int().describe('lowest score'), max: z.int().describe('highest score') }),
  ])
  .refine((s) => s.max > s.min, { error: 'expected a scale whose max is above its min, e.g. "1-5"' })
  .refine((s) => s.max - s.min <= 100, { error: 'expected a scale spanning at most 100 points' });

/** Arguments shared by both judges. */
export const judgeCommonArgs = {
  name: z
    .string()
    .regex(NAME_RE, {
      error: 'expected a lower-case name of letters, digits, -, _ and . such as helpfulness',
    })
    .optional()
    .describe('name written on the scores, e.g. helpfulness'),
  model: ModelNameSchema.optional().describe('judge model as provider:model (default: ARBITER_JUDGE_MODEL)'),
  reviewBelow: z
    .number()
    .min(0)
    .max(1)
    .default(DEFAULT_REVIEW_BELOW)
    .describe('confidence under this marks the score needs_review'),
  effort: z
    .enum(['low', 'medium', 'high'])
    .default(JUDGE_EFFORT)
    .describe('how much the judge model may think before answering: low (default), medium or high'),
};

/** A per-level rubric: what each score of the scale means, keyed by the score ("1": "off-topic", …). */
export const LevelsArg = z
  .record(
    z.string().regex(/^-?\d+$/, { error: 'expected integer scores as keys, e.g. "1": "off-topic"' }),
    z.string().trim().min(1),
  )
  .refine((r) => Object.keys(r).length >= 2, { error: 'expected descriptions of at least two levels' })
  .transform(
    (r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [Number(k), v])) as Record<number, string>,
  );

/** Checks that every level lies on the scale. */
export function levelsOnScale(
  args: { levels?: Record<number, string> | undefined; scale: Scale },
  ctx: z.RefinementCtx,
): void {
  for (const k of Object.keys(args.levels ?? {})) {
    const n = Number(k);
    if (n < args.scale.min || n > args.scale.max)
      ctx.addIssue({
        code: 'custom',
        path: ['levels', k],
        message: `level ${k} is off the scale ${args.scale.min}-${args.scale.max}`,
      });
  }
}

/** The scale argument: "1-5" or {min, max}. */
export { ScaleArg };

const LlmJudgeArgs = z
  .strictObject({
    criteria: z
      .string()
      .trim()
      .min(1, { error: 'expected the criteria to judge, e.g. "Is the answer correct and complete?"' })
      .describe('what the judge decides, e.g. "Is the answer correct and complete?"'),
    steps: z
      .array(z.string().trim().min(1))
      .optional()
      .describe('evaluation steps the judge follows in order'),
    scale: ScaleArg.default({ min: 1, max: 5 }).describe('"1-5" (default) or {min, max}'),
    levels: LevelsArg.optional().describe(
      'per-level rubric: what each score means, e.g. {"1": "off-topic", "3": "partly answers", "5": "complete and correct"}',
    ),
    needs: z
      .array(z.enum(['expected', 'context'], { error: 'expected "expected" or "context"' }))
      .optional()
      .describe('item fields the criteria rely on; an item without one gets an error score, not a guess'),
    ...judgeCommonArgs,
    maxTokens: z
      .int()
      .min(256)
      .max(32_768)
      .default(JUDGE_MAX_TOKENS)
      .describe(
        'output budget of a judge call, thinking included (a truncated reply is retried once with 4x)',
      ),
    ...panelArgs,
  })
  .superRefine(levelsOnScale);

/** Options of one rubric judgement. */
export interface RubricJudgeOptions {
  /** Metric name on the Score. */
  metric: string;
  rubric: Rubric;
  model: string;
  reviewBelow?: number;
  maxTokens?: number;
  effort?: Effort;
  /** Sampling temperature (default 0). */
  temperature?: number;
  /** false bypasses the response cache (repeated sampling). */
  cache?: boolean;
}

function short(s: string, max = 300): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/**
 * Why `completeJson` gave no value. The wrapper reports provider failures (429, 5xx, time-outs, an open
 * breaker) as values too, so only LLM_BAD_JSON (or no code, from hand-written fakes) means malformed output.
 */
export function describeJsonFailure(res: { error: string; code?: string }): string {
  switch (res.code) {
    case undefined:
    case 'LLM_BAD_JSON':
      return `judge output unusable: ${short(res.error)}`;
    case 'LLM_TRUNCATED':
      return `judge reply truncated: ${short(res.error)}; raise the metric's maxTokens`;
    case 'LLM_REFUSED':
      return `judge refused to answer: ${short(res.error)}`;
    case 'LLM_CONTEXT_OVERFLOW':
      return `judge prompt too long: ${short(res.error)}`;
    case 'LLM_INCOMPLETE':
      return `judge reply incomplete: ${short(res.error)}`;
    default:
      return `judge call failed (${res.code}): ${short(res.error)}`;
  }
}

/**
 * Scores one item against a rubric with the judge model. Every failure (provider error after the
 * wrapper's retries, malformed JSON after its repair attempt, a thrown error) becomes a Score with `error`.
 */
export async function judgeWithRubric(
  item: Item,
  opts: RubricJudgeOptions,
  deps: JudgeDeps,
  ctx: ScoreContext = {},
): Promise<Score> {
  const rubric = rubricRef(rubricText(opts.rubric));
  const { min, max } = opts.rubric.scale;
  if (ctx.signal?.aborted)
    return errorScore(opts.metric, 'cancelled before the judge was called', { rubric });
  const schema = rubricVerdictSchema(opts.rubric.scale);
  let res: Awaited<ReturnType<typeof deps.llm.completeJson<typeof schema>>>;
  try {
    const messages = await buildRubricMessages(opts.rubric, item);
    res = await deps.llm.completeJson(
      {
        model: opts.model,
        messages,
        temperature: opts.temperature ?? 0,
        ...(opts.cache === false ? { cache: false } : {}),
        json: true,
        jsonSchema: rubricJsonSchema(opts.rubric.scale),
        effort: opts.effort ?? JUDGE_EFFORT,
        maxTokens: opts.maxTokens ?? JUDGE_MAX_TOKENS,
        trace: { name: `judge:${opts.metric}` },
      },
      schema,
    );
  } catch (err) {
    deps.logger?.warn(
      { metric: opts.metric, model: opts.model, err: errorMessage(err) },
      'judge call failed',
    );
    return errorScore(opts.metric, `judge call failed: ${short(errorMessage(err))}`, {
      rubric,
      errorCause: isProviderTrouble(err) ? 'provider' : 'metric',
    });
  }
  if (!res.ok) {
    deps.logger?.warn(
      { metric: opts.metric, model: opts.model, code: res.code, err: res.error },
      'judge gave no usable verdict',
    );
    return errorScore(opts.metric, describeJsonFailure(res), {
      rubric,
      errorCause: res.code && isProviderTrouble({ code: res.code }) ? 'provider' : 'metric',
      ...spendFields(usageOf(res.completion)),
      ...(res.completion?.heuristic ? { heuristic: true } : {}),
      ...(res.code ? { details: { code: res.code } } : {}),
    });
  }
  const { score, reason, confidence } = res.value;
  const completion = res.completion;
  const needsReview = confidence !== undefined && confidence < (opts.reviewBelow ?? DEFAULT_REVIEW_BELOW);
  const text = reason.trim() || 'no reason given';
  return {
    metric: opts.metric,
    value: clamp01((score - min) / (max - min)),
    ...(needsReview ? { label: 'needs_review' } : {}),
    reason: completion.heuristic ? heuristicReason(text) : text,
    ...(confidence !== undefined ? { confidence } : {}),
    ...spendFields(usageOf(completion)),
    needsReview,
    rubric,
    ...(completion.heuristic ? { heuristic: true } : {}),
    details: {
      rawScore: score,
      scale: `${min}-${max}`,
      model: completion.model,
      cached: completion.cached,
      promptVersion: JUDGE_PROMPT_VERSION,
    },
  };
}

/** Resolves the judge dependencies, or says what is missing. */
export function resolveJudge(
  deps: MetricDeps,
  model: string | undefined,
): { ok: true; deps: JudgeDeps } | { ok: false; error: string } {
  if (!deps.llm) return { ok: false, error: 'needs an LLM, but none was provided' };
  const judgeModel = model ?? deps.judgeModel;
  if (!judgeModel)
    return {
      ok: false,
      error: "needs a judge model: set ARBITER_JUDGE_MODEL or the metric's `model` argument",
    };
  return { ok: true, deps: { llm: deps.llm, judgeModel, ...(deps.logger ? { logger: deps.logger } : {}) } };
}

/** A judge metric that cannot run; it still answers every item with an error Score instead of throwing. */
export function unavailableJudge(name: string, error: string): Metric {
  return { name, kind: 'judge', score: async () => errorScore(name, `metric '${name}' ${error}`) };
}

/** `llm-judge`: a G-Eval-style rubric judge (criteria, optional steps, scale) normalized to [0, 1]. */
export const llmJudgeMetric = defineMetric({
  description:
    'LLM rubric judge (G-Eval style): criteria, optional steps and a scale; score normalized to 0–1.',
  kind: 'judge',
  args: LlmJudgeArgs,
  example: {
    name: 'helpfulness',
    criteria: 'Does the answer resolve the user request correctly and completely?',
    steps: [
      'Identify what the user asked for.',
      'Check each claim in the answer.',
      'Penalize missing or wrong parts.',
    ],
    scale: '1-5',
  },
  create(args, deps) {
    const name = args.name ?? 'llm-judge';
    const judge = resolveJudge(deps, args.judges?.[0] ?? args.model);
    if (!judge.ok) return unavailableJudge(name, judge.error);
    const rubric: Rubric = {
      criteria: args.criteria,
      scale: args.scale,
      ...(args.steps ? { steps: args.steps } : {}),
      ...(args.levels ? { levels: args.levels } : {}),
    };
    const opts: RubricJudgeOptions = {
      metric: name,
      rubric,
      model: judge.deps.judgeModel,
      reviewBelow: args.reviewBelow,
      maxTokens: args.maxTokens,
      effort: args.effort,
    };
    const needs = args.needs ?? [];
    const judgeOnce = rubricJudgeOrPanel(name, opts, args, judge.deps);
    return {
      name,
      kind: 'judge',
      score: async (item, ctx) => {
        const missing = needs.filter((field) => !item[field]?.trim());
        if (missing.length > 0) {
          const what = missing
            .map((f) => (f === 'expected' ? 'an expected answer' : 'a context'))
            .join(' or ');
          return errorScore(name, `the criteria need ${what}, and this item has none`, {
            rubric: rubricRef(rubricText(rubric)),
            errorCause: 'input',
            details: { missing },
          });
        }
        return judgeOnce(item, opts.rubric, ctx);
      },
    };
  },
});

/** Panel settings of a rubric judge (see panel.ts). */
export interface PanelSettings {
  judges?: readonly string[] | undefined;
  samples: number;
  aggregate?: Aggregate | undefined;
  temperature?: number | undefined;
}

/**
 * One rubric verdict, or a jury / repeated samples of it aggregated: the function scores an item against a rubric
 * (passed per call, so G-Eval can hand in its generated steps).
 */
export function rubricJudgeOrPanel(
  name: string,
  opts: RubricJudgeOptions,
  panel: PanelSettings,
  deps: JudgeDeps,
): (item: Item, rubric: Rubric, ctx?: ScoreContext) => Promise<Score> {
  const temperature = panel.temperature ?? (panel.samples > 1 ? 1 : 0);
  if (!isPanel(panel))
    return (item, rubric, ctx) => judgeWithRubric(item, { ...opts, rubric, temperature }, deps, ctx);
  const models = panel.judges ?? [opts.model];
  return (item, rubric, ctx) =>
    runPanel(
      { metric: name, models, samples: panel.samples, aggregate: panel.aggregate ?? 'mean' },
      async (model, sample) => {
        const score = await judgeWithRubric(
          item,
          { ...opts, rubric, model, temperature, ...(panel.samples > 1 ? { cache: false } : {}) },
          deps,
          ctx,
        );
        const raw = score.details?.rawScore;
        return { model, sample, score, raw: typeof raw === 'number' ? raw : score.value };
      },
    );
}
