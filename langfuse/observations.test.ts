// Pure parts of the observations read (decoding, field groups, Arbiter's own markers) as tables, and the client's
// two observation reads against nock in Langfuse's shapes (see test/fixtures/fake-langfuse.ts for the sources).
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLangfuseClient } from './client.ts';
import { decodeJsonText, fieldsFor, normalizeObservation, readObservations } from './observations.ts';
import { ARBITER_OWN_MARKERS, isArbiterOwnObservation } from './own.ts';

const LF = 'https://langfuse.test';
const keys = { baseUrl: LF, publicKey: 'pk-lf-public', secretKey: 'sk-lf-very-secret' };

describe('decodeJsonText', () => {
  it.each([
    ['[{"role":"user","content":"hi"}]', [{ role: 'user', content: 'hi' }]],
    ['  {"a":1}', { a: 1 }],
    ['"quoted"', 'quoted'],
    ['plain text', 'plain text'],
    ['42', '42'],
    ['true', 'true'],
    ['{"cut at 200 chars', '{"cut at 200 chars'],
    ['[not json', '[not json'],
    ['', ''],
  ])('%j → %j', (text, decoded) => {
    expect(decodeJsonText(text)).toEqual(decoded);
  });

  it('leaves values that are not strings (v1 parsed I/O) alone', () => {
    const v = [{ role: 'user', content: 'hi' }];
    expect(decodeJsonText(v)).toBe(v);
    expect(decodeJsonText(null)).toBeNull();
  });
});

describe('normalizeObservation', () => {
  it('decodes input, output and each metadata value of a v2 record', () => {
    const n = normalizeObservation({
      id: 'o1',
      traceId: 't1',
      type: 'GENERATION',
      startTime: '2026-11-20T09:00:00.000Z',
      endTime: null,
      projectId: 'p',
      parentObservationId: null,
      input: '[{"role":"user","content":"hi"}]',
      output: 'hello there',
      metadata: { docs: '["a","b"]', plan: 'pro' },
    });
    expect(n.ok && n.observation).toMatchObject({
      input: [{ role: 'user', content: 'hi' }],
      output: 'hello there',
      metadata: { docs: ['a', 'b'], plan: 'pro' },
    });
  });

  it.each([
    [{ traceId: 't', type: 'SPAN', startTime: '2026-11-20T09:00:00Z' }, '(no id)', /id/],
    [{ id: 'o2', type: 'SPAN', startTime: 'soon' }, 'o2', /startTime 'soon' is not a date/],
    [{ id: 'o3', startTime: '2026-11-20T09:00:00Z' }, 'o3', /type/],
  ])('a record that cannot be used is named by its id: %j', (raw, id, reason) => {
    const n = normalizeObservation(raw);
    expect(n.ok).toBe(false);
    if (!n.ok) {
      expect(n.id).toBe(id);
      expect(n.reason).toMatch(reason);
    }
  });
});

describe('fieldsFor', () => {
  it.each([
    [['generation.input[-1].content', 'generation.output'], 'basic,core,io,metadata,trace_context', []],
    [
      ['input', 'metadata.user_query', 'first.metadata.docs.0'],
      'basic,core,io,metadata,trace_context',
      ['docs', 'user_query'],
    ],
    [
      ['observations[0].usageDetails.total', 'last.providedModelName'],
      'basic,core,metadata,model,trace_context,usage',
      [],
    ],
    [['promptName', 'latency', 'createdAt'], 'basic,core,metadata,metrics,prompt,time,trace_context', []],
  ])('%j → %s, expand %j', (paths, groups, expand) => {
    const f = fieldsFor(paths);
    expect(f.fields.split(',').sort().join(',')).toBe(groups);
    expect(f.expandMetadata).toEqual(expand);
  });

  it('adds the groups and keys a monitor names itself', () => {
    expect(fieldsFor(['output'], { fields: ['usage'], expandMetadata: ['transcript'] })).toEqual({
      fields: 'core,basic,metadata,trace_context,usage,io',
      expandMetadata: ['transcript'],
    });
  });
});

describe('isArbiterOwnObservation', () => {
  it.each([
    [{ name: 'chat' }, false],
    [{ name: 'arbiter.judge' }, true],
    [{ traceName: 'arbiter.run' }, true],
    [{ name: 'arbiterish' }, false],
    [{ tags: ['prod', 'arbiter'] }, true],
    [{ tags: ['arbiter-demo'] }, false],
    [{ metadata: { source: 'arbiter' } }, true],
    [{ metadata: { 'arbiter.source': 'arbiter' } }, true],
    [{ metadata: { attributes: { 'arbiter.source': 'arbiter' } } }, true],
    [{ metadata: { source: 'web-app' } }, false],
    [{ metadata: '{"source":"arbiter"}' }, false],
    [{}, false],
  ])('%j → %s', (o, own) => {
    expect(isArbiterOwnObservation(o)).toBe(own);
  });

  it('the markers are the ones the predicate checks', () => {
    expect(
      isArbiterOwnObservation({
        metadata: { [ARBITER_OWN_MARKERS.metadataKeys[0]]: ARBITER_OWN_MARKERS.metadataValue },
      }),
    ).toBe(true);
    expect(isArbiterOwnObservation({ tags: [ARBITER_OWN_MARKERS.tag] })).toBe(true);
    expect(isArbiterOwnObservation({ name: `${ARBITER_OWN_MARKERS.namePrefix}simulator` })).toBe(true);
  });
});

describe('observation reads', () => {
  beforeEach(() => nock.disableNetConnect());
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('v2: sends the window, fields and expandMetadata; stops at maxRecords', async () => {
    const queries: Record<string, string>[] = [];
    const row = (id: string) => ({
      id,
      traceId: 't',
      startTime: '2026-11-20T09:00:00.000Z',
      endTime: null,
      projectId: 'p',
      parentObservationId: null,
      type: 'GENERATION',
      input: '"q"',
      output: 'a',
    });
    nock(LF)
      .get('/api/public/v2/observations')
      .query((q) => {
        queries.push(q as Record<string, string>);
        return true;
      })
      .reply(200, { data: [row('o1'), row('o2')], meta: { cursor: 'eyJsYXN0SWQiOiJvMiJ9' } });
    const res = await readObservations(createLangfuseClient(keys), {
      from: new Date('2026-11-20T08:00:00Z'),
      until: new Date('2026-11-20T10:00:00Z'),
      pageSize: 2,
      fields: 'core,io',
      expandMetadata: ['a', 'b'],
      maxRecords: 2,
    });
    expect(res.ok && res.value.observations.map((o) => [o.id, o.input])).toEqual([
      ['o1', 'q'],
      ['o2', 'q'],
    ]);
    expect(queries).toHaveLength(1);
    expect(queries[0]).toMatchObject({
      fromStartTime: '2026-11-20T08:00:00.000Z',
      toStartTime: '2026-11-20T10:00:00.000Z',
      fields: 'core,io',
      expandMetadata: 'a,b',
      limit: '2',
    });
  });

  it('v1: page-based with page and limit', async () => {
    nock(LF)
      .get('/api/public/observations')
      .query({
        page: '3',
        limit: '50',
        fromStartTime: '2026-11-20T08:00:00.000Z',
        type: 'GENERATION',
      })
      .reply(200, { data: [], meta: { page: 3, limit: 50, totalItems: 100, totalPages: 2 } });
    const res = await createLangfuseClient(keys).getObservationsV1({
      page: 3,
      limit: 50,
      fromStartTime: new Date('2026-11-20T08:00:00Z'),
      type: 'GENERATION',
    });
    expect(res.ok && res.value.meta.totalPages).toBe(2);
  });
});
