import type { z } from 'zod';

/** One chat message sent to a model. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** Parameters of one model call; all of them are part of the response-cache key. */
export interface CallParams {
  /** `provider:model`, e.g. `anthropic:claude-sonnet-4-5`, `gemini:gemini-2.5-flash`, `offline:heuristic`. */
  model: string;
  messages: readonly ChatMessage[];
  temperature?: number;
  maxTokens?: number;
  /** Ask the provider for JSON output (validated by `completeJson`). */
  json?: boolean;
  /** Per-call time-out in ms (the wrapper's default applies when unset). */
  timeoutMs?: number;
}

/** Token usage of one call. */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

/** The result of one model call as every caller sees it. */
export interface Completion {
  text: string;
  usage: Usage;
  /** Cost in USD from the price table; 0 on a cache hit and for `offline`. */
  costUsd: number;
  latencyMs: number;
  cached: boolean;
  /** `provider:model` that answered. */
  model: string;
  /** True for the offline heuristic provider: reports must never present it as an LLM verdict. */
  heuristic: boolean;
}

/** A model provider (anthropic, gemini, offline): one raw call, no retries or caching (the wrapper adds those). */
export interface LlmProvider {
  readonly name: string;
  /** True when results are heuristics rather than model output. */
  readonly heuristic: boolean;
  complete(
    params: CallParams & { modelName: string },
    signal: AbortSignal,
  ): Promise<{ text: string; usage: Usage }>;
}

/** The one entry point every call goes through (rate limit, retries, breaker, time-out, cache, cost). */
export interface Llm {
  complete(params: CallParams): Promise<Completion>;
  /** Completes and parses JSON with a zod schema; one repair attempt on malformed output. */
  completeJson<S extends z.ZodType>(
    params: CallParams,
    schema: S,
  ): Promise<{ ok: true; value: z.infer<S>; completion: Completion } | { ok: false; error: string; completion?: Completion }>;
}
