// The blind review service: create (or open when two runs finish), post ballots, record votes from button clicks,
// judge every pair with the pairwise judge, close (deadline, all votes in, or by hand), report and leaderboard.
// Everything lives in the store, so a restart keeps every vote and the hidden order; slow work runs in jobs.
// This file only composes the parts: lifecycle.ts (state changes), votes.ts (ballot buttons, votes, reasons),
// queries.ts (reads, reports, standings) and jobs.ts (the job handlers), each built from the deps it names.
import type { AuditLog } from '../audit/index.ts';
import { recordAudit } from '../audit/index.ts';
import type { Transport } from '../chat/index.ts';
import type { Clock, Ids, Logger, ReportUrl } from '../config/index.ts';
import type { JudgeDeps } from '../evaluators/index.ts';
import type { DocumentStore, JobHandler, JobQueue } from '../storage/index.ts';
import { createReviewJobs } from './jobs.ts';
import { createReviewLifecycle, type ReviewLifecycle } from './lifecycle.ts';
import { createReviewQueries, type ReviewQueries } from './queries.ts';
import { createReviewRepository, type ReviewRepository } from './repository.ts';
import { cryptoRandom, enqueueOn, type RecordAudit, type ReviewRandom } from './shared.ts';
import type { ReviewRunSource } from './types.ts';
import { createReviewVotes, type ReviewVotes } from './votes.ts';

/** What the review service needs. */
export interface ReviewServiceDeps {
  store: DocumentStore;
  runs: ReviewRunSource;
  /** The pairwise judge's model access; without it the report says no judge was configured. */
  judge?: JudgeDeps;
  transport: Transport;
  queue: JobQueue;
  clock: Clock;
  ids: Ids;
  logger: Logger;
  /** Reviewers DM mode sends ballots to (ARBITER_REVIEWERS). */
  reviewers?: readonly string[];
  /** Channel of reviews opened by a prompt change (openBlindReview names none). */
  defaultChannel?: string;
  /** Sources of the pairing seed and ballot tokens (crypto by default). */
  random?: ReviewRandom;
  /** How often a waiting review re-checks its runs, ms (default 30 s). */
  waitPollMs?: number;
  /** How long a review waits for its runs before giving up, ms (default 24 h). */
  maxWaitMs?: number;
  /** Bootstrap rounds of the ratings (default 1000). */
  bootstrap?: number;
  /** Wakes the in-process worker after an enqueue. */
  notify?: () => void;
  /** The audit trail: creates, votes and closes are recorded there after their durable write. */
  audit?: Pick<AuditLog, 'record'>;
  /** The signed URL of a report page (PUBLIC_URL set): the close report carries an *Open report* button. */
  reportUrl?: ReportUrl;
}

/** The review service: the lifecycle's changes, the queries, voting, and the job handlers to register. */
export interface ReviewService extends ReviewLifecycle, ReviewQueries, ReviewVotes {
  // biome-ignore lint/suspicious/noExplicitAny: handlers of different payload types live in one registry
  handlers: Record<string, JobHandler<any>>;
  repository: ReviewRepository;
}

/** Creates the review service (opens its collections). */
export async function createReviewService(deps: ReviewServiceDeps): Promise<ReviewService> {
  const repo = await createReviewRepository(deps.store);
  const audit: RecordAudit = (entry) => recordAudit(deps.audit, entry, deps.logger);
  const bootstrap = deps.bootstrap ?? 1000;

  const lifecycle = createReviewLifecycle({
    repo,
    runs: deps.runs,
    judge: deps.judge,
    transport: deps.transport,
    clock: deps.clock,
    ids: deps.ids,
    random: deps.random ?? cryptoRandom,
    reviewers: [...(deps.reviewers ?? [])],
    defaultChannel: deps.defaultChannel,
    waitPollMs: deps.waitPollMs ?? 30_000,
    maxWaitMs: deps.maxWaitMs ?? 24 * 3_600_000,
    enqueue: enqueueOn(deps.queue, deps.notify),
    audit,
  });
  const queries = createReviewQueries({ repo, bootstrap, reportUrl: deps.reportUrl });
  const votes = createReviewVotes({ repo, clock: deps.clock, audit, close: lifecycle.close });
  const handlers = createReviewJobs({
    repo,
    transport: deps.transport,
    clock: deps.clock,
    logger: deps.logger,
    judge: deps.judge,
    openWhenReady: lifecycle.openWhenReady,
    close: lifecycle.close,
    report: queries.report,
  });

  return {
    create: lifecycle.create,
    openBlindReview: lifecycle.openBlindReview,
    close: lifecycle.close,
    runFinished: lifecycle.runFinished,
    get: queries.get,
    list: queries.list,
    report: queries.report,
    leaderboard: queries.leaderboard,
    standings: queries.standings,
    openFor: queries.openFor,
    closedBetween: queries.closedBetween,
    addReason: votes.addReason,
    actionHandler: votes.actionHandler,
    handlers,
    repository: repo,
  };
}
