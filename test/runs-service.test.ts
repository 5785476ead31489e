// Runs end to end on the real store, job queue, worker and LangGraph engine, against a local agent endpoint.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import type { Metric } from '../evaluators/index.ts';
import { loadSuite, type RunService } from '../runs/index.ts';
import { createStoreCheckpointer } from '../runs/checkpointer.ts';
import { createItemGraph, runItem } from '../runs/engine.ts';
import { limitTarget, Permits } from '../runs/permits.ts';
import { createWorker, type DocumentStore, type JobQueue } from '../storage/index.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { startStubAgent, type StubServer } from './fixtures/runs-stub-server.ts';
import { drainRun, offlineRunService } from './helpers/runs.ts';
import { tempDir } from './helpers/tmp.ts';

let stub: StubServer;
beforeAll(async () => {
  stub = await startStubAgent({ latencyMs: 5 });
});
afterAll(() => stub.close());

interface Harness {
  dir: string;
  store: DocumentStore;
  queue: JobQueue;
  svc: RunService;
  drain(runId: string): Promise<void>;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function harness(engine: 'graph' | 'direct' = 'graph'): Promise<Harness> {
  const { dir, cleanup } = tempDir();
  const store = await createEmbeddedStore({ dir, autocompactMs: 0 });
  cleanups.push(cleanup, () => store.close());
  const { queue, svc } = await offlineRunService(store, {
    env: { AGENT_TOKEN: 'tok' },
    engine,
    progressIntervalMs: 0,
  });
  const drain = (runId: string) => drainRun(queue, svc, runId, { concurrency: 2 });
  return { dir, store, queue, svc, drain };
}

function writeSuite(dir: string, name: string, body: string, dataset: string, datasetName = 'data.jsonl') {
  writeFileSync(join(dir, datasetName), dataset);
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `name: ${name}\ndataset: ${datasetName}\n${body}`);
  return file;
}

const HTTP_DATA = [
  '{"input": "What is 2+2?", "expected": "4"}',
  '{"input": "please FAIL"}',
  '{"input": this is not json}',
  '{"input": "SLOW down"}',
  '{"input": "hello"}',
].join('\n');

describe('evaluation runs (store + worker + graph)', () => {
  it('runs an http suite: target errors and time-outs are recorded on items, bad rows in the report', async () => {
    const h = await harness();
    const file = writeSuite(
      h.dir,
      'agent',
      `target:
  type: http
  url: ${stub.url}/chat
  headers: { authorization: "Bearer \${ENV:AGENT_TOKEN}" }
  body: { message: "{{input}}" }
  answer: $.reply
  timeoutMs: 300
metrics:
  - name: contains
    args: { value: "You asked" }
threshold: 0.5
concurrency: 3
`,
      HTTP_DATA,
    );
    const suite = loadSuite(file, { AGENT_TOKEN: 'tok' });
    const { runId, created } = await h.svc.startRun(suite);
    expect(created).toBe(true);
    await h.drain(runId);
    const run = (await h.svc.getRun(runId))!;
    expect(run.status).toBe('completed');
    expect(run.datasetErrors).toEqual([{ row: 3, reason: expect.stringMatching(/not valid JSON/) }]);
    // The two target failures are errored items: neither passed nor failed, left out of the mean, and (with no
    // --max-errors) they keep the run from passing as infrastructure trouble.
    expect(run.summary).toMatchObject({
      total: 4,
      finished: 4,
      errors: 2,
      errorCauses: { target: 2, provider: 0, input: 0, metric: 0 },
      passed: 2,
      failed: 0,
      passRate: 1,
    });
    expect(run.summary!.meanScore).toBeCloseTo(1, 9);
    expect(run.summary!.gate).toMatchObject({
      kind: 'mean-score',
      passed: false,
      verdict: 'errored',
      errorKind: 'infrastructure',
    });
    const items = await h.svc.items(runId);
    const byInput = new Map(items.map((v) => [v.item.input, v]));
    expect(byInput.get('please FAIL')!.doc).toMatchObject({
      status: 'error',
      errorCause: 'target',
      error: expect.stringMatching(/^HTTP 500/),
    });
    expect(byInput.get('SLOW down')!.doc).toMatchObject({ status: 'error', error: 'timed out after 300 ms' });
    expect(byInput.get('hello')!.result).toMatchObject({
      output: 'You asked: hello',
      stopReason: 'single-turn',
    });
    expect(stub.requests.some((r) => r.headers.authorization === 'Bearer tok')).toBe(true);
    // Checkpoints are dropped once every item is stored.
    expect(await (await h.store.collection('run_checkpoints')).count({})).toBe(0);
  });

  it('concurrency limits requests to the target, and both engines use every permit', async () => {
    for (const engine of ['graph', 'direct'] as const) {
      const own = await startStubAgent({ latencyMs: 20, keepRequests: false });
      cleanups.push(() => own.close());
      const h = await harness(engine);
      const file = writeSuite(
        h.dir,
        `limited-${engine}`,
        `target: { type: http, url: "${own.url}/chat", body: { message: "{{input}}" }, answer: reply }
metrics: [{ name: contains, args: { value: "You asked" } }]
threshold: 0.5
concurrency: 3
`,
        Array.from({ length: 30 }, (_, i) => JSON.stringify({ input: `q${i}` })).join('\n'),
      );
      const { runId } = await h.svc.startRun(loadSuite(file));
      await h.drain(runId);
      expect((await h.svc.getRun(runId))!.summary).toMatchObject({ finished: 30, errors: 0 });
      // Twice as many items are in flight as permits, yet the target never sees more than three requests at once.
      expect(own.maxInFlight).toBe(3);
    }
  });

  it('an item being scored holds no permit: the next request goes out meanwhile', async () => {
    const { dir, cleanup } = tempDir();
    const store = await createEmbeddedStore({ dir, autocompactMs: 0 });
    cleanups.push(cleanup, () => store.close());
    const events: string[] = [];
    const permits = new Permits(1);
    const slowMetric: Metric = {
      name: 'slow',
      kind: 'heuristic',
      async score(item) {
        events.push(`score ${item.input} start`);
        await new Promise((r) => setTimeout(r, 30));
        events.push(`score ${item.input} end`);
        return { metric: 'slow', value: 1, label: 'pass', reason: 'ok' };
      },
    };
    const engine = createItemGraph({
      target: limitTarget(
        {
          type: 'fake',
          recorded: false,
          respond: async (req) => {
            events.push(`call ${req.item.input}`);
            return { ok: true, text: 'answer', latencyMs: 1 };
          },
        },
        permits,
      ),
      metrics: [slowMetric],
      checkpointer: await createStoreCheckpointer(store),
    });
    await Promise.all(
      ['a', 'b'].map((input, i) => runItem(engine, { key: input, row: i + 1, input }, `run_p::${input}`)),
    );
    expect(events.indexOf('call b')).toBeGreaterThan(events.indexOf('call a'));
    expect(events.indexOf('call b')).toBeLessThan(events.indexOf('score a end'));
    expect(permits.maxInUse).toBe(1);
  });

  it('records progress on the run and the job, and a second start of the same suite resumes it', async () => {
    const h = await harness('direct');
    const data = Array.from({ length: 20 }, (_, i) =>
      JSON.stringify({ input: `q${i}`, output: `a${i}` }),
    ).join('\n');
    const file = writeSuite(
      h.dir,
      'rec',
      'target: { type: recorded }\nmetrics: [{ name: length, args: { max: 5 } }]\nthreshold: 1\n',
      data,
    );
    const suite = loadSuite(file);
    const first = await h.svc.startRun(suite, { concurrency: 4 });
    const again = await h.svc.startRun(suite);
    expect(again).toMatchObject({ runId: first.runId, created: false, resumed: true });
    await h.drain(first.runId);
    const run = (await h.svc.getRun(first.runId))!;
    expect(run.progress).toEqual({ done: 20, total: 20, errors: 0, meanScore: 1 });
    expect((await h.queue.get(run.jobId!))?.progress).toMatchObject({ done: 20, total: 20 });
    // Finished: a new start is a new run.
    expect((await h.svc.startRun(suite)).created).toBe(true);
    // An idempotency key returns the same run.
    const k1 = await h.svc.startRun(suite, { idempotencyKey: 'ci-123', resume: false });
    const k2 = await h.svc.startRun(suite, { idempotencyKey: 'ci-123', resume: false });
    expect(k2.runId).toBe(k1.runId);
    // Another key never latches onto that unfinished run (the key alone decides); no key resumes it.
    const other = await h.svc.startRun(suite, { idempotencyKey: 'slack:cmd:2' });
    expect(other).toMatchObject({ created: true });
    expect(other.runId).not.toBe(k1.runId);
    expect((await h.svc.startRun(suite, { idempotencyKey: 'slack:cmd:2' })).runId).toBe(other.runId);
    expect((await h.svc.startRun(suite)).resumed).toBe(true);
  });

  it('a job that stops mid-run resumes without redoing or double-counting stored items', async () => {
    const h = await harness();
    const data = Array.from({ length: 12 }, (_, i) => JSON.stringify({ input: `item ${i}` })).join('\n');
    const file = writeSuite(
      h.dir,
      'resume',
      `target: { type: http, url: "${stub.url}/chat", body: { message: "{{input}}" }, answer: reply }\nmetrics: [{ name: contains, args: { value: item } }]\nthreshold: 0.5\nconcurrency: 2\n`,
      data,
    );
    const { runId } = await h.svc.startRun(loadSuite(file));
    // First worker: shut down (graceful) after a few items; its job is released, not failed.
    const w1 = createWorker({
      queue: h.queue,
      handlers: h.svc.handlers,
      concurrency: 1,
      leaseMs: 5000,
      pollMs: 10,
    });
    w1.start();
    while ((await h.svc.getRun(runId))!.progress.done < 4) await new Promise((r) => setTimeout(r, 5));
    await w1.stop(0);
    const mid = (await h.svc.items(runId)).filter((v) => v.doc.status !== 'pending');
    expect(mid.length).toBeGreaterThanOrEqual(4);
    expect(mid.length).toBeLessThan(12);
    const before = stub.requests.length;
    await h.drain(runId);
    const run = (await h.svc.getRun(runId))!;
    expect(run.summary).toMatchObject({ total: 12, finished: 12, passed: 12, errors: 0 });
    const items = await h.svc.items(runId);
    expect(items.map((v) => v.doc.status)).toEqual(Array(12).fill('done'));
    // Stored items were not sent again (at most the items in flight at shutdown are).
    expect(stub.requests.length - before).toBeLessThanOrEqual(12 - mid.length + 2);
  });

  it('cancelling a running run stops it and keeps the finished items', async () => {
    const slow = await startStubAgent({ latencyMs: 100 });
    cleanups.push(() => slow.close());
    const h = await harness();
    const data = Array.from({ length: 30 }, (_, i) => JSON.stringify({ input: `n${i}` })).join('\n');
    const file = writeSuite(
      h.dir,
      'cancel',
      `target: { type: http, url: "${slow.url}/chat", body: { message: "{{input}}" }, answer: reply }\nmetrics: [{ name: length, args: { max: 50 } }]\nthreshold: 0.5\nconcurrency: 2\n`,
      data,
    );
    const { runId } = await h.svc.startRun(loadSuite(file));
    const worker = createWorker({
      queue: h.queue,
      handlers: h.svc.handlers,
      concurrency: 1,
      leaseMs: 300,
      pollMs: 10,
    });
    worker.start();
    while ((await h.svc.getRun(runId))!.progress.done < 2) await new Promise((r) => setTimeout(r, 10));
    await h.svc.cancelRun(runId);
    const deadline = Date.now() + 5000;
    while ((await h.svc.getRun(runId))!.status !== 'cancelled' && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    await worker.stop(0);
    const run = (await h.svc.getRun(runId))!;
    expect(run.status).toBe('cancelled');
    expect(run.summary!.finished).toBeLessThan(30);
    expect((await h.queue.get(run.jobId!))?.status).toBe('cancelled');
  });

  it('multi-turn: two personas with scripted turns; the transcript is stored and scored as a whole', async () => {
    const h = await harness();
    writeFileSync(
      join(h.dir, 'a.md'),
      '---\nname: alice\ngoal: learn the refund window\nturns: [When can I return it?, And the refund?]\n---\n',
    );
    writeFileSync(join(h.dir, 'b.yaml'), 'name: bob\ngoal: say hi\nturns: [hi, END now, never sent]\n');
    const file = writeSuite(
      h.dir,
      'convo',
      `target: { type: http, url: "${stub.url}/chat", body: { message: "{{input}}" }, answer: reply, end: done }
conversation: { personas: [a.md, b.yaml], maxTurns: 5 }
metrics: [{ name: contains, args: { value: asked } }]
threshold: 0.5
`,
      '- input: ""\n',
      'data.yaml',
    );
    const { runId } = await h.svc.startRun(loadSuite(file));
    await h.drain(runId);
    const items = await h.svc.items(runId);
    expect(items).toHaveLength(2);
    const alice = items.find((v) => v.item.persona === 'alice')!;
    const bob = items.find((v) => v.item.persona === 'bob')!;
    expect(alice.result).toMatchObject({ stopReason: 'script-done', turns: 2 });
    expect(alice.result!.transcript!.map((t) => t.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    expect(bob.result).toMatchObject({ stopReason: 'target-ended', turns: 2 });
    expect(alice.result!.scores[0]).toMatchObject({ metric: 'contains', value: 1 });
  });

  it('multi-turn with an LLM user simulator and goal check (offline provider) stops at maxTurns or the goal', async () => {
    const h = await harness();
    writeFileSync(join(h.dir, 'p.yaml'), 'name: carol\ngoal: find the opening hours of support\n');
    const file = writeSuite(
      h.dir,
      'sim',
      `target: { type: model, model: "offline:heuristic", system: "Support is open 9 to 5." }
conversation: { personas: [p.yaml], maxTurns: 3, simulator: "offline:heuristic" }
metrics: [{ name: refusal }]
threshold: 0.5
`,
      '{"input": "When is support open?"}\n',
    );
    const { runId } = await h.svc.startRun(loadSuite(file));
    await h.drain(runId);
    const [item] = await h.svc.items(runId);
    expect(['max-turns', 'goal-met']).toContain(item!.result!.stopReason);
    expect(item!.result!.transcript![0]).toEqual({ role: 'user', content: 'When is support open?' });
    expect(item!.result!.goal).toBeDefined();
  });

  it('the graph resumes a finished thread from its checkpoint without calling the target again', async () => {
    const { dir, cleanup } = tempDir();
    const store = await createEmbeddedStore({ dir, autocompactMs: 0 });
    cleanups.push(cleanup, () => store.close());
    let calls = 0;
    const engine = createItemGraph({
      target: {
        type: 'counting',
        recorded: false,
        respond: async () => {
          calls += 1;
          return { ok: true, text: 'answer', latencyMs: 1 };
        },
      },
      metrics: [],
      checkpointer: await createStoreCheckpointer(store),
    });
    const item = { key: 'k', row: 1, input: 'q' };
    const first = await runItem(engine, item, 'run_x::k');
    const second = await runItem(engine, item, 'run_x::k');
    expect(calls).toBe(1);
    expect(second).toEqual(first);
    // A single-turn item is checkpointed once, when its graph exits (durability `exit`).
    expect(await (await store.collection('run_checkpoints')).count({ threadId: 'run_x::k' })).toBe(1);
  });

  it('a conversation is checkpointed per step and resumes mid-conversation without repeating answered turns', async () => {
    const { dir, cleanup } = tempDir();
    const store = await createEmbeddedStore({ dir, autocompactMs: 0 });
    cleanups.push(cleanup, () => store.close());
    const asked: string[] = [];
    const controller = new AbortController();
    const engine = createItemGraph({
      target: {
        type: 'counting',
        recorded: false,
        respond: async (req) => {
          const last = req.transcript[req.transcript.length - 1]!.content;
          asked.push(last);
          // The process "dies" while the third user turn is in flight.
          if (req.turn === 3 && !controller.signal.aborted) controller.abort(new Error('killed'));
          return { ok: true, text: `re: ${last}`, latencyMs: 1 };
        },
      },
      metrics: [],
      checkpointer: await createStoreCheckpointer(store),
      personas: new Map([
        ['p', { name: 'p', goal: 'learn things', traits: [], turns: ['second', 'third', 'fourth'] }],
      ]),
      conversation: { maxTurns: 4, goalCheck: false },
    });
    const item = { key: 'c', row: 1, input: 'first', persona: 'p' };
    await expect(runItem(engine, item, 'run_y::c', { signal: controller.signal })).rejects.toThrow();
    expect(asked).toEqual(['first', 'second', 'third']);
    const outcome = await runItem(engine, item, 'run_y::c');
    // Turns answered before the crash are not sent again; the one in flight is.
    expect(asked).toEqual(['first', 'second', 'third', 'third', 'fourth']);
    expect(outcome.result.stopReason).toBe('max-turns');
    expect(outcome.result.transcript?.map((t) => t.content)).toEqual([
      'first',
      're: first',
      'second',
      're: second',
      'third',
      're: third',
      'fourth',
      're: fourth',
    ]);
    expect(await (await store.collection('run_checkpoints')).count({ threadId: 'run_y::c' })).toBeGreaterThan(
      4,
    );
  });
});
