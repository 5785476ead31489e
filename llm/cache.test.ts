import { createManualClock } from '../config/runtime.ts';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DocumentStore } from '../storage/index.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { CACHE_COLLECTION, cacheKey, canonicalJson } from './cache.ts';
import {
  type CreateLlmOptions,
  createLlm as create,
  type LlmService,
  type LlmSettings,
} from './create-llm.ts';
import { anthropicMessage } from './testing.ts';

const BASE = 'https://anthropic.test';
const env = { ANTHROPIC_API_KEY: 'sk-ant-test-0123456789abcdef', ANTHROPIC_BASE_URL: BASE };
const ask = {
  model: 'anthropic:claude-sonnet-5-5',
  messages: [{ role: 'user' as const, content: 'Rate this answer.' }],
};
const settings: Partial<LlmSettings> = {
  limits: {},
  retry: { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1, budgetMs: 1000 },
};

describe('cache key', () => {
  it('is the same for equal values whatever the key order, and differs for any parameter', () => {
    expect(canonicalJson({ b: 1, a: { d: 2, c: [3, { f: 4, e: 5 }] } })).toBe(
      '{"a":{"c":[3,{"e":5,"f":4}],"d":2},"b":1}',
    );
    const base = {
      provider: 'anthropic',
      model: 'm',
      messages: [{ role: 'user' as const, content: 'x' }],
      temperature: 0,
      maxTokens: 10,
      json: false,
    };
    const k = cacheKey(base);
    expect(k).toMatch(/^[0-9a-f]{64}$/);
    expect(cacheKey({ ...base })).toBe(k);
    for (const change of [
      { provider: 'gemini' },
      { model: 'n' },
      { temperature: 0.1 },
      { maxTokens: 11 },
      { json: true },
      { messages: [{ role: 'user' as const, content: 'y' }] },
    ]) {
      expect(cacheKey({ ...base, ...change })).not.toBe(k);
    }
  });
});

describe('response cache', () => {
  let store: DocumentStore;
  let tmp: ReturnType<typeof tempDir>;
  // Cache writes finish in the background; every wrapper is flushed before the store closes.
  const made: LlmService[] = [];
  const createLlm = (options: CreateLlmOptions) => {
    const llm = create(options);
    made.push(llm);
    return llm;
  };

  beforeEach(async () => {
    nock.disableNetConnect();
    tmp = tempDir();
    store = await createEmbeddedStore({ dir: tmp.dir, autocompactMs: 0 });
  });
  afterEach(async () => {
    await Promise.all(made.splice(0).map((l) => l.flush()));
    nock.cleanAll();
    nock.enableNetConnect();
    await store.close();
    tmp.cleanup();
  });

  it('answers a second identical call from the store: no HTTP request, no cost, reported as cached', async () => {
    const scope = nock(BASE)
      .post('/v1/messages')
      .once()
      .reply(200, anthropicMessage('4/5', { input: 500, output: 50 }));
    const llm = createLlm({ store, env, settings, clock: createManualClock() });
    const first = await llm.complete(ask);
    await llm.flush();
    const second = await llm.complete(ask);
    expect(scope.isDone()).toBe(true);
    expect(nock.pendingMocks()).toEqual([]);
    expect(first).toMatchObject({ cached: false, text: '4/5' });
    expect(first.costUsd).toBeGreaterThan(0);
    expect(second).toMatchObject({
      cached: true,
      text: '4/5',
      costUsd: 0,
      usage: { inputTokens: 0, outputTokens: 0 },
      attempts: 0,
    });
    expect(llm.stats().totals).toMatchObject({ calls: 2, providerCalls: 1, cacheHits: 1, inputTokens: 500 });
    expect(await (await store.collection(CACHE_COLLECTION)).count({})).toBe(1);
  });

  it('survives a restart: a new wrapper over the same store still hits', async () => {
    nock(BASE).post('/v1/messages').once().reply(200, anthropicMessage('cached answer'));
    const a = createLlm({ store, env, settings });
    await a.complete(ask);
    await a.flush();
    const b = createLlm({ store, env, settings });
    const c = await b.complete(ask);
    expect(c).toMatchObject({ cached: true, text: 'cached answer' });
  });

  it('a different parameter is a different call', async () => {
    const scope = nock(BASE).post('/v1/messages').times(3).reply(200, anthropicMessage('x'));
    const llm = createLlm({ store, env, settings });
    await llm.complete(ask);
    await llm.complete({ ...ask, maxTokens: 99 });
    await llm.complete({ ...ask, json: true });
    expect(scope.isDone()).toBe(true);
  });

  it('coalesces identical calls in flight into one provider request', async () => {
    const scope = nock(BASE).post('/v1/messages').once().delay(50).reply(200, anthropicMessage('shared'));
    const llm = createLlm({ store, env, settings });
    const results = await Promise.all(Array.from({ length: 5 }, () => llm.complete(ask)));
    expect(scope.isDone()).toBe(true);
    expect(results.map((r) => r.text)).toEqual(Array(5).fill('shared'));
    expect(results.filter((r) => !r.cached)).toHaveLength(1);
    expect(results.filter((r) => r.cached && r.costUsd === 0)).toHaveLength(4);
    expect(llm.stats().totals).toMatchObject({ calls: 5, providerCalls: 1, cacheHits: 4 });
  });

  it('does not cache errors', async () => {
    nock(BASE)
      .post('/v1/messages')
      .reply(400, { type: 'error', error: { type: 'invalid_request_error', message: 'no' } });
    nock(BASE).post('/v1/messages').reply(200, anthropicMessage('now fine'));
    const llm = createLlm({ store, env, settings });
    await expect(llm.complete(ask)).rejects.toMatchObject({ code: 'LLM_BAD_REQUEST' });
    await expect(llm.complete(ask)).resolves.toMatchObject({ text: 'now fine', cached: false });
  });

  it('can be bypassed per call and switched off by LLM_CACHE=false', async () => {
    const scope = nock(BASE).post('/v1/messages').times(4).reply(200, anthropicMessage('fresh'));
    const llm = createLlm({ store, env, settings });
    await llm.complete({ ...ask, cache: false });
    await llm.complete({ ...ask, cache: false });
    const off = createLlm({ store, env: { ...env, LLM_CACHE: false }, settings });
    await off.complete(ask);
    await off.complete(ask);
    expect(scope.isDone()).toBe(true);
  });

  it('a failing store degrades to a miss, never an error', async () => {
    nock(BASE).post('/v1/messages').times(2).reply(200, anthropicMessage('still works'));
    const broken: DocumentStore = {
      ...store,
      collection: async () => Promise.reject(new Error('disk on fire')),
    };
    const llm = createLlm({ store: broken, env, settings });
    await expect(llm.complete(ask)).resolves.toMatchObject({ text: 'still works' });
    await llm.flush();
    await expect(llm.complete(ask)).resolves.toMatchObject({ text: 'still works', cached: false });
  });

  it('stores only complete replies: a truncated or refused one is asked again next time', async () => {
    // Response shapes: https://platform.claude.com/docs/en/api/messages (stop_reason max_tokens, refusal).
    const scope = nock(BASE)
      .post('/v1/messages')
      .reply(200, anthropicMessage('cut o', { stopReason: 'max_tokens' }))
      .post('/v1/messages')
      .reply(200, anthropicMessage('', { stopReason: 'refusal' }))
      .post('/v1/messages')
      .reply(200, anthropicMessage('whole answer'));
    const llm = createLlm({ store, env, settings });
    const replies = [];
    for (let i = 0; i < 4; i++) {
      replies.push(await llm.complete(ask));
      await llm.flush();
    }
    expect(scope.isDone()).toBe(true);
    expect(replies.map((r) => [r.finish, r.cached])).toEqual([
      ['truncated', false],
      ['refused', false],
      ['complete', false],
      ['complete', true],
    ]);
    expect(await (await store.collection(CACHE_COLLECTION)).count({})).toBe(1);
  });

  it('an entry older than LLM_CACHE_TTL is a miss, and the fresh answer replaces it', async () => {
    const scope = nock(BASE)
      .post('/v1/messages')
      .reply(200, anthropicMessage('old'))
      .post('/v1/messages')
      .reply(200, anthropicMessage('new'));
    const clock = createManualClock();
    const llm = createLlm({ store, env: { ...env, LLM_CACHE_TTL: '1h' }, settings, clock });
    await llm.complete(ask);
    await llm.flush();
    clock.advance(59 * 60_000);
    expect(await llm.complete(ask)).toMatchObject({ cached: true, text: 'old' });
    clock.advance(2 * 60_000);
    expect(await llm.complete(ask)).toMatchObject({ cached: false, text: 'new' });
    await llm.flush();
    expect(await llm.complete(ask)).toMatchObject({ cached: true, text: 'new' });
    expect(scope.isDone()).toBe(true);
    expect(await (await store.collection(CACHE_COLLECTION)).count({})).toBe(1);
  });

  it('does not trust entries written before replies carried a finish reason', async () => {
    const key = cacheKey({
      provider: 'anthropic',
      model: 'claude-sonnet-5-5',
      messages: ask.messages,
      temperature: 0,
      maxTokens: 4096,
      json: false,
    });
    const coll = await store.collection<{
      _id: string;
      model: string;
      text: string;
      usage: { inputTokens: number; outputTokens: number };
      createdAt: Date;
    }>(CACHE_COLLECTION);
    // The old document shape: no `finish`, so it may hold a truncated reply.
    await coll.insertOne({
      _id: key,
      model: ask.model,
      text: 'maybe cut o',
      usage: { inputTokens: 1, outputTokens: 1 },
      createdAt: new Date(),
    });
    nock(BASE).post('/v1/messages').reply(200, anthropicMessage('checked'));
    const llm = createLlm({ store, env, settings });
    expect(await llm.complete(ask)).toMatchObject({ cached: false, text: 'checked' });
    await llm.flush();
    expect(await llm.complete(ask)).toMatchObject({ cached: true, text: 'checked' });
    // One document: the fresh answer took the old entry's key.
    expect(await coll.count({})).toBe(1);
  });

  it('does not store offline answers (recomputing is cheaper) but still serves them', async () => {
    const llm = createLlm({ store, env: {} });
    const c = await llm.complete({
      model: 'offline:heuristic',
      messages: [{ role: 'user', content: 'hello there' }],
    });
    await llm.flush();
    expect(c).toMatchObject({ heuristic: true, cached: false, costUsd: 0 });
    expect(await (await store.collection(CACHE_COLLECTION)).count({})).toBe(0);
  });
});
