// needs_review buttons on monitor reports: a real tick (embedded store, offline judge) posts Confirm / Override
// buttons; the action handler stores decisions idempotently and publishes human scores to Langfuse (nock) with a
// deterministic id, retrying a failed publish without duplicating it.
import { join } from 'node:path';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findActionHandler } from '../chat/actions.ts';
import { createDigestInputs } from '../commands/digest.ts';
import { buildDigest } from '../digests/build.ts';
import { DigestSchema } from '../digests/schema.ts';
import type { Message, MessageButton } from '../chat/message.ts';
import { createManualClock } from '../config/runtime.ts';
import { createLangfuseClient } from '../langfuse/client.ts';
import { createLlm, type LlmService } from '../llm/index.ts';
import {
  createMonitorReviewActions,
  createMonitorStore,
  createTickLog,
  type Monitor,
  type MonitorDeps,
} from '../monitors/index.ts';
import { AlertRuleSchema, MonitorSchema } from '../monitors/schema.ts';
import { historyWithDecisions } from '../monitors/tick-phases.ts';
import { humanScoreId, REVIEW_ACTION_PREFIX } from '../monitors/review.ts';
import { runTick } from '../monitors/tick.ts';
import { ruleValue } from '../monitors/alerts.ts';
import { scoreId } from '../monitors/tick-sinks.ts';
import { createRecordingTransport } from '../prompts/testing.ts';
import { createLeases, type DocumentStore } from '../storage/index.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { answerObservations, chatInput, type FakeObservation } from './fixtures/fake-langfuse.ts';
import { tempDir } from './helpers/tmp.ts';

const LF = 'https://langfuse.test';
const T = new Date('2026-11-20T10:00:00Z');

const obs = (
  id: string,
  traceId: string,
  startTime: string,
  question: string,
  answer: string,
): FakeObservation => ({
  id,
  traceId,
  startTime,
  name: 'chat',
  input: chatInput(question),
  output: answer,
  metadata: {},
});

/** The two observations the tests read: one the judge should like, one it should not. */
const REFUND = {
  ...obs(
    'o1',
    'tr1',
    '2026-11-20T09:10:00.000Z',
    'How do I get a refund?',
    'Ask for a refund within 30 days.',
  ),
  environment: 'production',
};
const PARCEL = obs(
  'o2',
  'tr2',
  '2026-11-20T09:20:00.000Z',
  'Where is my parcel?',
  'Our office opens at nine.',
);

function monitor(): Monitor {
  return MonitorSchema.parse({
    name: 'rv',
    schedule: { every: '1h' },
    source: { type: 'langfuse', lookback: '1h', observationType: 'GENERATION' },
    extract: { input: 'generation.input[-1].content', output: 'generation.output' },
    metrics: [
      {
        metric: 'llm-judge',
        name: 'helpfulness',
        // The offline judge's confidence is below 0.99, so every score is flagged needs_review.
        args: { criteria: 'Does the answer tell the customer how to get a refund?', reviewBelow: 0.99 },
      },
    ],
    publish: { channel: '#c', langfuse: true, worst: 1 },
  });
}

let dir: string;
let cleanup: () => void;
let store: DocumentStore;
let llm: LlmService;
beforeEach(async () => {
  nock.disableNetConnect();
  ({ dir, cleanup } = tempDir());
  store = await createEmbeddedStore({ dir: join(dir, 'data'), autocompactMs: 0 });
  llm = createLlm({ store });
});
afterEach(async () => {
  nock.cleanAll();
  nock.enableNetConnect();
  await llm.flush();
  await store.close();
  cleanup();
});

/** Langfuse's score endpoint: records every POST body; `fail` makes it answer 503. */
function scoresEndpoint() {
  const state = { bodies: [] as Record<string, unknown>[], fail: false };
  nock(LF)
    .persist()
    .post('/api/public/scores', (b: Record<string, unknown>) => {
      state.bodies.push(b);
      return true;
    })
    .reply((_uri, body) => (state.fail ? [503, 'unavailable'] : [200, { id: (body as { id: string }).id }]));
  return state;
}

/** One read of the v2 observations API over `data`, answered in Langfuse's shapes (raw-string I/O). */
function observations(data: FakeObservation[]) {
  nock(LF)
    .get('/api/public/v2/observations')
    .query(true)
    .reply((uri) => {
      const url = new URL(uri, LF);
      const res = answerObservations('v4', data, url.pathname, url.searchParams, T.getTime());
      return [res.status, res.body as nock.Body];
    });
}

async function setup() {
  const clock = createManualClock(T);
  const transport = createRecordingTransport();
  const langfuse = createLangfuseClient({
    baseUrl: LF,
    publicKey: 'pk-lf-1',
    secretKey: 'sk-lf-1',
    timeoutMs: 2000,
    retry: { sleep: async () => {} },
  });
  const d: MonitorDeps = {
    store: await createMonitorStore(store),
    leases: await createLeases(store, { clock }),
    transport,
    clock,
    owner: 'a',
    llm,
    judgeModel: llm.judgeModel,
    langfuse,
    langfuseBaseUrl: LF,
  };
  const handler = createMonitorReviewActions({ store: d.store, clock, langfuse });
  return { d, transport, clock, handler };
}

const buttonsOf = (m: Message): MessageButton[] =>
  m.sections.flatMap((s) => (s.kind === 'buttons' ? s.buttons : []));

describe('needs_review buttons', () => {
  it('confirm, idempotent redelivery, override that replaces, Langfuse human score with a deterministic id', async () => {
    const scores = scoresEndpoint();
    observations([REFUND, PARCEL]);
    const { d, transport, clock, handler } = await setup();
    expect(await runTick(monitor(), T, d)).toMatchObject({ status: 'succeeded', scored: 2, published: 2 });
    expect(scores.bodies.map((b) => b.id).sort()).toEqual(
      [scoreId('rv', 'tr1', 'helpfulness'), scoreId('rv', 'tr2', 'helpfulness')].sort(),
    );

    // Both items need review: the worst one and the other are in the thread, each with the three buttons.
    const thread = transport.posts[0]!.message.thread ?? [];
    const withButtons = thread.filter((m) => buttonsOf(m).length > 0);
    expect(withButtons).toHaveLength(2);
    const tr1 = withButtons.find((m) => JSON.stringify(m).includes('item tr1'))!;
    const buttons = buttonsOf(tr1);
    expect(buttons.map((b) => b.actionId)).toEqual([
      'monitor.review:confirm',
      'monitor.review:pass',
      'monitor.review:fail',
    ]);
    const token = buttons[0]!.value;
    expect(token).toMatch(/^mr_[0-9a-f]{32}$/);
    expect(token).not.toContain('tr1');
    expect(new Set(buttons.map((b) => b.value)).size).toBe(1);
    for (const b of buttons) expect(b.text.length).toBeLessThanOrEqual(75);

    expect(handler.role).toBe('reviewer');
    expect(findActionHandler([handler], 'monitor.review:confirm~2')).toBe(handler);
    const judge = (await d.store.reviews.get(token))!.judgeValue;
    const ctx = { user: 'U0REV1', channel: 'C1', messageTs: '1.1', threadTs: '1.0', key: 'click-1' };

    // Confirm: stored, published as `<metric>-human` with the deterministic id, the message redrawn.
    scores.bodies.length = 0;
    const first = await handler.handle({ actionId: 'monitor.review:confirm', value: token }, ctx);
    expect(scores.bodies).toEqual([
      expect.objectContaining({
        id: humanScoreId('rv', 'tr1', 'helpfulness'),
        traceId: 'tr1',
        // The environment of the trace it reviews, as the judge's score.
        environment: 'production',
        name: 'helpfulness-human',
        value: judge,
        dataType: 'NUMERIC',
        metadata: expect.objectContaining({ reviewer: 'U0REV1', decision: 'confirm', judgeValue: judge }),
      }),
    ]);
    expect(JSON.stringify(first.update)).toMatch(/<@U0REV1> confirmed helpfulness/);
    expect(buttonsOf(first.update!)).toHaveLength(3);
    expect(first.update!.title).toBe('Reviewed');
    expect(first.reply).toBeUndefined();
    expect(JSON.stringify(first.ephemeral)).toContain('Recorded');

    // The same click delivered again changes nothing and publishes nothing.
    clock.advance(5_000);
    const again = await handler.handle({ actionId: 'monitor.review:confirm', value: token }, ctx);
    expect(scores.bodies).toHaveLength(1);
    expect(again.ephemeral).toBeUndefined();
    expect(again.update).toEqual(first.update);
    expect((await d.store.reviews.get(token))!.decision).toMatchObject({
      by: 'U0REV1',
      kind: 'confirm',
      at: T,
    });

    // A second decision replaces the first and says so; the human score is upserted under the same id.
    const second = await handler.handle(
      { actionId: 'monitor.review:fail~3', value: token },
      { ...ctx, user: 'U0REV2', key: 'click-2' },
    );
    expect(scores.bodies.map((b) => [b.id, b.value])).toEqual([
      [humanScoreId('rv', 'tr1', 'helpfulness'), judge],
      [humanScoreId('rv', 'tr1', 'helpfulness'), 0],
    ]);
    expect(JSON.stringify(second.reply)).toMatch(
      /<@U0REV2> overrode the judge's .* with fail \(0\).*replacing <@U0REV1>'s confirm/,
    );
    expect(JSON.stringify(second.update)).toMatch(/replaces 1 earlier decision/);
    const stored = (await d.store.reviews.get(token))!;
    expect(stored.decision).toMatchObject({ by: 'U0REV2', kind: 'fail', value: 0 });
    expect(stored.replaced).toEqual([expect.objectContaining({ by: 'U0REV1', kind: 'confirm' })]);

    // A late redelivery of the first click does not bring the first decision back.
    await handler.handle({ actionId: 'monitor.review:confirm', value: token }, ctx);
    expect(scores.bodies).toHaveLength(2);
    expect((await d.store.reviews.get(token))!.decision).toMatchObject({ by: 'U0REV2', kind: 'fail' });

    // Unknown tokens are refused, not crashed on.
    const unknown = await handler.handle({ actionId: 'monitor.review:pass', value: 'mr_nope' }, ctx);
    expect(JSON.stringify(unknown.ephemeral)).toMatch(/unknown or has expired/);
  });

  it('human decisions count in digests and alert windows, on top of the judge values the tick stored', async () => {
    scoresEndpoint();
    observations([REFUND, PARCEL]);
    const { d, transport, handler } = await setup();
    const tickLog = await createTickLog(store);
    expect(await runTick(monitor(), T, { ...d, tickLog })).toMatchObject({ status: 'succeeded', scored: 2 });
    const tokens = (transport.posts[0]!.message.thread ?? [])
      .map((m) => buttonsOf(m)[0]?.value)
      .filter((t): t is string => t !== undefined);
    expect(tokens).toHaveLength(2);
    const judged = await Promise.all(tokens.map(async (t) => (await d.store.reviews.get(t))!.judgeValue));
    const runs = { finishedBetween: async () => [] };
    const period = [new Date('2026-11-20T00:00:00Z'), new Date('2026-11-21T00:00:00Z')] as const;
    const judgeOnly = await createDigestInputs({ tickLog, runs }).monitorTicks(...period);
    expect(judgeOnly[0]!.metrics[0]!.sum).toBeCloseTo(judged[0]! + judged[1]!, 9);

    // One reviewer overrides the first item to pass, another confirms the second.
    const ctx = { user: 'U0REV1', channel: 'C1', key: 'k1' };
    await handler.handle({ actionId: 'monitor.review:pass', value: tokens[0]! }, ctx);
    await handler.handle({ actionId: 'monitor.review:confirm', value: tokens[1]! }, { ...ctx, key: 'k2' });
    const inputs = createDigestInputs({ tickLog, runs, reviews: d.store.reviews });
    const [tick] = await inputs.monitorTicks(...period);
    expect(tick!.metrics[0]!.sum).toBeCloseTo(1 + judged[1]!, 9);
    expect(tick!.humanDecisions).toBe(2);
    const digest = await buildDigest(
      inputs,
      DigestSchema.parse({ name: 'd', schedule: { cron: '0 9 * * *', timezone: 'UTC' }, channel: '#q' }),
      new Date('2026-11-21T09:00:00Z'),
    );
    expect(JSON.stringify(digest.message)).toContain('2 human review decision(s) applied');
    const worstHuman = tick!.worst.map((w) => w.value);
    for (const v of worstHuman) expect([1, judged[1]]).toContainEqual(v);
    // The stored tick summary still holds the judge's values: a later change of mind is not counted twice.
    await handler.handle({ actionId: 'monitor.review:fail', value: tokens[0]! }, { ...ctx, key: 'k3' });
    const [again] = await inputs.monitorTicks(...period);
    expect(again!.metrics[0]!.sum).toBeCloseTo(0 + judged[1]!, 9);
    expect((await tickLog.listTicks(...period))[0]!.metrics[0]!.sum).toBeCloseTo(judged[0]! + judged[1]!, 9);

    // Alert windows see the same correction; the stored history keeps the judge's mean.
    const { history } = await d.store.getState('rv');
    expect(history.at(-1)!.means.helpfulness).toBeCloseTo((judged[0]! + judged[1]!) / 2, 9);
    const corrected = await historyWithDecisions(
      history,
      'rv',
      d.store.reviews,
      new Date('2026-11-20T11:00:00Z'),
    );
    expect(corrected.at(-1)!.means.helpfulness).toBeCloseTo((0 + judged[1]!) / 2, 9);
    expect(
      ruleValue(AlertRuleSchema.parse({ metric: 'helpfulness', below: 0.5, window: 3 }), corrected),
    ).toBeCloseTo((0 + judged[1]!) / 2, 9);
  });

  it('a failed publish is retried by the next tick and by redelivery, always under the same id', async () => {
    const scores = scoresEndpoint();
    observations([REFUND]);
    const { d, transport, clock, handler } = await setup();
    await runTick(monitor(), T, d);
    const token = buttonsOf(transport.posts[0]!.message.thread![0]!)[0]!.value;
    scores.bodies.length = 0;

    scores.fail = true;
    const ctx = { user: 'U0REV1', key: 'click-9' };
    const res = await handler.handle({ actionId: `${REVIEW_ACTION_PREFIX}:pass`, value: token }, ctx);
    expect(JSON.stringify(res.ephemeral)).toMatch(/next tick retries/);
    expect((await d.store.reviews.get(token))!.published).toBe(false);

    // The next tick publishes it (and finds nothing new to score).
    scores.fail = false;
    clock.set('2026-11-20T11:00:00Z');
    observations([]);
    expect(await runTick(monitor(), new Date('2026-11-20T11:00:00Z'), d)).toMatchObject({
      status: 'succeeded',
      scored: 0,
    });
    expect((await d.store.reviews.get(token))!.published).toBe(true);

    // A late redelivery of the same click publishes nothing more.
    await handler.handle({ actionId: `${REVIEW_ACTION_PREFIX}:pass`, value: token }, ctx);
    const human = humanScoreId('rv', 'tr1', 'helpfulness');
    // The failed publish was tried 4 times (3 retries of the 503), then once by the next tick; never another id.
    expect(scores.bodies.map((b) => [b.id, b.value])).toEqual(Array.from({ length: 5 }, () => [human, 1]));
  });

  it('dry runs show no buttons and store no tokens', async () => {
    scoresEndpoint();
    observations([REFUND]);
    const { d, transport } = await setup();
    expect(await runTick(monitor(), T, d, { dryRun: true })).toMatchObject({ status: 'succeeded' });
    const thread = transport.posts[0]!.message.thread ?? [];
    expect(thread.length).toBeGreaterThan(0);
    expect(thread.flatMap(buttonsOf)).toEqual([]);
    expect(await d.store.reviews.unpublished()).toEqual([]);
  });
});
