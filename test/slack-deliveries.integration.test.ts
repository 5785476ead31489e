// Issue 16, symptom 2, for every kind of bulk posting besides run reports: review ballots, a monitor report, a
// digest and a prompt-change alert all go to one busy channel whose posts Slack answers slowly, while a worker has
// only two slots. Their jobs record their messages in the outbox and finish; the outbox posts them paced. Meanwhile
// `/arbiter runs list` from other channels and a vote click are answered in well under 2 s, while the busy channel's
// deliveries are still on their way; in the end every message is posted exactly once, replies under their parents.
// The whole bot runs (store, worker, outbox, Slack transport, front door); Slack is the fake Web API on loopback.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OUTBOX_COLLECTION, type DeliveryDoc } from '../bot/outbox.ts';
import { signSlackRequest } from '../bot/slack-signature.ts';
import { type RunningBot, startBot } from '../bot/start.ts';
import { parseEnv } from '../config/index.ts';
import { promptVersionBody, signedHeaders } from '../prompts/testing.ts';
import { type FakeSlack, type FakeSlackCall, startFakeSlack } from './fixtures/fake-slack.ts';
import { closeAfterEach } from './helpers/slack-outbox.ts';
import { tempDir } from './helpers/tmp.ts';
import { waitUntil } from './helpers/wait.ts';

const SECRET = 'slack-signing-secret-for-tests';
const LF_SECRET = 'lf-whsec_deliveries';
const BUSY = 'C0BUSY00001';
const FORM = 'application/x-www-form-urlencoded';
const QUESTIONS = ['What is 2 + 2?', 'Capital of Italy?', 'Colour of the sky?', 'Opposite of hot?'];

function writeSuite(dir: string, name: string, answers: string[]): void {
  const rows = QUESTIONS.map((q, i) => JSON.stringify({ id: `q${i}`, input: q, output: answers[i] }));
  writeFileSync(join(dir, `${name}.jsonl`), `${rows.join('\n')}\n`);
  writeFileSync(
    join(dir, `${name}.yaml`),
    `name: ${name}\ndataset: ./${name}.jsonl\ntarget:\n  type: recorded\nmetrics:\n  - name: refusal\nthreshold:\n  score: 0.5\n`,
  );
}

function signed(body: string, contentType = FORM) {
  const at = Math.floor(Date.now() / 1000);
  return {
    method: 'POST',
    headers: {
      'content-type': contentType,
      'x-slack-request-timestamp': String(at),
      'x-slack-signature': signSlackRequest(SECRET, at, body),
    },
    body,
  };
}

const command = (text: string, channel: string, user: string, responseUrl: string) =>
  new URLSearchParams({
    team_id: 'T1',
    channel_id: channel,
    channel_name: 'x',
    user_id: user,
    user_name: user.toLowerCase(),
    command: '/arbiter',
    text,
    trigger_id: `trig-${Math.random().toString(36).slice(2)}`,
    response_url: responseUrl,
  }).toString();

const channelOf = (c: FakeSlackCall) => String(c.args.channel ?? c.args.channel_id ?? '');

describe('bulk deliveries of reviews, monitors, digests and prompt alerts never delay answers', () => {
  const defer = closeAfterEach();

  it('jobs finish before their posts are delivered; runs list and a vote click are answered meanwhile; each post lands once', async () => {
    const { dir, cleanup } = tempDir();
    const suites = join(dir, 'suites');
    const monitors = join(dir, 'monitors');
    const digests = join(dir, 'digests');
    for (const d of [suites, monitors, digests]) mkdirSync(d);
    writeSuite(suites, 'careful', ['4', 'Rome', 'Blue', 'Cold']);
    writeSuite(suites, 'sloppy', ['5', 'Milan', 'Green', 'Warm']);
    const traffic = resolve('examples/monitors/data/support-traffic.jsonl');
    copyFileSync(traffic, join(dir, 'traffic.jsonl'));
    writeFileSync(
      join(monitors, 'support.yaml'),
      [
        'name: support',
        'schedule:\n  every: 1d',
        `source:\n  type: file\n  path: ${join(dir, 'traffic.jsonl')}`,
        'extract:\n  input: prompt\n  output: response.text',
        'sample:\n  strategy: all',
        'metrics:\n  - metric: refusal\n    threshold: 0.5\n  - metric: length\n    args: { max: 400 }',
        `publish:\n  channel: ${BUSY}\n  worst: 3`,
      ].join('\n'),
    );
    writeFileSync(
      join(digests, 'daily.yaml'),
      `name: daily\nschedule:\n  cron: "0 9 * * *"\n  timezone: UTC\nchannel: ${BUSY}\nperiod: day\n`,
    );

    const slack: FakeSlack = await startFakeSlack();
    // Slack takes 1 s for each write in the busy channel; answers elsewhere are quick.
    const seen = new Map<string, number>();
    slack.setReply(async (c) => {
      seen.set(c.method, Date.now());
      if (/^\/(response|actions)\//.test(c.method)) seen.set(c.method, Date.now());
      if (channelOf(c) === BUSY && /^(chat\.postMessage|chat\.update|files\.)/.test(c.method))
        await new Promise((r) => setTimeout(r, 1000));
      return undefined;
    });
    const bot: RunningBot = await startBot(
      parseEnv({
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: join(dir, 'data'),
        MONITORS_DIR: monitors,
        DIGESTS_DIR: digests,
        SUITES_DIR: suites,
        LOG_LEVEL: 'silent',
        SLACK_BOT_TOKEN: 'xoxb-test-token',
        SLACK_SIGNING_SECRET: SECRET,
        SLACK_API_URL: `${slack.url}/api/`,
        ARBITER_ADMINS: 'UADMIN',
        WORKER_CONCURRENCY: '2',
        PROMPT_ALERTS_CHANNEL: BUSY,
        LANGFUSE_WEBHOOK_SECRET: LF_SECRET,
      }),
      { progressEditMs: 0, promptSettleMs: 50 },
    );
    defer(
      cleanup,
      () => slack.close(),
      () => bot.stop(),
    );
    const events = `${bot.url}/slack/events`;
    const outbox = await bot.store.collection<DeliveryDoc>(OUTBOX_COLLECTION);

    // Two runs to review, launched elsewhere; their reports are delivered before the busy part starts.
    await fetch(events, signed(command('run careful', 'C0RUNS00001', 'UADMIN', `${slack.url}/response/r1`)));
    await fetch(events, signed(command('run sloppy', 'C0RUNS00001', 'UADMIN', `${slack.url}/response/r2`)));
    await waitUntil(
      async () => (await bot.runs.listRuns()).filter((r) => r.status === 'completed').length === 2,
      30_000,
    );
    await bot.outbox.idle();
    const [a, b] = await bot.runs.listRuns();

    // The bulk: a review's parent and four ballots, a monitor report, a digest, a prompt alert; all in BUSY.
    await fetch(
      events,
      signed(command(`review ${a!._id} ${b!._id}`, BUSY, 'UADMIN', `${slack.url}/response/rv`)),
    );
    await fetch(events, signed(command('monitor run support', BUSY, 'UADMIN', `${slack.url}/response/mo`)));
    await fetch(events, signed(command('digest now', BUSY, 'UADMIN', `${slack.url}/response/dg`)));
    for (const [id, version, labels] of [
      ['evt-v4', 4, ['production']],
      ['evt-v3', 3, []],
    ] as const) {
      const raw = JSON.stringify(
        promptVersionBody({
          id,
          action: 'updated',
          name: 'support-bot',
          version,
          labels: [...labels],
          prompt: `You are a ${version === 4 ? 'friendly' : 'terse'} support bot.`,
        }),
      );
      const res = await fetch(`${bot.url}/webhooks/langfuse`, {
        method: 'POST',
        headers: signedHeaders(LF_SECRET, raw),
        body: raw,
      });
      expect(res.status).toBe(200);
    }

    // Every job that wrote to BUSY has finished while most of BUSY's messages are still on their way.
    const kinds = (d: DeliveryDoc) => d._id.split(/[:|]/)[0];
    await waitUntil(async () => {
      const busy = await outbox.find({ channel: BUSY });
      const k = new Set(busy.map(kinds));
      return ['review', 'monitor-tick', 'digest', 'prompt-alert'].every((x) => k.has(x));
    }, 20_000);
    await waitUntil(async () => {
      const jobs = await bot.queue.list();
      return jobs.every((j) => j.status === 'succeeded');
    }, 10_000);
    const open = await outbox.count({ channel: BUSY, status: { $in: ['pending', 'sending'] } });
    expect(open).toBeGreaterThanOrEqual(5);

    // Now: ten `runs list` from other channels and a vote click on the first ballot posted.
    const ballot = await waitUntil(() =>
      slack.posted.find((p) => p.channel === BUSY && String(p.message.text).startsWith('Blind review pair')),
    );
    const blocks = ballot.message.blocks as {
      type: string;
      elements?: { action_id?: string; value?: string }[];
    }[];
    const button = blocks.flatMap((bl) => bl.elements ?? []).find((e) => e.action_id?.startsWith('review'))!;
    expect(button).toBeDefined();
    const sent = new Map<string, number>();
    const asks: Promise<Response>[] = [];
    for (let i = 0; i < 10; i++) {
      const path = `/response/list-${i}`;
      sent.set(path, Date.now());
      asks.push(
        fetch(events, signed(command('runs list', `C0OTHER000${i}`, `UUSER0${i}`, `${slack.url}${path}`))),
      );
    }
    const click = JSON.stringify({
      type: 'block_actions',
      team: { id: 'T1' },
      user: { id: 'UADMIN' },
      api_app_id: 'A1',
      trigger_id: 't1',
      response_url: `${slack.url}/actions/vote`,
      container: { type: 'message', message_ts: ballot.ts, channel_id: BUSY, is_ephemeral: false },
      channel: { id: BUSY, name: 'busy' },
      message: { type: 'message', ts: ballot.ts, text: ballot.message.text, blocks },
      actions: [
        { type: 'button', action_id: button.action_id, block_id: 'b', value: button.value, action_ts: '1.1' },
      ],
    });
    sent.set('/actions/vote', Date.now());
    asks.push(fetch(events, signed(`payload=${encodeURIComponent(click)}`)));
    for (const r of await Promise.all(asks)) expect(r.status).toBe(200);
    await waitUntil(() => [...sent.keys()].every((p) => seen.has(p)), 10_000);
    const latency = [...sent].map(([p, t0]) => seen.get(p)! - t0);
    expect(
      Math.max(...latency),
      JSON.stringify([...sent.keys()].map((p, i) => [p, latency[i]])),
    ).toBeLessThan(2000);
    // The answers did not wait for the busy channel: it still had deliveries on their way.
    const lastAnswer = Math.max(...[...sent.keys()].map((p) => seen.get(p)!));
    const busyPostsDone = await outbox.find({ channel: BUSY, status: 'delivered' });
    const stillOpen = await outbox.count({ channel: BUSY, status: { $in: ['pending', 'sending'] } });
    expect(
      stillOpen + busyPostsDone.filter((d) => d.settledAt!.getTime() > lastAnswer).length,
    ).toBeGreaterThan(0);

    // In the end: everything delivered, each message once, replies under their parents, never above Slack's pace.
    await waitUntil(
      async () => (await outbox.count({ status: { $in: ['pending', 'sending'] } })) === 0,
      60_000,
    );
    const all = await outbox.find({ channel: BUSY });
    expect(all.filter((d) => d.status === 'failed')).toEqual([]);
    const keys = slack.posted
      .filter((p) => p.channel === BUSY)
      .map(
        (p) => (p.message.metadata as { event_payload?: { key?: string } } | undefined)?.event_payload?.key,
      )
      .filter((k): k is string => k !== undefined);
    expect(new Set(keys).size).toBe(keys.length);
    const parentTs = (key: string) => all.find((d) => d._id === key)?.result?.ts;
    const reviewParent = all.find((d) => /^review:.*:parent$/.test(d._id))!;
    const ballots = slack.posted.filter(
      (p) => p.channel === BUSY && String(p.message.text).startsWith('Blind review pair'),
    );
    expect(ballots).toHaveLength(QUESTIONS.length);
    for (const p of ballots) expect(p.message.thread_ts).toBe(reviewParent.result!.ts);
    const alert = all.find((d) => d._id.startsWith('prompt-alert:') && !d._id.includes(':thread:'))!;
    for (const d of all.filter((x) => x._id.startsWith(`${alert._id}:thread:`)))
      expect(slack.posted.find((p) => p.ts === d.result!.ts)?.message.thread_ts).toBe(parentTs(alert._id));
    expect(all.some((d) => d._id.startsWith('monitor-tick|') && d.status === 'delivered')).toBe(true);
    expect(all.some((d) => /^digest:.*\|parent$/.test(d._id) && d.status === 'delivered')).toBe(true);
  }, 120_000);
});
