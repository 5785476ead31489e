// The Slack Transport: every Message goes through renderThread/renderBlocks and the Web API client. Rate limits
// (429) are retried by the client honouring Retry-After; Slack errors users can fix become a SlackPostError.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename } from 'node:path';
import type * as Bolt from '@slack/bolt';
import type { webApi as WebApiTypes } from '@slack/bolt';
import { type CodedError, type Logger, scrubDeep, scrubSecrets } from '../config/index.ts';
import type { PostedRef, Transport } from '../chat/index.ts';
import { systemLlmClock } from '../llm/index.ts';
import { renderThread } from './render-blocks.ts';
import type { ErrorVerdict } from './outbox.ts';
import { type ChannelPacer, createChannelPacer } from './slack-pacer.ts';

/** The Web API client type. */
export type SlackClient = InstanceType<typeof WebApiTypes.WebClient>;

const requireCjs = createRequire(import.meta.url);
/** Bolt's Web API (with Express, Socket Mode and undici) loads with the first Slack client, not at start. */
const webApi = () => (requireCjs('@slack/bolt') as typeof Bolt).webApi;

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

/** Slack error codes a user can fix by inviting the bot, with the hint to show. */
const FIXABLE: Record<string, string> = {
  not_in_channel: 'Arbiter is not in this channel: invite it with `/invite @arbiter`, then try again.',
  channel_not_found:
    'Arbiter cannot see this channel (private channels and DMs need it invited): invite it with `/invite @arbiter`.',
  is_archived: 'This channel is archived.',
  missing_scope:
    "Arbiter's Slack app lacks a permission this needs: reinstall it from manifest.yml (Install App → Reinstall).",
};

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
        FIXABLE[code],
        typeof retryAfter === 'number' ? retryAfter * 1000 : undefined,
      );
    throw err;
  }
}

/**
 * Slack errors worth another attempt: `ratelimited` comes with HTTP 200 and `ok:false` as well as a 429
 * (https://api.slack.com/apis/rate-limits); `internal_error`, `fatal_error`, `service_unavailable` and
 * `request_timeout` are Slack's own trouble (https://api.slack.com/methods/chat.postMessage, Errors).
 */
const RETRYABLE = new Set([
  'ratelimited',
  'rate_limited',
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
  'team_added_to_org',
]);
/** Slack refused the message as built: a simpler form may pass. */
const REFUSED_CONTENT = new Set(['invalid_blocks', 'invalid_blocks_format', 'msg_too_long', 'no_text']);
/** What admins can do about errors no retry fixes (beyond FIXABLE). */
const ADMIN_HINTS: Record<string, string> = {
  invalid_auth: 'SLACK_BOT_TOKEN is not valid: copy the Bot User OAuth Token again from the app settings.',
  not_authed: 'SLACK_BOT_TOKEN is not set for this call.',
  token_revoked: "Arbiter's token was revoked: reinstall the app.",
  token_expired: "Arbiter's token expired: reinstall the app or refresh the token.",
  account_inactive: "Arbiter's Slack app was deactivated: reinstall it.",
  message_not_found: 'The message to edit was deleted.',
  cant_update_message: 'Arbiter may only edit its own messages.',
  edit_window_closed: "The workspace's edit window for messages has closed.",
  restricted_action: 'A workspace setting keeps Arbiter from posting in this channel.',
  user_not_in_channel: 'The user is not a member of this channel.',
};

/** How the outbox treats an error of a Slack call: retried (with Retry-After), degraded, or failed with a hint. */
export function classifySlackError(err: unknown): ErrorVerdict {
  if (err instanceof SlackPostError) {
    const code = err.slackCode;
    return {
      code,
      retry: RETRYABLE.has(code),
      ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}),
      ...(REFUSED_CONTENT.has(code) ? { refusedContent: true } : {}),
      ...((err.hint ?? ADMIN_HINTS[code]) ? { hint: err.hint ?? ADMIN_HINTS[code] } : {}),
    };
  }
  // Network errors, HTTP 5xx, time-outs, a file upload that failed midway: worth another attempt.
  const code = (err as { code?: unknown } | undefined)?.code;
  return { code: typeof code === 'string' ? code : 'network_error', retry: true };
}

/** The message-metadata event type of posts made with a key (see Transport.post). */
export const POST_EVENT_TYPE = 'arbiter_post';
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
  const pacer = options.pacer ?? createChannelPacer({ ...POST_PACE, clock: systemLlmClock });
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
      const parts = renderThread({ ...scrubDeep(message), ephemeral: false });
      let parent: PostedRef | undefined;
      for (const part of parts) {
        warn(part.warnings);
        const threadTs = part.threaded ? (target.threadTs ?? parent?.ts) : target.threadTs;
        // The key rides on the first message only: that is the one findPosted looks for.
        const metadata =
          options.key && !parent
            ? { event_type: POST_EVENT_TYPE, event_payload: { key: options.key } }
            : undefined;
        await pacer.wait(target.channel);
        const res = await call(() =>
          client.chat.postMessage({
            channel: target.channel,
            text: part.text,
            blocks: part.blocks,
            unfurl_links: false,
            unfurl_media: false,
            ...(threadTs ? { thread_ts: threadTs } : {}),
            ...(metadata ? { metadata } : {}),
          }),
        );
        parent ??= { channel: res.channel ?? target.channel, ts: res.ts ?? '' };
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
    async update(ref, message) {
      // The parent is replaced; what overflows it goes to its thread, as the marker in the parent says.
      const [first, ...rest] = renderThread({ ...scrubDeep(message), thread: [], ephemeral: false });
      if (!first) return;
      warn(first.warnings);
      await call(() =>
        client.chat.update({ channel: ref.channel, ts: ref.ts, text: first.text, blocks: first.blocks }),
      );
      for (const part of rest) {
        warn(part.warnings);
        await pacer.wait(ref.channel);
        await call(() =>
          client.chat.postMessage({
            channel: ref.channel,
            thread_ts: ref.ts,
            text: part.text,
            blocks: part.blocks,
            unfurl_links: false,
            unfurl_media: false,
          }),
        );
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
