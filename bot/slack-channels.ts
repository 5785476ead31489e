// Slack channel names and memberships. `conversations.*` and `files.completeUploadExternal` accept channel ids only,
// so `#names` written in YAML (monitors, digests) or the environment (prompt alerts) are resolved to ids once, at
// start, through `conversations.list` (paged, cached); a name that resolves to nothing stops start-up with a message
// naming the file and field. Memberships (`users.conversations`, cached) decide what the App Home shows a user.
import { ArbiterError, type Logger, type Clock, systemClock } from '../config/index.ts';
import type { SlackClient } from './slack-transport.ts';

/** A channel id: public (C), private or legacy group (G), direct message (D). */
export const CHANNEL_ID_RE = /^[CGD][A-Z0-9]{2,}$/;

/** True when `ref` is a channel id rather than a `#name`. */
export function isChannelId(ref: string): boolean {
  return CHANNEL_ID_RE.test(ref);
}

/** A channel reference found in configuration: where it was written, and what. */
export interface ChannelRef {
  /** e.g. `examples/monitors/example.yaml: publish.channel`, or `PROMPT_ALERTS_CHANNEL`. */
  where: string;
  value: string;
}

/** The part of the Web API client the directory needs. */
export type ChannelsClient = Pick<SlackClient, 'conversations' | 'users'>;

/** One page of conversations.list / users.conversations (https://api.slack.com/methods/conversations.list). */
interface ConversationsPage {
  ok?: boolean;
  channels?: { id?: string; name?: string; is_archived?: boolean }[];
  response_metadata?: { next_cursor?: string };
}

const PAGE_LIMIT = 200;
const MAX_PAGES = 500;

/** Reads every page of a cursor-paged conversations method (Slack recommends limit ≤ 200). */
async function allPages(call: (cursor: string | undefined) => Promise<ConversationsPage>) {
  const out: { id: string; name: string }[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const res = await call(cursor);
    // Direct messages have no name: they count for memberships, never for name lookups.
    for (const c of res.channels ?? []) if (c.id) out.push({ id: c.id, name: c.name ?? '' });
    cursor = res.response_metadata?.next_cursor || undefined;
    if (!cursor) break;
  }
  return out;
}

/** Names → ids of the channels the bot can see, listed once (conversations.list) and cached. */
export function createChannelDirectory(client: ChannelsClient) {
  let listing: Promise<Map<string, string>> | undefined;
  const load = () =>
    allPages(
      (cursor) =>
        client.conversations.list({
          types: 'public_channel,private_channel',
          exclude_archived: true,
          limit: PAGE_LIMIT,
          ...(cursor ? { cursor } : {}),
        }) as Promise<ConversationsPage>,
    ).then((channels) => new Map(channels.filter((c) => c.name).map((c) => [c.name.toLowerCase(), c.id])));
  return {
    /** The id of `#name` (or `name`), undefined when the bot sees no such channel. Ids are returned as they are. */
    async lookup(ref: string): Promise<string | undefined> {
      if (isChannelId(ref)) return ref;
      listing ??= load().catch((err: unknown) => {
        listing = undefined;
        throw err;
      });
      return (await listing).get(ref.replace(/^#/, '').toLowerCase());
    },
  };
}

/** A channel directory. */
export type ChannelDirectory = ReturnType<typeof createChannelDirectory>;

function slackCode(err: unknown): string | undefined {
  return (err as { data?: { error?: string } } | undefined)?.data?.error;
}

/**
 * Resolves every `#name` of `refs` to an id. Ids pass through untouched. Throws CONFIG_INVALID naming each
 * reference that resolves to nothing (or the scope the listing lacks), so start-up stops with exit code 2.
 */
export async function resolveChannelRefs(
  directory: ChannelDirectory,
  refs: readonly ChannelRef[],
): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  const problems: string[] = [];
  for (const ref of refs) {
    if (isChannelId(ref.value) || ids.has(ref.value)) continue;
    let id: string | undefined;
    try {
      id = await directory.lookup(ref.value);
    } catch (err) {
      const code = slackCode(err);
      throw new ArbiterError(
        'CONFIG_INVALID',
        `Arbiter cannot start: ${ref.where} names the channel "${ref.value}", and channel names are resolved with conversations.list, which failed${code ? ` (${code})` : ''}.`,
        {
          hint:
            code === 'missing_scope'
              ? 'Add the channels:read and groups:read bot scopes (they are in manifest.yml) and reinstall the app, or write channel ids (C…) instead of #names.'
              : 'Check SLACK_BOT_TOKEN and SLACK_API_URL, or write channel ids (C…) instead of #names.',
          cause: err,
        },
      );
    }
    if (id) ids.set(ref.value, id);
    else
      problems.push(
        `${ref.where}: no channel "${ref.value}" is visible to the bot (create it, invite the bot if it is private, or write its id, C…)`,
      );
  }
  if (problems.length > 0)
    throw new ArbiterError(
      'CONFIG_INVALID',
      `Arbiter cannot start: Slack channel names that resolve to no channel:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      {
        hint: 'Slack methods take channel ids; Arbiter resolves #names once at start with conversations.list. Copy a channel id from the channel details in Slack.',
      },
    );
  return ids;
}

/** `value` resolved through `ids` (a name listed there), else unchanged (an id, or no Slack at all). */
export function resolvedChannel(ids: ReadonlyMap<string, string>, value: string): string {
  return ids.get(value) ?? value;
}

/** Options of the membership cache. */
export interface MembershipOptions {
  /** How long one user's channel list is reused (default 5 minutes). */
  ttlMs?: number;
  clock?: Pick<Clock, 'nowMs'>;
  logger?: Logger;
}

/**
 * The channels a user is a member of (users.conversations with `user`: public ones, and private ones the bot shares;
 * https://api.slack.com/methods/users.conversations), cached per user for `ttlMs`.
 */
export function createMembershipCache(client: ChannelsClient, options: MembershipOptions = {}) {
  const ttl = options.ttlMs ?? 5 * 60_000;
  const clock = options.clock ?? systemClock;
  const cache = new Map<string, { at: number; channels: Promise<Set<string>> }>();
  return {
    /** Channel ids `user` belongs to. Rejects when Slack cannot tell (the caller then shows less, never more). */
    channelsOf(user: string): Promise<Set<string>> {
      const hit = cache.get(user);
      if (hit && clock.nowMs() - hit.at < ttl) return hit.channels;
      const channels = allPages(
        (cursor) =>
          client.users.conversations({
            user,
            types: 'public_channel,private_channel',
            exclude_archived: true,
            limit: PAGE_LIMIT,
            ...(cursor ? { cursor } : {}),
          }) as Promise<ConversationsPage>,
      ).then((list) => new Set(list.map((c) => c.id)));
      cache.set(user, { at: clock.nowMs(), channels });
      channels.catch(() => cache.delete(user));
      return channels;
    },
  };
}

/** A membership cache. */
export type MembershipCache = ReturnType<typeof createMembershipCache>;

/** Where configuration names Slack channels: monitors' report channel, digests' channel, prompt-alert channels. */
export function configChannelRefs(input: {
  monitors: readonly { file: string; value: { publish: { channel: string } } }[];
  digests: readonly { file: string; value: { channel: string } }[];
  promptAlertsChannel?: string | undefined;
  promptAlertsRules?: readonly { pattern: string; channel: string }[];
}): ChannelRef[] {
  return [
    ...input.monitors.map((m) => ({ where: `${m.file}: publish.channel`, value: m.value.publish.channel })),
    ...input.digests.map((d) => ({ where: `${d.file}: channel`, value: d.value.channel })),
    ...(input.promptAlertsChannel
      ? [{ where: 'PROMPT_ALERTS_CHANNEL', value: input.promptAlertsChannel }]
      : []),
    ...(input.promptAlertsRules ?? []).map((r) => ({
      where: `PROMPT_ALERTS_MAP (${r.pattern})`,
      value: r.channel,
    })),
  ];
}
