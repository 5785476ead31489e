// `arbiter review create|list|close|report` and `arbiter leaderboard`: the same review use cases as Slack, on the
// configured store. Creating or closing only records and queues work: the bot's worker posts the ballots (or the
// reveal) in Slack, so the CLI needs no Slack token, and with the embedded store the posts go out at the next start.
import { cliActor } from '../audit/index.ts';
import type { Env } from '../config/index.ts';
import { type Message, messageToText } from '../chat/index.ts';
import { leaderboardCommand, reviewCloseCommand, reviewCommand, reviewListCommand } from './reviews.ts';
import type { ReviewService } from '../reviews/index.ts';
import type { CliIo } from './registry.ts';
import type { CliServices } from './services.ts';

/**
 * One `arbiter review …` command with its arguments, as the command registry (commands/table.ts) parsed and
 * validated them: this file reads no argv.
 */
export type ReviewCliCommand =
  | {
      name: 'review';
      runs: string[];
      pairs?: number | undefined;
      reviewersPerPair?: number | undefined;
      dm?: boolean | undefined;
      deadlineMs?: number | undefined;
      channel?: string | undefined;
    }
  | { name: 'review.list' }
  | { name: 'review.close'; id: string }
  | { name: 'review.report'; id: string };

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
export async function runReviewCli(cmd: ReviewCliCommand, deps: ReviewCliDeps): Promise<number> {
  switch (cmd.name) {
    case 'review': {
      // The registry checked the runs, the numbers, the deadline and that --channel or --dm is given.
      const { runs, pairs, reviewersPerPair, deadlineMs } = cmd;
      return withReviews(deps, async (reviews) => {
        const message = await reviewCommand(
          {
            name: 'review',
            runs,
            ...(pairs !== undefined ? { pairs } : {}),
            ...(reviewersPerPair !== undefined ? { reviewersPerPair } : {}),
            ...(cmd.dm ? { dm: true } : {}),
            ...(deadlineMs !== undefined ? { deadlineMs } : {}),
          },
          { user: 'cli', channel: cmd.channel ?? 'cli', actor: cliActor(deps.env) },
          reviews,
        );
        print(deps.io, message);
        deps.io.stderr(
          'The bot posts the ballots from its job queue (at its next start with the embedded store).\n',
        );
        return 0;
      });
    }
    case 'review.list':
      return withReviews(deps, async (reviews) => {
        print(deps.io, await reviewListCommand(reviews));
        return 0;
      });
    case 'review.close':
    case 'review.report': {
      const { id } = cmd;
      return withReviews(deps, async (reviews) => {
        print(
          deps.io,
          cmd.name === 'review.close'
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
  }
}

/** `arbiter leaderboard`: ratings pooled over every closed review. */
export async function runLeaderboardCli(deps: ReviewCliDeps): Promise<number> {
  return withReviews(deps, async (reviews) => {
    print(deps.io, await leaderboardCommand(reviews));
    return 0;
  });
}
