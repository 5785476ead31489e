import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from '../config/index.ts';
import { createLangfuseWebhookRoute } from '../prompts/index.ts';
import type { DocumentStore, JobQueue, Worker } from '../storage/index.ts';

/** What the HTTP routes need. */
export interface HttpDeps {
  store: DocumentStore;
  worker: Worker;
  queue: JobQueue;
  startedAt: Date;
  version: string;
  /** LANGFUSE_WEBHOOK_SECRET; without it the webhook answers 503 and accepts nothing. */
  langfuseWebhookSecret?: string | undefined;
  logger?: Logger;
  /** POST /slack/events handler (Slack HTTP mode); absent when Slack is off or in Socket Mode. */
  slackEvents?: ((req: Request) => Promise<Response>) | undefined;
  /** HTTP_MAX_BODY_BYTES: larger request bodies are refused with 413 on every route (default 1 MiB). */
  maxBodyBytes?: number;
  /** The report pages (/r/… behind signed links, /assets/…), from web/. */
  reports?: Hono;
}

/** Default cap on a request body (HTTP_MAX_BODY_BYTES): Slack payloads and Langfuse webhooks are a few KB. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** The bot's HTTP app: /healthz, the Langfuse webhook, the report pages and, in Slack HTTP mode, POST /slack/events. */
export function createHttpApp(deps: HttpDeps): Hono {
  const app = new Hono();
  const maxBodyBytes = deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

  // Before any route reads a body: a declared Content-Length over the cap is refused at once, unread (the server
  // then discards what the client still sends); a chunked body is counted as it streams and refused as soon as it
  // passes the cap, so no more than the cap is ever held in memory, whoever sends it and whatever it claims.
  app.use(
    '*',
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: (c) => {
        deps.logger?.warn(
          { path: c.req.path, contentLength: c.req.header('content-length') ?? null, maxBodyBytes },
          'request refused: body larger than HTTP_MAX_BODY_BYTES',
        );
        return c.json({ error: 'payload too large', maxBytes: maxBodyBytes }, 413, { connection: 'close' });
      },
    }),
  );

  app.get('/healthz', async (c) => {
    const store = await deps.store.ping();
    const worker = deps.worker.stats();
    // The store's ping includes a write probe: a full disk, a read-only remount or removed data files fail it, so
    // a load balancer stops sending commands this process would have to refuse.
    const reason = !store.ok
      ? `store: ${store.error ?? 'unavailable'}`
      : worker.stopping
        ? 'shutting down'
        : undefined;
    const body = {
      status: reason ? 'unavailable' : 'ok',
      ...(reason ? { reason } : {}),
      version: deps.version,
      uptimeSeconds: Math.round((Date.now() - deps.startedAt.getTime()) / 1000),
      store: {
        kind: deps.store.kind,
        ok: store.ok,
        latencyMs: Number(store.latencyMs.toFixed(2)),
        ...(store.error ? { error: store.error } : {}),
      },
      worker: {
        running: worker.running,
        succeeded: worker.succeeded,
        failed: worker.failed,
        cancelled: worker.cancelled,
        stopping: worker.stopping,
      },
    };
    return c.json(body, body.status === 'ok' ? 200 : 503);
  });

  app.route(
    '/webhooks/langfuse',
    createLangfuseWebhookRoute({
      secret: deps.langfuseWebhookSecret,
      queue: deps.queue,
      onEnqueued: () => deps.worker.notify(),
      ...(deps.logger ? { logger: deps.logger } : {}),
    }),
  );

  if (deps.reports) app.route('/', deps.reports);

  const slackEvents = deps.slackEvents;
  if (slackEvents) app.post('/slack/events', (c) => slackEvents(c.req.raw));

  app.notFound((c) => c.json({ error: 'not found', path: c.req.path }, 404));
  app.onError((_err, c) => c.json({ error: 'internal error' }, 500));
  return app;
}
