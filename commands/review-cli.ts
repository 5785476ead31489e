// `arbiter review create|list|close|report` and `arbiter leaderboard`: the same review use cases as Slack, on the
// configured store. Creating or closing only records and queues work: the bot's worker posts the ballots (or the
// reveal) in Slack, so the CLI needs no Slack token, and with the embedded store the posts go out at the next start.
import { cliActor, createAuditLog } from '../audit/index.ts';
import { createSilentLogger, type Env, systemClock, systemIds } from '../config/index.ts';
import type { Message } from '../chat/index.ts';
import {
  createReviewRunSource,
  leaderboardCommand,
  reviewCloseCommand,
  reviewCommand,
  reviewListCommand,
} from './reviews.ts';
import type { Transport } from '../chat/index.ts';
import { messageToText } from '../monitors/index.ts';
import { createReviewService, type ReviewService } from '../reviews/index.ts';
import { createRunRepository } from '../runs/index.ts';
import { createJobQueue, type DocumentStore, openStore } from '../storage/index.ts';
import type { CliIo } from './registry.ts';

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

/** The CLI never posts: anything a use case would post is queued as a job for the bot's worker instead. */
const refusingTransport: Transport = {
  name: 'cli',
  post: () => Promise.reject(new Error('the CLI does not post; the bot posts from its job queue')),
  update: () => Promise.reject(new Error('the CLI does not post')),
  postEphemeral: () => Promise.reject(new Error('the CLI does not post')),
  uploadFile: () => Promise.reject(new Error('the CLI does not post')),
};

/** What the review CLI needs; tests pass their own store. */
export interface ReviewCliDeps {
  env: Env;
  io: CliIo;
  store?: DocumentStore;
}

async function withReviews<T>(deps: ReviewCliDeps, fn: (reviews: ReviewService) => Promise<T>): Promise<T> {
  const logger = createSilentLogger();
  const store = deps.store ?? (await openStore(deps.env, { logger }));
  try {
    const reviews = await createReviewService({
      store,
      runs: createReviewRunSource(await createRunRepository(store)),
      transport: refusingTransport,
      queue: await createJobQueue(store, { defaultMaxAttempts: deps.env.JOB_MAX_ATTEMPTS }),
      clock: systemClock,
      ids: systemIds,
      logger,
      audit: createAuditLog(store),
      reviewers: deps.env.ARBITER_REVIEWERS.filter((id) => !id.startsWith('S')),
      ...(deps.env.PROMPT_ALERTS_CHANNEL ? { defaultChannel: deps.env.PROMPT_ALERTS_CHANNEL } : {}),
    });
    return await fn(reviews);
  } finally {
    if (!deps.store) await store.close();
  }
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
