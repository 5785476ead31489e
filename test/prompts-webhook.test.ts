// The webhook through the real HTTP route: signatures computed exactly as Langfuse does (DESIGN.md), raw-body
// handling, replay window, size limit, dedupe through the job queue, and a real node HTTP server.
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPromptEventHandlers, createLangfuseWebhookRoute } from '../prompts/index.ts';
import { PROMPT_EVENT_JOB } from '../prompts/webhook-route.ts';
import { createRecordingTransport, promptVersionBody, signedHeaders } from '../prompts/testing.ts';
import { createJobQueue, createWorker, type DocumentStore, type JobQueue } from '../storage/index.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { tempDir } from './helpers/tmp.ts';

const SECRET = 'lf-whsec_test-secret-0123456789';

describe('POST /webhooks/langfuse', () => {
  let store: DocumentStore;
  let queue: JobQueue;
  let app: Hono;
  let cleanup: () => void;

  beforeEach(async () => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    store = await createEmbeddedStore({ dir: tmp.dir, autocompactMs: 0 });
    queue = await createJobQueue(store);
    app = new Hono();
    app.route('/webhooks/langfuse', createLangfuseWebhookRoute({ secret: SECRET, queue }));
  });
  afterEach(async () => {
    await store.close();
    cleanup();
  });

  const post = (body: string, headers: Record<string, string>) =>
    app.request('/webhooks/langfuse', { method: 'POST', body, headers });
  const jobs = () => queue.list({ type: PROMPT_EVENT_JOB });
  const raw = JSON.stringify(
    promptVersionBody({ id: 'evt_1', action: 'created', version: 4, labels: ['latest'] }),
  );

  it('accepts a correctly signed delivery and enqueues one job', async () => {
    const res = await post(raw, signedHeaders(SECRET, raw));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'accepted', id: 'evt_1' });
    const [job] = await jobs();
    expect(job).toMatchObject({
      type: 'prompt.event',
      idempotencyKey: 'langfuse-webhook:evt_1',
      payload: { body: raw },
    });
  });

  it('rejects a body re-serialized with other spacing (the signature covers the raw bytes)', async () => {
    const headers = signedHeaders(SECRET, raw);
    const res = await post(JSON.stringify(JSON.parse(raw), null, 1), headers);
    expect(res.status).toBe(401);
    expect(await jobs()).toHaveLength(0);
  });

  it.each([
    ['more than 5 minutes old', -301_000],
    ['more than 5 minutes ahead', 301_000],
  ])('rejects a timestamp %s', async (_name, offset) => {
    const res = await post(raw, signedHeaders(SECRET, raw, new Date(Date.now() + offset)));
    expect(res.status).toBe(401);
    expect(await jobs()).toHaveLength(0);
  });

  it('rejects a forged or missing signature', async () => {
    expect((await post(raw, signedHeaders('lf-whsec_attacker', raw))).status).toBe(401);
    expect((await post(raw, { 'content-type': 'application/json' })).status).toBe(401);
    expect(await jobs()).toHaveLength(0);
  });

  it('answers 400 to a malformed body with a valid signature', async () => {
    const notJson = '{"id": "evt_2", ';
    expect((await post(notJson, signedHeaders(SECRET, notJson))).status).toBe(400);
    const noPrompt = JSON.stringify({
      id: 'evt_3',
      type: 'prompt-version',
      action: 'created',
      timestamp: 'x',
    });
    const res = await post(noPrompt, signedHeaders(SECRET, noPrompt));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/prompt/);
    const noId = JSON.stringify({ type: 'prompt-version' });
    expect((await post(noId, signedHeaders(SECRET, noId))).status).toBe(400);
    expect(await jobs()).toHaveLength(0);
  });

  it('refuses a body over 1 MiB before verifying anything', async () => {
    const big = JSON.stringify({
      ...promptVersionBody({ id: 'evt_big', action: 'created', version: 1 }),
      pad: 'x'.repeat(1024 * 1024),
    });
    const res = await post(big, signedHeaders(SECRET, big));
    expect(res.status).toBe(413);
    expect(await jobs()).toHaveLength(0);
  });

  it('answers 200 to a repeat of the same payload id and enqueues nothing more', async () => {
    expect((await post(raw, signedHeaders(SECRET, raw))).status).toBe(200);
    const again = await post(raw, signedHeaders(SECRET, raw));
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ status: 'duplicate', id: 'evt_1' });
    expect(await jobs()).toHaveLength(1);
  });

  it('acknowledges and records an unknown event type, never an error', async () => {
    const body = JSON.stringify({
      id: 'evt_x',
      type: 'dataset-item',
      timestamp: '2026-01-01T00:00:00Z',
      data: { a: 1 },
    });
    expect((await post(body, signedHeaders(SECRET, body))).status).toBe(200);
    const handlers = await createPromptEventHandlers({
      store,
      queue,
      transport: createRecordingTransport(),
      channelFor: () => 'alerts',
    });
    const worker = createWorker({ queue, handlers, concurrency: 1, leaseMs: 5000, pollMs: 5 });
    worker.start();
    await worker.idle();
    await worker.stop(0);
    const [job] = await jobs();
    expect(job).toMatchObject({ status: 'succeeded', result: { kind: 'unknown', type: 'dataset-item' } });
    const recorded = await (await store.collection('langfuse_events')).findOne({ _id: 'evt_x' });
    expect(recorded).toMatchObject({ type: 'dataset-item', body });
  });

  it('answers 503 and accepts nothing when LANGFUSE_WEBHOOK_SECRET is unset', async () => {
    const off = new Hono().route(
      '/webhooks/langfuse',
      createLangfuseWebhookRoute({ secret: undefined, queue }),
    );
    const res = await off.request('/webhooks/langfuse', {
      method: 'POST',
      body: raw,
      headers: signedHeaders('', raw),
    });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: string }).error).toContain('LANGFUSE_WEBHOOK_SECRET');
    expect(await jobs()).toHaveLength(0);
  });

  it('works over a real node HTTP server (raw bytes, multi-byte characters included)', async () => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise<void>((r) => server.once('listening', () => r()));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/langfuse`;
      const body = JSON.stringify(
        promptVersionBody({ id: 'evt_utf8', action: 'created', version: 2, prompt: 'Grüße — 你好 👋' }),
      );
      const ok = await fetch(url, { method: 'POST', body, headers: signedHeaders(SECRET, body) });
      expect(ok.status).toBe(200);
      const forged = await fetch(url, {
        method: 'POST',
        body: body.replace('Grüße', 'Hallo'),
        headers: signedHeaders(SECRET, body),
      });
      expect(forged.status).toBe(401);
      expect(await jobs()).toHaveLength(1);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
