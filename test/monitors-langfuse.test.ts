// The Langfuse source and score publishing against nock serving the real API shapes: cursor paging, 429s,
// malformed records, bad credentials, deterministic score ids.
import { join } from 'node:path';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../config/index.ts';
import { createLangfuseClient } from '../langfuse/index.ts';
import {
  createMonitorStore,
  type Monitor,
  MonitorSchema,
  type MonitorDeps,
  runTick,
  scoreId,
  traceUrl,
} from '../monitors/index.ts';
import { createRecordingTransport } from '../prompts/testing.ts';
import { createEmbeddedStore, createLeases, type DocumentStore } from '../storage/index.ts';
import { tempDir } from './helpers/tmp.ts';

const LF = 'https://langfuse.test';
const client = () =>
  createLangfuseClient({ baseUrl: LF, publicKey: 'pk-lf-1', secretKey: 'sk-lf-secret', timeoutMs: 2000 });

function obs(
  id: string,
  traceId: string,
  startTime: string,
  input: unknown,
  output: unknown,
  type = 'GENERATION',
) {
  return {
    id,
    traceId,
    type,
    startTime,
    endTime: startTime,
    projectId: 'proj1',
    parentObservationId: null,
    name: 'chat',
    input,
    output,
    metadata: { env: 'prod' },
  };
}

const chatIn = (q: string) => [
  { role: 'system', content: 'You are Acme support.' },
  { role: 'user', content: q },
];

function monitor(extra: Record<string, unknown> = {}): Monitor {
  return MonitorSchema.parse({
    name: 'lf',
    schedule: { every: '1h' },
    source: { type: 'langfuse', pageSize: 2, lookback: '1h', observationType: 'GENERATION' },
    extract: { input: 'generation.input[-1].content', output: 'generation.output' },
    metrics: [{ metric: 'refusal', name: 'no-refusal' }],
    publish: { channel: '#c', langfuse: true },
    ...extra,
  });
}

let dir: string;
let cleanup: () => void;
let store: DocumentStore;
beforeEach(async () => {
  nock.disableNetConnect();
  ({ dir, cleanup } = tempDir());
  store = await createEmbeddedStore({ dir: join(dir, 'data'), autocompactMs: 0 });
});
afterEach(async () => {
  nock.cleanAll();
  nock.enableNetConnect();
  await store.close();
  cleanup();
});

async function deps(): Promise<MonitorDeps & { transport: ReturnType<typeof createRecordingTransport> }> {
  const clock = createManualClock('2026-11-20T10:00:00Z');
  return {
    store: await createMonitorStore(store),
    leases: await createLeases(store, { clock }),
    transport: createRecordingTransport(),
    clock,
    owner: 'a',
    langfuse: client(),
    langfuseBaseUrl: LF,
    sleep: async () => {},
  };
}

describe('langfuse source', () => {
  it('pages with the cursor, groups per trace, links every item to its trace, and publishes with stable ids', async () => {
    const queries: Record<string, string>[] = [];
    const scope = nock(LF)
      .get('/api/public/v2/observations')
      .query((q) => {
        queries.push(q as Record<string, string>);
        return !q.cursor;
      })
      .reply(200, {
        data: [
          obs('o1', 'tr1', '2026-11-20T09:10:00.000Z', chatIn('Where is my order?'), 'It shipped today.'),
          obs('o2', 'tr2', '2026-11-20T09:20:00.000Z', chatIn('Refund?'), "I can't help with that."),
        ],
        meta: { cursor: 'Y3Vyc29yMg==' },
      })
      .get('/api/public/v2/observations')
      .query((q) => q.cursor === 'Y3Vyc29yMg==')
      .reply(200, {
        data: [
          obs('o3', 'tr1', '2026-11-20T09:11:00.000Z', chatIn('Thanks, and the invoice?'), 'Sent by e-mail.'),
          { id: 'broken', type: 'GENERATION' },
        ],
        meta: {},
      });
    const bodies: { id: string; traceId: string; name: string; value: number }[] = [];
    const scores = nock(LF)
      .post('/api/public/scores', (b) => {
        bodies.push(b);
        return true;
      })
      .times(2)
      .reply(200, (_u, b) => ({ id: (b as { id: string }).id }));

    const d = await deps();
    const out = await runTick(monitor(), new Date('2026-11-20T10:00:00Z'), d);
    expect(out).toMatchObject({ status: 'succeeded', scored: 2, unmatched: 1, published: 2 });
    expect(scope.isDone() && scores.isDone()).toBe(true);
    expect(queries[0]).toMatchObject({
      limit: '2',
      type: 'GENERATION',
      fromStartTime: '2026-11-20T09:00:00.000Z',
      toStartTime: '2026-11-20T10:00:00.000Z',
      fields: 'core,basic,io,metadata',
    });
    // Grouped per trace: tr1's latest generation is the item.
    expect(bodies.map((b) => [b.traceId, b.name, b.value]).sort()).toEqual([
      ['tr1', 'no-refusal', 1],
      ['tr2', 'no-refusal', 0],
    ]);
    expect(bodies.find((b) => b.traceId === 'tr1')!.id).toBe(scoreId('lf', 'tr1', 'no-refusal'));
    const report = JSON.stringify(d.transport.posts[0]!.message);
    expect(report).toContain(traceUrl(LF, 'tr2', 'proj1'));
    expect(report).toContain('malformed observation');
  });

  it('the next tick starts at the watermark and skips what it already saw', async () => {
    const d = await deps();
    nock(LF)
      .get('/api/public/v2/observations')
      .query(true)
      .reply(200, { data: [obs('o1', 'tr1', '2026-11-20T09:10:00.000Z', chatIn('q'), 'a')], meta: {} });
    nock(LF).post('/api/public/scores').reply(200, { id: 'x' });
    await runTick(monitor(), new Date('2026-11-20T10:00:00Z'), d);
    let second: Record<string, string> | undefined;
    nock(LF)
      .get('/api/public/v2/observations')
      .query((q) => {
        second = q as Record<string, string>;
        return true;
      })
      .reply(200, {
        data: [
          obs('o1', 'tr1', '2026-11-20T09:10:00.000Z', chatIn('q'), 'a'),
          obs('o9', 'tr9', '2026-11-20T10:20:00.000Z', chatIn('new?'), 'yes'),
        ],
        meta: {},
      });
    nock(LF).post('/api/public/scores').reply(200, { id: 'y' });
    const out = await runTick(monitor(), new Date('2026-11-20T11:00:00Z'), d);
    expect(second?.fromStartTime).toBe('2026-11-20T09:10:00.000Z');
    expect(out).toMatchObject({ status: 'succeeded', read: 1, scored: 1 });
  });

  it('retries a 429 within the tick, honouring Retry-After', async () => {
    const waits: number[] = [];
    const d = { ...(await deps()), sleep: async (ms: number) => void waits.push(ms) };
    nock(LF)
      .get('/api/public/v2/observations')
      .query(true)
      .reply(429, 'slow down', { 'retry-after': '2' })
      .get('/api/public/v2/observations')
      .query(true)
      .reply(200, { data: [obs('o1', 'tr1', '2026-11-20T09:10:00.000Z', chatIn('q'), 'a')], meta: {} });
    nock(LF).post('/api/public/scores').reply(200, { id: 'x' });
    expect(await runTick(monitor(), new Date('2026-11-20T10:00:00Z'), d)).toMatchObject({
      status: 'succeeded',
      scored: 1,
    });
    expect(waits).toEqual([2000]);
  });

  it('bad credentials: tick failed with the reason, one alert, same watermark next time, nothing skipped', async () => {
    const d = await deps();
    const froms: string[] = [];
    nock(LF)
      .get('/api/public/v2/observations')
      .query((q) => {
        froms.push(String(q.fromStartTime));
        return true;
      })
      .times(2)
      .reply(401, { message: 'Invalid credentials' });
    const t1 = await runTick(monitor(), new Date('2026-11-20T10:00:00Z'), d);
    const t2 = await runTick(monitor(), new Date('2026-11-20T11:00:00Z'), d);
    expect(t1).toMatchObject({ status: 'failed', error: expect.stringMatching(/401.*LANGFUSE_PUBLIC_KEY/) });
    expect(t2.status).toBe('failed');
    expect(d.transport.posts.map((p) => p.message.title)).toEqual(['🚨 Monitor lf is failing']);
    expect(JSON.stringify(d.transport.posts[0]!.message)).not.toContain('sk-lf-secret');
    // Without a stored watermark both ticks look back from their own tick time; nothing was consumed.
    expect(froms).toEqual(['2026-11-20T09:00:00.000Z', '2026-11-20T10:00:00.000Z']);
    expect((await d.leases.lastTick('monitor:lf'))?.status).toBe('failed');
  });

  it('a crash after scoring but before publishing re-publishes next tick with the same ids, never twice in store', async () => {
    const d = await deps();
    nock(LF)
      .get('/api/public/v2/observations')
      .query(true)
      .reply(200, { data: [obs('o1', 'tr1', '2026-11-20T09:10:00.000Z', chatIn('q'), 'a')], meta: {} });
    nock(LF).post('/api/public/scores').reply(503, 'down');
    const t1 = await runTick(monitor(), new Date('2026-11-20T10:00:00Z'), d);
    expect(t1).toMatchObject({ status: 'succeeded', scored: 1, published: 0, publishFailed: 1 });
    const ids: string[] = [];
    nock(LF)
      .post('/api/public/scores', (b) => {
        ids.push(b.id);
        return true;
      })
      .reply(200, { id: 'x' });
    nock(LF).get('/api/public/v2/observations').query(true).reply(200, { data: [], meta: {} });
    const t2 = await runTick(monitor(), new Date('2026-11-20T11:00:00Z'), d);
    expect(t2).toMatchObject({ status: 'succeeded', scored: 0, published: 1 });
    expect(ids).toEqual([scoreId('lf', 'tr1', 'no-refusal')]);
    expect(await d.store.unpublished('lf')).toEqual([]);
  });
});
