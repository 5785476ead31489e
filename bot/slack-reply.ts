// The user reply path: an answer to a slash command or a button click reaches the user wherever they typed.
// Routes, in order:
//   1. the request's response_url: works in DMs, private channels and channels without the bot, 5 posts within
//      30 minutes per URL (uses are counted in the store, so a restart does not overspend them);
//   2. chat.postEphemeral: needs the bot in the conversation (channel_not_found / not_in_channel otherwise);
//   3. a DM from the bot (conversations.open + chat.postMessage).
// In the bot every answer is a delivery of the outbox's reply lane (createOutboxReplies: durable, picked before any
// bulk posting); the delivery loop sends it by these routes. Replies to a click inside a thread carry its thread_ts on
// every route. Each Slack error code is mapped
// (bot/slack-errors.ts): retried, the next route tried, or told to the admins once; a user never sees a code.
// Shapes: https://docs.slack.dev/interactivity/handling-user-interaction#message_responses (response_url body:
// response_type, replace_original, thread_ts, text, blocks; RespondArguments in bolt-js has the same fields),
// https://docs.slack.dev/reference/methods/chat.postEphemeral (channel, user, thread_ts),
// https://docs.slack.dev/reference/methods/conversations.open (users → channel.id).
import { createHash } from 'node:crypto';
import { type Logger, scrubDeep, type Clock, systemClock } from '../config/index.ts';
import type { Message } from '../chat/index.ts';
import type { DocumentStore } from '../storage/index.ts';
import type { DeliveryDoc, DeliveryInput, ReplySender } from './outbox.ts';
import { renderThread } from './render-blocks.ts';
import {
  type AdminAlerts,
  createAdminAlerts,
  type SlackErrorAction,
  slackErrorAction,
} from './slack-errors.ts';
import { type SlackClient, slackErrorCode } from './slack-transport.ts';

/** Posts a response_url takes (Slack: 5). */
export const RESPONSE_URL_MAX_USES = 5;
/** How long a response_url lives (Slack: 30 minutes); a minute is kept back for clocks and slow posts. */
export const RESPONSE_URL_TTL_MS = 30 * 60_000;
const RESPONSE_URL_MARGIN_MS = 60_000;

/** The durable count of a response_url's uses. */
export interface ResponseUrlBudget {
  /** Takes one use of `url` if it has one left and has not expired; `issuedAt` is when Slack sent it. */
  claim(url: string, issuedAt: Date | undefined, now: Date): Promise<boolean>;
  /** Slack said the URL is used up or expired: no later claim gets it. */
  exhaust(url: string): Promise<void>;
}

interface BudgetDoc {
  _id: string;
  uses: number;
  expiresAt: Date;
}

/**
 * Creates the response_url budget over the store (collection `slack_response_urls`, keyed by a hash of the URL:
 * the URL itself is a credential). A claim is one atomic conditional increment, so two workers never both take
 * the fifth use.
 */
export async function createResponseUrlBudget(store: DocumentStore): Promise<ResponseUrlBudget> {
  const col = await store.collection<BudgetDoc>('slack_response_urls', [{ fields: { expiresAt: 1 } }]);
  const idOf = (url: string) => createHash('sha256').update(url).digest('hex');
  let sweptAt = 0;
  return {
    async claim(url, issuedAt, now) {
      const _id = idOf(url);
      const issued = issuedAt && issuedAt.getTime() <= now.getTime() ? issuedAt : now;
      const expiresAt = new Date(issued.getTime() + RESPONSE_URL_TTL_MS - RESPONSE_URL_MARGIN_MS);
      await col.updateOne({ _id }, { $setOnInsert: { uses: 0, expiresAt } }, { upsert: true });
      const taken = await col.findOneAndUpdate(
        { _id, uses: { $lt: RESPONSE_URL_MAX_USES }, expiresAt: { $gt: now } },
        { $inc: { uses: 1 } },
      );
      // Expired URLs are useless after their 30 minutes; sweep them now and then.
      if (now.getTime() - sweptAt > 10 * 60_000) {
        sweptAt = now.getTime();
        await col.deleteMany({ expiresAt: { $lt: new Date(now.getTime() - 60 * 60_000) } }).catch(() => 0);
      }
      return taken !== null;
    },
    async exhaust(url) {
      await col.updateOne({ _id: idOf(url) }, { $set: { uses: RESPONSE_URL_MAX_USES } });
    },
  };
}

/**
 * A response_url budget kept in memory: for a Slack app built without a store (tests, embedding). It forgets its
 * counts on restart, so the bot itself uses createResponseUrlBudget.
 */
export function createMemoryResponseUrlBudget(): ResponseUrlBudget {
  const urls = new Map<string, { uses: number; expiresAt: number }>();
  return {
    async claim(url, issuedAt, now) {
      const issued = issuedAt && issuedAt.getTime() <= now.getTime() ? issuedAt : now;
      const entry = urls.get(url) ?? {
        uses: 0,
        expiresAt: issued.getTime() + RESPONSE_URL_TTL_MS - RESPONSE_URL_MARGIN_MS,
      };
      urls.set(url, entry);
      if (entry.uses >= RESPONSE_URL_MAX_USES || entry.expiresAt <= now.getTime()) return false;
      entry.uses += 1;
      return true;
    },
    async exhaust(url) {
      const entry = urls.get(url);
      if (entry) entry.uses = RESPONSE_URL_MAX_USES;
    },
  };
}

/** Who to tell, and where they typed. */
export interface ReplyTo {
  user: string;
  /** The conversation of the command or clicked message (absent for App Home and modals). */
  channel?: string | undefined;
  /** The thread the click happened in: the reply shows there. */
  threadTs?: string | undefined;
  responseUrl?: string | undefined;
  /** When Slack sent the request (its response_url expires 30 minutes later). */
  issuedAt?: Date | undefined;
}

/** Which route delivered a reply (`none`: nothing could reach the user; it is logged). */
export type ReplyRoute = 'response_url' | 'ephemeral' | 'dm' | 'none';

/** The user reply path. */
export interface UserReplies {
  /** Shows `message` to the user only (every part of it), by the first route that works. */
  tell(to: ReplyTo, message: Message): Promise<ReplyRoute>;
  /** Replaces the clicked (ephemeral) message through the click's response_url; false when it cannot. */
  replaceOriginal(to: ReplyTo & { responseUrl: string }, message: Message): Promise<boolean>;
}

/** Options of the Slack reply path. */
export interface SlackRepliesOptions {
  client: SlackClient;
  budget: ResponseUrlBudget;
  logger: Logger;
  alerts?: AdminAlerts;
  /** Posts to response_urls (default: global fetch). */
  fetch?: typeof fetch;
  /** The one Clock of config/ (tests move it by hand). */
  clock?: Pick<Clock, 'now'>;
  /** Pause before a retry of a transient error (default 500 ms, doubled per attempt). */
  retryDelayMs?: number;
}

/** A failed route: its Slack code (or `network`). */
class RouteError extends Error {
  constructor(
    readonly code: string,
    readonly needed?: string,
  ) {
    super(code);
  }
}

/** One rendered part of a reply. */
interface Part {
  text: string;
  blocks?: unknown[];
}

/** Creates the reply path over the Web API client. */
export function createSlackReplies(options: SlackRepliesOptions): UserReplies {
  const { client, budget, logger } = options;
  const alerts = options.alerts ?? createAdminAlerts(logger);
  const fetchFn = options.fetch ?? fetch;
  const clock = options.clock ?? systemClock;
  const retryDelay = options.retryDelayMs ?? 500;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  const webError = (err: unknown): RouteError => {
    const code = slackErrorCode(err);
    const needed = (err as { data?: { needed?: string } }).data?.needed;
    // A request that never got an answer (network) is transient.
    return new RouteError(code ?? 'request_timeout', needed);
  };

  /** Posts one body to a response_url; Slack answers like an incoming webhook: 200 "ok", or a status and a code. */
  const postResponseUrl = async (url: string, body: Record<string, unknown>): Promise<void> => {
    let res: Response;
    try {
      res = await fetchFn(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    } catch {
      throw new RouteError('request_timeout');
    }
    const text = (await res.text().catch(() => '')).trim();
    let code: string | undefined;
    try {
      const json = JSON.parse(text) as { ok?: boolean; error?: string };
      if (json.ok === false) code = json.error ?? 'invalid_payload';
    } catch {
      if (!res.ok || (text && text !== 'ok')) code = /^[a-z_]+$/.test(text) ? text : undefined;
    }
    if (res.ok && code === undefined) return;
    if (code === undefined)
      code =
        res.status === 404 || res.status === 410
          ? 'expired_url'
          : res.status >= 500
            ? 'internal_error'
            : 'invalid_payload';
    if (res.status === 429) code = 'ratelimited';
    throw new RouteError(code);
  };

  /** Runs a route with retries of transient errors; content errors are sent again once as plain text. */
  const attempt = async (route: string, send: (part: Part) => Promise<void>, part: Part): Promise<void> => {
    let plain = false;
    for (let i = 0; ; i++) {
      try {
        await send(plain ? { text: part.text } : part);
        return;
      } catch (e) {
        const err = e instanceof RouteError ? e : webError(e);
        const action: SlackErrorAction = slackErrorAction(err.code);
        if (action === 'retry' && i < 2) {
          await sleep(retryDelay * 2 ** i);
          continue;
        }
        if (action === 'content' && !plain) {
          alerts.report(err.code, { method: route });
          plain = true;
          continue;
        }
        if (action === 'admin')
          alerts.report(err.code, { method: route, ...(err.needed ? { needed: err.needed } : {}) });
        throw err;
      }
    }
  };

  const viaResponseUrl = async (
    to: ReplyTo & { responseUrl: string },
    part: Part,
    extra: Record<string, unknown>,
  ) => {
    if (!(await budget.claim(to.responseUrl, to.issuedAt, clock.now()))) throw new RouteError('used_url');
    try {
      await attempt(
        'response_url',
        (p) =>
          postResponseUrl(to.responseUrl, {
            ...extra,
            text: p.text,
            ...(p.blocks ? { blocks: p.blocks } : {}),
          }),
        part,
      );
    } catch (err) {
      if (err instanceof RouteError && (err.code === 'used_url' || err.code === 'expired_url'))
        await budget.exhaust(to.responseUrl).catch(() => undefined);
      throw err;
    }
  };

  /** The conversation of the bot's DM with a user, opened once per process. */
  const dms = new Map<string, string>();
  const dmOf = async (user: string): Promise<string> => {
    const known = dms.get(user);
    if (known) return known;
    const res = await client.conversations.open({ users: user });
    const id = res.channel?.id;
    if (!id) throw new RouteError('channel_not_found');
    dms.set(user, id);
    return id;
  };

  const routes = (to: ReplyTo) => {
    const list: { name: Exclude<ReplyRoute, 'none'>; send: (p: Part) => Promise<void> }[] = [];
    const responseUrl = to.responseUrl;
    if (responseUrl)
      list.push({
        name: 'response_url',
        send: (p) =>
          viaResponseUrl({ ...to, responseUrl }, p, {
            response_type: 'ephemeral',
            replace_original: false,
            ...(to.threadTs ? { thread_ts: to.threadTs } : {}),
          }),
      });
    const channel = to.channel;
    if (channel)
      list.push({
        name: 'ephemeral',
        send: async (p) => {
          await client.chat.postEphemeral({
            channel,
            user: to.user,
            text: p.text,
            ...(p.blocks ? { blocks: p.blocks as never } : {}),
            ...(to.threadTs ? { thread_ts: to.threadTs } : {}),
          });
        },
      });
    list.push({
      name: 'dm',
      send: async (p) => {
        const dm = await dmOf(to.user);
        await client.chat.postMessage({
          channel: dm,
          text: p.text,
          ...(p.blocks ? { blocks: p.blocks as never } : {}),
          unfurl_links: false,
          unfurl_media: false,
        });
      },
    });
    return list;
  };

  return {
    async tell(to, message) {
      const parts = renderThread({ ...scrubDeep(message), ephemeral: true });
      const all = routes(to);
      // A route that cannot reach the user for one part cannot for the next either.
      const closed = new Set<string>();
      let used: ReplyRoute = 'none';
      for (const part of parts) {
        if (part.warnings.length) logger.warn({ warnings: part.warnings }, 'slack render adjusted a message');
        let delivered = false;
        const failures: string[] = [];
        for (const route of all) {
          if (closed.has(route.name)) continue;
          try {
            await attempt(route.name, route.send, { text: part.text, blocks: part.blocks });
            delivered = true;
            if (used === 'none') used = route.name;
            break;
          } catch (e) {
            const code = e instanceof RouteError ? e.code : (slackErrorCode(e) ?? 'unknown');
            failures.push(`${route.name}: ${code}`);
            closed.add(route.name);
          }
        }
        if (!delivered) {
          logger.error(
            { user: to.user, channel: to.channel, failures },
            'a reply could not reach its user by response_url, ephemeral or DM',
          );
          return 'none';
        }
        if (failures.length)
          logger.info({ user: to.user, channel: to.channel, failures }, 'reply took a fallback route');
      }
      return used;
    },
    async replaceOriginal(to, message) {
      const [first] = renderThread({ ...scrubDeep(message), ephemeral: true });
      if (!first) return true;
      try {
        await viaResponseUrl(to, { text: first.text, blocks: first.blocks }, { replace_original: true });
        return true;
      } catch (e) {
        logger.info(
          { code: e instanceof RouteError ? e.code : String(e) },
          'could not replace the clicked message',
        );
        return false;
      }
    },
  };
}

/**
 * A reply path over a Transport's postEphemeral (the console, and Slack set-ups without a store): no response_url
 * and no fallback, as the console can always print.
 */
export function transportReplies(transport: {
  postEphemeral(target: { channel: string; user: string }, message: Message): Promise<void>;
}): UserReplies {
  return {
    async tell(to, message) {
      if (!to.channel) return 'none';
      await transport.postEphemeral({ channel: to.channel, user: to.user }, { ...message, ephemeral: true });
      return 'ephemeral';
    },
    async replaceOriginal() {
      return false;
    },
  };
}

/**
 * The reply path through the outbox's reply lane: each answer is a durable delivery, picked before any bulk posting
 * and sent by `inner`'s routes (response_url → ephemeral → DM) from the delivery loop, so it survives a restart and
 * is paced with everything else the bot sends. Replacing a clicked ephemeral (response_url only) stays direct.
 */
export function createOutboxReplies(
  outbox: {
    send(input: DeliveryInput): Promise<DeliveryDoc>;
    useReplies(sender: ReplySender): void;
  },
  inner: UserReplies,
): UserReplies {
  outbox.useReplies((to, message) => inner.tell(to, message));
  return {
    async tell(to, message) {
      const doc = await outbox.send({
        op: 'reply',
        lane: 'reply',
        // Per user, not per channel: a user's answers stay in order and never wait for a channel's bulk posts.
        channel: `reply:${to.user}`,
        user: to.user,
        message,
        replyTo: {
          user: to.user,
          ...(to.channel ? { channel: to.channel } : {}),
          ...(to.threadTs ? { threadTs: to.threadTs } : {}),
          ...(to.issuedAt ? { issuedAt: to.issuedAt } : {}),
        },
        ...(to.responseUrl ? { responseUrl: to.responseUrl } : {}),
      });
      return doc.status === 'delivered' ? ((doc.route as ReplyRoute | undefined) ?? 'none') : 'none';
    },
    replaceOriginal: (to, message) => inner.replaceOriginal(to, message),
  };
}
