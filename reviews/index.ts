// Public surface of reviews/: the Bradley–Terry rating engine (its `arbiter ratings` command is in commands/).
export {
  computeRatings,
  quantile,
  rankByIntervals,
  RatingsOptionsSchema,
  VoteSchema,
  type Rating,
  type RatingsOptions,
  type RatingsTable,
  type Vote,
} from './ratings.ts';
