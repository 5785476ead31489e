// Tool use and embeddings against fake Anthropic and Gemini APIs at the HTTP boundary, in the vendors' current shapes:
// - Anthropic Messages API: a tool call is a `{type: 'tool_use', id, name, input}` content block and the turn ends
//   with stop_reason `tool_use`; tools are sent as `{name, description, input_schema}`
//   (https://platform.claude.com/docs/en/agents-and-tools/tool-use/overview, https://platform.claude.com/docs/en/api/messages).
// - Gemini generateContent: a tool call is a `{functionCall: {name, args, id?}}` part of the candidate; tools are sent as
//   `tools: [{functionDeclarations: [{name, description, parametersJsonSchema}]}]` (https://ai.google.dev/api/caching#FunctionCall,
//   https://ai.google.dev/gemini-api/docs/function-calling).
// - Gemini embeddings: the SDK's embedContent posts `{requests: [{model, content: {parts: [{text}]}}]}` to
//   models/{model}:batchEmbedContents and reads `{embeddings: [{values}]}` (https://ai.google.dev/api/embeddings).
import { createManualClock } from '../config/runtime.ts';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMetric } from '../evaluators/registry.ts';
import type { DocumentStore } from '../storage/index.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { createLlm } from './create-llm.ts';
import { isLlmError } from './errors.ts';
import { geminiError } from './testing.ts';

const A_BASE = 'https://anthropic.test';
const G_BASE = 'https://gemini.test';
const A_KEY = 'sk-ant-test-0123456789abcdef';
const G_KEY = 'AIzaSyTest-0123456789abcdefghijklmnop';

function setup(cache = false, store?: DocumentStore) {
  return createLlm({
    ...(store ? { store } : {}),
    env: {
      ANTHROPIC_API_KEY: A_KEY,
      ANTHROPIC_BASE_URL: A_BASE,
      GEMINI_API_KEY: G_KEY,
      GEMINI_BASE_URL: G_BASE,
    },
    settings: {
      cache,
      limits: {},
      retry: { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1, budgetMs: 10_000 },
      breaker: { failureThreshold: 50, cooldownMs: 30_000 },
    },
    clock: createManualClock(),
    random: () => 0.5,
  });
}

const tools = [
  {
    name: 'get_weather',
    description: 'Current weather of a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
];
const messages = [{ role: 'user' as const, content: 'Weather in Paris and Rome?' }];

describe('tool calls and embeddings at the HTTP boundary', () => {
  beforeEach(() => nock.disableNetConnect());
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('anthropic: sends tools as input_schema and returns the tool_use blocks as toolCalls', async () => {
    let body: Record<string, unknown> = {};
    nock(A_BASE)
      .post('/v1/messages', (b) => {
        body = b;
        return true;
      })
      .reply(200, {
        id: 'msg_01Tool',
        type: 'message',
        role: 'assistant',
        model: 'claude-sonnet-5-5',
        content: [
          { type: 'text', text: 'Let me check both.', citations: null },
          {
            type: 'tool_use',
            id: 'toolu_01A',
            name: 'get_weather',
            input: { city: 'Paris' },
            caller: { type: 'direct' },
          },
          {
            type: 'tool_use',
            id: 'toolu_01B',
            name: 'get_weather',
            input: { city: 'Rome' },
            caller: { type: 'direct' },
          },
        ],
        stop_reason: 'tool_use',
        stop_sequence: null,
        stop_details: null,
        container: null,
        usage: {
          input_tokens: 320,
          output_tokens: 90,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
        },
      });
    const c = await setup().complete({ model: 'anthropic:claude-sonnet-5-5', messages, tools });
    expect(body.tools).toEqual([
      {
        name: 'get_weather',
        description: 'Current weather of a city',
        input_schema: tools[0]!.parameters,
      },
    ]);
    expect(c.text).toBe('Let me check both.');
    expect(c.finish).toBe('complete');
    expect(c.toolCalls).toEqual([
      { name: 'get_weather', args: { city: 'Paris' } },
      { name: 'get_weather', args: { city: 'Rome' } },
    ]);
  });

  it('anthropic: a reply without tool_use blocks has no toolCalls, and no tools are sent when none are offered', async () => {
    let body: Record<string, unknown> = {};
    nock(A_BASE)
      .post('/v1/messages', (b) => {
        body = b;
        return true;
      })
      .reply(200, {
        id: 'msg_01Text',
        type: 'message',
        role: 'assistant',
        model: 'claude-sonnet-5-5',
        content: [{ type: 'text', text: 'Sunny.', citations: null }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage: { input_tokens: 10, output_tokens: 2 },
      });
    const c = await setup().complete({ model: 'anthropic:claude-sonnet-5-5', messages });
    expect(body).not.toHaveProperty('tools');
    expect(c.toolCalls).toBeUndefined();
  });

  it('gemini: sends functionDeclarations and returns the functionCall parts as toolCalls', async () => {
    let body: Record<string, unknown> = {};
    nock(G_BASE)
      .post('/v1beta/models/gemini-3.5-flash:generateContent', (b) => {
        body = b;
        return true;
      })
      .reply(200, {
        candidates: [
          {
            content: {
              role: 'model',
              parts: [
                {
                  functionCall: { id: 'fc-1', name: 'get_weather', args: { city: 'Paris' } },
                  thoughtSignature: 'c2ln',
                },
                { functionCall: { id: 'fc-2', name: 'get_weather', args: { city: 'Rome' } } },
              ],
            },
            finishReason: 'STOP',
            index: 0,
          },
        ],
        usageMetadata: { promptTokenCount: 120, candidatesTokenCount: 30, totalTokenCount: 150 },
        modelVersion: 'gemini-3.5-flash',
        responseId: 'resp-tools',
      });
    const c = await setup().complete({ model: 'gemini:gemini-3.5-flash', messages, tools });
    expect(body.tools).toEqual([
      {
        functionDeclarations: [
          {
            name: 'get_weather',
            description: 'Current weather of a city',
            parametersJsonSchema: tools[0]!.parameters,
          },
        ],
      },
    ]);
    expect(c.text).toBe('');
    expect(c.toolCalls).toEqual([
      { name: 'get_weather', args: { city: 'Paris' } },
      { name: 'get_weather', args: { city: 'Rome' } },
    ]);
  });

  it('a call offering tools is not served from, nor written to, the response cache', async () => {
    const reply = {
      id: 'msg_01Tool',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-5-5',
      content: [{ type: 'tool_use', id: 'toolu_01A', name: 'get_weather', input: { city: 'Paris' } }],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 10, output_tokens: 5 },
    };
    const tmp = tempDir();
    const store = await createEmbeddedStore({ dir: tmp.dir, autocompactMs: 0 });
    try {
      const scope = nock(A_BASE).post('/v1/messages').times(3).reply(200, reply);
      const llm = setup(true, store);
      const a = await llm.complete({ model: 'anthropic:claude-sonnet-5-5', messages, tools });
      await llm.flush();
      const b = await llm.complete({ model: 'anthropic:claude-sonnet-5-5', messages, tools });
      expect(a.cached).toBe(false);
      expect(b.cached).toBe(false);
      expect(b.toolCalls).toEqual([{ name: 'get_weather', args: { city: 'Paris' } }]);
      // The same call without tools is cacheable: it goes to the provider once, then to the store.
      await llm.complete({ model: 'anthropic:claude-sonnet-5-5', messages });
      await llm.flush();
      const d = await llm.complete({ model: 'anthropic:claude-sonnet-5-5', messages });
      expect(d.cached).toBe(true);
      expect(scope.isDone()).toBe(true);
    } finally {
      await store.close();
      tmp.cleanup();
    }
  });

  it('gemini embeddings: batchEmbedContents with one request per text, vectors back in order', async () => {
    let body: { requests?: { model: string; content: { parts: { text: string }[] } }[] } = {};
    nock(G_BASE)
      .post('/v1beta/models/gemini-embedding-001:batchEmbedContents', (b) => {
        body = b;
        return true;
      })
      .reply(200, { embeddings: [{ values: [0.1, 0.2, 0.3] }, { values: [0.3, 0.2, 0.1] }] });
    const res = await setup().embed!({ model: 'gemini:gemini-embedding-001', texts: ['one', 'two'] });
    expect(body.requests?.map((r) => r.content.parts[0]?.text)).toEqual(['one', 'two']);
    expect(body.requests?.[0]?.model).toBe('models/gemini-embedding-001');
    expect(res).toEqual({
      vectors: [
        [0.1, 0.2, 0.3],
        [0.3, 0.2, 0.1],
      ],
      model: 'gemini:gemini-embedding-001',
      // The API reports no usage for embeddings: tokens are estimated (4 characters a token), priced from the table.
      usage: { inputTokens: 2, outputTokens: 0 },
      tokensEstimated: true,
      costUsd: (2 * 0.15) / 1_000_000,
    });
  });

  it('embeddings count toward the tokens and cost of the model and of the similarity score; an unpriced model is "price unknown"', async () => {
    const reply = { embeddings: [{ values: [1, 0] }, { values: [1, 0] }] };
    nock(G_BASE).post('/v1beta/models/gemini-embedding-001:batchEmbedContents').reply(200, reply);
    nock(G_BASE).post('/v1beta/models/gemini-embedding-exp:batchEmbedContents').reply(200, reply);
    const llm = setup();
    const output = 'x'.repeat(400);
    const expected = 'y'.repeat(200);
    const score = async (model: string) => {
      const made = createMetric('similarity', { model }, { llm });
      if (!made.ok) throw new Error(made.error);
      return made.metric.score({ input: 'q', output, expected });
    };
    const priced = await score('gemini:gemini-embedding-001');
    expect(priced).toMatchObject({
      value: 1,
      usage: { inputTokens: 150, outputTokens: 0, costUsd: (150 * 0.15) / 1_000_000 },
      cost: (150 * 0.15) / 1_000_000,
      details: { tokensEstimated: true },
    });
    const unpriced = await score('gemini:gemini-embedding-exp');
    expect(unpriced.usage).toEqual({
      inputTokens: 150,
      outputTokens: 0,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      costUsd: null,
    });
    expect(unpriced.cost).toBeUndefined();
    const stats = llm.stats().byModel;
    expect(stats['gemini:gemini-embedding-001']).toMatchObject({ inputTokens: 150, priceKnown: true });
    expect(stats['gemini:gemini-embedding-exp']).toMatchObject({ inputTokens: 150, priceKnown: false });
  });

  it('gemini embeddings: an API error is an LlmError with the provider code, never the key', async () => {
    nock(G_BASE)
      .post('/v1beta/models/gemini-embedding-001:batchEmbedContents')
      .reply(429, geminiError(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded'));
    const err = await setup().embed!({ model: 'gemini:gemini-embedding-001', texts: ['one', 'two'] }).catch(
      (e: unknown) => e,
    );
    expect(isLlmError(err) && err.code).toBe('LLM_RATE_LIMITED');
    expect(String((err as Error).message)).not.toContain(G_KEY);
  });

  it('embeddings go through the policy stages: a 429 is retried after its back-off and counted like a completion', async () => {
    nock(G_BASE)
      .post('/v1beta/models/gemini-embedding-001:batchEmbedContents')
      .reply(429, geminiError(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded'))
      .post('/v1beta/models/gemini-embedding-001:batchEmbedContents')
      .reply(200, { embeddings: [{ values: [1, 0] }] });
    const clock = createManualClock();
    const llm = createLlm({
      env: { GEMINI_API_KEY: G_KEY, GEMINI_BASE_URL: G_BASE },
      clock,
      random: () => 0.5,
      settings: {
        cache: false,
        limits: {},
        retry: {
          maxRetries: 2,
          baseDelayMs: 100,
          maxDelayMs: 1000,
          maxRetryAfterMs: 60_000,
          budgetMs: 10_000,
        },
        breaker: { failureThreshold: 50, cooldownMs: 30_000 },
      },
    });
    const res = await llm.embed!({ model: 'gemini:gemini-embedding-001', texts: ['one'] });
    expect(res.vectors).toEqual([[1, 0]]);
    expect(clock.sleeps).toHaveLength(1);
    expect(llm.stats().byModel['gemini:gemini-embedding-001']).toMatchObject({
      calls: 1,
      providerCalls: 2,
      retries: 1,
      errors: 0,
    });
    expect(nock.isDone()).toBe(true);
  });

  it('embeddings: a provider that never answers times out with the policy stage, as LLM_TIMEOUT', async () => {
    const llm = createLlm({
      env: {},
      providers: {
        stuck: {
          name: 'stuck',
          heuristic: false,
          complete: () => new Promise(() => undefined),
          embed: () => new Promise(() => undefined),
        },
      },
      settings: {
        cache: false,
        limits: {},
        retry: { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1, budgetMs: 10_000 },
      },
    });
    const err = await llm.embed!({ model: 'stuck:e1', texts: ['a'], timeoutMs: 20 }).catch((e: unknown) => e);
    expect(isLlmError(err) && err.code).toBe('LLM_TIMEOUT');
    expect((err as Error).message).toBe('stuck:e1: no embeddings within 20 ms');
  });

  it('embeddings: a provider without embeddings, and a provider without its key, are distinct errors', async () => {
    const llm = createLlm({ env: {}, settings: { cache: false } });
    const offline = await llm.embed!({ model: 'offline:heuristic', texts: ['a'] }).catch((e: unknown) => e);
    expect(isLlmError(offline) && offline.code).toBe('LLM_BAD_REQUEST');
    const noKey = await llm.embed!({ model: 'gemini:gemini-embedding-001', texts: ['a'] }).catch(
      (e: unknown) => e,
    );
    expect(isLlmError(noKey) && noKey.code).toBe('LLM_NO_KEY');
  });
});
