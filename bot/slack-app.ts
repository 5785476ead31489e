// The Slack front door: a Bolt app whose listeners only ack, authorize and enqueue jobs. HTTP mode takes requests
// through our hono app (SlackHttpReceiver); Socket Mode (SLACK_APP_TOKEN) uses Bolt's Socket Mode receiver, built
// here so it honours SLACK_API_URL. Button clicks become `chat.action` jobs (bot/action-jobs.ts).
import { createRequire } from 'node:module';
import type * as Bolt from '@slack/bolt';
import type { App } from '@slack/bolt';
import { z } from 'zod';
import type { Env, Ids, Logger } from '../config/index.ts';
import type { ActionHandler } from '../chat/index.ts';
import { precheck, usageMessage } from '../commands/index.ts';
import type { Message } from '../chat/index.ts';
import { hasRole, OPEN_REPORT_ACTION_ID, type RolePolicy } from '../chat/index.ts';
import { parseCommand } from '../commands/index.ts';
import type { Transport } from '../chat/index.ts';
import type { RunService } from '../runs/index.ts';
import { isArbiterError, type Clock, systemClock } from '../config/index.ts';
import type { EnqueueInput, JobHandler, JobQueue } from '../storage/index.ts';
import {
  ACTION_JOB_TYPE,
  type ActionJobPayload,
  checkAction,
  clickReplyTo,
  createActionJobHandler,
  slackActionKey,
} from './action-jobs.ts';
import { buildHomeView, type HomeData, loadHomeSnapshot } from './app-home.ts';
import { COMMAND_JOB_TYPE, type CommandJobPayload } from './command-jobs.ts';
import { renderBlocks } from './render-blocks.ts';
import {
  busyMessage,
  cannotAcceptMessage,
  createIntakeGauge,
  type IntakeGauge,
  type IntakeLimits,
  slackUserGroup,
} from './slack-intake.ts';
import { createMembershipCache, type MembershipCache } from './slack-channels.ts';
import { SlackHttpReceiver } from './slack-receiver.ts';
import { createMemoryResponseUrlBudget, createSlackReplies, type UserReplies } from './slack-reply.ts';
import { createSlackTransport, type SlackClient, slackApiBaseUrl } from './slack-transport.ts';

/** Job type that publishes a user's App Home tab. */
export const HOME_JOB_TYPE = 'chat.home';

/** What the Slack app needs. */
export interface SlackAppDeps {
  env: Pick<
    Env,
    'SLACK_BOT_TOKEN' | 'SLACK_SIGNING_SECRET' | 'SLACK_APP_TOKEN' | 'SLACK_API_URL' | 'SLACK_COMMAND'
  >;
  /** Read on every request: a live policy (createRoleResolver) sees user-group changes without a restart. */
  roles: RolePolicy;
  /** Button handlers (review votes, prompt alerts); read on every click. Default: none. */
  actions?: () => readonly ActionHandler[];
  queue: JobQueue;
  /** Caps on interactive jobs queued or running (SLACK_QUEUE_MAX, SLACK_QUEUE_MAX_PER_USER); default: those defaults. */
  limits?: IntakeLimits;
  /** How long a listener waits for the store to record a job before it answers "cannot accept" (default 2000 ms). */
  enqueueTimeoutMs?: number;
  /** Wakes the worker after an enqueue. */
  onEnqueued: () => void;
  client: SlackClient;
  /** Delivers click answers; default: a Slack transport over `client` (pass the bot's transport to share it). */
  transport?: Transport;
  /**
   * Replies to the user alone (response_url, ephemeral, DM); default: one over `client` whose response_url budget
   * lives in memory (the bot passes one that keeps it in the store).
   */
  replies?: UserReplies;
  runs: () => RunService;
  /** What the App Home tab shows; without it, recent runs only. */
  home?: HomeData;
  /** Which channels a user is in (App Home shows non-admins only those); default: users.conversations, cached. */
  memberships?: MembershipCache;
  ids: Ids;
  logger: Logger;
  clock?: Pick<Clock, 'now'>;
}

/** The running Slack front door. */
export interface SlackFrontDoor {
  mode: 'http' | 'socket';
  app: App;
  /** POST /slack/events handler (HTTP mode only). */
  handle?: (req: Request) => Promise<Response>;
  /** The intake caps' gauge (tests, benchmarks). */
  intake: IntakeGauge;
  /** Job handlers the worker must run. */
  // biome-ignore lint/suspicious/noExplicitAny: handlers of different payload types share one registry
  handlers: Record<string, JobHandler<any>>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** An ack body showing a Message to the requesting user only. */
export function ephemeralAck(message: Message) {
  const r = renderBlocks({ ...message, ephemeral: true });
  return { response_type: 'ephemeral' as const, text: r.text, blocks: r.blocks };
}

const HomePayloadSchema = z.object({ user: z.string().min(1) });

/** The parts of a Slack `block_actions` payload a click needs (Slack sends more; it passes through). */
export const BlockActionsBodySchema = z.looseObject({
  type: z.literal('block_actions'),
  user: z.looseObject({ id: z.string().min(1) }),
  channel: z.looseObject({ id: z.string().min(1) }).optional(),
  container: z
    .looseObject({
      type: z.string(),
      message_ts: z.string().optional(),
      channel_id: z.string().optional(),
      thread_ts: z.string().optional(),
      is_ephemeral: z.boolean().optional(),
    })
    .optional(),
  message: z.looseObject({ ts: z.string(), thread_ts: z.string().optional() }).optional(),
  response_url: z.string().url().optional(),
  actions: z
    .array(
      z.looseObject({
        action_id: z.string().min(1).max(255),
        action_ts: z.string().min(1),
        value: z.string().max(2000).optional(),
        selected_option: z.looseObject({ value: z.string() }).optional(),
      }),
    )
    .min(1),
});

/** Turns a block_actions payload into the click job's payload (the first action: Slack sends one per click). */
export function clickFromBlockActions(body: z.infer<typeof BlockActionsBodySchema>): ActionJobPayload {
  const action = body.actions[0]!;
  const channel = body.channel?.id ?? body.container?.channel_id;
  const messageTs = body.message?.ts ?? body.container?.message_ts;
  const threadTs = body.message?.thread_ts ?? body.container?.thread_ts;
  const user = body.user.id;
  return {
    actionId: action.action_id,
    value: action.value ?? action.selected_option?.value ?? '',
    user,
    key: slackActionKey(action.action_ts, user, action.action_id),
    ...(Number.isFinite(Number(action.action_ts))
      ? { clickedAt: Math.round(Number(action.action_ts) * 1000) }
      : {}),
    ...(channel ? { channel } : {}),
    ...(messageTs ? { messageTs } : {}),
    ...(threadTs && threadTs !== messageTs ? { threadTs } : {}),
    ...(body.container?.is_ephemeral ? { ephemeralSource: true } : {}),
    ...(body.response_url ? { responseUrl: body.response_url } : {}),
  };
}

/**
 * Remembers recent ids so a redelivered event runs its listener once (Socket Mode redelivers with retry 0).
 * `forget` takes an id back: an event whose enqueue failed must let Slack's retry through.
 */
export function createSeenSet(max = 5000) {
  const seen = new Set<string>();
  const check = (id: string): boolean => {
    if (seen.has(id)) return true;
    seen.add(id);
    if (seen.size > max) seen.delete(seen.values().next().value as string);
    return false;
  };
  return Object.assign(check, { forget: (id: string) => void seen.delete(id) });
}

/** Default caps of the intake (the defaults of SLACK_QUEUE_MAX and SLACK_QUEUE_MAX_PER_USER). */
export const DEFAULT_INTAKE_LIMITS: IntakeLimits = { maxQueued: 1000, maxPerUser: 20 };

/** Thrown when the store took longer than the listener may wait (Slack's 3 s clock). */
class EnqueueTimeout extends Error {}

/** What a user may read of why the store refused a job: our own message, never a driver's stack. */
function refusalReason(err: unknown, timeoutMs: number): string {
  if (err instanceof EnqueueTimeout) return `the store did not answer within ${timeoutMs} ms`;
  if (isArbiterError(err)) return err.message.replace(/\.$/, '');
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC') return 'the disk of the data folder is full';
  if (code === 'EROFS') return 'the data folder is read-only';
  if (code === 'EACCES' || code === 'EPERM') return 'the data folder is not writable';
  return code ? `the store failed (${code})` : 'the store failed';
}

/** Creates the Bolt app and its listeners. */
export function createSlackApp(deps: SlackAppDeps): SlackFrontDoor {
  const { env, logger } = deps;
  const token = env.SLACK_BOT_TOKEN ?? '';
  const socket = Boolean(env.SLACK_APP_TOKEN);
  const receiver = socket
    ? undefined
    : new SlackHttpReceiver({
        signingSecret: env.SLACK_SIGNING_SECRET ?? '',
        logger,
        ...(deps.clock ? { clock: deps.clock } : {}),
      });
  const apiUrl = slackApiBaseUrl(env.SLACK_API_URL);
  // Bolt (Express, Socket Mode, undici) is required here, when a Slack front door is built, not when the bot starts.
  const { App, LogLevel, SocketModeReceiver } = createRequire(import.meta.url)('@slack/bolt') as typeof Bolt;
  // Bolt's own socketMode: true builds a SocketModeReceiver without our clientOptions, so apps.connections.open
  // would ignore SLACK_API_URL; build it here with the same Web API base URL.
  const socketReceiver = socket
    ? new SocketModeReceiver({
        appToken: env.SLACK_APP_TOKEN ?? '',
        logLevel: LogLevel.WARN,
        installerOptions: { clientOptions: apiUrl ? { slackApiUrl: apiUrl } : {} },
      })
    : undefined;
  const app = new App({
    // A fixed authorize with no bot id means Bolt never calls auth.test, at start or per request.
    authorize: async () => ({ botToken: token }),
    receiver: (receiver ?? socketReceiver)!,
    clientOptions: apiUrl ? { slackApiUrl: apiUrl } : {},
    logLevel: LogLevel.WARN,
    // No listener reads Bolt's conversation context; its store would run on every request.
    convoStore: false,
  });
  const transport = deps.transport ?? createSlackTransport(deps.client, logger);
  const replies =
    deps.replies ??
    createSlackReplies({ client: deps.client, budget: createMemoryResponseUrlBudget(), logger });
  const memberships = deps.memberships ?? createMembershipCache(deps.client, { logger });
  const actions = deps.actions ?? (() => []);
  const timeoutMs = deps.enqueueTimeoutMs ?? 2000;
  const intake = createIntakeGauge({
    queue: deps.queue,
    types: [COMMAND_JOB_TYPE, ACTION_JOB_TYPE],
    ...(deps.limits ?? DEFAULT_INTAKE_LIMITS),
    onRefreshError: (err) =>
      logger.warn({ err }, 'could not count the Slack backlog; keeping the last count'),
  });

  /**
   * Records a job before the request is acknowledged: Slack never retries a command or a click it got a 200 for,
   * so an ack given before the write is a promise a crash breaks. Waits at most `timeoutMs` (Slack gives up at
   * 3 s); a write that lands after that is cancelled, since the user was told nothing was recorded.
   */
  const record = async (input: EnqueueInput): Promise<{ created: boolean }> => {
    let timer: NodeJS.Timeout | undefined;
    let late = false;
    const write = deps.queue.enqueue(input);
    try {
      return await Promise.race([
        write,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            late = true;
            reject(new EnqueueTimeout());
          }, timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      if (late)
        void write.then(
          ({ job, created }) => {
            if (created) void deps.queue.cancel(job._id).catch(() => undefined);
          },
          () => undefined,
        );
    }
  };
  /** A request the store could not record: logged with a reference id the user is told. */
  const refusal = (what: string, err: unknown): Message => {
    const ref = deps.ids.newId('err');
    logger.error({ err, ref }, `${what} could not be recorded; refused (reference ${ref})`);
    return cannotAcceptMessage(refusalReason(err, timeoutMs), ref);
  };

  const seenEvent = createSeenSet();
  const seenClick = createSeenSet();
  app.use(async ({ body, next }) => {
    const eventId = (body as { event_id?: unknown }).event_id;
    if (typeof eventId === 'string' && seenEvent(eventId)) {
      logger.info({ eventId }, 'slack event redelivered; ignored');
      return;
    }
    try {
      await next();
    } catch (err) {
      // Seen only once handled: a listener that failed (its enqueue did) must let Slack's retry run it again.
      if (typeof eventId === 'string') seenEvent.forget(eventId);
      throw err;
    }
  });

  app.command(env.SLACK_COMMAND, async ({ command, ack }) => {
    const parsed = parseCommand(command.text);
    if (!parsed.ok) return ack(ephemeralAck(usageMessage(parsed.error, parsed.lines)));
    const early = precheck(parsed.command, command.user_id, deps.roles);
    if (early) return ack(ephemeralAck(early));
    const admission = intake.admit(command.user_id);
    if (!admission.ok) return ack(ephemeralAck(busyMessage(admission)));
    const key = `slack:cmd:${command.trigger_id}`;
    const payload: CommandJobPayload = {
      text: command.text,
      user: command.user_id,
      channel: command.channel_id,
      key,
      receivedAt: (deps.clock ?? systemClock).now().getTime(),
      ...(command.response_url ? { responseUrl: command.response_url } : {}),
    };
    let created: boolean;
    try {
      ({ created } = await record({
        type: COMMAND_JOB_TYPE,
        payload,
        idempotencyKey: key,
        group: slackUserGroup(command.user_id),
      }));
    } catch (err) {
      admission.settle(false);
      return ack(ephemeralAck(refusal('slash command', err)));
    }
    admission.settle(created);
    // Acked only now that the job is on disk; a redelivery of the same command finds it (idempotency key).
    await ack();
    if (created) deps.onEnqueued();
    else logger.info({ key }, 'slash command redelivered; not enqueued again');
  });

  app.event('app_home_opened', async ({ event, body }) => {
    if (event.tab !== 'home') return;
    const eventId = (body as { event_id?: string }).event_id ?? `${event.user}:${event.event_ts}`;
    const { created } = await deps.queue.enqueue({
      type: HOME_JOB_TYPE,
      payload: { user: event.user },
      idempotencyKey: `slack:home:${eventId}`,
    });
    if (created) deps.onEnqueued();
  });

  // Buttons: authorize, record one job per click (redeliveries share the key), then ack. Slack shows nothing of a
  // block_actions ack body, so refusals (role, busy, store) are told to the clicking user right after the ack.
  app.action(/.*/, async ({ ack, body }) => {
    const parsed = BlockActionsBodySchema.safeParse(body);
    if (!parsed.success) {
      await ack();
      logger.warn({ type: (body as { type?: unknown }).type }, 'slack action ignored: not a block action');
      return;
    }
    const click = {
      ...clickFromBlockActions(parsed.data),
      receivedAt: (deps.clock ?? systemClock).now().getTime(),
    };
    // The request is acked first; the reply path never throws for a delivery problem.
    const tellClicker = async (answer: Message) => {
      await replies.tell(clickReplyTo(click), { ...answer, ephemeral: true });
    };
    // An *Open report* link button: the browser opened the page; Slack still sends the click, which needs only an ack.
    if (click.actionId === OPEN_REPORT_ACTION_ID) {
      await ack();
      return;
    }
    const answer = checkAction(actions(), deps.roles, click);
    if (answer) {
      await ack();
      // A redelivered refused click is told once.
      if (!seenClick(click.key)) await tellClicker(answer);
      return;
    }
    const admission = intake.admit(click.user);
    if (!admission.ok) {
      await ack();
      await tellClicker(busyMessage(admission));
      return;
    }
    let created: boolean;
    try {
      ({ created } = await record({
        type: ACTION_JOB_TYPE,
        payload: click,
        idempotencyKey: click.key,
        group: slackUserGroup(click.user),
      }));
    } catch (err) {
      admission.settle(false);
      await ack();
      await tellClicker(refusal('slack action', err));
      return;
    }
    admission.settle(created);
    await ack();
    if (created) deps.onEnqueued();
    else logger.info({ key: click.key }, 'slack action redelivered; not enqueued again');
  });

  app.error(async (err) => {
    const ref = deps.ids.newId('err');
    logger.error({ err, ref }, `slack listener error (reference ${ref})`);
    // Rethrown so the receiver knows: an event whose listener failed is answered 500 and Slack retries it.
    throw err;
  });

  // biome-ignore lint/suspicious/noExplicitAny: handlers of different payload types share one registry
  const handlers: Record<string, JobHandler<any>> = {
    [HOME_JOB_TYPE]: {
      payload: HomePayloadSchema,
      async run(p: z.infer<typeof HomePayloadSchema>) {
        const data: HomeData = deps.home ?? { recentRuns: (limit) => deps.runs().listRuns({ limit }) };
        // Admins see everything; others what comes from channels they are in (or is theirs). If Slack cannot say
        // which channels that is, the tab shows only the user's own runs, never more.
        const admin = hasRole(deps.roles, p.user, 'admin');
        const channels = admin
          ? undefined
          : await memberships.channelsOf(p.user).catch((err: unknown) => {
              logger.warn({ err, user: p.user }, 'app home: could not read the channels of the user');
              return undefined;
            });
        const viewer = { user: p.user, admin, ...(channels ? { channels } : {}) };
        const snapshot = await loadHomeSnapshot(data, viewer, (part, err) =>
          logger.warn({ err, part }, 'app home part could not be loaded'),
        );
        await deps.client.views.publish({
          user_id: p.user,
          view: buildHomeView(snapshot, env.SLACK_COMMAND),
        });
        return { ok: true };
      },
    } satisfies JobHandler<z.infer<typeof HomePayloadSchema>>,
    [ACTION_JOB_TYPE]: createActionJobHandler({ transport, actions, ids: deps.ids, logger, replies }),
  };

  return {
    mode: socket ? 'socket' : 'http',
    app,
    ...(receiver ? { handle: receiver.handle } : {}),
    intake,
    handlers,
    async start() {
      // The backlog left by an earlier process counts against the caps from the first request on.
      await intake.refresh();
      if (socket) await app.start();
    },
    async stop() {
      if (socket) await app.stop();
    },
  };
}
