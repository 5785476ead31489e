import { type AuditLog, createAuditLog } from '../audit/index.ts';
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import {
  ArbiterError,
  createLogger,
  type Env,
  type Logger,
  type LogSink,
  type ReportLinks,
  systemClock,
  systemIds,
} from '../config/index.ts';
import { createDigestInputs } from '../commands/index.ts';
import { createReviewRunSource } from '../commands/index.ts';
import type { DispatchDeps } from '../commands/index.ts';
import type { Transport } from '../chat/index.ts';
import { announceLangfuseServer, langfuseFromEnv } from '../langfuse/index.ts';
import {
  checkLlmConfig,
  createLlm,
  type LangfuseTracing,
  langfuseTracingFromEnv,
  type LlmService,
  PROVIDER_NAMES,
  PROVIDERS,
  type ProviderSpec,
} from '../llm/index.ts';
import { createDigestPosts, type DigestScheduler, loadDigests, startDigests } from '../digests/index.ts';
import {
  createMonitorReviewActions,
  createMonitorStore,
  createTickLog,
  describeSchedule,
  loadMonitors,
  type MonitorDeps,
  type MonitorScheduler,
  startMonitors,
} from '../monitors/index.ts';
import {
  createChannelResolver,
  createProductionVersionLookup,
  createPromptActionHandler,
  openPromptActions,
  createPromptCache,
  createPromptEventHandlers,
  parsePromptAlertsMap,
} from '../prompts/index.ts';
import {
  createJobQueue,
  createLeases,
  createWorker,
  type DocumentStore,
  type JobHandler,
  type JobQueue,
  type Leases,
  openStore,
  type Retention,
  retentionRules,
  startRetention,
  type Worker,
} from '../storage/index.ts';
import { createReviewService, type ReviewService } from '../reviews/index.ts';
import {
  createLangfusePromptSource,
  createRunLauncher,
  createRunService,
  createSuiteWatcher,
  RUN_JOB_TYPE,
  type RunService,
} from '../runs/index.ts';
import type { ActionHandler } from '../chat/index.ts';
import { ACTION_JOB_TYPE, createActionJobHandler } from './action-jobs.ts';
import { COMMAND_JOB_TYPE, createCommandJobHandler } from './command-jobs.ts';
import { type ClickOutcome, createConsoleClicker } from './console-prompt.ts';
import { type ConsoleTransport, isConsoleTransport } from './console-transport.ts';
import { createRoleResolver } from './slack-roles.ts';
import { createConsoleTransport } from './console-transport.ts';
import { createRunReporter, type RunReporter } from './run-reporter.ts';
import { createSlackApp, type SlackFrontDoor } from './slack-app.ts';
import {
  classifySlackError,
  createSlackClient,
  createSlackTransport,
  POST_PACE,
  UPDATE_PACE,
} from './slack-transport.ts';
import {
  createOutbox,
  createOutboxTransport,
  type Outbox,
  outboxAdminSender,
  reportDeliveryFailures,
} from './outbox.ts';
import { createAdminNotifier } from './admin-notices.ts';
import { createAdminAlerts } from './slack-errors.ts';
import { createChannelAccess } from './slack-membership.ts';
import { createOutboxReplies, createResponseUrlBudget, createSlackReplies } from './slack-reply.ts';
import { createScopeAlerts, watchClientScopes } from './slack-scopes.ts';
import { createSlackReader } from './slack-reader.ts';
import {
  configChannelRefs,
  createChannelDirectory,
  resolveChannelRefs,
  resolvedChannel,
} from './slack-channels.ts';
import { createHttpApp } from './http.ts';
import { createReportRoutes, openReportLinks } from '../web/index.ts';

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
  // Checked before anything is opened or written: a judge model whose provider has no key is a config error.
  const alertsMap = parsePromptAlertsMap(env.PROMPT_ALERTS_MAP);
  const llmProblems = [
    ...checkLlmConfig(env),
    ...(alertsMap.ok ? [] : [`PROMPT_ALERTS_MAP: ${alertsMap.error}`]),
  ];
  if (llmProblems.length > 0) {
    throw new ArbiterError(
      'CONFIG_INVALID',
      `Arbiter cannot start: LLM configuration:\n${llmProblems.map((p) => `  - ${p}`).join('\n')}`,
      {
        hint: 'See the LLM section of the README.',
      },
    );
  }
  // Monitor YAML is validated before anything is opened: a bad file stops start-up with file:line:field (exit 2).
  // Digests naming a monitor that does not exist stop start-up too; old forms load with a warning in the log.
  const loadedMonitors = loadMonitors(env.MONITORS_DIR);
  const loadedDigests = loadDigests(env.DIGESTS_DIR, {
    monitorNames: loadedMonitors.map((m) => m.value.name),
  });
  for (const w of [...loadedMonitors, ...loadedDigests].flatMap((l) => l.warnings))
    logger.warn(`warning: ${w}`);
  const store = await openStore(env, { logger });
  let llm: LlmService | undefined;
  let tracing: LangfuseTracing | undefined;
  let monitorScheduler: MonitorScheduler | undefined;
  let digestScheduler: DigestScheduler | undefined;
  let roleResolver: ReturnType<typeof createRoleResolver> | undefined;
  let worker: Worker | undefined;
  let outbox: Outbox | undefined;
  let retention: Retention | undefined;
  try {
    // One OpenTelemetry pipeline to Langfuse for run item traces and (with LLM_TRACE) every model call.
    tracing = langfuseTracingFromEnv(env, { logger });
    llm = createLlm({ store, env, logger, ...(tracing ? { tracing } : {}) });
    const queue = await createJobQueue(store, { defaultMaxAttempts: env.JOB_MAX_ATTEMPTS });
    const leases = await createLeases(store);
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
            monitors: loadedMonitors,
            digests: loadedDigests,
            promptAlertsChannel: env.PROMPT_ALERTS_CHANNEL,
            promptAlertsRules: alertsMap.ok ? alertsMap.value : [],
          }),
        )
      : new Map<string, string>();
    const channel = (value: string) => resolvedChannel(channelIds, value);
    const monitors = loadedMonitors.map(({ value: m }) => ({
      ...m,
      publish: { ...m.publish, channel: channel(m.publish.channel) },
    }));
    // Each with its file's load warnings, shown in the answers of `digest` (not only in the start-up log).
    const digestSpecs = loadedDigests.map(({ value: d, warnings }) => ({
      ...d,
      channel: channel(d.channel),
      ...(warnings.length ? { warnings } : {}),
    }));
    const promptAlertsChannel = env.PROMPT_ALERTS_CHANNEL ? channel(env.PROMPT_ALERTS_CHANNEL) : undefined;
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
    // Problems only an admin can fix (Slack codes, missing scopes, deliveries failing where nobody asked) are told to
    // the admins once per problem by one notifier, kept in the store across restarts. Admins are read when told.
    let adminIds: () => readonly string[] = () => [];
    const adminNotifier = await createAdminNotifier({
      store,
      admins: () => adminIds(),
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
    adminIds = () => roles.admins.filter((id) => id.startsWith('U') || id.startsWith('W'));
    reportDeliveryFailures({ outbox: deliveries, admins: adminIds, logger, notifier: adminNotifier });
    // A missing_scope answer from any Slack call is sent once to the admins with the scope to add (and logged).
    const scopeAlerts = slackClient ? createScopeAlerts({ notifier: adminNotifier, logger }) : undefined;
    if (slackClient && scopeAlerts) watchClientScopes(slackClient, scopeAlerts);
    if (outboxClient && scopeAlerts) watchClientScopes(outboxClient, scopeAlerts);
    if (slackClient && env.ARBITER_ADMINS.length === 0)
      logger.warn(
        'ARBITER_ADMINS is empty: every Slack user of this workspace may launch runs. Set it to restrict launching.',
      );
    const langfuse = langfuseFromEnv(env, { logger });
    // Says once which Langfuse it is and what Arbiter reads and writes there (in the background: never blocks start-up).
    if (langfuse) void announceLangfuseServer(langfuse, env.LANGFUSE_BASE_URL, logger);
    // Who did what: every capability records its committed actions here (append-only, AUDIT_RETENTION).
    const audit = createAuditLog(store);
    // Signed links to the report pages: an *Open report* button on run, review, monitor and digest messages when
    // PUBLIC_URL is set; without it the log prints the local link of each report instead.
    const links = await openReportLinks(env, store);
    let localBase = `http://127.0.0.1:${env.PORT}`;
    const reportUrl = (path: string): string | undefined => {
      const url = links.publicUrl(path);
      if (!url)
        logger.info(
          { report: links.url(path, localBase) },
          'report page (set PUBLIC_URL for an Open report button)',
        );
      return url;
    };
    let reporter: RunReporter | undefined;
    const runs = await createRunService({
      store,
      queue,
      clock: systemClock,
      ids: systemIds,
      logger,
      env: options.environment ?? {},
      maxFieldBytes: env.RECORD_FIELD_MAX_BYTES,
      llm,
      judgeModel: llm.judgeModel,
      onProgress: (runId) => reporter?.progress(runId),
      audit,
      // Prompt targets read Langfuse prompts; Langfuse datasets are read and runs of them linked as dataset runs.
      ...(langfuse ? { langfuse, prompts: createLangfusePromptSource(langfuse) } : {}),
      ...(tracing ? { tracing, traceItems: env.LLM_TRACE ? ('all' as const) : ('langfuse' as const) } : {}),
    });
    reporter = await createRunReporter({
      store,
      outbox: deliveries,
      runs: () => runs,
      logger,
      reportUrl,
      ...(options.progressEditMs !== undefined ? { intervalMs: options.progressEditMs } : {}),
    });
    const runReporter = reporter;
    const runHandler = runs.handlers[RUN_JOB_TYPE]!;
    let notify = () => {};
    await roleResolver?.start();
    const monitorStore = await createMonitorStore(store);
    // Buttons (review votes, monitor review decisions, prompt alert buttons) route here by action id prefix.
    const actionHandlers: ActionHandler[] = [];
    const reviews = await createReviewService({
      store,
      runs: createReviewRunSource(runs),
      judge: { llm, judgeModel: llm.judgeModel, logger },
      transport,
      queue,
      clock: systemClock,
      ids: systemIds,
      logger,
      // DM mode sends ballots to people: user-group ids were expanded into their members above.
      reviewers: roles.reviewers.filter((id) => !id.startsWith('S')),
      ...(promptAlertsChannel ? { defaultChannel: promptAlertsChannel } : {}),
      notify: () => notify(),
      audit,
      reportUrl,
    });
    const slack = slackClient
      ? createSlackApp({
          env,
          roles,
          queue,
          limits: { maxQueued: env.SLACK_QUEUE_MAX, maxPerUser: env.SLACK_QUEUE_MAX_PER_USER },
          onEnqueued: () => notify(),
          client: slackClient,
          runs: () => runs,
          ids: systemIds,
          logger,
          actions: () => actionHandlers,
          transport,
          ...(replies ? { replies } : {}),
          home: {
            recentRuns: (limit) => runs.listRuns({ limit }),
            openReviewsFor: (user) => reviews.openFor(user),
            leaderboardTop: async (n, include) => {
              const table = await reviews.standings(
                undefined,
                include ? (r) => include(r.channel) : undefined,
              );
              return [
                ...table.contenders.slice(0, n).map((c) => ({
                  name: c.name,
                  rating: c.rating,
                  ...(c.ci ? { lower: c.ci.lower, upper: c.ci.upper } : {}),
                })),
                ...table.unrated.slice(0, Math.max(0, n - table.contenders.length)).map((name) => ({
                  name,
                  unrated: true,
                })),
              ];
            },
            monitors: () =>
              Promise.all(
                monitors.map(async (m) => {
                  const state = await monitorStore.getState(m.name);
                  const firing = Object.values(state.alerts).filter((a) => a.firing && a.since);
                  const since = firing.map((a) => new Date(a.since as string)).sort((a, b) => +b - +a)[0];
                  return {
                    name: m.name,
                    schedule: describeSchedule(m),
                    lastTickTime: state.lastTickTime,
                    failing: state.failing,
                    paused: state.paused === true,
                    channel: m.publish.channel,
                    ...(since
                      ? { lastAlert: { time: since, text: `${firing.length} alert(s) firing` } }
                      : {}),
                  };
                }),
              ),
          },
        })
      : undefined;
    // One set of monitor deps for the scheduler and for `monitor run|pause|resume` from chat.
    const owner = `${hostname()}:${process.pid}`;
    const tickLog = await createTickLog(store, { logger });
    const monitorDeps: MonitorDeps = {
      store: monitorStore,
      tickLog,
      maxFieldBytes: env.RECORD_FIELD_MAX_BYTES,
      // The slack source reads channels through the outbox's client: it never waits inside a call (the source paces
      // itself and waits Retry-After on its clock), SLACK_API_URL is honoured and missing_scope is watched.
      ...(outboxClient ? { slack: createSlackReader(outboxClient) } : {}),
      leases,
      transport,
      clock: systemClock,
      owner,
      llm,
      judgeModel: llm.judgeModel,
      logger,
      audit,
      reportUrl,
      ...(langfuse ? { langfuse, langfuseBaseUrl: env.LANGFUSE_BASE_URL } : {}),
    };
    actionHandlers.push(
      reviews.actionHandler,
      createMonitorReviewActions({
        store: monitorDeps.store,
        clock: systemClock,
        logger,
        audit,
        ...(langfuse ? { langfuse } : {}),
      }),
    );
    const digestDeps = {
      inputs: createDigestInputs({
        tickLog,
        runs: runs.repository,
        reviews: monitorDeps.store.reviews,
        reviewsClosed: (from, to) => reviews.closedBetween(from, to),
        leaderboard: async (at) =>
          (await reviews.standings(at)).contenders.map((c) => ({ name: c.name, rating: c.rating })),
      }),
      transport,
      posts: await createDigestPosts(store),
      leases,
      clock: systemClock,
      owner,
      dataDir: env.DATA_DIR,
      logger,
      audit,
      reportUrl,
    };
    const dispatchDeps: DispatchDeps = {
      runs,
      audit,
      suitesDir: env.SUITES_DIR,
      environment: options.environment ?? {},
      roles,
      monitors: { list: monitors, deps: monitorDeps },
      digests: { specs: digestSpecs, deps: digestDeps },
      reviews,
      ...(channelAccess ? { channelAccess } : {}),
      reportUrl,
    };
    const promptCache = langfuse ? createPromptCache({ client: langfuse, logger }) : undefined;
    // Suites in SUITES_DIR that declare `watch:` get buttons on their prompt's alerts (and may run by themselves).
    const suiteWatcher = createSuiteWatcher({
      suitesDir: env.SUITES_DIR,
      env: options.environment ?? {},
      logger,
    });
    const launcher = createRunLauncher({
      suitesDir: env.SUITES_DIR,
      env: options.environment ?? {},
      logger,
      runs: () => runs,
    });
    actionHandlers.push(...(options.actions ?? []));
    actionHandlers.push(
      createPromptActionHandler({
        actions: await openPromptActions(store),
        launcher,
        productionVersion: createProductionVersionLookup({
          store,
          ...(promptCache ? { cache: promptCache } : {}),
        }),
        reviews,
        clock: systemClock,
        logger,
      }),
    );
    const promptHandlers = await createPromptEventHandlers({
      suites: suiteWatcher,
      launcher,
      store,
      queue,
      transport,
      logger,
      langfuseBaseUrl: env.LANGFUSE_BASE_URL,
      channelFor: createChannelResolver({
        ...(promptAlertsChannel ? { defaultChannel: promptAlertsChannel } : {}),
        rules: (alertsMap.ok ? alertsMap.value : []).map((r) => ({ ...r, channel: channel(r.channel) })),
      }),
      ...(promptCache ? { cache: promptCache } : {}),
      ...(options.promptSettleMs !== undefined ? { settleMs: options.promptSettleMs } : {}),
    });
    worker = createWorker({
      queue,
      handlers: {
        ...promptHandlers,
        ...reviews.handlers,
        ...(slack?.handlers ?? {}),
        [RUN_JOB_TYPE]: {
          ...(runHandler.payload ? { payload: runHandler.payload } : {}),
          async run(payload, ctx) {
            try {
              return await runHandler.run(payload, ctx);
            } finally {
              // Only runs launched from chat have a parent message; finish() is a no-op for the others.
              await runReporter
                .finish(payload.runId)
                .catch((err: unknown) => logger.warn({ err, runId: payload.runId }, 'run report failed'));
              // A blind review waiting for this run (Compare with production) opens as soon as both are done.
              await reviews
                .runFinished(payload.runId)
                .catch((err: unknown) =>
                  logger.warn({ err, runId: payload.runId }, 'review re-check failed'),
                );
            }
          },
        } satisfies JobHandler<{ runId: string }>,
        [ACTION_JOB_TYPE]: createActionJobHandler({
          transport,
          actions: () => actionHandlers,
          ids: systemIds,
          logger,
          ...(replies ? { replies } : {}),
        }),
        [COMMAND_JOB_TYPE]: createCommandJobHandler({
          transport,
          dispatch: () => dispatchDeps,
          reporter: runReporter,
          ids: systemIds,
          logger,
          ...(replies ? { replies } : {}),
        }),
        ...(options.handlers ?? {}),
      },
      concurrency: env.WORKER_CONCURRENCY,
      leaseMs: env.JOB_LEASE,
      logger,
    });
    const app = createHttpApp({
      store,
      worker,
      queue,
      startedAt,
      version: VERSION,
      langfuseWebhookSecret: env.LANGFUSE_WEBHOOK_SECRET,
      logger,
      slackEvents: slack?.handle,
      maxBodyBytes: env.HTTP_MAX_BODY_BYTES,
      reports: createReportRoutes({
        links,
        runs: {
          getRun: (id) => runs.getRun(id),
          items: (id) => runs.items(id),
          listRuns: (o) => runs.listRuns(o),
        },
        reviews: {
          get: (id) => reviews.get(id),
          pairs: (id) => reviews.repository.pairs(id),
          votes: (id) => reviews.repository.votes(id),
          list: (limit) => reviews.repository.listReviews({ limit }),
          standings: () => reviews.standings(),
        },
        monitors: {
          list: () => monitors.map((m) => ({ name: m.name, schedule: describeSchedule(m) })),
          getState: (name) => monitorStore.getState(name),
          ticks: (name, from, to) => tickLog.listTicks(from, to, { monitor: name }),
          latestScored: (name, limit) => monitorStore.latestScored(name, limit),
        },
        // Each page's History section: the audit records of its run, review or monitor.
        audit,
        logger,
      }),
    });
    const runningWorker0 = worker;
    notify = () => runningWorker0.notify();
    const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
      const s = serve({ fetch: app.fetch, port: env.PORT, hostname: env.HOST }, () => resolve(s));
      s.once('error', reject);
    });
    const port = (server.address() as AddressInfo).port;
    const host = env.HOST === '0.0.0.0' || env.HOST === '::' ? '127.0.0.1' : env.HOST;
    const url = `http://${host}:${port}`;
    localBase = url;
    deliveries.start();
    worker.start();
    await slack?.start();
    // Runs that ended while their report was not recorded (a crash in between) are reported now.
    await runReporter
      .recover()
      .catch((err: unknown) => logger.warn({ err }, 'could not re-check unreported runs'));
    if (monitors.length > 0) {
      // Ticks run from node-cron, each guarded by a lease per (monitor, tick time), so replicas never double up.
      monitorScheduler = startMonitors(monitors, monitorDeps, {
        onTick: (name, o) =>
          logger.info(
            { monitor: name, status: o.status, ...('error' in o ? { error: o.error } : {}) },
            'monitor tick',
          ),
      });
    }
    // Digests post once per period under a lease, from their first scheduled time after they were first seen.
    if (digestSpecs.length > 0) digestScheduler = startDigests(digestSpecs, digestDeps);
    // Old history goes by age (RETENTION_*): TTL indexes on MongoDB, an hourly sweep under a lease on DATA_DIR.
    retention = await startRetention({ store, leases, rules: retentionRules(env), owner, logger });
    const runningRetention = retention;
    logger.info(
      `Arbiter ${VERSION} listening on ${url} | store: ${store.description} | transport: ${describeTransport(env)} | providers: ${describeProviders(env, llm)} | worker: ${env.WORKER_CONCURRENCY} concurrent | monitors: ${monitors.length} | digests: ${digestSpecs.length}`,
    );
    let stopping: Promise<void> | undefined;
    const runningWorker = worker;
    const runningLlm = llm;
    const runningTracing = tracing;
    return {
      url,
      port,
      store,
      llm,
      transport,
      queue,
      leases,
      worker,
      logger,
      runs,
      reviews,
      audit,
      links,
      reporter: runReporter,
      outbox: deliveries,
      slack,
      ...(isConsoleTransport(sender)
        ? {
            console: sender,
            clickButton: createConsoleClicker({
              transport: sender,
              queue,
              actions: () => actionHandlers,
              roles,
              ids: systemIds,
              onEnqueued: () => runningWorker.notify(),
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
        runningWorker.notify();
        return { jobId: job._id };
      },
      stop() {
        stopping ??= (async () => {
          logger.info('shutting down: no new work; finishing running jobs');
          await new Promise<void>((resolve) => server.close(() => resolve()));
          await monitorScheduler?.stop();
          await digestScheduler?.stop();
          await runningRetention.stop();
          await slack?.stop();
          roleResolver?.stop();
          await runningWorker.stop(env.SHUTDOWN_GRACE);
          // Deliveries in flight finish; those still pending stay in the store for the next start.
          await deliveries.stop();
          // Cache writes are batched; flush them before the store closes.
          await runningLlm.flush();
          // Spans still batched are sent (bounded wait; an unreachable Langfuse never holds the shutdown up).
          await runningTracing?.shutdown();
          await store.close();
          logger.info('stopped cleanly');
        })();
        return stopping;
      },
    };
  } catch (err) {
    await monitorScheduler?.stop();
    await digestScheduler?.stop();
    await retention?.stop();
    await worker?.stop(0);
    await outbox?.stop();
    await llm?.flush();
    await tracing?.shutdown();
    await store.close();
    throw err;
  }
}
