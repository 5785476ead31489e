// The port a command asks before it starts work that posts in the conversation it was typed in (a run's report, a
// review's ballots): can the bot post there? Slack answers it from the conversation's membership (bot/); the console
// leaves it out, as it can always print.
import type { Message } from '../chat/index.ts';

/** Whether the bot can post in a conversation; if not, why and how to fix it, in words a user can act on. */
export type ChannelPostCheck = { ok: true } | { ok: false; reason: string; fix: string };

/** Answers whether the bot can post in `channel`, asked by `user`. Never throws: an unknown answer is `ok`. */
export type ChannelAccess = (channel: string, user: string) => Promise<ChannelPostCheck>;

/** The answer to a command refused because the bot cannot post where it was typed; nothing was started. */
export function cannotPostHere(what: string, check: Extract<ChannelPostCheck, { ok: false }>): Message {
  const text = `${check.reason} ${check.fix}`;
  return {
    title: 'Arbiter cannot post here',
    summary: text,
    sections: [
      { kind: 'text', text },
      {
        kind: 'context',
        items: [`Nothing was started: ${what} needs Arbiter to post in this conversation.`],
      },
    ],
    ephemeral: true,
  };
}
