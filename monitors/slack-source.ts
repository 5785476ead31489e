// The Slack source: a channel's bot answers paired with the user messages they reply to, read through
// conversations.history (+ conversations.replies for threads) within Slack's Tier-1 limits for non-Marketplace
// apps (1 request per minute, at most 15 messages a page). Every bit of progress lives in the cursor the tick
// stores, so a restart (or another replica) continues where the last successful tick stopped. Slack is reached
// through an injected reading client (slack-reader.ts); the pacing, the Retry-After waits and the error hints are
// this file's, on the one Clock.
import type { z } from 'zod';
import { z as zod } from 'zod';
import type { Score } from '../evaluators/index.ts';
import type { SlackSourceSchema } from './schema.ts';
import { type Clock, durationMs, parseDuration, systemClock } from '../config/index.ts';
import type { SlackAnswer, SlackReader } from './slack-reader.ts';
import type { Source, SourceBatch, SourceRecord, SourceResult } from './sources.ts';

/** A configured Slack source spec. */
export type SlackSourceSpec = z.infer<typeof SlackSourceSchema>;

/** Metric name of the 👍/👎 human feedback score. */
export const HUMAN_FEEDBACK_METRIC = 'human_feedback';

const UP = new Set(['+1', 'thumbsup']);
const DOWN = new Set(['-1', 'thumbsdown']);

const ReactionSchema = zod.looseObject({
  name: zod.string(),
  count: zod.number().int().nonnegative().optional(),
  users: zod.array(zod.string()).optional(),
});

/** The fields of a Slack message the source uses (the API sends many more). */
const SlackMessageSchema = zod.looseObject({
  ts: zod.string().regex(/^\d+\.\d+$/),
  type: zod.string().optional(),
  subtype: zod.string().optional(),
  user: zod.string().optional(),
  bot_id: zod.string().optional(),
  text: zod.string().optional(),
  thread_ts: zod.string().optional(),
  reply_count: zod.number().optional(),
  reactions: zod.array(ReactionSchema).optional(),
});
type SlackMessage = zod.infer<typeof SlackMessageSchema>;

const PageSchema = zod.looseObject({
  ok: zod.boolean(),
  error: zod.string().optional(),
  needed: zod.string().optional(),
  messages: zod.array(zod.unknown()).optional(),
  has_more: zod.boolean().optional(),
  response_metadata: zod.looseObject({ next_cursor: zod.string().optional() }).optional(),
});

/** A user message kept for pairing (the newest one before the watermark, or a thread's last one). */
const UserRefSchema = zod.object({ ts: zod.string(), user: zod.string(), text: zod.string() });
type UserRef = zod.infer<typeof UserRefSchema>;

/** The stored cursor of a Slack source: everything needed to resume after a restart. */
export const SlackCursorSchema = zod.object({
  v: zod.literal(1),
  /** Every top-level message with ts ≤ watermark has been read. */
  watermark: zod.string(),
  /** An unfinished history scan over (watermark, latest], newest first; `newestUser` becomes `lastUser` at its end. */
  scan: zod
    .object({ latest: zod.string(), cursor: zod.string().optional(), newestUser: UserRefSchema.optional() })
    .optional(),
  /** Bot answers of the unfinished scan still waiting for the (older) user message they reply to. */
  pending: zod.array(SlackMessageSchema).default([]),
  /** The newest top-level user message at or before the watermark. */
  lastUser: UserRefSchema.optional(),
  /** Threads whose replies are still to be read (cursor: the next page). */
  threads: zod
    .array(
      zod.object({ ts: zod.string(), cursor: zod.string().optional(), lastUser: UserRefSchema.optional() }),
    )
    .default([]),
  /** When the last Slack call was made (ms), so pacing holds across ticks and restarts. */
  lastCallAt: zod.number().optional(),
});
/** The stored cursor of a Slack source. */
export type SlackCursor = zod.infer<typeof SlackCursorSchema>;

/** Orders two Slack timestamps exactly (a double cannot hold seconds and microseconds together). */
export function compareTs(a: string, b: string): number {
  const key = (ts: string) => {
    const [s = '0', f = ''] = ts.split('.');
    return BigInt(s) * 1_000_000n + BigInt(f.padEnd(6, '0').slice(0, 6) || '0');
  };
  const d = key(a) - key(b);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}

/** The next possible Slack timestamp (+1 µs): an exclusive bound that still includes `ts` itself. */
export function nextTs(ts: string): string {
  const [s = '0', f = ''] = ts.split('.');
  const n = BigInt(s) * 1_000_000n + BigInt(f.padEnd(6, '0').slice(0, 6) || '0') + 1n;
  return `${n / 1_000_000n}.${String(n % 1_000_000n).padStart(6, '0')}`;
}

/** `1712345678.000100` → ms since epoch. */
export function tsToMs(ts: string): number {
  return Math.floor(Number(ts) * 1000);
}

/** ms since epoch → a Slack timestamp (`seconds.micros`). */
export function msToTs(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${s}.${String((ms % 1000) * 1000).padStart(6, '0')}`;
}

/** Link to a message: https://acme.slack.com/archives/C…/p1712345678000100 (thread replies carry thread_ts). */
export function messageUrl(workspaceUrl: string, channel: string, ts: string, threadTs?: string): string {
  const base = `${workspaceUrl.replace(/\/+$/, '')}/archives/${channel}/p${ts.replace('.', '')}`;
  return threadTs && threadTs !== ts ? `${base}?thread_ts=${threadTs}&cid=${channel}` : base;
}

/** The 👍/👎 score of a message's reactions (skin tones count), or undefined when it has neither. */
export function feedbackScore(reactions: SlackMessage['reactions']): Score | undefined {
  let up = 0;
  let down = 0;
  for (const r of reactions ?? []) {
    const name = r.name.replace(/::skin-tone-\d$/, '');
    const n = r.count ?? r.users?.length ?? 0;
    if (UP.has(name)) up += n;
    else if (DOWN.has(name)) down += n;
  }
  if (up + down === 0) return undefined;
  return {
    metric: HUMAN_FEEDBACK_METRIC,
    value: up / (up + down),
    label: up > down ? 'thumbs_up' : down > up ? 'thumbs_down' : 'mixed',
    reason: `Slack reactions: 👍 ${up} · 👎 ${down}`,
    details: { up, down },
  };
}

/** Plain `text` of messages we pair; other subtypes (joins, topic changes, …) are not conversation. */
const CONVERSATION_SUBTYPES = new Set([
  undefined,
  'thread_broadcast',
  'file_share',
  'me_message',
  'bot_message',
]);

type Kind = 'bot' | 'user' | 'other';

function errorHint(method: string, error: string, needed: string | undefined, channel: string): string {
  switch (error) {
    case 'not_in_channel':
      return `slack ${method}: not_in_channel: the bot is not a member of ${channel}; invite it (/invite @bot)`;
    case 'channel_not_found':
      return `slack ${method}: channel_not_found: ${channel} does not exist or the bot cannot see it`;
    case 'invalid_auth':
    case 'not_authed':
    case 'token_revoked':
    case 'account_inactive':
      return `slack ${method}: ${error}: Slack rejected the bot token; check SLACK_BOT_TOKEN`;
    case 'missing_scope':
      return `slack ${method}: missing_scope: add ${needed ?? 'the history scopes'} to the Slack app and reinstall it`;
    default:
      return `slack ${method}: ${error}`;
  }
}

type CallResult =
  | { ok: true; body: zod.infer<typeof PageSchema> }
  | { ok: false; error: string; code: string; retryable: boolean };

/** The Slack methods the source calls. */
type Method = 'conversations.history' | 'conversations.replies';

/** Builds the Slack source; no reading client (no bot token) is a configuration error naming the variable. */
export function createSlackSource(
  spec: SlackSourceSpec,
  deps: {
    /** The Slack reading client (the bot's WebClient, adapted); absent when SLACK_BOT_TOKEN is not set. */
    slack?: SlackReader;
    /** Pacing and Retry-After waits. */
    clock?: Pick<Clock, 'nowMs' | 'sleep'>;
  },
): Source | { error: string } {
  if (!deps.slack)
    return { error: 'a slack source needs SLACK_BOT_TOKEN (a bot token with channels:history)' };
  const slack: SlackReader = deps.slack;
  const clock = deps.clock ?? systemClock;
  const intervalMs = durationMs(spec.minInterval)!;
  const lookbackMs = parseDuration(spec.lookback)!;
  const settleMs = spec.settle ? parseDuration(spec.settle)! : 0;
  const pageSize = Math.min(spec.pageSize, 15);

  const kindOf = (m: SlackMessage): Kind => {
    if (!CONVERSATION_SUBTYPES.has(m.subtype)) return 'other';
    if ((spec.botUserId && m.user === spec.botUserId) || (spec.botId && m.bot_id === spec.botId))
      return 'bot';
    if (m.bot_id || m.subtype === 'bot_message' || !m.user) return 'other';
    return 'user';
  };

  /** One paced Slack call (`send` makes it); 429s wait Retry-After and retry up to `maxRetries` times. */
  function createCaller(lastCallAt: number | undefined) {
    const pacer = { last: lastCallAt, notBefore: 0, calls: 0 };
    async function call(method: Method, send: () => Promise<SlackAnswer>): Promise<CallResult> {
      for (let attempt = 0; ; attempt++) {
        const at = Math.max(pacer.last !== undefined ? pacer.last + intervalMs : 0, pacer.notBefore);
        const wait = at - clock.nowMs();
        if (wait > 0) await clock.sleep(wait);
        pacer.last = clock.nowMs();
        pacer.calls += 1;
        const answer = await send();
        if (answer.ok) {
          const body = PageSchema.safeParse(answer);
          if (!body.success)
            return {
              ok: false,
              code: 'bad_shape',
              error: `slack ${method}: unexpected response`,
              retryable: true,
            };
          return { ok: true, body: body.data };
        }
        if (answer.status === 429) {
          const retryMs =
            answer.retryAfterMs && answer.retryAfterMs > 0 ? answer.retryAfterMs : intervalMs || 1000;
          if (attempt < spec.maxRetries) {
            // Slack said exactly when to come back: that replaces our own interval for the retry.
            pacer.last = undefined;
            pacer.notBefore = clock.nowMs() + retryMs;
            continue;
          }
          return {
            ok: false,
            code: 'ratelimited',
            error: `slack ${method}: rate limited (429) after ${attempt + 1} attempt(s); Retry-After ${retryMs / 1000}s`,
            retryable: true,
          };
        }
        if (answer.status !== undefined)
          return {
            ok: false,
            code: `http_${answer.status}`,
            error: `slack ${method}: HTTP ${answer.status}`,
            retryable: answer.status >= 500,
          };
        if (answer.error === 'request_failed')
          return {
            ok: false,
            code: 'network',
            error: `slack ${method}: ${answer.detail ?? 'no answer'}`,
            retryable: true,
          };
        if (answer.error === 'invalid_response')
          return {
            ok: false,
            code: 'bad_json',
            error: `slack ${method}: response is not JSON`,
            retryable: true,
          };
        return {
          ok: false,
          code: answer.error,
          error: errorHint(method, answer.error, answer.needed, spec.channel),
          retryable:
            answer.error === 'ratelimited' ||
            answer.error === 'internal_error' ||
            answer.error === 'fatal_error',
        };
      }
    }
    return { call, pacer };
  }

  /** Parses a page's messages one by one: a malformed one is counted, never fatal. */
  function parseMessages(raw: unknown[], where: string, invalid: SourceBatch['invalid']): SlackMessage[] {
    const out: SlackMessage[] = [];
    raw.forEach((r, i) => {
      const parsed = SlackMessageSchema.safeParse(r);
      if (parsed.success) out.push(parsed.data);
      else {
        const ts =
          typeof (r as { ts?: unknown })?.ts === 'string' ? (r as { ts: string }).ts : `${where}#${i}`;
        invalid.push({
          id: ts,
          reason:
            `malformed Slack message: ${parsed.error.issues[0]?.path.join('.') || 'record'} ${parsed.error.issues[0]?.message ?? ''}`.trim(),
        });
      }
    });
    return out;
  }

  function toRecord(bot: SlackMessage, user: UserRef, threadTs?: string): SourceRecord {
    const feedback = spec.reactions ? feedbackScore(bot.reactions) : undefined;
    const url = spec.workspaceUrl ? messageUrl(spec.workspaceUrl, spec.channel, bot.ts, threadTs) : undefined;
    return {
      id: bot.ts,
      time: tsToMs(bot.ts),
      record: {
        ts: bot.ts,
        channel: spec.channel,
        input: user.text,
        output: bot.text ?? '',
        user: user.user,
        inputTs: user.ts,
        ...(threadTs ? { threadTs } : {}),
        ...(feedback ? { feedback: feedback.details } : {}),
      },
      ...(url ? { url } : {}),
      ...(feedback ? { scores: [feedback] } : {}),
    };
  }

  // Pending answers are stored in the cursor: keep only what pairing and scoring read.
  const slim = (m: SlackMessage): SlackMessage => ({
    ts: m.ts,
    ...(m.user ? { user: m.user } : {}),
    ...(m.bot_id ? { bot_id: m.bot_id } : {}),
    ...(m.text !== undefined ? { text: m.text } : {}),
    ...(m.reactions
      ? { reactions: m.reactions.map((r) => ({ name: r.name, count: r.count ?? r.users?.length ?? 0 })) }
      : {}),
  });
  const userRef = (m: SlackMessage): UserRef => ({ ts: m.ts, user: m.user ?? '', text: m.text ?? '' });
  const isThreadReply = (m: SlackMessage) => m.thread_ts !== undefined && m.thread_ts !== m.ts;

  /** Reads history and threads from `state`, spending at most `budget` calls; returns the records and the next state. */
  async function advance(
    state: SlackCursor,
    until: Date,
    budget: number,
  ): Promise<{ ok: true; batch: SourceBatch } | { ok: false; error: string; retryable: boolean }> {
    const { call, pacer } = createCaller(state.lastCallAt);
    const records: SourceRecord[] = [];
    const invalid: SourceBatch['invalid'] = [];
    const next: SlackCursor = {
      ...state,
      pending: [...state.pending],
      threads: [...state.threads],
    };
    const queued = new Set(next.threads.map((t) => t.ts));
    const latestTs = msToTs(Math.max(until.getTime() - settleMs, tsToMs(state.watermark)));
    if (!next.scan && compareTs(latestTs, state.watermark) > 0) next.scan = { latest: latestTs };
    // Keep one call for threads when some wait, so a busy channel cannot starve them.
    const historyBudget = () => budget - pacer.calls - (next.threads.length > 0 && budget > 1 ? 1 : 0);
    let retriedCursor = false;

    while (next.scan && historyBudget() > 0) {
      const scan = next.scan;
      const res = await call('conversations.history', () =>
        slack.conversations.history({
          channel: spec.channel,
          limit: pageSize,
          // Both bounds exclusive: (watermark, latest], so a message at exactly `latest` is read once, here.
          oldest: next.watermark,
          latest: nextTs(scan.latest),
          inclusive: false,
          ...(scan.cursor ? { cursor: scan.cursor } : {}),
        }),
      );
      if (!res.ok) {
        // A stale stored cursor: restart the same range (what was read already is deduplicated by the tick).
        if (res.code === 'invalid_cursor' && scan.cursor && !retriedCursor) {
          retriedCursor = true;
          next.scan = { latest: scan.latest };
          next.pending = [];
          continue;
        }
        return res;
      }
      const messages = parseMessages(res.body.messages ?? [], `history:${scan.cursor ?? 'first'}`, invalid);
      // Newest first: a bot answer waits in `pending` until the older user message it replies to shows up.
      let newestUser = scan.newestUser;
      for (const m of messages.sort((a, b) => compareTs(b.ts, a.ts))) {
        if (isThreadReply(m)) continue;
        if (spec.threads && (m.reply_count ?? 0) > 0 && !queued.has(m.ts)) {
          next.threads.push({ ts: m.ts });
          queued.add(m.ts);
        }
        const kind = kindOf(m);
        if (kind === 'bot') next.pending.push(slim(m));
        else if (kind === 'user') {
          newestUser ??= userRef(m);
          for (const p of next.pending) records.push(toRecord(p, userRef(m)));
          next.pending = [];
        }
      }
      const cursor = res.body.response_metadata?.next_cursor;
      if (res.body.has_more && cursor)
        next.scan = { latest: scan.latest, cursor, ...(newestUser ? { newestUser } : {}) };
      else {
        // The range (watermark, latest] is read: answers still waiting reply to the last user message before it.
        for (const p of next.pending) {
          if (next.lastUser) records.push(toRecord(p, next.lastUser));
          else invalid.push({ id: p.ts, reason: 'bot answer with no user message before it in the channel' });
        }
        next.pending = [];
        if (newestUser) next.lastUser = newestUser;
        next.watermark = scan.latest;
        delete next.scan;
      }
    }
    while (next.threads.length > 0 && budget - pacer.calls > 0) {
      const thread = next.threads[0]!;
      const res = await call('conversations.replies', () =>
        slack.conversations.replies({
          channel: spec.channel,
          ts: thread.ts,
          limit: pageSize,
          ...(thread.cursor ? { cursor: thread.cursor } : {}),
        }),
      );
      if (!res.ok) {
        // A thread deleted since: drop it rather than fail the monitor forever.
        if (res.code === 'thread_not_found' || res.code === 'message_not_found') {
          next.threads.shift();
          continue;
        }
        return res;
      }
      const messages = parseMessages(res.body.messages ?? [], `thread:${thread.ts}`, invalid).sort((a, b) =>
        compareTs(a.ts, b.ts),
      );
      // Oldest first. A later page starts with the parent again: skip it, the last user message carries over.
      let lastUser = thread.lastUser;
      for (const m of messages) {
        if (thread.cursor && m.ts === thread.ts) continue;
        const kind = kindOf(m);
        if (kind === 'user') lastUser = userRef(m);
        else if (kind === 'bot' && m.ts !== thread.ts) {
          if (lastUser) records.push(toRecord(m, lastUser, thread.ts));
          else
            invalid.push({
              id: m.ts,
              reason: `bot reply in thread ${thread.ts} with no user message before it`,
            });
        }
      }
      const cursor = res.body.response_metadata?.next_cursor;
      if (res.body.has_more && cursor)
        next.threads[0] = { ts: thread.ts, cursor, ...(lastUser ? { lastUser } : {}) };
      else next.threads.shift();
    }
    if (pacer.last !== undefined) next.lastCallAt = pacer.last;
    // One bot message can come back from two pages (a cursor restart): keep the first.
    const seen = new Set<string>();
    const unique = records.filter((r) => !seen.has(r.id) && seen.add(r.id));
    return { ok: true, batch: { records: unique, invalid, cursor: next } };
  }

  return {
    key: `slack:${spec.channel}`,
    async read(cursor, until, options = {}): Promise<SourceResult> {
      if (options.since) {
        // A backfill reads its whole range now and leaves the stored cursor alone.
        const fresh: SlackCursor = {
          v: 1,
          watermark: msToTs(options.since.getTime()),
          pending: [],
          threads: [],
        };
        const got = await advance(fresh, until, Number.POSITIVE_INFINITY);
        return got.ok
          ? { ok: true, value: got.batch }
          : { ok: false, error: got.error, retryable: got.retryable };
      }
      const parsed = SlackCursorSchema.safeParse(cursor);
      const state: SlackCursor = parsed.success
        ? parsed.data
        : { v: 1, watermark: msToTs(until.getTime() - lookbackMs), pending: [], threads: [] };
      const got = await advance(state, until, spec.maxCallsPerTick);
      return got.ok
        ? { ok: true, value: got.batch }
        : { ok: false, error: got.error, retryable: got.retryable };
    },
    async latest(n, now_) {
      const { call } = createCaller(undefined);
      const res = await call('conversations.history', () =>
        slack.conversations.history({
          channel: spec.channel,
          limit: pageSize,
          latest: msToTs(now_.getTime()),
        }),
      );
      if (!res.ok) return { ok: false, error: res.error, retryable: res.retryable };
      const invalid: SourceBatch['invalid'] = [];
      const messages = parseMessages(res.body.messages ?? [], 'latest', invalid)
        .filter((m) => !isThreadReply(m))
        .sort((a, b) => compareTs(a.ts, b.ts));
      const records: SourceRecord[] = [];
      let lastUser: UserRef | undefined;
      for (const m of messages) {
        const kind = kindOf(m);
        if (kind === 'user') lastUser = userRef(m);
        else if (kind === 'bot' && lastUser) records.push(toRecord(m, lastUser));
      }
      return { ok: true, value: { records: records.slice(-n), invalid, cursor: undefined } };
    },
  };
}
