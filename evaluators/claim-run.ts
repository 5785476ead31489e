// One scoring of a claim-based judge metric (RAG, conversation, agent and red-team judges): the resolved judge, the
// fixed rubric and the ledger of the item's calls, and the steps every such metric is made of, each bound to the
// run, so that a metric states only its statements, relation, evidence and formula.
import { z } from 'zod';
import { ModelNameSchema } from '../config/index.ts';
import type { Effort, JudgeTag } from '../llm/index.ts';
import {
  extractStatements,
  judgeStatements,
  type Relation,
  type StatementVerdict,
  type Verdict,
} from './claims.ts';
import {
  type CallLedger,
  fixedRubric,
  type JudgeReply,
  judgedScore,
  newLedger,
  record,
  replyError,
} from './judge-call.ts';
import { JUDGE_EFFORT, resolveJudge, unavailableJudge } from './llm-judge.ts';
import type { Item, JudgeDeps, Metric, MetricDeps, RubricRef, Score } from './types.ts';

/** Arguments every claim-based judge takes. */
export const claimJudgeArgs = {
  model: ModelNameSchema.optional().describe('judge model as provider:model (default: ARBITER_JUDGE_MODEL)'),
  effort: z
    .enum(['low', 'medium', 'high'])
    .default(JUDGE_EFFORT)
    .describe('how much the judge model may think before answering: low (default), medium or high'),
};

/** What a claim-based metric's scoring function gets. */
export interface ClaimRun {
  name: string;
  judge: JudgeDeps;
  model: string;
  effort: Effort;
  rubric: RubricRef;
  ledger: CallLedger;
  signal?: AbortSignal;
}

/** Builds a judge metric whose scoring function gets a fresh ledger and the resolved judge for each item. */
export function claimMetric(
  name: string,
  definition: string,
  args: { model?: string | undefined; effort: Effort },
  deps: MetricDeps,
  run: (item: Item, r: ClaimRun) => Promise<Score>,
): Metric {
  const judge = resolveJudge(deps, args.model);
  if (!judge.ok) return unavailableJudge(name, judge.error);
  const rubric = fixedRubric(`${name}: ${definition}`);
  return {
    name,
    kind: 'judge',
    score: (item, ctx) =>
      run(item, {
        name,
        judge: judge.deps,
        model: judge.deps.judgeModel,
        effort: args.effort,
        rubric,
        ledger: newLedger(),
        ...(ctx?.signal ? { signal: ctx.signal } : {}),
      }),
  };
}

/** The judge call options of a run (metric, model, effort, abort signal), as every judge call takes them. */
export const claimCall = (r: ClaimRun) => ({
  metric: r.name,
  model: r.model,
  effort: r.effort,
  ...(r.signal ? { signal: r.signal } : {}),
});

/** The error Score of a failed step of the run, with the spend of its calls so far. */
export function stepFailed(r: ClaimRun, reply: Parameters<typeof replyError>[1]): Score {
  return replyError(r.name, reply, r.rubric, r.ledger, r.model);
}

/** The run's judged Score: value and reason, with its model, rubric, spend and the metric's details. */
export function runScore(
  r: ClaimRun,
  value: number,
  reason: string,
  details?: Record<string, unknown>,
  extra?: Partial<Score>,
): Score {
  return judgedScore(r.name, value, reason, r.rubric, r.ledger, r.model, details, extra);
}

/** Extracts the statements of a text (or the user's intentions in a transcript), the call recorded on the run. */
export async function extractStep(
  r: ClaimRun,
  from: { text?: string; transcript?: string; input?: string },
): Promise<JudgeReply<string[]>> {
  return record(r.ledger, await extractStatements(r.judge, { ...claimCall(r), ...from }));
}

/** What one verdict per statement is asked about. */
export interface VerdictAsk {
  statements: readonly string[];
  relation: Relation;
  evidence: readonly [JudgeTag, string | undefined][];
}

/** Asks one verdict per statement, the call recorded on the run. */
export async function judgeStep(r: ClaimRun, ask: VerdictAsk): Promise<JudgeReply<StatementVerdict[]>> {
  return record(r.ledger, await judgeStatements(r.judge, { ...claimCall(r), ...ask }));
}

/** A verdict with its statement's place in the judged list (0-based). */
export type IndexedVerdict = StatementVerdict & { index: number };

/** The count behind a share-of-verdicts score: statements judged, those that passed, and the failing ones in order. */
export interface VerdictShare {
  total: number;
  passed: number;
  failing: IndexedVerdict[];
}

/** How a share of verdicts is scored and told: which verdict passes (`yes` by default), the reasons and the details. */
export interface ShareSpec {
  passes?: (verdict: Verdict) => boolean;
  allPass: (total: number) => string;
  somePass: (share: VerdictShare) => string;
  details: (share: VerdictShare) => Record<string, unknown>;
}

/**
 * The score most claim-based metrics give: the share of judged statements whose verdict passes (`yes` by default),
 * with a reason for "all pass" and for "some fail" and the metric's details. A list with no verdict is an error on
 * the item (cause `metric`), never a 0: there is no share of nothing.
 */
export function shareOfVerdicts(r: ClaimRun, verdicts: readonly StatementVerdict[], spec: ShareSpec): Score {
  if (verdicts.length === 0)
    return stepFailed(r, {
      error: 'nothing was judged: the item gave no statement to judge, so there is no share to score',
      cause: 'metric',
    });
  const passes = spec.passes ?? ((v: Verdict) => v === 'yes');
  const failing = verdicts.flatMap((v, index) => (passes(v.verdict) ? [] : [{ ...v, index }]));
  const share: VerdictShare = { total: verdicts.length, passed: verdicts.length - failing.length, failing };
  const reason = failing.length === 0 ? spec.allPass(share.total) : spec.somePass(share);
  return runScore(r, share.passed / share.total, reason, spec.details(share));
}
