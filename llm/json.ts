// Reading JSON out of model text: models wrap it in code fences or prose, so we look for the object before
// calling the output malformed, and we say exactly what was wrong when asking for a repair.
import type { z } from 'zod';
import type { ChatMessage } from './types.ts';

/** The first JSON value found in text: the whole text, a fenced block, or the first balanced {…}/[…]. */
export function extractJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, error: 'the reply is empty' };
  const attempts: string[] = [trimmed];
  const fence = /```(?:json|JSON)?\s*\n?([\s\S]*?)```/.exec(trimmed);
  if (fence?.[1]) attempts.push(fence[1].trim());
  const balanced = firstBalanced(trimmed);
  if (balanced) attempts.push(balanced);
  let lastError = 'no JSON object found in the reply';
  for (const candidate of attempts) {
    try {
      return { ok: true, value: JSON.parse(candidate) };
    } catch (err) {
      lastError = `invalid JSON: ${(err as Error).message}`;
    }
  }
  return { ok: false, error: lastError };
}

// Scans for the first { or [ and its matching close, skipping brackets inside strings.
function firstBalanced(text: string): string | undefined {
  const start = text.search(/[{[]/);
  if (start < 0) return undefined;
  const stack: string[] = [];
  let inString = false;
  let escaped = false;
  for (let i = start; i < text.length; i++) {
    const ch = text[i]!;
    if (inString) {
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') stack.push(ch === '{' ? '}' : ']');
    else if (ch === '}' || ch === ']') {
      if (stack.pop() !== ch) return undefined;
      if (stack.length === 0) return text.slice(start, i + 1);
    }
  }
  return undefined;
}

/** Parses and validates; the error names the failing fields in a way a model can act on. */
export function parseJsonReply<S extends z.ZodType>(
  text: string,
  schema: S,
): { ok: true; value: z.infer<S> } | { ok: false; error: string } {
  const json = extractJson(text);
  if (!json.ok) return json;
  const parsed = schema.safeParse(json.value);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issues = parsed.error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
  return { ok: false, error: `JSON does not match the expected shape: ${issues}` };
}

/**
 * The conversation for the single repair attempt: the bad reply and what was wrong with it. An empty reply is not
 * echoed back (the Anthropic API answers 400 to an empty message): the model is told it sent nothing instead.
 */
export function repairMessages(
  messages: readonly ChatMessage[],
  badReply: string,
  error: string,
): ChatMessage[] {
  const ask = 'Reply again with only the corrected JSON object: no prose, no code fences.';
  if (badReply.trim() === '') {
    return [
      ...messages,
      {
        role: 'user',
        content: `Your previous reply was empty, so it could not be used. ${ask.replace('corrected ', '')}`,
      },
    ];
  }
  return [
    ...messages,
    { role: 'assistant', content: badReply.length > 4000 ? `${badReply.slice(0, 4000)}…` : badReply },
    { role: 'user', content: `Your previous reply could not be used (${error}). ${ask}` },
  ];
}
