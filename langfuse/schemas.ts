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
});
export type ScoreInput = z.infer<typeof ScoreInputSchema>;

/** Response of `POST /api/public/scores`. */
export const ScoreCreatedSchema = z.looseObject({ id: z.string() });

/** One observation of `GET /api/public/v2/observations` (core fields always present; others by field group). */
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
});
export type ObservationV2 = z.infer<typeof ObservationV2Schema>;

/** A page of observations: records are parsed one by one by the caller, so one bad record does not sink the page. */
export const ObservationsPageSchema = z.looseObject({
  data: z.array(z.unknown()),
  meta: z.looseObject({ cursor: z.string().nullish() }).optional(),
});
export type ObservationsPage = z.infer<typeof ObservationsPageSchema>;
