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
  /** Set false to bypass the response cache for this call (not part of the cache key). */
  cache?: boolean;
  /** Names this call in Langfuse when generation tracing is on (not part of the cache key). */
  trace?: TraceTag;
  /**
   * Cancels the call: its attempt, its back-off and its wait for an open circuit (not part of the cache key; a call
   * joining an identical one in flight waits for that one).
   */
  signal?: AbortSignal;
}

/** How a traced call appears in Langfuse. */
export interface TraceTag {
  /** Generation name, e.g. `judge:faithfulness`. */
  name?: string;
  /** Attach to an existing Langfuse trace; a new trace is created when unset. */
  traceId?: string;
  metadata?: Record<string, unknown>;
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
  /** False when the price table does not know the model (then `costUsd` is 0, not a guess). */
  priceKnown?: boolean;
  /** Provider attempts made (0 on a cache hit). */
  attempts?: number;
}

/** A model provider (anthropic, gemini, offline): one raw call, no retries or caching (the wrapper adds those). */
export interface LlmProvider {
  readonly name: string;
  /** True when results are heuristics rather than model output. */
  readonly heuristic: boolean;
  /** False when answers are cheaper to recompute than to store (offline); defaults to true. */
  readonly cacheable?: boolean;
  complete(
    params: CallParams & { modelName: string },
    signal: AbortSignal,
  ): Promise<{ text: string; usage: Usage }>;
}

/** The one entry point every call goes through (rate limit, retries, breaker, time-out, cache, cost). */
export interface Llm {
  complete(params: CallParams): Promise<Completion>;
  /**
   * Completes and parses JSON with a zod schema; one repair attempt on malformed output. Never throws for an
   * expected failure: provider errors come back as `{ ok: false, error, code }` too.
   */
  completeJson<S extends z.ZodType>(params: CallParams, schema: S): Promise<JsonResult<z.infer<S>>>;
}

/**
 * Outcome of `completeJson`. `completion` sums usage and cost over the first call and any repair call.
 * `repaired` and `code` are optional so hand-written fakes of `Llm` stay valid; the real wrapper always sets them.
 */
export type JsonResult<T> =
  | { ok: true; value: T; completion: Completion; repaired?: boolean }
  | { ok: false; error: string; code?: string; completion?: Completion };
