// Juries and repeated sampling for the single-verdict judges (llm-judge, g-eval, boolean-judge, categorical-judge):
// the same item judged by several models (`judges`) and/or several times each (`samples`), aggregated by mean, median
// or majority, with the agreement and the spread of the verdicts on the Score. A jury averages out one model's bias
// (Verga et al. 2024, "Replacing Judges with Juries"); sampling at a temperature above 0 measures how much a judge's
// verdict varies on the same input. Gemini is sent the temperature; Claude 5 models are sent none (they reject
// non-default sampling) and sample at their default, which already varies.
import { ModelNameSchema } from '../config/index.ts';
import { z } from 'zod';
import { addScoreUsage, errorScore, spendFields, usageOf } from './score.ts';
import type { Score, ScoreUsage } from './types.ts';

/** Arguments of a judge that can sit as a jury or sample repeatedly. */
export const panelArgs = {
  judges: z
    .array(ModelNameSchema)
    .min(2, { error: 'expected at least two models for a jury (or use `model` for one)' })
    .max(10)
    .optional()
    .describe('a jury: several judge models as provider:model, aggregated (overrides `model`)'),
  samples: z
    .int()
    .min(1)
    .max(20)
    .default(1)
    .describe(
      'verdicts per judge; above 1 the judge is sampled repeatedly to measure its variance (cache off)',
    ),
  aggregate: z
    .enum(['mean', 'median', 'majority'])
    .optional()
    .describe(
      'how the verdicts combine: mean, median or majority (default: mean; majority for boolean and categorical)',
    ),
  temperature: z
    .number()
    .min(0)
    .max(2)
    .optional()
    .describe(
      'sampling temperature of the judge (default 0, or 1 when samples > 1; Claude models always sample at their default)',
    ),
};

/** How verdicts combine. */
export type Aggregate = 'mean' | 'median' | 'majority';

/** One verdict of the panel: a Score from one model's one sample, and its raw answer (a scale point or a label). */
export interface Vote {
  model: string;
  sample: number;
  score: Score;
  raw: number | string;
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/** Population standard deviation. */
export function stdDev(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / xs.length);
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The most frequent raw answer; a tie goes to the one with the lowest value (the cautious verdict). */
export function modal(votes: readonly Vote[]): { raw: number | string; count: number; value: number } {
  const counts = new Map<string, { raw: number | string; count: number; value: number }>();
  for (const v of votes) {
    const key = String(v.raw);
    const c = counts.get(key);
    if (c) c.count += 1;
    else counts.set(key, { raw: v.raw, count: 1, value: v.score.value });
  }
  return [...counts.values()].sort((a, b) => b.count - a.count || a.value - b.value)[0]!;
}

/** Plan of a panel: each model × each sample. */
export interface PanelPlan {
  metric: string;
  models: readonly string[];
  samples: number;
  aggregate: Aggregate;
}

/**
 * Runs every (model, sample) verdict and combines them. Any verdict that could not score makes the whole Score an
 * error (a jury missing a member is a different jury), with the spend of every call.
 */
export async function runPanel(
  plan: PanelPlan,
  one: (model: string, sample: number) => Promise<Vote>,
): Promise<Score> {
  const jobs: Promise<Vote>[] = [];
  for (const model of plan.models) for (let s = 0; s < plan.samples; s++) jobs.push(one(model, s));
  const votes = await Promise.all(jobs);
  let usage: ScoreUsage = usageOf(undefined);
  for (const v of votes) if (v.score.usage) usage = addScoreUsage(usage, v.score.usage);
  const heuristic = votes.some((v) => v.score.heuristic);
  const rubric = votes[0]?.score.rubric;
  const failed = votes.filter((v) => v.score.error !== undefined);
  if (failed.length > 0) {
    const provider = failed.some((f) => f.score.errorCause === 'provider');
    return errorScore(
      plan.metric,
      `${failed.length} of ${votes.length} verdicts failed: ${failed
        .slice(0, 3)
        .map((f) => `${f.model}: ${f.score.error}`)
        .join('; ')}`,
      {
        ...(rubric ? { rubric } : {}),
        errorCause: provider ? 'provider' : (failed[0]!.score.errorCause ?? 'metric'),
        ...spendFields(usage),
        ...(heuristic ? { heuristic: true } : {}),
      },
    );
  }
  const values = votes.map((v) => v.score.value);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const top = modal(votes);
  const value =
    plan.aggregate === 'majority' ? top.value : plan.aggregate === 'median' ? median(values) : mean;
  const sd = stdDev(values);
  const agreement = top.count / votes.length;
  const confidences = votes.flatMap((v) => (v.score.confidence !== undefined ? [v.score.confidence] : []));
  const confidence =
    confidences.length > 0 ? confidences.reduce((a, b) => a + b, 0) / confidences.length : undefined;
  // No strict majority (a split jury, scattered samples) is a verdict a person should look at.
  const needsReview = votes.some((v) => v.score.needsReview) || agreement <= 0.5;
  const who =
    plan.models.length > 1
      ? `Jury of ${plan.models.length} judges${plan.samples > 1 ? ` × ${plan.samples} samples` : ''}`
      : `${plan.samples} samples of ${plan.models[0]}`;
  const stripped = (r: string) =>
    r.replace(/^Heuristic estimate \(offline provider, not an LLM verdict\): /, '');
  const reason = `${heuristic ? 'Heuristic estimate (offline provider, not an LLM verdict): ' : ''}${who}: ${plan.aggregate} ${round(value)} (mean ${round(mean)}, sd ${round(sd)}, min ${round(Math.min(...values))}, max ${round(Math.max(...values))}); agreement ${top.count}/${votes.length} on ${JSON.stringify(top.raw)}. First verdict (${votes[0]!.model}): ${stripped(votes[0]!.score.reason)}`;
  const label = typeof top.raw === 'string' && plan.aggregate === 'majority' ? top.raw : undefined;
  return {
    metric: plan.metric,
    value,
    ...(needsReview ? { label: 'needs_review' } : label ? { label } : {}),
    reason,
    ...(confidence !== undefined ? { confidence } : {}),
    ...spendFields(usage),
    needsReview,
    ...(rubric ? { rubric } : {}),
    ...(heuristic ? { heuristic: true } : {}),
    details: {
      model: plan.models.join(','),
      models: [...plan.models],
      samples: plan.samples,
      aggregate: plan.aggregate,
      agreement,
      mean,
      sd,
      min: Math.min(...values),
      max: Math.max(...values),
      votes: votes.map((v) => ({
        model: v.model,
        sample: v.sample,
        raw: v.raw,
        value: v.score.value,
        reason: stripped(v.score.reason).slice(0, 300),
      })),
    },
  };
}

/** Whether a judge's arguments ask for a panel rather than one verdict. */
export function isPanel(args: { judges?: readonly string[] | undefined; samples: number }): boolean {
  return (args.judges?.length ?? 0) > 1 || args.samples > 1;
}
