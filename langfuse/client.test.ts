import nock from 'nock';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLangfuseClient } from './client.ts';
import { codeForStatus } from './errors.ts';

const LF = 'https://langfuse.test';
const keys = { baseUrl: LF, publicKey: 'pk-lf-public', secretKey: 'sk-lf-very-secret' };
const basic = `Basic ${Buffer.from('pk-lf-public:sk-lf-very-secret').toString('base64')}`;

const textPrompt = {
  id: 'p1',
  name: 'support bot',
  version: 4,
  type: 'text',
  prompt: 'You are helpful.\nBe brief.',
  config: { temperature: 0.2 },
  labels: ['production', 'latest'],
  tags: ['support'],
  commitMessage: 'shorter',
  createdAt: '2026-01-01T00:00:00.000Z',
};

describe('Langfuse client', () => {
  beforeEach(() => nock.disableNetConnect());
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('reads a prompt by label with Basic auth on the v2 path', async () => {
    const scope = nock(LF, { reqheaders: { authorization: basic } })
      .get('/api/public/v2/prompts/support%20bot')
      .query({ label: 'production' })
      .reply(200, textPrompt);
    const res = await createLangfuseClient(keys).getPrompt('support bot', { label: 'production' });
    expect(res).toEqual({
      ok: true,
      value: expect.objectContaining({ name: 'support bot', version: 4, type: 'text' }),
    });
    scope.done();
  });

  it('reads a chat prompt by version, placeholders included', async () => {
    nock(LF)
      .get('/api/public/v2/prompts/chat')
      .query({ version: '2' })
      .reply(200, {
        name: 'chat',
        version: 2,
        type: 'chat',
        prompt: [
          { role: 'system', content: 'Be kind.' },
          { type: 'placeholder', name: 'history' },
        ],
        config: null,
        labels: [],
        tags: [],
      });
    const res = await createLangfuseClient(keys).getPrompt('chat', { version: 2 });
    expect(res.ok).toBe(true);
    if (res.ok && res.value.type === 'chat') {
      expect(res.value.prompt).toHaveLength(2);
      expect(res.value.config).toEqual({});
    }
  });

  it.each([
    [401, 'LANGFUSE_UNAUTHORIZED', false],
    [403, 'LANGFUSE_UNAUTHORIZED', false],
    [404, 'LANGFUSE_NOT_FOUND', false],
    [429, 'LANGFUSE_RATE_LIMITED', true],
    [500, 'LANGFUSE_UNAVAILABLE', true],
    [503, 'LANGFUSE_UNAVAILABLE', true],
    [400, 'LANGFUSE_BAD_REQUEST', false],
  ] as const)(
    'maps HTTP %i to %s (retryable: %s), never echoing the secret',
    async (status, code, retryable) => {
      nock(LF).get('/api/public/v2/prompts/x').reply(status, { message: 'nope' }, { 'retry-after': '2' });
      const res = await createLangfuseClient({ ...keys, retry: { maxRetries: 0 } }).getPrompt('x');
      expect(res.ok).toBe(false);
      if (!res.ok) {
        expect(res.error.code).toBe(code);
        expect(res.error.retryable).toBe(retryable);
        expect(res.error.status).toBe(status);
        expect(res.error.message).not.toContain('sk-lf-very-secret');
        if (status === 429) expect(res.error.retryAfterMs).toBe(2000);
      }
      expect(codeForStatus(status)).toBe(code);
    },
  );

  it('reports a response of the wrong shape as LANGFUSE_BAD_RESPONSE', async () => {
    nock(LF).get('/api/public/v2/prompts/x').reply(200, { name: 'x', version: 'four' });
    const res = await createLangfuseClient(keys).getPrompt('x');
    expect(!res.ok && res.error.code).toBe('LANGFUSE_BAD_RESPONSE');
  });

  it('reports a dropped connection or a time-out as LANGFUSE_UNAVAILABLE', async () => {
    const once = { ...keys, retry: { maxRetries: 0 } };
    nock(LF).get('/api/public/v2/prompts/x').replyWithError('socket hang up');
    const down = await createLangfuseClient(once).getPrompt('x');
    expect(!down.ok && down.error.code).toBe('LANGFUSE_UNAVAILABLE');
    nock(LF).get('/api/public/v2/prompts/y').delay(500).reply(200, textPrompt);
    const slow = await createLangfuseClient({ ...once, timeoutMs: 50 }).getPrompt('y');
    expect(!slow.ok && slow.error.code).toBe('LANGFUSE_UNAVAILABLE');
    expect(!slow.ok && slow.error.message).toMatch(/within 50 ms/);
  });

  it('publishes scores with their deterministic ids and reports each failure as a value', async () => {
    const bodies: unknown[] = [];
    nock(LF, { reqheaders: { authorization: basic } })
      .post('/api/public/scores', (b) => {
        bodies.push(b);
        return b.id !== 'score-bad';
      })
      .times(2)
      .reply(200, (_uri, b) => ({ id: (b as { id: string }).id }));
    nock(LF)
      .post('/api/public/scores', (b) => b.id === 'score-bad')
      .times(4)
      .reply(500, 'boom');
    const waits: number[] = [];
    const sleep = async (ms: number) => void waits.push(ms);
    const res = await createLangfuseClient({ ...keys, retry: { sleep } }).publishScores([
      { id: 'score-1', traceId: 't1', name: 'faithfulness', value: 0.8, dataType: 'NUMERIC', comment: 'ok' },
      {
        id: 'score-2',
        traceId: 't2',
        observationId: 'o2',
        name: 'tone',
        value: 'polite',
        dataType: 'CATEGORICAL',
      },
      { id: 'score-bad', traceId: 't3', name: 'x', value: 1 },
    ]);
    expect(res.published.sort()).toEqual(['score-1', 'score-2']);
    expect(res.failed.map((f) => [f.id, f.error.code])).toEqual([['score-bad', 'LANGFUSE_UNAVAILABLE']]);
    // The 500 was retried three times with doubling back-off before the score was reported failed.
    expect(res.retries).toBe(3);
    expect(waits).toEqual([1000, 2000, 4000]);
    expect(bodies).toContainEqual({
      id: 'score-1',
      traceId: 't1',
      name: 'faithfulness',
      value: 0.8,
      dataType: 'NUMERIC',
      comment: 'ok',
    });
  });

  it('retries a score write on 429 (honouring Retry-After) and 503, counting the retries', async () => {
    let calls = 0;
    nock(LF)
      .post('/api/public/scores')
      .times(3)
      .reply((_u, b) => {
        calls += 1;
        if (calls === 1) return [429, { message: 'rate limited' }, { 'retry-after': '3' }];
        if (calls === 2) return [503, 'down'];
        return [200, { id: (b as { id: string }).id }];
      });
    const waits: number[] = [];
    const client = createLangfuseClient({
      ...keys,
      retry: { sleep: async (ms) => void waits.push(ms), backoffMs: 10 },
    });
    const res = await client.publishScores([{ id: 's1', traceId: 't1', name: 'x', value: 1 }]);
    expect(res).toEqual({ published: ['s1'], failed: [], retries: 2 });
    expect(waits).toEqual([3000, 20]);
  });

  it('retries a dataset page on 5xx and counts it; a 401 names the fix at once, unretried', async () => {
    const dataset = { id: 'ds1', name: 'qa', description: null, metadata: null, projectId: 'p1' };
    const item = (id: string) => ({
      id,
      status: 'ACTIVE',
      input: 'q',
      expectedOutput: 'a',
      datasetId: 'ds1',
    });
    nock(LF)
      .get('/api/public/v2/datasets/qa')
      .reply(200, dataset)
      .get('/api/public/dataset-items')
      .query({ datasetName: 'qa', page: '1', limit: '100' })
      .reply(502, 'bad gateway')
      .get('/api/public/dataset-items')
      .query({ datasetName: 'qa', page: '1', limit: '100' })
      .reply(200, { data: [item('i1')], meta: { page: 1, limit: 100, totalItems: 1, totalPages: 1 } });
    const client = createLangfuseClient({ ...keys, retry: { sleep: async () => {} } });
    const read = await client.readDataset('qa');
    expect(read.ok && read.value.items.map((i) => i.id)).toEqual(['i1']);
    expect(read.ok && read.value.retries).toBe(1);

    const scope = nock(LF).get('/api/public/v2/datasets/qa').reply(401, { message: 'Invalid credentials' });
    const refused = await client.readDataset('qa');
    scope.done();
    expect(!refused.ok && refused.error.message).toMatch(
      /^Langfuse refused to read dataset 'qa' \(401\): check LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY .* LANGFUSE_BASE_URL is the host of the region/,
    );
  });

  it('follows redirects as fetch does: GET kept, a 301 of a POST read as a GET, auth dropped across origins', async () => {
    const other = 'https://eu.langfuse.test';
    nock(LF).get('/api/public/v2/prompts/x').reply(308, '', { location: '/api/public/v2/prompts/y' });
    nock(LF, { reqheaders: { authorization: basic } })
      .get('/api/public/v2/prompts/y')
      .reply(302, '', { location: `${other}/api/public/v2/prompts/z` });
    const across = nock(other, { badheaders: ['authorization'] })
      .get('/api/public/v2/prompts/z')
      .reply(200, textPrompt);
    const res = await createLangfuseClient(keys).getPrompt('x', {});
    expect(res.ok).toBe(true);
    across.done();

    nock(LF).post('/api/public/scores').reply(301, '', { location: '/api/public/scores/moved' });
    const moved = nock(LF).get('/api/public/scores/moved').reply(405, 'method not allowed');
    const published = await createLangfuseClient({ ...keys, retry: { maxRetries: 0 } }).publishScores([
      { id: 's1', traceId: 't1', name: 'm', value: 1, dataType: 'NUMERIC' },
    ]);
    moved.done();
    expect(published.failed[0]?.error.message).toMatch(
      /^Langfuse answered 405 to POST \/api\/public\/scores/,
    );
  });

  it('asks for compressed answers and reads them, as fetch did', async () => {
    const scope = nock(LF, { reqheaders: { 'accept-encoding': /gzip/ } })
      .get('/api/public/v2/prompts/z')
      .reply(200, gzipSync(JSON.stringify(textPrompt)), {
        'content-encoding': 'gzip',
        'content-type': 'application/json',
      });
    const res = await createLangfuseClient(keys).getPrompt('z', {});
    scope.done();
    expect(res).toEqual({ ok: true, value: expect.objectContaining({ name: 'support bot', version: 4 }) });
  });
});
