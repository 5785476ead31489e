// The job that runs a button click (Slack block action or console `click <n>`) off the request path: find the
// handler by action id, call it, then deliver its ActionResult with the transport (replace the clicked message,
// reply in its thread, or tell the clicking user only). Both front doors share checkAction and this job.
import { z } from 'zod';
import { type Ids, type Logger, logFailure } from '../config/index.ts';
import { type ActionHandler, type ActionResult, deliverLater, findActionHandler } from '../chat/index.ts';
import { errorMessage, notice } from '../commands/index.ts';
import type { Message } from '../chat/index.ts';
import { hasRole, type Role, type RolePolicy } from '../chat/index.ts';
import type { Transport } from '../chat/index.ts';
import type { JobContext, JobHandler, JobQueue } from '../storage/index.ts';
import { notPostedNote } from './command-jobs.ts';
import { transportReplies, type UserReplies } from './slack-reply.ts';
import { SlackPostError } from './slack-transport.ts';

/** Job type of a button click. */
export const ACTION_JOB_TYPE = 'chat.action';

/** Payload of a button click job. */
export const ActionJobPayloadSchema = z.object({
  actionId: z.string().min(1).max(255),
  value: z.string().max(2000),
  user: z.string().min(1),
  /** Channel of the clicked message (absent for App Home and modals). */
  channel: z.string().min(1).optional(),
  messageTs: z.string().min(1).optional(),
  threadTs: z.string().min(1).optional(),
  /** The clicked message was ephemeral: it can only be replaced through response_url. */
  ephemeralSource: z.boolean().optional(),
  responseUrl: z.string().url().optional(),
  /** The same for every delivery of one click; also the job's idempotency key. */
  key: z.string().min(1),
  /** When the user clicked, epoch ms (Slack's action_ts). */
  clickedAt: z.number().optional(),
  /** When the click reached us, epoch ms, by our clock (its response_url expires 30 minutes later). */
  receivedAt: z.number().optional(),
  /** Where the click came from (the audit trail records it); Slack when absent. */
  via: z.enum(['slack', 'console']).optional(),
});
export type ActionJobPayload = z.infer<typeof ActionJobPayloadSchema>;

const ROLE_VAR: Record<Role, string> = { admin: 'ARBITER_ADMINS', reviewer: 'ARBITER_REVIEWERS', reader: '' };

/** Shown when a click names no known handler (an old message, a removed feature). */
export const INACTIVE_BUTTON: Message = notice(
  'Button no longer active',
  'This button is no longer active. Run the command again for a fresh message.',
);

/** The idempotency key of a Slack click: one click redelivered keeps action_ts, user and action id. */
export function slackActionKey(actionTs: string, user: string, actionId: string): string {
  return `slack:action:${actionTs}:${user}:${actionId}`;
}

/**
 * Fast checks before a click is enqueued: an unknown button, or a user without the handler's role. Returns the
 * ephemeral answer, or undefined when the click must run (in a job).
 */
export function checkAction(
  handlers: readonly ActionHandler[],
  roles: RolePolicy,
  click: { actionId: string; user: string },
): Message | undefined {
  const handler = findActionHandler(handlers, click.actionId);
  if (!handler) return INACTIVE_BUTTON;
  if (!hasRole(roles, click.user, handler.role))
    return notice(
      'Not allowed',
      `This button needs the ${handler.role} role. Ask an admin to add your user id (${click.user}) to ${ROLE_VAR[handler.role]}.`,
    );
  return undefined;
}

/** Enqueues a click once per key; returns whether a job was created (false: a redelivery). */
export async function enqueueAction(queue: JobQueue, payload: ActionJobPayload): Promise<boolean> {
  const { created } = await queue.enqueue({ type: ACTION_JOB_TYPE, payload, idempotencyKey: payload.key });
  return created;
}

/** What the click job needs. */
export interface ActionJobDeps {
  transport: Transport;
  actions: () => readonly ActionHandler[];
  ids: Ids;
  logger: Logger;
  /** Replies to the clicking user alone; default: the transport's postEphemeral (the console). */
  replies?: UserReplies;
}

/** Where an answer to a click goes: the clicker, in the conversation and thread of the clicked message. */
export function clickReplyTo(p: ActionJobPayload) {
  return {
    user: p.user,
    channel: p.channel,
    threadTs: p.threadTs,
    responseUrl: p.responseUrl,
    issuedAt: p.receivedAt !== undefined ? new Date(p.receivedAt) : undefined,
  };
}

/** Tells the clicking user only (response_url, then ephemeral in the click's thread, then DM). */
async function tell(deps: ActionJobDeps, p: ActionJobPayload, message: Message): Promise<void> {
  const replies = deps.replies ?? transportReplies(deps.transport);
  const route = await replies.tell(clickReplyTo(p), { ...message, ephemeral: true });
  if (route === 'none')
    deps.logger.warn({ actionId: p.actionId, user: p.user }, 'click answer reached no one');
}

/** The journal of a click job's effects; outside the worker (tests, the console) every effect simply runs. */
type Journal = Pick<JobContext, 'once'>;
const NO_JOURNAL: Journal = {
  async once(_name, fn) {
    await fn({ uncertain: false });
    return 'done';
  },
};

async function deliverResult(
  deps: ActionJobDeps,
  p: ActionJobPayload,
  result: ActionResult,
  journal: Journal,
): Promise<void> {
  // An update sets the clicked message to its new content: doing it again after a crash changes nothing, so it
  // needs no journal. A reply and an ephemeral would appear twice: each is one journaled effect.
  if (result.update) {
    const update = result.update;
    if (p.channel && p.messageTs && !p.ephemeralSource)
      // Recorded, not waited for: the clicker's answer never waits behind the clicked message's busy channel.
      await deliverLater(deps.transport, [
        {
          key: `click:${p.key}:update`,
          op: 'update',
          channel: p.channel,
          ts: p.messageTs,
          message: update,
          lane: 'reply',
          requester: p.user,
        },
      ]);
    else {
      // An ephemeral can only be replaced through its response_url (chat.update cannot reach it). Where nothing can
      // be replaced (App Home, a used-up response_url), the clicking user is shown the new content instead.
      const replaced =
        p.ephemeralSource && p.responseUrl && deps.replies
          ? await deps.replies.replaceOriginal({ ...clickReplyTo(p), responseUrl: p.responseUrl }, update)
          : false;
      if (!replaced) await journal.once('update', () => tell(deps, p, update));
    }
  }
  const reply = result.reply;
  if (reply) {
    await journal.once('reply', async ({ uncertain }) => {
      if (p.channel) {
        const threadTs = p.threadTs ?? (p.ephemeralSource ? undefined : p.messageTs);
        const target = { channel: p.channel, ...(threadTs ? { threadTs } : {}) };
        if (uncertain && deps.transport.findPosted) {
          const found = await deps.transport
            .findPosted(target, p.key, new Date(Date.now() - 60 * 60_000))
            .catch(() => undefined);
          if (found) return;
        }
        try {
          await deps.transport.post(target, reply, { key: p.key, lane: 'reply', requester: p.user });
        } catch (err) {
          // The thread cannot take it (the bot left, the channel was archived): the clicker still sees it.
          if (!(err instanceof SlackPostError)) throw err;
          deps.logger.warn(
            { err, channel: p.channel },
            'click reply could not be posted; telling the clicker',
          );
          await tell(deps, p, {
            ...reply,
            sections: [
              ...reply.sections,
              { kind: 'context', items: [notPostedNote(p.channel, err.slackCode)] },
            ],
          });
        }
      } else await tell(deps, p, reply);
    });
  }
  const ephemeral = result.ephemeral;
  if (ephemeral) await journal.once('ephemeral', () => tell(deps, p, ephemeral));
}

/**
 * Creates the job handler of clicks. It never throws, and what it posts is journaled (JobContext.once), so a job
 * run again after a crash does not post twice.
 */
export function createActionJobHandler(deps: ActionJobDeps): JobHandler<ActionJobPayload> {
  return {
    payload: ActionJobPayloadSchema,
    async run(p, ctx?: Journal) {
      const journal = ctx ?? NO_JOURNAL;
      const handler = findActionHandler(deps.actions(), p.actionId);
      if (!handler) {
        await journal.once('reply', () => tell(deps, p, INACTIVE_BUTTON)).catch(() => {});
        return { ok: false, reason: 'unknown action' };
      }
      let result: ActionResult;
      try {
        result = await handler.handle(
          { actionId: p.actionId, value: p.value },
          {
            user: p.user,
            key: p.key,
            ...(p.clickedAt !== undefined ? { clickedAt: p.clickedAt } : {}),
            ...(p.channel ? { channel: p.channel } : {}),
            ...(p.messageTs ? { messageTs: p.messageTs } : {}),
            ...(p.threadTs ? { threadTs: p.threadTs } : {}),
            ...(p.via ? { via: p.via } : {}),
          },
        );
      } catch (err) {
        const ref = deps.ids.newId('err');
        logFailure(deps.logger, err, { ref, actionId: p.actionId }, `action failed (reference ${ref})`);
        await journal
          .once('error', () => tell(deps, p, errorMessage(err, ref)))
          .catch((e: unknown) => deps.logger.warn({ err: e, ref }, 'could not deliver the action error'));
        return { ok: false, ref };
      }
      try {
        await deliverResult(deps, p, result, journal);
        return { ok: true };
      } catch (err) {
        // The handler's work is done (and idempotent on the key); a delivery failure must not run it again.
        const ref = deps.ids.newId('err');
        deps.logger.error(
          { err, ref, actionId: p.actionId },
          `action result delivery failed (reference ${ref})`,
        );
        await journal.once('error', () => tell(deps, p, errorMessage(err, ref))).catch(() => {});
        return { ok: false, ref };
      }
    },
  };
}
