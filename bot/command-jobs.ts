// The job that runs a chat command (Slack slash command or console prompt) off the request path: dispatch through
// commands/, then deliver the Message with the transport. Delivery problems the user can fix become a hint.
import { z } from 'zod';
import { type Ids, type Logger, logFailure } from '../config/index.ts';
import { type DispatchDeps, dispatch, errorMessage, notice, usageMessage } from '../commands/dispatch.ts';
import type { Message } from '../commands/message.ts';
import { parseCommand } from '../commands/parse.ts';
import type { Transport } from '../commands/transport.ts';
import type { JobHandler } from '../storage/index.ts';
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

/** Delivers a reply: ephemeral to the user, or in the channel; fixable Slack errors become an ephemeral hint. */
export async function deliver(
  deps: Pick<CommandJobDeps, 'transport' | 'logger' | 'fetch'>,
  p: Pick<CommandJobPayload, 'user' | 'channel' | 'responseUrl'>,
  message: Message,
): Promise<void> {
  try {
    if (message.ephemeral) await deps.transport.postEphemeral({ channel: p.channel, user: p.user }, message);
    else await deps.transport.post({ channel: p.channel }, message);
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

/** Creates the job handler of chat commands. It never throws after posting, so a retry never posts twice. */
export function createCommandJobHandler(deps: CommandJobDeps): JobHandler<CommandJobPayload> {
  return {
    payload: CommandJobPayloadSchema,
    async run(p) {
      const parsed = parseCommand(p.text);
      if (!parsed.ok) {
        await deliver(deps, p, usageMessage(parsed.error));
        return { ok: false };
      }
      try {
        const reply = await dispatch(
          parsed.command,
          { user: p.user, channel: p.channel, idempotencyKey: p.key },
          deps.dispatch(),
        );
        if (reply.watchRun) {
          try {
            await deps.reporter.attach(reply.watchRun.runId, p.channel, reply.message);
          } catch (err) {
            const hint = err instanceof SlackPostError ? err.hint : undefined;
            deps.logger.warn({ err, runId: reply.watchRun.runId }, 'could not post the run parent');
            await deliver(
              deps,
              p,
              notice(
                'Run started, but Arbiter could not post here',
                `${hint ?? 'Posting to this channel failed.'} Run ${reply.watchRun.runId} continues; see it with \`runs show ${reply.watchRun.runId}\`.`,
              ),
            );
          }
          return { runId: reply.watchRun.runId };
        }
        await deliver(deps, p, reply.message);
        return { ok: true };
      } catch (err) {
        const ref = deps.ids.newId('err');
        logFailure(
          deps.logger,
          err,
          { ref, command: parsed.command.name },
          `command failed (reference ${ref})`,
        );
        await deliver(deps, p, errorMessage(err, ref));
        return { ok: false, ref };
      }
    },
  };
}
