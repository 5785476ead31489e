// Prompt-change alerts end to end: signed deliveries through the route, the job worker, a recording Transport
// (our own port) and Langfuse faked at the HTTP boundary with nock.
import { Hono } from 'hono';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSilentLogger } from '../config/index.ts';
import { createManualClock } from '../config/runtime.ts';
import { renderBlocks } from '../bot/render-blocks.ts';
import { createLangfuseClient } from '../langfuse/client.ts';
import {
  createLangfuseWebhookRoute,
  createProductionVersionLookup,
  createPromptActionHandler,
  createPromptCache,
  createPromptEventHandlers,
  openPromptActions,
} from '../prompts/index.ts';
import { handlePromptAction, type RunLaunchOptions } from '../prompts/suites.ts';
import { createRecordingTransport, promptVersionBody, signedHeaders } from '../prompts/testing.ts';
import {
  createJobQueue,
  createWorker,
  type DocumentStore,
  type JobQueue,
  type Worker,
} from '../storage/index.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { tempDir } from './helpers/tmp.ts';

const SECRET = 'lf-whsec_test-secret-0123456789';
const LF = 'https://langfuse.test';

async function until(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('prompt-change alerts', () => {
  let store: DocumentStore;
  let queue: JobQueue;
  let worker: Worker;
  let app: Hono;
  let transport: ReturnType<typeof createRecordingTransport>;
  let launched: { suite: string; options: RunLaunchOptions }[];
  let cleanup: () => void;
  let cache: ReturnType<typeof createPromptCache>;

  beforeEach(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect('127.0.0.1');
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    store = await createEmbeddedStore({ dir: tmp.dir, autocompactMs: 0 });
    queue = await createJobQueue(store, { backoffBaseMs: 10, backoffMaxMs: 20 });
    transport = createRecordingTransport();
    launched = [];
    cache = createPromptCache({
      client: createLangfuseClient({ baseUrl: LF, publicKey: 'pk-lf-1', secretKey: 'sk-lf-1' }),
    });
    const handlers = await createPromptEventHandlers({
      store,
      queue,
      transport,
      cache,
      channelFor: (name) => (name.startsWith('silent') ? undefined : 'C-ALERTS'),
      settleMs: 80,
      langfuseBaseUrl: LF,
      suites: {
        suitesWatching: (name) =>
          name === 'support-bot'
            ? [{ name: 'support-smoke', onChange: 'run' as const }, { name: 'support-full' }]
            : [],
      },
      launcher: {
        async startRun(suite, options) {
          launched.push({ suite, options });
          return { runId: `run_${launched.length}` };
        },
      },
    });
    worker = createWorker({
      queue,
      handlers,
      concurrency: 4,
      leaseMs: 5000,
      pollMs: 5,
      logger: createSilentLogger(),
    });
    worker.start();
    app = new Hono().route(
      '/webhooks/langfuse',
      createLangfuseWebhookRoute({ secret: SECRET, queue, onEnqueued: () => worker.notify() }),
    );
  });

  afterEach(async () => {
    await worker.stop(0);
    await store.close();
    cleanup();
    nock.cleanAll();
    nock.enableNetConnect();
  });

  async function deliver(body: Record<string, unknown>) {
    const raw = JSON.stringify(body);
    const res = await app.request('/webhooks/langfuse', {
      method: 'POST',
      body: raw,
      headers: signedHeaders(SECRET, raw),
    });
    expect(res.status).toBe(200);
  }
  const mains = () => transport.posts.filter((p) => !p.threadTs);

  it('a created version: one alert with the diff against the previous version (read from Langfuse) and the full diff in the thread', async () => {
    const scope = nock(LF)
      .get('/api/public/v2/prompts/support-bot')
      .query({ version: '3' })
      .reply(200, {
        name: 'support-bot',
        version: 3,
        type: 'text',
        prompt: 'You are helpful.\nBe brief.',
        config: { temperature: 0.2 },
        labels: ['production'],
        tags: [],
      });
    await deliver(
      promptVersionBody({
        id: 'e1',
        action: 'created',
        version: 4,
        labels: ['latest'],
        prompt: 'You are helpful.\nBe very brief.',
        commitMessage: 'tighter',
      }),
    );
    await until(() => mains().length === 1 && transport.posts.length === 2);
    scope.done();
    const [main, reply] = transport.posts;
    expect(main!.channel).toBe('C-ALERTS');
    expect(main!.message.summary).toBe('support-bot: v4 created; latest: set on v4 by alice');
    expect(JSON.stringify(main!.message)).toContain('tighter');
    expect(JSON.stringify(main!.message)).toContain('+ Be very brief.');
    expect(reply!.threadTs).toBe(main!.ts);
    // Within Block Kit limits once rendered by bot/.
    const rendered = renderBlocks(main!.message);
    expect(rendered.blocks.length).toBeLessThanOrEqual(50);
    expect(rendered.warnings).toEqual([]);
    expect(launched).toEqual([]); // latest moved, not production: no auto-run
  });

  it('the two "updated" events of a label move post one alert that says what moved, and start the onChange suite once', async () => {
    await deliver(
      promptVersionBody({
        id: 'u4',
        action: 'updated',
        version: 4,
        labels: ['production'],
        prompt: 'A\nnew',
      }),
    );
    await deliver(
      promptVersionBody({ id: 'u3', action: 'updated', version: 3, labels: [], prompt: 'A\nold' }),
    );
    await until(async () => (await queue.list({ type: 'prompt.alert', status: 'succeeded' })).length === 1);
    await new Promise((r) => setTimeout(r, 150));
    expect(mains()).toHaveLength(1);
    const msg = mains()[0]!.message;
    expect(msg.summary).toBe('support-bot: production: v3 → v4 by alice');
    expect(JSON.stringify(msg)).toContain('- old');
    const buttons = msg.sections.flatMap((s) => (s.kind === 'buttons' ? s.buttons : []));
    expect(buttons.map((b) => b.text)).toEqual([
      'Run support-smoke',
      'Compare support-smoke with production',
      'Run support-full',
      'Compare support-full with production',
    ]);
    expect(launched).toEqual([
      {
        suite: 'support-smoke',
        options: expect.objectContaining({ prompt: { name: 'support-bot', version: 4 }, reason: 'auto' }),
      },
    ]);

    // The buttons carry opaque tokens; clicking them starts runs through the launcher.
    const actions = await openPromptActions(store);
    const deps = {
      actions,
      launcher: {
        startRun: async (suite: string, options: RunLaunchOptions) => {
          launched.push({ suite, options });
          return { runId: `run_${launched.length}` };
        },
      },
      productionVersion: async () => 4,
      clock: createManualClock(),
      logger: createSilentLogger(),
    };
    const run = await handlePromptAction(deps, {
      actionId: buttons[0]!.actionId,
      value: buttons[0]!.value,
      user: 'U1',
    });
    expect(run.summary).toMatch(/Started support-smoke on support-bot v4/);
    const compare = await handlePromptAction(deps, {
      actionId: buttons[1]!.actionId,
      value: buttons[1]!.value,
      user: 'U1',
    });
    expect(compare.summary).toMatch(/on v4 .* and on production v3/);
    expect(
      launched
        .slice(-2)
        .map((l) => l.options.prompt.version)
        .sort(),
    ).toEqual([3, 4]);
    expect(
      (await handlePromptAction(deps, { actionId: 'prompt:run_suite', value: 'pa_unknown', user: 'U1' }))
        .ephemeral,
    ).toBe(true);

    // The production version comes from the label state the webhook keeps; the buttons' action handler wraps it.
    const lookup = createProductionVersionLookup({ store });
    expect(await lookup('support-bot')).toBe(4);
    expect(await lookup('no-such-prompt')).toBeUndefined();
    const handler = createPromptActionHandler({ ...deps, productionVersion: lookup });
    expect(handler.role).toBe('admin');
    const clicked = await handler.handle(
      { actionId: buttons[0]!.actionId, value: buttons[0]!.value },
      { user: 'U9', key: 'click-1' },
    );
    expect(clicked.reply?.summary).toMatch(/Started support-smoke on support-bot v4/);
    expect(launched.at(-1)!.options.requestedBy).toBe('U9');
    const expired = await handler.handle(
      { actionId: 'prompt:run_suite', value: 'pa_unknown' },
      { user: 'U9', key: 'click-2' },
    );
    expect(expired.reply).toBeUndefined();
    expect(expired.ephemeral?.summary).toMatch(/expired/);
  });

  it('Slack down when the alert is due: retried from the job queue, posted exactly once', async () => {
    transport.failNext(3);
    await deliver(promptVersionBody({ id: 'd1', action: 'updated', version: 2, labels: ['production'] }));
    await deliver(promptVersionBody({ id: 'd2', action: 'updated', version: 1, labels: [] }));
    await until(async () => (await queue.list({ type: 'prompt.alert', status: 'succeeded' })).length === 1);
    expect(transport.attempts).toBeGreaterThan(3);
    expect(mains()).toHaveLength(1);
    const [job] = await queue.list({ type: 'prompt.alert' });
    expect(job!.attempts).toBeGreaterThanOrEqual(2);
    // Re-running the finished alert job (a crash after the post, say) posts nothing more.
    const before = transport.posts.length;
    await queue.enqueue({ type: 'prompt.alert', payload: job!.payload });
    worker.notify();
    await until(async () => (await queue.list({ type: 'prompt.alert', status: 'succeeded' })).length === 2);
    expect(transport.posts.length).toBe(before);
  });

  it('replayed deliveries and replayed jobs change nothing', async () => {
    const body = promptVersionBody({ id: 'r1', action: 'deleted', version: 2, labels: [] });
    await deliver(body);
    await deliver(body);
    await until(async () => (await queue.list({ type: 'prompt.alert', status: 'succeeded' })).length === 1);
    const [eventJob] = await queue.list({ type: 'prompt.event' });
    expect(await queue.list({ type: 'prompt.event' })).toHaveLength(1);
    await queue.enqueue({ type: 'prompt.event', payload: eventJob!.payload }); // the same event handled again
    worker.notify();
    await until(async () => (await queue.list({ type: 'prompt.event', status: 'succeeded' })).length === 2);
    await new Promise((r) => setTimeout(r, 150));
    expect(mains()).toHaveLength(1);
    expect(mains()[0]!.message.summary).toBe('support-bot: v2 deleted by alice');
  });

  it('a monitor-alert is forwarded once; a prompt without a channel is recorded but not posted', async () => {
    const monitor = {
      id: 'm1',
      type: 'monitor-alert',
      timestamp: '2026-01-01T00:00:00Z',
      name: 'latency p95',
      value: 3.2,
    };
    await deliver(monitor);
    await deliver(monitor);
    await deliver(promptVersionBody({ id: 's1', action: 'created', version: 1, name: 'silent-bot' }));
    await until(async () => (await queue.list({ type: 'prompt.alert', status: 'succeeded' })).length === 1);
    await until(() => transport.posts.length === 1);
    expect(transport.posts[0]!.message.title).toBe('Langfuse monitor alert: latency p95');
    const alerts = await (await store.collection('prompt_alerts')).find({});
    expect(alerts.map((a) => (a as unknown as { status: string }).status).sort()).toEqual([
      'posted',
      'skipped',
    ]);
  });

  it('invalidates the prompt cache on a prompt event', async () => {
    nock(LF)
      .get('/api/public/v2/prompts/support-bot')
      .times(2)
      .reply(200, () => ({
        name: 'support-bot',
        version: 3,
        type: 'text',
        prompt: 'x',
        config: {},
        labels: ['production'],
        tags: [],
      }));
    const first = await cache.get('support-bot');
    expect(first.ok ? 'ok' : first.error.message).toBe('ok');
    await deliver(promptVersionBody({ id: 'c1', action: 'updated', version: 3, labels: ['production'] }));
    await until(async () => (await queue.list({ type: 'prompt.event', status: 'succeeded' })).length === 1);
    expect(cache.stats().invalidations).toBe(1);
    expect(await cache.get('support-bot')).toMatchObject({ ok: true, value: { source: 'fresh' } });
  });
});
