// A digest chart Slack will not take because the bot is not in the channel (files.completeUploadExternal answers
// not_in_channel / channel_not_found: uploads need membership, chat:write.public covers messages only) is reported
// once in the digest's thread with the fix, and the digest is posted without it instead of failing and being
// retried every 5 minutes (issue 16, Deliver 6). Real store, leases, digest builder and Slack transport; Slack is
// the fake Web API (https://api.slack.com/methods/files.completeUploadExternal: errors are HTTP 200 {ok:false, error}).
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOutboxTransport, reportDeliveryFailures } from '../bot/outbox.ts';
import { createSlackClient, createSlackTransport } from '../bot/slack-transport.ts';
import { createDigestInputs } from '../commands/digest.ts';
import { createSilentLogger } from '../config/index.ts';
import { createManualClock } from '../config/runtime.ts';
import { createDigestPosts, type DigestDeps, postDigest } from '../digests/index.ts';
import { DigestSchema } from '../digests/schema.ts';
import { createTickLog, type TickLog } from '../monitors/index.ts';
import { createRunRepository } from '../runs/index.ts';
import { createLeases, type DocumentStore } from '../storage/index.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { type FakeSlack, startFakeSlack } from './fixtures/fake-slack.ts';
import { fakeSlackClient, openSlackOutbox } from './helpers/slack-outbox.ts';
import { tempDir } from './helpers/tmp.ts';
import { waitUntil } from './helpers/wait.ts';

let dir: string;
let cleanup: () => void;
let store: DocumentStore;
let tickLog: TickLog;
let slack: FakeSlack;

beforeEach(async () => {
  ({ dir, cleanup } = tempDir());
  store = await createEmbeddedStore({ dir: join(dir, 'data'), autocompactMs: 0 });
  tickLog = await createTickLog(store);
  slack = await startFakeSlack();
  for (const [at, v] of [
    ['2026-11-18T10:00:00Z', 0.8],
    ['2026-11-19T06:00:00Z', 0.9],
    ['2026-11-19T18:00:00Z', 0.4],
  ] as const)
    await tickLog.recordTick({
      monitor: 'support',
      tickTime: new Date(at),
      finishedAt: new Date(at),
      read: 1,
      items: [{ id: at, input: 'q', output: 'a', scores: [{ metric: 'helpful', value: v, reason: '' }] }],
      thresholds: new Map(),
      events: [],
    });
});
afterEach(async () => {
  await slack.close();
  await store.close();
  cleanup();
});

const daily = DigestSchema.parse({
  name: 'daily',
  schedule: { cron: '0 9 * * *', timezone: 'UTC' },
  channel: 'C0QUALITY01',
});

async function deps(): Promise<DigestDeps> {
  const clock = createManualClock('2026-11-20T09:00:30Z');
  const client = createSlackClient({ token: 'xoxb-t', apiUrl: `${slack.url}/api/`, retries: 0 });
  return {
    inputs: createDigestInputs({ tickLog, runs: await createRunRepository(store) }),
    transport: createSlackTransport(client),
    posts: await createDigestPosts(store),
    leases: await createLeases(store, { clock }),
    clock,
    owner: 'a',
    dataDir: join(dir, 'out'),
  };
}

describe('a digest chart the bot may not upload', () => {
  for (const code of ['not_in_channel', 'channel_not_found']) {
    it(`${code}: posts the digest without the chart, says how to fix it once, and never retries the upload`, async () => {
      slack.setReply((call) =>
        call.method === 'files.completeUploadExternal' ? { body: { ok: false, error: code } } : undefined,
      );
      const d = await deps();
      const out = await postDigest(daily, d);
      expect(out).toMatchObject({ status: 'posted', channel: 'C0QUALITY01' });
      const posts = slack.of('chat.postMessage');
      const parentTs = (out as { ts: string }).ts;
      const note = posts.at(-1)!;
      expect(note.args).toMatchObject({ channel: 'C0QUALITY01', thread_ts: parentTs });
      const noteText = JSON.stringify(note.args.blocks);
      expect(noteText).toContain(code);
      expect(noteText).toContain('/invite @arbiter');
      expect(note.args.text).toBe('Digest chart not uploaded: invite Arbiter to this channel');
      expect(await d.posts.get('daily|day|2026-11-19')).toMatchObject({
        status: 'posted',
        chartDone: true,
        chartSkipped: code,
      });
      // The next checks (every 20 s, and the 5-minute retry) find it posted: nothing is uploaded or posted again.
      const before = slack.calls.length;
      expect((await postDigest(daily, d)).status).toBe('already-posted');
      expect(slack.calls.length).toBe(before);
      expect(slack.of('files.completeUploadExternal')).toHaveLength(1);
      expect(posts.filter((p) => JSON.stringify(p.args.blocks).includes('/invite @arbiter'))).toHaveLength(1);
    });
  }

  it('a transient upload error still fails the attempt, so the chart is retried later', async () => {
    slack.setReply((call) =>
      call.method === 'files.completeUploadExternal'
        ? { body: { ok: false, error: 'internal_error' } }
        : undefined,
    );
    const d = await deps();
    expect(await postDigest(daily, d)).toMatchObject({ status: 'failed' });
    expect(await d.posts.get('daily|day|2026-11-19')).toMatchObject({ status: 'posting', chartDone: false });
  });
});

describe('a digest posted through the outbox (the bot)', () => {
  it('the job records the digest and returns; the outbox posts it, and a chart the bot may not upload becomes the note with the fix, once', async () => {
    slack.setReply((call) =>
      call.method === 'files.completeUploadExternal'
        ? { body: { ok: false, error: 'not_in_channel' } }
        : undefined,
    );
    const d = await deps();
    const client = fakeSlackClient(slack);
    const outbox = await openSlackOutbox(store, client, { backoffMs: 10 });
    reportDeliveryFailures({ outbox, admins: () => ['UADMIN'], logger: createSilentLogger() });
    const transport = createOutboxTransport(outbox, createSlackTransport(client));
    // Recorded while the delivery loop is not running yet: the job does not wait for Slack.
    const out = await postDigest(daily, { ...d, transport });
    expect(out).toMatchObject({ status: 'posted', channel: 'C0QUALITY01' });
    expect(slack.of('chat.postMessage')).toHaveLength(0);
    outbox.start();
    await outbox.idle();
    await waitUntil(() => slack.posted.find((p) => p.channel === 'DUADMIN'));
    await outbox.idle();
    await outbox.stop();
    const inChannel = slack.posted.filter((p) => p.channel === 'C0QUALITY01');
    const parent = inChannel[0]!;
    expect(parent.message.thread_ts).toBeUndefined();
    for (const p of inChannel.slice(1)) expect(p.message.thread_ts).toBe(parent.ts);
    const notes = inChannel.filter((p) => JSON.stringify(p.message.blocks).includes('/invite @arbiter'));
    expect(notes).toHaveLength(1);
    expect(notes[0]!.message.text).toBe('Digest chart not uploaded: invite Arbiter to this channel');
    expect(slack.of('files.completeUploadExternal')).toHaveLength(1);
    // The admins hear of it once, with the code.
    const dms = slack.posted.filter((p) => p.channel === 'DUADMIN');
    expect(dms).toHaveLength(1);
    expect(String(dms[0]!.message.text)).toContain('not_in_channel');
    // Once per period: asked again, nothing more is recorded or sent.
    const calls = slack.calls.length;
    expect((await postDigest(daily, { ...d, transport })).status).toBe('already-posted');
    expect(slack.calls.length).toBe(calls);
  });
});
