// The infrastructure every capability of the bot process shares, opened once: the store, the model client with
// its tracing pipeline, the job queue, leases, the Langfuse client, the audit trail and the signed report links.
import { type AuditLog, createAuditLog } from '../audit/index.ts';
import type { Env, Logger, ReportLinks, ReportUrl } from '../config/index.ts';
import { announceLangfuseServer, type LangfuseClient, langfuseFromEnv } from '../langfuse/index.ts';
import { createLlm, type LangfuseTracing, langfuseTracingFromEnv, type LlmService } from '../llm/index.ts';
import { createRunRepository, type RunRepository } from '../runs/index.ts';
import {
  createJobQueue,
  createLeases,
  type DocumentStore,
  type JobQueue,
  type Leases,
  openStore,
} from '../storage/index.ts';

/** The shared infrastructure of the bot process. */
export interface AppCore {
  env: Env;
  logger: Logger;
  store: DocumentStore;
  llm: LlmService;
  tracing: LangfuseTracing | undefined;
  queue: JobQueue;
  leases: Leases;
  langfuse: LangfuseClient | undefined;
  audit: AuditLog;
  links: ReportLinks;
  /** The signed URL of a report page under PUBLIC_URL; without it, logs the local link and returns undefined. */
  reportUrl: ReportUrl;
  /** Runs as stored (the run reporter reads them; the run service is composed later). */
  runReader: Pick<RunRepository, 'getRun' | 'items' | 'listRuns'>;
  /** Batched cache writes and spans are flushed, then the store closes. */
  close(): Promise<void>;
}

/** Options of {@link openAppCore}. */
export interface CoreOptions {
  logger: Logger;
  /** Where the bot's HTTP server listens (known once it listens): the base of local report links. */
  localBase: () => string;
}

/** Opens the store and builds the shared infrastructure on it; closes the store again if anything fails. */
export async function openAppCore(env: Env, options: CoreOptions): Promise<AppCore> {
  const { logger } = options;
  const store = await openStore(env, { logger });
  let llm: LlmService | undefined;
  let tracing: LangfuseTracing | undefined;
  try {
    // One OpenTelemetry pipeline to Langfuse for run item traces and (with LLM_TRACE) every model call.
    tracing = langfuseTracingFromEnv(env, { logger });
    llm = createLlm({ store, env, logger, ...(tracing ? { tracing } : {}) });
    const queue = await createJobQueue(store, { defaultMaxAttempts: env.JOB_MAX_ATTEMPTS });
    const leases = await createLeases(store);
    const langfuse = langfuseFromEnv(env, { logger });
    // Says once which Langfuse it is and what Arbiter reads and writes there (in the background: never blocks start-up).
    if (langfuse) void announceLangfuseServer(langfuse, env.LANGFUSE_BASE_URL, logger);
    // Who did what: every capability records its committed actions here (append-only, AUDIT_RETENTION).
    const audit = createAuditLog(store);
    // Signed links to the report pages: an *Open report* button on run, review, monitor and digest messages when
    // PUBLIC_URL is set; without it the log prints the local link of each report instead. web/ (Hono, ECharts) is
    // loaded here, not on the way to the command table.
    const { openReportLinks } = await import('../web/index.ts');
    const links = await openReportLinks(env, store);
    const reportUrl = (path: string): string | undefined => {
      const url = links.publicUrl(path);
      if (!url)
        logger.info(
          { report: links.url(path, options.localBase()) },
          'report page (set PUBLIC_URL for an Open report button)',
        );
      return url;
    };
    const runReader = await createRunRepository(store);
    const builtLlm = llm;
    const builtTracing = tracing;
    return {
      env,
      logger,
      store,
      llm,
      tracing,
      queue,
      leases,
      langfuse,
      audit,
      links,
      reportUrl,
      runReader,
      async close() {
        // Cache writes are batched; flush them before the store closes.
        await builtLlm.flush();
        // Spans still batched are sent (bounded wait; an unreachable Langfuse never holds the shutdown up).
        await builtTracing?.shutdown();
        await store.close();
      },
    };
  } catch (err) {
    await llm?.flush();
    await tracing?.shutdown();
    await store.close();
    throw err;
  }
}
