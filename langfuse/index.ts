// Public surface of langfuse/: a typed client of the Langfuse public API (prompts, scores).
export {
  createLangfuseClient,
  type LangfuseClient,
  type LangfuseClientOptions,
  type PromptSelector,
  type PublishScoresResult,
} from './client.ts';
export {
  codeForStatus,
  isLangfuseError,
  LangfuseError,
  type LangfuseErrorCode,
  type LangfuseResult,
} from './errors.ts';
export {
  type LangfusePrompt,
  LangfusePromptSchema,
  type PromptChatMessage,
  PromptChatMessageSchema,
  type ScoreInput,
  ScoreInputSchema,
} from './schemas.ts';
