// `arbiter review create|list|close|report` and `arbiter leaderboard`: the same review use cases as Slack, on the
// configured store. Creating or closing only records and queues work: the bot's worker posts the ballots (or the
// reveal) in Slack, so the CLI needs no Slack token, and with the embedded store the posts go out at the next start.
import { cliActor } from '../audit/index.ts';
import { ArbiterError, type Env, parseDuration, parseFlags } from '../config/index.ts';
import { type Message, messageToText } from '../chat/index.ts';
import { leaderboardCommand, reviewCloseCommand, reviewCommand, reviewListCommand } from './reviews.ts';
import type { ReviewService } from '../reviews/index.ts';
import { type CliIo, cliFlagOptions } from './registry.ts';
import type { CliServices } from './services.ts';
import { COMMANDS } from './table.ts';

const USAGE = `Usage:
  arbiter review create <runA> <runB> [more runs] --channel C [--pairs N] [--reviewers N] [--dm] [--deadline 2d]
  arbiter review list
  arbiter review close <id>
  arbiter review report <id> [--link]
  arbiter leaderboard`;

/** What the review CLI needs: the CLI services (app/) give it the review service on the configured store. */
export interface ReviewCliDeps {
  env: Env;
  io: CliIo;
  services: CliServices;
}

async function withReviews<T>(deps: ReviewCliDeps, fn: (reviews: ReviewService) => Promise<T>): Promise<T> {
  return fn(await deps.services.reviews());
}

function print(io: CliIo, message: Message): void {
  io.stdout(`${messageToText(message)}\n`);
}

/** `arbiter review …`; returns the exit code. */
export async function runReviewCli(argv: string[], deps: ReviewCliDeps): Promise<number> {
  const [sub, ...rest] = argv;
  const parsed = parseFlags(rest, {
    allowPositionals: true,
    usage: USAGE,
    // The flags of the `review …` entries of the registry (commands/table.ts).
    options: cliFlagOptions(
      COMMANDS.review,
      COMMANDS['review.list'],
      COMMANDS['review.close'],
      COMMANDS['review.report'],
    ),
  });
  const positionals = parsed.positionals;
  const values = parsed.values as {
    channel?: string;
    pairs?: string;
    reviewers?: string;
    dm?: boolean;
    deadline?: string;
  };
  const whole = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) < 1)
      throw new ArbiterError('USAGE', `--${name} expects a whole number above 0.`, { hint: USAGE });
    return Number(v);
  };
  switch (sub) {
    case 'create': {
      if (positionals.length < 2)
        throw new ArbiterError('USAGE', 'review create needs at least two run ids.', { hint: USAGE });
      if (!values.channel && !values.dm)
        throw new ArbiterError(
          'USAGE',
          'review create needs --channel C… (or --dm to send ballots to reviewers).',
          {
            hint: USAGE,
          },
        );
      const deadlineMs = values.deadline === undefined ? undefined : parseDuration(values.deadline);
      if (values.deadline !== undefined && deadlineMs === undefined)
        throw new ArbiterError('USAGE', '--deadline expects a duration such as 30m, 12h or 2d.', {
          hint: USAGE,
        });
      const pairs = whole('pairs', values.pairs);
      const reviewersPerPair = whole('reviewers', values.reviewers);
      return withReviews(deps, async (reviews) => {
        const message = await reviewCommand(
          {
            name: 'review',
            runs: positionals,
            ...(pairs !== undefined ? { pairs } : {}),
            ...(reviewersPerPair !== undefined ? { reviewersPerPair } : {}),
            ...(values.dm ? { dm: true } : {}),
            ...(deadlineMs !== undefined ? { deadlineMs } : {}),
          },
          { user: 'cli', channel: values.channel ?? 'cli', actor: cliActor(deps.env) },
          reviews,
        );
        print(deps.io, message);
        deps.io.stderr(
          'The bot posts the ballots from its job queue (at its next start with the embedded store).\n',
        );
        return 0;
      });
    }
    case 'list':
      return withReviews(deps, async (reviews) => {
        print(deps.io, await reviewListCommand(reviews));
        return 0;
      });
    case 'close':
    case 'report': {
      const id = positionals[0];
      if (!id || positionals.length > 1)
        throw new ArbiterError('USAGE', `review ${sub} needs one review id.`, { hint: USAGE });
      return withReviews(deps, async (reviews) => {
        print(
          deps.io,
          sub === 'close'
            ? await reviewCloseCommand(
                { name: 'review.close', id },
                { user: 'cli', actor: cliActor(deps.env) },
                reviews,
              )
            : await reviews.report(id),
        );
        return 0;
      });
    }
    default:
      throw new ArbiterError('USAGE', `Unknown review command "${sub ?? ''}".`, { hint: USAGE });
  }
}

/** `arbiter leaderboard`: ratings pooled over every closed review. */
export async function runLeaderboardCli(deps: ReviewCliDeps): Promise<number> {
  return withReviews(deps, async (reviews) => {
    print(deps.io, await leaderboardCommand(reviews));
    return 0;
  });
}
