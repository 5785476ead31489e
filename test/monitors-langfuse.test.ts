// The Langfuse source and score publishing against a fake Langfuse that answers in the real shapes (v2: raw-string
// I/O, field groups, truncated metadata; v1 on self-hosted v3): cursor paging, late data, settling traces, server
// versions, Arbiter's own observations, 429/5xx, malformed records, bad credentials, deterministic score ids.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, parseEnv } from '../config/index.ts';
import { createManualClock } from '../config/runtime.ts';
import { createLangfuseClient } from '../langfuse/client.ts';
import { messageToText } from '../chat/index.ts';
import {
  createMonitorStore,
  type Monitor,
  type MonitorDeps,
  type MonitorCliCommand,
  runMonitorCli,
} from '../monitors/index.ts';
import { dryRunExtractor } from '../monitors/service.ts';
import { MonitorSchema } from '../monitors/schema.ts';
import { runTick } from '../monitors/tick.ts';
import { scoreId } from '../monitors/tick-sinks.ts';
import { traceUrl } from '../monitors/sources.ts';
import { createRecordingTransport } from '../prompts/testing.ts';
import { createLeases, type DocumentStore } from '../storage/index.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { chatInput, type FakeObservation, fakeLangfuseObservations } from './fixtures/fake-langfuse.ts';
import { viaRegistry } from './helpers/cli-args.ts';
import { withCliServices } from './helpers/cli-services.ts';
import { tempDir } from './helpers/tmp.ts';

const LF = 'https://langfuse.test';
/** The extractor of a monitor with `groupBy: observation` (the record is the observation itself). */
const PER_OBSERVATION = { extract: { input: 'input[-1].content', output: 'output' } };
const client = () =>
  createLangfuseClient({
    baseUrl: LF,
    publicKey: 'pk-lf-1',
    secretKey: 'sk-lf-secret',
    timeoutMs: 2000,
    retry: { sleep: async () => {} },
  });

const gen = (
  id: string,
  traceId: string,
  startTime: string,
  question: string,
  answer: unknown,
  extra: Partial<FakeObservation> = {},
): FakeObservation => ({
  id,
  traceId,
  startTime,
  input: chatInput(question),
  output: answer,
  metadata: { env: 'prod' },
  ...extra,
});

function monitor(source: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Monitor {
  return MonitorSchema.parse({
    name: 'lf',
    schedule: { every: '1h' },
    source: { type: 'langfuse', pageSize: 2, lookback: '1h', observationType: 'GENERATION', ...source },
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

async function deps(start = '2026-11-20T10:00:00Z'): Promise<
  MonitorDeps & {
    transport: ReturnType<typeof createRecordingTransport>;
    clock: ReturnType<typeof createManualClock>;
  }
> {
  const clock = createManualClock(start);
  return {
    store: await createMonitorStore(store),
    leases: await createLeases(store, { clock }),
    transport: createRecordingTransport(),
    clock,
    owner: 'a',
    langfuse: client(),
    langfuseBaseUrl: LF,
  };
}

/** Scores posted to the fake, by body. */
function fakeScores(opts: { fail?: number } = {}) {
  const bodies: { id: string; traceId: string; observationId?: string; name: string; value: number }[] = [];
  let failures = opts.fail ?? 0;
  nock(LF)
    .persist()
    .post('/api/public/scores')
    .reply((_u, b) => {
      if (failures > 0) {
        failures -= 1;
        return [503, 'down'];
      }
      bodies.push(b as (typeof bodies)[number]);
      return [200, { id: (b as { id: string }).id }];
    });
  return bodies;
}

function logLines() {
  const lines: { level: number; msg: string }[] = [];
  const logger = createLogger(
    { LOG_LEVEL: 'info', LOG_FORMAT: 'json' },
    { write: (l) => void lines.push(JSON.parse(l)) },
  );
  return { logger, lines };
}

describe('langfuse source over real v2 shapes', () => {
  it('types published scores as Langfuse does: pass/fail checks BOOLEAN, other scores NUMERIC', async () => {
    fakeLangfuseObservations(LF, [
      gen('o1', 'tr1', '2026-11-20T09:10:00.000Z', 'Where is my order?', 'It shipped today.'),
    ]);
    const bodies = fakeScores();
    const d = await deps();
    const m = monitor(
      {},
      {
        metrics: [
          { metric: 'refusal', name: 'no-refusal' },
          { metric: 'contains', args: { value: 'shipped' } },
        ],
      },
    );
    const out = await runTick(m, new Date('2026-11-20T10:00:00Z'), d);
    expect(out).toMatchObject({ status: 'succeeded', scored: 1 });
    const typed = Object.fromEntries(
      (bodies as unknown as { name: string; dataType: string; value: unknown }[]).map((b) => [
        b.name,
        [b.dataType, b.value],
      ]),
    );
    expect(typed).toEqual({ 'no-refusal': ['NUMERIC', 1], contains: ['BOOLEAN', 1] });
  });

  it('decodes string I/O, pages with the cursor, groups per trace, links each item and publishes with stable ids', async () => {
    const calls = fakeLangfuseObservations(LF, [
      gen('o1', 'tr1', '2026-11-20T09:10:00.000Z', 'Where is my order?', 'It shipped today.'),
      gen('o2', 'tr2', '2026-11-20T09:20:00.000Z', 'Refund?', "I can't help with that."),
      // An assistant message object as output: JSON text on the wire.
      gen('o3', 'tr1', '2026-11-20T09:11:00.000Z', 'Thanks, and the invoice?', {
        role: 'assistant',
        content: 'Sent by e-mail.',
      }),
    ]);
    const bodies = fakeScores();
    const d = await deps();
    const out = await runTick(monitor(), new Date('2026-11-20T10:00:00Z'), d);
    // tr1's latest generation (o3) has an object output: `generation.output` is its JSON text, scored as is.
    expect(out).toMatchObject({ status: 'succeeded', scored: 2, unmatched: 0, published: 2 });
    // Two pages of 2; v2 only, never parseIoAsJson; the field groups the extractor needs.
    expect(calls.map((c) => [c.path, c.status])).toEqual([
      ['/api/public/v2/observations', 200],
      ['/api/public/v2/observations', 200],
    ]);
    const q = calls[0]!.query;
    expect(Object.fromEntries(q)).toMatchObject({
      limit: '2',
      type: 'GENERATION',
      fromStartTime: '2026-11-20T09:00:00.000Z',
      toStartTime: '2026-11-20T10:00:00.000Z',
    });
    expect(q.get('fields')!.split(',').sort()).toEqual(['basic', 'core', 'io', 'metadata', 'trace_context']);
    expect(q.has('parseIoAsJson')).toBe(false);
    expect(calls[1]!.query.get('cursor')).toBeTruthy();
    expect(bodies.map((b) => [b.traceId, b.name, b.value]).sort()).toEqual([
      ['tr1', 'no-refusal', 1],
      ['tr2', 'no-refusal', 0],
    ]);
    expect(bodies.find((b) => b.traceId === 'tr1')!.id).toBe(scoreId('lf', 'tr1', 'no-refusal'));
    const report = JSON.stringify(d.transport.posts[0]!.message);
    expect(report).toContain(traceUrl(LF, 'tr2', 'proj1'));
  });

  it('publishes each score in the environment of the trace it scored; records without one send none', async () => {
    fakeLangfuseObservations(LF, [
      gen('o1', 'tr1', '2026-11-20T09:10:00.000Z', 'Where is my order?', 'It shipped today.', {
        environment: 'production',
      }),
      gen('o2', 'tr1', '2026-11-20T09:11:00.000Z', 'And the invoice?', 'Sent by e-mail.', {
        environment: 'production',
      }),
      gen('o3', 'tr2', '2026-11-20T09:20:00.000Z', 'Refund?', "I can't help with that.", {
        environment: null,
      }),
    ]);
    const bodies = fakeScores() as unknown as {
      traceId: string;
      observationId?: string;
      environment?: string;
    }[];
    const d = await deps();
    // Per trace (the default) and per observation: both carry the environment Langfuse answered with.
    const perTrace = await runTick(monitor(), new Date('2026-11-20T10:00:00Z'), d);
    const perObservation = await runTick(
      monitor({ groupBy: 'observation' }, { ...PER_OBSERVATION, name: 'lf-obs' }),
      new Date('2026-11-20T10:00:00Z'),
      d,
    );
    expect(perTrace).toMatchObject({ status: 'succeeded', scored: 2, published: 2 });
    expect(perObservation).toMatchObject({ status: 'succeeded', scored: 3, published: 3 });
    const byTarget = Object.fromEntries(
      bodies.map((b) => [
        `${b.traceId}/${b.observationId ?? '-'}`,
        'environment' in b ? b.environment : 'none',
      ]),
    );
    expect(byTarget).toEqual({
      'tr1/-': 'production',
      'tr2/-': 'none',
      'tr1/o1': 'production',
      'tr1/o2': 'production',
      'tr2/o3': 'none',
    });
  });

  it('a record that does not parse is listed with its id and the others are scored', async () => {
    // A hand-built page (same v2 shape) with one broken record in it.
    const page = {
      data: [
        {
          id: 'o1',
          traceId: 'tr1',
          startTime: '2026-11-20T09:10:00.000Z',
          endTime: '2026-11-20T09:10:01.000Z',
          projectId: 'proj1',
          parentObservationId: null,
          type: 'GENERATION',
          name: 'chat',
          input: JSON.stringify(chatInput('Where is my order?')),
          output: 'It shipped today.',
          metadata: {},
          tags: [],
        },
        { id: 'broken-7', traceId: 'tr2', type: 'GENERATION', startTime: 'yesterday', projectId: 'proj1' },
        { traceId: 'tr3', type: 'GENERATION' },
      ],
      meta: {},
    };
    nock(LF).get('/api/public/v2/observations').query(true).reply(200, page);
    fakeScores();
    const d = await deps();
    const out = await runTick(monitor(), new Date('2026-11-20T10:00:00Z'), d);
    expect(out).toMatchObject({ status: 'succeeded', scored: 1, unmatched: 2 });
    const report = JSON.stringify(d.transport.posts[0]!.message);
    expect(report).toContain('broken-7');
    expect(report).toMatch(/startTime 'yesterday' is not a date/);
    expect(report).toContain('malformed observation: id');
    // The next tick re-reads the same records (within `lag`): broken-7 is not listed again.
    nock(LF).get('/api/public/v2/observations').query(true).reply(200, page);
    const again = await runTick(monitor(), new Date('2026-11-20T10:05:00Z'), d);
    expect(again).toMatchObject({ status: 'succeeded', scored: 0, unmatched: 1 });
  });

  it('asks for the metadata keys the extractor reads in full, and decodes their JSON values', async () => {
    const docs = Array.from({ length: 12 }, (_, i) => `Refunds are possible within 30 days, clause ${i}.`);
    const calls = fakeLangfuseObservations(LF, [
      gen('o1', 'tr1', '2026-11-20T09:10:00.000Z', 'Can I get a refund?', 'Yes, within 30 days.', {
        metadata: { retrieval: { docs }, plan: 'pro', note: 'x'.repeat(300) },
      }),
    ]);
    fakeScores();
    const d = await deps();
    const m = monitor(
      { groupBy: 'observation' },
      {
        extract: {
          input: 'input[-1].content',
          output: 'output',
          context: 'metadata.retrieval.docs',
          metadata: { plan: 'metadata.plan' },
        },
        metrics: [{ metric: 'length', args: { max: 200 } }],
      },
    );
    expect(JSON.stringify({ docs }).length).toBeGreaterThan(200);
    const out = await runTick(m, new Date('2026-11-20T10:00:00Z'), d);
    expect(out).toMatchObject({ status: 'succeeded', scored: 1, unmatched: 0 });
    expect(calls[0]!.query.get('expandMetadata')).toBe('plan,retrieval');
    expect((await d.store.getScored('langfuse', 'lf', 'o1'))?.input).toBe('Can I get a refund?');
    // The fake (like Langfuse) cuts metadata values at 200 characters unless expanded; this one arrived whole.
    const dry = await dryRunExtractor(m, { langfuse: client(), langfuseBaseUrl: LF, clock: d.clock });
    expect(dry.ok).toBe(true);
    const text = dry.ok ? messageToText(dry.message) : '';
    expect(text).toContain('✓ o1');
    expect(text).toContain('input:  Can I get a refund?');
    expect(text).toContain('output: Yes, within 30 days.');
    expect(text).toContain('context: ["Refunds are possible within 30 days, clause 0.","Refunds');
    expect(text).toContain('read through the v2 observations API');
  });

  it('dry run shows what the extractor makes of each real-shaped record, and what is there when a path misses', async () => {
    fakeLangfuseObservations(LF, [
      gen('o1', 'tr1', '2026-11-20T09:10:00.000Z', 'Where is my order?', 'It shipped today.'),
      gen('o2', 'tr2', '2026-11-20T09:20:00.000Z', 'Refund?', 'No.', { input: 'plain text prompt' }),
    ]);
    const d = await deps();
    const dry = await dryRunExtractor(monitor(), { langfuse: client(), langfuseBaseUrl: LF, clock: d.clock });
    const text = dry.ok ? messageToText(dry.message) : '';
    expect(text).toContain('✓ tr1\n');
    expect(text).toContain('input:  Where is my order?');
    expect(text).toContain('output: It shipped today.');
    // A plain-text input stays a string: the chat path misses and the dry run shows what the record holds.
    expect(text).toContain("✗ tr2: input 'generation.input[-1].content' is missing");
    expect(text).toContain('generation.input is a string: "plain text prompt"');
  });
});

describe('arbiter monitor run --dry-run on a langfuse monitor', () => {
  it('prints the extracted input and output of each real-shaped record, truncated, and which API it read', async () => {
    const monitorsDir = join(dir, 'monitors');
    mkdirSync(monitorsDir);
    writeFileSync(
      join(monitorsDir, 'prod.yaml'),
      [
        'name: prod-chat',
        'schedule: { every: 30m }',
        'source: { type: langfuse, observationType: GENERATION, lookback: 2h }',
        'extract: { input: "generation.input[-1].content", output: generation.output }',
        'metrics: [{ metric: refusal }]',
      ].join('\n'),
    );
    const long = `It shipped today. ${'Tracking details follow. '.repeat(20)}`;
    const calls = fakeLangfuseObservations(LF, [
      gen('o1', 'tr1', '2026-11-20T09:10:00.000Z', 'Where is my order?', long),
      gen('o2', 'tr2', '2026-11-20T09:20:00.000Z', 'Refund?', 'No.', { tags: ['arbiter'] }),
    ]);
    const out: string[] = [];
    const err: string[] = [];
    const env = parseEnv({
      DATA_DIR: join(dir, 'data-cli'),
      MONITORS_DIR: monitorsDir,
      LOG_LEVEL: 'silent',
      LANGFUSE_PUBLIC_KEY: 'pk-lf-1',
      LANGFUSE_SECRET_KEY: 'sk-lf-secret',
      LANGFUSE_BASE_URL: LF,
    });
    const io = { stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t) };
    const code = await viaRegistry(
      ['monitor', 'run', 'prod-chat', '--dry-run'],
      io,
      (cmd: MonitorCliCommand) =>
        withCliServices({ env, io, clock: createManualClock('2026-11-20T10:00:00Z') }, (d) =>
          runMonitorCli(cmd, d),
        ),
    );
    const text = out.join('');
    expect({ code, err: err.join('') }).toEqual({ code: 0, err: '' });
    expect(text).toContain('Extractor dry run of prod-chat: latest 1 record(s)');
    expect(text).toContain('input:  Where is my order?');
    expect(text).toMatch(/output: It shipped today\. Tracking details follow\..{60,}…\n/);
    expect(text).not.toContain('tr2');
    expect(text).toContain('read through the v2 observations API');
    expect(calls[0]!.query.get('fields')).toContain('io');
  });
});

describe('late data and settling traces', () => {
  it('an observation that becomes visible after its tick passed is scored next tick, and nothing twice', async () => {
    const clock = { now: Date.parse('2026-11-20T10:00:00Z') };
    const calls = fakeLangfuseObservations(
      LF,
      [
        gen('o1', 'tr1', '2026-11-20T09:10:00.000Z', 'q1', 'a1'),
        // Started 09:50 but visible only at 10:10 (older SDK, ~15 min ingestion delay).
        gen('o2', 'tr2', '2026-11-20T09:50:00.000Z', 'q2', 'a2', {
          visibleAt: Date.parse('2026-11-20T10:10:00Z'),
        }),
        gen('o3', 'tr3', '2026-11-20T10:20:00.000Z', 'q3', 'a3'),
      ],
      { now: () => clock.now },
    );
    const bodies = fakeScores();
    const d = await deps();
    const m = monitor({ groupBy: 'observation', pageSize: 100 }, PER_OBSERVATION);
    const t1 = await runTick(m, new Date('2026-11-20T10:00:00Z'), d);
    expect(t1).toMatchObject({ status: 'succeeded', scored: 1 });
    clock.now = Date.parse('2026-11-20T11:00:00Z');
    const t2 = await runTick(m, new Date('2026-11-20T11:00:00Z'), d);
    // The second window starts lag (15m) before the first tick: o2 (09:50) is found; o1 is not re-read.
    expect(calls[1]!.query.get('fromStartTime')).toBe('2026-11-20T09:45:00.000Z');
    expect(t2).toMatchObject({ status: 'succeeded', scored: 2, alreadyScored: 0 });
    clock.now = Date.parse('2026-11-20T12:00:00Z');
    const t3 = await runTick(m, new Date('2026-11-20T12:00:00Z'), d);
    // o3 (10:20) is inside the re-read window but was handed out already: read, not scored again.
    expect(calls[2]!.query.get('fromStartTime')).toBe('2026-11-20T10:45:00.000Z');
    expect(t3).toMatchObject({ status: 'succeeded', scored: 0 });
    expect(bodies.map((b) => b.observationId).sort()).toEqual(['o1', 'o2', 'o3']);
  });

  it('re-read items are never scored twice even when the handed-out list is lost (dedup key)', async () => {
    fakeLangfuseObservations(LF, [gen('o1', 'tr1', '2026-11-20T09:55:00.000Z', 'q1', 'a1')]);
    const bodies = fakeScores();
    const d = await deps();
    const m = monitor({ groupBy: 'observation' }, PER_OBSERVATION);
    expect(await runTick(m, new Date('2026-11-20T10:00:00Z'), d)).toMatchObject({ scored: 1 });
    const state = await d.store.getState('lf');
    await d.store.saveState({ ...state, cursor: { from: '2026-11-20T10:00:00.000Z', seen: [] } });
    const t2 = await runTick(m, new Date('2026-11-20T10:05:00Z'), d);
    expect(t2).toMatchObject({ status: 'succeeded', scored: 0, alreadyScored: 1 });
    expect(bodies).toHaveLength(1);
  });

  it('a trace is scored once it has been quiet for `settle`, on all its observations', async () => {
    const clock = { now: Date.parse('2026-11-20T10:00:00Z') };
    const calls = fakeLangfuseObservations(
      LF,
      [
        gen('a', 'tr1', '2026-11-20T09:40:00.000Z', 'First question', 'first answer'),
        gen('b', 'tr1', '2026-11-20T09:58:00.000Z', 'Second question', 'second answer'),
        gen('c', 'tr1', '2026-11-20T10:03:00.000Z', 'Third question', "I can't help with that.", {
          visibleAt: Date.parse('2026-11-20T10:04:00Z'),
        }),
        gen('x', 'tr2', '2026-11-20T09:30:00.000Z', 'Other', 'done'),
      ],
      { now: () => clock.now },
    );
    const bodies = fakeScores();
    const d = await deps();
    const m = monitor(
      { pageSize: 100 },
      {
        schedule: { every: '10m' },
        extract: { input: 'first.input[-1].content', output: 'generation.output' },
      },
    );
    const t1 = await runTick(m, new Date('2026-11-20T10:00:00Z'), d);
    // tr1 was active 2 minutes ago: held back; tr2 has been quiet for 30 minutes: scored.
    expect(t1).toMatchObject({ status: 'succeeded', scored: 1 });
    expect(bodies.map((b) => b.traceId)).toEqual(['tr2']);
    clock.now = Date.parse('2026-11-20T10:10:00Z');
    const t2 = await runTick(m, new Date('2026-11-20T10:10:00Z'), d);
    // Re-read from tr1's first observation (09:40, before the lag window), so the trace is whole.
    expect(calls[1]!.query.get('fromStartTime')).toBe('2026-11-20T09:40:00.000Z');
    expect(t2).toMatchObject({ status: 'succeeded', scored: 1 });
    expect(bodies.map((b) => [b.traceId, b.value])).toEqual([
      ['tr2', 1],
      ['tr1', 0],
    ]);
    expect(await d.store.getScored('langfuse', 'lf', 'tr1')).toMatchObject({
      input: 'First question',
      output: "I can't help with that.",
    });
    clock.now = Date.parse('2026-11-20T10:20:00Z');
    expect(await runTick(m, new Date('2026-11-20T10:20:00Z'), d)).toMatchObject({ scored: 0 });
  });
});

describe('server versions', () => {
  it('self-hosted v3 (no v2 observations, 404): reads through the v1 page-based API with parsed I/O, and says so', async () => {
    const calls = fakeLangfuseObservations(
      LF,
      [
        gen('o1', 'tr1', '2026-11-20T09:10:00.000Z', 'Where is my order?', 'It shipped today.'),
        gen('o2', 'tr2', '2026-11-20T09:20:00.000Z', 'Refund?', "I can't help with that."),
        gen('o3', 'tr3', '2026-11-20T09:30:00.000Z', 'Invoice?', 'Sent.'),
      ],
      { server: 'v3' },
    );
    const bodies = fakeScores();
    const { logger, lines } = logLines();
    const d = { ...(await deps()), logger };
    const m = monitor({ pageSize: 500 });
    const out = await runTick(m, new Date('2026-11-20T10:00:00Z'), d);
    expect(out).toMatchObject({ status: 'succeeded', scored: 3 });
    expect(calls.map((c) => [c.path, c.status])).toEqual([
      ['/api/public/v2/observations', 404],
      ['/api/public/observations', 200],
    ]);
    // v1 pages hold at most 100.
    expect(calls[1]!.query.get('limit')).toBe('100');
    expect(calls[1]!.query.get('page')).toBe('1');
    expect(bodies).toHaveLength(3);
    expect(lines.map((l) => l.msg)).toContain(
      'Langfuse has no v2 observations (self-hosted v3): reading observations through GET /api/public/observations',
    );
    // The next tick goes straight to v1.
    await runTick(m, new Date('2026-11-20T11:00:00Z'), d);
    expect(calls.slice(2).map((c) => c.path)).toEqual(['/api/public/observations']);
  });

  it('v2 is logged once as the API in use', async () => {
    fakeLangfuseObservations(LF, [gen('o1', 'tr1', '2026-11-20T09:10:00.000Z', 'q', 'a')]);
    fakeScores();
    const { logger, lines } = logLines();
    const d = { ...(await deps()), logger };
    await runTick(monitor(), new Date('2026-11-20T10:00:00Z'), d);
    await runTick(monitor(), new Date('2026-11-20T11:00:00Z'), d);
    const msgs = lines.map((l) => l.msg);
    expect(
      msgs.filter((l) => l === 'Langfuse observations are read through GET /api/public/v2/observations'),
    ).toHaveLength(1);
  });

  it('404 on both reads fails the tick naming both endpoints and LANGFUSE_BASE_URL', async () => {
    nock(LF).get(/.*/).times(2).reply(404, '<html>Not Found</html>');
    const d = await deps();
    const out = await runTick(monitor(), new Date('2026-11-20T10:00:00Z'), d);
    expect(out).toMatchObject({ status: 'failed' });
    const error = out.status === 'failed' ? out.error : '';
    expect(error).toContain('GET /api/public/v2/observations');
    expect(error).toContain('GET /api/public/observations');
    expect(error).toContain('LANGFUSE_BASE_URL');
  });
});

describe("Arbiter's own observations", () => {
  it('are never scored: tagged traces are filtered server-side, marked names and metadata client-side', async () => {
    const calls = fakeLangfuseObservations(LF, [
      gen('app', 'tr1', '2026-11-20T09:10:00.000Z', 'Where is my order?', 'It shipped today.'),
      gen('judge', 'tr9', '2026-11-20T09:11:00.000Z', 'Rate this answer', '{"score":1}', {
        tags: ['arbiter'],
        traceName: 'arbiter.judge',
      }),
      gen('sim', 'tr8', '2026-11-20T09:12:00.000Z', 'Play a user', 'Hi', { name: 'arbiter.simulator' }),
      gen('meta', 'tr7', '2026-11-20T09:13:00.000Z', 'Judge', 'ok', { metadata: { source: 'arbiter' } }),
      gen('otel', 'tr6', '2026-11-20T09:14:00.000Z', 'Judge', 'ok', {
        metadata: { 'arbiter.source': 'arbiter' },
      }),
    ]);
    const bodies = fakeScores();
    const d = await deps();
    const out = await runTick(monitor({ pageSize: 100 }), new Date('2026-11-20T10:00:00Z'), d);
    expect(out).toMatchObject({ status: 'succeeded', read: 1, scored: 1 });
    expect(bodies.map((b) => b.traceId)).toEqual(['tr1']);
    // The tagged judge trace never left the server; the other three were dropped as read, and the report says so.
    expect(JSON.stringify(d.transport.posts[0]!.message)).toContain(
      "3 of Arbiter's own observation(s) left out",
    );
    expect(JSON.parse(calls[0]!.query.get('filter')!)).toEqual([
      { type: 'arrayOptions', column: 'tags', operator: 'none of', value: ['arbiter'] },
    ]);
  });

  it('a server that refuses the tag filter (400) is read without it, and the client-side check still applies', async () => {
    const seen: (string | null)[] = [];
    nock(LF)
      .get('/api/public/v2/observations')
      .query((q) => {
        seen.push((q.filter as string) ?? null);
        return q.filter !== undefined;
      })
      .reply(400, { message: 'Invalid filter column: tags' });
    fakeLangfuseObservations(LF, [
      gen('app', 'tr1', '2026-11-20T09:10:00.000Z', 'q', 'a'),
      gen('judge', 'tr9', '2026-11-20T09:11:00.000Z', 'Rate', '1', { tags: ['arbiter'] }),
    ]);
    fakeScores();
    const d = await deps();
    const out = await runTick(monitor({ pageSize: 100 }), new Date('2026-11-20T10:00:00Z'), d);
    expect(out).toMatchObject({ status: 'succeeded', read: 1, scored: 1 });
    expect(seen).toHaveLength(1);
  });
});

describe('faults', () => {
  it('retries 429 (honouring Retry-After) and 5xx with back-off within the tick, and counts them', async () => {
    const { logger, lines } = logLines();
    const d = { ...(await deps()), logger };
    // The Langfuse back-off waits on the tick's clock (which moves instead of sleeping and records each wait).
    const waits = d.clock.sleeps;
    nock(LF)
      .get('/api/public/v2/observations')
      .query(true)
      .reply(429, 'slow down', { 'retry-after': '2' })
      .get('/api/public/v2/observations')
      .query(true)
      .reply(503, 'unavailable')
      .get('/api/public/v2/observations')
      .query(true)
      .reply(502, 'bad gateway');
    fakeLangfuseObservations(LF, [gen('o1', 'tr1', '2026-11-20T09:10:00.000Z', 'q', 'a')]);
    fakeScores();
    expect(await runTick(monitor(), new Date('2026-11-20T10:00:00Z'), d)).toMatchObject({
      status: 'succeeded',
      scored: 1,
    });
    expect(waits).toEqual([2000, 2000, 4000]);
    expect(lines.some((l) => l.msg.includes('3 Langfuse call(s) retried (429/5xx)'))).toBe(true);
  });

  it("a filter Langfuse refuses (400) fails the tick pointing at the monitor's source.filter", async () => {
    nock(LF)
      .get('/api/public/v2/observations')
      .query(true)
      .times(2)
      .reply(400, { message: 'Invalid filter: unknown column "colour"' });
    const d = await deps();
    const m = monitor({ filter: [{ type: 'string', column: 'colour', operator: '=', value: 'red' }] });
    const out = await runTick(m, new Date('2026-11-20T10:00:00Z'), d);
    expect(out).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/400 to GET \/api\/public\/v2\/observations.*colour.*source\.filter/),
    });
  });

  it.each([
    ['lag', 'soon', /lag.*expected a duration like 15m/],
    ['settle', '5 minutes', /settle.*expected a duration like 5m/],
    ['fields', ['io', 'everything'], /fields/],
  ])('a bad %s (%j) is refused when the monitor loads', (key, value, message) => {
    const parsed = MonitorSchema.safeParse({
      name: 'lf',
      schedule: { every: '1h' },
      source: { type: 'langfuse', [key]: value },
      extract: { input: 'input', output: 'output' },
      metrics: [{ metric: 'refusal' }],
    });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n')).toMatch(message);
  });

  it('gives up after the retries and fails the tick saying how often it tried', async () => {
    nock(LF).get('/api/public/v2/observations').query(true).times(4).reply(503, 'unavailable');
    const d = await deps();
    const out = await runTick(monitor(), new Date('2026-11-20T10:00:00Z'), d);
    expect(out).toMatchObject({ status: 'failed', error: expect.stringMatching(/503.*after 3 retries/) });
  });

  it('bad credentials: tick failed with the endpoint and the fix, one alert, same watermark next time', async () => {
    const d = await deps();
    const froms: string[] = [];
    nock(LF)
      .get('/api/public/v2/observations')
      .query((q) => {
        froms.push(String(q.fromStartTime));
        return true;
      })
      .times(2)
      .reply(401, { message: 'Invalid credentials. Confirm that you have used the correct host.' });
    const t1 = await runTick(monitor(), new Date('2026-11-20T10:00:00Z'), d);
    const t2 = await runTick(monitor(), new Date('2026-11-20T11:00:00Z'), d);
    expect(t1).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/401 to GET \/api\/public\/v2\/observations.*LANGFUSE_PUBLIC_KEY.*region/),
    });
    expect(t2.status).toBe('failed');
    expect(d.transport.posts.map((p) => p.message.title)).toEqual(['🚨 Monitor lf is failing']);
    expect(JSON.stringify(d.transport.posts[0]!.message)).not.toContain('sk-lf-secret');
    // Without a stored watermark both ticks look back from their own tick time; nothing was consumed.
    expect(froms).toEqual(['2026-11-20T09:00:00.000Z', '2026-11-20T10:00:00.000Z']);
    expect((await d.leases.lastTick('monitor:lf'))?.status).toBe('failed');
  });

  it('a crash after scoring but before publishing re-publishes next tick with the same ids, never twice in store', async () => {
    fakeLangfuseObservations(LF, [gen('o1', 'tr1', '2026-11-20T09:10:00.000Z', 'q', 'a')]);
    // 503 to the first write and its three retries: the score stays unpublished until the next tick.
    const bodies = fakeScores({ fail: 4 });
    const d = await deps();
    const t1 = await runTick(monitor(), new Date('2026-11-20T10:00:00Z'), d);
    expect(t1).toMatchObject({ status: 'succeeded', scored: 1, published: 0, publishFailed: 1 });
    const t2 = await runTick(monitor(), new Date('2026-11-20T11:00:00Z'), d);
    expect(t2).toMatchObject({ status: 'succeeded', scored: 0, published: 1 });
    expect(bodies.map((b) => b.id)).toEqual([scoreId('lf', 'tr1', 'no-refusal')]);
    expect(await d.store.unpublished('lf')).toEqual([]);
  });
});
