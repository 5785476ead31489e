// Shared by the Slack kill -9 test and benchmark: signed slash commands and clicks that each name their own
// channel (so a reply tells which request it answers), a burst sender over keep-alive node:http that records every
// request's outcome, and the fake Slack's thread history (what findPosted reads) built from the posts it received.
import { Agent, request } from 'node:http';
import { signSlackRequest } from '../../bot/slack-signature.ts';
import type { FakeSlack, FakeSlackCall } from '../fixtures/fake-slack.ts';

/** The signing secret of the bot in test/fixtures/slack-crash-bot.ts. */
export const CRASH_BOT_SECRET = 'slack-crash-signing-secret';

/** One request of a burst: a slash command answered in channel C<n>, or a click answered in channel K<n>. */
export interface BurstRequest {
  kind: 'command' | 'click';
  /** The channel its reply goes to (unique per request). */
  channel: string;
  body: string;
}

/** What happened to one request: its HTTP status and body, or the error (connection refused, reset). */
export interface BurstOutcome {
  status?: number;
  body?: string;
  error?: string;
  ms?: number;
}

/** A slash command `runs list` (answered ephemerally, chat.postEphemeral) from one of `users` users. */
export function commandRequest(id: string, n: number, users: number, responseUrlBase: string): BurstRequest {
  const channel = `C${id}X${n}`;
  return {
    kind: 'command',
    channel,
    body: new URLSearchParams({
      token: 'ignored',
      team_id: 'T1',
      team_domain: 'crash',
      channel_id: channel,
      channel_name: 'crash',
      user_id: `UCRASH${n % users}`,
      user_name: 'crash',
      command: '/arbiter',
      text: 'runs list',
      api_app_id: 'A1',
      response_url: `${responseUrlBase}/commands/T1/${channel}/x`,
      trigger_id: `${id}.${n}.trigger`,
    }).toString(),
  };
}

/**
 * A click on an `echo` button of message <ts> in channel K<n> (block_actions, the shape of
 * https://api.slack.com/reference/interaction-payloads/block-actions): answered by a thread reply (chat.postMessage).
 */
export function clickRequest(id: string, n: number, users: number, responseUrlBase: string): BurstRequest {
  const channel = `K${id}X${n}`;
  const user = `UCRASH${n % users}`;
  const ts = `1700000000.${String(n).padStart(6, '0')}`;
  const payload = {
    type: 'block_actions',
    user: { id: user, username: user.toLowerCase(), name: user.toLowerCase(), team_id: 'T1' },
    api_app_id: 'A1',
    token: 'legacy-token-ignored',
    container: { type: 'message', message_ts: ts, channel_id: channel, is_ephemeral: false },
    trigger_id: `${id}.${n}.click`,
    team: { id: 'T1', domain: 'crash' },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: channel, name: 'crash' },
    message: { type: 'message', subtype: 'bot_message', ts, text: 'buttons', blocks: [] },
    state: { values: {} },
    response_url: `${responseUrlBase}/actions/T1/${channel}/x`,
    actions: [
      {
        action_id: 'echo:go',
        block_id: 'b1',
        text: { type: 'plain_text', text: 'Go', emoji: true },
        value: 'go',
        type: 'button',
        action_ts: `${1700000100 + n}.${String(n % 1000).padStart(6, '0')}`,
      },
    ],
  };
  return {
    kind: 'click',
    channel,
    body: new URLSearchParams({ payload: JSON.stringify(payload) }).toString(),
  };
}

/** A request was accepted: acked 200 with an empty body (a refusal is acked with an ephemeral explaining it). */
export function isAccepted(o: BurstOutcome): boolean {
  return o.status === 200 && (o.body ?? '') === '';
}

/**
 * Sends the requests from `clients` keep-alive connections, signing each as it leaves; `stop()` makes the clients
 * take no further request. Resolves with one outcome per request (requests never sent have none).
 */
export function createBurst(secret: string, clients: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  let stopped = false;
  const send = (url: string, body: string) =>
    new Promise<BurstOutcome>((resolve) => {
      const ts = Math.floor(Date.now() / 1000);
      const t0 = performance.now();
      const r = request(
        `${url}/slack/events`,
        {
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'content-length': Buffer.byteLength(body),
            'x-slack-request-timestamp': String(ts),
            'x-slack-signature': signSlackRequest(secret, ts, body),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString('utf8'),
              ms: performance.now() - t0,
            }),
          );
          res.on('error', (e) => resolve({ error: e.message }));
        },
      );
      r.on('error', (e) => resolve({ error: (e as NodeJS.ErrnoException).code ?? e.message }));
      r.end(body);
    });
  return {
    async run(
      url: string,
      requests: readonly BurstRequest[],
      onOutcome?: (i: number, o: BurstOutcome) => void,
    ): Promise<(BurstOutcome | undefined)[]> {
      const outcomes: (BurstOutcome | undefined)[] = new Array(requests.length);
      let next = 0;
      await Promise.all(
        Array.from({ length: clients }, async () => {
          while (!stopped && next < requests.length) {
            const i = next++;
            const o = await send(url, requests[i]!.body);
            outcomes[i] = o;
            onOutcome?.(i, o);
          }
        }),
      );
      return outcomes;
    },
    stop() {
      stopped = true;
    },
    destroy: () => agent.destroy(),
  };
}

/**
 * Replies the fake Slack received, per channel: private answers (by response_url, whose path names the request's
 * channel, or chat.postEphemeral) and channel posts (click replies).
 */
export function repliesByChannel(slack: FakeSlack): Map<string, number> {
  const counts = new Map<string, number>();
  for (const c of slack.calls) {
    const byUrl = /^\/(?:commands|actions)\/T1\/([^/]+)\/x$/.exec(c.method)?.[1];
    if (!byUrl && c.method !== 'chat.postEphemeral' && c.method !== 'chat.postMessage') continue;
    const ch = byUrl ?? String(c.args.channel ?? '');
    counts.set(ch, (counts.get(ch) ?? 0) + 1);
  }
  return counts;
}

/**
 * Answers conversations.replies from the thread replies the fake received, as Slack does with
 * include_all_metadata (https://api.slack.com/methods/conversations.replies: `messages` with `ts`, `thread_ts` and
 * `metadata: {event_type, event_payload}`), so that findPosted sees what was really posted.
 */
export function serveThreadHistory(slack: FakeSlack): void {
  slack.setReply((call: FakeSlackCall) => {
    if (call.method !== 'conversations.replies') return undefined;
    const messages = slack
      .of('chat.postMessage')
      .filter((c) => c.args.channel === call.args.channel && c.args.thread_ts === call.args.ts)
      .map((c, i) => {
        let metadata: unknown;
        try {
          metadata = typeof c.args.metadata === 'string' ? JSON.parse(c.args.metadata) : c.args.metadata;
        } catch {
          metadata = undefined;
        }
        return {
          type: 'message',
          bot_id: 'B1',
          text: String(c.args.text ?? ''),
          ts: `${call.args.ts}${i + 1}`,
          thread_ts: call.args.ts,
          ...(metadata ? { metadata } : {}),
        };
      });
    return {
      body: { ok: true, messages, has_more: false, response_metadata: { next_cursor: '' } },
    };
  });
}
