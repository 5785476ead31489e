// Public surface of reviews/: blind pairwise reviews (pairing, hidden A/B order, ballots, votes, close report,
// leaderboard) and the Bradley–Terry rating engine (its `arbiter ratings` command is in commands/).
export {
  computeRatings,
  headToHeadIn,
  MIN_VOTES_PER_CONTENDER,
  quantile,
  rankByIntervals,
  RatingsOptionsSchema,
  SIGNIFICANCE_LEVEL,
  separation,
  VoteSchema,
  type HeadToHead,
  type Rating,
  type RatingsOptions,
  type RatingsTable,
  type Separation,
  type Vote,
} from './ratings.ts';
export { agreementStats, describeKappa, signTest, type Agreement } from './agreement.ts';
export {
  assignReviewers,
  DEFAULT_PAIRS_PER_MATCHUP,
  matchKey,
  normalizeInput,
  planPairs,
  type ContenderItems,
  type PairPlan,
  type PlannedPair,
} from './pairing.ts';
export {
  ballotButtons,
  ballotMessage,
  leaderboardMessage,
  notEnoughVotes,
  parentMessage,
  ratingsRows,
  reportMessage,
  REVIEW_ACTION_IDS,
  REVIEW_ACTION_PREFIX,
  type BallotContent,
  type ReviewReportData,
} from './messages.ts';
export {
  buildReport,
  type PooledVotes,
  poolLabel,
  pooledVotes,
  ratingVotes,
  reviewVerdict,
  votesAsOfClose,
} from './report.ts';
export {
  createReviewRepository,
  voteId,
  type ReviewRepository,
  type VoteOutcome,
} from './repository.ts';
export { createReviewService, type ReviewService, type ReviewServiceDeps } from './service.ts';
export { contenderLabels, type CreateReviewInput } from './lifecycle.ts';
export { REVIEW_JOB_TYPES } from './jobs.ts';
export type { ReviewSummary } from './queries.ts';
export { votedBy } from './votes.ts';
export {
  CHOICE_LABELS,
  ChoiceSchema,
  JudgeVerdictSchema,
  PairSchema,
  ReviewSchema,
  ReviewStatusSchema,
  VoteDocSchema,
  type Choice,
  type JudgeVerdict,
  type Pair,
  type Review,
  type ReviewRun,
  type ReviewRunItem,
  type ReviewRunSource,
  type ReviewStatus,
  type VoteDoc,
} from './types.ts';
