// kill -9 of the bot in the middle of a burst of signed slash commands and clicks from 50 clients, then a restart
// on the same DATA_DIR: every request that got an HTTP 200 ack is answered (its reply reaches the fake Slack), and
// answered once. The one exception is named, not hidden: a reply whose post was under way at the kill (journaled
// 'started', not 'done') is sent again when it is an ephemeral, which Slack gives no way to look up; a thread reply
// carries its key and is found instead. Such replies are bounded by the jobs the worker runs at once.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { COMMAND_JOB_TYPE } from '../bot/command-jobs.ts';
import { createJobQueue } from '../storage/index.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { startFakeSlack } from './fixtures/fake-slack.ts';
import { kill9, startTsChild, waitForLines } from './helpers/child.ts';
import {
  type BurstOutcome,
  clickRequest,
  CRASH_BOT_SECRET,
  commandRequest,
  createBurst,
  isAccepted,
  repliesByChannel,
  serveThreadHistory,
} from './helpers/slack-crash.ts';
import { tempDir } from './helpers/tmp.ts';
import { waitUntil } from './helpers/wait.ts';

const CHILD = 'test/fixtures/slack-crash-bot.ts';

async function startChild(dir: string, apiUrl: string) {
  const child = startTsChild(CHILD, [dir, apiUrl]);
  const lines = await waitForLines(child, (ls) => ls.some((l) => l.startsWith('ready ')), 60_000);
  return { child, url: lines.find((l) => l.startsWith('ready '))!.slice('ready '.length) };
}

describe('Slack intake survives kill -9', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('answers every acked command and click after a restart, once each', async () => {
    const slack = await startFakeSlack();
    cleanups.push(() => slack.close());
    serveThreadHistory(slack);
    const { dir, cleanup } = tempDir('arbiter-slack-crash-');
    cleanups.push(cleanup);
    const apiUrl = `${slack.url}/api/`;

    const first = await startChild(dir, apiUrl);
    cleanups.push(() => kill9(first.child));
    const total = 1200;
    const requests = Array.from({ length: total }, (_, n) =>
      n % 3 === 2 ? clickRequest('t', n, 50, slack.url) : commandRequest('t', n, 50, slack.url),
    );
    const burst = createBurst(CRASH_BOT_SECRET, 50);
    cleanups.push(() => burst.destroy());
    let accepted = 0;
    let killing: Promise<void> | undefined;
    const outcomes = await burst.run(first.url, requests, (_i, o) => {
      if (isAccepted(o)) accepted += 1;
      // Mid-burst: after a third of the requests were acked, with the worker busy posting replies.
      if (!killing && accepted >= total / 3) {
        killing = kill9(first.child);
        burst.stop();
      }
    });
    await killing;
    expect(killing, 'the bot was killed mid-burst').toBeDefined();
    const acked = requests.filter((_, i) => isAccepted(outcomes[i] ?? ({} as BurstOutcome)));
    // A 200 with a body is a refusal (busy, store); with these caps there is none.
    expect(outcomes.filter((o) => o?.status === 200 && o.body !== '')).toEqual([]);
    expect(acked.length).toBeGreaterThanOrEqual(total / 3);
    expect(acked.length).toBeLessThan(total);

    // What the journal says of the replies that were under way at the kill.
    const uncertain = new Set<string>();
    {
      const store = await createEmbeddedStore({ dir: join(dir, 'data'), autocompactMs: 0 });
      const queue = await createJobQueue(store);
      const running = await queue.list({ status: 'running', limit: 10_000 });
      for (const j of running)
        if (Object.values(j.effects ?? {}).includes('started') && j.type === COMMAND_JOB_TYPE)
          uncertain.add(String((j.payload as { channel: string }).channel));
      await store.close();
    }
    // At most the jobs the worker runs at once (WORKER_CONCURRENCY, 4 by default) can be caught mid-post.
    expect(uncertain.size).toBeLessThanOrEqual(4);

    const second = await startChild(dir, apiUrl);
    cleanups.push(() => kill9(second.child));
    await waitUntil(() => {
      const replies = repliesByChannel(slack);
      return acked.every((r) => (replies.get(r.channel) ?? 0) >= 1);
    }, 60_000);
    // Time for any second reply to show up.
    await new Promise((r) => setTimeout(r, 1500));
    const replies = repliesByChannel(slack);
    const lost = acked.filter((r) => (replies.get(r.channel) ?? 0) === 0);
    expect(lost).toEqual([]);
    const twice = [...replies].filter(([, n]) => n > 1).map(([ch]) => ch);
    // Every reply sent twice is an ephemeral whose post was under way at the kill; no thread reply is repeated.
    expect(twice.filter((ch) => !uncertain.has(ch))).toEqual([]);
    // Nothing is answered that was never sent.
    const sent = new Set(requests.filter((_, i) => outcomes[i] !== undefined).map((r) => r.channel));
    expect([...replies.keys()].filter((ch) => !sent.has(ch))).toEqual([]);
  }, 180_000);
});
