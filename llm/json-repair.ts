// The JSON-repair decorator: `completeJson` over any `complete`. A reply cut off at the token limit is asked
// again once with room to spare; a reply that does not parse against the schema gets one repair call that
// quotes the parse error. Failures come back as values (`ok: false` with a code), never thrown.
import type { z } from 'zod';
import type { Logger } from '../config/index.ts';
import { addUsage } from './cache.ts';
import { isLlmError } from './errors.ts';
import { parseJsonReply, repairMessages } from './json.ts';
import type { CallParams, Completion, JsonResult } from './types.ts';

/** The largest budget the retry of a truncated JSON reply asks for (current models allow 64k output or more). */
export const MAX_RETRY_TOKENS = 32_768;

/** Why a reply that did not finish cannot be used, as a completeJson failure. */
export function unfinished(c: Completion, maxTokens: number): { code: string; error: string } | undefined {
  const detail = c.finishDetail ? ` (${c.finishDetail})` : '';
  switch (c.finish) {
    case 'complete':
      return undefined;
    case 'truncated':
      return {
        code: 'LLM_TRUNCATED',
        error: `the reply was cut off at the token limit of ${maxTokens}${detail}, thinking included`,
      };
    case 'refused':
      return { code: 'LLM_REFUSED', error: `the model declined to answer${detail}` };
    case 'context-overflow':
      return {
        code: 'LLM_CONTEXT_OVERFLOW',
        error: `the prompt does not fit the model's context window${detail}`,
      };
    default:
      return { code: 'LLM_INCOMPLETE', error: `the reply did not finish${detail}` };
  }
}

/** Two completions of one logical call as one: usage, cost, latency and attempts summed. */
export function combine(a: Completion, b: Completion): Completion {
  const priceKnown = a.priceKnown && b.priceKnown;
  return {
    ...b,
    usage: addUsage(a.usage, b.usage),
    costUsd: a.costUsd + b.costUsd,
    latencyMs: a.latencyMs + b.latencyMs,
    cached: a.cached && b.cached,
    priceKnown,
    attempts: (a.attempts ?? 0) + (b.attempts ?? 0),
  };
}

/** `completeJson` built on `complete`; `defaultMaxTokens` is the budget of a call that sets none. */
export function withJsonRepair(
  complete: (params: CallParams) => Promise<Completion>,
  deps: { defaultMaxTokens: number; logger: Logger },
): <S extends z.ZodType>(params: CallParams, schema: S) => Promise<JsonResult<z.infer<S>>> {
  const { logger } = deps;

  function failure(
    err: unknown,
    prefix: string,
    completion?: Completion,
  ): { ok: false; error: string; code: string; completion?: Completion } {
    if (isLlmError(err))
      return {
        ok: false,
        error: `${prefix}${err.message}`,
        code: err.code,
        ...(completion ? { completion } : {}),
      };
    logger.error({ err }, 'unexpected error in completeJson');
    return {
      ok: false,
      error: `${prefix}internal error (details in the logs)`,
      code: 'LLM_INTERNAL',
      ...(completion ? { completion } : {}),
    };
  }

  return async function completeJson<S extends z.ZodType>(
    params: CallParams,
    schema: S,
  ): Promise<JsonResult<z.infer<S>>> {
    const p: CallParams = { ...params, json: true };
    const budget = p.maxTokens ?? deps.defaultMaxTokens;
    let first: Completion;
    try {
      first = await complete(p);
    } catch (err) {
      return failure(err, '');
    }
    let used = budget;
    // Thinking models can spend the whole budget before answering: one retry with room to spare.
    if (first.finish === 'truncated' && budget < MAX_RETRY_TOKENS) {
      used = Math.min(MAX_RETRY_TOKENS, budget * 4);
      logger.info(
        { model: p.model, maxTokens: budget, retryWith: used },
        'JSON reply truncated; retrying once',
      );
      try {
        first = combine(first, await complete({ ...p, maxTokens: used }));
      } catch (err) {
        return failure(
          err,
          `the reply was cut off at ${budget} tokens; the retry with ${used} failed: `,
          first,
        );
      }
    }
    const bad = unfinished(first, used);
    if (bad) {
      const retried = used > budget ? ` (also after a retry with ${used} tokens)` : '';
      return { ok: false, error: bad.error + retried, code: bad.code, completion: first };
    }
    const parsed = parseJsonReply(first.text, schema);
    if (parsed.ok) return { ok: true, value: parsed.value, completion: first, repaired: false };
    const repairParams: CallParams = {
      ...p,
      maxTokens: used,
      messages: repairMessages(p.messages, first.text, parsed.error),
    };
    let second: Completion;
    try {
      second = await complete(repairParams);
    } catch (err) {
      return failure(err, `malformed JSON (${parsed.error}); the repair call failed: `, first);
    }
    const both = combine(first, second);
    const badRepair = unfinished(second, used);
    if (badRepair) {
      return {
        ok: false,
        error: `malformed JSON (${parsed.error}); the repair reply did not finish: ${badRepair.error}`,
        code: badRepair.code,
        completion: both,
      };
    }
    const again = parseJsonReply(second.text, schema);
    if (again.ok) return { ok: true, value: again.value, completion: both, repaired: true };
    return {
      ok: false,
      error: `malformed JSON after one repair attempt: ${again.error}`,
      code: 'LLM_BAD_JSON',
      completion: both,
    };
  };
}
