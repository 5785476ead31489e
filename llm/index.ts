// Public surface of llm/: the `Llm` wrapper every model call goes through, the provider registry, model
// names, prices, errors and the judge-protocol helpers.
export type {
  CallParams,
  ChatMessage,
  Completion,
  Effort,
  EmbedParams,
  Embeddings,
  FinishReason,
  JsonResult,
  Llm,
  LlmProvider,
  ModelToolCall,
  ProviderReply,
  ToolSpec,
  TraceTag,
  Usage,
} from './types.ts';
export {
  checkLlmConfig,
  createLlm,
  llmSettingsFromEnv,
  type CreateLlmOptions,
  type LlmService,
  type LlmSettings,
  type LlmStats,
  type ModelStats,
} from './create-llm.ts';
export {
  defaultJudgeModel,
  PROVIDER_NAMES,
  PROVIDERS,
  type LlmEnv,
  type ProviderContext,
  type ProviderName,
  type ProviderSpec,
} from './providers.ts';
export { parseModelName, type ModelName } from './model-name.ts';
export {
  costOf,
  DEFAULT_PRICES,
  findPrice,
  formatCost,
  loadPriceFile,
  PRICES_AS_OF,
  PriceFileSchema,
  type ModelPrice,
  type PriceRates,
  type PriceTable,
} from './prices.ts';
export {
  isLlmError,
  isProviderTrouble,
  LlmError,
  PROVIDER_TROUBLE_CODES,
  type LlmErrorCode,
} from './errors.ts';
export { createFakeLlmClock, systemLlmClock, type LlmClock } from './clock.ts';
export { CACHE_COLLECTION, cacheKey } from './cache.ts';
export { extractJson, parseJsonReply } from './json.ts';
export {
  anthropicFinish,
  anthropicSupportsEffort,
  anthropicSupportsStructuredOutput,
  createAnthropicProvider,
  type AnthropicProviderOptions,
} from './anthropic.ts';
export { createGeminiProvider, geminiFinish, type GeminiProviderOptions } from './gemini.ts';
export { createOfflineProvider, HEURISTIC_LABEL } from './offline.ts';
export type { BreakerState } from './circuit-breaker.ts';
export type { RateLimits } from './rate-limiter.ts';
export type { RetryOptions } from './retry.ts';
export { arbiterSpanName, type JudgedRef, type TraceOptions, withJudged } from './tracing.ts';
export {
  ARBITER_SOURCE,
  ARBITER_SPAN_PREFIX,
  ARBITER_TAG,
  createLangfuseTracing,
  type LangfuseTracing,
  type LangfuseTracingOptions,
  langfuseTracingFromEnv,
  RUN_ITEM_SPAN,
  type TracingStats,
} from './otel.ts';
export {
  escapeData,
  JUDGE_TAGS,
  parseTagBlocks,
  tagBlock,
  unescapeData,
  type JudgeTag,
} from './judge-protocol.ts';
export {
  anthropicError,
  anthropicMessage,
  createScriptedProvider,
  geminiError,
  geminiResponse,
  type AnthropicMessageOptions,
  type GeminiResponseOptions,
  type ScriptStep,
} from './testing.ts';
