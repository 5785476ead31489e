// Test doubles for code that calls models: real API response shapes for nock, and a scripted provider.
import type { LlmProvider, Usage } from './types.ts';

/** A Messages API response body (POST /v1/messages). */
export function anthropicMessage(text: string, usage: { input?: number; output?: number } = {}) {
  return {
    id: 'msg_01TestTestTestTestTestTest',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-5-20250929',
    content: [{ type: 'text', text }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: {
      input_tokens: usage.input ?? 100,
      output_tokens: usage.output ?? 20,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    },
  };
}

/** An Anthropic error body, e.g. `anthropicError('overloaded_error', 'Overloaded')`. */
export function anthropicError(type: string, message: string) {
  return { type: 'error', error: { type, message } };
}

/** A generateContent response body (POST /v1beta/models/{model}:generateContent). */
export function geminiResponse(
  text: string,
  usage: { input?: number; output?: number; thoughts?: number } = {},
) {
  return {
    candidates: [{ content: { parts: [{ text }], role: 'model' }, finishReason: 'STOP', index: 0 }],
    usageMetadata: {
      promptTokenCount: usage.input ?? 100,
      candidatesTokenCount: usage.output ?? 20,
      ...(usage.thoughts ? { thoughtsTokenCount: usage.thoughts } : {}),
      totalTokenCount: (usage.input ?? 100) + (usage.output ?? 20) + (usage.thoughts ?? 0),
    },
    modelVersion: 'gemini-2.5-flash',
    responseId: 'resp-test',
  };
}

/** A Google API error body, e.g. `geminiError(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded', '17s')`. */
export function geminiError(code: number, status: string, message: string, retryDelay?: string) {
  return {
    error: {
      code,
      message,
      status,
      ...(retryDelay
        ? { details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay }] }
        : {}),
    },
  };
}

/** One scripted step: a reply, or an error to throw. */
export type ScriptStep = { text: string; usage?: Usage } | { error: Error };

/** A provider that plays a script in order (then repeats the last step) and records every call. */
export function createScriptedProvider(
  name: string,
  steps: ScriptStep[],
  options: { heuristic?: boolean; latencyMs?: number } = {},
) {
  const calls: { model: string; messages: readonly { role: string; content: string }[] }[] = [];
  const provider: LlmProvider = {
    name,
    heuristic: options.heuristic ?? false,
    async complete(params, signal) {
      const step = steps[Math.min(calls.length, steps.length - 1)]!;
      calls.push({ model: params.modelName, messages: params.messages });
      if (options.latencyMs) {
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(resolve, options.latencyMs);
          signal.addEventListener('abort', () => {
            clearTimeout(t);
            reject(signal.reason);
          });
        });
      }
      if ('error' in step) throw step.error;
      return { text: step.text, usage: step.usage ?? { inputTokens: 10, outputTokens: 5 } };
    },
  };
  return { provider, calls };
}
