import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import {
  ArbiterError,
  createLogger,
  type Env,
  type Logger,
  type LogSink,
  systemClock,
} from '../config/index.ts';
import type { Transport } from '../commands/transport.ts';
import { createLangfuseClient } from '../langfuse/index.ts';
import { checkLlmConfig, createLlm, type LlmService } from '../llm/index.ts';
import {
  createChannelResolver,
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
  type Worker,
} from '../storage/index.ts';
import { createConsoleTransport } from './console-transport.ts';
import { createHttpApp } from './http.ts';

/** Version reported by /healthz and the start-up line. */
export const VERSION = '0.1.0';

/** Which transport is in use; honest about Slack settings the build cannot use yet. */
export function describeTransport(env: Env): string {
  // The Slack front door lands with issue 6; until then a configured token is validated but not used.
  if (env.SLACK_BOT_TOKEN) return 'console (Slack settings found, but the Slack front door is not built yet)';
  return 'console (no SLACK_BOT_TOKEN)';
}

/** Which LLM providers are usable and which model judges by default. */
export function describeProviders(env: Env, llm: LlmService): string {
  const keyed = [env.ANTHROPIC_API_KEY ? 'anthropic' : '', env.GEMINI_API_KEY ? 'gemini' : ''].filter(
    Boolean,
  );
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
  const store = await openStore(env, { logger });
  let llm: LlmService | undefined;
  let worker: Worker | undefined;
  try {
    llm = createLlm({ store, env, logger });
    const queue = await createJobQueue(store, { defaultMaxAttempts: env.JOB_MAX_ATTEMPTS });
    const leases = await createLeases(store);
    const transport = options.transport ?? createConsoleTransport({ color: Boolean(process.stdout.isTTY) });
    const langfuse =
      env.LANGFUSE_PUBLIC_KEY && env.LANGFUSE_SECRET_KEY
        ? createLangfuseClient({
            baseUrl: env.LANGFUSE_BASE_URL,
            publicKey: env.LANGFUSE_PUBLIC_KEY,
            secretKey: env.LANGFUSE_SECRET_KEY,
            logger,
          })
        : undefined;
    const promptCache = langfuse ? createPromptCache({ client: langfuse, logger }) : undefined;
    const promptHandlers = await createPromptEventHandlers({
      store,
      queue,
      transport,
      logger,
      langfuseBaseUrl: env.LANGFUSE_BASE_URL,
      channelFor: createChannelResolver({
        ...(env.PROMPT_ALERTS_CHANNEL ? { defaultChannel: env.PROMPT_ALERTS_CHANNEL } : {}),
        rules: alertsMap.ok ? alertsMap.value : [],
      }),
      ...(promptCache ? { cache: promptCache } : {}),
      ...(options.promptSettleMs !== undefined ? { settleMs: options.promptSettleMs } : {}),
    });
    worker = createWorker({
      queue,
      handlers: { ...promptHandlers, ...(options.handlers ?? {}) },
      concurrency: env.WORKER_CONCURRENCY,
      leaseMs: env.JOB_LEASE_MS,
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
    });
    const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
      const s = serve({ fetch: app.fetch, port: env.PORT, hostname: env.HOST }, () => resolve(s));
      s.once('error', reject);
    });
    const port = (server.address() as AddressInfo).port;
    const host = env.HOST === '0.0.0.0' || env.HOST === '::' ? '127.0.0.1' : env.HOST;
    const url = `http://${host}:${port}`;
    worker.start();
    logger.info(
      `Arbiter ${VERSION} listening on ${url} | store: ${store.description} | transport: ${describeTransport(env)} | providers: ${describeProviders(env, llm)} | worker: ${env.WORKER_CONCURRENCY} concurrent`,
    );
    let stopping: Promise<void> | undefined;
    const runningWorker = worker;
    const runningLlm = llm;
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
      stop() {
        stopping ??= (async () => {
          logger.info('shutting down: no new work; finishing running jobs');
          await new Promise<void>((resolve) => server.close(() => resolve()));
          await runningWorker.stop(env.SHUTDOWN_GRACE_MS);
          // Cache writes are batched; flush them before the store closes.
          await runningLlm.flush();
          await store.close();
          logger.info('stopped cleanly');
        })();
        return stopping;
      },
    };
  } catch (err) {
    await worker?.stop(0);
    await llm?.flush();
    await store.close();
    throw err;
  }
}
