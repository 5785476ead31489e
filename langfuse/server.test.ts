// The start-up probe against Langfuse faked with nock in its current shapes (test/fixtures/fake-langfuse.ts): what it
// says about Cloud / self-hosted v4, self-hosted v3, a server too old for OpenTelemetry, wrong keys and a wrong host,
// and that a v3 server's first monitor read goes straight to the v1 read.
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../config/index.ts';
import { fakeLangfuseObservations, fakeLangfuseServer } from '../test/fixtures/fake-langfuse.ts';
import { createLangfuseClient } from './client.ts';
import { detectedObservationsApi, readObservations } from './observations.ts';
import { announceLangfuseServer, describeLangfuseServer, probeLangfuse } from './server.ts';

const LF = 'https://langfuse.test';
const SECRET = 'sk-lf-very-secret';
const keys = { baseUrl: LF, publicKey: 'pk-lf-public', secretKey: SECRET };
const basic = `Basic ${Buffer.from(`pk-lf-public:${SECRET}`).toString('base64')}`;
const rows = [
  {
    id: 'o1',
    traceId: 't1',
    startTime: '2026-11-20T09:00:00.000Z',
    input: [{ role: 'user', content: 'hi' }],
    output: 'hello',
  },
];

beforeEach(() => nock.disableNetConnect());
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

describe('Langfuse server probe', () => {
  it('Cloud / self-hosted v4: v2 observations and OpenTelemetry, said in one line', async () => {
    fakeLangfuseServer(LF, { version: '4.0.0', auth: basic });
    const calls = fakeLangfuseObservations(LF, rows, { server: 'v4' });
    const client = createLangfuseClient(keys);
    const info = await probeLangfuse(client);
    expect(info).toEqual({ version: '4.0.0', observationsApi: 'v2', otel: true, problems: [] });
    expect(detectedObservationsApi(client)).toBe('v2');
    expect(calls.map((c) => c.path)).toEqual(['/api/public/v2/observations']);
    expect(calls[0]!.query.get('limit')).toBe('1');
    expect(describeLangfuseServer(info, `${LF}/`)).toBe(
      'Langfuse 4.0.0 at https://langfuse.test: observations through GET /api/public/v2/observations; traces through OpenTelemetry (POST /api/public/otel/v1/traces); scores through POST /api/public/scores',
    );
  });

  it('self-hosted v3: the v1 read, remembered, so the first monitor read goes straight to it', async () => {
    fakeLangfuseServer(LF, { version: '3.140.0' });
    const calls = fakeLangfuseObservations(LF, rows, { server: 'v3' });
    const client = createLangfuseClient(keys);
    const info = await probeLangfuse(client);
    expect(info).toMatchObject({ version: '3.140.0', observationsApi: 'v1', otel: true, problems: [] });
    expect(describeLangfuseServer(info, LF)).toContain(
      'observations through GET /api/public/observations (no v2 observations: self-hosted v3)',
    );
    calls.length = 0;
    const read = await readObservations(client, {
      from: new Date('2026-11-20T08:00:00Z'),
      until: new Date('2026-11-20T10:00:00Z'),
      pageSize: 50,
      fields: 'core,basic,io',
    });
    expect(read.ok && read.value.api).toBe('v1');
    expect(read.ok && read.value.observations.map((o) => o.id)).toEqual(['o1']);
    expect(calls.map((c) => c.path)).toEqual(['/api/public/observations']);
  });

  it('a server older than 3.22 is unsupported and has no OpenTelemetry endpoint: both named with the fix', async () => {
    fakeLangfuseServer(LF, { version: '3.10.0' });
    fakeLangfuseObservations(LF, rows, { server: 'v3' });
    const info = await probeLangfuse(createLangfuseClient(keys));
    expect(info.otel).toBe(false);
    expect(info.problems).toEqual([
      expect.stringMatching(
        /^Langfuse 3\.10\.0 is not supported \(GET \/api\/public\/health\): Arbiter needs Langfuse Cloud, and self-hosted Langfuse v4 or v3 from 3\.22.*upgrade the server$/,
      ),
      expect.stringMatching(
        /^POST \/api\/public\/otel\/v1\/traces answered 404: this server has no OpenTelemetry endpoint: Arbiter needs Langfuse Cloud or self-hosted Langfuse 3\.22 or later; check that LANGFUSE_BASE_URL is the Langfuse host, without \/api; traces and experiment runs cannot be sent$/,
      ),
    ]);
  });

  it('wrong keys or a wrong region: the endpoint that refused them and the fix, once, never the secret', async () => {
    fakeLangfuseServer(LF, { auth: 'Basic someone-else' });
    nock(LF)
      .get('/api/public/v2/observations')
      .query(true)
      .reply(401, { message: "Invalid credentials. Confirm that you've configured the correct host." });
    const lines: string[] = [];
    const logger = createLogger({ LOG_LEVEL: 'info', LOG_FORMAT: 'json' }, { write: (l) => lines.push(l) });
    const info = await announceLangfuseServer(createLangfuseClient(keys), LF, logger);
    expect(info.observationsApi).toBeUndefined();
    expect(info.problems).toHaveLength(1);
    expect(info.problems[0]).toMatch(
      /^Langfuse answered 401 to GET \/api\/public\/v2\/observations \(check LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY .*LANGFUSE_BASE_URL is the host of the region they were made in \(EU https:\/\/cloud\.langfuse\.com, US https:\/\/us\.cloud\.langfuse\.com/,
    );
    const warnings = lines.filter((l) => JSON.parse(l).level === 40);
    expect(warnings).toHaveLength(1);
    expect(lines.join('\n')).not.toContain(SECRET);
    expect(lines.join('\n')).not.toContain(basic.slice(6));
  });

  it('a URL that is not a Langfuse host, and an unreachable one, are said without failing', async () => {
    nock(LF).get('/api/public/health').reply(404, 'Not Found');
    nock(LF).get('/api/public/v2/observations').query(true).reply(404, 'Not Found');
    nock(LF).get('/api/public/observations').query(true).reply(404, 'Not Found');
    nock(LF).post('/api/public/otel/v1/traces').reply(404, 'Not Found');
    const wrong = await probeLangfuse(createLangfuseClient(keys));
    expect(wrong.problems[0]).toMatch(
      /^GET \/api\/public\/health answered 404: LANGFUSE_BASE_URL does not look like a Langfuse host/,
    );
    expect(wrong.otel).toBe(false);

    nock(LF).get('/api/public/health').replyWithError('connect ECONNREFUSED');
    const down = await probeLangfuse(createLangfuseClient(keys));
    expect(down).toEqual({
      problems: [expect.stringMatching(/^Langfuse is unreachable \(GET \/api\/public\/health\)/)],
    });
    expect(describeLangfuseServer(down, LF)).toBe(
      'Langfuse at https://langfuse.test: observations read: not known yet; OpenTelemetry endpoint: not checked; scores through POST /api/public/scores',
    );
  });
});
