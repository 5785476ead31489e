import { randomUUID } from 'node:crypto';
import {
  ArbiterError,
  createScrubber,
  describeEnv,
  formatUserError,
  isArbiterError,
  parseEnv,
  registerEnvSecrets,
  secretValues,
} from '../config/index.ts';
import type { CliIo } from './io.ts';
import { HELP_TOPICS, helpTopicText } from '../commands/index.ts';
import { runDigestCli } from '../commands/index.ts';
import { runRatingsCli } from '../commands/index.ts';
import { runRunCommand, runRunsCommand } from '../commands/index.ts';
import {
  closestName,
  describeMetrics,
  formatMetricReference,
  isMetricName,
  METRIC_NAMES,
} from '../evaluators/index.ts';
import { runMonitorCli } from '../monitors/index.ts';
import { runJobsCommand } from './jobs.ts';
import { runLinkCli, wantsLink } from './links.ts';
import { runLeaderboardCli, runReviewCli } from './review.ts';
import { runStoreCommand } from './store.ts';

const USAGE = `arbiter — evaluation runs, blind reviews and monitors for LLM apps

Usage:
  arbiter config [--json]            show the effective configuration (secrets redacted)
  arbiter run <suite.yaml> [--concurrency N] [--limit N] [--json] [--junit FILE] [--fail-under X]
             [--max-errors N] [--new]
                                     run an evaluation suite (resumes an unfinished run of it unless --new)
  arbiter run --retry-errors <run>   run only the errored items of a finished run again
  arbiter runs list [--suite NAME] [--limit N] [--json]
  arbiter runs show <id> [--json] [--junit FILE] [--link]
  arbiter runs compare <a> <b> [--json]
  arbiter runs cancel <id>
  arbiter monitor list
  arbiter monitor run <name> [--dry-run] [--records N]
                                     run one monitor tick now (--dry-run: show what the extractor produces)
  arbiter monitor backfill <name> --since <date>
  arbiter digest [--period day|week] [--dry-run] [--name N]
                                     post the configured digests for the last complete period (once per
                                     period); --dry-run prints it and writes the chart under DATA_DIR/digests/
  arbiter review create <runA> <runB> [more] --channel C [--pairs N] [--reviewers N] [--dm] [--deadline 2d]
                                     open a blind pairwise review; the bot posts the ballots from its job queue
  arbiter review list | review close <id> | review report <id> [--link]
  arbiter leaderboard                ratings pooled over every closed review
  arbiter jobs list [--status S] [--type T] [--limit N] [--json]
  arbiter jobs show <id> [--json]
  arbiter jobs cancel <id>
  arbiter store migrate              move a nedb DATA_DIR into the SQLite store now (what the first start does)
  arbiter store stats [--json]       documents per collection; SQLite database, WAL and DATA_DIR sizes
  arbiter ratings --votes votes.jsonl [--bootstrap N] [--seed N] [--json]
                                     Bradley–Terry ratings with 95% intervals from pairwise votes
  arbiter metrics [name] [--json]    every metric suites and monitors can use, with its arguments
                                     (the full reference of every YAML field is docs/reference.md)
  arbiter help [metrics]             this text, or the metrics in one line each

Exit codes: 0 ok, 1 below a threshold, 2 usage or configuration error, 3 infrastructure failure (a target,
the model provider or the network failed: an errored run is never a quality verdict).
`;

/** Runs one CLI invocation and returns its exit code; errors become a message on stderr, never a stack trace. */
export async function runCli(
  argv: string[],
  environment: Record<string, string | undefined>,
  io: CliIo,
): Promise<number> {
  let scrub = (s: string) => s;
  try {
    const [command, ...rest] = argv;
    if (!command || command === 'help' || command === '--help' || command === '-h') {
      const topic = rest[0];
      if (topic === undefined) {
        io.stdout(USAGE);
        return 0;
      }
      const text = helpTopicText(topic);
      if (text === undefined)
        throw new ArbiterError('USAGE', `No help on "${topic}". Topics: ${HELP_TOPICS.join(', ')}.`);
      io.stdout(`${text}\n`);
      return 0;
    }
    // Standalone: needs neither the store nor the environment.
    if (command === 'ratings') return await runRatingsCli(rest, io);
    if (command === 'metrics') return runMetricsCli(rest, io);
    const env = parseEnv(environment);
    registerEnvSecrets(env);
    scrub = createScrubber(secretValues(env));
    switch (command) {
      case 'config': {
        const shown = describeEnv(env);
        if (rest.includes('--json')) io.stdout(`${JSON.stringify(shown, null, 2)}\n`);
        else
          io.stdout(
            `${Object.entries(shown)
              .map(([k, v]) => `${k}=${v}`)
              .join('\n')}\n`,
          );
        return 0;
      }
      case 'jobs':
        return await runJobsCommand(rest, env, io);
      case 'store':
        return await runStoreCommand(rest, env, io);
      case 'run':
        return await runRunCommand(rest, {
          env,
          environment,
          io: { ...io, isTTY: process.stderr.isTTY === true },
        });
      case 'runs':
        if (rest[0] === 'show' && wantsLink(rest)) return await runLinkCli('run', rest.slice(1), { env, io });
        return await runRunsCommand(rest, { env, environment, io });
      case 'monitor':
        return await runMonitorCli(rest, { env, io });
      case 'digest':
        return await runDigestCli(rest, { env, io });
      case 'review':
        if (rest[0] === 'report' && wantsLink(rest))
          return await runLinkCli('review', rest.slice(1), { env, io });
        return await runReviewCli(rest, { env, io });
      case 'leaderboard':
        return await runLeaderboardCli({ env, io });
      default:
        throw new ArbiterError('USAGE', `Unknown command "${command}".`, { hint: USAGE });
    }
  } catch (err) {
    if (isArbiterError(err)) {
      io.stderr(`${scrub(formatUserError(err))}\n`);
      return err.exitCode;
    }
    const ref = randomUUID().slice(0, 8);
    io.stderr(
      `Unexpected error (reference ${ref}): ${scrub(err instanceof Error ? err.message : String(err))}\n`,
    );
    return 3;
  }
}

/** `arbiter metrics [name] [--json]`: the metric reference, from the registry itself. */
function runMetricsCli(args: string[], io: CliIo): number {
  const json = args.includes('--json');
  const rest = args.filter((a) => a !== '--json');
  const unknownFlag = rest.find((a) => a.startsWith('-'));
  if (unknownFlag)
    throw new ArbiterError('USAGE', `Unknown option ${unknownFlag}.`, {
      hint: 'Usage: arbiter metrics [name] [--json]',
    });
  if (rest.length > 1)
    throw new ArbiterError('USAGE', 'Give at most one metric name.', {
      hint: 'Usage: arbiter metrics [name] [--json]',
    });
  const name = rest[0];
  if (name !== undefined && !isMetricName(name)) {
    const guess = closestName(name, METRIC_NAMES);
    throw new ArbiterError('USAGE', `No metric "${name}".${guess ? ` Did you mean "${guess}"?` : ''}`, {
      hint: `Metrics: ${METRIC_NAMES.join(', ')}.`,
    });
  }
  if (json) {
    const list = describeMetrics()
      .filter((m) => name === undefined || m.name === name)
      .map(({ argsSchema: _schema, ...m }) => m);
    io.stdout(`${JSON.stringify(list, null, 2)}\n`);
  } else io.stdout(`${formatMetricReference(name)}\n`);
  return 0;
}
