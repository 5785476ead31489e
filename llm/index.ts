// Public surface of llm/: only what other folders import (grep before adding): the `Llm` wrapper every model call
// goes through, the provider registry, prices, errors, tracing and the judge-protocol helpers, plus the test doubles
// other folders' tests use. Everything else is reached inside the folder.
export type {
  CallParams,
  ChatMessage,
  Completion,
  Effort,
  EmbedParams,
  Embeddings,
  FinishReason,
  Llm,
  LlmProvider,
  ModelToolCall,
  ProviderReply,
  ToolSpec,
  TraceTag,
  Usage,
} from './types.ts';
export { checkLlmConfig, createLlm, type LlmService, type LlmSettings } from './create-llm.ts';
export { PROVIDER_NAMES, PROVIDERS, type ProviderSpec } from './providers.ts';
export { DEFAULT_PRICES } from './prices.ts';
export { LlmError, PROVIDER_TROUBLE_CODES } from './errors.ts';
export { createFakeLlmClock, systemLlmClock, type LlmClock } from './clock.ts';
export { createAnthropicProvider } from './anthropic.ts';
export { withJudged } from './tracing.ts';
export {
  ARBITER_SOURCE,
  ARBITER_SPAN_PREFIX,
  ARBITER_TAG,
  createLangfuseTracing,
  type LangfuseTracing,
  langfuseTracingFromEnv,
  RUN_ITEM_SPAN,
} from './otel.ts';
export { parseTagBlocks, tagBlock, type JudgeTag } from './judge-protocol.ts';
export { anthropicMessage, createScriptedProvider } from './testing.ts';
