// The Slack Transport: every Message goes through renderThread/renderBlocks and the Web API client. Rate limits
// (429) are retried by the client honouring Retry-After; Slack errors users can fix become a SlackPostError.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename } from 'node:path';
import type * as Bolt from '@slack/bolt';
import type { webApi as WebApiTypes } from '@slack/bolt';
import { type CodedError, type Logger, scrubDeep, scrubSecrets, systemClock } from '../config/index.ts';
import type { PostedRef, Transport } from '../chat/index.ts';
import { renderThread } from './render-blocks.ts';
import type { ErrorVerdict } from './outbox.ts';
import { type ChannelPacer, createChannelPacer } from './slack-pacer.ts';
import { slackErrorEntry } from './slack-errors.ts';

/** The Web API client type. */
export type SlackClient = InstanceType<typeof WebApiTypes.WebClient>;

const requireCjs = createRequire(import.meta.url);
/** Bolt's Web API (with Express, Socket Mode and undici) loads with the first Slack client, not at start. */
export const webApi = () => (requireCjs('@slack/bolt') as typeof Bolt).webApi;

/** Options of the Web API client shared by the Bolt app and the transport. */
export interface SlackClientOptions {
  token: string;
  /** SLACK_API_URL; must end with a slash for the client (added here). */
  apiUrl?: string | undefined;
  /** Retries after 429/5xx (default 4; the client waits Retry-After on 429). */
  retries?: number;
  /** Throw on 429 instead of waiting inside the call (the outbox reschedules the delivery instead). */
  rejectRateLimitedCalls?: boolean;
}

/** SLACK_API_URL as Slack's clients want it (ending with a slash), or undefined for Slack's own. */
export function slackApiBaseUrl(url: string | undefined): string | undefined {
  if (!url) return undefined;
  return url.endsWith('/') ? url : `${url}/`;
}

/** Builds the Web API client: SLACK_API_URL honoured, bounded retries with backoff, 429 retried after Retry-After. */
export function createSlackClient(options: SlackClientOptions): SlackClient {
  const apiUrl = slackApiBaseUrl(options.apiUrl);
  return new (webApi().WebClient)(options.token, {
    ...(apiUrl ? { slackApiUrl: apiUrl } : {}),
    retryConfig: {
      retries: options.retries ?? 4,
      factor: 2,
      minTimeout: 200,
      maxTimeout: 5000,
      randomize: true,
    },
    ...(options.rejectRateLimitedCalls ? { rejectRateLimitedCalls: true } : {}),
    logLevel: webApi().LogLevel.ERROR,
  });
}

/** A Slack API failure with its Slack error code and, when the user can fix it, a hint. */
export class SlackPostError extends Error implements CodedError {
  override readonly name = 'SlackPostError';
  /** The shared coded-error shape; Slack's own code is `slackCode`. */
  readonly code = 'SLACK_API_ERROR';
  readonly exitCode = 3;
  constructor(
    readonly slackCode: string,
    readonly hint: string | undefined,
    /** Slack's Retry-After of a 429, in ms. */
    readonly retryAfterMs?: number,
  ) {
    super(`Slack API error: ${slackCode}`);
  }
}

/** The Slack error code of a Web API error, if any. */
export function slackErrorCode(err: unknown): string | undefined {
  const e = err as { code?: string; data?: { error?: string } } | undefined;
  if (e?.data?.error) return e.data.error;
  if (e?.code === webApi().ErrorCode.RateLimitedError) return 'ratelimited';
  return undefined;
}

async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const code = slackErrorCode(err);
    const retryAfter = (err as { retryAfter?: unknown }).retryAfter;
    if (code)
      throw new SlackPostError(
        code,
        slackErrorEntry(code).hint,
        typeof retryAfter === 'number' ? retryAfter * 1000 : undefined,
      );
    throw err;
  }
}

/** How the outbox treats an error of a Slack call: retried (with Retry-After), degraded, or failed with a hint. */
export function classifySlackError(err: unknown): ErrorVerdict {
  if (err instanceof SlackPostError) {
    // One table for every Slack error (slack-errors.ts), shared with the reply path.
    const code = err.slackCode;
    const entry = slackErrorEntry(code);
    const hint = err.hint ?? entry.hint;
    return {
      code,
      retry: entry.kind === 'retry',
      ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}),
      ...(entry.kind === 'content' ? { refusedContent: true } : {}),
      ...(entry.kind === 'admin' ? { admin: true } : {}),
      ...(hint ? { hint } : {}),
    };
  }
  // Network errors, HTTP 5xx, time-outs, a file upload that failed midway: worth another attempt.
  const code = (err as { code?: unknown } | undefined)?.code;
  return { code: typeof code === 'string' ? code : 'network_error', retry: true };
}

/** The message-metadata event type of posts made with a key (see Transport.post). */
export const POST_EVENT_TYPE = 'arbiter_post';

/** The key of part `i` of a keyed message: the key itself for the first (what findPosted looks for), `key#i` after. */
export function partKey(key: string, i: number): string {
  return i === 0 ? key : `${key}#${i}`;
}
/** The fields of a history message the lookups read. */
interface HistoryMessage {
  ts?: string;
  metadata?: { event_type?: string; event_payload?: { key?: unknown } };
  files?: { name?: string }[];
}

/** Slack errors that mean the bot may not read a channel's history (findPosted then cannot tell). */
const UNREADABLE = new Set(['missing_scope', 'not_in_channel', 'channel_not_found']);
/** Pages of history findPosted reads at most (200 messages each). */
const FIND_PAGES = 5;

/** Options of the Slack transport (tests inject fetch and readFile). */
export interface SlackTransportOptions {
  /** Posts file bytes to Slack's upload_url (default: global fetch). */
  fetch?: typeof fetch;
  readFile?: (path: string) => Promise<Uint8Array>;
  /** Paces chat.postMessage per channel (default: bursts of 5, then 1 per second, as Slack allows). */
  pacer?: ChannelPacer;
}

/** Slack's posting limit per channel: about one message per second, after a short burst. */
export const POST_PACE = { perSecond: 1, burst: 5 } as const;
/**
 * chat.update is Tier 3, "50+ per minute" per workspace (https://api.slack.com/methods/chat.update, Facts;
 * https://api.slack.com/changelog/2018-03-great-rate-limits): stay at 45/min with a small burst.
 */
export const UPDATE_PACE = { perSecond: 45 / 60, burst: 3 } as const;

/** Creates the Slack transport over a Web API client. */
export function createSlackTransport(
  client: SlackClient,
  logger?: Logger,
  options: SlackTransportOptions = {},
): Transport {
  const fetchFn = options.fetch ?? fetch;
  const read = options.readFile ?? ((path: string) => readFile(path));
  const pacer = options.pacer ?? createChannelPacer({ ...POST_PACE, clock: systemClock });
  const warn = (warnings: string[]) => {
    if (warnings.length) logger?.warn({ warnings }, 'slack render adjusted a message');
  };
  /** The first message of the channel (or thread) since `since` that `match` accepts, from its history. */
  const findMessage = async (
    target: { channel: string; threadTs?: string },
    since: Date,
    match: (m: HistoryMessage) => boolean,
  ): Promise<PostedRef | undefined> => {
    const oldest = (since.getTime() / 1000).toFixed(6);
    let cursor: string | undefined;
    // A few pages at most: the message looked for is recent, and a channel's history can be long.
    for (let page = 0; page < FIND_PAGES; page++) {
      const res = await call(() =>
        target.threadTs
          ? client.conversations.replies({
              channel: target.channel,
              ts: target.threadTs,
              oldest,
              include_all_metadata: true,
              limit: 200,
              ...(cursor ? { cursor } : {}),
            })
          : client.conversations.history({
              channel: target.channel,
              oldest,
              include_all_metadata: true,
              limit: 200,
              ...(cursor ? { cursor } : {}),
            }),
      );
      for (const m of (res.messages ?? []) as HistoryMessage[])
        if (m.ts && match(m)) return { channel: target.channel, ts: m.ts };
      cursor = res.response_metadata?.next_cursor || undefined;
      if (!res.has_more || !cursor) return undefined;
    }
    return undefined;
  };
  /** findMessage, or undefined when the bot may not read the history (see UNREADABLE). */
  const lookUp = async (
    target: { channel: string; threadTs?: string },
    since: Date,
    match: (m: HistoryMessage) => boolean,
  ): Promise<PostedRef | undefined> => {
    try {
      return await findMessage(target, since, match);
    } catch (err) {
      // History the bot may not read (no channels:history / groups:history, not a member) cannot tell: the
      // caller then posts again, as it would without a lookup. Anything else (Slack down) is the caller's error.
      if (err instanceof SlackPostError && UNREADABLE.has(err.slackCode)) {
        logger?.warn({ slackCode: err.slackCode }, 'cannot read channel history to find an earlier post');
        return undefined;
      }
      throw err;
    }
  };
  return {
    name: 'slack',
    async post(target, message, options = {}) {
      // One delivery, several parts (overflow, thread replies): posted in order, each recorded by the caller
      // (onPart) before the next; a retry resumes at the first part missing, looked up first if it may be there.
      const parts = renderThread({ ...scrubDeep(message), ephemeral: false });
      const done = [...(options.resume ?? [])];
      let parent: PostedRef | undefined = done[0];
      for (let i = done.length; i < parts.length; i++) {
        const part = parts[i]!;
        warn(part.warnings);
        const threadTs = part.threaded ? (target.threadTs ?? parent?.ts) : target.threadTs;
        const key = options.key ? partKey(options.key, i) : undefined;
        let ref: PostedRef | undefined;
        if (key && options.uncertainSince && i === (options.resume?.length ?? 0))
          ref = await lookUp(
            { channel: parent?.channel ?? target.channel, ...(threadTs ? { threadTs } : {}) },
            options.uncertainSince,
            (m) => m.metadata?.event_type === POST_EVENT_TYPE && m.metadata.event_payload?.key === key,
          );
        if (!ref) {
          await pacer.wait(target.channel);
          const res = await call(() =>
            client.chat.postMessage({
              channel: target.channel,
              text: part.text,
              blocks: part.blocks,
              unfurl_links: false,
              unfurl_media: false,
              ...(threadTs ? { thread_ts: threadTs } : {}),
              ...(key ? { metadata: { event_type: POST_EVENT_TYPE, event_payload: { key } } } : {}),
            }),
          );
          ref = { channel: res.channel ?? target.channel, ts: res.ts ?? '' };
        }
        await options.onPart?.(i, ref);
        parent ??= ref;
      }
      return parent ?? { channel: target.channel, ts: '' };
    },
    findPosted: (target, key, since) =>
      lookUp(
        target,
        since,
        (m) => m.metadata?.event_type === POST_EVENT_TYPE && m.metadata.event_payload?.key === key,
      ),
    findUploaded: (target, filename, since) =>
      lookUp(target, since, (m) => (m.files ?? []).some((f) => f.name === filename)),
    async update(ref, message, options = {}) {
      // The parent is replaced (part 0); what overflows it goes to its thread (parts 1…), as the marker in the parent
      // says, each recorded before the next, so a retry neither loses nor repeats one.
      const [first, ...rest] = renderThread({ ...scrubDeep(message), thread: [], ephemeral: false });
      if (!first) return;
      const done = options.resume?.length ?? 0;
      if (done === 0) {
        warn(first.warnings);
        await call(() =>
          client.chat.update({ channel: ref.channel, ts: ref.ts, text: first.text, blocks: first.blocks }),
        );
        await options.onPart?.(0, ref);
      }
      for (let i = Math.max(1, done); i <= rest.length; i++) {
        const part = rest[i - 1]!;
        warn(part.warnings);
        const key = options.key ? partKey(options.key, i) : undefined;
        const found =
          key && options.uncertainSince && i === done
            ? await lookUp(
                { channel: ref.channel, threadTs: ref.ts },
                options.uncertainSince,
                (m) => m.metadata?.event_type === POST_EVENT_TYPE && m.metadata.event_payload?.key === key,
              )
            : undefined;
        let posted = found;
        if (!posted) {
          await pacer.wait(ref.channel);
          const res = await call(() =>
            client.chat.postMessage({
              channel: ref.channel,
              thread_ts: ref.ts,
              text: part.text,
              blocks: part.blocks,
              unfurl_links: false,
              unfurl_media: false,
              ...(key ? { metadata: { event_type: POST_EVENT_TYPE, event_payload: { key } } } : {}),
            }),
          );
          posted = { channel: res.channel ?? ref.channel, ts: res.ts ?? '' };
        }
        await options.onPart?.(i, posted);
      }
    },
    async postEphemeral(target, message) {
      for (const part of renderThread({ ...scrubDeep(message), ephemeral: true })) {
        warn(part.warnings);
        await call(() =>
          client.chat.postEphemeral({
            channel: target.channel,
            user: target.user,
            ...((target as { threadTs?: string }).threadTs
              ? { thread_ts: (target as { threadTs?: string }).threadTs }
              : {}),
            text: part.text,
            blocks: part.blocks,
          }),
        );
      }
    },
    async uploadFile(target, file) {
      // Slack's external upload flow (files.upload is retired): ask for an upload URL, POST the bytes there, then
      // complete the upload into the channel or thread. Needs the files:write scope.
      const bytes = await read(file.path);
      const filename = basename(file.path);
      const slot = await call(() =>
        client.files.getUploadURLExternal({
          filename,
          length: bytes.byteLength,
          // Slack's parameter is alt_txt (the client's type says alt_text).
          ...(file.altText ? { alt_txt: file.altText } : {}),
        } as WebApiTypes.FilesGetUploadURLExternalArguments),
      );
      if (!slot.upload_url || !slot.file_id) throw new SlackPostError('no_upload_url', undefined);
      const uploaded = await fetchFn(slot.upload_url, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: bytes,
      });
      if (!uploaded.ok) throw new Error(`Slack file upload answered ${uploaded.status}`);
      const fileId = slot.file_id;
      await call(() =>
        client.files.completeUploadExternal({
          files: [{ id: fileId, title: scrubSecrets(file.title) }],
          channel_id: target.channel,
          ...(target.threadTs ? { thread_ts: target.threadTs } : {}),
        }),
      );
    },
  };
}
