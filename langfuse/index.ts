// Public surface of langfuse/: a typed client of the Langfuse public API (prompts, observations, scores).
export {
  createLangfuseClient,
  type LangfuseClient,
  type LangfuseClientOptions,
  type ObservationsQuery,
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
  type ObservationV2,
  ObservationV2Schema,
  type ObservationsPage,
  ObservationsPageSchema,
  type PromptChatMessage,
  PromptChatMessageSchema,
  type ScoreInput,
  ScoreInputSchema,
} from './schemas.ts';
