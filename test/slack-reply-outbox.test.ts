// User replies through the outbox's reply lane (issue 16, Deliver 1 and 2): each answer is a durable delivery,
// picked before the bulk posting of its channel, sent by the reply path's routes (response_url → ephemeral → DM)
// from the delivery loop. Real store, outbox, reply path and Web API client; Slack is the fake Web API on loopback,
// which answers response_urls like incoming webhooks (https://docs.slack.dev/interactivity/handling-user-interaction#message_responses)
// and refuses chat.postEphemeral where the bot is not a member (https://docs.slack.dev/reference/methods/chat.postEphemeral).
import { describe, expect, it } from 'vitest';
import { type DeliveryDoc, OUTBOX_COLLECTION } from '../bot/outbox.ts';
import {
  createMemoryResponseUrlBudget,
  createOutboxReplies,
  createSlackReplies,
} from '../bot/slack-reply.ts';
import { POST_PACE } from '../bot/slack-transport.ts';
import type { Message } from '../chat/index.ts';
import { createSilentLogger } from '../config/index.ts';
import type { DocumentStore } from '../storage/index.ts';
import type { FakeSlack } from './fixtures/fake-slack.ts';
import {
  closeAfterEach,
  fakeSlackAndStore,
  fakeSlackClient,
  openSlackOutbox,
} from './helpers/slack-outbox.ts';
import { waitUntil } from './helpers/wait.ts';

const logger = createSilentLogger();
const answer: Message = {
  title: 'Recent runs',
  summary: 'Recent runs',
  sections: [{ kind: 'text', text: 'No runs yet' }],
  ephemeral: true,
};

describe('user replies go through the outbox reply lane', () => {
  const defer = closeAfterEach();

  async function setup(slack: FakeSlack, store: DocumentStore, start = true) {
    const client = fakeSlackClient(slack);
    const outbox = await openSlackOutbox(store, client, { perChannel: POST_PACE });
    const replies = createOutboxReplies(
      outbox,
      createSlackReplies({ client, budget: createMemoryResponseUrlBudget(), logger, retryDelayMs: 10 }),
    );
    if (start) {
      outbox.start();
      defer(() => outbox.stop());
    }
    return { outbox, replies };
  }
  const world = () => fakeSlackAndStore(defer, 'arbiter-reply-outbox-');

  it('an answer in a channel busy with bulk posts goes first, by response_url; the URL is not kept once it settled', async () => {
    const { slack, store } = await world();
    const { outbox, replies } = await setup(slack, store);
    for (let i = 0; i < 12; i++)
      await outbox.enqueue({ op: 'post', channel: 'C1', message: { title: `ballot ${i}`, sections: [] } });
    await waitUntil(() => slack.posted.length >= 5);
    const t0 = Date.now();
    const route = await replies.tell(
      { user: 'U1', channel: 'C1', responseUrl: `${slack.url}/response/abc` },
      answer,
    );
    expect(route).toBe('response_url');
    expect(Date.now() - t0).toBeLessThan(1000);
    // The bulk posts of C1 (paced at about 1/s after a burst of 5) were still on their way.
    expect(slack.posted.length).toBeLessThan(12);
    const col = await store.collection<DeliveryDoc>(OUTBOX_COLLECTION);
    const [doc] = await col.find({ op: 'reply' });
    expect(doc).toMatchObject({ status: 'delivered', lane: 'reply', route: 'response_url', user: 'U1' });
    expect(doc!.responseUrl).toBeUndefined();
    expect(JSON.stringify(slack.of('/response/abc')[0]!.args)).toContain('No runs yet');
  }, 30_000);

  it('keeps the fallback: an expired response_url goes ephemeral; in a DM between people, a DM from the bot', async () => {
    const { slack, store } = await world();
    const { replies } = await setup(slack, store);
    slack.expireResponseUrl('/response/old');
    expect(
      await replies.tell({ user: 'U1', channel: 'C1', responseUrl: `${slack.url}/response/old` }, answer),
    ).toBe('ephemeral');
    expect(slack.of('chat.postEphemeral')[0]!.args).toMatchObject({ channel: 'C1', user: 'U1' });
    slack.expireResponseUrl('/response/dm');
    expect(
      await replies.tell(
        { user: 'U2', channel: 'D0PEOPLE', responseUrl: `${slack.url}/response/dm` },
        answer,
      ),
    ).toBe('dm');
    expect(slack.posted.at(-1)).toMatchObject({ channel: 'DU2' });
  });

  it('is durable: an answer recorded by a process that stopped is delivered by the next one', async () => {
    const { slack, store } = await world();
    const first = await setup(slack, store, false);
    // The loop of the first process never runs (it stopped right after the job recorded the answer).
    first.replies
      .tell({ user: 'U1', channel: 'C1', responseUrl: `${slack.url}/response/late` }, answer)
      .catch(() => undefined);
    const col = await store.collection<DeliveryDoc>(OUTBOX_COLLECTION);
    await waitUntil(async () => (await col.count({ op: 'reply' })) === 1);
    expect(slack.of('/response/late')).toHaveLength(0);
    await setup(slack, store);
    await waitUntil(() => slack.of('/response/late').length === 1);
    await waitUntil(async () => (await col.findOne({ op: 'reply' }))?.status === 'delivered');
  });
});
