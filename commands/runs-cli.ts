// `arbiter run` and `arbiter runs`: evaluation runs from the command line. `arbiter run` works standalone: it starts
// the run as a durable job on the configured store (the CLI services of app/) and executes it in-process with a
// worker until it finishes, then prints the summary and returns the exit code (0 passed, 1 below the threshold, 2
// usage or configuration, 3 infrastructure). The messages are built in run-messages.ts, printed by message-text.ts.
import { writeFile as fsWriteFile } from 'node:fs/promises';
import { cliActor } from '../audit/index.ts';
import { messageToText } from '../chat/index.ts';
import {
  ArbiterError,
  type Env,
  formatUserError,
  isArbiterError,
  formatDuration,
  isCodedError,
} from '../config/index.ts';
import {
  loadSuite,
  type Run,
  type RunItemView,
  type RunProgress,
  renderJunit,
  summaryExitCode,
} from '../runs/index.ts';
import { createWorker } from '../storage/index.ts';
import { progressBar, renderComparison, renderRunSummary } from './run-messages.ts';
import type { CliRuns, CliServices } from './services.ts';
import { findSuite } from './suites.ts';

/** What the run commands need from the outside world. */
export interface RunsCliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** True when stderr is a terminal: draw a progress bar instead of progress lines. */
  isTTY?: boolean;
  writeFile?(path: string, text: string): Promise<void>;
}

/** Dependencies of the run commands: the CLI services (app/) reach the store, the model and Langfuse. */
export interface RunsCliDeps {
  env: Env;
  /** Raw environment for `${ENV:NAME}` header values of http targets (never logged). */
  environment: Record<string, string | undefined>;
  io: RunsCliIo;
  services: CliServices;
  /** How often the CLI looks at the run while waiting, ms. */
  pollMs?: number;
  /** `arbiter run` ends its summary with the signed URL of the run's report page (the CLI sets it). */
  printReportUrl?: boolean;
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
      const runs = await deps.services.runs();
      const retried = await runs.service.retryErrors(retryOf, {
        ...(maxErrors !== undefined ? { maxErrors } : {}),
        actor: cliActor(deps.env),
      });
      io.stderr(`Retrying ${retried.items} errored item(s) of run ${retried.runId}.\n`);
      return finishInProcess(deps, runs, retried.runId, { resumed: false }, args);
    }
    // The registry's check makes sure a suite is named when --retry-errors is not given.
    const file = args.suite!;
    const suite = loadSuite(cliSuiteFile(file, deps.env.SUITES_DIR), deps.environment);
    for (const w of suite.warnings ?? []) io.stderr(`warning: ${w}\n`);
    const runs = await deps.services.runs();
    const svc = runs.service;
    {
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
      return finishInProcess(deps, runs, started.runId, started, args);
    }
  });
}

/** Executes a started run in this process with a worker until it ends, then prints it and returns the exit code. */
async function finishInProcess(
  deps: RunsCliDeps,
  runs: CliRuns,
  runId: string,
  started: { resumed: boolean },
  values: { json?: boolean | undefined; junit?: string | undefined },
): Promise<number> {
  const { io } = deps;
  const { service: svc, queue, logger } = runs;
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
    await runs.flushTraces();
  }
  show(run.progress, true);
  if (tty) io.stderr('\n');
  const items = await svc.items(run._id);
  if (values.junit)
    await (io.writeFile ?? ((p, t) => fsWriteFile(p, t, 'utf8')))(values.junit, renderJunit(run, items));
  const code = exitCodeOf(run);
  if (values.json) io.stdout(`${JSON.stringify({ ...runJson(run), exitCode: code }, null, 2)}\n`);
  else {
    io.stdout(messageToText(renderRunSummary(run, items), { layout: 'report' }));
    // The run's page, as the Slack report's Open report button links it (the local address without PUBLIC_URL).
    if (deps.printReportUrl) {
      const url = await deps.services.reportUrl('run', run._id);
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
    {
      const { services } = deps;
      if (cmd.name === 'runs.publish') {
        const { id } = cmd;
        const runs = await services.runs();
        try {
          const outcome = await runs.service.publishToLangfuse(id);
          io.stdout(
            `${id}: ${outcome.linked} item(s) linked in Langfuse${outcome.failed ? `; ${outcome.failed} could not be: ${outcome.lastError ?? 'unknown error'}` : ''}.\n`,
          );
          return outcome.failed > 0 ? 3 : 0;
        } finally {
          await runs.flushTraces();
        }
      }
      if (cmd.name === 'runs.list') {
        // Reading runs needs only the store: the model client is not built.
        const runs = await (await services.runReader()).listRuns({
          limit: cmd.limit ?? RUNS_LIST_DEFAULT,
          ...(cmd.suite ? { suiteName: cmd.suite } : {}),
        });
        if (cmd.json) io.stdout(`${JSON.stringify(runs.map(runJson), null, 2)}\n`);
        else io.stdout(runs.length === 0 ? 'No runs.\n' : `${runs.map(runRow).join('\n')}\n`);
        return 0;
      }
      if (cmd.name === 'runs.compare') {
        const { a, b } = cmd;
        const cmp = await (await services.runs()).service.compare(a, b);
        if (!cmp.sameSuite)
          throw new ArbiterError(
            'USAGE',
            `Runs ${a} (${cmp.a.suiteName}) and ${b} (${cmp.b.suiteName}) are of different suites.`,
          );
        io.stdout(
          cmd.json
            ? `${JSON.stringify(cmp, null, 2)}\n`
            : messageToText(renderComparison(cmp), { layout: 'report' }),
        );
        return 0;
      }
      const { id } = cmd;
      if (cmd.name === 'runs.cancel') {
        const run = await (await services.runs()).service.cancelRun(id, { actor: cliActor(deps.env) });
        io.stdout(
          run.status === 'cancelled'
            ? `Cancelled ${id}.\n`
            : run.status === 'running' || run.status === 'queued'
              ? `Asked ${id} to stop; it is cancelled when its worker notices.\n`
              : `${id} already ended (${run.status}).\n`,
        );
        return 0;
      }
      const reader = await services.runReader();
      const run = await reader.getRun(id);
      if (!run)
        throw new ArbiterError('NOT_FOUND', `No run with id ${id}.`, {
          hint: 'List runs with `arbiter runs list`.',
        });
      const items = await reader.items(id);
      if (cmd.junit)
        await (io.writeFile ?? ((p, t) => fsWriteFile(p, t, 'utf8')))(cmd.junit, renderJunit(run, items));
      io.stdout(
        cmd.json
          ? `${JSON.stringify({ run: runJson(run), items: items.map(itemJson) }, null, 2)}\n`
          : messageToText(renderRunSummary(run, items), { layout: 'report' }),
      );
      return 0;
    }
  });
}
