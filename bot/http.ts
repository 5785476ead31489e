import { Hono } from 'hono';
import type { DocumentStore, Worker } from '../storage/index.ts';

/** What the HTTP routes need. */
export interface HttpDeps {
  store: DocumentStore;
  worker: Worker;
  startedAt: Date;
  version: string;
}

/** The bot's HTTP app: /healthz now; Slack events and Langfuse webhooks mount here as they land. */
export function createHttpApp(deps: HttpDeps): Hono {
  const app = new Hono();

  app.get('/healthz', async (c) => {
    const store = await deps.store.ping();
    const worker = deps.worker.stats();
    const body = {
      status: store.ok && !worker.stopping ? 'ok' : 'unavailable',
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
        stopping: worker.stopping,
      },
    };
    return c.json(body, body.status === 'ok' ? 200 : 503);
  });

  app.notFound((c) => c.json({ error: 'not found', path: c.req.path }, 404));
  app.onError((_err, c) => c.json({ error: 'internal error' }, 500));
  return app;
}
