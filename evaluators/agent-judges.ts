// `task-completion`, after DeepEval's task completion metric (https://deepeval.com/docs/metrics-task-completion):
// the judge reads the input, the output and the tool calls the agent made (`item.toolCalls`, when the target or the
// extractor recorded them), states the task and the outcome, and scores how far the outcome achieves the task (0–1).
import { z } from 'zod';
import { claimCall, claimJudgeArgs, claimMetric, runScore, stepFailed } from './claim-run.ts';
import { callJudge, record } from './judge-call.ts';
import { renderTranscript } from './score.ts';
import { defineMetric, type Item } from './types.ts';

/** A tool call as items carry it (`toolCalls`: the calls the target made). */
export interface ToolCall {
  name: string;
  args: Record<string, unknown>;
}

/** The item's tool calls, read defensively (the field is filled by targets and extractors that record them). */
export function toolCallsOf(item: Item): ToolCall[] | undefined {
  const raw = (item as { toolCalls?: unknown }).toolCalls;
  if (!Array.isArray(raw)) return undefined;
  return raw.flatMap((c) =>
    c && typeof c === 'object' && typeof (c as ToolCall).name === 'string'
      ? [{ name: (c as ToolCall).name, args: ((c as ToolCall).args ?? {}) as Record<string, unknown> }]
      : [],
  );
}

const numberish = z.union([
  z.number(),
  z
    .string()
    .trim()
    .regex(/^\d+(?:\.\d+)?$/)
    .transform(Number),
]);

const TaskVerdict = z.object({
  task: z.string().default(''),
  outcome: z.string().default(''),
  reason: z.string(),
  score: numberish.pipe(
    z
      .number()
      .min(0, { error: 'expected a score from 0 to 1' })
      .max(1, { error: 'expected a score from 0 to 1' }),
  ),
});

const TASK_JSON_SCHEMA = {
  type: 'object',
  properties: {
    task: { type: 'string', description: 'The task the user gave, in one sentence.' },
    outcome: { type: 'string', description: 'What the agent actually did and delivered, in one sentence.' },
    reason: {
      type: 'string',
      description: 'Why the outcome does or does not achieve the task, before the score.',
    },
    score: { type: 'number', description: 'From 0 (not achieved) to 1 (fully achieved).' },
  },
  required: ['task', 'outcome', 'reason', 'score'],
  additionalProperties: false,
};

const TASK_COMPLETION =
  'the judge states the task (from the input) and the outcome (from the output and the tool calls) and scores their alignment from 0 to 1 (DeepEval task completion)';

/** `task-completion`: how far the agent's outcome (answer and tool calls) achieves the task in the input. */
export const taskCompletionMetric = defineMetric({
  description:
    'Agents: does the outcome (the answer and the tool calls made) achieve the task in the input? 0–1 (DeepEval task completion).',
  kind: 'judge',
  args: z.strictObject(claimJudgeArgs),
  example: {},
  create: (args, deps) =>
    claimMetric('task-completion', TASK_COMPLETION, args, deps, async (item, r) => {
      const calls = toolCallsOf(item);
      const reply = record(
        r.ledger,
        await callJudge(r.judge, {
          ...claimCall(r),
          role: 'You are a strict, impartial evaluator of AI agents. You judge whether an agent completed the task it was given.',
          blocks: [
            ['task', 'task-completion'],
            ['input', item.input],
            typeof item.output === 'string'
              ? ['output', item.output]
              : ['transcript', renderTranscript(item.output)],
            ['tool_calls', calls && calls.length > 0 ? JSON.stringify(calls) : undefined],
            ['reference', item.expected],
          ],
          instruction:
            'State the task the user gave in <input>, then the outcome: what the agent did (its answer, and the calls in <tool_calls> when present) and delivered. Score how fully the outcome achieves the task, from 0 (not at all) to 1 (fully). Write your reason before the score.\nReply with only this JSON object: {"task": "<one sentence>", "outcome": "<one sentence>", "reason": "<one or two sentences>", "score": <number from 0 to 1>}',
          schema: TaskVerdict,
          jsonSchema: TASK_JSON_SCHEMA,
        }),
      );
      if (!reply.ok) return stepFailed(r, reply);
      const { task, outcome, score } = reply.value;
      const reason = reply.value.reason.trim() || 'no reason given';
      return runScore(r, score, reason, {
        task: task.slice(0, 300),
        outcome: outcome.slice(0, 300),
        toolCalls: calls?.length ?? 0,
      });
    }),
});
