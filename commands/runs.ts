// `arbiter run` and `arbiter runs`: evaluation runs from the command line, plus the transport-neutral rendering of
// run results (Message) that Slack reuses. `arbiter run` works standalone: it opens the store, starts the run as a
// durable job and executes it in-process with a worker until it finishes, then prints the summary and returns the
// exit code (0 passed, 1 below the threshold, 2 usage or configuration, 3 infrastructure).
import { cliActor, createAuditLog } from '../audit/index.ts';
import { writeFile as fsWriteFile } from 'node:fs/promises';
import {
  ArbiterError,
  type Clock,
  createSilentLogger,
  type Env,
  formatDuration,
  formatUserError,
  type Ids,
  isArbiterError,
  isCodedError,
  type Logger,
  systemClock,
  systemIds,
} from '../config/index.ts';
import { createLlm, type Llm, langfuseTracingFromEnv } from '../llm/index.ts';
import { langfuseFromEnv } from '../langfuse/index.ts';
import {
  createLangfusePromptSource,
  createRunService,
  type EngineMode,
  langfuseRunName,
  loadSuite,
  type PromptSource,
  type Run,
  type RunComparison,
  type RunItemView,
  type RunProgress,
  renderJunit,
  summaryExitCode,
} from '../runs/index.ts';
import { createJobQueue, createWorker, type DocumentStore, openStore } from '../storage/index.ts';
import { escapeMrkdwn, type Message, type MessageSection, plainText } from '../chat/index.ts';
import { findSuite } from './suites.ts';

/** What the run commands need from the outside world. */
export interface RunsCliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** True when stderr is a terminal: draw a progress bar instead of progress lines. */
  isTTY?: boolean;
  writeFile?(path: string, text: string): Promise<void>;
}

/** Dependencies of the run commands; everything but env and io has a production default. */
export interface RunsCliDeps {
  env: Env;
  /** Raw environment for `${ENV:NAME}` header values of http targets (never logged). */
  environment: Record<string, string | undefined>;
  io: RunsCliIo;
  store?: DocumentStore;
  llm?: Llm;
  prompts?: PromptSource;
  fetch?: typeof fetch;
  clock?: Clock;
  ids?: Ids;
  logger?: Logger;
  engine?: EngineMode;
  /** How often the CLI looks at the run while waiting, ms. */
  pollMs?: number;
  /** The signed URL of the run's report page; the summary of `arbiter run` ends with it (the CLI wires it). */
  reportUrl?: (kind: 'run', id: string, store: DocumentStore) => Promise<string>;
}

/**
 * `arbiter run` with its arguments, as the command registry (commands/table.ts) parsed and validated them: this file
 * reads no argv.
 */
export interface RunCliArgs {
  suite?: string | undefined;
  limit?: number | undefined;
  concurrency?: number | undefined;
  json?: boolean | undefined;
  junit?: string | undefined;
  failUnder?: number | undefined;
  maxErrors?: number | undefined;
  retryErrors?: string | undefined;
  new?: boolean | undefined;
}

/** One `arbiter runs …` command with its arguments, as the command registry parsed and validated them. */
export type RunsCliCommand =
  | { name: 'runs.list'; suite?: string | undefined; limit?: number | undefined; json?: boolean | undefined }
  | { name: 'runs.show'; id: string; json?: boolean | undefined; junit?: string | undefined }
  | { name: 'runs.compare'; a: string; b: string; json?: boolean | undefined }
  | { name: 'runs.cancel'; id: string }
  | { name: 'runs.publish'; id: string };

/** Runs `arbiter runs list` prints when --limit is not given. */
export const RUNS_LIST_DEFAULT = 20;

/** A suite for the CLI: a path anywhere, a file name in SUITES_DIR or a suite's `name:`, as in chat. */
function cliSuiteFile(ref: string, suitesDir: string): string {
  try {
    return findSuite(ref, { suitesDir, anywhere: true });
  } catch (err) {
    // A path that names no file is reported by the loader (`cannot read suite (ENOENT)`), as before.
    if (isArbiterError(err, 'NOT_FOUND') && /[\\/]|\.ya?ml$/.test(ref)) return ref;
    throw err;
  }
}

async function guarded(io: RunsCliIo, fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (err) {
    if (isCodedError(err)) {
      io.stderr(`${formatUserError(err)}\n`);
      return err.exitCode;
    }
    io.stderr(`Unexpected error: ${err instanceof Error ? err.message : String(err)}\n`);
    return 3;
  }
}

async function withStore<T>(deps: RunsCliDeps, fn: (store: DocumentStore) => Promise<T>): Promise<T> {
  if (deps.store) return fn(deps.store);
  const store = await openStore(deps.env, { logger: deps.logger ?? createSilentLogger() });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

async function service(
  deps: RunsCliDeps,
  store: DocumentStore,
  onProgress?: (id: string, p: RunProgress) => void,
) {
  const clock = deps.clock ?? systemClock;
  const ids = deps.ids ?? systemIds;
  const logger = deps.logger ?? createSilentLogger();
  const queue = await createJobQueue(store, { clock, ids, defaultMaxAttempts: deps.env.JOB_MAX_ATTEMPTS });
  const built = deps.llm ? undefined : createLlm({ store, env: deps.env, logger });
  const llm = deps.llm ?? built!;
  // Run item traces need the pipeline even without LLM_TRACE; publishing a run flushes it before its scores.
  const tracing = built?.tracing ?? langfuseTracingFromEnv(deps.env, { logger });
  const judgeModel =
    (llm as { judgeModel?: string }).judgeModel ?? deps.env.ARBITER_JUDGE_MODEL ?? 'offline:heuristic';
  const env = deps.env;
  const langfuse = langfuseFromEnv(env, { logger, ...(deps.fetch ? { fetch: deps.fetch } : {}) });
  const svc = await createRunService({
    store,
    queue,
    clock,
    ids,
    logger,
    env: deps.environment,
    ...(env.RECORD_FIELD_MAX_BYTES ? { maxFieldBytes: env.RECORD_FIELD_MAX_BYTES } : {}),
    llm,
    judgeModel,
    // With Langfuse configured, prompt targets and Langfuse datasets work from the CLI as they do in the bot.
    ...(langfuse ? { langfuse, prompts: createLangfusePromptSource(langfuse) } : {}),
    ...(deps.prompts ? { prompts: deps.prompts } : {}),
    ...(tracing
      ? { tracing, traceItems: deps.env.LLM_TRACE ? ('all' as const) : ('langfuse' as const) }
      : {}),
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    ...(deps.engine ? { engine: deps.engine } : {}),
    ...(onProgress ? { onProgress } : {}),
    audit: createAuditLog(store, { clock }),
  });
  return { svc, queue, logger, tracing };
}

/** A progress bar line for a terminal. */
export function progressBar(p: RunProgress, width = 30): string {
  const frac = p.total ? p.done / p.total : 0;
  const filled = Math.round(frac * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.done}/${p.total}  errors ${p.errors}  mean ${p.meanScore === null ? '—' : p.meanScore.toFixed(3)}`;
}

/** A plain progress line for logs and CI. */
export function progressLine(p: RunProgress): string {
  return `progress ${p.done}/${p.total} errors=${p.errors} mean=${p.meanScore === null ? '-' : p.meanScore.toFixed(3)}`;
}

function exitCodeOf(run: Run): number {
  if (run.status === 'completed' && run.summary) return summaryExitCode(run.summary);
  return 3;
}

function runJson(run: Run) {
  const { suiteJson: _s, ...rest } = run;
  return rest;
}

function itemJson(v: RunItemView) {
  return {
    key: v.doc.itemKey,
    row: v.doc.row,
    status: v.doc.status,
    ...(v.item.persona ? { persona: v.item.persona } : {}),
    input: v.item.input,
    ...(v.result?.output !== undefined ? { output: v.result.output } : {}),
    ...(v.result?.transcript ? { transcript: v.result.transcript } : {}),
    score: v.doc.score ?? null,
    passed: v.doc.passed ?? false,
    ...(v.doc.error ? { error: v.doc.error } : {}),
    ...(v.doc.errorCause ? { errorCause: v.doc.errorCause } : {}),
    ...(v.doc.heuristicOutput ? { heuristicOutput: true } : {}),
    scores: v.result?.scores ?? [],
    latencyMs: v.doc.latencyMs ?? null,
    costUsd: v.doc.costUsd ?? 0,
    ...(v.result ? { stopReason: v.result.stopReason, turns: v.result.turns } : {}),
    ...(v.result?.targetFinish ? { targetFinish: v.result.targetFinish } : {}),
  };
}

/** `arbiter run <suite.yaml>`: runs a suite to the end in this process and returns the exit code. */
export async function runRunCommand(args: RunCliArgs, deps: RunsCliDeps): Promise<number> {
  const { io } = deps;
  return guarded(io, async () => {
    const { maxErrors, concurrency, limit, failUnder } = args;
    const retryOf = args.retryErrors;
    if (retryOf !== undefined) {
      return withStore(deps, async (store) => {
        const { svc, queue, logger, tracing } = await service(deps, store);
        const retried = await svc.retryErrors(retryOf, {
          ...(maxErrors !== undefined ? { maxErrors } : {}),
          actor: cliActor(deps.env),
        });
        io.stderr(`Retrying ${retried.items} errored item(s) of run ${retried.runId}.\n`);
        return finishInProcess(
          deps,
          store,
          svc,
          queue,
          logger,
          retried.runId,
          { resumed: false },
          args,
          tracing,
        );
      });
    }
    // The registry's check makes sure a suite is named when --retry-errors is not given.
    const file = args.suite!;
    const suite = loadSuite(cliSuiteFile(file, deps.env.SUITES_DIR), deps.environment);
    for (const w of suite.warnings ?? []) io.stderr(`warning: ${w}\n`);
    return withStore(deps, async (store) => {
      const { svc, queue, logger, tracing } = await service(deps, store);
      const started = await svc.startRun(suite, {
        actor: cliActor(deps.env),
        ...(concurrency ? { concurrency } : {}),
        ...(limit ? { limit } : {}),
        ...(failUnder !== undefined ? { failUnder } : {}),
        ...(maxErrors !== undefined ? { maxErrors } : {}),
        resume: !args.new,
      });
      const first = (await svc.getRun(started.runId))!;
      io.stderr(
        started.resumed
          ? `Resuming run ${started.runId} of ${suite.name}: ${first.progress.done}/${first.total} items already done.\n`
          : `Run ${started.runId} of ${suite.name}: ${first.total} items${first.datasetErrors.length ? `, ${first.datasetErrors.length} bad dataset row(s) skipped` : ''}.\n`,
      );
      return finishInProcess(deps, store, svc, queue, logger, started.runId, started, args, tracing);
    });
  });
}

type RunSvc = Awaited<ReturnType<typeof service>>['svc'];
type RunQueue = Awaited<ReturnType<typeof service>>['queue'];

/** Executes a started run in this process with a worker until it ends, then prints it and returns the exit code. */
async function finishInProcess(
  deps: RunsCliDeps,
  store: DocumentStore,
  svc: RunSvc,
  queue: RunQueue,
  logger: Logger,
  runId: string,
  started: { resumed: boolean },
  values: { json?: boolean | undefined; junit?: string | undefined },
  tracing?: { shutdown(): Promise<void> },
): Promise<number> {
  const { io } = deps;
  const tty = io.isTTY === true;
  let lastLine = 0;
  let lastDone = -1;
  const show = (p: RunProgress, force = false) => {
    if (tty) io.stderr(`\r${progressBar(p)}`);
    else if (force || (p.done !== lastDone && Date.now() - lastLine >= 1000)) {
      io.stderr(`${progressLine(p)}\n`);
      lastLine = Date.now();
    }
    lastDone = p.done;
  };
  const first = (await svc.getRun(runId))!;
  const worker = createWorker({
    queue,
    handlers: svc.handlers,
    concurrency: 1,
    leaseMs: deps.env.JOB_LEASE,
    pollMs: 50,
    logger,
  });
  worker.start();
  let run: Run = first;
  let waitingNoted = false;
  try {
    for (;;) {
      run = (await svc.getRun(runId))!;
      if (run.progress.done !== lastDone) show(run.progress);
      if (run.status === 'completed' || run.status === 'cancelled' || run.status === 'failed') break;
      const job = run.jobId ? await queue.get(run.jobId) : null;
      if (job && (job.status === 'failed' || job.status === 'cancelled')) {
        // A cancelled job (`arbiter jobs cancel`) is a cancelled run, never a failed one.
        run =
          job.status === 'cancelled'
            ? { ...run, status: 'cancelled' }
            : { ...run, status: 'failed', error: job.lastError ?? 'job failed' };
        break;
      }
      if (
        !waitingNoted &&
        job?.status === 'running' &&
        job.leaseOwner !== worker.stats().workerId &&
        started.resumed
      ) {
        io.stderr(
          `Waiting for the previous attempt's lease to expire (up to ${formatDuration(deps.env.JOB_LEASE)})…\n`,
        );
        waitingNoted = true;
      }
      await new Promise((r) => setTimeout(r, deps.pollMs ?? 100));
    }
  } finally {
    await worker.stop(deps.env.SHUTDOWN_GRACE);
    // Spans still batched are sent before the process exits (bounded wait; never fails the command).
    await tracing?.shutdown();
  }
  show(run.progress, true);
  if (tty) io.stderr('\n');
  const items = await svc.items(run._id);
  if (values.junit)
    await (io.writeFile ?? ((p, t) => fsWriteFile(p, t, 'utf8')))(values.junit, renderJunit(run, items));
  const code = exitCodeOf(run);
  if (values.json) io.stdout(`${JSON.stringify({ ...runJson(run), exitCode: code }, null, 2)}\n`);
  else {
    io.stdout(messageText(renderRunSummary(run, items)));
    // The run's page, as the Slack report's Open report button links it (the local address without PUBLIC_URL).
    if (deps.reportUrl) {
      const url = await deps.reportUrl('run', run._id, store);
      io.stdout(
        `Report: ${url}${deps.env.PUBLIC_URL ? '' : ' (local address; set PUBLIC_URL for a shareable link)'}\n`,
      );
    }
  }
  if (run.status === 'failed') io.stderr(`Run failed: ${run.error ?? 'unknown error'}\n`);
  if (run.status === 'cancelled') io.stderr('Run was cancelled.\n');
  if (run.summary && run.summary.missing > 0)
    io.stderr(
      `${run.summary.missing} of ${run.summary.total} items of this run were never stored; it cannot pass.\n`,
    );
  else if (run.summary?.gate.verdict === 'errored')
    io.stderr(
      `${run.summary.errors} errored item(s); fix the cause, then \`arbiter run --retry-errors ${run._id}\` runs only those again.\n`,
    );
  return code;
}

function runRow(r: Run): string {
  const score = r.summary?.meanScore ?? r.progress.meanScore;
  const verdict =
    r.status === 'completed' && r.summary
      ? (r.summary.gate.verdict ?? (r.summary.gate.passed ? 'passed' : 'failed'))
      : '';
  return `${r._id}  ${r.status.padEnd(9)}  ${r.suiteName.padEnd(20)}  ${String(r.progress.done).padStart(5)}/${String(r.total).padEnd(5)}  mean ${score === null ? '  —  ' : score.toFixed(3)}  ${verdict.padEnd(7)}  ${r.createdAt.toISOString()}`;
}

/** `arbiter runs list|show|compare|cancel`. */
export async function runRunsCommand(cmd: RunsCliCommand, deps: RunsCliDeps): Promise<number> {
  const { io } = deps;
  return guarded(io, async () => {
    return withStore(deps, async (store) => {
      const { svc, tracing } = await service(deps, store);
      if (cmd.name === 'runs.publish') {
        const { id } = cmd;
        try {
          const outcome = await svc.publishToLangfuse(id);
          io.stdout(
            `${id}: ${outcome.linked} item(s) linked in Langfuse${outcome.failed ? `; ${outcome.failed} could not be: ${outcome.lastError ?? 'unknown error'}` : ''}.\n`,
          );
          return outcome.failed > 0 ? 3 : 0;
        } finally {
          await tracing?.shutdown();
        }
      }
      if (cmd.name === 'runs.list') {
        const runs = await svc.listRuns({
          limit: cmd.limit ?? RUNS_LIST_DEFAULT,
          ...(cmd.suite ? { suiteName: cmd.suite } : {}),
        });
        if (cmd.json) io.stdout(`${JSON.stringify(runs.map(runJson), null, 2)}\n`);
        else io.stdout(runs.length === 0 ? 'No runs.\n' : `${runs.map(runRow).join('\n')}\n`);
        return 0;
      }
      if (cmd.name === 'runs.compare') {
        const { a, b } = cmd;
        const cmp = await svc.compare(a, b);
        if (!cmp.sameSuite)
          throw new ArbiterError(
            'USAGE',
            `Runs ${a} (${cmp.a.suiteName}) and ${b} (${cmp.b.suiteName}) are of different suites.`,
          );
        io.stdout(cmd.json ? `${JSON.stringify(cmp, null, 2)}\n` : messageText(renderComparison(cmp)));
        return 0;
      }
      const { id } = cmd;
      if (cmd.name === 'runs.cancel') {
        const run = await svc.cancelRun(id, { actor: cliActor(deps.env) });
        io.stdout(
          run.status === 'cancelled'
            ? `Cancelled ${id}.\n`
            : run.status === 'running' || run.status === 'queued'
              ? `Asked ${id} to stop; it is cancelled when its worker notices.\n`
              : `${id} already ended (${run.status}).\n`,
        );
        return 0;
      }
      const run = await svc.getRun(id);
      if (!run)
        throw new ArbiterError('NOT_FOUND', `No run with id ${id}.`, {
          hint: 'List runs with `arbiter runs list`.',
        });
      const items = await svc.items(id);
      if (cmd.junit)
        await (io.writeFile ?? ((p, t) => fsWriteFile(p, t, 'utf8')))(cmd.junit, renderJunit(run, items));
      io.stdout(
        cmd.json
          ? `${JSON.stringify({ run: runJson(run), items: items.map(itemJson) }, null, 2)}\n`
          : messageText(renderRunSummary(run, items)),
      );
      return 0;
    });
  });
}

// ---- Rendering: run results as a transport-neutral Message (Slack, console) and as plain text. ----

const pct = (x: number | null | undefined) =>
  x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)}%`;
const num = (x: number | null | undefined, d = 3) => (x === null || x === undefined ? '—' : x.toFixed(d));
const usd = (x: number) => `$${x.toFixed(x < 1 ? 4 : 2)}`;
const signed = (x: number | null, d = 3) => (x === null ? '—' : `${x >= 0 ? '+' : ''}${x.toFixed(d)}`);
const clip = (s: string, n: number) => {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > n ? `${t.slice(0, n - 1)}…` : t;
};

function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

const CAUSE_WORDS: Record<string, string> = {
  target: 'target failed',
  provider: 'model provider failed',
  input: 'missing input',
  metric: 'metric could not score',
};

/** The errored items by cause, e.g. "12 model provider failed, 1 missing input". */
export function describeErrorCauses(causes: Partial<Record<string, number>>): string {
  return Object.entries(causes)
    .filter(([, n]) => (n ?? 0) > 0)
    .map(([cause, n]) => `${n} ${CAUSE_WORDS[cause] ?? cause}`)
    .join(', ');
}

/** One-line verdict of a run. */
export function runVerdict(run: Run): string {
  const s = run.summary;
  if (run.status === 'cancelled') return `CANCELLED after ${run.progress.done}/${run.progress.total} items`;
  if (run.status !== 'completed' || !s)
    return `${run.status} (${run.progress.done}/${run.progress.total} items)`;
  const g = s.gate;
  const offline =
    s.heuristicOutputs > 0
      ? ` (offline: no language model was called for ${s.heuristicOutputs} answer${s.heuristicOutputs === 1 ? '' : 's'})`
      : '';
  if (s.missing > 0)
    return `ERROR: ${s.missing} of ${s.total} items were never stored, so never ran (the store lost them); no quality verdict. Start the run again with \`arbiter run --new\`.`;
  if (g.verdict === 'errored') {
    const kind = g.errorKind === 'scoring' ? 'NOT SCORED' : 'ERROR';
    return `${kind}: ${s.errors} of ${s.finished} items errored (${describeErrorCauses(s.errorCauses)}), more than the ${g.maxErrors} tolerated; no quality verdict${offline}`;
  }
  const tolerated = s.errors > 0 ? `; ${s.errors} errored item(s) tolerated` : '';
  const checks = g.checks ?? [{ kind: g.kind, threshold: g.threshold, value: g.value, passed: g.passed }];
  const checkText = (c: (typeof checks)[number]) => {
    const label = c.kind === 'pass-rate' ? 'pass rate' : 'mean score';
    const all =
      c.kind === 'pass-rate' && c.threshold === 1 && !c.passed
        ? ` (every item must pass; ${s.failed} failed)`
        : '';
    return `${label} ${num(c.value)} ${c.passed ? '≥' : '<'} threshold ${c.threshold}${all}`;
  };
  // The failing check first: it is the reason.
  const shown = [...checks].sort((a, b) => Number(a.passed) - Number(b.passed));
  return `${g.passed ? 'PASSED' : 'FAILED'}: ${shown.map(checkText).join(', ')}${tolerated}${offline}`;
}

function tokensText(s: NonNullable<Run['summary']>): string {
  const b = s.tokens.byRole;
  if (!b) return `${s.tokens.input} in / ${s.tokens.output} out`;
  const part = (label: string, t: { input: number; output: number }) =>
    t.input + t.output > 0 ? `${label} ${t.input}/${t.output}` : undefined;
  const parts = [part('target', b.target), part('simulator', b.simulator), part('judge', b.judge)].filter(
    (x): x is string => x !== undefined,
  );
  return `${s.tokens.input} in / ${s.tokens.output} out${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

function costText(s: NonNullable<Run['summary']>): string {
  if (!s.costUnknown) return usd(s.costUsd);
  return s.costUsd > 0 ? `${usd(s.costUsd)} + price unknown for some calls` : 'price unknown';
}

const THREAD_ITEMS = 10;

/**
 * How the run got into Langfuse (runs of a Langfuse dataset), said once in the report: linked as an experiment run,
 * or how many items did not get there and why (the run's verdict never depends on it).
 */
export function langfuseNote(run: Pick<Run, '_id' | 'suiteName' | 'langfuse'>): string | undefined {
  const lf = run.langfuse;
  if (!lf || lf.publishedAt === undefined) return undefined;
  const name = `experiment run "${langfuseRunName(run)}" of dataset ${lf.datasetName}`;
  if (!lf.failed) return `Langfuse: ${lf.linked ?? 0} item(s) linked as ${name}.`;
  return `Langfuse: ${lf.failed} item(s) not linked as ${name}${lf.lastError ? ` (${clip(lf.lastError, 300)})` : ''}; the verdict does not depend on it. \`arbiter runs publish ${run._id}\` sends what is missing.`;
}

/** A run's summary as a Message; errored items, then failing ones, go in the thread. */
export function renderRunSummary(run: Run, items: readonly RunItemView[] = []): Message {
  const s = run.summary;
  const sections: MessageSection[] = [{ kind: 'text', text: escapeMrkdwn(runVerdict(run)) }];
  sections.push({
    kind: 'fields',
    fields: [
      { label: 'Run', value: run._id },
      { label: 'Status', value: run.status },
      { label: 'Items', value: `${run.progress.done}/${run.total}` },
      { label: 'Mean score', value: num(s?.meanScore ?? run.progress.meanScore) },
      { label: 'Pass rate', value: pct(s?.passRate) },
      {
        label: 'Errored items',
        value: s
          ? `${s.errors}${s.errors ? ` (${describeErrorCauses(s.errorCauses)})` : ''}`
          : String(run.progress.errors),
      },
      { label: 'Needs review', value: String(s?.needsReview ?? 0) },
      { label: 'Tokens', value: s ? tokensText(s) : '—' },
      { label: 'Cost', value: s ? costText(s) : '—' },
      { label: 'Duration', value: s ? duration(s.durationMs) : '—' },
    ],
  });
  if (s && s.metrics.length > 0) {
    const width = Math.max(6, ...s.metrics.map((m) => m.metric.length));
    sections.push({
      kind: 'code',
      label: 'Mean per metric',
      text: s.metrics
        .map(
          (m) =>
            `${m.metric.padEnd(width)}  ${num(m.mean)}  (${m.count} scored${m.errors ? `, ${m.errors} could not score` : ''})${m.heuristic ? '  heuristic' : ''}`,
        )
        .join('\n'),
    });
  }
  const notes: string[] = [];
  if (s && s.heuristicOutputs > 0)
    notes.push(
      `Offline target: no language model was called for ${s.heuristicOutputs} answer(s); they are placeholders from the offline heuristic provider.`,
    );
  if (s?.heuristic) notes.push('Some scores come from the offline heuristic provider, not an LLM verdict.');
  if (run.datasetErrors.length > 0)
    notes.push(
      `${run.datasetErrors.length} dataset row(s) skipped: ${run.datasetErrors
        .slice(0, 5)
        .map((e) => `row ${e.row}: ${clip(e.reason, 120)}`)
        .join('; ')}${run.datasetErrors.length > 5 ? '; …' : ''}`,
    );
  if (run.error) notes.push(`Error: ${run.error}`);
  for (const w of run.warnings ?? []) notes.push(`Warning: ${w}`);
  const lf = langfuseNote(run);
  if (lf) notes.push(lf);
  if (notes.length) sections.push({ kind: 'context', items: notes });
  const errored = items.filter((v) => v.doc.status === 'error');
  const failing = items.filter((v) => v.doc.status === 'done' && !v.doc.passed);
  const listed = [...errored, ...failing];
  const thread: Message[] = listed.slice(0, THREAD_ITEMS).map((v) => ({
    title: `Row ${v.doc.row}${v.item.persona ? ` (${v.item.persona})` : ''}: ${v.doc.status === 'error' ? `errored (${CAUSE_WORDS[v.doc.errorCause ?? 'target'] ?? 'error'})` : `failed, score ${num(v.doc.score)}`}`,
    sections: [
      { kind: 'code', label: 'Input', text: clip(v.item.input, 1500) },
      ...(v.doc.error
        ? [{ kind: 'code' as const, label: 'Why it errored', text: clip(v.doc.error, 500) }]
        : []),
      ...(v.result?.output !== undefined || !v.doc.error
        ? [{ kind: 'code' as const, label: 'Output', text: clip(v.result?.output ?? '', 1500) }]
        : []),
      ...(v.result?.targetFinish
        ? [
            {
              kind: 'context' as const,
              items: [
                `The target's reply was ${v.result.targetFinish.reason}${v.result.targetFinish.detail ? ` (${v.result.targetFinish.detail})` : ''}.`,
              ],
            },
          ]
        : []),
      {
        kind: 'context',
        items: (v.result?.scores ?? [])
          .slice(0, 10)
          .map(
            (sc) => `${sc.metric}: ${sc.error ? 'could not score' : num(sc.value)} — ${clip(sc.reason, 200)}`,
          ),
      },
    ],
  }));
  if (listed.length > THREAD_ITEMS)
    thread.push({
      title: `${listed.length - THREAD_ITEMS} more errored or failing item(s)`,
      sections: [
        {
          kind: 'context',
          items: [`\`arbiter runs show ${run._id} --json\` lists every item with its scores.`],
        },
      ],
    });
  return {
    title: `Evaluation run: ${run.suiteName}`,
    summary: `${run.suiteName}: ${runVerdict(run)}`,
    sections,
    ...(thread.length ? { thread } : {}),
  };
}

/** A comparison as a Message. */
export function renderComparison(cmp: RunComparison): Message {
  const width = Math.max(6, ...cmp.metrics.map((m) => m.metric.length));
  const table = cmp.metrics.map(
    (m) =>
      `${m.metric.padEnd(width)}  ${num(m.meanA)} → ${num(m.meanB)}  Δ ${signed(m.delta)}  95% CI ${m.ci ? `[${signed(m.ci[0])}, ${signed(m.ci[1])}]` : '—'}  ` +
      `+${m.wins}/-${m.losses}/=${m.ties}  p ${m.pValue === null ? '—' : m.pValue.toPrecision(2)}${m.significant ? '  significant' : ''}`,
  );
  const list = (xs: RunComparison['regressions']) =>
    xs
      .map((d) => `${signed(d.delta)}  ${num(d.scoreA)} → ${num(d.scoreB)}  ${clip(d.input, 80)}`)
      .join('\n') || '(none)';
  const overall = cmp.metrics.find((m) => m.metric === 'score');
  const verdict =
    !overall || overall.delta === null
      ? 'No paired items to compare.'
      : `${overall.significant ? (overall.delta > 0 ? 'Better' : 'Worse') : 'No significant change'}: mean item score ${signed(overall.delta)} over ${overall.pairs} paired items.`;
  const notes = [
    `${cmp.paired} paired items; ${cmp.onlyInA} only in A, ${cmp.onlyInB} only in B. Δ is B − A; items pair by input; paired t 95% interval and exact two-sided sign test, significant only when both agree.`,
  ];
  if (!cmp.sameSuite) notes.push(`Warning: different suites (${cmp.a.suiteName} vs ${cmp.b.suiteName}).`);
  return {
    title: `Run comparison: ${cmp.a.id} → ${cmp.b.id}`,
    summary: verdict,
    sections: [
      { kind: 'text', text: escapeMrkdwn(verdict) },
      { kind: 'code', label: 'Per metric', text: table.join('\n') },
      { kind: 'code', label: 'Regressed most', text: list(cmp.regressions) },
      { kind: 'code', label: 'Improved most', text: list(cmp.improvements) },
      { kind: 'context', items: notes },
    ],
  };
}

/** A Message as plain text (the CLI view; bot/ has the richer console transport). */
export function messageText(m: Message): string {
  const out: string[] = [m.title, '='.repeat(Math.min(80, m.title.length))];
  for (const s of m.sections) {
    if (s.kind === 'text') out.push(plainText(s.text));
    else if (s.kind === 'fields') {
      const w = Math.max(...s.fields.map((f) => f.label.length));
      for (const f of s.fields) out.push(`${f.label.padEnd(w)}  ${s.mrkdwn ? plainText(f.value) : f.value}`);
    } else if (s.kind === 'code') {
      if (s.label) out.push(`${s.label}:`);
      out.push(...s.text.split('\n').map((l) => `  ${l}`));
    } else if (s.kind === 'context') out.push(...s.items.map((i) => `· ${s.mrkdwn ? plainText(i) : i}`));
    else if (s.kind === 'divider') out.push('---');
  }
  for (const t of m.thread ?? [])
    out.push(
      '',
      ...messageText(t)
        .split('\n')
        .map((l) => `  ${l}`),
    );
  return `${out.join('\n')}\n`;
}
