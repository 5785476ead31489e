// Conversation metrics, after DeepEval's conversational metrics (each cites its page), and `goal-achieved`, the
// persona goal check as a score. They read a transcript (`output` as turns); a single-turn item counts as a
// two-turn conversation (its input, then its output), except for knowledge retention, which needs earlier turns.
import { z } from 'zod';
import {
  claimCall,
  claimJudgeArgs,
  claimMetric,
  extractStep,
  type IndexedVerdict,
  judgeStep,
  runScore,
  shareOfVerdicts,
  stepFailed,
} from './claim-run.ts';
import { listStatements } from './claims.ts';
import { callJudge, missingInput, record } from './judge-call.ts';
import { renderTranscript } from './score.ts';
import { defineMetric, type Item, type Turn } from './types.ts';

/** The item as turns: its transcript, or its input and output as one exchange. */
export function transcriptOf(item: Item): Turn[] {
  if (Array.isArray(item.output)) return item.output;
  return [
    ...(item.input.trim() ? [{ role: 'user' as const, content: item.input }] : []),
    { role: 'assistant' as const, content: item.output },
  ];
}

const assistantTurns = (turns: readonly Turn[]) =>
  turns.filter((t) => t.role === 'assistant').map((t) => t.content);

/** A string the item's metadata holds under `key`, if any. */
function metaString(item: Item, key: string): string | undefined {
  const v = item.metadata?.[key];
  return typeof v === 'string' && v.trim() ? v.trim() : undefined;
}

/** The first failing turns for a reason: `turn 2 (why); turn 5 (why)`. */
const turnList = (failing: readonly IndexedVerdict[]) =>
  failing
    .slice(0, 3)
    .map((o) => `turn ${o.index + 1} (${o.reason || o.statement.slice(0, 80)})`)
    .join('; ');

const RoleArgs = z.strictObject({
  role: z
    .string()
    .trim()
    .min(1)
    .optional()
    .describe("the assistant's role, e.g. a support agent of Acme (default: the item's metadata.role)"),
  ...claimJudgeArgs,
});

const ROLE_ADHERENCE =
  'each assistant turn judged in or out of the role; score = turns in role / assistant turns (DeepEval role adherence)';

/**
 * `role-adherence`: the share of assistant turns that stay in the assigned role. DeepEval:
 * https://deepeval.com/docs/metrics-role-adherence (turns adhering to the chatbot role / total assistant turns).
 */
export const roleAdherenceMetric = defineMetric({
  description:
    "Conversation: share of the assistant's turns that stay in its role (DeepEval role adherence); role from args or metadata.role.",
  kind: 'judge',
  args: RoleArgs,
  example: {
    role: 'A polite support agent of an online store who only discusses orders, returns and refunds.',
  },
  create: (args, deps) =>
    claimMetric('role-adherence', ROLE_ADHERENCE, args, deps, async (item, r) => {
      const role = args.role ?? metaString(item, 'role');
      if (!role)
        return missingInput(
          r.name,
          'metadata.role',
          'role adherence needs the role (set `role` in the metric args or metadata.role on the item)',
          r.rubric,
        );
      const turns = transcriptOf(item);
      const said = assistantTurns(turns);
      if (said.length === 0)
        return missingInput(r.name, 'output', 'the conversation has no assistant turn', r.rubric);
      const v = await judgeStep(r, {
        statements: said,
        relation: 'in-role',
        evidence: [['criteria', role]],
      });
      if (!v.ok) return stepFailed(r, v);
      return shareOfVerdicts(r, v.value, {
        passes: (x) => x !== 'no',
        allPass: (n) => `All ${n} assistant turns stay in the role.`,
        somePass: (s) =>
          `${s.passed} of ${s.total} assistant turns stay in the role. Out of role: ${turnList(s.failing)}.`,
        details: (s) => ({ turns: s.total, outOfRole: s.failing.map((o) => o.index + 1) }),
      });
    }),
});

const RETENTION =
  'each assistant turn judged to keep or lose what the user said before it; score = turns without attrition / assistant turns (DeepEval knowledge retention)';

/**
 * `knowledge-retention`: the share of assistant turns that do not forget what the user already said. DeepEval:
 * https://deepeval.com/docs/metrics-knowledge-retention (assistant turns without knowledge attrition / total).
 */
export const knowledgeRetentionMetric = defineMetric({
  description:
    "Conversation: share of the assistant's turns that remember what the user already said (DeepEval knowledge retention); needs a transcript.",
  kind: 'judge',
  args: z.strictObject(claimJudgeArgs),
  example: {},
  create: (args, deps) =>
    claimMetric('knowledge-retention', RETENTION, args, deps, async (item, r) => {
      if (!Array.isArray(item.output))
        return missingInput(
          r.name,
          'transcript',
          'knowledge retention needs a multi-turn conversation as the output',
          r.rubric,
        );
      const said = assistantTurns(item.output);
      if (said.length === 0)
        return missingInput(r.name, 'output', 'the conversation has no assistant turn', r.rubric);
      const v = await judgeStep(r, {
        statements: said,
        relation: 'retains',
        evidence: [['transcript', renderTranscript(item.output)]],
      });
      if (!v.ok) return stepFailed(r, v);
      return shareOfVerdicts(r, v.value, {
        passes: (x) => x !== 'no',
        allPass: (n) => `None of the ${n} assistant turns forgets what the user said.`,
        somePass: (s) =>
          `${s.passed} of ${s.total} assistant turns keep what the user said. Forgotten at: ${turnList(s.failing)}.`,
        details: (s) => ({ turns: s.total, attrition: s.failing.map((o) => o.index + 1) }),
      });
    }),
});

const COMPLETENESS =
  "the user's intentions extracted from the conversation, each judged satisfied or not; score = satisfied / all (DeepEval conversation completeness)";

/**
 * `conversation-completeness`: the share of the user's intentions the assistant satisfied. DeepEval:
 * https://deepeval.com/docs/metrics-conversation-completeness (satisfied user intentions / total user intentions).
 */
export const conversationCompletenessMetric = defineMetric({
  description:
    "Conversation: share of the user's intentions the assistant satisfied (DeepEval conversation completeness).",
  kind: 'judge',
  args: z.strictObject(claimJudgeArgs),
  example: {},
  create: (args, deps) =>
    claimMetric('conversation-completeness', COMPLETENESS, args, deps, async (item, r) => {
      const turns = transcriptOf(item);
      if (!turns.some((t) => t.role === 'user'))
        return missingInput(
          r.name,
          'input',
          'the conversation has no user turn to take intentions from',
          r.rubric,
        );
      const transcript = renderTranscript(turns);
      const intents = await extractStep(r, { transcript });
      if (!intents.ok) return stepFailed(r, intents);
      if (intents.value.length === 0)
        return runScore(r, 1, 'The user expressed no intention to satisfy.', {
          intentions: 0,
        });
      const v = await judgeStep(r, {
        statements: intents.value,
        relation: 'satisfied',
        evidence: [['transcript', transcript]],
      });
      if (!v.ok) return stepFailed(r, v);
      return shareOfVerdicts(r, v.value, {
        allPass: (n) => `All ${n} user intentions were satisfied.`,
        somePass: (s) =>
          `${s.passed} of ${s.total} user intentions were satisfied. Unmet: ${listStatements(s.failing.map((u) => u.statement))}.`,
        details: (s) => ({
          intentions: s.total,
          satisfied: s.passed,
          verdicts: v.value.map((x) => ({ intention: x.statement, verdict: x.verdict, reason: x.reason })),
        }),
      });
    }),
});

const GoalVerdict = z.object({
  achieved: z.boolean(),
  reason: z.string().default(''),
  confidence: z.number().min(0).max(1).optional(),
});

const GOAL_JSON_SCHEMA = {
  type: 'object',
  properties: {
    reason: { type: 'string', description: 'One or two sentences citing the transcript, written first.' },
    achieved: { type: 'boolean' },
    confidence: { type: 'number', description: 'How sure you are, from 0 to 1.' },
  },
  required: ['reason', 'achieved', 'confidence'],
  additionalProperties: false,
};

const GoalArgs = z.strictObject({
  goal: z
    .string()
    .trim()
    .min(1)
    .optional()
    .describe(
      "what the user wanted (default: the item's metadata.goal, which a persona's goal fills in runs)",
    ),
  ...claimJudgeArgs,
});

/**
 * `goal-achieved`: whether the user reached their goal by the end of the conversation, judged once on the whole
 * transcript after the final turn (the per-turn goal check of a run only decides when to stop). 1 achieved, 0 not.
 */
export const goalAchievedMetric = defineMetric({
  description:
    "Conversation: did the user reach their goal by the end (1) or not (0)? Goal from args or metadata.goal (a persona's goal in runs).",
  kind: 'judge',
  args: GoalArgs,
  example: { goal: 'Get a refund for a late order' },
  create: (args, deps) =>
    claimMetric(
      'goal-achieved',
      'the whole transcript judged against the goal; 1 if reached, 0 if not',
      args,
      deps,
      async (item, r) => {
        const goal = args.goal ?? metaString(item, 'goal');
        if (!goal)
          return missingInput(
            r.name,
            'metadata.goal',
            'goal-achieved needs the user goal (set `goal` in the metric args, metadata.goal on the item, or play the row with a persona)',
            r.rubric,
          );
        const reply = record(
          r.ledger,
          await callJudge(r.judge, {
            ...claimCall(r),
            role: 'You decide whether a user reached their goal in a conversation with an AI assistant.',
            blocks: [
              ['task', 'goal-check'],
              ['persona', metaString(item, 'persona')],
              ['criteria', goal],
              ['transcript', renderTranscript(transcriptOf(item))],
            ],
            instruction:
              'Decide whether, by the end of <transcript>, the user has reached the goal in <criteria>: the assistant gave what the goal needs, not merely promised it. Write your reason first.\nReply with only this JSON object: {"reason": "<one or two sentences>", "achieved": true | false, "confidence": <number from 0 to 1>}',
            schema: GoalVerdict,
            jsonSchema: GOAL_JSON_SCHEMA,
          }),
        );
        if (!reply.ok) return stepFailed(r, reply);
        const { achieved, confidence } = reply.value;
        const reason =
          reply.value.reason.trim() || (achieved ? 'The goal was reached.' : 'The goal was not reached.');
        return runScore(
          r,
          achieved ? 1 : 0,
          reason,
          { goal: goal.slice(0, 300), achieved },
          {
            label: achieved ? 'achieved' : 'not-achieved',
            ...(confidence !== undefined ? { confidence } : {}),
          },
        );
      },
    ),
});
