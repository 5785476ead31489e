// Public surface of langfuse/: a typed client of the Langfuse public API (prompts, observations, datasets, dataset
// runs, traces, scores), the observations read over v2/v1, and the markers of Arbiter's own traces.
export {
  createLangfuseClient,
  langfuseFromEnv,
  type DatasetRead,
  type IngestResult,
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
  LangfuseError,
  type LangfuseErrorCode,
  type LangfuseResult,
} from './errors.ts';
export {
  decodeJsonText,
  detectedObservationsApi,
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
  type DatasetRunItem,
  type DatasetRunItemInput,
  DatasetRunItemInputSchema,
  DatasetRunItemSchema,
  DatasetRunItemsPageSchema,
  IngestionResponseSchema,
  type LangfuseDataset,
  type LangfuseDatasetItem,
  LangfuseDatasetItemSchema,
  LangfuseDatasetSchema,
  PageMetaSchema,
  type TraceInput,
  TraceInputSchema,
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
