// Leaderboard ratings from pairwise votes, following Chatbot Arena (lm-sys/FastChat `rating_systems.py`):
// Bradley–Terry maximum likelihood on aggregated outcome counts, ratings = scale·strength + initial,
// 95% intervals from the 2.5% and 97.5% quantiles of bootstrap refits on multinomially resampled counts,
// and Arena's "rank (UB)": tied ranks whenever intervals overlap.
//
// Conventions (deliberate; tests pin each one):
// - Anchoring: strengths are mean-centred, so the mean rating of the rated contenders is `initial`.
//   FastChat gets the same centring implicitly (L-BFGS from zeros never leaves the zero-sum plane)
//   unless its hard-coded baseline model is present; we never re-anchor on a model name.
// - Regularisation: a Gaussian prior on natural-scale strengths with precision `l2` (default 1e-4,
//   i.e. a standard deviation of 100 natural units = 40,000 rating points). It moves ordinary ratings
//   by less than 0.01 points (0.0024 on a 3–1 record of four votes, less with more votes); its only job
//   is to keep a contender who never lost (or never won) finite where the plain MLE runs off to
//   infinity: one unbeaten vote puts the winner about 1,600 points above the loser, 1,000 such votes
//   about 2,700.
// - Disconnected comparison graphs: each connected component is centred on `initial` on its own;
//   ratings in different components are not comparable and `components` says so.
// - Intervals are plain percentile-bootstrap intervals, as Arena's. On a handful of votes they mean
//   nothing (an unbeaten record of one vote resamples to itself and gives "1811 [1811, 1811]"), so a
//   contender with fewer than `minVotes` counted games (MIN_VOTES_PER_CONTENDER by default) gets no
//   interval and no rank, and no claim is ever made about it: the table says "not enough votes".
// - One rule decides every claim ("X is ahead of Y beyond doubt": a rank apart, a "significant"
//   verdict); see `separation`.
import { z } from 'zod';
import { ArbiterError } from '../config/index.ts';
import {
  connectedComponents,
  createFitWorkspace,
  type FitSettings,
  fitBradleyTerry,
  type PairCounts,
  type PairLayout,
} from './bradley-terry.ts';
import { signTest } from './agreement.ts';
import { createRng, sampleMultinomial } from './random.ts';

/** Fewest counted games a contender needs before it gets an interval, a rank or any claim about it. */
export const MIN_VOTES_PER_CONTENDER = 10;

/** Level of every significance claim; matches the 95% intervals. */
export const SIGNIFICANCE_LEVEL = 0.05;

const contenderName = z
  .string({ error: 'expected a contender name (a non-empty string)' })
  .min(1, { error: 'expected a contender name (a non-empty string)' });

/** One pairwise vote as read from a ballot export or a votes.jsonl line. */
export const VoteSchema = z
  .object({
    a: contenderName,
    b: contenderName,
    winner: z.enum(['a', 'b', 'tie', 'both_bad'], { error: 'expected "a", "b", "tie" or "both_bad"' }),
  })
  .refine((v) => v.a !== v.b, { error: 'a and b must be different contenders' });

/** A parsed vote. */
export type Vote = z.infer<typeof VoteSchema>;

/** Options of `computeRatings`; every field has the Arena default. */
export const RatingsOptionsSchema = z.object({
  /** Bootstrap refits for the intervals; 0 skips them (no intervals, rank by rating). */
  bootstrap: z.number().int().min(0).max(100_000).default(1000),
  /** Seed of the bootstrap resampling: the same votes and seed give the same table. */
  seed: z.number().int().safe().default(42),
  /** Count "both bad" as a tie (Arena's choice); when false such votes are not games at all. */
  bothBadAsTie: z.boolean().default(true),
  base: z.number().gt(1).default(10),
  scale: z.number().positive().default(400),
  initial: z.number().finite().default(1000),
  /** Prior precision on natural-scale strengths; see the file comment. */
  l2: z.number().positive().max(1).default(1e-4),
  /** Known contenders: those without a counted game are listed as unrated. */
  contenders: z.array(z.string().min(1)).default([]),
  /** Counted games a contender needs before it gets an interval, a rank or any claim. */
  minVotes: z.number().int().min(1).max(1_000_000).default(MIN_VOTES_PER_CONTENDER),
});

/** Caller-facing options (all optional). */
export type RatingsOptions = z.input<typeof RatingsOptionsSchema>;

/** One rated contender's row of the leaderboard. */
export interface Rating {
  name: string;
  rating: number;
  /** 95% bootstrap interval; null when `bootstrap` is 0 or without enough votes. */
  ci: { lower: number; upper: number } | null;
  /**
   * 1 + the number of contenders separated above this one (see `separation`); rating order among contenders
   * with enough votes when `bootstrap` is 0. Null without enough votes: such a contender is never ranked.
   */
  rank: number | null;
  /** Whether `games` reaches `settings.minVotes`; without it the row has no interval and no rank. */
  enoughVotes: boolean;
  wins: number;
  losses: number;
  /** Votes declared a tie (not counting "both bad"). */
  ties: number;
  /** "Both bad" votes, reported separately whether or not they counted as ties. */
  bothBad: number;
  /** Counted games: wins + losses + ties, plus bothBad when it counts as a tie. */
  games: number;
  /** (wins + counted ties / 2) / games. */
  winRate: number;
  /** Connected component of the comparison graph (0 is the one with the first name in sort order). */
  component: number;
}

/** The whole result: leaderboard rows, pairwise win rates, and what could not be rated. */
export interface RatingsTable {
  /** Rated contenders, best first: those with enough votes by rating (then name), then those without, likewise. */
  contenders: Rating[];
  /** Known contenders with no counted game, sorted by name; never given a rating. */
  unrated: string[];
  /**
   * Observed pairwise results in `contenders` order: rates[i][j] = share of i's score against j, ties as half;
   * games[i][j] = games they played; wins[i][j] = games i won outright against j (ties and both-bad aside).
   */
  winRateMatrix: { names: string[]; rates: (number | null)[][]; games: number[][]; wins: number[][] };
  /** Connected components of the comparison graph; more than one means ratings across them are not comparable. */
  components: number;
  votes: { total: number; counted: number; bothBadExcluded: number };
  /** Whether every fit (full data and each bootstrap round) reached the tolerance. */
  converged: boolean;
  settings: {
    bootstrap: number;
    seed: number;
    bothBadAsTie: boolean;
    base: number;
    scale: number;
    initial: number;
    l2: number;
    minVotes: number;
  };
}

const OUTCOME_I_WINS = 0;
const OUTCOME_J_WINS = 1;
const OUTCOME_TIE = 2;

const FIT: Omit<FitSettings, 'alpha' | 'l2'> = { maxIterations: 200, stepTolerance: 1e-9 };

// Rating differences below this are floating-point noise, not information.
const RATING_EPSILON = 1e-6;

// Code-unit order, not localeCompare: the table must not depend on the machine's locale.
const byName = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);

/**
 * Computes the ratings table from votes. Pure and deterministic: the result depends only on the
 * multiset of votes and the options, not on vote order. Throws USAGE on invalid options.
 * Votes are expected to satisfy `VoteSchema`; a self-match (a === b) carries no information and is skipped.
 */
export function computeRatings(votes: readonly Vote[], options: RatingsOptions = {}): RatingsTable {
  const parsedOptions = RatingsOptionsSchema.safeParse(options);
  if (!parsedOptions.success) {
    throw new ArbiterError('USAGE', `Invalid ratings options: ${z.prettifyError(parsedOptions.error)}`);
  }
  const opts = parsedOptions.data;
  const { bothBadAsTie } = opts;

  // Names of contenders with at least one counted game get fit indices in sorted order; the
  // order matters only for the bootstrap stream, and sorting makes it independent of vote order.
  const counted = new Set<string>();
  const known = new Set<string>(opts.contenders);
  let bothBadExcluded = 0;
  for (const v of votes) {
    if (v.a === v.b) continue;
    known.add(v.a);
    known.add(v.b);
    if (v.winner === 'both_bad' && !bothBadAsTie) {
      bothBadExcluded++;
      continue;
    }
    counted.add(v.a);
    counted.add(v.b);
  }
  const names = [...counted].sort(byName);
  const n = names.length;
  const index = new Map(names.map((name, i) => [name, i]));

  const wins = new Float64Array(n);
  const losses = new Float64Array(n);
  const ties = new Float64Array(n);
  const bothBad = new Map<string, number>();
  // Pair slots keyed by lo·n + hi; per slot: i-wins, j-wins, ties (both-bad included when counted).
  const slotOf = new Map<number, number>();
  const slotI: number[] = [];
  const slotJ: number[] = [];
  const slotCounts: number[] = [];
  let countedVotes = 0;
  for (const v of votes) {
    if (v.a === v.b) continue;
    if (v.winner === 'both_bad') {
      bothBad.set(v.a, (bothBad.get(v.a) ?? 0) + 1);
      bothBad.set(v.b, (bothBad.get(v.b) ?? 0) + 1);
      if (!bothBadAsTie) continue;
    }
    const ia = index.get(v.a)!;
    const ib = index.get(v.b)!;
    const lo = Math.min(ia, ib);
    const hi = Math.max(ia, ib);
    const key = lo * n + hi;
    let slot = slotOf.get(key);
    if (slot === undefined) {
      slot = slotI.length;
      slotOf.set(key, slot);
      slotI.push(lo);
      slotJ.push(hi);
      slotCounts.push(0, 0, 0);
    }
    countedVotes++;
    if (v.winner === 'tie' || v.winner === 'both_bad') {
      slotCounts[slot * 3 + OUTCOME_TIE]!++;
      if (v.winner === 'tie') {
        ties[ia]!++;
        ties[ib]!++;
      }
    } else {
      const winnerIdx = v.winner === 'a' ? ia : ib;
      const loserIdx = v.winner === 'a' ? ib : ia;
      wins[winnerIdx]!++;
      losses[loserIdx]!++;
      slotCounts[slot * 3 + (winnerIdx === lo ? OUTCOME_I_WINS : OUTCOME_J_WINS)]!++;
    }
  }

  // Sorting slots by pair makes the bootstrap stream independent of vote order too.
  const order = slotI.map((_, s) => s).sort((s, t) => slotI[s]! - slotI[t]! || slotJ[s]! - slotJ[t]!);
  const pairCount = order.length;
  const pairI = new Int32Array(pairCount);
  const pairJ = new Int32Array(pairCount);
  const bucketCounts = new Float64Array(pairCount * 3);
  order.forEach((s, p) => {
    pairI[p] = slotI[s]!;
    pairJ[p] = slotJ[s]!;
    for (let o = 0; o < 3; o++) bucketCounts[p * 3 + o] = slotCounts[s * 3 + o]!;
  });
  const { component, componentSize } = connectedComponents(n, pairI, pairJ);
  const layout: PairLayout = { n, pairI, pairJ, component, componentSize };
  const fit: FitSettings = { ...FIT, alpha: Math.log(opts.base), l2: opts.l2 };
  const ws = createFitWorkspace(n);

  const full = countsFromBuckets(bucketCounts, pairCount);
  const strengths = new Float64Array(n);
  let converged = fitBradleyTerry(layout, full, fit, strengths, ws).converged;
  const toRating = (r: number): number => opts.scale * r + opts.initial;

  // Bootstrap: resample how many votes fall in each (pair, outcome) bucket, refit from the full fit.
  let lower: Float64Array | null = null;
  let upper: Float64Array | null = null;
  if (opts.bootstrap > 0 && n > 0) {
    const rounds = opts.bootstrap;
    const rng = createRng(opts.seed);
    const samples = new Float64Array(rounds * n);
    const resampled = new Float64Array(pairCount * 3);
    const roundCounts: PairCounts = {
      games: new Float64Array(pairCount),
      scoreI: new Float64Array(pairCount),
    };
    const r = new Float64Array(n);
    for (let round = 0; round < rounds; round++) {
      sampleMultinomial(rng, countedVotes, bucketCounts, resampled);
      fillCounts(resampled, pairCount, roundCounts);
      r.set(strengths);
      if (!fitBradleyTerry(layout, roundCounts, fit, r, ws).converged) converged = false;
      samples.set(r, round * n);
    }
    lower = new Float64Array(n);
    upper = new Float64Array(n);
    const column = new Float64Array(rounds);
    for (let i = 0; i < n; i++) {
      for (let round = 0; round < rounds; round++) column[round] = samples[round * n + i]!;
      column.sort();
      lower[i] = toRating(quantile(column, 0.025));
      upper[i] = toRating(quantile(column, 0.975));
    }
  }

  // Head-to-head records in fit-index space, for the rule that needs them (`separation`).
  const pairOf = new Map<number, number>();
  for (let p = 0; p < pairCount; p++) pairOf.set(pairI[p]! * n + pairJ[p]!, p);
  const headToHead = (x: number, y: number): HeadToHead => {
    const p = pairOf.get(Math.min(x, y) * n + Math.max(x, y));
    if (p === undefined) return { games: 0, xWins: 0, yWins: 0 };
    const iw = bucketCounts[p * 3 + OUTCOME_I_WINS]!;
    const jw = bucketCounts[p * 3 + OUTCOME_J_WINS]!;
    const games = iw + jw + bucketCounts[p * 3 + OUTCOME_TIE]!;
    return x < y ? { games, xWins: iw, yWins: jw } : { games, xWins: jw, yWins: iw };
  };

  const rows: Rating[] = names.map((name, i) => {
    const countedTies = ties[i]! + (bothBadAsTie ? (bothBad.get(name) ?? 0) : 0);
    const games = wins[i]! + losses[i]! + countedTies;
    const enoughVotes = games >= opts.minVotes;
    return {
      name,
      rating: toRating(strengths[i]!),
      ci: lower && upper && enoughVotes ? { lower: lower[i]!, upper: upper[i]! } : null,
      rank: null,
      enoughVotes,
      wins: wins[i]!,
      losses: losses[i]!,
      ties: ties[i]!,
      bothBad: bothBad.get(name) ?? 0,
      games,
      winRate: (wins[i]! + countedTies / 2) / games,
      component: component[i]!,
    };
  });
  const ranks = rankByIntervals(rows, headToHead);
  rows.forEach((row, i) => {
    row.rank = ranks[i]!;
  });
  // Sort on ratings rounded to RATING_EPSILON, so equal records tie on name, not on rounding noise.
  // Contenders without enough votes go last: a one-vote 1811 must not head the board.
  const sortKey = (row: Rating) => Math.round(row.rating / RATING_EPSILON);
  rows.sort(
    (x, y) =>
      Number(y.enoughVotes) - Number(x.enoughVotes) || sortKey(y) - sortKey(x) || byName(x.name, y.name),
  );

  return {
    contenders: rows,
    unrated: [...known].filter((name) => !counted.has(name)).sort(byName),
    winRateMatrix: buildWinRateMatrix(rows, index, layout, bucketCounts),
    components: componentSize.length,
    votes: { total: votes.length, counted: countedVotes, bothBadExcluded },
    converged,
    settings: {
      bootstrap: opts.bootstrap,
      seed: opts.seed,
      bothBadAsTie,
      base: opts.base,
      scale: opts.scale,
      initial: opts.initial,
      l2: opts.l2,
      minVotes: opts.minVotes,
    },
  };
}

function countsFromBuckets(buckets: Float64Array, pairCount: number): PairCounts {
  const counts: PairCounts = { games: new Float64Array(pairCount), scoreI: new Float64Array(pairCount) };
  fillCounts(buckets, pairCount, counts);
  return counts;
}

// Ties are half a win to each side, exactly as FastChat's 0.5 outcome label.
function fillCounts(buckets: Float64Array, pairCount: number, out: PairCounts): void {
  for (let p = 0; p < pairCount; p++) {
    const iw = buckets[p * 3 + OUTCOME_I_WINS]!;
    const jw = buckets[p * 3 + OUTCOME_J_WINS]!;
    const t = buckets[p * 3 + OUTCOME_TIE]!;
    out.games[p] = iw + jw + t;
    out.scoreI[p] = iw + t / 2;
  }
}

/** Linear-interpolation quantile of sorted values (NumPy's and pandas' default, as the Arena notebooks use). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (pos - lo) * (sorted[hi]! - sorted[lo]!);
}

/** The head-to-head record of contender x against contender y. */
export interface HeadToHead {
  /** Games they played each other (ties and counted both-bad included). */
  games: number;
  /** Games x won outright; `yWins` likewise. */
  xWins: number;
  yWins: number;
}

/** What a rating needs for `separation` and ranking. */
export type SeparationEntry = Pick<Rating, 'rating' | 'ci' | 'enoughVotes' | 'games'>;

/** The evidence on "x is ahead of y" and whether that claim is made. */
export interface Separation {
  /** Both have enough votes and an interval, and x's interval lies wholly above y's. */
  intervalsApart: boolean;
  /** Exact two-sided sign test of x's outright wins against y's (ties aside); null when they never met. */
  signP: number | null;
  /** Their head-to-head record is all the fit knows about their gap: one of them played no one else. */
  headToHeadOnly: boolean;
  /** The claim "x is ahead of y beyond doubt" is made (a rank apart, "significant"). */
  called: boolean;
}

const NO_GAMES: HeadToHead = { games: 0, xWins: 0, yWins: 0 };

/**
 * The one rule behind every rank and every "significant": x is called ahead of y only when both have at least
 * `minVotes` games, x's 95% interval lies wholly above y's, and, when their head-to-head record is all the
 * evidence on their gap, the exact sign test of that record is significant (p < SIGNIFICANCE_LEVEL) in x's favour.
 *
 * Why both: the percentile bootstrap is too narrow on small samples (an unbeaten record of one vote resamples to
 * itself), while the exact sign test is valid at any size but conservative. When one of the two met only the
 * other (always so in a two-contender review) the fitted gap is a function of their record alone, so the
 * intervals and the sign test test one hypothesis on the same data; requiring both means a report can never
 * show "intervals do not overlap" as a finding next to a sign test that says otherwise. When the gap also rests
 * on games against others, the sign test of the direct record alone tests something narrower (it ignores that
 * evidence, and demanding it would make a direct meeting lower the chance of a claim), so the intervals decide,
 * as in Arena.
 */
export function separation(x: SeparationEntry, y: SeparationEntry, h2h: HeadToHead = NO_GAMES): Separation {
  const intervalsApart =
    x.enoughVotes && y.enoughVotes && !!x.ci && !!y.ci && x.ci.lower - y.ci.upper > RATING_EPSILON;
  const signP = h2h.games > 0 ? signTest(h2h.xWins, h2h.yWins) : null;
  const headToHeadOnly = h2h.games > 0 && (x.games === h2h.games || y.games === h2h.games);
  const signAgrees = signP !== null && h2h.xWins > h2h.yWins && signP < SIGNIFICANCE_LEVEL;
  return { intervalsApart, signP, headToHeadOnly, called: intervalsApart && (!headToHeadOnly || signAgrees) };
}

/**
 * Arena's "rank (UB)" under `separation`: 1 + the number of contenders called ahead of this one, so contenders
 * that cannot be told apart share a rank. A contender without enough votes gets no rank (null) and counts for
 * no one else's. Without intervals (`bootstrap` 0): rating order among contenders with enough votes, where
 * differences below RATING_EPSILON are rounding noise (two mirror-image records) and count as equal.
 */
export function rankByIntervals(
  entries: readonly SeparationEntry[],
  headToHead: (x: number, y: number) => HeadToHead = () => NO_GAMES,
): (number | null)[] {
  return entries.map((row, i) => {
    if (!row.enoughVotes) return null;
    let above = 0;
    entries.forEach((other, j) => {
      if (j === i || !other.enoughVotes) return;
      const ahead =
        row.ci && other.ci
          ? separation(other, row, headToHead(j, i)).called
          : other.rating - row.rating > RATING_EPSILON;
      if (ahead) above++;
    });
    return 1 + above;
  });
}

/** The head-to-head record of two rated contenders of a table, by name (zeros when either is not rated). */
export function headToHeadIn(table: RatingsTable, x: string, y: string): HeadToHead {
  const { names, games, wins } = table.winRateMatrix;
  const i = names.indexOf(x);
  const j = names.indexOf(y);
  if (i === -1 || j === -1 || i === j) return NO_GAMES;
  return { games: games[i]![j]!, xWins: wins[i]![j]!, yWins: wins[j]![i]! };
}

function buildWinRateMatrix(
  rows: Rating[],
  index: Map<string, number>,
  layout: PairLayout,
  buckets: Float64Array,
): RatingsTable['winRateMatrix'] {
  const n = rows.length;
  const position = new Int32Array(n);
  rows.forEach((row, pos) => {
    position[index.get(row.name)!] = pos;
  });
  const rates: (number | null)[][] = rows.map(() => new Array<number | null>(n).fill(null));
  const games: number[][] = rows.map(() => new Array<number>(n).fill(0));
  const wins: number[][] = rows.map(() => new Array<number>(n).fill(0));
  for (let p = 0; p < layout.pairI.length; p++) {
    const x = position[layout.pairI[p]!]!;
    const y = position[layout.pairJ[p]!]!;
    const iw = buckets[p * 3 + OUTCOME_I_WINS]!;
    const jw = buckets[p * 3 + OUTCOME_J_WINS]!;
    const t = buckets[p * 3 + OUTCOME_TIE]!;
    const g = iw + jw + t;
    games[x]![y] = g;
    games[y]![x] = g;
    wins[x]![y] = iw;
    wins[y]![x] = jw;
    rates[x]![y] = (iw + t / 2) / g;
    rates[y]![x] = (jw + t / 2) / g;
  }
  return { names: rows.map((row) => row.name), rates, games, wins };
}
