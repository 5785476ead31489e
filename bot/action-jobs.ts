// The job that runs a button click (Slack block action or console `click <n>`) off the request path: find the
// handler by action id, call it, then deliver its ActionResult with the transport (replace the clicked message,
// reply in its thread, or tell the clicking user only). Both front doors share checkAction and this job.
import { z } from 'zod';
import { type Ids, type Logger, logFailure } from '../config/index.ts';
import { type ActionHandler, type ActionResult, findActionHandler } from '../commands/actions.ts';
import { errorMessage, notice } from '../commands/dispatch.ts';
import type { Message } from '../commands/message.ts';
import { hasRole, type Role, type RolePolicy } from '../commands/parse.ts';
import type { Transport } from '../commands/transport.ts';
import type { JobContext, JobHandler, JobQueue } from '../storage/index.ts';
import { deliver } from './command-jobs.ts';
import { renderThread } from './render-blocks.ts';
import { respondEphemeral } from './slack-transport.ts';

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
  fetch?: typeof fetch;
}

/** Replaces an ephemeral message through its response_url (chat.update cannot reach ephemeral messages). */
async function replaceViaResponseUrl(responseUrl: string, message: Message, fetchFn: typeof fetch = fetch) {
  const [first] = renderThread({ ...message, ephemeral: true });
  if (!first) return;
  const res = await fetchFn(responseUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ replace_original: true, text: first.text, blocks: first.blocks }),
  });
  if (!res.ok) throw new Error(`response_url answered ${res.status}`);
}

/** Tells the clicking user only; with no channel (App Home, modals) only response_url can reach them. */
async function tell(deps: ActionJobDeps, p: ActionJobPayload, message: Message): Promise<void> {
  const ephemeral = { ...message, ephemeral: true };
  if (p.channel) {
    await deliver(
      deps,
      { user: p.user, channel: p.channel, ...(p.responseUrl ? { responseUrl: p.responseUrl } : {}) },
      ephemeral,
    );
    return;
  }
  if (p.responseUrl) await respondEphemeral(p.responseUrl, ephemeral, deps.fetch);
  else
    deps.logger.warn({ actionId: p.actionId, user: p.user }, 'click answer has nowhere to go (no channel)');
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
    if (p.ephemeralSource && p.responseUrl)
      await replaceViaResponseUrl(p.responseUrl, result.update, deps.fetch);
    else if (p.channel && p.messageTs && !p.ephemeralSource)
      await deps.transport.update({ channel: p.channel, ts: p.messageTs }, result.update, {
        lane: 'reply',
        requester: p.user,
      });
    // The clicked message cannot be replaced: show the new content to the clicking user instead.
    else await journal.once('update', () => tell(deps, p, result.update!));
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
        await deps.transport.post(target, reply, { key: p.key, lane: 'reply', requester: p.user });
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
