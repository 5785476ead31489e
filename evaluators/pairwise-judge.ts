import { z } from 'zod';
import type { Effort } from '../llm/index.ts';
import {
  buildPairwiseMessages,
  JUDGE_PROMPT_VERSION,
  PAIRWISE_JSON_SCHEMA,
  type PairwiseSubject,
  rubricRef,
} from './judge-prompt.ts';
import {
  describeJsonFailure,
  heuristicReason,
  JUDGE_EFFORT,
  JUDGE_MAX_TOKENS,
  judgeCommonArgs,
  resolveJudge,
  unavailableJudge,
} from './llm-judge.ts';
import {
  addScoreUsage,
  errorMessage,
  errorScore,
  isProviderTrouble,
  outputText,
  spendFields,
  usageOf,
} from './score.ts';
import { defineMetric, type JudgeDeps, type RubricRef, type ScoreUsage } from './types.ts';

/** Criteria used when a comparison names none. */
export const DEFAULT_PAIRWISE_CRITERIA =
  'Which answer responds to the input more helpfully, correctly and clearly, without unsupported claims?';

/** Confidence given to a verdict that flipped when the answers were swapped. */
export const DISAGREEMENT_CONFIDENCE = 0.2;

// A judge that omits its confidence is treated as unsure, not certain.
const MISSING_CONFIDENCE = 0.5;

/** The JSON a pairwise judge must return; "Answer A", "a" and "TIE" are accepted spellings. */
export const PairwiseJudgmentSchema = z.object({
  reason: z.string(),
  winner: z
    .string()
    .trim()
    .toLowerCase()
    .transform((w) => w.replace(/^answer[\s_-]*/, ''))
    .pipe(z.enum(['a', 'b', 'tie'], { error: 'expected winner "A", "B" or "tie"' })),
  confidence: z
    .union([
      z.number(),
      z
        .string()
        .trim()
        .regex(/^\d+(?:\.\d+)?$/)
        .transform(Number),
    ])
    .pipe(z.number().min(0).max(1))
    .optional(),
});

/** Which answer won a comparison. */
export type Winner = 'A' | 'B' | 'tie';

/** A comparison of two answers to one input. */
export interface PairwiseRequest extends PairwiseSubject {
  criteria?: string;
}

/** Options of one comparison. */
export interface PairwiseOptions {
  /** Overrides `deps.judgeModel`. */
  model?: string;
  signal?: AbortSignal;
  /** Thinking effort of each call (default low). */
  effort?: Effort;
}

/** The outcome of a comparison judged in both orders; `error` set means no usable verdict (winner is then tie). */
export interface PairwiseVerdict {
  winner: Winner;
  reason: string;
  confidence: number;
  /** True when the swapped-order judgement named the same winner. */
  swappedAgreement: boolean;
  /** USD for both calls (0 when a price is unknown: then `usage.costUsd` is null). */
  cost: number;
  /** Tokens and cost of both calls; `costUsd` null when a price is unknown. */
  usage: ScoreUsage;
  error?: string;
  /** With `error`: the provider or the network failed (infrastructure), not the judge's answer. */
  providerTrouble?: boolean;
  heuristic?: boolean;
  rubric: RubricRef;
  /** Each order's verdict in original labels: [A shown first, B shown first]. */
  orders?: [Winner, Winner];
}

type OneOrder =
  | {
      ok: true;
      winner: Winner;
      reason: string;
      confidence: number | undefined;
      usage: ScoreUsage;
      heuristic: boolean;
    }
  | { ok: false; error: string; usage: ScoreUsage; heuristic: boolean; providerTrouble?: boolean };

async function judgeOnce(
  criteria: string,
  shown: PairwiseSubject,
  swapped: boolean,
  model: string,
  deps: JudgeDeps,
  effort: Effort,
): Promise<OneOrder> {
  try {
    const messages = await buildPairwiseMessages(criteria, shown);
    const res = await deps.llm.completeJson(
      {
        model,
        messages,
        temperature: 0,
        json: true,
        jsonSchema: PAIRWISE_JSON_SCHEMA,
        effort,
        maxTokens: JUDGE_MAX_TOKENS,
        trace: { name: 'judge:pairwise' },
      },
      PairwiseJudgmentSchema,
    );
    if (!res.ok) {
      return {
        ok: false,
        error: describeJsonFailure(res),
        usage: usageOf(res.completion),
        heuristic: res.completion?.heuristic ?? false,
        providerTrouble: res.code !== undefined && isProviderTrouble({ code: res.code }),
      };
    }
    const w = res.value.winner;
    // In the swapped call the original B was shown as A: map back to the caller's labels.
    const winner: Winner = w === 'tie' ? 'tie' : (w === 'a') !== swapped ? 'A' : 'B';
    return {
      ok: true,
      winner,
      reason: res.value.reason.trim() || 'no reason given',
      confidence: res.value.confidence,
      usage: usageOf(res.completion),
      heuristic: res.completion.heuristic,
    };
  } catch (err) {
    return {
      ok: false,
      error: `judge call failed: ${errorMessage(err)}`,
      usage: usageOf(undefined),
      heuristic: false,
      providerTrouble: isProviderTrouble(err),
    };
  }
}

function short(s: string, max = 300): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/**
 * Compares two answers, judged twice with their positions swapped to cancel position bias: when the
 * two orders disagree the verdict is a low-confidence tie. Never throws; failures come back in `error`.
 */
export async function judgePair(
  req: PairwiseRequest,
  deps: JudgeDeps,
  opts: PairwiseOptions = {},
): Promise<PairwiseVerdict> {
  const criteria = req.criteria?.trim() || DEFAULT_PAIRWISE_CRITERIA;
  const rubric = rubricRef(`pairwise criteria: ${criteria.replace(/\s+/g, ' ')}\nverdict: A|B|tie`);
  const model = opts.model ?? deps.judgeModel;
  const fail = (
    error: string,
    usage = usageOf(undefined),
    heuristic = false,
    providerTrouble = false,
  ): PairwiseVerdict => ({
    winner: 'tie',
    reason: `could not compare: ${error}`,
    confidence: 0,
    swappedAgreement: false,
    cost: usage.costUsd ?? 0,
    usage,
    error,
    rubric,
    ...(heuristic ? { heuristic } : {}),
    ...(providerTrouble ? { providerTrouble } : {}),
  });
  if (opts.signal?.aborted) return fail('cancelled before the judge was called');

  const base = {
    input: req.input,
    ...(req.reference !== undefined ? { reference: req.reference } : {}),
    ...(req.context !== undefined ? { context: req.context } : {}),
  };
  const effort = opts.effort ?? JUDGE_EFFORT;
  const [first, second] = await Promise.all([
    judgeOnce(criteria, { ...base, answerA: req.answerA, answerB: req.answerB }, false, model, deps, effort),
    judgeOnce(criteria, { ...base, answerA: req.answerB, answerB: req.answerA }, true, model, deps, effort),
  ]);
  const usage = addScoreUsage(first.usage, second.usage);
  const cost = usage.costUsd ?? 0;
  const heuristic = first.heuristic || second.heuristic;
  if (!first.ok || !second.ok) {
    const errors = [
      !first.ok && `original order: ${first.error}`,
      !second.ok && `swapped order: ${second.error}`,
    ]
      .filter(Boolean)
      .join('; ');
    deps.logger?.warn({ model, err: errors }, 'pairwise judge failed');
    const provider =
      (!first.ok && first.providerTrouble === true) || (!second.ok && second.providerTrouble === true);
    return fail(short(errors, 600), usage, heuristic, provider);
  }
  const shownReason = (r: string) => (heuristic ? heuristicReason(r) : r);
  const orders: [Winner, Winner] = [first.winner, second.winner];
  if (first.winner !== second.winner) {
    return {
      winner: 'tie',
      reason: shownReason(
        `The verdict changed when the answers were swapped (${first.winner} in the original order, ${second.winner} swapped), a sign of position bias; counted as a tie. Original-order reason: ${first.reason}`,
      ),
      confidence: DISAGREEMENT_CONFIDENCE,
      swappedAgreement: false,
      cost,
      usage,
      rubric,
      orders,
      ...(heuristic ? { heuristic } : {}),
    };
  }
  const confidence =
    ((first.confidence ?? MISSING_CONFIDENCE) + (second.confidence ?? MISSING_CONFIDENCE)) / 2;
  return {
    winner: first.winner,
    // The second reason speaks of swapped labels, so only the first-order reason is shown.
    reason: shownReason(first.reason),
    confidence,
    swappedAgreement: true,
    cost,
    usage,
    rubric,
    orders,
    ...(heuristic ? { heuristic } : {}),
  };
}

const PairwiseArgs = z.strictObject({
  criteria: z
    .string()
    .trim()
    .min(1)
    .optional()
    .describe('what "better" means (default: helpful, correct, clear)'),
  against: z
    .string()
    .regex(/^(?:expected|metadata\.[\w-]+)$/, { error: 'expected "expected" or "metadata.<key>"' })
    .default('expected')
    .describe('where the baseline answer comes from: expected (default) or metadata.<key>'),
  ...judgeCommonArgs,
});

/** `pairwise-judge`: the output against a baseline answer; 1 = output better, 0.5 = tie, 0 = baseline better. */
export const pairwiseJudgeMetric = defineMetric({
  description:
    'LLM pairwise judge: output vs a baseline answer, judged in both orders (1 = output better, 0.5 tie, 0 worse).',
  kind: 'judge',
  args: PairwiseArgs,
  example: { criteria: 'Which answer is more accurate and concise?', against: 'metadata.baseline' },
  create(args, deps) {
    const name = args.name ?? 'pairwise-judge';
    const judge = resolveJudge(deps, args.model);
    if (!judge.ok) return unavailableJudge(name, judge.error);
    const key = args.against === 'expected' ? undefined : args.against.slice('metadata.'.length);
    return {
      name,
      kind: 'judge',
      score: async (item, ctx) => {
        const baseline = key === undefined ? item.expected : item.metadata?.[key];
        if (typeof baseline !== 'string') {
          return errorScore(
            name,
            `no baseline answer: the item has no ${key === undefined ? 'expected answer' : `string metadata.${key}`}`,
            { errorCause: 'input' },
          );
        }
        const v = await judgePair(
          {
            input: item.input,
            answerA: outputText(item),
            answerB: baseline,
            ...(args.criteria ? { criteria: args.criteria } : {}),
            ...(item.context !== undefined ? { context: item.context } : {}),
          },
          judge.deps,
          { effort: args.effort, ...(ctx?.signal ? { signal: ctx.signal } : {}) },
        );
        if (v.error) {
          return errorScore(name, v.error, {
            rubric: v.rubric,
            ...spendFields(v.usage),
            errorCause: v.providerTrouble ? 'provider' : 'metric',
            ...(v.heuristic ? { heuristic: true } : {}),
          });
        }
        const needsReview = v.confidence < args.reviewBelow;
        return {
          metric: name,
          value: v.winner === 'A' ? 1 : v.winner === 'B' ? 0 : 0.5,
          label: needsReview ? 'needs_review' : v.winner === 'A' ? 'win' : v.winner === 'B' ? 'loss' : 'tie',
          reason: v.reason,
          confidence: v.confidence,
          ...spendFields(v.usage),
          needsReview,
          rubric: v.rubric,
          ...(v.heuristic ? { heuristic: true } : {}),
          details: {
            winner: v.winner === 'A' ? 'output' : v.winner === 'B' ? 'baseline' : 'tie',
            swappedAgreement: v.swappedAgreement,
            orders: v.orders,
            model: judge.deps.judgeModel,
            promptVersion: JUDGE_PROMPT_VERSION,
          },
        };
      },
    };
  },
});
