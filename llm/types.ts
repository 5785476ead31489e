import type { z } from 'zod';

/** One chat message sent to a model. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** Parameters of one model call; all of them are part of the response-cache key. */
export interface CallParams {
  /** `provider:model`, e.g. `anthropic:claude-sonnet-5-5`, `gemini:gemini-3.5-flash`, `offline:heuristic`. */
  model: string;
  messages: readonly ChatMessage[];
  temperature?: number;
  maxTokens?: number;
  /** Ask the provider for JSON output (validated by `completeJson`). */
  json?: boolean;
  /**
   * JSON Schema of the reply, sent as the provider's structured output (Anthropic `output_config.format`, Gemini
   * `responseJsonSchema`) where the model supports it; text extraction stays the fallback. Needs `json`.
   */
  jsonSchema?: Record<string, unknown>;
  /**
   * How much the model may think before answering (Anthropic `output_config.effort`, Gemini `thinkingLevel` or
   * `thinkingBudget`); the provider default when unset. Thinking tokens count against `maxTokens`.
   */
  effort?: Effort;
  /** Per-call time-out in ms (the wrapper's default applies when unset). */
  timeoutMs?: number;
  /**
   * Tools the model may call (Anthropic `tools`, Gemini `functionDeclarations`); the calls it makes come back as
   * `toolCalls` on the completion. Part of the cache key.
   */
  tools?: readonly ToolSpec[];
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
  /**
   * The Langfuse trace this call evaluates (a monitor's judge): recorded on the generation as `judgedTraceId`;
   * the generation stays a trace of Arbiter's own and never writes into the judged trace.
   */
  traceId?: string;
  /** The judged observation within `traceId`. */
  observationId?: string;
  /** Links the generation to this Langfuse prompt version (the `prompt` target). */
  prompt?: { name: string; version: number };
  metadata?: Record<string, unknown>;
}

/** A tool offered to the model: a name, what it does, and its parameters as a JSON Schema object. */
export interface ToolSpec {
  name: string;
  description?: string;
  /** JSON Schema of the arguments (an object schema); `{type: 'object'}` when absent. */
  parameters?: Record<string, unknown>;
}

/** A tool call the model made: the tool's name and its arguments (Anthropic `tool_use`, Gemini `functionCall`). */
export interface ModelToolCall {
  name: string;
  args: Record<string, unknown>;
}

/** What an embedding call needs. */
export interface EmbedParams {
  /** `provider:model`, e.g. `gemini:gemini-embedding-001`. */
  model: string;
  texts: readonly string[];
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Embeddings of the texts, in order. */
export interface Embeddings {
  vectors: number[][];
  model: string;
  /**
   * Tokens embedded. The Gemini API's batchEmbedContents reports no usage (its response is `{embeddings}` only:
   * https://ai.google.dev/api/embeddings#method:-models.batchembedcontents), so they are estimated from the texts
   * (`tokensEstimated`). Optional so hand-written fakes stay valid; the real wrapper always sets them.
   */
  usage?: Usage;
  tokensEstimated?: boolean;
  /** USD of the call; null when the model has no known price ("price unknown", never $0). */
  costUsd?: number | null;
}

/** Thinking effort of a call. */
export type Effort = 'low' | 'medium' | 'high';

/** Token usage of one call. */
export interface Usage {
  /** Every prompt token, cache reads and cache writes included. */
  inputTokens: number;
  /** Every generated token, thinking included. */
  outputTokens: number;
  /** Part of `inputTokens` read from the provider's prompt cache (Anthropic cache_read, Gemini cachedContent). */
  cacheReadTokens?: number;
  /** Part of `inputTokens` written to the provider's prompt cache (Anthropic cache_creation). */
  cacheWriteTokens?: number;
}

/**
 * How a reply ended, read from the provider's stop reason (Anthropic `stop_reason`, Gemini `finishReason` and
 * `promptFeedback.blockReason`):
 * - `complete`: the model finished its answer (end_turn, stop_sequence, tool_use, STOP);
 * - `truncated`: cut off at `maxTokens` (max_tokens, MAX_TOKENS), thinking included;
 * - `refused`: the model or the provider's safety system declined (refusal, SAFETY, PROHIBITED_CONTENT,
 *   BLOCKLIST, SPII, RECITATION, a blocked prompt);
 * - `context-overflow`: the prompt filled the context window (model_context_window_exceeded);
 * - `paused`: a server-side turn paused to be continued (pause_turn);
 * - `malformed`: the model produced an unusable call (MALFORMED_FUNCTION_CALL);
 * - `other`: any other or missing reason.
 * Only `complete` replies are cached.
 */
export type FinishReason =
  | 'complete'
  | 'truncated'
  | 'refused'
  | 'context-overflow'
  | 'paused'
  | 'malformed'
  | 'other';

/** What a provider returns for one call. */
export interface ProviderReply {
  text: string;
  usage: Usage;
  /** How the reply ended; `complete` when a provider does not say. */
  finish?: FinishReason;
  /** The provider's own reason, e.g. `max_tokens`, `SAFETY`, `prompt blocked: PROHIBITED_CONTENT`. */
  finishDetail?: string;
  /** Tool calls in the reply, in order (only when the call offered `tools`). */
  toolCalls?: ModelToolCall[];
}

/** The result of one model call as every caller sees it. */
export interface Completion {
  text: string;
  usage: Usage;
  /** How the reply ended; anything but `complete` means `text` is not a whole answer (it may be empty). */
  finish: FinishReason;
  /** The provider's own stop reason when it is not a plain completion, e.g. `max_tokens`, `SAFETY`. */
  finishDetail?: string;
  /**
   * Cost in USD from the price table; 0 on a cache hit and for `offline`. When `priceKnown` is false the price
   * table did not know the model and this is 0 by convention, not a price: show "price unknown".
   */
  costUsd: number;
  latencyMs: number;
  cached: boolean;
  /** `provider:model` that answered. */
  model: string;
  /** True for the offline heuristic provider: reports must never present it as an LLM verdict. */
  heuristic: boolean;
  /** False when the price table does not know the model (then `costUsd` is 0, not a guess). */
  priceKnown: boolean;
  /** Provider attempts made (0 on a cache hit). */
  attempts?: number;
  /** Tool calls the model made, in order (Anthropic `tool_use` blocks, Gemini `functionCall` parts). */
  toolCalls?: ModelToolCall[];
}

/** A model provider (anthropic, gemini, offline): one raw call, no retries or caching (the wrapper adds those). */
export interface LlmProvider {
  readonly name: string;
  /** True when results are heuristics rather than model output. */
  readonly heuristic: boolean;
  /** False when answers are cheaper to recompute than to store (offline); defaults to true. */
  readonly cacheable?: boolean;
  complete(params: CallParams & { modelName: string }, signal: AbortSignal): Promise<ProviderReply>;
  /** Embeds texts with an embedding model (providers that offer embeddings: gemini). */
  embed?(params: { modelName: string; texts: readonly string[] }, signal: AbortSignal): Promise<number[][]>;
}

/** The one entry point every call goes through (rate limit, retries, breaker, time-out, cache, cost). */
export interface Llm {
  complete(params: CallParams): Promise<Completion>;
  /**
   * Completes and parses JSON with a zod schema; one repair attempt on malformed output, one retry with a larger
   * budget on a truncated reply. Never throws for an expected failure: provider errors, refusals and truncation
   * come back as `{ ok: false, error, code }` too (codes LLM_TRUNCATED, LLM_REFUSED, LLM_CONTEXT_OVERFLOW,
   * LLM_INCOMPLETE, LLM_BAD_JSON or a provider error's code).
   */
  completeJson<S extends z.ZodType>(params: CallParams, schema: S): Promise<JsonResult<z.infer<S>>>;
  /**
   * Embeds texts (optional so hand-written fakes stay valid; the real wrapper has it). Throws an LlmError:
   * LLM_NO_KEY without the provider's key, LLM_BAD_REQUEST when the provider has no embeddings.
   */
  embed?(params: EmbedParams): Promise<Embeddings>;
}

/**
 * Outcome of `completeJson`. `completion` sums usage and cost over the first call and any repair call.
 * `repaired` and `code` are optional so hand-written fakes of `Llm` stay valid; the real wrapper always sets them.
 */
export type JsonResult<T> =
  | { ok: true; value: T; completion: Completion; repaired?: boolean }
  | { ok: false; error: string; code?: string; completion?: Completion };
