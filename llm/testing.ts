// Test doubles for code that calls models: real API response shapes for nock, and a scripted provider.
import type { FinishReason, LlmProvider, Usage } from './types.ts';

/** Options of a fake Messages API response. */
export interface AnthropicMessageOptions {
  /** Uncached input tokens (`usage.input_tokens`). */
  input?: number;
  output?: number;
  cacheRead?: number;
  cacheWrite?: number;
  /** `end_turn` by default; also `max_tokens`, `refusal`, `model_context_window_exceeded`, `pause_turn`. */
  stopReason?: string;
  /** Prepends a thinking block, as adaptive-thinking models send. */
  thinking?: string;
  model?: string;
}

/**
 * A Messages API response body (POST /v1/messages), shaped as https://platform.claude.com/docs/en/api/messages
 * documents it (and the SDK's `Message` type): content blocks, stop_reason, stop_details, usage with the cache fields.
 */
export function anthropicMessage(text: string, options: AnthropicMessageOptions = {}) {
  const stopReason = options.stopReason ?? 'end_turn';
  return {
    id: 'msg_01TestTestTestTestTestTest',
    type: 'message',
    role: 'assistant',
    model: options.model ?? 'claude-sonnet-5-5',
    content: [
      ...(options.thinking !== undefined
        ? [
            {
              type: 'thinking',
              thinking: options.thinking,
              signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds',
            },
          ]
        : []),
      ...(text !== '' || options.thinking === undefined ? [{ type: 'text', text, citations: null }] : []),
    ],
    stop_reason: stopReason,
    stop_sequence: null,
    stop_details: stopReason === 'refusal' ? { type: 'refusal', category: null, explanation: null } : null,
    container: null,
    usage: {
      input_tokens: options.input ?? 100,
      output_tokens: options.output ?? 20,
      cache_creation_input_tokens: options.cacheWrite ?? 0,
      cache_read_input_tokens: options.cacheRead ?? 0,
      cache_creation: {
        ephemeral_5m_input_tokens: options.cacheWrite ?? 0,
        ephemeral_1h_input_tokens: 0,
      },
      server_tool_use: null,
      service_tier: 'standard',
    },
  };
}

/** An Anthropic error body, e.g. `anthropicError('overloaded_error', 'Overloaded')`. */
export function anthropicError(type: string, message: string) {
  return { type: 'error', error: { type, message } };
}

/** Options of a fake generateContent response. */
export interface GeminiResponseOptions {
  /** `promptTokenCount`, the cached part included. */
  input?: number;
  output?: number;
  thoughts?: number;
  /** `cachedContentTokenCount` (implicit or explicit context caching). */
  cached?: number;
  /** `STOP` by default; also `MAX_TOKENS`, `SAFETY`, `RECITATION`, `PROHIBITED_CONTENT`, … */
  finishReason?: string;
  /** A blocked prompt: no candidates, `promptFeedback.blockReason` set. */
  blockReason?: string;
  modelVersion?: string;
}

/**
 * A generateContent response body (POST /v1beta/models/{model}:generateContent), shaped as
 * https://ai.google.dev/api/generate-content#generatecontentresponse documents it: candidates with finishReason,
 * promptFeedback for a blocked prompt, usageMetadata with cachedContentTokenCount and thoughtsTokenCount.
 */
export function geminiResponse(text: string, options: GeminiResponseOptions = {}) {
  const input = options.input ?? 100;
  const output = options.blockReason ? 0 : (options.output ?? 20);
  const usageMetadata = {
    promptTokenCount: input,
    ...(options.blockReason ? {} : { candidatesTokenCount: output }),
    ...(options.cached ? { cachedContentTokenCount: options.cached } : {}),
    ...(options.thoughts ? { thoughtsTokenCount: options.thoughts } : {}),
    totalTokenCount: input + output + (options.thoughts ?? 0),
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: input }],
  };
  if (options.blockReason) {
    return {
      promptFeedback: { blockReason: options.blockReason, safetyRatings: [] },
      usageMetadata,
      modelVersion: options.modelVersion ?? 'gemini-3.5-flash',
      responseId: 'resp-test',
    };
  }
  return {
    candidates: [
      {
        content: { parts: text === '' ? [] : [{ text }], role: 'model' },
        finishReason: options.finishReason ?? 'STOP',
        index: 0,
      },
    ],
    usageMetadata,
    modelVersion: options.modelVersion ?? 'gemini-3.5-flash',
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

/** One scripted step: a reply (complete unless `finish` says otherwise), or an error to throw. */
export type ScriptStep =
  | { text: string; usage?: Usage; finish?: FinishReason; finishDetail?: string }
  | { error: Error };

/** A provider that plays a script in order (then repeats the last step) and records every call. */
export function createScriptedProvider(
  name: string,
  steps: ScriptStep[],
  options: { heuristic?: boolean; latencyMs?: number } = {},
) {
  const calls: {
    model: string;
    messages: readonly { role: string; content: string }[];
    maxTokens?: number | undefined;
    jsonSchema?: Record<string, unknown> | undefined;
    effort?: string | undefined;
  }[] = [];
  const provider: LlmProvider = {
    name,
    heuristic: options.heuristic ?? false,
    async complete(params, signal) {
      const step = steps[Math.min(calls.length, steps.length - 1)]!;
      calls.push({
        model: params.modelName,
        messages: params.messages,
        maxTokens: params.maxTokens,
        jsonSchema: params.jsonSchema,
        effort: params.effort,
      });
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
      return {
        text: step.text,
        usage: step.usage ?? { inputTokens: 10, outputTokens: 5 },
        ...(step.finish ? { finish: step.finish } : {}),
        ...(step.finishDetail ? { finishDetail: step.finishDetail } : {}),
      };
    },
  };
  return { provider, calls };
}
