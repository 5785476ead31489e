// The job that runs a chat command (Slack slash command or console prompt) off the request path: dispatch through
// commands/, then deliver the Message with the transport. Delivery problems the user can fix become a hint.
import { z } from 'zod';
import { type Ids, type Logger, logFailure } from '../config/index.ts';
import { type DispatchDeps, dispatch, errorMessage, notice, usageMessage } from '../commands/dispatch.ts';
import type { Message } from '../commands/message.ts';
import { parseCommand } from '../commands/parse.ts';
import type { Transport } from '../commands/transport.ts';
import type { JobContext, JobHandler } from '../storage/index.ts';
import type { RunReporter } from './run-reporter.ts';
import { respondEphemeral, SlackPostError } from './slack-transport.ts';

/** Job type of a chat command. */
export const COMMAND_JOB_TYPE = 'chat.command';

/** Payload of a chat command job. */
export const CommandJobPayloadSchema = z.object({
  text: z.string().max(4000),
  user: z.string().min(1),
  channel: z.string().min(1),
  /** Slack's response_url: ephemeral replies that work even where the bot is not a member. */
  responseUrl: z.string().url().optional(),
  /** Also the run's idempotency key, so a redelivered command never starts a second run. */
  key: z.string().min(1),
});
export type CommandJobPayload = z.infer<typeof CommandJobPayloadSchema>;

/** What the command job needs. */
export interface CommandJobDeps {
  transport: Transport;
  dispatch: () => DispatchDeps;
  reporter: RunReporter;
  ids: Ids;
  logger: Logger;
  fetch?: typeof fetch;
}

/** How a reply is delivered: `key` marks a channel post so that a retry whose earlier post is uncertain finds it. */
export interface DeliverOptions {
  key?: string;
  /** An earlier attempt of this job may have posted it already (it died between 'started' and 'done'). */
  uncertain?: boolean;
}

/** Delivers a reply: ephemeral to the user, or in the channel; fixable Slack errors become an ephemeral hint. */
export async function deliver(
  deps: Pick<CommandJobDeps, 'transport' | 'logger' | 'fetch'>,
  p: Pick<CommandJobPayload, 'user' | 'channel' | 'responseUrl'>,
  message: Message,
  options: DeliverOptions = {},
): Promise<void> {
  try {
    if (message.ephemeral)
      await deps.transport.postEphemeral(
        { channel: p.channel, user: p.user },
        message,
        options.key ? { key: options.key } : {},
      );
    else {
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
    }
  } catch (err) {
    const hint = err instanceof SlackPostError ? err.hint : undefined;
    deps.logger.warn({ err, channel: p.channel }, 'chat delivery failed');
    if (!p.responseUrl) return;
    const fallback = hint ? notice('Arbiter could not post here', hint) : { ...message, ephemeral: true };
    await respondEphemeral(p.responseUrl, fallback, deps.fetch).catch((e: unknown) =>
      deps.logger.warn({ err: e }, 'response_url delivery failed'),
    );
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
        await reply(usageMessage(parsed.error));
        return { ok: false };
      }
      try {
        const answer = await dispatch(
          parsed.command,
          { user: p.user, channel: p.channel, idempotencyKey: p.key },
          deps.dispatch(),
        );
        const watchRun = answer.watchRun;
        if (watchRun) {
          await journal.once('reply', async () => {
            try {
              await deps.reporter.attach(watchRun.runId, p.channel, answer.message, { requester: p.user });
            } catch (err) {
              const hint = err instanceof SlackPostError ? err.hint : undefined;
              deps.logger.warn({ err, runId: watchRun.runId }, 'could not post the run parent');
              await deliver(
                deps,
                p,
                notice(
                  'Run started, but Arbiter could not post here',
                  `${hint ?? 'Posting to this channel failed.'} Run ${watchRun.runId} continues; see it with \`runs show ${watchRun.runId}\`.`,
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
