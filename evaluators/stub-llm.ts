// A test double of the `Llm` wrapper: a scripted "model" behind the same completeJson contract
// (parse, validate, one repair attempt). Tests of judges here and in runs/ or reviews/ use it; production never does.
import type { z } from 'zod';
import type { CallParams, Completion, Llm } from '../llm/index.ts';

/** What the scripted model returns for a call; a thrown error plays a provider failure that outlived the retries. */
export type StubModel = (params: CallParams, call: number) => string | Promise<string>;

/** Options of the stub. */
export interface StubLlmOptions {
  /** Mark completions as coming from a heuristic provider. */
  heuristic?: boolean;
  /** Cost of each call in USD. */
  costUsd?: number;
}

/** The stub plus every call it received, for assertions. */
export interface StubLlm extends Llm {
  calls: CallParams[];
}

function parseJsonText(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  const body = text
    .trim()
    .replace(/^```(?:json)?\s*\n?/, '')
    .replace(/\n?```$/, '');
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch (err) {
    return { ok: false, error: `not JSON: ${(err as Error).message}` };
  }
}

/** Creates a stub `Llm` around a scripted model. */
export function createStubLlm(model: StubModel, opts: StubLlmOptions = {}): StubLlm {
  const calls: CallParams[] = [];
  const complete = async (params: CallParams): Promise<Completion> => {
    calls.push(params);
    const text = await model(params, calls.length);
    return {
      text,
      usage: { inputTokens: 10, outputTokens: 10 },
      finish: 'complete',
      costUsd: opts.costUsd ?? 0.001,
      priceKnown: true,
      latencyMs: 1,
      cached: false,
      model: params.model,
      heuristic: opts.heuristic ?? false,
    };
  };
  const add = (a: Completion, b: Completion): Completion => ({ ...b, costUsd: a.costUsd + b.costUsd });
  return {
    calls,
    complete,
    async completeJson<S extends z.ZodType>(params: CallParams, schema: S) {
      const first = await complete(params);
      const check = (c: Completion) => {
        const parsed = parseJsonText(c.text);
        if (!parsed.ok) return parsed;
        const r = schema.safeParse(parsed.value);
        return r.success
          ? ({ ok: true, value: r.data as z.infer<S> } as const)
          : ({
              ok: false,
              error: r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
            } as const);
      };
      const r1 = check(first);
      if (r1.ok) return { ok: true, value: r1.value, completion: first };
      const second = await complete({
        ...params,
        messages: [
          ...params.messages,
          { role: 'assistant', content: first.text },
          {
            role: 'user',
            content: `Your reply was invalid (${r1.error}). Reply with only the corrected JSON object.`,
          },
        ],
      });
      const total = add(first, second);
      const r2 = check(second);
      if (r2.ok) return { ok: true, value: r2.value, completion: total, repaired: true };
      return {
        ok: false,
        error: `malformed JSON after one repair attempt: ${r2.error}`,
        code: 'LLM_BAD_JSON',
        completion: total,
      };
    },
  };
}
