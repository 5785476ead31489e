// The CLI's one composition root: the store and services an `arbiter` command uses, built on first use (a command
// that reads only the store never builds the model client) and closed once by cli/.
import { createAuditLog } from '../audit/index.ts';
import type { Transport } from '../chat/index.ts';
import {
  createDigestInputs,
  type CliRuns,
  type CliServices,
  createReviewRunSource,
} from '../commands/index.ts';
import {
  type Clock,
  createSilentLogger,
  type Env,
  type Ids,
  type Logger,
  reportPaths,
  systemClock,
  systemIds,
} from '../config/index.ts';
import { createDigestPosts } from '../digests/index.ts';
import { langfuseFromEnv } from '../langfuse/index.ts';
import { createLlm, type LangfuseTracing, type Llm, langfuseTracingFromEnv } from '../llm/index.ts';
import { createMonitorReviewStore, createTickLog } from '../monitors/index.ts';
import { createReviewService } from '../reviews/index.ts';
import {
  createLangfusePromptSource,
  createRunRepository,
  createRunService,
  type EngineMode,
  type PromptSource,
} from '../runs/index.ts';
import { createJobQueue, createLeases, type DocumentStore, openStore } from '../storage/index.ts';

/** What tests (and embedding) put in place of the configured parts. */
export interface CliOverrides {
  /** A store the caller owns: used as it is and never closed here. */
  store?: DocumentStore;
  llm?: Llm;
  prompts?: PromptSource;
  fetch?: typeof fetch;
  clock?: Clock;
  ids?: Ids;
  logger?: Logger;
  engine?: EngineMode;
}

/** The CLI never posts: anything a use case would post is queued as a job for the bot's worker instead. */
const refusingTransport: Transport = {
  name: 'cli',
  post: () => Promise.reject(new Error('the CLI does not post; the bot posts from its job queue')),
  update: () => Promise.reject(new Error('the CLI does not post')),
  postEphemeral: () => Promise.reject(new Error('the CLI does not post')),
  uploadFile: () => Promise.reject(new Error('the CLI does not post')),
};

/** Memoizes an async factory: built on the first call, shared after. */
function once<T>(build: () => Promise<T>): () => Promise<T> {
  let built: Promise<T> | undefined;
  return () => {
    built ??= build();
    return built;
  };
}

/** The services of one `arbiter` invocation over the environment (`environment`: raw, for http targets' headers). */
export function createCliServices(
  env: Env,
  environment: Record<string, string | undefined>,
  overrides: CliOverrides = {},
): CliServices {
  const logger = overrides.logger ?? createSilentLogger();
  const clock = overrides.clock ?? systemClock;
  const ids = overrides.ids ?? systemIds;
  let opened: DocumentStore | undefined;
  let tracing: LangfuseTracing | undefined;
  let builtLlm: { flush(): Promise<void> } | undefined;
  const store = once(async () => {
    if (overrides.store) return overrides.store;
    opened = await openStore(env, { logger });
    return opened;
  });
  const queue = once(async () =>
    createJobQueue(await store(), { clock, ids, defaultMaxAttempts: env.JOB_MAX_ATTEMPTS }),
  );
  const audit = once(async () => createAuditLog(await store(), { clock }));
  const model = once(async () => {
    if (overrides.llm) return { llm: overrides.llm, built: undefined };
    const built = createLlm({ store: await store(), env, logger });
    builtLlm = built;
    return { llm: built as Llm, built };
  });
  const runs = once(async (): Promise<CliRuns> => {
    const s = await store();
    const { llm, built } = await model();
    // Run item traces need the pipeline even without LLM_TRACE; publishing a run flushes it before its scores.
    tracing = built?.tracing ?? langfuseTracingFromEnv(env, { logger });
    const judgeModel =
      (llm as { judgeModel?: string }).judgeModel ?? env.ARBITER_JUDGE_MODEL ?? 'offline:heuristic';
    const langfuse = langfuseFromEnv(env, { logger, ...(overrides.fetch ? { fetch: overrides.fetch } : {}) });
    const service = await createRunService({
      store: s,
      queue: await queue(),
      clock,
      ids,
      logger,
      env: environment,
      ...(env.RECORD_FIELD_MAX_BYTES ? { maxFieldBytes: env.RECORD_FIELD_MAX_BYTES } : {}),
      llm,
      judgeModel,
      // With Langfuse configured, prompt targets and Langfuse datasets work from the CLI as they do in the bot.
      ...(langfuse ? { langfuse, prompts: createLangfusePromptSource(langfuse) } : {}),
      ...(overrides.prompts ? { prompts: overrides.prompts } : {}),
      ...(tracing ? { tracing, traceItems: env.LLM_TRACE ? ('all' as const) : ('langfuse' as const) } : {}),
      ...(overrides.fetch ? { fetch: overrides.fetch } : {}),
      ...(overrides.engine ? { engine: overrides.engine } : {}),
      audit: await audit(),
    });
    const pipeline = tracing;
    return { service, queue: await queue(), logger, flushTraces: async () => pipeline?.shutdown() };
  });
  const reviews = once(async () => {
    const s = await store();
    return createReviewService({
      store: s,
      runs: createReviewRunSource(await createRunRepository(s)),
      transport: refusingTransport,
      queue: await queue(),
      clock,
      ids,
      logger,
      audit: await audit(),
      reviewers: env.ARBITER_REVIEWERS.filter((id) => !id.startsWith('S')),
      ...(env.PROMPT_ALERTS_CHANNEL ? { defaultChannel: env.PROMPT_ALERTS_CHANNEL } : {}),
    });
  });
  return {
    store,
    queue,
    audit,
    llm: async () => (await model()).llm,
    runReader: once(async () => createRunRepository(await store())),
    runs,
    reviews,
    async digests(transport) {
      const s = await store();
      return {
        inputs: createDigestInputs({
          tickLog: await createTickLog(s, { logger }),
          runs: await createRunRepository(s),
          reviews: await createMonitorReviewStore(s),
        }),
        transport,
        posts: await createDigestPosts(s),
        leases: await createLeases(s, { clock }),
        clock,
        owner: `cli-${process.pid}`,
        dataDir: env.DATA_DIR,
        logger,
        audit: await audit(),
      };
    },
    async reportUrl(kind, id) {
      // web/ (the report pages and Hono) loads only for a link, not when `arbiter help` starts (test/startup.test.ts).
      const { openReportLinks } = await import('../web/index.ts');
      const links = await openReportLinks(env, await store());
      const path = kind === 'run' ? reportPaths.run(id) : reportPaths.review(id);
      const host = env.HOST === '0.0.0.0' || env.HOST === '::' ? '127.0.0.1' : env.HOST;
      return links.url(path, `http://${host}:${env.PORT}`);
    },
    async close() {
      await builtLlm?.flush();
      await tracing?.shutdown();
      await opened?.close();
    },
  };
}
