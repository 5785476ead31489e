// zod schemas of Langfuse webhook bodies (DESIGN.md: external facts). Parsed at the edge; typed objects go inward.
import { z } from 'zod';
import { LangfusePromptSchema } from '../langfuse/index.ts';

/** Fields every delivery carries: the id we dedupe on and the type we dispatch on. */
export const WebhookEnvelopeSchema = z.looseObject({
  id: z.string().min(1).max(200),
  type: z.string().min(1).max(100),
  timestamp: z.string().optional(),
  apiVersion: z.string().optional(),
});
export type WebhookEnvelope = z.infer<typeof WebhookEnvelopeSchema>;

/** Who made the change: Langfuse documents the field as optional; accept a string or a user object. */
export const WebhookUserSchema = z.union([
  z.string(),
  z.looseObject({ id: z.string().nullish(), name: z.string().nullish(), email: z.string().nullish() }),
]);

/** A `prompt-version` event: a version created, its labels/tags updated, or deleted. */
export const PromptVersionEventSchema = z.looseObject({
  id: z.string().min(1).max(200),
  timestamp: z.string(),
  type: z.literal('prompt-version'),
  apiVersion: z.string().optional(),
  action: z.enum(['created', 'updated', 'deleted']),
  user: WebhookUserSchema.nullish(),
  prompt: LangfusePromptSchema,
});
export type PromptVersionEvent = z.infer<typeof PromptVersionEventSchema>;

/** What a delivery is, once parsed: known types typed, unknown types kept whole for the record. */
export type LangfuseWebhookEvent =
  | { kind: 'prompt-version'; event: PromptVersionEvent }
  | { kind: 'monitor-alert'; event: WebhookEnvelope }
  | { kind: 'unknown'; event: WebhookEnvelope };

/** Parses a delivery body (already JSON-decoded): a value, never a throw; the error names the field. */
export function parseWebhookEvent(
  json: unknown,
): { ok: true; value: LangfuseWebhookEvent } | { ok: false; error: string } {
  const envelope = WebhookEnvelopeSchema.safeParse(json);
  if (!envelope.success) return { ok: false, error: issueText(envelope.error) };
  if (envelope.data.type === 'prompt-version') {
    const event = PromptVersionEventSchema.safeParse(json);
    return event.success
      ? { ok: true, value: { kind: 'prompt-version', event: event.data } }
      : { ok: false, error: issueText(event.error) };
  }
  if (envelope.data.type === 'monitor-alert')
    return { ok: true, value: { kind: 'monitor-alert', event: envelope.data } };
  return { ok: true, value: { kind: 'unknown', event: envelope.data } };
}

/** A display name for whoever made the change. */
export function userName(
  user: z.infer<typeof WebhookUserSchema> | null | undefined,
  fallback?: string | null,
): string {
  if (typeof user === 'string' && user) return user;
  if (user && typeof user === 'object') return user.name || user.email || user.id || fallback || 'unknown';
  return fallback || 'unknown';
}

function issueText(error: z.ZodError): string {
  const issue = error.issues[0];
  return `${issue?.path.join('.') || '(body)'}: ${issue?.message ?? 'invalid'}`;
}
