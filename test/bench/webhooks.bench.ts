// Webhooks: 1,000 signed Langfuse deliveries (10% duplicates, 5% forged) from 20 concurrent clients against a
// real node HTTP server, embedded store, job queue and worker; exactly one alert per distinct genuine event.
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createLangfuseWebhookRoute, createPromptEventHandlers } from '../../prompts/index.ts';
import { createRecordingTransport, promptVersionBody, signedHeaders } from '../../prompts/testing.ts';
import { createJobQueue, createWorker } from '../../storage/index.ts';
import { createEmbeddedStore } from '../../storage/open.ts';
import { tempDir } from '../helpers/tmp.ts';
import { isMain, percentile, report } from './util.ts';

const SECRET = 'lf-whsec_bench-secret-0123456789';

/** Runs the webhook benchmark and returns its figures. */
export async function run(): Promise<Record<string, number | string>> {
  const { dir, cleanup } = tempDir('arbiter-bench-');
  const store = await createEmbeddedStore({ dir, autocompactMs: 0 });
  const transport = createRecordingTransport();
  try {
    const queue = await createJobQueue(store);
    const handlers = await createPromptEventHandlers({
      store,
      queue,
      transport,
      channelFor: () => 'C-BENCH',
      settleMs: 200,
    });
    const worker = createWorker({ queue, handlers, concurrency: 8, leaseMs: 30_000, pollMs: 10 });
    const app = new Hono().route(
      '/webhooks/langfuse',
      createLangfuseWebhookRoute({ secret: SECRET, queue, onEnqueued: () => worker.notify() }),
    );
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise<void>((r) => server.once('listening', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/langfuse`;
    worker.start();

    // 850 genuine events (each its own prompt, so each is its own alert), 100 repeats of them, 50 forgeries,
    // shuffled deterministically; a repeat is only sent after its original was.
    const total = 1000;
    const genuine = Array.from({ length: 850 }, (_, i) =>
      JSON.stringify(
        promptVersionBody({
          id: `evt_${i}`,
          action: 'created',
          version: 1,
          name: `prompt-${i}`,
          labels: ['production'],
        }),
      ),
    );
    type Delivery = { body: string; forged: boolean; dupOf?: number };
    const plan: Delivery[] = genuine.map((body) => ({ body, forged: false }));
    let seed = 42;
    const rand = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 100; i++) {
      const of = Math.floor(rand() * 800);
      plan.splice(of + 1 + Math.floor(rand() * (plan.length - of - 1)), 0, {
        body: genuine[of]!,
        forged: false,
        dupOf: of,
      });
    }
    for (let i = 0; i < 50; i++) {
      const body = JSON.stringify(
        promptVersionBody({ id: `forged_${i}`, action: 'created', version: 1, name: `evil-${i}` }),
      );
      plan.splice(Math.floor(rand() * plan.length), 0, { body, forged: true });
    }

    const latencies: number[] = [];
    const statuses = new Map<number, number>();
    let forgedAccepted = 0;
    let next = 0;
    const t0 = performance.now();
    const client = async () => {
      for (let i = next++; i < plan.length; i = next++) {
        const d = plan[i]!;
        const headers = signedHeaders(d.forged ? 'lf-whsec_attacker' : SECRET, d.body);
        const start = performance.now();
        const res = await fetch(url, { method: 'POST', body: d.body, headers });
        await res.arrayBuffer();
        latencies.push(performance.now() - start);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (d.forged && res.status !== 401) forgedAccepted += 1;
      }
    };
    await Promise.all(Array.from({ length: 20 }, client));
    const sendS = (performance.now() - t0) / 1000;

    const deadline = Date.now() + 120_000;
    const mains = () => transport.posts.filter((p) => !p.threadTs);
    while (mains().length < genuine.length && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 500)); // room for any double post to show up
    const drainS = (performance.now() - t0) / 1000;
    await worker.stop(1000);
    await new Promise<void>((r) => server.close(() => r()));

    const alertsByPrompt = new Map<string, number>();
    for (const p of mains())
      alertsByPrompt.set(p.message.title, (alertsByPrompt.get(p.message.title) ?? 0) + 1);
    const distinct = new Set(plan.filter((d) => !d.forged).map((d) => d.body)).size;
    const posted = mains().length;
    const once = posted === distinct && [...alertsByPrompt.values()].every((n) => n === 1);
    return report('webhooks: 1,000 signed deliveries (10% duplicates, 5% forged), 20 concurrent clients', {
      deliveries: plan.length === total ? total : `${plan.length} (expected ${total})`,
      'response p50 ms': percentile(latencies, 50),
      'response p99 ms': percentile(latencies, 99),
      'response max ms': Math.max(...latencies),
      'deliveries/s': plan.length / sendS,
      'status counts': [...statuses]
        .sort()
        .map(([s, n]) => `${s}:${n}`)
        .join(' '),
      'forged rejected (401)': plan.filter((d) => d.forged).length - forgedAccepted,
      'forged accepted': forgedAccepted,
      'distinct genuine events': distinct,
      'alerts posted': posted,
      'exactly one alert per genuine event': once ? 'yes' : 'NO',
      'seconds until every alert was posted': drainS,
    });
  } finally {
    await store.close();
    cleanup();
  }
}

if (isMain(import.meta.url)) await run();
