import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { composeApp, loadAppConfig, openAppCore } from '../app/index.ts';
import type { AuditLog } from '../audit/index.ts';
import type { ActionHandler, Transport } from '../chat/index.ts';
import {
  createLogger,
  type Env,
  type Logger,
  type LogSink,
  type ReportLinks,
  systemClock,
  systemIds,
} from '../config/index.ts';
import { type LlmService, PROVIDER_NAMES, PROVIDERS, type ProviderSpec } from '../llm/index.ts';
import type { ReviewService } from '../reviews/index.ts';
import type { RunService } from '../runs/index.ts';
import type { DocumentStore, JobHandler, JobQueue, Leases, Worker } from '../storage/index.ts';
import { ACTION_JOB_TYPE, createActionJobHandler } from './action-jobs.ts';
import { createAdminNotifier } from './admin-notices.ts';
import { COMMAND_JOB_TYPE, createCommandJobHandler } from './command-jobs.ts';
import { type ClickOutcome, createConsoleClicker } from './console-prompt.ts';
import { type ConsoleTransport, createConsoleTransport, isConsoleTransport } from './console-transport.ts';
import { createHttpApp } from './http.ts';
import {
  createOutbox,
  createOutboxTransport,
  type Outbox,
  outboxAdminSender,
  reportDeliveryFailures,
} from './outbox.ts';
import { createRunReporter, type RunReporter } from './run-reporter.ts';
import { createSlackApp, type SlackFrontDoor } from './slack-app.ts';
import {
  configChannelRefs,
  createChannelDirectory,
  resolveChannelRefs,
  resolvedChannel,
} from './slack-channels.ts';
import { createAdminAlerts } from './slack-errors.ts';
import { createChannelAccess } from './slack-membership.ts';
import { createOutboxReplies, createResponseUrlBudget, createSlackReplies } from './slack-reply.ts';
import { createRoleResolver } from './slack-roles.ts';
import { createScopeAlerts, watchClientScopes } from './slack-scopes.ts';
import { createSlackReader } from './slack-reader.ts';
import {
  classifySlackError,
  createSlackClient,
  createSlackTransport,
  POST_PACE,
  UPDATE_PACE,
} from './slack-transport.ts';

/** Version reported by /healthz and the start-up line. */
export const VERSION = '0.1.0';

/** Which transport is in use. */
export function describeTransport(env: Env): string {
  if (env.SLACK_APP_TOKEN && env.SLACK_BOT_TOKEN) return `slack (Socket Mode; command ${env.SLACK_COMMAND})`;
  if (env.SLACK_BOT_TOKEN) return `slack (HTTP: POST /slack/events; command ${env.SLACK_COMMAND})`;
  return 'console (no SLACK_BOT_TOKEN)';
}

/** Which LLM providers are usable and which model judges by default. */
export function describeProviders(env: Env, llm: LlmService): string {
  // The registry says which variable holds each provider's key, so a new provider shows up here by itself.
  const keyed = PROVIDER_NAMES.filter((name) => {
    const keyVar = (PROVIDERS[name] as ProviderSpec).keyVar;
    return keyVar !== undefined && Boolean(env[keyVar]);
  });
  if (keyed.length === 0) return `offline (no LLM key; heuristic scores) | judge: ${llm.judgeModel}`;
  return `${keyed.join(', ')} | judge: ${llm.judgeModel}`;
}

/** A running bot process. */
export interface RunningBot {
  url: string;
  port: number;
  store: DocumentStore;
  llm: LlmService;
  transport: Transport;
  queue: JobQueue;
  leases: Leases;
  worker: Worker;
  logger: Logger;
  runs: RunService;
  reporter: RunReporter;
  /** The delivery loop every channel write goes through. */
  outbox: Outbox;
  slack: SlackFrontDoor | undefined;
  /** Runs a chat command as the console user would (the console prompt; tests). */
  submitCommand(text: string, options?: { user?: string; channel?: string }): Promise<{ jobId: string }>;
  reviews: ReviewService;
  /** The audit trail (who launched, cancelled, voted, paused, … what); the report pages list it per object. */
  audit: AuditLog;
  /** Signs links to the report pages (tests, `--link`). */
  links: ReportLinks;
  /** Console mode: clicks the button numbered `n` on screen (the console prompt's `click <n>`). */
  clickButton?: (n: number) => Promise<ClickOutcome>;
  /** Console mode: the console transport (the prompt redirects its printing to redraw the typed line). */
  console?: ConsoleTransport;
  /** Graceful stop: HTTP closed, jobs finished or released, store closed. */
  stop(): Promise<void>;
}

/** Options for tests and embedding. */
export interface StartOptions {
  logSink?: LogSink;
  /** Replaces the transport chosen from the environment (tests). */
  transport?: Transport;
  /** How long prompt events gather before one alert is posted (default 10 s; tests shorten it). */
  promptSettleMs?: number;
  // biome-ignore lint/suspicious/noExplicitAny: handlers of different payload types share one registry
  handlers?: Record<string, JobHandler<any>>;
  /** Raw environment for `${ENV:NAME}` header values of http targets (npm start passes process.env). */
  environment?: Record<string, string | undefined>;
  /** Minimum time between progress edits of a chat-launched run (default 3000 ms). */
  progressEditMs?: number;
  /** Retries of Slack Web API calls after 429/5xx (default 4). */
  slackRetries?: number;
  /** More button handlers, after the built-in ones (tests, embedding). */
  actions?: readonly ActionHandler[];
}

/** Starts the bot: store, job worker and HTTP server; logs one line saying what it runs on. */
export async function startBot(env: Env, options: StartOptions = {}): Promise<RunningBot> {
  const startedAt = systemClock.now();
  const logger = createLogger(env, options.logSink);
  // Checked before anything is opened: the LLM configuration, and monitor and digest YAML (file:line:field, exit 2).
  const config = loadAppConfig(env, logger);
  let localBase = `http://127.0.0.1:${env.PORT}`;
  const core = await openAppCore(env, { logger, localBase: () => localBase });
  const { store, llm, queue } = core;
  let roleResolver: ReturnType<typeof createRoleResolver> | undefined;
  let worker: Worker | undefined;
  let outbox: Outbox | undefined;
  let schedules: { stop(): Promise<void> } | undefined;
  try {
    const slackClient = env.SLACK_BOT_TOKEN
      ? createSlackClient({
          token: env.SLACK_BOT_TOKEN,
          apiUrl: env.SLACK_API_URL,
          ...(options.slackRetries !== undefined ? { retries: options.slackRetries } : {}),
        })
      : undefined;
    // `#names` in YAML and the environment become channel ids once, here: conversations.* and file uploads take ids
    // only. A name that matches no channel stops start-up (exit 2) naming its file and field. Without Slack (the
    // console) names stay as they are.
    const channelIds = slackClient
      ? await resolveChannelRefs(
          createChannelDirectory(slackClient),
          configChannelRefs({
            monitors: config.monitors,
            digests: config.digests,
            promptAlertsChannel: env.PROMPT_ALERTS_CHANNEL,
            promptAlertsRules: config.promptAlertRules,
          }),
        )
      : new Map<string, string>();
    const channel = (value: string) => resolvedChannel(channelIds, value);
    // The outbox sends with a client of its own that never waits inside a call: a 429 or a 5xx comes back to the
    // delivery loop, which reschedules that delivery (Retry-After) while other channels go on.
    const outboxClient = env.SLACK_BOT_TOKEN
      ? createSlackClient({
          token: env.SLACK_BOT_TOKEN,
          apiUrl: env.SLACK_API_URL,
          retries: 0,
          rejectRateLimitedCalls: true,
        })
      : undefined;
    const sender =
      options.transport ??
      (outboxClient
        ? createSlackTransport(outboxClient, logger)
        : createConsoleTransport({ color: Boolean(process.stdout.isTTY) }));
    const slackPaced = sender.name === 'slack';
    outbox = await createOutbox({
      store,
      transport: sender,
      logger,
      ...(slackPaced
        ? { classify: classifySlackError, perChannel: POST_PACE, perOp: { update: UPDATE_PACE } }
        : {}),
      // The embedded store has one process (arbiter.lock): whatever was 'sending' belonged to a dead one.
      recoverAllAtStart: store.kind === 'embedded',
    });
    const deliveries = outbox;
    // Every channel write of every feature goes through the outbox (durable, paced, retried).
    const transport = createOutboxTransport(deliveries, sender);
    // The console has no Slack identities: whoever types at the terminal owns the process and is trusted.
    // User-group ids (S…) in ARBITER_ADMINS/ARBITER_REVIEWERS are expanded and re-read every 10 minutes.
    roleResolver = slackClient
      ? createRoleResolver({
          admins: env.ARBITER_ADMINS,
          reviewers: env.ARBITER_REVIEWERS,
          client: slackClient,
          logger,
        })
      : undefined;
    const roles = roleResolver?.policy ?? { admins: [], reviewers: [] };
    const adminIds = () => roles.admins.filter((id) => id.startsWith('U') || id.startsWith('W'));
    // Problems only an admin can fix (Slack codes, missing scopes, deliveries failing where nobody asked) are told to
    // the admins once per problem by one notifier, kept in the store across restarts. Admins are read when told.
    const adminNotifier = await createAdminNotifier({
      store,
      admins: adminIds,
      send: outboxAdminSender(deliveries),
      logger,
    });
    // Answers for one user go by response_url (its uses counted in the store), then ephemeral, then DM; commands
    // that post in their conversation check first that the bot can.
    const adminAlerts = createAdminAlerts(logger, adminNotifier);
    // Each answer is a delivery of the outbox's reply lane (durable, ahead of bulk posting), sent by these routes.
    const replies = slackClient
      ? createOutboxReplies(
          deliveries,
          createSlackReplies({
            client: slackClient,
            budget: await createResponseUrlBudget(store),
            logger,
            alerts: adminAlerts,
          }),
        )
      : undefined;
    const channelAccess = slackClient
      ? createChannelAccess({ client: slackClient, logger, alerts: adminAlerts })
      : undefined;
    reportDeliveryFailures({ outbox: deliveries, admins: adminIds, logger, notifier: adminNotifier });
    // A missing_scope answer from any Slack call is sent once to the admins with the scope to add (and logged).
    const scopeAlerts = slackClient ? createScopeAlerts({ notifier: adminNotifier, logger }) : undefined;
    if (slackClient && scopeAlerts) watchClientScopes(slackClient, scopeAlerts);
    if (outboxClient && scopeAlerts) watchClientScopes(outboxClient, scopeAlerts);
    if (slackClient && env.ARBITER_ADMINS.length === 0)
      logger.warn(
        'ARBITER_ADMINS is empty: every Slack user of this workspace may launch runs. Set it to restrict launching.',
      );
    // Runs launched from chat keep their parent message up to date and get their report in its thread.
    const reporter = await createRunReporter({
      store,
      outbox: deliveries,
      runs: core.runReader,
      logger,
      reportUrl: core.reportUrl,
      ...(options.progressEditMs !== undefined ? { intervalMs: options.progressEditMs } : {}),
    });
    await roleResolver?.start();
    // The slack source reads channels through the outbox's client: it never sleeps inside a call, so the source's own
    // Retry-After waits (on the one Clock) and its retry limit stay in charge; missing_scope answers reach scopeAlerts.
    const monitorSlack = outboxClient ? createSlackReader(outboxClient) : undefined;
    const app = await composeApp(core, config, {
      transport,
      roles,
      channel,
      ...(channelAccess ? { channelAccess } : {}),
      ...(monitorSlack ? { monitorSlack } : {}),
      environment: options.environment ?? {},
      ...(options.promptSettleMs !== undefined ? { promptSettleMs: options.promptSettleMs } : {}),
      ...(options.actions ? { actions: options.actions } : {}),
      hooks: {
        onRunProgress: [(runId: string) => reporter.progress(runId)],
        // Only runs launched from chat have a parent message; finish() is a no-op for the others.
        onRunFinished: [{ name: 'run report', run: (runId: string) => reporter.finish(runId) }],
      },
    });
    const { runs, reviews } = app;
    const slack = slackClient
      ? createSlackApp({
          env,
          roles,
          queue,
          limits: { maxQueued: env.SLACK_QUEUE_MAX, maxPerUser: env.SLACK_QUEUE_MAX_PER_USER },
          onEnqueued: app.jobEnqueued,
          client: slackClient,
          runs: () => runs,
          ids: systemIds,
          logger,
          actions: () => app.actionHandlers,
          transport,
          ...(replies ? { replies } : {}),
          home: app.home,
        })
      : undefined;
    const runningWorker = app.createWorker({
      ...(slack?.handlers ?? {}),
      [ACTION_JOB_TYPE]: createActionJobHandler({
        transport,
        actions: () => app.actionHandlers,
        ids: systemIds,
        logger,
        ...(replies ? { replies } : {}),
      }),
      [COMMAND_JOB_TYPE]: createCommandJobHandler({
        transport,
        dispatch: () => app.dispatchDeps,
        reporter,
        ids: systemIds,
        logger,
        ...(replies ? { replies } : {}),
      }),
      ...(options.handlers ?? {}),
    });
    worker = runningWorker;
    const http = createHttpApp({
      store,
      worker: runningWorker,
      queue,
      startedAt,
      version: VERSION,
      langfuseWebhookSecret: env.LANGFUSE_WEBHOOK_SECRET,
      logger,
      slackEvents: slack?.handle,
      maxBodyBytes: env.HTTP_MAX_BODY_BYTES,
      reports: app.reportRoutes,
    });
    const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
      const s = serve({ fetch: http.fetch, port: env.PORT, hostname: env.HOST }, () => resolve(s));
      s.once('error', reject);
    });
    const port = (server.address() as AddressInfo).port;
    const host = env.HOST === '0.0.0.0' || env.HOST === '::' ? '127.0.0.1' : env.HOST;
    const url = `http://${host}:${port}`;
    localBase = url;
    deliveries.start();
    runningWorker.start();
    await slack?.start();
    // Runs that ended while their report was not recorded (a crash in between) are reported now.
    await reporter
      .recover()
      .catch((err: unknown) => logger.warn({ err }, 'could not re-check unreported runs'));
    const runningSchedules = await app.startSchedules();
    schedules = runningSchedules;
    logger.info(
      `Arbiter ${VERSION} listening on ${url} | store: ${store.description} | transport: ${describeTransport(env)} | providers: ${describeProviders(env, llm)} | worker: ${env.WORKER_CONCURRENCY} concurrent | monitors: ${app.monitors.length} | digests: ${app.digestSpecs.length}`,
    );
    let stopping: Promise<void> | undefined;
    return {
      url,
      port,
      store,
      llm,
      transport,
      queue,
      leases: core.leases,
      worker: runningWorker,
      logger,
      runs,
      reviews,
      audit: core.audit,
      links: core.links,
      reporter,
      outbox: deliveries,
      slack,
      ...(isConsoleTransport(sender)
        ? {
            console: sender,
            clickButton: createConsoleClicker({
              transport: sender,
              queue,
              actions: () => app.actionHandlers,
              roles,
              ids: systemIds,
              onEnqueued: app.jobEnqueued,
            }),
          }
        : {}),
      async submitCommand(text, opts = {}) {
        const key = `console:${systemIds.newId('cmd')}`;
        const { job } = await queue.enqueue({
          type: COMMAND_JOB_TYPE,
          payload: {
            text,
            user: opts.user ?? 'console',
            channel: opts.channel ?? '#console',
            key,
            via: 'console',
          },
          idempotencyKey: key,
        });
        app.jobEnqueued();
        return { jobId: job._id };
      },
      stop() {
        stopping ??= (async () => {
          logger.info('shutting down: no new work; finishing running jobs');
          await new Promise<void>((resolve) => server.close(() => resolve()));
          await runningSchedules.stop();
          await slack?.stop();
          roleResolver?.stop();
          await runningWorker.stop(env.SHUTDOWN_GRACE);
          // Deliveries in flight finish; those still pending stay in the store for the next start.
          await deliveries.stop();
          // Batched cache writes and spans are flushed, then the store closes.
          await core.close();
          logger.info('stopped cleanly');
        })();
        return stopping;
      },
    };
  } catch (err) {
    await schedules?.stop();
    await worker?.stop(0);
    await outbox?.stop();
    roleResolver?.stop();
    await core.close();
    throw err;
  }
}
