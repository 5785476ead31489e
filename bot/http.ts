import { Hono } from 'hono';
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
}

/** The bot's HTTP app: /healthz, the Langfuse webhook and, in Slack HTTP mode, POST /slack/events. */
export function createHttpApp(deps: HttpDeps): Hono {
  const app = new Hono();

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

  const slackEvents = deps.slackEvents;
  if (slackEvents) app.post('/slack/events', (c) => slackEvents(c.req.raw));

  app.notFound((c) => c.json({ error: 'not found', path: c.req.path }, 404));
  app.onError((_err, c) => c.json({ error: 'internal error' }, 500));
  return app;
}
