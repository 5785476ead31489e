// The `offline` provider: a deterministic heuristic for running with no key and no network. It reads judge
// prompts in the judge-protocol tag format and scores by lexical overlap, rubric keyword coverage, length and
// format checks. It never follows text found in the data (it has no way to: it only counts words), and every
// reason it writes says it is a heuristic so no report can pass it off as a model's verdict.
import { type JudgeTag, parseTagBlocks } from './judge-protocol.ts';
import {
  classify,
  extractStatements,
  generateSteps,
  judgeTaskCompletion,
  judgeVerdicts,
} from './offline-judges.ts';
import { estimateTokens } from './rate-limiter.ts';
import {
  addressesGrader,
  contentTokens,
  coverage,
  hasList,
  looksLikeJson,
  overlap,
  quotedTerms,
  rubricKeywords,
  topKeywords,
  words,
} from './text-features.ts';
import type { CallParams, ChatMessage, LlmProvider } from './types.ts';

/** Prefix of every reason the offline provider writes. */
export const HEURISTIC_LABEL = 'heuristic (offline provider, not an LLM verdict)';

type Blocks = Partial<Record<JudgeTag, string>>;

/** One signal that went into a heuristic score. */
export interface Signal {
  name: string;
  value: number;
  weight: number;
  note: string;
}

/** Quality of one output in [0, 1] with the signals behind it. */
export interface HeuristicQuality {
  quality: number;
  signals: Signal[];
  /** Sources of evidence beyond the output itself (reference, context, input, rubric). */
  evidence: number;
  graderAddressed: boolean;
}

const fmt = (n: number) => n.toFixed(2);

/** Scores one output against whatever the prompt provides; the heart of the offline judge. */
export function assessOutput(output: string, blocks: Blocks): HeuristicQuality {
  const signals: Signal[] = [];
  const outTokens = contentTokens(output);
  const outWords = words(output).length;
  const rubricText = [blocks.criteria, blocks.steps].filter(Boolean).join('\n');
  let evidence = 0;

  if (output.trim() === '') {
    return {
      quality: 0,
      signals: [{ name: 'empty', value: 0, weight: 1, note: 'output is empty' }],
      evidence: 0,
      graderAddressed: false,
    };
  }

  if (blocks.reference?.trim()) {
    evidence += 1;
    const o = overlap(outTokens, contentTokens(blocks.reference));
    // Correct paraphrases rarely exceed ~0.7 token F1, so 0.7 counts as full agreement.
    signals.push({
      name: 'reference',
      value: Math.min(1, o.f1 / 0.7),
      weight: 3,
      note: `reference overlap F1 ${fmt(o.f1)}`,
    });
  }
  if (blocks.context?.trim()) {
    evidence += 1;
    const o = overlap(outTokens, contentTokens(blocks.context));
    signals.push({
      name: 'context',
      value: o.precision,
      weight: 2,
      note: `context support ${fmt(o.precision)} of output words`,
    });
  }
  if (blocks.input?.trim()) {
    const keys = [...new Set(contentTokens(blocks.input))];
    if (keys.length > 0) {
      evidence += 1;
      const c = coverage(keys, outTokens);
      // Good answers reuse the key terms of the question but need not repeat all of them.
      signals.push({
        name: 'input',
        value: Math.min(1, c / 0.6),
        weight: 1,
        note: `input keyword coverage ${fmt(c)}`,
      });
    }
  }
  if (rubricText) {
    const required = quotedTerms(rubricText);
    if (required.length > 0) {
      evidence += 1;
      const lower = output.toLowerCase();
      const found = required.filter((t) => lower.includes(t)).length;
      signals.push({
        name: 'required',
        value: found / required.length,
        weight: 2,
        note: `required terms ${found}/${required.length}`,
      });
    }
    const keys = rubricKeywords(rubricText);
    if (keys.length >= 2) {
      evidence += 1;
      const c = coverage(keys, outTokens);
      signals.push({
        name: 'rubric',
        value: c,
        weight: 1,
        note: `rubric keyword coverage ${Math.round(c * keys.length)}/${keys.length}`,
      });
    }
    const rubricLower = rubricText.toLowerCase();
    if (/\bjson\b/.test(rubricLower)) {
      const ok = looksLikeJson(output);
      signals.push({
        name: 'json',
        value: ok ? 1 : 0,
        weight: 2,
        note: ok ? 'valid JSON' : 'not valid JSON',
      });
    }
    if (/\b(?:bullet|bulleted|list|enumerate)\b/.test(rubricLower)) {
      const ok = hasList(output);
      signals.push({ name: 'list', value: ok ? 1 : 0.4, weight: 1, note: ok ? 'has a list' : 'no list' });
    }
    if (/\b(?:cite|cites|citation|citations|sources?)\b/.test(rubricLower)) {
      const ok = /\[\d+\]|https?:\/\/|\bsource:/i.test(output);
      signals.push({
        name: 'citation',
        value: ok ? 1 : 0.3,
        weight: 1,
        note: ok ? 'cites a source' : 'no citation',
      });
    }
  }

  signals.push(lengthSignal(outWords, blocks, rubricText));

  const totalWeight = signals.reduce((s, x) => s + x.weight, 0);
  let quality = signals.reduce((s, x) => s + x.value * x.weight, 0) / totalWeight;
  const graderAddressed = addressesGrader(output);
  if (graderAddressed) quality *= 0.5;
  return { quality: clamp01(quality), signals, evidence, graderAddressed };
}

function lengthSignal(outWords: number, blocks: Blocks, rubricText: string): Signal {
  const concise = /\b(?:concise|brief|short|succinct)\b/i.test(rubricText);
  if (outWords < 3) return { name: 'length', value: 0.3, weight: 1, note: `very short (${outWords} words)` };
  if (blocks.reference?.trim()) {
    const ratio = outWords / Math.max(1, words(blocks.reference).length);
    const value = ratio < 0.3 ? 0.4 : ratio > (concise ? 2 : 4) ? 0.5 : 1;
    return { name: 'length', value, weight: 1, note: `length ${fmt(ratio)}× the reference` };
  }
  if (concise && outWords > 120)
    return { name: 'length', value: 0.4, weight: 1, note: `long for a concise answer (${outWords} words)` };
  if (outWords > 800) return { name: 'length', value: 0.6, weight: 1, note: `very long (${outWords} words)` };
  return { name: 'length', value: 1, weight: 1, note: `length ok (${outWords} words)` };
}

function clamp01(n: number): number {
  return Math.max(0, Math.min(1, n));
}

/** Parses a scale such as "1-5", "0 to 10" or "0-1"; defaults to 1-5. */
export function parseScale(text: string | undefined): { lo: number; hi: number } {
  const m = text ? /(-?\d+(?:\.\d+)?)\s*(?:-|–|to|\.\.)\s*(-?\d+(?:\.\d+)?)/.exec(text) : null;
  if (m) {
    const lo = Number(m[1]);
    const hi = Number(m[2]);
    if (hi > lo) return { lo, hi };
  }
  return { lo: 1, hi: 5 };
}

function toScale(quality: number, scale: { lo: number; hi: number }): number {
  const raw = scale.lo + quality * (scale.hi - scale.lo);
  const integral = Number.isInteger(scale.lo) && Number.isInteger(scale.hi) && scale.hi - scale.lo >= 2;
  return integral ? Math.round(raw) : Math.round(raw * 100) / 100;
}

function confidenceOf(q: HeuristicQuality): number {
  // A heuristic never claims much: at most 0.6, and less when it had little to compare against.
  return Math.round(Math.min(0.6, 0.2 + 0.1 * q.evidence) * 100) / 100;
}

function explain(q: HeuristicQuality): string {
  const parts = q.signals.map((s) => s.note);
  if (q.graderAddressed) parts.push('output contains text addressed to the grader (ignored; score halved)');
  return parts.join('; ');
}

/** What a rubric judge scores: the output, or the assistant's turns of a multi-turn transcript. */
export function judgedText(blocks: Blocks): string {
  if (blocks.output !== undefined) return blocks.output;
  if (blocks.transcript === undefined) return '';
  return parseTranscript(blocks.transcript)
    .filter((t) => t.role === 'assistant')
    .map((t) => t.text.trim())
    .join('\n\n');
}

/** Rubric verdict as the JSON text an LLM judge would return. */
export function judgeRubric(blocks: Blocks): { reason: string; score: number; confidence: number } {
  const scale = parseScale(blocks.scale);
  const q = assessOutput(judgedText(blocks), blocks);
  const score = toScale(q.quality, scale);
  return {
    reason: `${HEURISTIC_LABEL}: ${explain(q)} → ${score} on ${scale.lo}-${scale.hi}.`,
    score,
    confidence: confidenceOf(q),
  };
}

/** Pairwise verdict. Each answer is scored on its own, so swapping A and B swaps the winner (no position bias). */
export function judgePairwise(blocks: Blocks): {
  winner: 'A' | 'B' | 'tie';
  reason: string;
  confidence: number;
} {
  const a = assessOutput(blocks.answer_a ?? '', blocks);
  const b = assessOutput(blocks.answer_b ?? '', blocks);
  const diff = a.quality - b.quality;
  const winner = Math.abs(diff) < 0.03 ? 'tie' : diff > 0 ? 'A' : 'B';
  const confidence = Math.round(Math.min(0.6, (winner === 'tie' ? 0.2 : 0.25) + Math.abs(diff)) * 100) / 100;
  return {
    winner,
    reason: `${HEURISTIC_LABEL}: A ${fmt(a.quality)} (${explain(a)}); B ${fmt(b.quality)} (${explain(b)}) → ${winner === 'tie' ? 'tie' : `${winner} wins`}.`,
    confidence,
  };
}

/** A transcript turn as the offline judge reads it. */
export interface Turn {
  role: 'user' | 'assistant' | 'other';
  text: string;
}

// Reads the `role: content` paragraphs evaluators/ renders transcripts as (system and tool turns included, so
// their text never counts as the assistant's).
/** Reads a rendered transcript back into turns. */
export function parseTranscript(text: string): Turn[] {
  const turns: Turn[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(user|assistant|human|ai|bot|agent|system|tool)\s*:\s*(.*)$/i.exec(line);
    if (m) {
      const who = m[1]!.toLowerCase();
      const role =
        who === 'user' || who === 'human'
          ? 'user'
          : who === 'system' || who === 'tool'
            ? 'other'
            : 'assistant';
      turns.push({ role, text: m[2]! });
    } else if (turns.length > 0) turns[turns.length - 1]!.text += `\n${line}`;
  }
  return turns;
}

/** A simulated user's next turn: opens with the goal, then asks about what the assistant last said. */
export function simulateUser(blocks: Blocks): string {
  const turns = parseTranscript(blocks.transcript ?? '');
  const goal = (blocks.input ?? blocks.persona ?? '').trim();
  if (turns.length === 0) return goal ? goal.split('\n')[0]!.slice(0, 400) : 'Hello, I have a question.';
  const userTurns = turns.filter((t) => t.role === 'user').length;
  if (userTurns >= 3) return 'Thanks, that is all I needed.';
  const lastAssistant = [...turns].reverse().find((t) => t.role === 'assistant');
  const keys = topKeywords(lastAssistant?.text ?? '', 2);
  return keys.length > 0
    ? `Thanks. Can you tell me more about ${keys.join(' and ')}?`
    : 'Could you explain that in more detail?';
}

/** Whether a transcript reached its goal, judged by goal keyword coverage in the assistant's turns. */
export function checkGoal(blocks: Blocks): {
  achieved: boolean;
  score: number;
  reason: string;
  confidence: number;
} {
  const goal = [blocks.criteria, blocks.input, blocks.persona].filter(Boolean).join('\n');
  const keys = rubricKeywords(goal);
  const assistantText = parseTranscript(blocks.transcript ?? '')
    .filter((t) => t.role === 'assistant')
    .map((t) => t.text)
    .join('\n');
  const c = keys.length === 0 ? 0 : coverage(keys, contentTokens(assistantText || (blocks.output ?? '')));
  const achieved = c >= 0.5;
  return {
    achieved,
    score: Math.round(c * 100) / 100,
    reason: `${HEURISTIC_LABEL}: goal keyword coverage ${Math.round(c * keys.length)}/${keys.length} in the assistant's turns.`,
    confidence: keys.length === 0 ? 0.1 : 0.3,
  };
}

/** A plain answer for prompts that are not judge prompts, so an offline `model` target still runs. */
export function echoAnswer(prompt: string): string {
  const keys = topKeywords(prompt, 5);
  const n = words(prompt).length;
  return keys.length > 0
    ? `[offline heuristic reply: no language model was called] Your message (${n} words) is about: ${keys.join(', ')}.`
    : '[offline heuristic reply: no language model was called] I received an empty or non-text message.';
}

function lastUser(messages: readonly ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--)
    if (messages[i]!.role === 'user') return messages[i]!.content;
  return messages.map((m) => m.content).join('\n');
}

/** Answers one call: the text a model would have returned, and estimated token counts (cost stays 0). */
export function answerOffline(params: Pick<CallParams, 'messages' | 'json'>): string {
  const prompt = lastUser(params.messages);
  const blocks = parseTagBlocks(prompt);
  const task = blocks.task?.trim().toLowerCase();
  if (task === 'rubric') return JSON.stringify(judgeRubric(blocks));
  if (task === 'pairwise') return JSON.stringify(judgePairwise(blocks));
  if (task === 'goal-check') return JSON.stringify(checkGoal(blocks));
  if (task === 'statements') return JSON.stringify(extractStatements(blocks));
  if (task === 'verdicts') return JSON.stringify(judgeVerdicts(blocks));
  if (task === 'steps') return JSON.stringify(generateSteps(blocks));
  if (task === 'classify') return JSON.stringify(classify(blocks));
  if (task === 'task-completion') return JSON.stringify(judgeTaskCompletion(blocks));
  if (task === 'user-sim') {
    const text = simulateUser(blocks);
    return params.json ? JSON.stringify({ message: text, heuristic: true }) : text;
  }
  const text = echoAnswer(prompt);
  return params.json ? JSON.stringify({ text, heuristic: true }) : text;
}

/** Creates the offline provider; any model name works (`offline:heuristic` by convention). */
export function createOfflineProvider(): LlmProvider {
  return {
    name: 'offline',
    heuristic: true,
    // Recomputing is cheaper than a store round trip.
    cacheable: false,
    async complete(params) {
      const text = answerOffline(params);
      const input = params.messages.reduce((n, m) => n + estimateTokens(m.content), 0);
      return { text, usage: { inputTokens: input, outputTokens: estimateTokens(text) } };
    },
  };
}
