// The run use case: start a run (a durable job), execute it in a worker with a concurrency limit, record progress,
// resume after a crash without redoing or double-counting finished items, cancel, and finalize the summary.
import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { type AuditActor, type AuditLog, recordAudit, SYSTEM_ACTOR } from '../audit/index.ts';
import { dirname } from 'node:path';
import {
  ArbiterError,
  type Clock,
  DEFAULT_FIELD_MAX_BYTES,
  describeError,
  type Ids,
  type Logger,
  oversizedField,
} from '../config/index.ts';
import { createMetricFromSpec, gradeItem, type ItemGrade, type Metric } from '../evaluators/index.ts';
import type { LangfuseClient } from '../langfuse/index.ts';
import type { LangfuseTracing, Llm } from '../llm/index.ts';
import {
  type DocumentStore,
  type JobContext,
  type JobHandler,
  type JobQueue,
  PermanentJobError,
} from '../storage/index.ts';
import { z } from 'zod';
import { createStoreCheckpointer, type StoreCheckpointSaver } from './checkpointer.ts';
import { compareRuns, type RunComparison } from './compare.ts';
import { loadDatasetFile } from './datasets.ts';
import { createItemGraph, type EngineMode, runItem } from './engine.ts';
import { limitTarget, Permits } from './permits.ts';
import {
  createLangfuseDatasetSource,
  type DatasetSourceResult,
  type PublishOutcome,
  publishRunToLangfuse,
  traceRunItem,
  createItemScorePublisher,
  itemSpanIds,
} from './langfuse.ts';
import type { Persona } from './personas.ts';
import { createRunRepository, type RunRepository } from './repository.ts';
import { readRunSuite } from './stored-suite.ts';
import { type Suite, suiteHash } from './suite.ts';
import { summarize, type SummaryInput } from './summary.ts';
import { createTarget, type PromptSource } from './targets.ts';
import type {
  DatasetItem,
  Run,
  RunItemView,
  RowError,
  RunProgress,
  RunSummary,
  RunTrigger,
} from './types.ts';

/** Job type of run execution. */
export const RUN_JOB_TYPE = 'run.execute';

/** Payload of a run job. */
export const RunJobPayloadSchema = z.object({ runId: z.string().min(1) });

/** Rows of a Langfuse (or other remote) dataset; createLangfuseDatasetSource is the real one. */
export interface DatasetSource {
  getDatasetItems(name: string): Promise<DatasetSourceResult>;
}

/** What the run service needs. */
export interface RunServiceDeps {
  store: DocumentStore;
  queue: JobQueue;
  clock: Clock;
  ids: Ids;
  logger: Logger;
  /** Environment for `${ENV:NAME}` header values of http targets. */
  env: Record<string, string | undefined>;
  llm?: Llm;
  judgeModel?: string;
  prompts?: PromptSource;
  /** Source of `dataset: { langfuse: name }`; defaults to Langfuse itself when `langfuse` is given. */
  datasets?: DatasetSource;
  /** Langfuse: reads Langfuse datasets and publishes the scores of runs of them. */
  langfuse?: LangfuseClient;
  /**
   * Langfuse tracing (OpenTelemetry): each item runs in a trace of its own, linked to its Langfuse dataset item as
   * an experiment item when the dataset came from Langfuse; model calls made for the item are its children.
   */
  tracing?: LangfuseTracing;
  /** Which runs get item traces: `langfuse` (runs of Langfuse datasets, the default) or `all` (with LLM_TRACE). */
  traceItems?: 'langfuse' | 'all';
  fetch?: typeof fetch;
  /** `graph` (default) checkpoints every step in the store; `direct` runs the same nodes without LangGraph. */
  engine?: EngineMode;
  /** Largest field of a dataset row in bytes (RECORD_FIELD_MAX_BYTES); a larger one fails its row. */
  maxFieldBytes?: number;
  /** Minimum time between progress writes, ms. */
  progressIntervalMs?: number;
  /** Called after every progress write (in-process watchers such as the CLI progress bar). */
  onProgress?: (runId: string, progress: RunProgress) => void;
  /** The audit trail: launches, cancels and retries are recorded there after their durable write. */
  audit?: Pick<AuditLog, 'record'>;
}

/** Options of one run. */
export interface StartRunOptions {
  concurrency?: number;
  limit?: number;
  failUnder?: number;
  /** The same key twice starts one run. */
  idempotencyKey?: string;
  /** Errored items tolerated before the run fails (default 0). */
  maxErrors?: number;
  /** Resume an unfinished run of the same suite and dataset instead of starting a new one (default true). */
  resume?: boolean;
  /** Why the run was started (a prompt change), recorded on the run. */
  trigger?: RunTrigger;
  /** Who started it from chat, and where. */
  origin?: { user?: string; channel?: string };
  /**
   * Who launched it, for the audit trail. Without it: the prompt button's clicker (`trigger.requestedBy`, from
   * Slack), else the system (a prompt webhook, a scheduler).
   */
  actor?: AuditActor;
}

/** Who asked for a cancel or a retry, for the audit trail (the system when not given). */
export interface RunActionOptions {
  actor?: AuditActor;
}

/** The run service. */
export interface RunService {
  startRun(
    suite: Suite,
    options?: StartRunOptions,
  ): Promise<{ runId: string; jobId: string; created: boolean; resumed: boolean }>;
  /** Job handlers to register with a worker. */
  handlers: Record<string, JobHandler<z.infer<typeof RunJobPayloadSchema>>>;
  getRun(runId: string): Promise<Run | null>;
  listRuns(options?: { limit?: number; suiteName?: string }): Promise<Run[]>;
  items(runId: string): Promise<RunItemView[]>;
  cancelRun(runId: string, options?: RunActionOptions): Promise<Run>;
  /** Runs the errored items of a finished run again (the others keep their results); the run is summarized anew. */
  retryErrors(
    runId: string,
    options?: { maxErrors?: number } & RunActionOptions,
  ): Promise<{ runId: string; jobId: string; items: number }>;
  compare(a: string, b: string): Promise<RunComparison>;
  /** Links a finished run of a Langfuse dataset again, sending only what is missing (after a Langfuse outage). */
  publishToLangfuse(runId: string): Promise<PublishOutcome>;
  repository: RunRepository;
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

function reasonOf(signal: AbortSignal): 'cancel' | 'other' {
  const r = signal.reason as { message?: unknown } | undefined;
  return typeof r?.message === 'string' && r.message.includes('cancel') ? 'cancel' : 'other';
}

/** Expands items over personas: an item naming a persona uses it, others run once per persona. */
export function expandPersonas(
  items: readonly DatasetItem[],
  personas: readonly Persona[] | undefined,
): { items: DatasetItem[]; errors: RowError[] } {
  if (!personas || personas.length === 0) return { items: [...items], errors: [] };
  const names = new Set(personas.map((p) => p.name));
  const out: DatasetItem[] = [];
  const errors: RowError[] = [];
  for (const item of items) {
    if (item.persona) {
      if (names.has(item.persona)) out.push(item);
      else
        errors.push({
          row: item.row,
          reason: `unknown persona '${item.persona}'; valid: ${[...names].join(', ')}`,
        });
    } else for (const p of personas) out.push({ ...item, key: `${item.key}~${p.name}`, persona: p.name });
  }
  return { items: out, errors };
}

/** The text and cause of an item whose metrics could not all score; provider trouble outranks the others. */
export function describeScoreErrors(grade: ItemGrade): {
  text: string;
  cause: 'provider' | 'input' | 'metric';
} {
  const causes = new Set(grade.errors.map((e) => e.cause));
  const cause = causes.has('provider') ? 'provider' : causes.has('input') ? 'input' : 'metric';
  const text = grade.errors.map(
    (e) => `${e.metric} could not score: ${e.reason.replace(/^could not score: /, '')}`,
  );
  return { text: text.join('; '), cause };
}

/** Creates the run service over the store and job queue. */
export async function createRunService(deps: RunServiceDeps): Promise<RunService> {
  const repo = await createRunRepository(deps.store);
  let checkpointer: StoreCheckpointSaver | undefined;
  const saver = async () => {
    checkpointer ??= await createStoreCheckpointer(deps.store);
    return checkpointer;
  };
  const progressEvery = deps.progressIntervalMs ?? 250;
  const datasets = deps.datasets ?? (deps.langfuse ? createLangfuseDatasetSource(deps.langfuse) : undefined);

  function buildRunnables(suite: Suite) {
    const target = createTarget(suite.target, {
      env: deps.env,
      ...(deps.llm ? { llm: deps.llm } : {}),
      ...(deps.prompts ? { prompts: deps.prompts } : {}),
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
    });
    if (!target.ok) return { ok: false as const, error: target.error };
    const metrics: Metric[] = [];
    for (const m of suite.metrics) {
      const built = createMetricFromSpec(m, {
        // Files named by metrics (custom modules, schemaPath) are relative to the suite file.
        baseDir: dirname(suite.file),
        ...(deps.llm ? { llm: deps.llm } : {}),
        ...(deps.judgeModel ? { judgeModel: deps.judgeModel } : {}),
        logger: deps.logger,
      });
      if (!built.ok) return { ok: false as const, error: built.error };
      metrics.push(built.graded.metric);
    }
    return { ok: true as const, target: target.target, metrics };
  }

  async function ensureJob(run: Run): Promise<string> {
    const job = run.jobId ? await deps.queue.get(run.jobId) : null;
    if (job && (job.status === 'queued' || job.status === 'running')) return job._id;
    const { job: fresh } = await deps.queue.enqueue({ type: RUN_JOB_TYPE, payload: { runId: run._id } });
    await repo.updateRun(run._id, {
      $set: { jobId: fresh._id, status: 'queued', updatedAt: deps.clock.now() },
    });
    return fresh._id;
  }

  /** The items a run of `suite` is made of, as read from its dataset now, with the digest that identifies them. */
  async function loadItems(suite: Suite, limit: number | undefined) {
    let loaded: DatasetSourceResult;
    if (suite.dataset.kind === 'file')
      loaded = loadDatasetFile(suite.dataset.path, suite.dataset.format, {
        ...(deps.maxFieldBytes ? { maxFieldBytes: deps.maxFieldBytes } : {}),
      });
    else if (datasets) {
      // Langfuse dataset items meet the same per-field limit as file rows (RECORD_FIELD_MAX_BYTES).
      const fetched = await datasets.getDatasetItems(suite.dataset.name);
      const limit = deps.maxFieldBytes ?? DEFAULT_FIELD_MAX_BYTES;
      const tooBig = fetched.items.flatMap((item) => {
        const { key: _key, row: _row, ...fields } = item;
        const reason = oversizedField(fields, limit);
        return reason ? [{ row: item.row, reason }] : [];
      });
      const bad = new Set(tooBig.map((e) => e.row));
      loaded = {
        ...fetched,
        items: fetched.items.filter((i) => !bad.has(i.row)),
        errors: [...fetched.errors, ...tooBig],
      };
    } else
      throw new ArbiterError(
        'USAGE',
        `${suite.file}: Langfuse dataset '${suite.dataset.name}' needs Langfuse`,
        {
          hint: 'Set LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY, or point `dataset` at a JSONL, CSV or YAML file.',
        },
      );
    const expanded = expandPersonas(loaded.items, suite.conversation?.personas);
    const rowErrors = [...loaded.errors, ...expanded.errors].sort((a, b) => a.row - b.row);
    const items = limit ? expanded.items.slice(0, limit) : expanded.items;
    const digest = createHash('sha256').update(JSON.stringify(items)).digest('hex');
    return { loaded, items, rowErrors, digest };
  }

  /**
   * Makes a run whose items were still being stored when its process died runnable: the items are read again from
   * the dataset and, if they are the same snapshot (digest), the missing ones are stored; otherwise the run fails
   * saying why. Returns the run as it now is.
   */
  async function restoreItems(run: Run): Promise<Run> {
    const stored = await repo.countItems(run._id);
    const ready = async () => {
      await repo.updateRun(run._id, { $set: { itemsStored: true, updatedAt: deps.clock.now() } });
      return { ...run, itemsStored: true };
    };
    if (stored === run.total) return ready();
    let reason: string;
    try {
      const again = await loadItems(readRunSuite(run), run.options.limit);
      if (again.digest === run.itemsDigest && again.items.length === run.total) {
        await repo.insertItems(run._id, again.items);
        deps.logger.warn(
          { runId: run._id, stored, total: run.total },
          'run interrupted while storing its items: the missing items were read again from the unchanged dataset',
        );
        return ready();
      }
      reason = `${run.datasetSource} has changed since`;
    } catch (err) {
      reason = `${run.datasetSource} cannot be read again (${err instanceof Error ? err.message : String(err)})`;
    }
    const error = `only ${stored} of the run's ${run.total} items were stored before its process stopped, and ${reason}; start the suite again (\`arbiter run --new\`)`;
    await repo.updateRun(run._id, {
      $set: { status: 'failed', error, finishedAt: deps.clock.now(), updatedAt: deps.clock.now() },
    });
    deps.logger.warn({ runId: run._id, stored, total: run.total }, error);
    throw new PermanentJobError(`run ${run._id}: ${error}`);
  }

  function launchActor(options: StartRunOptions): AuditActor {
    if (options.actor) return options.actor;
    if (options.trigger?.requestedBy) return { via: 'slack', user: options.trigger.requestedBy };
    return SYSTEM_ACTOR;
  }

  /** Records a launch once per run (the record's key is the run id). */
  async function auditLaunch(run: Run, options: StartRunOptions): Promise<void> {
    const why = run.trigger
      ? ` for ${run.trigger.prompt.name} v${run.trigger.prompt.version} (${run.trigger.reason})`
      : '';
    await recordAudit(
      deps.audit,
      {
        key: `run.launch:${run._id}`,
        actor: launchActor(options),
        action: 'run.launch',
        object: { type: 'run', id: run._id },
        summary: `Launched ${run.suiteName} (${run.total} items)${why}`,
        details: {
          suite: run.suiteName,
          items: run.total,
          ...(run.options.limit ? { limit: run.options.limit } : {}),
          ...(run.trigger ? { trigger: run.trigger.reason, prompt: run.trigger.prompt } : {}),
        },
      },
      deps.logger,
    );
  }

  async function startRun(suite: Suite, options: StartRunOptions = {}) {
    const limitTag = JSON.stringify({ limit: options.limit ?? null });
    const hash = suiteHash(suite, limitTag);
    if (options.idempotencyKey) {
      const existing = await repo.findRun({ idempotencyKey: options.idempotencyKey });
      if (existing) {
        // A retried request whose first attempt stopped between the run and its record: the record is made now
        // (keyed by run, so a record already there stays the only one).
        await auditLaunch(existing, options);
        const jobId = TERMINAL.has(existing.status) ? (existing.jobId ?? '') : await ensureJob(existing);
        return { runId: existing._id, jobId, created: false, resumed: !TERMINAL.has(existing.status) };
      }
    }
    // With an idempotency key the key alone decides (a chat command, a button): latching onto another request's
    // unfinished run would leave this key unrecorded, so a retry after that run ended would start a second run.
    if (options.resume !== false && !options.idempotencyKey) {
      const unfinished = await repo.findRun({ suiteHash: hash, status: { $in: ['queued', 'running'] } });
      if (unfinished) {
        const jobId = await ensureJob(unfinished);
        await recordAudit(
          deps.audit,
          {
            actor: launchActor(options),
            action: 'run.resume',
            object: { type: 'run', id: unfinished._id },
            summary: `Resumed ${unfinished.suiteName} at ${unfinished.progress.done}/${unfinished.total}`,
          },
          deps.logger,
        );
        return { runId: unfinished._id, jobId, created: false, resumed: true };
      }
    }
    const built = buildRunnables(suite);
    if (!built.ok) throw new ArbiterError('USAGE', `${suite.file}: ${built.error}`);
    const { loaded, items, rowErrors, digest } = await loadItems(suite, options.limit);
    if (items.length === 0) {
      const shown = rowErrors.slice(0, 10).map((e) => `row ${e.row}: ${e.reason}`);
      throw new ArbiterError('USAGE', `${suite.file}: the dataset has no usable rows`, {
        ...(shown.length ? { hint: shown.join('\n') } : {}),
      });
    }
    const now = deps.clock.now();
    const runId = deps.ids.newId('run');
    const concurrency = options.concurrency ?? suite.concurrency ?? 4;
    const run: Run = {
      _id: runId,
      suiteName: suite.name,
      suiteFile: suite.file,
      suiteHash: hash,
      suiteJson: JSON.stringify(suite),
      status: 'queued',
      ...(options.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : {}),
      ...(options.origin ? { origin: options.origin } : {}),
      options: {
        concurrency,
        ...(options.limit ? { limit: options.limit } : {}),
        ...(options.failUnder !== undefined ? { failUnder: options.failUnder } : {}),
        ...(options.maxErrors !== undefined ? { maxErrors: options.maxErrors } : {}),
      },
      total: items.length,
      // Not runnable until every item is stored: a crash between the batches leaves a run that restoreItems completes.
      itemsStored: false,
      itemsDigest: digest,
      datasetErrors: rowErrors,
      ...(suite.warnings?.length ? { warnings: suite.warnings } : {}),
      datasetSource: suite.dataset.kind === 'file' ? suite.dataset.path : `langfuse:${suite.dataset.name}`,
      ...(suite.dataset.kind === 'langfuse'
        ? {
            langfuse: {
              datasetName: suite.dataset.name,
              ...(loaded.datasetId ? { datasetId: loaded.datasetId } : {}),
              ...(suite.description ? { runDescription: suite.description } : {}),
            },
          }
        : {}),
      ...(options.trigger ? { trigger: options.trigger } : {}),
      progress: { done: 0, total: items.length, errors: 0, meanScore: null },
      createdAt: now,
      updatedAt: now,
    };
    try {
      await repo.insertRun(run);
    } catch (err) {
      if (options.idempotencyKey && err instanceof ArbiterError && err.code === 'STORE_DUPLICATE_KEY')
        return startRun(suite, options);
      throw err;
    }
    await repo.insertItems(runId, items);
    await repo.updateRun(runId, { $set: { itemsStored: true } });
    const { job } = await deps.queue.enqueue({
      type: RUN_JOB_TYPE,
      payload: { runId },
      ...(options.idempotencyKey ? { idempotencyKey: `run:${options.idempotencyKey}` } : {}),
    });
    await repo.updateRun(runId, { $set: { jobId: job._id } });
    deps.logger.info({ runId, suite: suite.name, items: items.length }, 'run started');
    await auditLaunch(run, options);
    return { runId, jobId: job._id, created: true, resumed: false };
  }

  function toSummaryInput(v: RunItemView): SummaryInput {
    return {
      key: v.doc.itemKey,
      status: v.doc.status,
      score: v.doc.score ?? null,
      passed: v.doc.passed ?? false,
      needsReview: v.doc.needsReview ?? false,
      scores: v.result?.scores ?? [],
      ...(v.doc.errorCause ? { errorCause: v.doc.errorCause } : {}),
      ...(v.doc.heuristicOutput ? { heuristicOutput: true } : {}),
      inputTokens: v.doc.inputTokens ?? 0,
      outputTokens: v.doc.outputTokens ?? 0,
      ...(v.doc.tokens ? { tokens: v.doc.tokens } : {}),
      costUsd: v.doc.costUsd ?? 0,
      ...(v.doc.costUnknown ? { costUnknown: true } : {}),
    };
  }

  async function finalize(run: Run, status: 'completed' | 'cancelled'): Promise<RunSummary> {
    const views = await repo.items(run._id);
    const now = deps.clock.now();
    const suite = readRunSuite(run);
    const summary = summarize(
      views.map(toSummaryInput),
      {
        ...suite.threshold,
        ...(run.options.failUnder !== undefined ? { failUnder: run.options.failUnder } : {}),
        ...(run.options.maxErrors !== undefined ? { maxErrors: run.options.maxErrors } : {}),
      },
      now.getTime() - (run.startedAt ?? run.createdAt).getTime(),
      run.total,
    );
    if (summary.missing > 0)
      deps.logger.error(
        { runId: run._id, missing: summary.missing, total: run.total },
        'run finished with items missing from the store; it cannot pass',
      );
    await repo.updateRun(run._id, {
      $set: {
        status,
        summary,
        finishedAt: now,
        updatedAt: now,
        progress: {
          done: summary.finished,
          total: summary.total,
          errors: summary.errors,
          meanScore: summary.meanScore,
        },
      },
    });
    return summary;
  }

  async function publish(run: Run, scoredEarly?: ReadonlySet<string>): Promise<PublishOutcome> {
    if (!run.langfuse || !deps.langfuse) return { linked: 0, failed: 0 };
    const views = await repo.items(run._id);
    const outcome = await publishRunToLangfuse(
      {
        client: deps.langfuse,
        repo,
        logger: deps.logger,
        ...(deps.tracing ? { tracing: deps.tracing } : {}),
      },
      run,
      views,
      scoredEarly,
    );
    const linked = await repo.countItems(run._id, { 'langfuse.scored': true, 'langfuse.traced': true });
    await repo.updateRun(run._id, {
      $set: {
        'langfuse.linked': linked,
        'langfuse.failed': outcome.failed,
        'langfuse.publishedAt': deps.clock.now(),
        ...(outcome.lastError ? { 'langfuse.lastError': outcome.lastError } : {}),
      },
      ...(outcome.lastError ? {} : { $unset: { 'langfuse.lastError': '' } }),
    });
    if (outcome.failed > 0)
      deps.logger.warn(
        { runId: run._id, failed: outcome.failed, error: outcome.lastError },
        'some items could not be linked in Langfuse; `publishToLangfuse` sends the rest later',
      );
    return { ...outcome, linked };
  }

  async function execute(payload: { runId: string }, ctx: JobContext): Promise<unknown> {
    const found = await repo.getRun(payload.runId);
    if (!found) throw new PermanentJobError(`run ${payload.runId} not found`);
    if (TERMINAL.has(found.status)) return { runId: found._id, status: found.status };
    const run = found.itemsStored === false ? await restoreItems(found) : found;
    const suite = readRunSuite(run);
    const built = buildRunnables(suite);
    if (!built.ok) {
      await repo.updateRun(run._id, {
        $set: { status: 'failed', error: built.error, updatedAt: deps.clock.now() },
      });
      throw new PermanentJobError(built.error);
    }
    const personas = new Map((suite.conversation?.personas ?? []).map((p) => [p.name, p]));
    // At most `concurrency` target calls at once (see permits.ts); twice as many items in flight, so a freed permit
    // goes straight to an item that is already waiting with its request ready.
    const permits = new Permits(Math.max(1, run.options.concurrency));
    const engine = createItemGraph({
      target: limitTarget(built.target, permits),
      metrics: built.metrics,
      checkpointer: await saver(),
      ...(deps.llm ? { llm: deps.llm } : {}),
      personas,
      ...(suite.conversation ? { conversation: suite.conversation } : {}),
    });
    // Every in-flight target call and graph step listens on the job's signal; many at once is expected here.
    setMaxListeners(0, ctx.signal);
    const startedAt = run.startedAt ?? deps.clock.now();
    await repo.updateRun(run._id, { $set: { status: 'running', startedAt, updatedAt: deps.clock.now() } });
    const current: Run = { ...run, status: 'running', startedAt };

    // Counters start from what is already stored, so a resumed run never counts an item twice.
    const finished = (await repo.items(run._id)).filter((v) => v.doc.status !== 'pending');
    let done = finished.length;
    let errors = finished.filter((v) => v.doc.status === 'error').length;
    // The live mean is over graded items, as the summary's is.
    let scored = finished.filter((v) => v.doc.status === 'done' && typeof v.doc.score === 'number').length;
    let scoreSum = finished.reduce((a, v) => a + (v.doc.status === 'error' ? 0 : (v.doc.score ?? 0)), 0);
    const pending = await repo.pendingItems(run._id);
    const total = run.total;
    let lastWrite = 0;
    let writing: Promise<void> | undefined;
    const progress = (): RunProgress => ({
      done,
      total,
      errors,
      meanScore: scored ? scoreSum / scored : null,
    });
    const flush = async (force: boolean) => {
      const now = Date.now();
      if (!force && (now - lastWrite < progressEvery || writing)) return;
      lastWrite = now;
      const p = progress();
      writing = (async () => {
        await repo.updateRun(run._id, { $set: { progress: p, updatedAt: deps.clock.now() } });
        await ctx.progress({
          done: p.done,
          total: p.total,
          message: `${p.done}/${p.total} items, ${p.errors} errors${p.meanScore === null ? '' : `, mean ${p.meanScore.toFixed(3)}`}`,
        });
        deps.onProgress?.(run._id, p);
      })().finally(() => {
        writing = undefined;
      });
      await writing;
    };
    await flush(true);

    const mode = deps.engine ?? 'graph';
    // Only threads checkpointed before a crash need their state read; every other item starts fresh.
    const checkpointed = mode === 'graph' ? await (await saver()).threadsWithCheckpoints(run._id) : new Set();
    const tracing =
      deps.tracing && (current.langfuse || deps.traceItems === 'all') ? deps.tracing : undefined;
    // Scores of items of a Langfuse dataset go out as items finish, not all at the end of the run.
    const scorePublisher =
      tracing && current.langfuse && deps.langfuse
        ? createItemScorePublisher({ client: deps.langfuse, logger: deps.logger }, current)
        : undefined;
    let next = 0;
    const lanes = Math.max(1, Math.min(permits.size * 2, pending.length || 1));
    const lane = async () => {
      while (!ctx.signal.aborted) {
        const entry = pending[next++];
        if (!entry) return;
        const { item } = entry;
        const started = performance.now();
        let outcome: Awaited<ReturnType<typeof runItem>>;
        try {
          const threadId = `${run._id}::${item.key}`;
          const fresh = !checkpointed.has(threadId);
          // LangGraph reads the thread's latest checkpoint when it starts; a fresh thread has none to read.
          if (fresh && checkpointer) checkpointer.assumeEmpty(threadId);
          const run1 = () => runItem(engine, item, threadId, { signal: ctx.signal, mode, fresh });
          outcome = tracing
            ? await traceRunItem(tracing, current, item, run1, (o) => ({
                output: o.result.transcript ?? o.result.output ?? null,
                metadata: {
                  stopReason: o.result.stopReason,
                  turns: o.result.turns,
                  costUsd: o.usage.costUsd,
                  ...(o.result.scores.length
                    ? { scores: Object.fromEntries(o.result.scores.map((sc) => [sc.metric, sc.value])) }
                    : {}),
                },
                ...(o.error ? { error: o.error } : {}),
              }))
            : await run1();
        } catch (err) {
          if (ctx.signal.aborted) return;
          // An engine failure is this item's error, not the run's: the other items still run.
          outcome = {
            result: { scores: [], stopReason: 'engine-error', turns: 0 },
            usage: {
              inputTokens: 0,
              outputTokens: 0,
              tokens: {
                target: { input: 0, output: 0 },
                simulator: { input: 0, output: 0 },
                judge: { input: 0, output: 0 },
              },
              costUsd: 0,
              targetMs: 0,
            },
            error: `engine error: ${describeError(err)}`,
          };
        }
        const grade = outcome.error ? undefined : gradeItem(outcome.result.scores, suite.metrics);
        const scoreError = grade && grade.errors.length > 0 ? describeScoreErrors(grade) : undefined;
        const errored = outcome.error !== undefined || scoreError !== undefined;
        const score = grade && !scoreError ? grade.score : null;
        const stored = await repo.finishItem(run._id, item.key, {
          status: errored ? 'error' : 'done',
          result: outcome.result,
          score,
          passed: !errored && grade !== undefined && grade.passed,
          needsReview: !errored && outcome.result.scores.some((sc) => sc.needsReview === true),
          ...(outcome.error ? { error: outcome.error, errorCause: outcome.errorCause ?? 'target' } : {}),
          ...(scoreError ? { error: scoreError.text, errorCause: scoreError.cause } : {}),
          ...(outcome.heuristicOutput ? { heuristicOutput: true } : {}),
          latencyMs: Math.round(performance.now() - started),
          costUsd: outcome.usage.costUsd,
          ...(outcome.usage.costUnknown ? { costUnknown: true } : {}),
          inputTokens: outcome.usage.inputTokens,
          outputTokens: outcome.usage.outputTokens,
          tokens: outcome.usage.tokens,
          finishedAt: deps.clock.now(),
          // Recorded now, so the publication at the end marks the confirmed traces in one write.
          ...(tracing && current.langfuse && item.sourceId
            ? { traceId: itemSpanIds(current._id, item.key).traceId }
            : {}),
        });
        if (stored) {
          scorePublisher?.add(item, outcome.result.scores);
          done += 1;
          if (errored) errors += 1;
          else if (score !== null) {
            scored += 1;
            scoreSum += score;
          }
        }
        await flush(false);
      }
    };
    await Promise.all(Array.from({ length: lanes }, lane));
    await scorePublisher?.drain();
    if (writing) await writing;
    await flush(true).catch((err: unknown) => deps.logger.warn({ err }, 'recording final progress failed'));
    if (ctx.signal.aborted) {
      if (reasonOf(ctx.signal) === 'cancel') {
        await finalize(current, 'cancelled');
        deps.logger.info({ runId: run._id }, 'run cancelled');
      }
      throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error('run aborted');
    }
    // Before the run turns terminal: a crash here publishes again on resume, sending only what is missing.
    await publish(current, scorePublisher?.scored).catch((err: unknown) =>
      deps.logger.warn({ err, runId: run._id }, 'linking the run in Langfuse failed'),
    );
    const summary = await finalize(current, 'completed');
    await (await saver()).deleteGroup(run._id);
    deps.logger.info(
      { runId: run._id, meanScore: summary.meanScore, passed: summary.gate.passed },
      'run finished',
    );
    return { runId: run._id, passed: summary.gate.passed, meanScore: summary.meanScore };
  }

  return {
    startRun,
    handlers: { [RUN_JOB_TYPE]: { payload: RunJobPayloadSchema, run: execute } },
    getRun: (id) => repo.getRun(id),
    listRuns: (o) => repo.listRuns(o),
    items: (id) => repo.items(id),
    async cancelRun(runId, options = {}) {
      const run = await repo.getRun(runId);
      if (!run)
        throw new ArbiterError('NOT_FOUND', `No run with id ${runId}.`, {
          hint: 'List runs with `arbiter runs list`.',
        });
      if (TERMINAL.has(run.status)) return run;
      const job = run.jobId ? await deps.queue.cancel(run.jobId).catch(() => null) : null;
      if (!job || job.status === 'cancelled') await finalize(run, 'cancelled');
      const after = (await repo.getRun(runId))!;
      await recordAudit(
        deps.audit,
        {
          actor: options.actor ?? SYSTEM_ACTOR,
          action: 'run.cancel',
          object: { type: 'run', id: runId },
          summary:
            after.status === 'cancelled'
              ? `Cancelled ${run.suiteName} at ${run.progress.done}/${run.total}`
              : `Asked ${run.suiteName} to stop at ${run.progress.done}/${run.total}`,
          details: { from: run.status, to: after.status },
        },
        deps.logger,
      );
      return after;
    },
    async retryErrors(runId, options = {}) {
      const run = await repo.getRun(runId);
      if (!run)
        throw new ArbiterError('NOT_FOUND', `No run with id ${runId}.`, {
          hint: 'List runs with `arbiter runs list`.',
        });
      if (!TERMINAL.has(run.status))
        throw new ArbiterError(
          'USAGE',
          `Run ${runId} is still ${run.status}; retry its errored items once it ends.`,
          {
            hint: `Wait for it, or cancel it with \`arbiter runs cancel ${runId}\`.`,
          },
        );
      // Only errored items may run again: a run that stopped early (cancelled, failed) still has items that never
      // ran, and retrying would quietly run those too.
      const never = run.status === 'completed' ? 0 : await repo.countItems(runId, { status: 'pending' });
      if (never > 0)
        throw new ArbiterError(
          'USAGE',
          `Run ${runId} ended ${run.status} with ${never} item(s) that never ran; --retry-errors runs only errored items of a finished run.`,
          { hint: `Start the suite again: \`arbiter run ${run.suiteFile} --new\`.` },
        );
      const { keys } = await repo.resetErroredItems(runId);
      if (keys.length === 0) throw new ArbiterError('USAGE', `Run ${runId} has no errored items to retry.`);
      // A finished thread's checkpoint would hand back the old error instead of running the item again.
      const saverNow = await saver();
      for (const key of keys) await saverNow.deleteThread(`${runId}::${key}`);
      const now = deps.clock.now();
      await repo.updateRun(runId, {
        $set: {
          status: 'queued',
          updatedAt: now,
          ...(options.maxErrors !== undefined ? { 'options.maxErrors': options.maxErrors } : {}),
        },
        $unset: { summary: '', finishedAt: '', error: '' },
      });
      const { job } = await deps.queue.enqueue({ type: RUN_JOB_TYPE, payload: { runId } });
      await repo.updateRun(runId, { $set: { jobId: job._id } });
      deps.logger.info({ runId, items: keys.length }, 'retrying errored items');
      await recordAudit(
        deps.audit,
        {
          actor: options.actor ?? SYSTEM_ACTOR,
          action: 'run.retry-errors',
          object: { type: 'run', id: runId },
          summary: `Retried ${keys.length} errored item(s) of ${run.suiteName}`,
          details: { items: keys.length, jobId: job._id },
        },
        deps.logger,
      );
      return { runId, jobId: job._id, items: keys.length };
    },
    async compare(a, b) {
      const [ra, rb] = await Promise.all([repo.getRun(a), repo.getRun(b)]);
      for (const [id, r] of [
        [a, ra],
        [b, rb],
      ] as const)
        if (!r)
          throw new ArbiterError('NOT_FOUND', `No run with id ${id}.`, {
            hint: 'List runs with `arbiter runs list`.',
          });
      const [ia, ib] = await Promise.all([repo.items(a), repo.items(b)]);
      return compareRuns({ run: ra!, items: ia }, { run: rb!, items: ib });
    },
    async publishToLangfuse(runId) {
      const run = await repo.getRun(runId);
      if (!run)
        throw new ArbiterError('NOT_FOUND', `No run with id ${runId}.`, {
          hint: 'List runs with `arbiter runs list`.',
        });
      if (!run.langfuse)
        throw new ArbiterError(
          'USAGE',
          `Run ${runId} did not use a Langfuse dataset; there is nothing to link.`,
        );
      if (!deps.langfuse)
        throw new ArbiterError('USAGE', 'Langfuse is not configured.', {
          hint: 'Set LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY.',
        });
      return publish(run);
    },
    repository: repo,
  };
}
