// Generation tracing through OpenTelemetry: model calls reach a fake Langfuse v4 OTLP endpoint as generations with
// usage, cost and Arbiter's markers; nothing goes to the legacy ingestion API.
import { startActiveObservation } from '@langfuse/tracing';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../config/index.ts';
import { type FakeLangfuse, startFakeLangfuse } from '../test/fixtures/fake-langfuse.ts';
import { waitUntil } from '../test/helpers/wait.ts';
import { createLlm } from './create-llm.ts';
import { createLangfuseTracing, exportFailure, type LangfuseTracing } from './otel.ts';
import { anthropicError, anthropicMessage } from './testing.ts';
import { arbiterSpanName, withJudged } from './tracing.ts';

const BASE = 'https://anthropic.test';
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

let lf: FakeLangfuse;
let tracing: LangfuseTracing | undefined;
const env = () => ({
  ANTHROPIC_API_KEY: 'sk-ant-test-0123456789abcdef',
  ANTHROPIC_BASE_URL: BASE,
  LANGFUSE_PUBLIC_KEY: 'pk-lf-public',
  LANGFUSE_SECRET_KEY: 'sk-lf-secret',
  LANGFUSE_BASE_URL: lf.url,
});
function traced(
  extra: Record<string, unknown> = {},
  logger = createLogger({ LOG_LEVEL: 'silent', LOG_FORMAT: 'json' }),
) {
  tracing = createLangfuseTracing({
    baseUrl: lf.url,
    publicKey: 'pk-lf-public',
    secretKey: 'sk-lf-secret',
    environment: 'staging',
    flushTimeoutMs: 3000,
    timeoutMs: 1000,
    logger,
    ...extra,
  });
  return createLlm({ env: { ...env(), LLM_TRACE: true }, settings: noRetry, tracing });
}

beforeAll(async () => {
  lf = await startFakeLangfuse();
});
afterAll(() => lf.close());
beforeEach(() => {
  nock.disableNetConnect();
  nock.enableNetConnect('127.0.0.1');
  lf.spans.length = 0;
  lf.requests.length = 0;
  lf.state.otelStatus = 200;
  lf.state.otelDrop = false;
});
afterEach(async () => {
  await tracing?.shutdown();
  tracing = undefined;
  nock.cleanAll();
  nock.enableNetConnect();
});

const legacy = () =>
  lf.requests.filter(
    (r) => r.path === '/api/public/ingestion' || r.path.startsWith('/api/public/dataset-run-items'),
  );

describe('Langfuse generation tracing over OpenTelemetry', () => {
  it('sends a judge call as an OTLP generation with usage, cost, auth and Arbiter markers', async () => {
    nock(BASE)
      .post('/v1/messages')
      .reply(200, anthropicMessage('{"score":4}', { input: 1000, output: 100 }));
    const llm = traced();
    await llm.complete(ask);
    await llm.flush();
    expect(lf.spans).toHaveLength(1);
    const [gen] = lf.spans;
    const otlp = lf.requests.find((r) => r.path === '/api/public/otel/v1/traces')!;
    expect(otlp.headers.authorization).toBe(
      `Basic ${Buffer.from('pk-lf-public:sk-lf-secret').toString('base64')}`,
    );
    expect(otlp.headers['x-langfuse-ingestion-version']).toBe('4');
    expect(gen!.name).toBe('arbiter.judge.faithfulness');
    expect(gen!.parentSpanId).toBeUndefined();
    expect(gen!.attributes).toMatchObject({
      'langfuse.observation.type': 'generation',
      'langfuse.observation.model.name': 'claude-sonnet-5-5',
      'langfuse.observation.level': 'DEFAULT',
      'langfuse.environment': 'staging',
      'langfuse.observation.metadata.source': 'arbiter',
      'langfuse.observation.metadata.provider': 'anthropic',
      'langfuse.observation.metadata.runId': 'run_1',
      'langfuse.trace.tags': ['arbiter'],
      'langfuse.trace.name': 'arbiter.judge.faithfulness',
    });
    const attr = (k: string) => JSON.parse(gen!.attributes[k] as string);
    expect(attr('langfuse.observation.usage_details')).toEqual({ input: 1000, output: 100, total: 1100 });
    expect(attr('langfuse.observation.cost_details')).toEqual({ total: 0.003 });
    expect(attr('langfuse.observation.input')).toEqual(ask.messages);
    expect(gen!.attributes['langfuse.observation.output']).toBe('{"score":4}');
    expect(legacy()).toEqual([]);
  });

  it('links a target generation to the Langfuse prompt version it rendered', async () => {
    nock(BASE).post('/v1/messages').reply(200, anthropicMessage('Open 9 to 5.'));
    const llm = traced();
    await llm.complete({ ...ask, trace: { name: 'target', prompt: { name: 'support-answer', version: 7 } } });
    await llm.flush();
    expect(lf.spans).toHaveLength(1);
    expect(lf.spans[0]!.name).toBe('arbiter.target');
    expect(lf.spans[0]!.attributes).toMatchObject({
      'langfuse.observation.prompt.name': 'support-answer',
      'langfuse.observation.prompt.version': 7,
    });
  });

  it('records a failed call at level ERROR with its code', async () => {
    nock(BASE).post('/v1/messages').reply(400, anthropicError('invalid_request_error', 'nope'));
    const llm = traced();
    await expect(llm.complete(ask)).rejects.toMatchObject({ code: 'LLM_BAD_REQUEST' });
    await llm.flush();
    expect(lf.spans).toHaveLength(1);
    expect(lf.spans[0]!.attributes).toMatchObject({
      'langfuse.observation.level': 'ERROR',
      'langfuse.observation.status_message': expect.stringMatching(/^LLM_BAD_REQUEST: /),
    });
  });

  it('a call inside an active span is its child; a monitor judge names the trace it judged', async () => {
    nock(BASE).post('/v1/messages').times(2).reply(200, anthropicMessage('ok'));
    const llm = traced();
    await startActiveObservation('arbiter.run.item', async () => {
      await llm.complete(ask);
    });
    await withJudged({ traceId: 'a'.repeat(32), observationId: 'obs_1' }, () =>
      llm.complete({ ...ask, trace: { name: 'judge:helpfulness' } }),
    );
    await llm.flush();
    const root = lf.spans.find((s) => s.name === 'arbiter.run.item')!;
    const child = lf.spans.find((s) => s.name === 'arbiter.judge.faithfulness')!;
    expect(child.traceId).toBe(root.traceId);
    expect(child.parentSpanId).toBe(root.spanId);
    expect(child.attributes['langfuse.trace.tags']).toBeUndefined(); // the item's trace carries the tags
    const judge = lf.spans.find((s) => s.name === 'arbiter.judge.helpfulness')!;
    expect(judge.traceId).not.toBe('a'.repeat(32)); // never written into the judged trace
    expect(judge.attributes).toMatchObject({
      'langfuse.observation.metadata.judgedTraceId': 'a'.repeat(32),
      'langfuse.observation.metadata.judgedObservationId': 'obs_1',
      'langfuse.observation.metadata.source': 'arbiter',
      'langfuse.trace.tags': ['arbiter', 'evaluation'],
    });
  });

  it('flush waits for an export already in flight, so its outcome is known when flush returns', async () => {
    nock(BASE).post('/v1/messages').reply(200, anthropicMessage('ok'));
    lf.state.otelDelayMs = 300;
    try {
      // flushAt 1: the span's export starts as the span ends, before flush is called.
      const llm = traced({ flushAt: 1 });
      await llm.complete(ask);
      await new Promise((r) => setTimeout(r, 50));
      expect(tracing!.stats().exported).toBe(0);
      await llm.flush();
      expect(tracing!.stats()).toMatchObject({ exported: 1, failed: 0 });
    } finally {
      lf.state.otelDelayMs = 0;
    }
  });

  it('an unreachable Langfuse never fails or blocks a call; failures are counted and logged once', async () => {
    const lines: string[] = [];
    const logger = createLogger({ LOG_LEVEL: 'warn', LOG_FORMAT: 'json' }, { write: (l) => lines.push(l) });
    nock(BASE).post('/v1/messages').times(2).reply(200, anthropicMessage('ok'));
    lf.state.otelStatus = 400;
    const llm = traced({ flushAt: 1 }, logger);
    await expect(llm.complete(ask)).resolves.toMatchObject({ text: 'ok' });
    await llm.flush();
    await expect(llm.complete(ask)).resolves.toMatchObject({ text: 'ok' });
    const started = Date.now();
    await llm.flush();
    expect(Date.now() - started).toBeLessThan(3500);
    // A batch already in flight when flush starts may settle just after it (BatchSpanProcessor semantics).
    await waitUntil(() => tracing!.stats().failed === 2, 3000);
    expect(tracing!.stats()).toMatchObject({ exported: 0, failed: 2 });
    const warnings = lines.filter((l) => l.includes('spans could not be exported'));
    expect(warnings).toHaveLength(1);
    expect(lines.join('\n')).not.toContain('sk-lf-secret');
  });

  it.each([
    [
      401,
      /^Langfuse answered 401 to POST http:\/\/127\.0\.0\.1:\d+\/api\/public\/otel\/v1\/traces \(check LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY .*LANGFUSE_BASE_URL is the host of the region they were made in .*\): \{"message":"Invalid credentials/,
    ],
    [
      404,
      /^Langfuse answered 404 to POST http:\/\/127\.0\.0\.1:\d+\/api\/public\/otel\/v1\/traces \(this server has no OpenTelemetry endpoint: Arbiter needs Langfuse Cloud or self-hosted Langfuse 3\.22 or later; check that LANGFUSE_BASE_URL is the Langfuse host, without \/api\)/,
    ],
  ])(
    'an export refused with %i names the endpoint and the fix, in the stats and the one warning',
    async (status, said) => {
      const lines: string[] = [];
      const logger = createLogger({ LOG_LEVEL: 'warn', LOG_FORMAT: 'json' }, { write: (l) => lines.push(l) });
      nock(BASE).post('/v1/messages').reply(200, anthropicMessage('ok'));
      lf.state.otelStatus = status;
      const llm = traced({ flushAt: 1 }, logger);
      await llm.complete(ask);
      await llm.flush();
      await waitUntil(() => tracing!.stats().failed === 1, 3000);
      expect(tracing!.stats().lastError).toMatch(said);
      const warnings = lines.map((l) => JSON.parse(l)).filter((l) => l.error !== undefined);
      expect(warnings).toHaveLength(1);
      expect(warnings[0].error).toMatch(said);
      expect(lines.join('\n')).not.toContain('sk-lf-secret');
    },
  );

  it.each([
    [
      { message: 'Export failed with retryable status' },
      "Langfuse did not take the spans at POST https://lf.test/api/public/otel/v1/traces: 429/5xx or time-outs until the exporter's retries ran out",
    ],
    [
      { message: 'Bad Request', code: 400, data: '{"message":"bad span"}' },
      'Langfuse answered 400 to POST https://lf.test/api/public/otel/v1/traces: {"message":"bad span"}',
    ],
    [
      { message: 'connect ECONNREFUSED 10.0.0.1:443' },
      'Langfuse is unreachable (POST https://lf.test/api/public/otel/v1/traces): connect ECONNREFUSED 10.0.0.1:443',
    ],
  ])('export failure %j is said as %j', (error, said) => {
    expect(exportFailure(error, 'https://lf.test/api/public/otel/v1/traces')).toBe(said);
  });

  it('a dropped connection is said as unreachable, naming the endpoint', async () => {
    nock(BASE).post('/v1/messages').reply(200, anthropicMessage('ok'));
    lf.state.otelDrop = true;
    const llm = traced({ flushAt: 1 });
    await llm.complete(ask);
    await llm.flush();
    await waitUntil(() => tracing!.stats().failed === 1, 5000);
    expect(tracing!.stats().lastError).toMatch(
      /^Langfuse is unreachable \(POST http:\/\/127\.0\.0\.1:\d+\/api\/public\/otel\/v1\/traces\): /,
    );
  });

  it('spans still batched are sent at shutdown (the bot and the CLI shut tracing down before they exit)', async () => {
    nock(BASE).post('/v1/messages').reply(200, anthropicMessage('ok'));
    const llm = traced({ flushAt: 1000, flushIntervalMs: 60_000 });
    await llm.complete(ask);
    await new Promise((r) => setTimeout(r, 100));
    expect(lf.spans).toEqual([]); // still in the batch
    await tracing!.shutdown();
    expect(lf.spans.map((s) => s.name)).toEqual(['arbiter.judge.faithfulness']);
    await tracing!.shutdown(); // idempotent
    expect(lf.spans).toHaveLength(1);
  });

  it('is off by default, and never traces the offline heuristic', async () => {
    nock(BASE).post('/v1/messages').reply(200, anthropicMessage('ok'));
    const off = createLlm({ env: env(), settings: noRetry }); // LANGFUSE_* set but LLM_TRACE unset
    expect(off.tracing).toBeUndefined();
    await off.complete(ask);
    await off.flush();
    const on = traced();
    await on.complete({ model: 'offline:heuristic', messages: [{ role: 'user', content: 'hi' }] });
    await on.flush();
    expect(lf.requests).toEqual([]);
  });

  it('LLM_TRACE without Langfuse keys is a start-up error naming the variables', () => {
    expect(() => createLlm({ env: { LLM_TRACE: true } })).toThrow(
      /LLM_TRACE: tracing judge calls needs LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY/,
    );
  });

  it.each([
    ['judge:faithfulness', 'arbiter.judge.faithfulness'],
    ['arbiter.run.item', 'arbiter.run.item'],
    ['simulator', 'arbiter.simulator'],
  ])('span name %s → %s', (name, expected) => {
    expect(arbiterSpanName(name)).toBe(expected);
  });
});
