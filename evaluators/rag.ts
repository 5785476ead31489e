// RAG metrics, after DeepEval's and Ragas' definitions (each metric cites its page). All read the item's `context`
// (from a dataset row or a monitor extractor alike); passages in it are separated by blank lines or `---` lines.
// Claims are extracted and judged by the judge model, one verdict per claim, and the formula runs here, so the same
// verdicts always give the same score. Every score is "higher is better" (hallucination is reported as 1 − rate).
import { z } from 'zod';
import {
  claimJudgeArgs,
  claimMetric,
  extractStep,
  judgeStep,
  runScore,
  shareOfVerdicts,
  stepFailed,
  type VerdictShare,
} from './claim-run.ts';
import { listStatements, splitPassages, splitSentences, type StatementVerdict } from './claims.ts';
import { missingInput, presentText } from './judge-call.ts';
import { outputText } from './score.ts';
import { defineMetric } from './types.ts';

const ClaimArgs = z.strictObject(claimJudgeArgs);

const verdictDetails = (vs: readonly StatementVerdict[]) =>
  vs.map((v) => ({
    statement: v.statement.slice(0, 300),
    verdict: v.verdict,
    reason: v.reason.slice(0, 300),
  }));

const FAITHFULNESS =
  'claims extracted from the output, each checked against the context; score = supported claims / all claims (Ragas faithfulness)';

/**
 * `faithfulness`: the share of the output's claims the context supports. Ragas:
 * https://docs.ragas.io/en/stable/concepts/metrics/available_metrics/faithfulness/ ("number of claims in the
 * response supported by the retrieved context / total number of claims"); DeepEval:
 * https://deepeval.com/docs/metrics-faithfulness. An output with no claims scores 1, as DeepEval does.
 */
export const faithfulnessMetric = defineMetric({
  description:
    'RAG: share of the claims in the output that the context supports (Ragas/DeepEval faithfulness); needs context.',
  kind: 'judge',
  args: ClaimArgs,
  example: {},
  create: (args, deps) =>
    claimMetric('faithfulness', FAITHFULNESS, args, deps, async (item, r) => {
      const context = presentText(item.context);
      if (!context)
        return missingInput(
          r.name,
          'context',
          'faithfulness checks every claim of the output against it',
          r.rubric,
        );
      const claims = await extractStep(r, { text: outputText(item), input: item.input });
      if (!claims.ok) return stepFailed(r, claims);
      if (claims.value.length === 0)
        return runScore(r, 1, 'The output makes no claims, so none is unsupported.', {
          claims: 0,
        });
      const v = await judgeStep(r, {
        statements: claims.value,
        relation: 'supported',
        evidence: [['context', context]],
      });
      if (!v.ok) return stepFailed(r, v);
      return shareOfVerdicts(r, v.value, {
        allPass: (n) => `All ${n} claims of the output are supported by the context.`,
        somePass: (s) =>
          `${s.passed} of ${s.total} claims are supported by the context. Unsupported: ${listStatements(s.failing.map((u) => u.statement))}.`,
        details: (s) => ({ claims: s.total, supported: s.passed, verdicts: verdictDetails(v.value) }),
      });
    }),
});

const ANSWER_RELEVANCY =
  'statements extracted from the output, each judged relevant to the input or not; score = relevant (yes or idk) / all (DeepEval answer relevancy)';

/**
 * `answer-relevancy`: the share of the output's statements that address the input. DeepEval:
 * https://deepeval.com/docs/metrics-answer-relevancy (relevant statements / total, "idk" counting as relevant).
 * Ragas' variant generates questions and compares embeddings; the statement form needs no embedding model.
 */
export const answerRelevancyMetric = defineMetric({
  description:
    "RAG: share of the output's statements that are relevant to the input (DeepEval answer relevancy).",
  kind: 'judge',
  args: ClaimArgs,
  example: {},
  create: (args, deps) =>
    claimMetric('answer-relevancy', ANSWER_RELEVANCY, args, deps, async (item, r) => {
      if (!item.input.trim())
        return missingInput(
          r.name,
          'input',
          'answer relevancy judges the output against the question',
          r.rubric,
        );
      const st = await extractStep(r, { text: outputText(item) });
      if (!st.ok) return stepFailed(r, st);
      if (st.value.length === 0)
        return runScore(r, 0, 'The output makes no statements, so nothing in it addresses the input.', {
          statements: 0,
        });
      const v = await judgeStep(r, {
        statements: st.value,
        relation: 'relevant',
        evidence: [['input', item.input]],
      });
      if (!v.ok) return stepFailed(r, v);
      return shareOfVerdicts(r, v.value, {
        passes: (x) => x !== 'no',
        allPass: (n) => `All ${n} statements of the output address the input.`,
        somePass: (s) =>
          `${s.passed} of ${s.total} statements address the input. Irrelevant: ${listStatements(s.failing.map((u) => u.statement))}.`,
        details: (s) => ({ statements: s.total, relevant: s.passed, verdicts: verdictDetails(v.value) }),
      });
    }),
});

const CONTEXT_PRECISION =
  'each context passage judged useful for the expected answer (else the output), in order; score = weighted cumulative precision: sum over useful passages k of (useful passages in the top k / k), divided by the number of useful passages';

/**
 * `context-precision`: whether the useful passages come first. DeepEval contextual precision,
 * https://deepeval.com/docs/metrics-contextual-precision (weighted cumulative precision against the expected
 * output); without an expected answer the output stands in, as Ragas' LLMContextPrecisionWithoutReference does
 * (https://docs.ragas.io/en/stable/concepts/metrics/available_metrics/context_precision/).
 */
export const contextPrecisionMetric = defineMetric({
  description:
    'RAG: are the context passages useful for the expected answer (else the output) ranked first? Weighted cumulative precision; needs context.',
  kind: 'judge',
  args: ClaimArgs,
  example: {},
  create: (args, deps) =>
    claimMetric('context-precision', CONTEXT_PRECISION, args, deps, async (item, r) => {
      const context = presentText(item.context);
      if (!context)
        return missingInput(r.name, 'context', 'context precision judges each passage of it', r.rubric);
      const passages = splitPassages(context);
      const reference = presentText(item.expected);
      const against = reference ? 'expected' : 'output';
      const v = await judgeStep(r, {
        statements: passages,
        relation: 'useful',
        evidence: [
          ['input', item.input],
          ['reference', reference ?? outputText(item)],
        ],
      });
      if (!v.ok) return stepFailed(r, v);
      let useful = 0;
      let sum = 0;
      v.value.forEach((x, k) => {
        if (x.verdict !== 'yes') return;
        useful += 1;
        sum += useful / (k + 1);
      });
      const score = useful === 0 ? 0 : sum / useful;
      const ranks = v.value.flatMap((x, k) => (x.verdict === 'yes' ? [k + 1] : []));
      const reason =
        useful === 0
          ? `None of the ${passages.length} passages is useful for the ${against === 'expected' ? 'expected answer' : 'output'}.`
          : `${useful} of ${passages.length} passages are useful for the ${against === 'expected' ? 'expected answer' : 'output'}, at ranks ${ranks.join(', ')}.`;
      return runScore(r, score, reason, {
        passages: passages.length,
        useful,
        against,
        verdicts: verdictDetails(v.value),
      });
    }),
});

const CONTEXT_RECALL =
  'each sentence of the expected answer judged attributable to the context or not; score = attributable / all (Ragas context recall)';

/**
 * `context-recall`: the share of the expected answer the context covers. Ragas:
 * https://docs.ragas.io/en/stable/concepts/metrics/available_metrics/context_recall/ (reference claims supported by
 * the retrieved context / all reference claims); DeepEval: https://deepeval.com/docs/metrics-contextual-recall.
 */
export const contextRecallMetric = defineMetric({
  description:
    'RAG: share of the sentences of the expected answer that the context supports (Ragas context recall); needs context and expected.',
  kind: 'judge',
  args: ClaimArgs,
  example: {},
  create: (args, deps) =>
    claimMetric('context-recall', CONTEXT_RECALL, args, deps, async (item, r) => {
      const context = presentText(item.context);
      if (!context)
        return missingInput(
          r.name,
          'context',
          'context recall checks the expected answer against it',
          r.rubric,
        );
      const expected = presentText(item.expected);
      if (!expected)
        return missingInput(
          r.name,
          'expected',
          'context recall needs the reference answer to look for in the context',
          r.rubric,
        );
      const sentences = splitSentences(expected);
      const v = await judgeStep(r, {
        statements: sentences,
        relation: 'supported',
        evidence: [['context', context]],
      });
      if (!v.ok) return stepFailed(r, v);
      return shareOfVerdicts(r, v.value, {
        allPass: (n) => `All ${n} sentences of the expected answer are supported by the context.`,
        somePass: (s) =>
          `${s.passed} of ${s.total} sentences of the expected answer are supported by the context. Not found: ${listStatements(s.failing.map((m) => m.statement))}.`,
        details: (s) => ({ sentences: s.total, attributed: s.passed, verdicts: verdictDetails(v.value) }),
      });
    }),
});

const CONTEXT_RELEVANCY =
  'each sentence of the context judged relevant to the input or not; score = relevant / all (DeepEval contextual relevancy)';

/**
 * `context-relevancy`: the share of the context that bears on the input. DeepEval contextual relevancy:
 * https://deepeval.com/docs/metrics-contextual-relevancy (relevant statements / total statements in the retrieval
 * context). The context's sentences are the statements (split here, not by the judge: one call per item).
 */
export const contextRelevancyMetric = defineMetric({
  description:
    'RAG: share of the sentences of the context that are relevant to the input (DeepEval contextual relevancy); needs context.',
  kind: 'judge',
  args: ClaimArgs,
  example: {},
  create: (args, deps) =>
    claimMetric('context-relevancy', CONTEXT_RELEVANCY, args, deps, async (item, r) => {
      const context = presentText(item.context);
      if (!context)
        return missingInput(r.name, 'context', 'context relevancy judges its sentences', r.rubric);
      const sentences = splitSentences(context);
      const v = await judgeStep(r, {
        statements: sentences,
        relation: 'relevant',
        evidence: [['input', item.input]],
      });
      if (!v.ok) return stepFailed(r, v);
      return shareOfVerdicts(r, v.value, {
        passes: (x) => x !== 'no',
        allPass: (n) => `All ${n} sentences of the context are relevant to the input.`,
        somePass: (s) =>
          `${s.passed} of ${s.total} sentences of the context are relevant to the input. Irrelevant: ${listStatements(s.failing.map((x) => x.statement))}.`,
        details: (s) => ({ sentences: s.total, relevant: s.passed, verdicts: verdictDetails(v.value) }),
      });
    }),
});

const HALLUCINATION =
  'each context passage judged agreed with or contradicted by the output; hallucination rate = contradicted passages / all passages; score = 1 - rate (DeepEval hallucination)';

/**
 * `hallucination`: contradictions between the output and the context. DeepEval:
 * https://deepeval.com/docs/metrics-hallucination (number of contradicted contexts / total contexts, lower is better).
 * Reported as 1 − that rate so that, like every other score, higher is better and a threshold gates from below.
 */
export const hallucinationMetric = defineMetric({
  description:
    'RAG: 1 − the share of context passages the output contradicts (DeepEval hallucination, inverted so higher is better); needs context.',
  kind: 'judge',
  args: ClaimArgs,
  example: {},
  create: (args, deps) =>
    claimMetric('hallucination', HALLUCINATION, args, deps, async (item, r) => {
      const context = presentText(item.context);
      if (!context)
        return missingInput(r.name, 'context', 'hallucination looks for contradictions with it', r.rubric);
      const passages = splitPassages(context);
      const v = await judgeStep(r, {
        statements: passages,
        relation: 'agrees',
        evidence: [['output', outputText(item)]],
      });
      if (!v.ok) return stepFailed(r, v);
      // The score is the share of passages the output does not contradict: 1 − the hallucination rate.
      const rate = (s: VerdictShare) => s.failing.length / s.total;
      return shareOfVerdicts(r, v.value, {
        passes: (x) => x !== 'no',
        allPass: (n) => `The output contradicts none of the ${n} context passages.`,
        somePass: (s) =>
          `The output contradicts ${s.failing.length} of ${s.total} context passages (hallucination rate ${rate(s).toFixed(2)}): ${s.failing
            .slice(0, 3)
            .map((c) => c.reason || c.statement.slice(0, 100))
            .join('; ')}.`,
        details: (s) => ({
          passages: s.total,
          contradicted: s.failing.length,
          hallucinationRate: rate(s),
          verdicts: verdictDetails(v.value),
        }),
      });
    }),
});
