// THE command table: every command of Slack's `/arbiter`, the console prompt and the `arbiter` CLI, defined once.
// Adding a command is one entry here (see ARCHITECTURE.md, "A command"); help, usage lines, role checks,
// did-you-mean and the parity of the front doors all come from this table.
import { z } from 'zod';
import { type Message, openReportSection } from '../chat/index.ts';
import { ArbiterError, describeEnv, parseDuration, reportPaths, warningNotes } from '../config/index.ts';
import {
  closestName,
  describeMetrics,
  formatMetricReference,
  isMetricName,
  METRIC_NAMES,
} from '../evaluators/index.ts';
import {
  DRY_RUN_RECORDS,
  findMonitor,
  listMonitors,
  type MonitorCliCommand,
  runMonitorCli,
  runMonitorNow,
  setMonitorPaused,
} from '../monitors/index.ts';
import { loadSuite, runOutcome, type Run } from '../runs/index.ts';
import { type JobStatus, JobStatusSchema } from '../storage/index.ts';
import { handleDigest, runDigestCli } from './digest.ts';
import {
  AUDIT_CHAT_MAX,
  AUDIT_CLI_MAX,
  AUDIT_OBJECT_WORDS,
  type AuditArgs,
  auditCommand,
  auditUser,
  isAuditObject,
  isAuditSince,
  runAuditCli,
} from './audit.ts';
import {
  type CommandReply,
  commandActor,
  type DispatchContext,
  type DispatchDeps,
} from './dispatch-types.ts';
import { HELP_TOPICS, helpTopicText } from './help.ts';
import { JOBS_LIST_DEFAULT, type JobsCliCommand, runJobsCommand } from './jobs-cli.ts';
import { contextSection, notice } from './messages.ts';
import { RATINGS_DEFAULTS, RATINGS_DETAIL, runRatingsCli } from './ratings.ts';
import { type CliContext, defineCommand, helpText, type Registry, usageLine } from './registry.ts';
import { type ReviewCliCommand, runLeaderboardCli, runReviewCli } from './review-cli.ts';
import {
  leaderboardCommand,
  reviewCloseCommand,
  reviewCommand,
  reviewListCommand,
  reviewReasonCommand,
} from './reviews.ts';
import { progressBar, renderComparison, renderRunSummary } from './run-messages.ts';
import { RUNS_LIST_DEFAULT, type RunsCliCommand, runRunCommand, runRunsCommand } from './runs-cli.ts';
import { runStoreCommand, type StoreCliCommand } from './store-cli.ts';
import { findSuite } from './suites.ts';

// ---- Argument types shared by several commands ----

const id = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,200}$/, { error: 'expected an id' })
  .describe('an id as Arbiter prints it (run_…, rev_…, job_…)');

/**
 * An optional number typed as text (`--limit 5`, `--fail-under 0.8`): text that does not match `pattern` is refused
 * with `error`; `range` then checks the number, either as a zod number schema (which says its own bound) or as a
 * test refused with `error` as well.
 */
function typedNumber(
  what: string,
  pattern: RegExp,
  error: string,
  range: z.ZodNumber | ((n: number) => boolean),
) {
  const number = z.string().regex(pattern, { error }).transform(Number);
  return (typeof range === 'function' ? number.refine(range, { error }) : number.pipe(range))
    .optional()
    .describe(what);
}

/** An optional whole number typed as text, with its range (`--limit 5`). */
function whole(min: number, max: number, what: string) {
  return typedNumber(what, /^\d+$/, 'expects a whole number', z.number().int().min(min).max(max));
}

/** An optional whole number typed as text, its range said in every refusal (`--bootstrap N`, 0 to 100000). */
function count(min: number, max: number, what: string) {
  return typedNumber(
    what,
    /^\d+$/,
    `expects a whole number from ${min} to ${max}`,
    (n) => n >= min && n <= max,
  );
}

const duration = z
  .string()
  .transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: 'expects a duration such as 30m, 12h or 2d' });
      return z.NEVER;
    }
    return ms;
  })
  .pipe(z.number().int().min(60_000));

const json = z.boolean().optional().describe('print JSON instead of text');

const isJobStatus = (v: string): v is JobStatus => JobStatusSchema.safeParse(v).success;
const JSON_FLAG = { json: { cliOnly: true } } as const;

type Chat<T> = (cmd: T & { name: string }, ctx: DispatchContext, deps: DispatchDeps) => Promise<CommandReply>;

/** A chat handler with its real context and dependencies. */
function chat<T>(fn: Chat<T>): Chat<T> {
  return fn;
}

/** `--link`: print the signed URL of the object's report page instead of the report itself. */
const link = z
  .boolean()
  .optional()
  .describe('print the signed URL of the report page (under PUBLIC_URL) instead');

function withLink<
  A extends {
    id: string;
    link?: boolean | undefined;
    json?: boolean | undefined;
    junit?: string | undefined;
  },
>(
  kind: 'run' | 'review',
  a: A,
  ctx: CliContext,
  otherwise: (args: A, ctx: CliContext) => Promise<number> | number,
): Promise<number> | number {
  if (!a.link) return otherwise(a, ctx);
  const other = a.json ? '--json' : a.junit !== undefined ? '--junit' : undefined;
  if (other)
    throw new ArbiterError('USAGE', `${other} does not go with --link.`, {
      hint: `Usage: arbiter ${kind === 'run' ? 'runs show' : 'review report'} <id> --link`,
    });
  if (!ctx.reportLink)
    throw new ArbiterError('USAGE', '--link is not available here.', {
      hint: 'Run it with the arbiter CLI.',
    });
  return ctx.reportLink(kind, a.id);
}

const reviews = (deps: DispatchDeps) => deps.reviews;
const NO_REVIEWS = { message: notice('Reviews', 'Reviews are not set up in this process.') };
const NO_MONITORS = notice('Monitors', 'Monitors are not set up in this process.');

function runRow(r: Run): string {
  const score = r.summary?.meanScore ?? r.progress.meanScore;
  const verdict = r.status === 'completed' ? runOutcome(r) : '';
  return `${r._id}  ${r.status.padEnd(9)}  ${r.suiteName}  ${r.progress.done}/${r.total}  mean ${score === null ? '—' : score.toFixed(3)}  ${verdict}`.trimEnd();
}

/** The progress line of a run (the parent message a long run keeps up to date). */
export function runProgressMessage(run: Run): Message {
  return {
    title: `Evaluation run: ${run.suiteName}`,
    summary: `${run.suiteName}: ${run.status} ${run.progress.done}/${run.total}`,
    sections: [
      { kind: 'text', text: `${run.status}: ${progressBar(run.progress, 20)}` },
      {
        kind: 'context',
        items: [
          `Run ${run._id}; the report follows here when it finishes.`,
          ...(run.warnings ?? []).slice(0, 9).map((w) => `Warning: ${w}`),
        ],
      },
    ],
  };
}

/** The member of a command union that command `N` is (a member may stand for several names: pause | resume). */
type Member<C extends { name: string }, N extends string> = C extends unknown
  ? N extends C['name']
    ? C
    : never
  : never;

/**
 * The CLI handler of a command group (`runs …`, `monitor …`): `cli(name)` is the handler of command `name`, which
 * gets the entry's typed arguments (the registry read them) with `name` added, so one function serves the group.
 */
const cliGroup =
  <C extends { name: string }>(run: (cmd: C, ctx: CliContext) => Promise<number>) =>
  <N extends C['name']>(name: N) =>
  (args: Omit<Member<C, N>, 'name'>, ctx: CliContext) =>
    // The registry's typed args plus the name are the member (checked where `cli` meets the entry's schema).
    run({ ...args, name } as unknown as Member<C, N>, ctx);
const cliRuns = cliGroup<RunsCliCommand>((cmd, ctx) =>
  runRunsCommand(cmd, { env: ctx.env, environment: ctx.environment, io: ctx.io, services: ctx.services }),
);
const cliMonitor = cliGroup<MonitorCliCommand>((cmd, ctx) =>
  runMonitorCli(cmd, { env: ctx.env, io: ctx.io, services: ctx.services }),
);
const cliReview = cliGroup<ReviewCliCommand>((cmd, ctx) =>
  runReviewCli(cmd, { env: ctx.env, io: ctx.io, services: ctx.services }),
);
const cliJobs = cliGroup<JobsCliCommand>((cmd, ctx) => runJobsCommand(cmd, ctx.env, ctx.io, ctx.services));
const cliStore = cliGroup<StoreCliCommand>((cmd, ctx) => runStoreCommand(cmd, ctx.env, ctx.io));

/** Every command, keyed by the id a parsed command carries as its `name`. Order is the order of help. */
export const COMMANDS = {
  help: defineCommand({
    words: ['help'],
    aliases: [['--help'], ['-h']],
    summary: 'this text, or help on a topic (metrics)',
    role: 'reader',
    args: z.object({ topic: z.string().optional().describe('a help topic: metrics') }),
    positionals: [{ key: 'topic' }],
    shape: '[topic]',
    arity: 'at most one topic',
    standalone: true,
    chat: chat<{ topic?: string }>(async (cmd) => ({ message: helpMessage(cmd.topic) })),
    cli: (args, ctx) => {
      if (args.topic === undefined) {
        ctx.io.stdout(CLI_HELP());
        return 0;
      }
      const text = helpTopicText(args.topic);
      if (text === undefined) throw new ArbiterError('USAGE', noHelpOn(args.topic));
      ctx.io.stdout(`${text}\n`);
      return 0;
    },
  }),
  config: defineCommand({
    words: ['config'],
    summary: 'show the effective configuration (secrets redacted)',
    role: 'admin',
    args: z.object({ json }),
    flags: JSON_FLAG,
    cli: (args, ctx) => {
      const shown = describeEnv(ctx.env);
      if (args.json) ctx.io.stdout(`${JSON.stringify(shown, null, 2)}\n`);
      else
        ctx.io.stdout(
          `${Object.entries(shown)
            .map(([k, v]) => `${k}=${v}`)
            .join('\n')}\n`,
        );
      return 0;
    },
  }),
  run: defineCommand({
    words: ['run'],
    summary: 'start an evaluation run of a suite (file name or `name:` in SUITES_DIR, or a path)',
    role: 'admin',
    args: z.object({
      suite: z.string().min(1).max(500).optional().describe('a suite file name, path or `name:`'),
      limit: whole(1, 100_000, 'run only the first N items'),
      concurrency: count(1, 256, 'items in flight at once'),
      json,
      junit: z.string().optional().describe('write a JUnit XML report to FILE'),
      failUnder: typedNumber(
        'fail when the score is below X (0 to 1)',
        /^\d*\.?\d+$/,
        'expects a number from 0 to 1',
        (x) => x <= 1,
      ),
      maxErrors: count(0, 10_000_000, 'errored items tolerated (default 0)'),
      retryErrors: z.string().optional().describe('run only the errored items of a finished run again'),
      new: z.boolean().optional().describe('start afresh instead of resuming an unfinished run'),
    }),
    positionals: [{ key: 'suite' }],
    shape: '<name|path>',
    arity: 'exactly one suite, e.g. `run quickstart`',
    detail: `An unfinished run of the same suite and dataset is resumed (finished items are kept); --new starts afresh.
An item whose target failed or that a metric could not score is errored: a run with more errored items than
--max-errors (default 0) never passes; --retry-errors RUN (without a suite) runs only the errored items of a
finished run again.
Exit codes: 0 passed, 1 below the threshold (or items a metric could not score), 2 usage or configuration error,
3 infrastructure failure (the target, the model provider or the network failed).`,
    flags: {
      limit: { value: 'N' },
      concurrency: { value: 'N', cliOnly: true },
      json: { cliOnly: true },
      junit: { value: 'FILE', cliOnly: true },
      failUnder: { value: 'X', cliOnly: true },
      maxErrors: { value: 'N', cliOnly: true },
      retryErrors: { value: 'RUN', cliOnly: true },
      new: { cliOnly: true },
    },
    check: (args, door) => {
      if (args.suite !== undefined && args.retryErrors !== undefined)
        return 'arbiter run --retry-errors <run> takes a run id, not a suite file.';
      if (args.suite === undefined && args.retryErrors === undefined)
        return door === 'cli'
          ? 'arbiter run needs a suite file (or a suite name), e.g. `arbiter run quickstart`.'
          : 'run needs exactly one suite, e.g. `run quickstart`.';
      return undefined;
    },
    chat: chat<{ suite?: string; limit?: number }>(async (cmd, ctx, deps) => {
      const file = findSuite(cmd.suite ?? '', { suitesDir: deps.suitesDir });
      const suite = loadSuite(file, deps.environment);
      const started = await deps.runs.startRun(suite, {
        ...(cmd.limit !== undefined ? { limit: cmd.limit } : {}),
        ...(ctx.idempotencyKey ? { idempotencyKey: ctx.idempotencyKey } : {}),
        origin: { user: ctx.user, ...(ctx.channel ? { channel: ctx.channel } : {}) },
        actor: commandActor(ctx),
      });
      const run = await deps.runs.getRun(started.runId);
      if (!run) throw new ArbiterError('INTERNAL', `Run ${started.runId} vanished after it was started.`);
      return { message: runProgressMessage(run), watchRun: { runId: run._id, created: started.created } };
    }),
    cli: (args, ctx) =>
      runRunCommand(args, {
        env: ctx.env,
        environment: ctx.environment,
        io: { ...ctx.io, isTTY: ctx.io.isTTY === true },
        services: ctx.services,
        printReportUrl: true,
      }),
  }),
  'runs.list': defineCommand({
    words: ['runs', 'list'],
    aliases: [['runs']],
    summary: 'recent runs',
    role: 'reader',
    args: z.object({
      suite: z.string().optional().describe('only runs of this suite'),
      limit: whole(1, 1000, `how many runs (default ${RUNS_LIST_DEFAULT})`),
      json,
    }),
    flags: {
      suite: { value: 'NAME', cliOnly: true },
      limit: { value: 'N', cliOnly: true },
      json: { cliOnly: true },
    },
    chat: chat(async (_cmd, _ctx, deps) => {
      const runs = await deps.runs.listRuns({ limit: 15 });
      return {
        message: {
          title: 'Recent runs',
          summary: `${runs.length} recent runs`,
          sections: [
            {
              kind: runs.length ? 'code' : 'text',
              text: runs.length ? runs.map(runRow).join('\n') : 'No runs yet.',
            },
          ],
          ephemeral: true,
        },
      };
    }),
    cli: cliRuns('runs.list'),
  }),
  'runs.show': defineCommand({
    words: ['runs', 'show'],
    summary: "one run's summary",
    role: 'reader',
    args: z.object({
      id,
      json,
      junit: z.string().optional().describe('write a JUnit XML report to FILE'),
      link,
    }),
    positionals: [{ key: 'id' }],
    shape: '<id>',
    arity: 'a run id',
    flags: { json: { cliOnly: true }, junit: { value: 'FILE', cliOnly: true }, link: { cliOnly: true } },
    chat: chat<{ id: string }>(async (cmd, _ctx, deps) => {
      const run = await deps.runs.getRun(cmd.id);
      if (!run)
        throw new ArbiterError('NOT_FOUND', `No run with id ${cmd.id}.`, {
          hint: 'List runs with `runs list`.',
        });
      const summary = renderRunSummary(run, await deps.runs.items(run._id));
      // With PUBLIC_URL, the signed link to the run's page, as on the run report in the channel.
      const button = openReportSection(deps.reportUrl?.(reportPaths.run(run._id)));
      return { message: { ...summary, sections: [...summary.sections, ...button], ephemeral: true } };
    }),
    cli: (args, ctx) => withLink('run', args, ctx, cliRuns('runs.show')),
  }),
  'runs.compare': defineCommand({
    words: ['runs', 'compare'],
    summary: 'compare two runs of the same suite',
    role: 'reader',
    args: z.object({ a: id, b: id, json }),
    positionals: [{ key: 'a' }, { key: 'b' }],
    shape: '<a> <b>',
    arity: 'two run ids',
    flags: JSON_FLAG,
    chat: chat<{ a: string; b: string }>(async (cmd, _ctx, deps) => {
      const cmp = await deps.runs.compare(cmd.a, cmd.b);
      return { message: { ...renderComparison(cmp), ephemeral: true } };
    }),
    cli: cliRuns('runs.compare'),
  }),
  'runs.cancel': defineCommand({
    words: ['runs', 'cancel'],
    summary: 'stop a run',
    role: 'admin',
    args: z.object({ id }),
    positionals: [{ key: 'id' }],
    shape: '<id>',
    arity: 'a run id',
    chat: chat<{ id: string }>(async (cmd, ctx, deps) => {
      const run = await deps.runs.cancelRun(cmd.id, { actor: commandActor(ctx) });
      const text =
        run.status === 'cancelled'
          ? `Cancelled ${cmd.id}.`
          : run.status === 'running' || run.status === 'queued'
            ? `Asked ${cmd.id} to stop; it is cancelled when its worker notices.`
            : `${cmd.id} already ended (${run.status}).`;
      return { message: notice('Run cancel', text) };
    }),
    cli: cliRuns('runs.cancel'),
  }),
  'runs.publish': defineCommand({
    words: ['runs', 'publish'],
    summary: 'a run of a Langfuse dataset: send the item traces and scores Langfuse missed',
    role: 'admin',
    args: z.object({ id }),
    positionals: [{ key: 'id' }],
    shape: '<id>',
    arity: 'a run id',
    cli: cliRuns('runs.publish'),
  }),
  review: defineCommand({
    words: ['review'],
    aliases: [['review', 'create']],
    summary: "open a blind pairwise review of runs' shared items",
    role: 'admin',
    args: z.object({
      runs: z.array(id).min(2).max(20).describe('the runs to compare'),
      pairs: whole(1, 10_000, 'how many pairs to vote on'),
      reviewersPerPair: whole(1, 20, 'reviewers per pair'),
      dm: z.boolean().optional().describe('send ballots to reviewers by DM'),
      deadlineMs: duration.optional().describe('close after this long (30m, 12h, 2d)'),
      channel: z.string().optional().describe('the channel the bot posts the ballots in'),
    }),
    positionals: [{ key: 'runs', variadic: 'array' }],
    shape: '<runA> <runB> [more]',
    arity: 'at least two run ids, e.g. `review run_a run_b`',
    flags: {
      pairs: { value: 'N' },
      reviewersPerPair: { flag: 'reviewers', value: 'N' },
      deadlineMs: { flag: 'deadline', value: '2d' },
      channel: { value: 'C', cliOnly: true },
    },
    check: (args, door) => {
      if (new Set(args.runs).size < args.runs.length)
        return `review needs different runs: ${args.runs.join(' and ')} name the same run twice.`;
      if (door === 'cli' && !args.channel && !args.dm)
        return 'review needs --channel C… (or --dm to send ballots to reviewers).';
      return undefined;
    },
    chat: chat<{
      runs: string[];
      pairs?: number;
      reviewersPerPair?: number;
      dm?: boolean;
      deadlineMs?: number;
    }>(async (cmd, ctx, deps) => {
      const svc = reviews(deps);
      if (!svc) return NO_REVIEWS;
      const { runs, pairs, reviewersPerPair, dm, deadlineMs } = cmd;
      return {
        message: await reviewCommand(
          {
            name: 'review',
            runs,
            ...(pairs !== undefined ? { pairs } : {}),
            ...(reviewersPerPair !== undefined ? { reviewersPerPair } : {}),
            ...(dm !== undefined ? { dm } : {}),
            ...(deadlineMs !== undefined ? { deadlineMs } : {}),
          },
          {
            user: ctx.user,
            channel: ctx.channel ?? ctx.user,
            ...(ctx.idempotencyKey ? { idempotencyKey: ctx.idempotencyKey } : {}),
            actor: commandActor(ctx),
          },
          svc,
        ),
      };
    }),
    cli: cliReview('review'),
  }),
  'review.list': defineCommand({
    words: ['review', 'list'],
    summary: 'open and recent reviews',
    role: 'reader',
    args: z.object({}),
    chat: chat(async (_cmd, _ctx, deps) => {
      const svc = reviews(deps);
      return svc ? { message: await reviewListCommand(svc) } : NO_REVIEWS;
    }),
    cli: cliReview('review.list'),
  }),
  'review.close': defineCommand({
    words: ['review', 'close'],
    summary: 'close a review now and post the reveal',
    role: 'admin',
    args: z.object({ id }),
    positionals: [{ key: 'id' }],
    shape: '<id>',
    arity: 'a review id, e.g. `review close rev_…`',
    chat: chat<{ id: string }>(async (cmd, ctx, deps) => {
      const svc = reviews(deps);
      if (!svc) return NO_REVIEWS;
      return {
        message: await reviewCloseCommand(
          { name: 'review.close', id: cmd.id },
          { user: ctx.user, actor: commandActor(ctx) },
          svc,
        ),
      };
    }),
    cli: cliReview('review.close'),
  }),
  'review.report': defineCommand({
    words: ['review', 'report'],
    summary: "a review's result: ratings, votes and reasons",
    role: 'reader',
    args: z.object({ id, link }),
    positionals: [{ key: 'id' }],
    shape: '<id>',
    arity: 'a review id',
    flags: { link: { cliOnly: true } },
    chat: chat<{ id: string }>(async (cmd, _ctx, deps) => {
      const svc = reviews(deps);
      return svc ? { message: { ...(await svc.report(cmd.id)), ephemeral: true } } : NO_REVIEWS;
    }),
    cli: (args, ctx) => withLink('review', args, ctx, cliReview('review.report')),
  }),
  'review.reason': defineCommand({
    words: ['review', 'reason'],
    summary: 'add a reason to your vote (the ballot\'s "Add a reason" shows how)',
    role: 'reviewer',
    args: z.object({
      token: z
        .string()
        .regex(/^bt_[A-Za-z0-9_-]{22}$/, { error: 'expected a ballot token (bt_…)' })
        .describe('the ballot token'),
      reason: z.string().min(1).max(1000).describe('why you voted so'),
    }),
    positionals: [{ key: 'token' }, { key: 'reason', variadic: 'join' }],
    shape: '<ballot> <text>',
    arity: 'a ballot token and your reason',
    chat: chat<{ token: string; reason: string }>(async (cmd, ctx, deps) => {
      const svc = reviews(deps);
      return svc ? { message: await reviewReasonCommand(cmd, { user: ctx.user }, svc) } : NO_REVIEWS;
    }),
  }),
  leaderboard: defineCommand({
    words: ['leaderboard'],
    summary: 'ratings pooled over all closed reviews',
    role: 'reader',
    args: z.object({}),
    chat: chat(async (_cmd, _ctx, deps) => {
      const svc = reviews(deps);
      return svc ? { message: await leaderboardCommand(svc) } : NO_REVIEWS;
    }),
    cli: (_args, ctx) => runLeaderboardCli({ env: ctx.env, io: ctx.io, services: ctx.services }),
  }),
  'monitor.list': defineCommand({
    words: ['monitor', 'list'],
    summary: 'monitors: schedule, state, last tick, open alerts',
    role: 'reader',
    args: z.object({}),
    chat: chat(async (_cmd, _ctx, deps) => {
      if (!deps.monitors) return { message: NO_MONITORS };
      return {
        message: { ...(await listMonitors(deps.monitors.list, deps.monitors.deps)), ephemeral: true },
      };
    }),
    cli: cliMonitor('monitor.list'),
  }),
  'monitor.run': defineCommand({
    words: ['monitor', 'run'],
    summary: 'run one tick now; the report is posted here (--dry-run: what the extractor produces)',
    role: 'admin',
    args: z.object({
      monitor: z.string().min(1).max(200).describe('the monitor name'),
      dryRun: z.boolean().optional().describe('show what the extractor produces; score and post nothing'),
      records: whole(1, 1000, `records to show with --dry-run (default ${DRY_RUN_RECORDS})`),
    }),
    positionals: [{ key: 'monitor' }],
    shape: '<name>',
    arity: 'a monitor name (see `monitor list`)',
    flags: { dryRun: { cliOnly: true }, records: { value: 'N', cliOnly: true } },
    chat: chat<{ monitor: string }>(async (cmd, ctx, deps) => {
      if (!deps.monitors) return { message: NO_MONITORS };
      const { list, deps: mdeps } = deps.monitors;
      const found = findMonitor(list, cmd.monitor);
      if (!found.ok) return { message: unknownMonitor(found.error) };
      const m = found.monitor;
      const paused = (await mdeps.store.getState(m.name)).paused === true;
      // The monitor file's load warnings (old forms) where the user acts, not only in the start-up log.
      const note = [
        ...(paused ? [`${m.name} is paused: only its scheduled ticks are skipped.`] : []),
        ...warningNotes(m.warnings ?? []),
      ];
      const noteSection = contextSection(note);
      const { outcome, message } = await runMonitorNow(m, mdeps, commandActor(ctx));
      if (outcome.status === 'skipped')
        return {
          message: notice(
            `Monitor ${m.name}`,
            `Not run: ${outcome.reason}. Try again in a moment.`,
            noteSection,
          ),
        };
      if (message) return { message: { ...message, sections: [...message.sections, ...noteSection] } };
      if (outcome.status === 'failed')
        return {
          message: notice(`Monitor ${m.name}: tick failed`, outcome.error, [
            { kind: 'context', items: ['The next tick retries from the same watermark.', ...note] },
          ]),
        };
      return {
        message: notice(
          `Monitor ${m.name}`,
          `Nothing new to report: read ${outcome.read}, scored ${outcome.scored}, already scored ${outcome.alreadyScored}.`,
          noteSection,
        ),
      };
    }),
    cli: cliMonitor('monitor.run'),
  }),
  'monitor.pause': defineCommand({
    words: ['monitor', 'pause'],
    summary: "stop a monitor's scheduled ticks (every replica, across restarts)",
    role: 'admin',
    args: z.object({ monitor: z.string().min(1).max(200).describe('the monitor name') }),
    positionals: [{ key: 'monitor' }],
    shape: '<name>',
    arity: 'a monitor name (see `monitor list`)',
    chat: chat<{ monitor: string }>((cmd, ctx, deps) => pauseOrResume(cmd.monitor, true, ctx, deps)),
    cli: cliMonitor('monitor.pause'),
  }),
  'monitor.resume': defineCommand({
    words: ['monitor', 'resume'],
    summary: "restart a monitor's scheduled ticks",
    role: 'admin',
    args: z.object({ monitor: z.string().min(1).max(200).describe('the monitor name') }),
    positionals: [{ key: 'monitor' }],
    shape: '<name>',
    arity: 'a monitor name (see `monitor list`)',
    chat: chat<{ monitor: string }>((cmd, ctx, deps) => pauseOrResume(cmd.monitor, false, ctx, deps)),
    cli: cliMonitor('monitor.resume'),
  }),
  'monitor.backfill': defineCommand({
    words: ['monitor', 'backfill'],
    summary: 'score what a monitor missed since a date',
    role: 'admin',
    args: z.object({
      monitor: z.string().min(1).max(200).describe('the monitor name'),
      since: z
        .string()
        .refine((v) => !Number.isNaN(new Date(v).getTime()), {
          error: 'expects a date such as 2026-11-01 or 2026-11-01T09:00:00Z',
        })
        .describe('a date such as 2026-11-01 or 2026-11-01T09:00:00Z'),
    }),
    positionals: [{ key: 'monitor' }],
    shape: '<name>',
    arity: 'a monitor name (see `monitor list`)',
    flags: { since: { value: 'DATE' } },
    cli: cliMonitor('monitor.backfill'),
  }),
  digest: defineCommand({
    words: ['digest'],
    aliases: [['digest', 'now']],
    aliasArgs: { 'digest now': { now: true } },
    summary: 'preview the digests (only you see it); --post posts them now, once per period',
    role: (args) => (args.now ? 'admin' : 'reader'),
    args: z.object({
      now: z.boolean().default(false).describe('post now instead of previewing'),
      period: z.enum(['day', 'week']).optional().describe('the period: day or week'),
      only: z.string().optional().describe('only the digest with this name'),
      dryRun: z.boolean().optional().describe('preview and write the chart under DATA_DIR/digests/'),
    }),
    flags: {
      now: { flag: 'post' },
      period: { value: 'day|week' },
      only: { flag: 'name', value: 'N', cliOnly: true },
      dryRun: { cliOnly: true },
    },
    chat: chat<{ now: boolean; period?: 'day' | 'week' }>(async (cmd, ctx, deps) => ({
      message: await handleDigest(
        { name: 'digest', now: cmd.now, ...(cmd.period ? { period: cmd.period } : {}) },
        deps.digests,
        commandActor(ctx),
      ),
    })),
    check: (args) =>
      args.dryRun && args.now ? '--dry-run previews and --post posts: give one of them.' : undefined,
    // `arbiter digest now` is `--post`, as in chat.
    cli: (args, ctx) => runDigestCli(args, { env: ctx.env, io: ctx.io, services: ctx.services }),
  }),
  'jobs.list': defineCommand({
    words: ['jobs', 'list'],
    summary: 'the durable job queue',
    role: 'admin',
    args: z.object({
      status: z
        .string()
        .refine(isJobStatus, { error: `must be one of ${JobStatusSchema.options.join(', ')}` })
        .optional()
        .describe('only jobs in this status'),
      type: z.string().optional().describe('only jobs of this type'),
      limit: whole(1, 10_000, `how many jobs (default ${JOBS_LIST_DEFAULT})`),
      json,
    }),
    flags: { status: { value: 'S' }, type: { value: 'T' }, limit: { value: 'N' }, json: { cliOnly: true } },
    cli: cliJobs('jobs.list'),
  }),
  'jobs.show': defineCommand({
    words: ['jobs', 'show'],
    summary: 'one job',
    role: 'admin',
    args: z.object({ id: z.string().min(1).describe('the job id'), json }),
    positionals: [{ key: 'id' }],
    shape: '<id>',
    arity: 'a job id',
    flags: JSON_FLAG,
    cli: cliJobs('jobs.show'),
  }),
  'jobs.cancel': defineCommand({
    words: ['jobs', 'cancel'],
    summary: 'cancel a job (and its run)',
    role: 'admin',
    args: z.object({ id: z.string().min(1).describe('the job id') }),
    positionals: [{ key: 'id' }],
    shape: '<id>',
    arity: 'a job id',
    cli: cliJobs('jobs.cancel'),
  }),
  'store.migrate': defineCommand({
    words: ['store', 'migrate'],
    summary: 'move a nedb DATA_DIR into the SQLite store now (what the first start does)',
    role: 'admin',
    args: z.object({}),
    cli: cliStore('store.migrate'),
  }),
  'store.stats': defineCommand({
    words: ['store', 'stats'],
    summary: 'documents per collection; SQLite database, WAL and DATA_DIR sizes',
    role: 'admin',
    args: z.object({ json }),
    flags: JSON_FLAG,
    cli: cliStore('store.stats'),
  }),
  audit: defineCommand({
    words: ['audit'],
    summary: 'who launched, cancelled, voted, closed, paused, migrated what (newest first)',
    role: 'admin',
    args: z.object({
      since: z
        .string()
        .max(100)
        .refine(isAuditSince, { error: 'expects a duration such as 7d or 12h, or a date such as 2026-12-01' })
        .optional()
        .describe('only records since then: a duration back from now (7d, 12h) or a date (2026-12-01)'),
      user: z
        .string()
        .min(1)
        .max(100)
        .transform(auditUser)
        .optional()
        .describe('only what this user did: a Slack user id or @mention, or the CLI user name'),
      object: z
        .string()
        .max(300)
        .refine(isAuditObject, { error: AUDIT_OBJECT_WORDS })
        .optional()
        .describe(
          'only records about one object (run:<id>, review:<id>, monitor:<name>, …) or one type (review)',
        ),
      limit: whole(
        1,
        AUDIT_CLI_MAX,
        `how many records, newest first (chat: 20 by default, at most ${AUDIT_CHAT_MAX}; CLI: every match up to ${AUDIT_CLI_MAX})`,
      ),
      json,
    }),
    flags: {
      since: { value: '7d|DATE' },
      user: { value: 'U' },
      object: { value: 'run:ID' },
      limit: { value: 'N' },
      json: { cliOnly: true },
    },
    check: (args, door) =>
      door === 'chat' && args.limit !== undefined && args.limit > AUDIT_CHAT_MAX
        ? `--limit is at most ${AUDIT_CHAT_MAX} in chat (\`arbiter audit\` prints up to ${AUDIT_CLI_MAX}).`
        : undefined,
    chat: chat<AuditArgs>(async (cmd, _ctx, deps) => {
      if (!deps.audit) return { message: notice('Audit', 'The audit trail is not set up in this process.') };
      const { name: _name, ...args } = cmd;
      return { message: await auditCommand(args, deps.audit, new Date()) };
    }),
    cli: (args, ctx) => runAuditCli(args, { io: ctx.io, services: ctx.services }),
  }),
  ratings: defineCommand({
    words: ['ratings'],
    summary: 'Bradley–Terry ratings with 95% intervals from pairwise votes (`arbiter ratings --help`)',
    role: 'reader',
    args: z.object({
      votes: z.string().min(1).describe('the votes file, JSON Lines (required)'),
      bootstrap: count(
        0,
        100_000,
        `bootstrap rounds for the intervals, 0 for none (default ${RATINGS_DEFAULTS.bootstrap})`,
      ),
      seed: z
        .string()
        .regex(/^-?\d+$/, { error: 'expects an integer' })
        .transform(Number)
        .pipe(z.number().int())
        .optional()
        .describe(`seed of the bootstrap, an integer (default ${RATINGS_DEFAULTS.seed})`),
      contenders: z
        .string()
        .transform((v) =>
          v
            .split(',')
            .map((c) => c.trim())
            .filter(Boolean),
        )
        .optional()
        .describe('known contenders; those without votes are listed as unrated'),
      minVotes: count(
        1,
        1_000_000,
        `votes a contender needs before it gets an interval and a rank (default ${RATINGS_DEFAULTS.minVotes})`,
      ),
      excludeBothBad: z
        .boolean()
        .optional()
        .describe('do not count "both_bad" votes as games (default: they count as ties)'),
      json: z.boolean().optional().describe('print the full table as JSON'),
    }),
    flags: {
      votes: { value: 'FILE' },
      bootstrap: { value: 'N' },
      seed: { value: 'N' },
      contenders: { value: 'A,B,…' },
      minVotes: { value: 'N' },
    },
    detail: RATINGS_DETAIL,
    standalone: true,
    cli: (args, ctx) => runRatingsCli(args, ctx.io),
  }),
  metrics: defineCommand({
    words: ['metrics'],
    summary:
      'every metric suites and monitors can use, with its arguments (docs/reference.md has every field)',
    role: 'reader',
    args: z.object({ metric: z.string().optional().describe('one metric'), json }),
    positionals: [{ key: 'metric' }],
    shape: '[name]',
    arity: 'at most one metric name',
    flags: JSON_FLAG,
    standalone: true,
    cli: (args, ctx) => {
      const name = args.metric;
      if (name !== undefined && !isMetricName(name)) {
        const guess = closestName(name, METRIC_NAMES);
        throw new ArbiterError('USAGE', `No metric "${name}".${guess ? ` Did you mean "${guess}"?` : ''}`, {
          hint: `Metrics: ${METRIC_NAMES.join(', ')}.`,
        });
      }
      if (args.json) {
        const list = describeMetrics()
          .filter((m) => name === undefined || m.name === name)
          .map(({ argsSchema: _schema, ...m }) => m);
        ctx.io.stdout(`${JSON.stringify(list, null, 2)}\n`);
      } else ctx.io.stdout(`${formatMetricReference(name)}\n`);
      return 0;
    },
  }),
};

/** Ids of every command. */
export type CommandId = keyof typeof COMMANDS;

/** A parsed command: its id as `name` and its arguments. */
export type Command = {
  [K in CommandId]: { name: K } & z.output<(typeof COMMANDS)[K]['args']>;
}[CommandId];

async function pauseOrResume(
  name: string,
  pause: boolean,
  ctx: DispatchContext,
  deps: DispatchDeps,
): Promise<CommandReply> {
  if (!deps.monitors) return { message: NO_MONITORS };
  const found = findMonitor(deps.monitors.list, name);
  if (!found.ok) return { message: unknownMonitor(found.error) };
  const m = found.monitor;
  const res = await setMonitorPaused(m, pause, commandActor(ctx), deps.monitors.deps);
  // A change is posted in the channel so the team sees who paused what; a no-op only to the asker.
  return { message: { ...notice(`Monitor ${m.name}`, res.text), ephemeral: !res.changed } };
}

/** A monitor name that names none: the names there are, and the monitor commands' usage lines. */
function unknownMonitor(error: string): Message {
  const lines = Object.values(COMMANDS as Registry)
    .filter((c) => c.words[0] === 'monitor' && c.chat)
    .map((c) => usageLine(c, 'chat'));
  return notice('Arbiter: unknown monitor', error, [{ kind: 'code', text: lines.join('\n') }]);
}

/** The chat help: every command Slack and the console serve. */
export function chatHelp(): string {
  return `Commands:\n${helpText(COMMANDS, 'chat')}`;
}

function noHelpOn(topic: string): string {
  const guess = closestName(topic, HELP_TOPICS);
  return `No help on "${topic}".${guess ? ` Did you mean \`help ${guess}\`?` : ''} Topics: ${HELP_TOPICS.join(', ')}.`;
}

/** `help [topic]` as a Message. */
export function helpMessage(topic: string | undefined): Message {
  if (topic === undefined)
    return {
      title: 'Arbiter help',
      summary: 'Arbiter commands',
      sections: [{ kind: 'code', text: chatHelp() }],
      ephemeral: true,
    };
  const text = helpTopicText(topic);
  if (text === undefined) return notice('Arbiter help', noHelpOn(topic));
  return { title: `Arbiter help: ${topic}`, sections: [{ kind: 'code', text }], ephemeral: true };
}

/** The `arbiter` CLI help, generated from the same table. */
export function CLI_HELP(): string {
  return `arbiter — evaluation runs, blind reviews and monitors for LLM apps

Usage:
${helpText(COMMANDS, 'cli', 'arbiter ')}

A suite is named by its file name in SUITES_DIR, its \`name:\`, or a path. An unfinished run of the same suite is
resumed unless --new. \`arbiter digest\` without --post still posts in this release (with a warning).
Exit codes: 0 ok, 1 below a threshold, 2 usage or configuration error, 3 infrastructure failure (a target,
the model provider or the network failed: an errored run is never a quality verdict).
`;
}
