// The outbox against a fake Slack Web API on loopback that answers in Slack's shapes, errors included: the store,
// the delivery loop, the Slack transport and the Web API client run for real. Retries (429 with Retry-After,
// `ratelimited` with HTTP 200, internal_error, fatal_error, 503), failures mapped and told once, refused messages
// degraded, lanes, per-channel pacing, coalesced edits, and a run report that survives a crash at each step.
import { describe, expect, it } from 'vitest';
import { type DeliveryDoc, type Outbox, type OutboxOptions, reportDeliveryFailures } from '../bot/outbox.ts';
import { createRunReporter, RUN_POSTS_COLLECTION, runDeliveryIds } from '../bot/run-reporter.ts';
import { POST_PACE, UPDATE_PACE } from '../bot/slack-transport.ts';
import { createSilentLogger } from '../config/index.ts';
import type { Run, RunItemView, RunService } from '../runs/index.ts';
import type { DocumentStore } from '../storage/index.ts';
import type { FakeSlack, FakeSlackCall } from './fixtures/fake-slack.ts';
import {
  closeAfterEach,
  fakeSlackAndStore,
  fakeSlackClient,
  openSlackOutbox,
} from './helpers/slack-outbox.ts';
import { waitUntil } from './helpers/wait.ts';

const logger = createSilentLogger();
const textOf = (c: FakeSlackCall) => `${String(c.args.text ?? '')} ${JSON.stringify(c.args.blocks ?? '')}`;

describe('Slack outbox', () => {
  const defer = closeAfterEach();

  async function setup() {
    const { slack, store } = await fakeSlackAndStore(defer, 'arbiter-outbox-');
    const client = fakeSlackClient(slack);
    const open = (extra: Partial<OutboxOptions> = {}) =>
      openSlackOutbox(store, client, { perChannel: POST_PACE, perOp: { update: UPDATE_PACE }, ...extra });
    return { slack, store, open };
  }
  const started = (o: Outbox) => {
    o.start();
    defer(() => o.stop());
    return o;
  };

  it('retries 429 (after Retry-After), ratelimited with HTTP 200, internal_error, fatal_error and a 503; records the ts once accepted', async () => {
    const { slack, open } = await setup();
    const answers = [
      { status: 429, headers: { 'retry-after': '1' }, body: { ok: false, error: 'ratelimited' } },
      { body: { ok: false, error: 'ratelimited' } },
      { body: { ok: false, error: 'internal_error' } },
      { body: { ok: false, error: 'fatal_error' } },
      { status: 503, body: { ok: false, error: 'service_unavailable' } },
    ];
    const times: number[] = [];
    slack.setReply((c) => {
      if (c.method !== 'chat.postMessage') return undefined;
      times.push(Date.now());
      return answers.shift();
    });
    const outbox = started(await open());
    const doc = await outbox.send({ op: 'post', channel: 'C1', message: { title: 'Hello', sections: [] } });
    expect(doc.status).toBe('delivered');
    expect(doc.attempts).toBe(6);
    expect(doc.result?.ts).toBe(slack.posted[0]?.ts);
    expect(slack.posted).toHaveLength(1);
    // Retry-After: 1 was honoured before the second attempt.
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(950);
    expect(outbox.stats().retried).toBe(5);
  });

  it('a refusal no retry fixes fails the delivery with the code and reason recorded, and tells the requester once, else the admins once', async () => {
    const { slack, open } = await setup();
    slack.setReply((c) =>
      c.method === 'chat.postMessage' && c.args.channel === 'CGONE'
        ? { body: { ok: false, error: 'channel_not_found' } }
        : undefined,
    );
    const outbox = started(await open());
    reportDeliveryFailures({ outbox, admins: () => ['UADMIN'], logger });
    const asked = await outbox.send({
      op: 'post',
      channel: 'CGONE',
      requester: 'U1',
      message: { title: 'Ballot', sections: [] },
    });
    expect(asked.status).toBe('failed');
    expect(asked.attempts).toBe(1);
    expect(asked.error?.code).toBe('channel_not_found');
    expect(asked.error?.reason).toContain('invite it with `/invite @arbiter`');
    // Nobody waited for these two: the admins are told, once for this error in this channel.
    const a = await outbox.enqueue({ op: 'post', channel: 'CGONE', message: { title: 'A', sections: [] } });
    const b = await outbox.enqueue({ op: 'post', channel: 'CGONE', message: { title: 'B', sections: [] } });
    await outbox.idle();
    expect((await outbox.get(b.id))?.status).toBe('failed');
    // A post to a user id lands in the bot's DM with that user (Slack answers with the D… id).
    const dms = slack.posted.filter((p) => p.channel.startsWith('DU'));
    expect(dms.map((d) => d.channel)).toEqual(['DUADMIN']);
    expect(String(dms[0]?.message.text)).toContain('channel_not_found');
    // The failure of the awaited one came back to its caller (who answers the user); it made no DM.
    expect(slack.posted.filter((p) => p.channel === 'DU1')).toEqual([]);
    const failed = await outbox.get(a.id);
    expect(failed?.status).toBe('failed');
  });

  it('the failure of a delivery nobody waited for is told to its requester by DM', async () => {
    const { slack, open } = await setup();
    slack.setReply((c) =>
      c.method === 'chat.postMessage' && c.args.channel === 'CPRIV'
        ? { body: { ok: false, error: 'not_in_channel' } }
        : undefined,
    );
    const outbox = started(await open());
    reportDeliveryFailures({ outbox, admins: () => ['UADMIN'], logger });
    await outbox.enqueue({
      op: 'post',
      channel: 'CPRIV',
      requester: 'U7',
      message: { title: 'R', sections: [] },
    });
    await outbox.idle();
    const dm = await waitUntil(() => slack.posted.find((p) => p.channel === 'DU7'));
    expect(String(dm.message.text)).toContain('not_in_channel');
    expect(slack.posted.filter((p) => p.channel === 'DUADMIN')).toEqual([]);
  });

  it('an edit Slack refuses as too long keeps a short parent and moves the content into its thread; a post with invalid blocks goes as plain text', async () => {
    const { slack, open } = await setup();
    let refusedUpdate = false;
    let refusedPost = false;
    slack.setReply((c) => {
      if (c.method === 'chat.update' && !refusedUpdate) {
        refusedUpdate = true;
        return { body: { ok: false, error: 'msg_too_long' } };
      }
      if (c.method === 'chat.postMessage' && c.args.channel === 'C2' && !refusedPost) {
        refusedPost = true;
        return { body: { ok: false, error: 'invalid_blocks', errors: ['invalid additional property'] } };
      }
      return undefined;
    });
    const outbox = started(await open());
    const parent = await outbox.send({ op: 'post', channel: 'C1', message: { title: 'Run', sections: [] } });
    const ts = parent.result!.ts;
    const edit = await outbox.send({
      op: 'update',
      channel: 'C1',
      ts,
      message: { title: 'Run report', sections: [{ kind: 'text', text: 'Mean score 0.8 and the rest' }] },
    });
    expect(edit.status).toBe('delivered');
    expect(edit.degraded).toBe(true);
    const overflow = await outbox.settled(`${edit._id}:overflow`);
    expect(overflow.status).toBe('delivered');
    const updates = slack.of('chat.update');
    expect(updates).toHaveLength(2);
    expect(textOf(updates[1]!)).toContain('Full text in the thread');
    const inThread = slack.posted.filter((p) => p.message.thread_ts === ts);
    expect(inThread).toHaveLength(1);
    expect(JSON.stringify(inThread[0]?.message.blocks)).toContain('Mean score 0.8 and the rest');

    const post = await outbox.send({
      op: 'post',
      channel: 'C2',
      message: { title: 'Odd', sections: [{ kind: 'fields', fields: [{ label: 'a', value: 'b' }] }] },
    });
    expect(post.status).toBe('delivered');
    expect(JSON.stringify(slack.posted.at(-1)?.message.blocks)).toContain('a: b');
  });

  it('replies are never queued behind bulk posting; one channel is paced at Slack’s rate, other channels do not wait', async () => {
    const { slack, open } = await setup();
    const at = new Map<string, number>();
    slack.setReply((c) => {
      if (c.method === 'chat.postMessage') at.set(String((c.args.text as string) ?? ''), Date.now());
      return undefined;
    });
    const outbox = await open();
    for (let i = 0; i < 10; i++)
      await outbox.enqueue({ op: 'post', channel: 'CBULK', message: { title: `bulk ${i}`, sections: [] } });
    const t0 = Date.now();
    started(outbox);
    await waitUntil(() => slack.posted.length >= 6);
    const reply = outbox.send({
      op: 'post',
      lane: 'reply',
      channel: 'CBULK',
      message: { title: 'reply here', sections: [] },
    });
    const other = await outbox.send({
      op: 'post',
      lane: 'reply',
      channel: 'COTHER',
      message: { title: 'reply elsewhere', sections: [] },
    });
    expect(other.status).toBe('delivered');
    expect(Date.now() - t0).toBeLessThan(4000);
    await reply;
    await outbox.idle();
    const order = slack.posted.filter((p) => p.channel === 'CBULK').map((p) => String(p.message.text));
    // The reply went next in its channel, before the four bulk posts still waiting.
    expect(order.indexOf('reply here')).toBeLessThan(8);
    expect(order).toHaveLength(11);
    // At most the burst at once, then about one per second.
    const times = slack.posted
      .filter((p) => p.channel === 'CBULK')
      .map((p) => at.get(String(p.message.text))!);
    for (let i = POST_PACE.burst; i < times.length; i++)
      expect(times[i]! - times[i - POST_PACE.burst]!).toBeGreaterThanOrEqual(900);
  }, 30_000);

  it('edits of one message are coalesced (latest state wins) and a final edit beats any progress edit', async () => {
    const { slack, open } = await setup();
    const outbox = await open();
    const key = 'msg:C1:1.1';
    for (let i = 0; i < 10; i++)
      await outbox.enqueue({
        op: 'update',
        channel: 'C1',
        ts: '1.1',
        supersedeKey: key,
        coalesce: true,
        message: { title: `progress ${i}`, sections: [] },
      });
    const final = await outbox.enqueue({
      id: 'final',
      op: 'update',
      channel: 'C1',
      ts: '1.1',
      supersedeKey: key,
      final: true,
      message: { title: 'final report', sections: [] },
    });
    started(outbox);
    expect((await outbox.settled(final.id)).status).toBe('delivered');
    // A progress edit recorded after the final one is superseded, never sent.
    const late = await outbox.send({
      op: 'update',
      channel: 'C1',
      ts: '1.1',
      supersedeKey: key,
      coalesce: true,
      message: { title: 'progress late', sections: [] },
    });
    expect(late.status).toBe('superseded');
    expect(slack.of('chat.update').map((c) => String(c.args.text))).toEqual(['final report']);
  });
});

describe('run report across a crash at each step', () => {
  const defer = closeAfterEach();

  const runOf = (status: string) =>
    ({
      _id: 'run_1',
      suiteName: 'quickstart',
      status,
      total: 3,
      progress: { done: 3, total: 3, errors: 0, meanScore: 0.2 },
      datasetErrors: [],
    }) as unknown as Run;
  const items = [0, 1, 2].map(
    (row) =>
      ({
        doc: { status: 'done', passed: false, row, score: 0.2 },
        item: { input: `question ${row}` },
        result: undefined,
      }) as unknown as RunItemView,
  );
  const ids = [
    runDeliveryIds.report('run_1'),
    runDeliveryIds.reply('run_1', 0),
    runDeliveryIds.reply('run_1', 1),
    runDeliveryIds.reply('run_1', 2),
  ];
  type Step = 'claimed' | 'part' | 'sent' | 'recorded';
  const scenarios: { step: Step | 'before-finish'; at: number }[] = [
    { step: 'before-finish', at: -1 },
    ...(['claimed', 'sent', 'recorded'] as const).flatMap((step) => ids.map((_, at) => ({ step, at }))),
  ];

  async function boot(
    slack: FakeSlack,
    store: DocumentStore,
    run: () => Run,
    crash?: OutboxOptions['crashAt'],
  ) {
    const outbox = await openSlackOutbox(store, fakeSlackClient(slack), {
      perChannel: { perSecond: 50, burst: 10 },
      ...(crash ? { crashAt: crash } : {}),
    });
    const runs = { getRun: async () => run(), items: async () => items } as unknown as RunService;
    const reporter = await createRunReporter({ store, outbox, runs, logger, intervalMs: 0 });
    outbox.start();
    return { outbox, reporter };
  }

  it.each(scenarios)(
    'crash $step at delivery $at: every thread reply once, the final report last, reported only after',
    async ({ step, at }) => {
      const { slack, store } = await fakeSlackAndStore(defer, 'arbiter-outbox-crash-');
      let status = 'running';
      let crashed = false;
      const first = await boot(
        slack,
        store,
        () => runOf(status),
        (s: Step, doc: DeliveryDoc) => {
          if (crashed || s !== step || doc._id !== ids[at]) return false;
          crashed = true;
          return true;
        },
      );
      await first.reporter.attach('run_1', 'C1', { title: 'Evaluation run: quickstart', sections: [] });
      const parentTs = slack.posted[0]!.ts;
      first.reporter.progress('run_1');
      status = 'completed';
      if (step !== 'before-finish') {
        await first.reporter.finish('run_1');
        await waitUntil(() => crashed);
      }
      const posts = await store.collection<{ _id: string; reported: boolean }>(RUN_POSTS_COLLECTION);
      if (step !== 'recorded' || at < ids.length - 1)
        expect((await posts.findOne({ _id: 'run_1' }))?.reported).toBe(false);

      // The restart: a new loop on the same store; unreported runs are re-checked, deliveries in flight looked up.
      const second = await boot(slack, store, () => runOf(status));
      defer(() => second.outbox.stop());
      await second.reporter.recover();
      await second.reporter.idle();
      await waitUntil(async () => (await posts.findOne({ _id: 'run_1' }))?.reported === true);

      const replies = slack.posted.filter((p) => p.message.thread_ts === parentTs);
      const keys = replies.map(
        (p) => (p.message.metadata as { event_payload?: { key?: string } } | undefined)?.event_payload?.key,
      );
      expect(keys.sort()).toEqual(ids.slice(1).sort());
      expect(slack.posted.filter((p) => !p.message.thread_ts)).toHaveLength(1);
      const updates = slack.of('chat.update');
      expect(textOf(updates.at(-1)!)).toContain('Mean score');
      for (const u of updates) expect(u.args.ts).toBe(parentTs);
    },
  );
});

describe('a message that goes out in several parts is one delivery', () => {
  const defer = closeAfterEach();

  // A parent and four thread replies: renderThread makes five chat.postMessage calls of one delivery.
  const message = {
    title: 'Monitor support: 7 scored',
    sections: [{ kind: 'text' as const, text: 'parent' }],
    thread: [1, 2, 3, 4].map((n) => ({
      title: `reply ${n}`,
      sections: [{ kind: 'text' as const, text: `r${n}` }],
    })),
  };
  const titles = ['Monitor support: 7 scored', 'reply 1', 'reply 2', 'reply 3', 'reply 4'];

  async function open(slack: FakeSlack, store: DocumentStore, crashAt?: OutboxOptions['crashAt']) {
    const outbox = await openSlackOutbox(store, fakeSlackClient(slack), {
      perChannel: { perSecond: 50, burst: 10 },
      ...(crashAt ? { crashAt } : {}),
    });
    outbox.start();
    return outbox;
  }
  const setup = () => fakeSlackAndStore(defer, 'arbiter-outbox-parts-');
  /** Every part once, in order, the replies in the parent's thread. */
  function expectPostedOnce(slack: FakeSlack) {
    const texts = slack.posted.map((p) => String(p.message.text));
    expect(texts).toEqual(titles);
    const parent = slack.posted[0]!;
    expect(parent.message.thread_ts).toBeUndefined();
    for (const p of slack.posted.slice(1)) expect(p.message.thread_ts).toBe(parent.ts);
  }

  it('a retryable error on the third part: the retry resumes at that part, the first two are not posted again', async () => {
    const { slack, store } = await setup();
    let failed = 0;
    slack.setReply((c) =>
      c.method === 'chat.postMessage' && c.args.text === 'reply 2' && failed++ === 0
        ? { body: { ok: false, error: 'ratelimited' } }
        : undefined,
    );
    const outbox = await open(slack, store);
    defer(() => outbox.stop());
    const doc = await outbox.send({ id: 'monitor-tick|support', op: 'post', channel: 'C1', message });
    expect(doc.status).toBe('delivered');
    expect(doc.attempts).toBe(2);
    expect(doc.parts?.map((p) => p.ts)).toEqual(slack.posted.map((p) => p.ts));
    expect(doc.result?.ts).toBe(slack.posted[0]!.ts);
    expectPostedOnce(slack);
  });

  for (const at of [0, 2, 4])
    it(`a crash after Slack accepted part ${at} but before it was recorded: the restart finds it by its key and posts the rest once`, async () => {
      const { slack, store } = await setup();
      let crashed = false;
      const first = await open(slack, store, (step, doc) => {
        if (crashed || step !== 'part' || (doc.parts?.length ?? 0) !== at + 1) return false;
        crashed = true;
        return true;
      });
      await first.enqueue({ id: 'digest:daily|parent', op: 'post', channel: 'C1', message });
      await waitUntil(() => crashed);
      expect(slack.posted).toHaveLength(at + 1);
      // The process is gone (its loop frozen mid-delivery); a new one starts on the same store.
      const second = await open(slack, store);
      defer(() => second.stop());
      const doc = await second.settled('digest:daily|parent');
      expect(doc.status).toBe('delivered');
      expectPostedOnce(slack);
      const keys = slack.posted.map(
        (p) => (p.message.metadata as { event_payload?: { key?: string } }).event_payload?.key,
      );
      expect(keys).toEqual(['digest:daily|parent', ...[1, 2, 3, 4].map((i) => `digest:daily|parent#${i}`)]);
    });
});
