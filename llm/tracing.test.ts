import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLlm } from './create-llm.ts';
import { generationBatch } from './tracing.ts';
import { anthropicError, anthropicMessage } from './testing.ts';

const LF = 'https://langfuse.test';
const BASE = 'https://anthropic.test';
const env = {
  ANTHROPIC_API_KEY: 'sk-ant-test-0123456789abcdef',
  ANTHROPIC_BASE_URL: BASE,
  LANGFUSE_PUBLIC_KEY: 'pk-lf-public',
  LANGFUSE_SECRET_KEY: 'sk-lf-secret',
  LANGFUSE_BASE_URL: LF,
};
const ask = {
  model: 'anthropic:claude-sonnet-5-5',
  messages: [{ role: 'user' as const, content: 'judge this' }],
  trace: { name: 'judge:faithfulness', metadata: { runId: 'run_1' } },
};
const noRetry = {
  cache: false,
  limits: {},
  retry: { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1, budgetMs: 100 },
};

describe('Langfuse generation tracing', () => {
  beforeEach(() => nock.disableNetConnect());
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('builds a trace-create plus generation-create batch', () => {
    let n = 0;
    const batch = generationBatch(
      {
        name: 'judge:x',
        provider: 'anthropic',
        model: 'claude-sonnet-5-5',
        input: [{ role: 'user', content: 'q' }],
        output: 'a',
        usage: { inputTokens: 10, outputTokens: 5 },
        costUsd: 0.001,
        priceKnown: true,
        startTime: new Date('2026-01-01T00:00:00Z'),
        endTime: new Date('2026-01-01T00:00:01Z'),
        modelParameters: { temperature: 0 },
      },
      () => `id${++n}`,
    );
    expect(batch.batch).toEqual([
      {
        id: 'id2',
        type: 'trace-create',
        timestamp: '2026-01-01T00:00:01.000Z',
        body: { id: 'id1', name: 'judge:x', timestamp: '2026-01-01T00:00:00.000Z', tags: ['arbiter'] },
      },
      {
        id: 'id3',
        type: 'generation-create',
        timestamp: '2026-01-01T00:00:01.000Z',
        body: expect.objectContaining({
          id: 'id4',
          traceId: 'id1',
          model: 'claude-sonnet-5-5',
          usageDetails: { input: 10, output: 5, total: 15 },
          costDetails: { total: 0.001 },
          level: 'DEFAULT',
        }),
      },
    ]);
  });

  it('posts each judge call to /api/public/ingestion with basic auth, usage and cost', async () => {
    nock(BASE)
      .post('/v1/messages')
      .reply(200, anthropicMessage('{"score":4}', { input: 1000, output: 100 }));
    let auth: string | undefined;
    let sent: { batch: { type: string; body: Record<string, unknown> }[] } = { batch: [] };
    const lf = nock(LF)
      .post('/api/public/ingestion', (b) => {
        sent = b;
        return true;
      })
      .reply(function () {
        auth = this.req.headers.authorization as string;
        return [207, { successes: [], errors: [] }];
      });
    const llm = createLlm({ env: { ...env, LLM_TRACE: true }, settings: noRetry });
    await llm.complete(ask);
    await llm.flush();
    expect(lf.isDone()).toBe(true);
    expect(auth).toBe(`Basic ${Buffer.from('pk-lf-public:sk-lf-secret').toString('base64')}`);
    const gen = sent.batch.find((e) => e.type === 'generation-create')!;
    expect(gen.body).toMatchObject({
      name: 'judge:faithfulness',
      model: 'claude-sonnet-5-5',
      input: ask.messages,
      output: '{"score":4}',
      usageDetails: { input: 1000, output: 100, total: 1100 },
      costDetails: { total: 0.003 },
      level: 'DEFAULT',
      metadata: { provider: 'anthropic', source: 'arbiter', runId: 'run_1' },
    });
  });

  it('records a failed call at level ERROR', async () => {
    nock(BASE).post('/v1/messages').reply(400, anthropicError('invalid_request_error', 'nope'));
    let sent: { batch: { type: string; body: Record<string, unknown> }[] } = { batch: [] };
    nock(LF)
      .post('/api/public/ingestion', (b) => {
        sent = b;
        return true;
      })
      .reply(207, { successes: [], errors: [] });
    const llm = createLlm({ env: { ...env, LLM_TRACE: true }, settings: noRetry });
    await expect(llm.complete({ ...ask, trace: { traceId: 'existing-trace' } })).rejects.toMatchObject({
      code: 'LLM_BAD_REQUEST',
    });
    await llm.flush();
    expect(sent.batch).toHaveLength(1); // attached to the given trace, no new trace
    expect(sent.batch[0]!.body).toMatchObject({
      traceId: 'existing-trace',
      level: 'ERROR',
      statusMessage: expect.stringMatching(/^LLM_BAD_REQUEST: /),
    });
  });

  it('a failing Langfuse never fails or delays the score', async () => {
    nock(BASE).post('/v1/messages').reply(200, anthropicMessage('ok'));
    nock(LF).post('/api/public/ingestion').reply(500, 'down');
    const llm = createLlm({ env: { ...env, LLM_TRACE: true }, settings: noRetry });
    await expect(llm.complete(ask)).resolves.toMatchObject({ text: 'ok' });
    await llm.flush();
    nock(BASE).post('/v1/messages').reply(200, anthropicMessage('ok again'));
    nock(LF).post('/api/public/ingestion').replyWithError('connection refused');
    await expect(llm.complete({ ...ask, maxTokens: 5 })).resolves.toMatchObject({ text: 'ok again' });
    await llm.flush();
  });

  it('is off by default, and never traces the offline heuristic or cache hits', async () => {
    const unmatched: unknown[] = [];
    const onNoMatch = (req: unknown) => unmatched.push(req);
    nock.emitter.on('no match', onNoMatch);
    try {
      nock(BASE).post('/v1/messages').reply(200, anthropicMessage('ok'));
      const off = createLlm({ env, settings: noRetry }); // LANGFUSE_* set but LLM_TRACE unset
      await off.complete(ask);
      await off.flush();
      const on = createLlm({ env: { ...env, LLM_TRACE: true }, settings: noRetry });
      await on.complete({ model: 'offline:heuristic', messages: [{ role: 'user', content: 'hi' }] });
      await on.flush();
      expect(nock.pendingMocks()).toEqual([]);
      expect(unmatched).toEqual([]); // no request to Langfuse was even attempted
    } finally {
      nock.emitter.removeListener('no match', onNoMatch);
    }
  });

  it('LLM_TRACE without Langfuse keys is a start-up error naming the variables', () => {
    expect(() => createLlm({ env: { LLM_TRACE: true } })).toThrow(
      /LLM_TRACE: tracing judge calls needs LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY/,
    );
  });
});
