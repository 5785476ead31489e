// Public surface of llm/: what other folders' sources import (test/architecture.test.ts checks it), the `Llm` wrapper
// every model call goes through, the provider registry, provider-trouble codes, tracing and the judge-protocol tags.
// Everything else, test doubles included, is imported from its own file.
export type {
  CallParams,
  ChatMessage,
  Completion,
  Effort,
  FinishReason,
  Llm,
  ToolSpec,
  Usage,
} from './types.ts';
export { checkLlmConfig, createLlm, type LlmService } from './create-llm.ts';
export { PROVIDER_NAMES, PROVIDERS, type ProviderSpec } from './providers.ts';
export { PROVIDER_TROUBLE_CODES } from './errors.ts';
export { withJudged } from './tracing.ts';
export {
  ARBITER_SOURCE,
  ARBITER_SPAN_PREFIX,
  ARBITER_TAG,
  type LangfuseTracing,
  langfuseTracingFromEnv,
  RUN_ITEM_SPAN,
} from './otel.ts';
export { tagBlock, type JudgeTag } from './judge-protocol.ts';
