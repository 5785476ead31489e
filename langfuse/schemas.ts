// zod schemas of the Langfuse public API shapes Arbiter reads and writes; every response is parsed with them.
import { z } from 'zod';

/** One message of a chat prompt: a role/content pair or a placeholder for messages filled in at compile time. */
export const PromptChatMessageSchema = z.union([
  z.looseObject({ type: z.literal('placeholder'), name: z.string() }),
  z.looseObject({ role: z.string(), content: z.string(), type: z.string().optional() }),
]);
export type PromptChatMessage = z.infer<typeof PromptChatMessageSchema>;

const promptBase = {
  id: z.string().optional(),
  name: z.string().min(1),
  version: z.number().int().min(1),
  config: z.unknown().transform((c) => c ?? {}),
  labels: z.array(z.string()).default([]),
  tags: z.array(z.string()).default([]),
  commitMessage: z.string().nullish(),
  createdBy: z.string().nullish(),
  projectId: z.string().optional(),
  createdAt: z.string().optional(),
  updatedAt: z.string().optional(),
};

/** A prompt version as returned by `GET /api/public/v2/prompts/{name}` (and carried in webhook payloads). */
export const LangfusePromptSchema = z.discriminatedUnion('type', [
  z.looseObject({ ...promptBase, type: z.literal('text'), prompt: z.string() }),
  z.looseObject({ ...promptBase, type: z.literal('chat'), prompt: z.array(PromptChatMessageSchema) }),
]);
export type LangfusePrompt = z.infer<typeof LangfusePromptSchema>;

/** Response of `GET /api/public/health` (https://api.reference.langfuse.com/#tag/health/GET/api/public/health). */
export const LangfuseHealthSchema = z.looseObject({ status: z.string(), version: z.string().optional() });
export type LangfuseHealth = z.infer<typeof LangfuseHealthSchema>;

/** A score to publish with `POST /api/public/scores`; the same `id` upserts, so derive it deterministically. */
export const ScoreInputSchema = z.object({
  id: z.string().min(1),
  traceId: z.string().optional(),
  observationId: z.string().optional(),
  sessionId: z.string().optional(),
  name: z.string().min(1),
  value: z.union([z.number(), z.string()]),
  dataType: z.enum(['NUMERIC', 'CATEGORICAL', 'BOOLEAN']).optional(),
  comment: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  configId: z.string().optional(),
  /** Langfuse environment of the score (the same as its trace's). */
  environment: z.string().optional(),
});
export type ScoreInput = z.infer<typeof ScoreInputSchema>;

/** Response of `POST /api/public/scores`. */
export const ScoreCreatedSchema = z.looseObject({ id: z.string() });

/**
 * One observation of `GET /api/public/v2/observations` (core fields always present; others by field group:
 * `input`/`output` are raw strings there, metadata values strings too) or of the v1 `GET /api/public/observations`.
 * https://github.com/langfuse/langfuse/blob/main/fern/apis/server/definition/commons.yml (ObservationV2).
 */
export const ObservationV2Schema = z.looseObject({
  id: z.string().min(1),
  traceId: z.string().nullish(),
  type: z.string(),
  startTime: z.string(),
  endTime: z.string().nullish(),
  name: z.string().nullish(),
  parentObservationId: z.string().nullish(),
  input: z.unknown().optional(),
  output: z.unknown().optional(),
  metadata: z.unknown().optional(),
  /** `basic` group (always in v1): the Langfuse environment of the observation and its trace; null when unset. */
  environment: z.string().nullish(),
  /** `trace_context` group: the trace's name and tags. */
  traceName: z.string().nullish(),
  tags: z.array(z.string()).nullish(),
});
export type ObservationV2 = z.infer<typeof ObservationV2Schema>;

/** A page of observations: records are parsed one by one by the caller, so one bad record does not sink the page. */
export const ObservationsPageSchema = z.looseObject({
  data: z.array(z.unknown()),
  meta: z.looseObject({ cursor: z.string().nullish() }).optional(),
});
export type ObservationsPage = z.infer<typeof ObservationsPageSchema>;

/** A page of the v1 read `GET /api/public/observations` (self-hosted v3): page-based, records parsed by the caller. */
export const ObservationsV1PageSchema = z.looseObject({
  data: z.array(z.unknown()),
  meta: z.looseObject({ page: z.number().int(), totalPages: z.number().int() }),
});
export type ObservationsV1Page = z.infer<typeof ObservationsV1PageSchema>;

/** A dataset as returned by `GET /api/public/v2/datasets/{name}`. */
export const LangfuseDatasetSchema = z.looseObject({
  id: z.string().min(1),
  name: z.string().min(1),
  description: z.string().nullish(),
  metadata: z.unknown().optional(),
  projectId: z.string().optional(),
  createdAt: z.string().optional(),
  updatedAt: z.string().optional(),
});
export type LangfuseDataset = z.infer<typeof LangfuseDatasetSchema>;

/** One dataset item of `GET /api/public/dataset-items`; input and expectedOutput are any JSON. */
export const LangfuseDatasetItemSchema = z.looseObject({
  id: z.string().min(1),
  status: z.enum(['ACTIVE', 'ARCHIVED']).default('ACTIVE'),
  input: z.unknown().optional(),
  expectedOutput: z.unknown().optional(),
  metadata: z.unknown().optional(),
  sourceTraceId: z.string().nullish(),
  sourceObservationId: z.string().nullish(),
  datasetId: z.string().optional(),
  datasetName: z.string().optional(),
  createdAt: z.string().optional(),
  updatedAt: z.string().optional(),
});
export type LangfuseDatasetItem = z.infer<typeof LangfuseDatasetItemSchema>;

/** Page metadata of Langfuse's page-based listings (`page` is 1-based). */
export const PageMetaSchema = z.looseObject({
  page: z.number().int(),
  limit: z.number().int(),
  totalItems: z.number().int(),
  totalPages: z.number().int(),
});

/** A page of dataset items: records are parsed one by one by the caller, so one bad record does not sink the page. */
export const DatasetItemsPageSchema = z.looseObject({
  data: z.array(z.unknown()),
  meta: PageMetaSchema,
});
export type DatasetItemsPage = z.infer<typeof DatasetItemsPageSchema>;
