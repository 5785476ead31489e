// Can the bot post in a conversation? Asked before a command starts work that posts there (a run's report, a
// review's ballots), from conversations.info: the bot is a member (is_member), it is the bot's own DM (is_im: the
// bot sees only its own), or a public channel with chat:write.public. Slack hides conversations the bot is not in
// (channel_not_found): a DM between people (ids starting with D) or a private channel / group DM.
// Shapes: https://docs.slack.dev/reference/methods/conversations.info,
// https://docs.slack.dev/reference/objects/conversation-object.
import { type Logger, type Clock, systemClock } from '../config/index.ts';
import type { ChannelAccess, ChannelPostCheck } from '../commands/index.ts';
import { type AdminAlerts, createAdminAlerts, slackErrorAction } from './slack-errors.ts';
import { type SlackClient, slackErrorCode } from './slack-transport.ts';

/** Why the bot cannot post, as users read it. No invite hint where an invite is impossible (a DM between people). */
export const NOT_POSTABLE = {
  dm: {
    ok: false,
    reason: 'Arbiter cannot post in a direct message between people (apps cannot be added to one).',
    fix: 'Run it again in a channel Arbiter is in.',
  },
  hidden: {
    ok: false,
    reason: 'Arbiter is not in this private channel or group DM, so it cannot post here.',
    fix: 'In a private channel, invite it with `/invite @arbiter` and try again; a group DM cannot take apps, so use a channel.',
  },
  notMember: {
    ok: false,
    reason: 'Arbiter is not in this channel, so it cannot post here.',
    fix: 'Invite it with `/invite @arbiter` and try again.',
  },
  archived: {
    ok: false,
    reason: 'This channel is archived.',
    fix: 'Run this in an active channel.',
  },
} as const satisfies Record<string, ChannelPostCheck>;

/** Options of the membership check. */
export interface ChannelAccessOptions {
  client: SlackClient;
  logger: Logger;
  alerts?: AdminAlerts;
  /** How long a "can post" answer is kept (default 5 minutes); a refusal is never kept, so an invite works at once. */
  ttlMs?: number;
  clock?: Pick<Clock, 'nowMs'>;
}

/** Creates the membership check the dispatcher asks before `run` and `review`. */
export function createChannelAccess(options: ChannelAccessOptions): ChannelAccess {
  const { client, logger } = options;
  const alerts = options.alerts ?? createAdminAlerts(logger);
  const ttl = options.ttlMs ?? 5 * 60_000;
  const clock = options.clock ?? systemClock;
  const postable = new Map<string, number>();

  const ask = async (channel: string): Promise<ChannelPostCheck> => {
    let info: Awaited<ReturnType<SlackClient['conversations']['info']>>;
    try {
      info = await client.conversations.info({ channel });
    } catch (err) {
      const code = slackErrorCode(err);
      if (code === 'channel_not_found')
        return channel.startsWith('D') ? NOT_POSTABLE.dm : NOT_POSTABLE.hidden;
      if (code && slackErrorAction(code) === 'admin') {
        const needed = (err as { data?: { needed?: string } }).data?.needed;
        alerts.report(code, { method: 'conversations.info', ...(needed ? { needed } : {}) });
      } else logger.warn({ err, channel }, 'could not check channel membership; going ahead');
      // Unknown: a DM the bot cannot check is one it almost surely is not in (its own DM needs the Messages tab);
      // anywhere else the command goes ahead, and a post that then fails is reported as such.
      return channel.startsWith('D') ? NOT_POSTABLE.dm : { ok: true };
    }
    const c = info.channel ?? {};
    if (c.is_archived) return NOT_POSTABLE.archived;
    // The bot sees an IM only when it is its own DM with the user.
    if (c.is_im || c.is_member) return { ok: true };
    if (c.is_mpim || c.is_private) return NOT_POSTABLE.hidden;
    // A public channel the bot has not joined: chat:write.public lets it post (not upload files). Slack lists the
    // token's scopes in x-oauth-scopes; without that header, the manifest's scopes are assumed.
    const scopes = info.response_metadata?.scopes;
    if (!scopes || scopes.includes('chat:write.public')) return { ok: true };
    return NOT_POSTABLE.notMember;
  };

  return async (channel) => {
    const until = postable.get(channel);
    if (until !== undefined && until > clock.nowMs()) return { ok: true };
    const check = await ask(channel);
    if (check.ok) postable.set(channel, clock.nowMs() + ttl);
    else postable.delete(channel);
    return check;
  };
}
