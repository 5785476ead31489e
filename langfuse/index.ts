// Public surface of langfuse/: a typed client of the Langfuse public API (health, prompts, observations, datasets,
// scores), the observations read over v2/v1, the server probe, and the markers of Arbiter's own traces.
export { langfuseFromEnv, type LangfuseClient, type PromptSelector } from './client.ts';
export { LANGFUSE_OTEL_PATH, LangfuseError, langfuseFix, type LangfuseResult } from './errors.ts';
export { fieldsFor, readObservations } from './observations.ts';
export {
  type LangfuseDatasetItem,
  type LangfusePrompt,
  LangfusePromptSchema,
  type ObservationV2,
  type PromptChatMessage,
  type ScoreInput,
} from './schemas.ts';
export { langfuseScoreValue } from './score-types.ts';
export { announceLangfuseServer } from './server.ts';
