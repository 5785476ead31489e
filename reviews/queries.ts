// What can be read about reviews without changing one: a review, the listing, the result of a closed review, the
// pooled leaderboard and standings, App Home's open ballots per user, and the reviews a digest period closed.
// Nothing here writes; before a review closes nothing here names a contender.
import { type Message, openReportSection } from '../chat/index.ts';
import { ArbiterError, reportPaths, type ReportUrl } from '../config/index.ts';
import { leaderboardMessage, reportMessage } from './messages.ts';
import { computeRatings, type RatingsTable } from './ratings.ts';
import { buildReport, pooledVotes, votesAsOfClose } from './report.ts';
import type { ReviewRepository } from './repository.ts';
import { mustGetReview, neededVotes } from './shared.ts';
import type { Review } from './types.ts';

/** A review with its vote count, for listings. */
export interface ReviewSummary {
  review: Review;
  votes: number;
}

/** The review queries. */
export interface ReviewQueries {
  get(id: string): Promise<Review | null>;
  list(options?: { limit?: number }): Promise<ReviewSummary[]>;
  /** The result of a closed review (reveal, ratings, verdict, agreement). */
  report(id: string): Promise<Message>;
  /** Ratings pooled over every closed review, per contender label. */
  leaderboard(): Promise<Message>;
  /** Ratings pooled over closed reviews (closed before `at`; only those `include` keeps, when given). */
  standings(at?: Date, include?: (review: { channel: string }) => boolean): Promise<RatingsTable>;
  /** Open reviews with the pairs still waiting for this user's vote (App Home); names no contender. */
  openFor(
    user: string,
  ): Promise<{ id: string; title: string; pending: number; channel: string; dm: boolean }[]>;
  /** Reviews closed in `[from, to)` with their verdict, for digests. */
  closedBetween(
    from: Date,
    to: Date,
  ): Promise<{ id: string; title: string; closedAt: Date; ballots: number; winner?: string }[]>;
}

/** What the queries need. */
export interface ReviewQueryDeps {
  repo: ReviewRepository;
  /** Bootstrap rounds of the ratings. */
  bootstrap: number;
  /** The signed URL of a report page (PUBLIC_URL set): the close report carries an *Open report* button. */
  reportUrl?: ReportUrl | undefined;
}

/** Ratings over the votes of the given closed reviews, pooled per contender (seeded, so stable). */
async function pooledRatings(
  repo: ReviewRepository,
  closed: readonly Review[],
  bootstrap: number,
): Promise<{ table: RatingsTable; sameContender: number }> {
  const loaded = [];
  for (const review of closed) {
    const [pairs, votes] = await Promise.all([repo.pairs(review._id), repo.votes(review._id)]);
    loaded.push({ review, pairs, votes });
  }
  const pooled = pooledVotes(loaded);
  const table = computeRatings(pooled.votes, { contenders: pooled.contenders, bootstrap, seed: 42 });
  return { table, sameContender: pooled.sameContender };
}

/** The review queries over the repository. */
export function createReviewQueries(deps: ReviewQueryDeps): ReviewQueries {
  const { repo, bootstrap } = deps;
  const pooled = (closed: readonly Review[]) => pooledRatings(repo, closed, bootstrap);

  return {
    get: (id) => repo.getReview(id),

    async list(options = {}) {
      const reviews = await repo.listReviews({ limit: options.limit ?? 15 });
      return Promise.all(
        reviews.map(async (review) => ({ review, votes: await repo.countVotes({ reviewId: review._id }) })),
      );
    },

    async report(id) {
      const review = await mustGetReview(repo, id);
      if (review.status !== 'closed')
        throw new ArbiterError(
          'USAGE',
          `Review ${id} is ${review.status}; its result is revealed when it closes.`,
          {
            hint: `Close it with \`review close ${id}\`.`,
          },
        );
      const [pairs, votes] = await Promise.all([repo.pairs(id), repo.votes(id)]);
      const message = reportMessage(buildReport(review, pairs, votesAsOfClose(review, votes), { bootstrap }));
      const button = openReportSection(deps.reportUrl?.(reportPaths.review(id)));
      return button.length > 0 ? { ...message, sections: [...message.sections, ...button] } : message;
    },

    async leaderboard() {
      const closed = await repo.listReviews({ status: 'closed' });
      const { table, sameContender } = await pooled(closed);
      return leaderboardMessage(table, closed.length, { sameContender });
    },

    async standings(at, include) {
      const closed = (await repo.listReviews({ status: 'closed' })).filter(
        (r) =>
          (at === undefined || (r.closedAt !== undefined && r.closedAt < at)) && (!include || include(r)),
      );
      return (await pooled(closed)).table;
    },

    async openFor(user) {
      const out = [];
      for (const review of await repo.listReviews({ status: 'open', limit: 50 })) {
        const [pairs, votes] = await Promise.all([repo.pairs(review._id), repo.votes(review._id)]);
        const mine = new Set(votes.filter((v) => v.user === user).map((v) => v.pairId));
        const count = new Map<string, number>();
        for (const v of votes) count.set(v.pairId, (count.get(v.pairId) ?? 0) + 1);
        const pending = pairs.filter(
          (p) =>
            !mine.has(p._id) &&
            (count.get(p._id) ?? 0) < neededVotes(review, p) &&
            (!review.options.dm || p.assignees.includes(user)),
        ).length;
        if (pending > 0)
          out.push({
            id: review._id,
            title: `Blind review opened ${(review.openedAt ?? review.createdAt).toISOString().slice(0, 10)}`,
            pending,
            channel: review.channel,
            dm: review.options.dm,
          });
      }
      return out;
    },

    async closedBetween(from, to) {
      const out = [];
      for (const review of await repo.listReviews({ status: 'closed' })) {
        const closedAt = review.closedAt;
        if (!(closedAt !== undefined && closedAt >= from && closedAt < to)) continue;
        const [pairs, stored] = await Promise.all([repo.pairs(review._id), repo.votes(review._id)]);
        const votes = votesAsOfClose(review, stored);
        const report = buildReport(review, pairs, votes, { bootstrap });
        out.push({
          id: review._id,
          title: review.contenders.map((c) => c.label).join(' vs '),
          closedAt,
          ballots: votes.length,
          ...(report.verdict.better && report.verdict.significant ? { winner: report.verdict.better } : {}),
        });
      }
      return out;
    },
  };
}
