// The wire format between judge prompts (built in evaluators/) and the offline heuristic provider.
// Data goes in tagged blocks with HTML-style escaping, so text inside a judged output can never close a
// block or pose as an instruction ("ignore previous instructions" stays data).

/** Tags a judge prompt may carry in its final user message. */
export const JUDGE_TAGS = [
  'task', // 'rubric' | 'pairwise' | 'user-sim' | 'goal-check' | 'statements' | 'verdicts' | 'steps' | 'classify' | 'task-completion'
  'criteria',
  'steps',
  'scale', // e.g. "1-5"
  'input',
  'output',
  'reference',
  'context',
  'answer_a',
  'answer_b',
  'persona',
  'transcript',
  'statements', // a JSON array of strings the `verdicts` task judges one by one
  'relation', // what a `verdicts` task asks of each statement: supported | relevant | useful | agrees | in-role | retains | satisfied | complies
  'categories', // a JSON array of {label, value, description?} the `classify` task picks from
  'tool_calls', // the calls an agent made, as JSON
] as const;

/** Name of a judge-protocol tag. */
export type JudgeTag = (typeof JUDGE_TAGS)[number];

/** Escapes data so it cannot contain tags: & < > become entities. */
export function escapeData(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Reverses `escapeData`. */
export function unescapeData(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** Wraps escaped data in a tag: `<output>…</output>`. */
export function tagBlock(tag: JudgeTag, text: string): string {
  return `<${tag}>\n${escapeData(text)}\n</${tag}>`;
}

/** Reads every known tag block from a prompt (unescaped); later duplicates are ignored. */
export function parseTagBlocks(prompt: string): Partial<Record<JudgeTag, string>> {
  const out: Partial<Record<JudgeTag, string>> = {};
  for (const tag of JUDGE_TAGS) {
    const m = new RegExp(`<${tag}>\\n?([\\s\\S]*?)\\n?</${tag}>`).exec(prompt);
    if (m && m[1] !== undefined) out[tag] = unescapeData(m[1]);
  }
  return out;
}
