// THE composition root of the long-running process, below both front doors (Slack and the console): the
// capabilities (runs, reviews, monitors, digests, prompt alerts), the chat dispatch, the button handlers, the job
// handlers and the schedules, built from the shared core and what the front door alone knows (its transport,
// roles, channel ids, Slack replies and channel access). Cross-capability reactions are the declared hooks of
// app/hooks.ts, never closures bound late.
import { hostname } from 'node:os';
import type { ActionHandler, RolePolicy, Transport } from '../chat/index.ts';
import {
  type ChannelAccess,
  createDigestInputs,
  createHomeReads,
  createReviewRunSource,
  type DispatchDeps,
  type HomeReads,
} from '../commands/index.ts';
import { systemClock, systemIds } from '../config/index.ts';
import { createDigestPosts, type Digest, type DigestDeps, startDigests } from '../digests/index.ts';
import {
  createMonitorReviewActions,
  createMonitorStore,
  createTickLog,
  describeSchedule,
  type Monitor,
  type MonitorDeps,
  type MonitorStore,
  startMonitors,
  type TickLog,
} from '../monitors/index.ts';
import {
  createChannelResolver,
  createPromptActionHandler,
  createPromptCache,
  createPromptEventHandlers,
  createProductionVersionLookup,
  openPromptActions,
} from '../prompts/index.ts';
import { createReviewService, type ReviewService } from '../reviews/index.ts';
import {
  createLangfusePromptSource,
  createRunLauncher,
  createRunService,
  createSuiteWatcher,
  RUN_JOB_TYPE,
  type RunService,
} from '../runs/index.ts';
import {
  createWorker,
  type JobHandler,
  retentionRules,
  startRetention,
  type Worker,
} from '../storage/index.ts';
import type { AppConfig } from './config.ts';
import type { AppCore } from './core.ts';
import { type AppHooks, type HookInputs, jobEnqueued, runFinished, runProgressed } from './hooks.ts';

// biome-ignore lint/suspicious/noExplicitAny: handlers of different payload types share one registry
type Handlers = Record<string, JobHandler<any>>;

/** What only the front door knows. */
export interface FrontDoor {
  /** Every channel write of every capability (the bot passes its outbox transport). */
  transport: Transport;
  /** Who is an admin and a reviewer (user-group ids already expanded by the front door). */
  roles: RolePolicy;
  /** A channel as configured (`#name` or id) → the id the transport takes (Slack); the console keeps names. */
  channel: (value: string) => string;
  /** Whether the bot can post in a conversation (Slack); absent: commands post without asking. */
  channelAccess?: ChannelAccess;
  /** How `slack` monitor sources read channels (bot token, API base, fetch). */
  monitorSlack?: MonitorDeps['slack'];
  /** Raw environment for `${ENV:NAME}` header values of http targets. */
  environment: Record<string, string | undefined>;
  /** How long prompt events gather before one alert is posted (default 10 s). */
  promptSettleMs?: number;
  /** More button handlers, after the built-in ones and before the prompt alerts' (tests, embedding). */
  actions?: readonly ActionHandler[];
  /** The front door's reactions (e.g. the run reporter's); the app's own come after them. */
  hooks?: HookInputs;
}

/** The composed capabilities of the bot process. */
export interface App {
  runs: RunService;
  reviews: ReviewService;
  /** The monitors of MONITORS_DIR, their channels resolved. */
  monitors: readonly Monitor[];
  monitorDeps: MonitorDeps;
  digestSpecs: readonly Digest[];
  digestDeps: DigestDeps;
  /** What a chat command needs (Slack and the console). */
  dispatchDeps: DispatchDeps;
  /** Every button handler, by action-id prefix. */
  actionHandlers: readonly ActionHandler[];
  /** What the App Home tab reads. */
  home: HomeReads;
  /** The report pages' routes (web/), to mount under the bot's HTTP server. */
  reportRoutes: Awaited<ReturnType<typeof reportRoutesOf>>;
  hooks: AppHooks;
  /** Tells the hooks a job was enqueued in this process (the worker wakes up). */
  jobEnqueued(): void;
  /**
   * The worker over the capabilities' job handlers and the front door's (which come after, so they may replace
   * one); it is woken by every in-process enqueue from then on.
   */
  createWorker(frontDoorHandlers: Handlers): Worker;
  /** Starts the monitor and digest schedules and retention; returns what stops them. */
  startSchedules(): Promise<{ stop(): Promise<void> }>;
}

/** Composes the capabilities of the bot process from the shared core, its checked configuration and the front door. */
export async function composeApp(core: AppCore, config: AppConfig, door: FrontDoor): Promise<App> {
  const { env, store, llm, queue, leases, langfuse, audit, logger, reportUrl, tracing } = core;
  const { transport, roles, channel } = door;
  const environment = door.environment;
  const hooks: AppHooks = {
    onRunProgress: [...(door.hooks?.onRunProgress ?? [])],
    onRunFinished: [...(door.hooks?.onRunFinished ?? [])],
    onJobEnqueued: [...(door.hooks?.onJobEnqueued ?? [])],
  };
  const monitors = config.monitors.map(({ value: m }) => ({
    ...m,
    publish: { ...m.publish, channel: channel(m.publish.channel) },
  }));
  // Each with its file's load warnings, shown in the answers of `digest` (not only in the start-up log).
  const digestSpecs = config.digests.map(({ value: d, warnings }) => ({
    ...d,
    channel: channel(d.channel),
    ...(warnings.length ? { warnings } : {}),
  }));
  const promptAlertsChannel = env.PROMPT_ALERTS_CHANNEL ? channel(env.PROMPT_ALERTS_CHANNEL) : undefined;

  const runs = await createRunService({
    store,
    queue,
    clock: systemClock,
    ids: systemIds,
    logger,
    env: environment,
    maxFieldBytes: env.RECORD_FIELD_MAX_BYTES,
    llm,
    judgeModel: llm.judgeModel,
    onProgress: (runId) => runProgressed(hooks, runId, logger),
    audit,
    // Prompt targets read Langfuse prompts; Langfuse datasets are read and runs of them linked as dataset runs.
    ...(langfuse ? { langfuse, prompts: createLangfusePromptSource(langfuse) } : {}),
    ...(tracing ? { tracing, traceItems: env.LLM_TRACE ? ('all' as const) : ('langfuse' as const) } : {}),
  });
  const monitorStore = await createMonitorStore(store);
  const reviews = await createReviewService({
    store,
    runs: createReviewRunSource(runs),
    judge: { llm, judgeModel: llm.judgeModel, logger },
    transport,
    queue,
    clock: systemClock,
    ids: systemIds,
    logger,
    // DM mode sends ballots to people: user-group ids were expanded into their members by the front door.
    reviewers: roles.reviewers.filter((id) => !id.startsWith('S')),
    ...(promptAlertsChannel ? { defaultChannel: promptAlertsChannel } : {}),
    notify: () => jobEnqueued(hooks, logger),
    audit,
    reportUrl,
  });
  // A blind review waiting for this run (Compare with production) opens as soon as both are done.
  hooks.onRunFinished.push({ name: 'review re-check', run: (runId) => reviews.runFinished(runId) });

  // One set of monitor deps for the scheduler and for `monitor run|pause|resume` from chat.
  const owner = `${hostname()}:${process.pid}`;
  const tickLog = await createTickLog(store, { logger });
  const monitorDeps: MonitorDeps = {
    store: monitorStore,
    tickLog,
    maxFieldBytes: env.RECORD_FIELD_MAX_BYTES,
    ...(door.monitorSlack ? { slack: door.monitorSlack } : {}),
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
  const digestDeps: DigestDeps = {
    inputs: createDigestInputs({
      tickLog,
      runs: runs.repository,
      reviews: monitorStore.reviews,
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
    environment,
    roles,
    monitors: { list: monitors, deps: monitorDeps },
    digests: { specs: digestSpecs, deps: digestDeps },
    reviews,
    ...(door.channelAccess ? { channelAccess: door.channelAccess } : {}),
    reportUrl,
  };

  const promptCache = langfuse ? createPromptCache({ client: langfuse, logger }) : undefined;
  // Suites in SUITES_DIR that declare `watch:` get buttons on their prompt's alerts (and may run by themselves).
  const suiteWatcher = createSuiteWatcher({ suitesDir: env.SUITES_DIR, env: environment, logger });
  const launcher = createRunLauncher({
    suitesDir: env.SUITES_DIR,
    env: environment,
    logger,
    runs: () => runs,
  });
  // Buttons (review votes, monitor review decisions, prompt alert buttons) route by action id prefix.
  const actionHandlers: ActionHandler[] = [
    reviews.actionHandler,
    createMonitorReviewActions({
      store: monitorStore,
      clock: systemClock,
      logger,
      audit,
      ...(langfuse ? { langfuse } : {}),
    }),
    ...(door.actions ?? []),
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
  ];
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
      rules: config.promptAlertRules.map((r) => ({ ...r, channel: channel(r.channel) })),
    }),
    ...(promptCache ? { cache: promptCache } : {}),
    ...(door.promptSettleMs !== undefined ? { settleMs: door.promptSettleMs } : {}),
  });
  const runHandler = runs.handlers[RUN_JOB_TYPE]!;
  const handlers: Handlers = {
    ...promptHandlers,
    ...reviews.handlers,
    // The run job, then the onRunFinished reactions whatever its outcome (each failure logged, never thrown).
    [RUN_JOB_TYPE]: {
      ...(runHandler.payload ? { payload: runHandler.payload } : {}),
      async run(payload, ctx) {
        try {
          return await runHandler.run(payload, ctx);
        } finally {
          await runFinished(hooks, payload.runId, logger);
        }
      },
    } satisfies JobHandler<{ runId: string }>,
  };

  return {
    runs,
    reviews,
    monitors,
    monitorDeps,
    digestSpecs,
    digestDeps,
    dispatchDeps,
    actionHandlers,
    home: createHomeReads({ runs, reviews, monitors, monitorStore }),
    reportRoutes: await reportRoutesOf(core, { runs, reviews, monitors, monitorStore, tickLog }),
    hooks,
    jobEnqueued: () => jobEnqueued(hooks, logger),
    createWorker(frontDoorHandlers) {
      const worker = createWorker({
        queue,
        handlers: { ...handlers, ...frontDoorHandlers },
        concurrency: env.WORKER_CONCURRENCY,
        leaseMs: env.JOB_LEASE,
        logger,
      });
      hooks.onJobEnqueued.push(() => worker.notify());
      return worker;
    },
    async startSchedules() {
      // Ticks run from node-cron, each guarded by a lease per (monitor, tick time), so replicas never double up.
      const monitorScheduler =
        monitors.length > 0
          ? startMonitors(monitors, monitorDeps, {
              onTick: (name, o) =>
                logger.info(
                  { monitor: name, status: o.status, ...('error' in o ? { error: o.error } : {}) },
                  'monitor tick',
                ),
            })
          : undefined;
      // Digests post once per period under a lease, from their first scheduled time after they were first seen.
      const digestScheduler = digestSpecs.length > 0 ? startDigests(digestSpecs, digestDeps) : undefined;
      try {
        // Old history goes by age (RETENTION_*): TTL indexes on MongoDB, an hourly sweep under a lease on DATA_DIR.
        const retention = await startRetention({ store, leases, rules: retentionRules(env), owner, logger });
        return {
          async stop() {
            await monitorScheduler?.stop();
            await digestScheduler?.stop();
            await retention.stop();
          },
        };
      } catch (err) {
        await monitorScheduler?.stop();
        await digestScheduler?.stop();
        throw err;
      }
    },
  };
}

/** The report pages' routes over the composed capabilities (web/ is loaded here, not at `arbiter help`). */
async function reportRoutesOf(
  core: AppCore,
  c: {
    runs: RunService;
    reviews: ReviewService;
    monitors: readonly Monitor[];
    monitorStore: MonitorStore;
    tickLog: TickLog;
  },
) {
  const { createReportRoutes } = await import('../web/index.ts');
  const { runs, reviews, monitors, monitorStore, tickLog } = c;
  return createReportRoutes({
    links: core.links,
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
    audit: core.audit,
    logger: core.logger,
  });
}
