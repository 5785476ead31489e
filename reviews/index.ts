// Public surface of reviews/: blind pairwise reviews (pairing, hidden A/B order, ballots, votes, close report,
// leaderboard) and the Bradley–Terry rating engine (its `arbiter ratings` command is in commands/).
export {
  computeRatings,
  MIN_VOTES_PER_CONTENDER,
  VoteSchema,
  type RatingsTable,
  type Vote,
} from './ratings.ts';
export { notEnoughVotes } from './messages.ts';
export { buildReport, votesAsOfClose } from './report.ts';
export { createReviewRepository } from './repository.ts';
export { createReviewService, type ReviewService } from './service.ts';
export type { ReviewSummary } from './queries.ts';
export type { Pair, Review, ReviewRun, ReviewRunSource, VoteDoc } from './types.ts';
