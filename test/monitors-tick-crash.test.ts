// A monitor tick killed at each of its phase boundaries, then finished by the next attempt: the tick's report, alert
// evaluation and summary happen exactly once, and no score marked published is POSTed to Langfuse again. The dead
// replica is the real tick runner on a store handle, transport and HTTP client that fail from the moment of the kill
// on (what a kill -9 does to a process's writes); the survivor is a second replica on the same store. Langfuse is
// faked at the HTTP boundary (nock) in its v2 shapes.
import { join } from 'node:path';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../config/runtime.ts';
import { createDigestTransport } from '../digests/testing.ts';
import { createLangfuseClient } from '../langfuse/client.ts';
import { createLlm } from '../llm/index.ts';
import { createMonitorStore, createTickLog, type Monitor, type MonitorDeps } from '../monitors/index.ts';
import { MonitorSchema } from '../monitors/schema.ts';
import { runDueTick } from '../monitors/tick.ts';
import { createLeases, type DocumentStore } from '../storage/index.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { answerObservations, chatInput, type FakeObservation } from './fixtures/fake-langfuse.ts';
import { tempDir } from './helpers/tmp.ts';

const LF = 'https://langfuse.test';
const T0 = new Date('2026-11-20T10:00:00Z');
const T1 = new Date('2026-11-20T10:30:00Z');
/** When the fake Langfuse answers (every observation ingested). */
const LATER = Date.parse('2026-11-20T12:00:00Z');

const obs = (id: string, minute: number, answer: string): FakeObservation => ({
  id,
  traceId: `tr-${id}`,
  startTime: new Date(Date.parse('2026-11-20T09:00:00Z') + minute * 60_000).toISOString(),
  name: 'chat',
  input: chatInput(`question ${id}?`),
  output: answer,
  metadata: {},
});

/** Four answers, two of them refusals: the `failing > 1` alert fires on the first tick. */
const FIRST = [
  obs('o1', 10, 'Here is how.'),
  obs('o2', 12, "I can't help with that."),
  obs('o3', 14, 'Sure, done.'),
  obs('o4', 16, "I can't help with that."),
];

function monitor(): Monitor {
  return MonitorSchema.parse({
    name: 'cr',
    schedule: { every: '30m' },
    source: { type: 'langfuse', lookback: '2h', observationType: 'GENERATION' },
    extract: { input: 'generation.input[-1].content', output: 'generation.output' },
    metrics: [{ metric: 'refusal', name: 'no-refusal' }],
    alerts: [{ on: 'failing', above: 1, severity: 'critical' }],
    publish: { channel: '#c', langfuse: true, worst: 1 },
  });
}

let dir: string;
let cleanup: () => void;
let store: DocumentStore;
let rows: FakeObservation[];
let scorePosts: string[];

/** One process: dead once killed, so nothing it does afterwards reaches the store, Slack or Langfuse. */
type Proc = { dead: boolean };

beforeEach(async () => {
  nock.disableNetConnect();
  ({ dir, cleanup } = tempDir());
  store = await createEmbeddedStore({ dir: join(dir, 'data'), autocompactMs: 0 });
  rows = [...FIRST];
  scorePosts = [];
  nock(LF)
    .persist()
    .get('/api/public/v2/observations')
    .query(true)
    .reply((uri) => {
      const url = new URL(uri, LF);
      const res = answerObservations('v4', rows, url.pathname, url.searchParams, LATER);
      return [res.status, res.body as nock.Body];
    });
  nock(LF)
    .persist()
    .post('/api/public/scores', (b: { id: string }) => {
      scorePosts.push(b.id);
      return true;
    })
    .reply((_uri, body) => [200, { id: (body as { id: string }).id }]);
});
afterEach(async () => {
  nock.cleanAll();
  nock.enableNetConnect();
  await store.close();
  cleanup();
});

const killed = () => new Error('killed (kill -9)');

/**
 * The store as one process sees it: once `kill` fires (when `at` matches a call on a collection, before or after
 * that write), every later call of this process fails, so it can neither finish the tick nor release its claims.
 */
function processStore(
  proc: Proc,
  at?: { collection: string; when: (method: string, args: unknown[]) => boolean; after: boolean },
) {
  let armed = at !== undefined;
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop !== 'collection') {
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      }
      return async (name: string, indexes?: Parameters<DocumentStore['collection']>[1]) => {
        const col = await target.collection(name, indexes);
        return new Proxy(col, {
          get(c, p, r) {
            const v = Reflect.get(c, p, r);
            if (typeof v !== 'function') return v;
            return async (...args: unknown[]) => {
              if (proc.dead) throw killed();
              const hit = armed && at!.collection === name && at!.when(String(p), args);
              if (hit && !at!.after) {
                armed = false;
                proc.dead = true;
                throw killed();
              }
              const out = await (v as (...a: unknown[]) => Promise<unknown>).apply(c, args);
              if (hit) {
                armed = false;
                proc.dead = true;
                throw killed();
              }
              return out;
            };
          },
        });
      };
    },
  });
}

type DigestTransport = ReturnType<typeof createDigestTransport>;
type Posts = ReturnType<DigestTransport['posts']>;

/** One replica: the real runner on `s`, with Slack and Langfuse calls that fail once its process is dead. */
async function replica(
  proc: Proc,
  s: DocumentStore,
  owner: string,
  clock: ReturnType<typeof createManualClock>,
  transport: DigestTransport,
) {
  const llm = createLlm({ env: {} });
  const deps: MonitorDeps = {
    store: await createMonitorStore(s),
    leases: await createLeases(s, { clock }),
    transport: {
      ...transport,
      async post(target, message, options) {
        if (proc.dead) throw killed();
        return transport.post(target, message, options);
      },
    },
    clock,
    owner,
    llm,
    judgeModel: 'offline:heuristic',
    langfuse: createLangfuseClient({
      baseUrl: LF,
      publicKey: 'pk-lf-1',
      secretKey: 'sk-lf-1',
      timeoutMs: 2000,
      fetch: (input, init) => (proc.dead ? Promise.reject(killed()) : fetch(input, init)),
    }),
    langfuseBaseUrl: LF,
    tickLog: await createTickLog(s),
    concurrency: 1,
  };
  return deps;
}

const reportsOf = (posts: Posts, tick: Date) =>
  posts.filter((p) => p.key === `monitor-tick|cr@${tick.toISOString()}`);

type KillPoint = {
  name: string;
  collection: string;
  when: (method: string, args: unknown[]) => boolean;
  after: boolean;
  /** Score ids that may be POSTed twice: one whose POST went out and whose mark did not. */
  resent: number;
};

const phaseWrite = (phase: string) => (method: string, args: unknown[]) =>
  method === 'updateOne' && (args[1] as { $set?: { phase?: string } }).$set?.phase === phase;
let inserts = 0;
let marks = 0;

const POINTS: KillPoint[] = [
  {
    name: 'mid-scoring, after 2 of 4 items stored',
    collection: 'monitor_scored',
    when: (m) => m === 'insertOne' && ++inserts === 2,
    after: true,
    resent: 0,
  },
  {
    name: 'before the scored mark',
    collection: 'monitor_tick_runs',
    when: phaseWrite('scored'),
    after: false,
    resent: 0,
  },
  {
    name: 'after the scored mark',
    collection: 'monitor_tick_runs',
    when: phaseWrite('scored'),
    after: true,
    resent: 0,
  },
  {
    name: 'mid-publish, between a score POST and its published mark',
    collection: 'monitor_scored',
    when: (m) => m === 'updateMany' && ++marks === 2,
    after: false,
    resent: 1,
  },
  {
    name: 'mid-publish, after 2 items marked published',
    collection: 'monitor_scored',
    when: (m) => m === 'updateMany' && ++marks === 2,
    after: true,
    resent: 0,
  },
  {
    name: 'after the evaluation is kept',
    collection: 'monitor_tick_runs',
    when: phaseWrite('evaluated'),
    after: true,
    resent: 0,
  },
  {
    name: 'after the state is saved',
    collection: 'monitor_state',
    when: (m) => m === 'updateOne',
    after: true,
    resent: 0,
  },
  {
    name: 'after the reporting mark, before the post',
    collection: 'monitor_tick_runs',
    when: phaseWrite('reporting'),
    after: true,
    resent: 0,
  },
  {
    name: 'after the report is posted',
    collection: 'monitor_tick_runs',
    when: phaseWrite('reported'),
    after: false,
    resent: 0,
  },
  {
    name: 'after the reported mark',
    collection: 'monitor_tick_runs',
    when: phaseWrite('reported'),
    after: true,
    resent: 0,
  },
  {
    name: 'after the summary is written',
    collection: 'monitor_ticks',
    when: (m) => m === 'updateOne',
    after: true,
    resent: 0,
  },
  {
    name: 'after the done mark',
    collection: 'monitor_tick_runs',
    when: phaseWrite('done'),
    after: true,
    resent: 0,
  },
];

describe('a tick killed at a phase boundary is finished by the next attempt', () => {
  for (const point of POINTS) {
    it(point.name, async () => {
      inserts = 0;
      marks = 0;
      const clock = createManualClock('2026-11-20T10:05:00Z');
      const transport = createDigestTransport();
      const proc: Proc = { dead: false };
      const doomed = await replica(proc, processStore(proc, point), 'doomed', clock, transport);
      const m = monitor();
      const first = await runDueTick(m, doomed);
      expect(proc.dead).toBe(true);
      expect(first.status).toBe('failed');

      // The survivor's next wake-ups: the dead replica's claim lapses after 30 s, then it takes the tick over.
      const survivor = await replica({ dead: false }, store, 'survivor', clock, transport);
      clock.advance(31_000);
      const resumed = await runDueTick(m, survivor);
      expect(resumed).toMatchObject({ status: 'succeeded', tickTime: T0, scored: 4 });

      // The report: exactly once, with every item and the alert that fired.
      const reports = reportsOf(transport.posts(), T0);
      expect(reports).toHaveLength(1);
      expect(reports[0]!.message.title).toBe('🚨 Monitor cr: 4 scored, 2 failing');
      expect(JSON.stringify(reports[0]!.message)).toMatch(/CRITICAL: failing items > 1/);
      // The summary: once, with the four items and the alert.
      const ticks = await survivor.tickLog!.listTicks(T0, new Date(T0.getTime() + 1));
      expect(ticks.map((t) => [t.scored, t.failing, t.alerts.map((a) => a.kind)])).toEqual([
        [4, 2, ['fired']],
      ]);
      // The alert evaluation: applied once (one history entry, the rule firing).
      const state = await survivor.store.getState('cr');
      expect(state.history.map((h) => [h.tickTime, h.scored])).toEqual([[T0.toISOString(), 4]]);
      expect(Object.values(state.alerts).map((a) => a.firing)).toEqual([true]);
      // Scores: each item's once, but for one whose POST went out just before the kill.
      const perId = new Map<string, number>();
      for (const id of scorePosts) perId.set(id, (perId.get(id) ?? 0) + 1);
      expect(perId.size).toBe(4);
      expect([...perId.values()].filter((n) => n > 1)).toHaveLength(point.resent);
      expect(Math.max(...perId.values())).toBeLessThanOrEqual(2);
      expect(await survivor.store.unpublished('cr')).toEqual([]);

      // The next tick: one new answer; the alert is still firing, not fired again; nothing is scored twice.
      rows.push(obs('o5', 70, 'All set.'));
      clock.set(new Date(T1.getTime() + 60_000));
      const next = await runDueTick(m, survivor);
      expect(next).toMatchObject({ status: 'succeeded', tickTime: T1, scored: 1 });
      const later = reportsOf(transport.posts(), T1);
      expect(later).toHaveLength(1);
      expect(JSON.stringify(later[0]!.message)).toMatch(/RESOLVED: failing items > 1/);
      expect(await survivor.store.countScored('cr')).toBe(5);
    });
  }
});

describe('a tick whose report could not be posted', () => {
  it('is finished by the next tick, before that tick runs: one report each, in order', async () => {
    const clock = createManualClock('2026-11-20T10:05:00Z');
    const transport = createDigestTransport();
    const deps = await replica({ dead: false }, store, 'a', clock, transport);
    const m = monitor();
    transport.failNext(1);
    expect(await runDueTick(m, deps)).toMatchObject({
      status: 'failed',
      error: 'slack unavailable (simulated)',
    });
    expect(reportsOf(transport.posts(), T0)).toHaveLength(0);
    rows.push(obs('o5', 70, 'All set.'));
    clock.set(new Date(T1.getTime() + 60_000));
    expect(await runDueTick(m, deps)).toMatchObject({ status: 'succeeded', tickTime: T1, scored: 1 });
    const titles = transport.posts().map((p) => [p.key, p.message.title]);
    expect(titles).toEqual([
      [`monitor-tick|cr@${T0.toISOString()}`, '🚨 Monitor cr: 4 scored, 2 failing'],
      [`monitor-tick|cr@${T1.toISOString()}`, 'Monitor cr: 1 scored, 0 failing'],
    ]);
    const ticks = await deps.tickLog!.listTicks(T0, new Date(T1.getTime() + 1));
    expect(ticks.map((t) => [t.tickTime.toISOString(), t.scored])).toEqual([
      [T0.toISOString(), 4],
      [T1.toISOString(), 1],
    ]);
    expect(new Set(scorePosts).size).toBe(5);
    expect(scorePosts).toHaveLength(5);
  });
});
