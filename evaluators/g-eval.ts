// G-Eval (Liu et al. 2023, "G-Eval: NLG Evaluation using GPT-4 with Better Human Alignment"; DeepEval's GEval,
// https://deepeval.com/docs/metrics-llm-evals): the judge first writes evaluation steps from the criteria
// (auto chain-of-thought), then scores each item following them. The steps are generated once per criteria version
// and judge model, shared by every item (and by identical calls in flight), and kept in the model response cache
// (the store, LLM_CACHE_TTL) so later runs reuse them; they are part of the rubric text, so the rubric version on
// every Score names the exact steps it was judged with. Pin them with `llm-judge`'s `steps` to freeze them forever.
// The paper weights the score by the probabilities of the score tokens; providers here return no log-probabilities,
// so the score is the judge's integer on the scale, normalized (as DeepEval does when logprobs are unavailable).
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { callJudge, type JudgeReply } from './judge-call.ts';
import { type Rubric, rubricRef, rubricText } from './judge-prompt.ts';
import {
  judgeCommonArgs,
  LevelsArg,
  levelsOnScale,
  resolveJudge,
  rubricJudgeOrPanel,
  ScaleArg,
  unavailableJudge,
} from './llm-judge.ts';
import { panelArgs } from './panel.ts';
import { addScoreUsage, spendFields } from './score.ts';
import { defineMetric, type JudgeDeps, type Score } from './types.ts';

const StepsSchema = z.object({ steps: z.array(z.string().trim().min(1)).min(1).max(12) });

const STEPS_JSON_SCHEMA = {
  type: 'object',
  properties: { steps: { type: 'array', items: { type: 'string' } } },
  required: ['steps'],
  additionalProperties: false,
};

// Per process: one generation per (judge model, criteria version), shared by every metric instance and item.
const generated = new Map<string, Promise<JudgeReply<z.infer<typeof StepsSchema>>>>();
const MAX_MEMO = 500;

/** The version of the criteria the steps are generated from (criteria, scale and levels, hashed). */
export function criteriaVersion(rubric: Rubric): string {
  return createHash('sha256')
    .update(rubricText({ ...rubric, steps: [] }))
    .digest('hex')
    .slice(0, 12);
}

/** Forgets generated steps (tests). */
export function resetGeneratedSteps(): void {
  generated.clear();
}

/**
 * The evaluation steps for a rubric: generated once per judge model and criteria version. A failed generation is
 * not kept, so the next item tries again. `first` is true for the caller whose call generated them.
 */
export async function stepsFor(
  rubric: Rubric,
  deps: JudgeDeps,
  model: string,
  signal?: AbortSignal,
): Promise<{ first: boolean; reply: JudgeReply<z.infer<typeof StepsSchema>> }> {
  const key = `${model}\n${criteriaVersion(rubric)}`;
  const known = generated.get(key);
  if (known) return { first: false, reply: await known };
  const p = callJudge(deps, {
    metric: 'g-eval:steps',
    model,
    role: 'You design evaluation procedures for judging AI assistant outputs.',
    blocks: [
      ['task', 'steps'],
      ['criteria', rubric.criteria],
      ['scale', `${rubric.scale.min}-${rubric.scale.max}`],
    ],
    instruction:
      'Write 3 to 6 concise evaluation steps that a grader follows, in order, to judge an output against <criteria> on the scale in <scale>. Each step is one imperative sentence. Reply with only this JSON object: {"steps": ["<step>", ...]}',
    schema: StepsSchema,
    jsonSchema: STEPS_JSON_SCHEMA,
    ...(signal ? { signal } : {}),
  });
  if (generated.size >= MAX_MEMO) generated.delete(generated.keys().next().value!);
  generated.set(key, p);
  const reply = await p;
  if (!reply.ok) generated.delete(key);
  return { first: true, reply };
}

const GEvalArgs = z
  .strictObject({
    criteria: z
      .string()
      .trim()
      .min(1, { error: 'expected the criteria to judge, e.g. "Is the answer coherent and well organised?"' })
      .describe('what the judge decides; evaluation steps are generated from it once and reused'),
    scale: ScaleArg.default({ min: 1, max: 5 }).describe('"1-5" (default) or {min, max}'),
    levels: LevelsArg.optional().describe(
      'per-level rubric: what each score means, e.g. {"1": "incoherent", "5": "clear"}',
    ),
    model: judgeCommonArgs.model,
    reviewBelow: judgeCommonArgs.reviewBelow,
    effort: judgeCommonArgs.effort,
    ...panelArgs,
  })
  .superRefine(levelsOnScale);

/** `g-eval`: criteria → generated evaluation steps (fixed per criteria version) → a rubric verdict normalized to 0–1. */
export const gEvalMetric = defineMetric({
  description:
    'G-Eval: evaluation steps generated from the criteria once (kept with the rubric version), then a rubric verdict; 0–1.',
  kind: 'judge',
  args: GEvalArgs,
  example: { criteria: 'Is the answer coherent, well organised and easy to follow?', scale: '1-5' },
  create(args, deps) {
    const name = 'g-eval';
    const judge = resolveJudge(deps, args.judges?.[0] ?? args.model);
    if (!judge.ok) return unavailableJudge(name, judge.error);
    const base: Rubric = {
      criteria: args.criteria,
      scale: args.scale,
      ...(args.levels ? { levels: args.levels } : {}),
    };
    // Steps come from the first judge of a jury, so every juror follows the same steps.
    const stepsModel = judge.deps.judgeModel;
    const score = rubricJudgeOrPanel(
      name,
      { metric: name, rubric: base, model: stepsModel, reviewBelow: args.reviewBelow, effort: args.effort },
      args,
      judge.deps,
    );
    return {
      name,
      kind: 'judge',
      score: async (item, ctx): Promise<Score> => {
        const { first, reply } = await stepsFor(base, judge.deps, stepsModel, ctx?.signal);
        if (!reply.ok) {
          const rubric = rubricRef(rubricText(base));
          return {
            metric: name,
            value: 0,
            label: 'error',
            reason: `could not score: evaluation steps could not be generated: ${reply.error}`,
            error: `evaluation steps could not be generated: ${reply.error}`,
            errorCause: reply.cause,
            rubric,
            ...spendFields(reply.usage),
            ...(reply.heuristic ? { heuristic: true } : {}),
          };
        }
        const rubric: Rubric = { ...base, steps: reply.value.steps };
        const s = await score(item, rubric, ctx);
        const usage = first && s.usage ? addScoreUsage(s.usage, reply.usage) : s.usage;
        return {
          ...s,
          ...(usage ? spendFields(usage) : {}),
          details: {
            ...s.details,
            steps: reply.value.steps,
            stepsModel,
            criteriaVersion: criteriaVersion(base),
            stepsGenerated: first,
          },
        };
      },
    };
  },
});
