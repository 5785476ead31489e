// The job that runs a chat command (Slack slash command or console prompt) off the request path: dispatch through
// commands/, then deliver the Message: answers for the user alone go through the reply path (response_url, then
// ephemeral, then DM: bot/slack-reply.ts), channel posts through the transport. A channel post that fails still
// reaches the user, through the reply path, saying why it is not in the channel.
import { z } from 'zod';
import { type Ids, type Logger, logFailure } from '../config/index.ts';
import { type DispatchDeps, dispatch, errorMessage, notice, usageMessage } from '../commands/index.ts';
import type { Message } from '../chat/index.ts';
import { parseCommand } from '../commands/index.ts';
import type { Transport } from '../chat/index.ts';
import type { JobContext, JobHandler } from '../storage/index.ts';
import type { RunReporter } from './run-reporter.ts';
import { transportReplies, type UserReplies } from './slack-reply.ts';
import { SlackPostError } from './slack-transport.ts';

/** Job type of a chat command. */
export const COMMAND_JOB_TYPE = 'chat.command';

/** Payload of a chat command job. */
export const CommandJobPayloadSchema = z.object({
  text: z.string().max(4000),
  user: z.string().min(1),
  channel: z.string().min(1),
  /** Slack's response_url: ephemeral replies that work even where the bot is not a member. */
  responseUrl: z.string().url().optional(),
  /** When the request arrived, epoch ms (its response_url expires 30 minutes later). */
  receivedAt: z.number().optional(),
  /** Also the run's idempotency key, so a redelivered command never starts a second run. */
  key: z.string().min(1),
  /** The front door it was typed at (the audit trail records it); Slack when absent. */
  via: z.enum(['slack', 'console']).optional(),
});
export type CommandJobPayload = z.infer<typeof CommandJobPayloadSchema>;

/** What the command job needs. */
export interface CommandJobDeps {
  transport: Transport;
  dispatch: () => DispatchDeps;
  reporter: RunReporter;
  ids: Ids;
  logger: Logger;
  /** Replies to the user alone; default: the transport's postEphemeral (the console). */
  replies?: UserReplies;
}

/** How a reply is delivered: `key` marks a channel post so that a retry whose earlier post is uncertain finds it. */
export interface DeliverOptions {
  key?: string;
  /** An earlier attempt of this job may have posted it already (it died between 'started' and 'done'). */
  uncertain?: boolean;
}

/** Where a reply goes: the user, where they typed (and in which thread). */
export interface DeliverTarget {
  user: string;
  channel: string;
  threadTs?: string | undefined;
  responseUrl?: string | undefined;
  /** When Slack sent the request, epoch ms. */
  receivedAt?: number | undefined;
}

/** Why a channel post is shown to the user alone; never an invite hint where no invite is possible (a DM). */
export function notPostedNote(channel: string, code: string | undefined): string {
  if (code === 'channel_not_found' || code === 'not_in_channel') {
    if (channel.startsWith('D'))
      return 'Only you see this: Arbiter cannot post in a direct message between people.';
    return code === 'not_in_channel'
      ? 'Only you see this: Arbiter is not in this channel. Invite it with `/invite @arbiter` to have it posted here.'
      : 'Only you see this: Arbiter is not in this private channel or group DM. In a private channel, invite it with `/invite @arbiter` to have it posted here.';
  }
  if (code === 'is_archived') return 'Only you see this: this channel is archived.';
  return 'Only you see this: Arbiter could not post it in the channel just now.';
}

/**
 * Delivers a reply: an ephemeral message through the reply path; a channel post through the transport, and when
 * that fails, to the user alone with the reason. Never throws for a delivery problem.
 */
export async function deliver(
  deps: Pick<CommandJobDeps, 'transport' | 'logger' | 'replies'>,
  p: DeliverTarget,
  message: Message,
  options: DeliverOptions = {},
): Promise<void> {
  const replies = deps.replies ?? transportReplies(deps.transport);
  const to = {
    user: p.user,
    channel: p.channel,
    threadTs: p.threadTs,
    responseUrl: p.responseUrl,
    issuedAt: p.receivedAt !== undefined ? new Date(p.receivedAt) : undefined,
  };
  if (message.ephemeral) {
    await replies.tell(to, message);
    return;
  }
  try {
    // An ephemeral cannot be looked up (Slack keeps no record a bot can read): only a channel post can be
    // found again, by the key it carries, when an earlier attempt may have made it.
    if (options.uncertain && options.key && deps.transport.findPosted) {
      const since = new Date(Date.now() - 60 * 60_000);
      const found = await deps.transport
        .findPosted({ channel: p.channel }, options.key, since)
        .catch(() => undefined);
      if (found) return;
    }
    // The reply lane of the outbox: never queued behind run reports, ballots or digests.
    await deps.transport.post({ channel: p.channel }, message, {
      lane: 'reply',
      requester: p.user,
      ...(options.key ? { key: options.key } : {}),
    });
  } catch (err) {
    const code = err instanceof SlackPostError ? err.slackCode : undefined;
    deps.logger.warn({ err, channel: p.channel }, 'chat delivery failed; telling the user alone');
    await replies.tell(to, {
      ...message,
      ephemeral: true,
      sections: [...message.sections, { kind: 'context', items: [notPostedNote(p.channel, code)] }],
    });
  }
}

/** A job context without a journal (a handler called outside the worker): every effect simply runs. */
const NO_JOURNAL: Pick<JobContext, 'once'> = {
  async once(_name, fn) {
    await fn({ uncertain: false });
    return 'done';
  },
};

/**
 * Creates the job handler of chat commands. It never throws after posting, and its reply is one journaled effect
 * (JobContext.once), so a job run again after a crash does not post its reply twice.
 */
export function createCommandJobHandler(deps: CommandJobDeps): JobHandler<CommandJobPayload> {
  return {
    payload: CommandJobPayloadSchema,
    async run(p, ctx?: Pick<JobContext, 'once'>) {
      const journal = ctx ?? NO_JOURNAL;
      const reply = (message: Message) =>
        journal.once('reply', ({ uncertain }) => deliver(deps, p, message, { key: p.key, uncertain }));
      const parsed = parseCommand(p.text);
      if (!parsed.ok) {
        await reply(usageMessage(parsed.error, parsed.lines));
        return { ok: false };
      }
      try {
        const answer = await dispatch(
          parsed.command,
          { user: p.user, channel: p.channel, idempotencyKey: p.key, ...(p.via ? { via: p.via } : {}) },
          deps.dispatch(),
        );
        const watchRun = answer.watchRun;
        if (watchRun) {
          await journal.once('reply', async () => {
            try {
              await deps.reporter.attach(watchRun.runId, p.channel, answer.message, { requester: p.user });
            } catch (err) {
              const code = err instanceof SlackPostError ? err.slackCode : undefined;
              deps.logger.warn({ err, runId: watchRun.runId }, 'could not post the run parent');
              await deliver(
                deps,
                p,
                notice(
                  'Run started, but Arbiter could not post here',
                  `${notPostedNote(p.channel, code).replace(/^Only you see this: /, '')} Run ${watchRun.runId} continues; see it with \`runs show ${watchRun.runId}\`.`,
                ),
              );
            }
          });
          return { runId: watchRun.runId };
        }
        await reply(answer.message);
        return { ok: true };
      } catch (err) {
        const ref = deps.ids.newId('err');
        logFailure(
          deps.logger,
          err,
          { ref, command: parsed.command.name },
          `command failed (reference ${ref})`,
        );
        await reply(errorMessage(err, ref));
        return { ok: false, ref };
      }
    },
  };
}
