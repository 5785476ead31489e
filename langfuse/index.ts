// Public surface of langfuse/: a typed client of the Langfuse public API (health, prompts, observations, datasets,
// scores), the observations read over v2/v1, the server probe, and the markers of Arbiter's own traces.
export {
  createLangfuseClient,
  langfuseFromEnv,
  type DatasetRead,
  type LangfuseClient,
  type LangfuseClientOptions,
  type ObservationsQuery,
  type ObservationsV1Query,
  type PromptSelector,
  type PublishScoresResult,
} from './client.ts';
export {
  codeForStatus,
  isLangfuseError,
  LANGFUSE_CLOUD_HOSTS,
  LANGFUSE_OTEL_PATH,
  LangfuseError,
  type LangfuseErrorCode,
  langfuseFix,
  type LangfuseResult,
} from './errors.ts';
export {
  decodeJsonText,
  detectedObservationsApi,
  rememberObservationsApi,
  fieldsFor,
  normalizeObservation,
  type ObservationsApi,
  type ObservationsRead,
  type ObservationWindow,
  type ReadOptions,
  readObservations,
} from './observations.ts';
export {
  ARBITER_OWN_MARKERS,
  EXCLUDE_ARBITER_TAG_FILTER,
  isArbiterOwnObservation,
  type OwnMarkerFields,
} from './own.ts';
export {
  type DatasetItemsPage,
  DatasetItemsPageSchema,
  type LangfuseDataset,
  type LangfuseDatasetItem,
  LangfuseDatasetItemSchema,
  type LangfuseHealth,
  LangfuseHealthSchema,
  LangfuseDatasetSchema,
  PageMetaSchema,
  type LangfusePrompt,
  LangfusePromptSchema,
  type ObservationV2,
  ObservationV2Schema,
  type ObservationsPage,
  ObservationsPageSchema,
  type ObservationsV1Page,
  ObservationsV1PageSchema,
  type PromptChatMessage,
  PromptChatMessageSchema,
  type ScoreInput,
  ScoreInputSchema,
} from './schemas.ts';
export { langfuseScoreValue } from './score-types.ts';
export {
  announceLangfuseServer,
  describeLangfuseServer,
  type LangfuseServerInfo,
  probeLangfuse,
  SUPPORTED_LANGFUSE,
} from './server.ts';
