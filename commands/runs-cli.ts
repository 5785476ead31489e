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
  isCodedError,
  parseFlags,
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
import { cliFlagOptions } from './registry.ts';
import { progressBar, renderComparison, renderRunSummary } from './run-messages.ts';
import type { CliRuns, CliServices } from './services.ts';
import { findSuite } from './suites.ts';
import { COMMANDS } from './table.ts';

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

/** Help text of `arbiter run` and `arbiter runs`. */
export const RUNS_USAGE = `Usage:
  arbiter run <suite.yaml> [--concurrency N] [--limit N] [--json] [--junit FILE] [--fail-under X] [--max-errors N] [--new]
  arbiter run --retry-errors <run> [--max-errors N] [--json] [--junit FILE]
  arbiter runs list [--suite NAME] [--limit N] [--json]
  arbiter runs show <id> [--json] [--junit FILE]
  arbiter runs compare <a> <b> [--json]
  arbiter runs cancel <id>
  arbiter runs publish <id>   (a run of a Langfuse dataset: send the item traces and scores Langfuse missed)

An unfinished run of the same suite and dataset is resumed (finished items are kept); --new starts afresh.
An item whose target failed or that a metric could not score is errored: a run with more errored items than
--max-errors (default 0) never passes; --retry-errors runs only the errored items of a finished run again.
Exit codes: 0 passed, 1 below the threshold (or items a metric could not score), 2 usage or configuration error,
3 infrastructure failure (the target, the model provider or the network failed).
`;

/** The usage line of each run command, shown with a mistake in it (never the whole help). */
const RUN_LINES: Record<string, string> = {
  run: 'arbiter run <name|path> [--concurrency N] [--limit N] [--json] [--junit FILE] [--fail-under X] [--max-errors N] [--new]',
  retry: 'arbiter run --retry-errors <run> [--max-errors N] [--json] [--junit FILE]',
  list: 'arbiter runs list [--suite NAME] [--limit N] [--json]',
  show: 'arbiter runs show <id> [--json] [--junit FILE]',
  compare: 'arbiter runs compare <a> <b> [--json]',
  cancel: 'arbiter runs cancel <id>',
  publish: 'arbiter runs publish <id>',
};

function usage(message: string, line = 'run'): ArbiterError {
  return new ArbiterError('USAGE', message, {
    hint: RUN_LINES[line] ? `Usage: ${RUN_LINES[line]}` : 'See `arbiter help`.',
  });
}

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

function wholeNumber(
  flag: string,
  v: string | undefined,
  min: number,
  max: number,
  line = 'run',
): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max)
    throw usage(`${flag} expects a whole number from ${min} to ${max} (got "${v}")`, line);
  return n;
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
export async function runRunCommand(argv: readonly string[], deps: RunsCliDeps): Promise<number> {
  const { io } = deps;
  return guarded(io, async () => {
    const parsed = parseFlags(argv, {
      allowPositionals: true,
      // The flags of the `run` entry of the registry (commands/table.ts), plus --help.
      options: { ...cliFlagOptions(COMMANDS.run), help: { type: 'boolean', short: 'h' } },
    });
    const positionals = parsed.positionals;
    const values = parsed.values as Partial<Record<string, string>> & {
      json?: boolean;
      new?: boolean;
      help?: boolean;
    };
    if (values.help) {
      io.stdout(RUNS_USAGE);
      return 0;
    }
    const maxErrors = wholeNumber('--max-errors', values['max-errors'], 0, 10_000_000);
    const retryOf = values['retry-errors'];
    if (retryOf !== undefined) {
      if (positionals.length > 0)
        throw usage('arbiter run --retry-errors <run> takes a run id, not a suite file.', 'retry');
      const runs = await deps.services.runs();
      const retried = await runs.service.retryErrors(retryOf, {
        ...(maxErrors !== undefined ? { maxErrors } : {}),
        actor: cliActor(deps.env),
      });
      io.stderr(`Retrying ${retried.items} errored item(s) of run ${retried.runId}.\n`);
      return finishInProcess(deps, runs, retried.runId, { resumed: false }, values);
    }
    const file = positionals[0];
    if (!file) throw usage('arbiter run needs a suite file (or a suite name).');
    if (positionals.length > 1) throw usage(`Unexpected argument ${positionals[1]}`);
    const concurrency = wholeNumber('--concurrency', values.concurrency, 1, 256);
    const limit = wholeNumber('--limit', values.limit, 1, 10_000_000);
    let failUnder: number | undefined;
    if (values['fail-under'] !== undefined) {
      failUnder = Number(values['fail-under']);
      if (!/^\d*\.?\d+$/.test(values['fail-under']) || failUnder > 1)
        throw usage(`--fail-under expects a number from 0 to 1 (got "${values['fail-under']}")`);
    }
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
        resume: !values.new,
      });
      const first = (await svc.getRun(started.runId))!;
      io.stderr(
        started.resumed
          ? `Resuming run ${started.runId} of ${suite.name}: ${first.progress.done}/${first.total} items already done.\n`
          : `Run ${started.runId} of ${suite.name}: ${first.total} items${first.datasetErrors.length ? `, ${first.datasetErrors.length} bad dataset row(s) skipped` : ''}.\n`,
      );
      return finishInProcess(deps, runs, started.runId, started, values);
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
    leaseMs: deps.env.JOB_LEASE_MS,
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
          `Waiting for the previous attempt's lease to expire (up to ${deps.env.JOB_LEASE_MS} ms)…\n`,
        );
        waitingNoted = true;
      }
      await new Promise((r) => setTimeout(r, deps.pollMs ?? 100));
    }
  } finally {
    await worker.stop(deps.env.SHUTDOWN_GRACE_MS);
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
export async function runRunsCommand(argv: readonly string[], deps: RunsCliDeps): Promise<number> {
  const { io } = deps;
  return guarded(io, async () => {
    const [sub, ...rest] = argv;
    const parsed = parseFlags(rest, {
      allowPositionals: true,
      // The flags of the `runs …` entries of the registry (commands/table.ts).
      options: cliFlagOptions(
        COMMANDS['runs.list'],
        COMMANDS['runs.show'],
        COMMANDS['runs.compare'],
        COMMANDS['runs.cancel'],
        COMMANDS['runs.publish'],
      ),
    });
    const positionals = parsed.positionals;
    const values = parsed.values as { json?: boolean; limit?: string; suite?: string; junit?: string };
    if (!sub || !['list', 'show', 'compare', 'cancel', 'publish'].includes(sub))
      throw usage(`Unknown runs command "${sub ?? ''}".`, 'none');
    {
      const { services } = deps;
      if (sub === 'publish') {
        const id = positionals[0];
        if (!id) throw usage('arbiter runs publish needs a run id.', 'publish');
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
      if (sub === 'list') {
        // Reading runs needs only the store: the model client is not built.
        const runs = await (await services.runReader()).listRuns({
          limit: wholeNumber('--limit', values.limit, 1, 1000, 'list') ?? 20,
          ...(values.suite ? { suiteName: values.suite } : {}),
        });
        if (values.json) io.stdout(`${JSON.stringify(runs.map(runJson), null, 2)}\n`);
        else io.stdout(runs.length === 0 ? 'No runs.\n' : `${runs.map(runRow).join('\n')}\n`);
        return 0;
      }
      if (sub === 'compare') {
        const [a, b] = positionals;
        if (!a || !b) throw usage('arbiter runs compare needs two run ids.', 'compare');
        const cmp = await (await services.runs()).service.compare(a, b);
        if (!cmp.sameSuite)
          throw new ArbiterError(
            'USAGE',
            `Runs ${a} (${cmp.a.suiteName}) and ${b} (${cmp.b.suiteName}) are of different suites.`,
          );
        io.stdout(
          values.json
            ? `${JSON.stringify(cmp, null, 2)}\n`
            : messageToText(renderComparison(cmp), { layout: 'report' }),
        );
        return 0;
      }
      const id = positionals[0];
      if (!id) throw usage(`arbiter runs ${sub} needs a run id.`, sub);
      if (sub === 'cancel') {
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
      if (values.junit)
        await (io.writeFile ?? ((p, t) => fsWriteFile(p, t, 'utf8')))(values.junit, renderJunit(run, items));
      io.stdout(
        values.json
          ? `${JSON.stringify({ run: runJson(run), items: items.map(itemJson) }, null, 2)}\n`
          : messageToText(renderRunSummary(run, items), { layout: 'report' }),
      );
      return 0;
    }
  });
}
