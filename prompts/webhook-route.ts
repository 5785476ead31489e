// POST /webhooks/langfuse: raw body (≤ 1 MiB) → signature → JSON + zod → dedupe on the payload id through the
// job queue's idempotency key → enqueue `prompt.event` → 200. No work happens here, so the answer is fast.
import { Hono } from 'hono';
import { type Clock, createSilentLogger, type Logger, systemClock } from '../config/index.ts';
import type { JobQueue } from '../storage/index.ts';
import { verifyLangfuseSignature } from './signature.ts';
import { parseWebhookEvent } from './webhook-schema.ts';

/** Job type of one accepted delivery. */
export const PROMPT_EVENT_JOB = 'prompt.event';

/** Largest body accepted; Langfuse prompts are far smaller, anything bigger is refused unread. */
export const MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;

/** Idempotency key of a delivery: Langfuse retries up to 4 times with the same payload id. */
export function webhookIdempotencyKey(eventId: string): string {
  return `langfuse-webhook:${eventId}`;
}

/** Payload of a `prompt.event` job: the raw body as received (re-parsed by the handler) and when. */
export interface PromptEventJobPayload {
  body: string;
  receivedAt: string;
}

/** What the route needs. */
export interface LangfuseWebhookRouteDeps {
  /** LANGFUSE_WEBHOOK_SECRET; when unset the route answers 503 and accepts nothing. */
  secret: string | undefined;
  queue: Pick<JobQueue, 'enqueue'>;
  clock?: Clock;
  logger?: Logger;
  /** Called after a new job is enqueued, e.g. `worker.notify` so it runs at once. */
  onEnqueued?: () => void;
  maxBodyBytes?: number;
}

type Read = { ok: true; bytes: Uint8Array } | { ok: false };

async function readLimited(body: ReadableStream<Uint8Array> | null, limit: number): Promise<Read> {
  if (!body) return { ok: true, bytes: new Uint8Array() };
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      return { ok: false };
    }
    chunks.push(value);
  }
  return { ok: true, bytes: Buffer.concat(chunks) };
}

/**
 * Creates the Langfuse webhook app; mount it with `app.route('/webhooks/langfuse', route)`.
 * Answers: 200 accepted or duplicate · 400 malformed body (signature valid) · 401 missing, bad or stale
 * signature · 413 body over 1 MiB · 503 secret not configured or store unavailable (Langfuse retries).
 */
export function createLangfuseWebhookRoute(deps: LangfuseWebhookRouteDeps): Hono {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? createSilentLogger();
  const limit = deps.maxBodyBytes ?? MAX_WEBHOOK_BODY_BYTES;
  const app = new Hono();

  app.post('/', async (c) => {
    if (!deps.secret) {
      return c.json(
        {
          error:
            'Langfuse webhooks are off: set LANGFUSE_WEBHOOK_SECRET (Arbiter never accepts unsigned webhooks)',
        },
        503,
      );
    }
    const declared = Number(c.req.header('content-length'));
    if (Number.isFinite(declared) && declared > limit)
      return c.json({ error: 'body too large (max 1 MiB)' }, 413);
    const read = await readLimited(c.req.raw.body, limit);
    if (!read.ok) return c.json({ error: 'body too large (max 1 MiB)' }, 413);

    const verdict = verifyLangfuseSignature({
      secret: deps.secret,
      header: c.req.header('x-langfuse-signature'),
      rawBody: read.bytes,
      now: clock.now(),
    });
    if (!verdict.ok) {
      logger.warn({ reason: verdict.reason }, 'rejected a Langfuse webhook delivery');
      return c.json({ error: 'invalid or expired signature' }, 401);
    }

    const text = new TextDecoder('utf-8', { fatal: false }).decode(read.bytes);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return c.json({ error: 'body is not JSON' }, 400);
    }
    const parsed = parseWebhookEvent(json);
    if (!parsed.ok) return c.json({ error: `malformed webhook body: ${parsed.error}` }, 400);

    const { event } = parsed.value;
    try {
      const payload: PromptEventJobPayload = { body: text, receivedAt: clock.now().toISOString() };
      const { job, created } = await deps.queue.enqueue({
        type: PROMPT_EVENT_JOB,
        payload,
        idempotencyKey: webhookIdempotencyKey(event.id),
      });
      if (!created) return c.json({ status: 'duplicate', id: event.id }, 200);
      deps.onEnqueued?.();
      logger.info({ event: event.id, type: event.type, job: job._id }, 'Langfuse webhook accepted');
      return c.json({ status: 'accepted', id: event.id }, 200);
    } catch (err) {
      logger.error({ err, event: event.id }, 'could not enqueue a Langfuse webhook; Langfuse will retry');
      return c.json({ error: 'temporarily unavailable' }, 503);
    }
  });
  return app;
}
