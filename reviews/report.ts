// Turns a closed review's stored pairs and votes into the report data and the pooled leaderboard votes, pure.
import { agreementStats } from './agreement.ts';
import type { ReviewReportData } from './messages.ts';
import {
  computeRatings,
  headToHeadIn,
  type Rating,
  type RatingsTable,
  SIGNIFICANCE_LEVEL,
  separation,
  type Vote,
} from './ratings.ts';
import type { Pair, Review, VoteDoc } from './types.ts';

const MAX_REASONS = 5;

/**
 * The contender a review's run stands for on the leaderboard: its `<suite> · <target>` label, without the
 * ` [<run id>]` a review appends to tell apart two runs of the same contender (see `contenderLabels`).
 */
export function poolLabel(contender: Review['contenders'][number]): string {
  const suffix = ` [${contender.runId}]`;
  return contender.label.endsWith(suffix) ? contender.label.slice(0, -suffix.length) : contender.label;
}

/** Votes of closed reviews pooled per contender (`poolLabel`), for the leaderboard. */
export interface PooledVotes {
  votes: Vote[];
  /** Every contender of the reviews, once. */
  contenders: string[];
  /** Votes between two runs of one contender: they say nothing about contenders and are left out. */
  sameContender: number;
}

/** Pools the votes (as of close) of closed reviews per contender, so one contender is one leaderboard row. */
export function pooledVotes(
  reviews: readonly { review: Review; pairs: readonly Pair[]; votes: readonly VoteDoc[] }[],
): PooledVotes {
  const votes: Vote[] = [];
  const contenders = new Set<string>();
  let sameContender = 0;
  for (const { review, pairs, votes: docs } of reviews) {
    const pooled = new Map(review.contenders.map((c) => [c.runId, poolLabel(c)]));
    for (const c of review.contenders) contenders.add(pooled.get(c.runId)!);
    const byId = new Map(pairs.map((p) => [p._id, p]));
    for (const v of votesAsOfClose(review, docs)) {
      const p = byId.get(v.pairId);
      if (!p) continue;
      const a = pooled.get(p.aRunId) ?? p.aRunId;
      const b = pooled.get(p.bRunId) ?? p.bRunId;
      if (a === b) sameContender++;
      else votes.push({ a, b, winner: v.choice });
    }
  }
  return { votes, contenders: [...contenders], sameContender };
}

function labelOf(review: Review, runId: string): string {
  return review.contenders.find((c) => c.runId === runId)?.label ?? runId;
}

/**
 * The votes as they stood when the review closed: each with the last choice its reviewer made at or before
 * `closedAt`, and without votes first cast after it. A click checks that the review is open before its vote is
 * stored, so a click racing the close can still be stored a moment after it; this keeps such a vote out of the
 * result, whenever the result is computed. Votes of a review that is not closed are returned as they are.
 */
export function votesAsOfClose(review: Review, votes: readonly VoteDoc[]): VoteDoc[] {
  const closedAt = review.status === 'closed' ? review.closedAt : undefined;
  if (!closedAt) return [...votes];
  const out: VoteDoc[] = [];
  for (const v of votes) {
    const before = v.history.filter((h) => h.at <= closedAt);
    const lastBefore = before[before.length - 1];
    if (!lastBefore) continue;
    out.push(
      lastBefore.choice === v.choice && before.length === v.history.length
        ? v
        : { ...v, choice: lastBefore.choice },
    );
  }
  return out;
}

/** A review's votes as rating votes between contender labels (the A/B order is the pair's hidden one). */
export function ratingVotes(review: Review, pairs: readonly Pair[], votes: readonly VoteDoc[]): Vote[] {
  const byId = new Map(pairs.map((p) => [p._id, p]));
  const out: Vote[] = [];
  for (const v of votes) {
    const p = byId.get(v.pairId);
    if (!p) continue;
    out.push({ a: labelOf(review, p.aRunId), b: labelOf(review, p.bRunId), winner: v.choice });
  }
  return out;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** "x has 3 votes, y has 1 vote" for the contenders a claim is blocked on. */
function fewVotes(rows: readonly Rating[], unrated: readonly string[]): string {
  return [
    ...rows.map((r) => `${r.name} has ${plural(r.games, 'vote')}`),
    ...unrated.map((name) => `${name} has none`),
  ].join(', ');
}

function twoContenderVerdict(table: RatingsTable): ReviewReportData['verdict'] {
  const [first, second] = [table.contenders[0]!, table.contenders[1]!];
  const { minVotes } = table.settings;
  const sep = separation(first, second, headToHeadIn(table, first.name, second.name));
  const p = sep.signP ?? 1;
  const pText = p.toFixed(3);
  if (!first.enoughVotes || !second.enoughVotes) {
    const record =
      first.wins === first.losses
        ? `${first.name} and ${second.name} won ${first.wins} each (ties aside)`
        : `${first.name} leads ${second.name} ${first.wins} wins to ${first.losses}`;
    return {
      text: `Not enough votes to call a difference: ${record}, from ${plural(first.games, 'vote')}; each contender needs at least ${minVotes} before any claim is made.`,
      better: null,
      significant: false,
      pValue: sep.signP,
    };
  }
  if (first.wins === first.losses)
    return {
      text: `No difference: ${first.name} and ${second.name} won ${first.wins} each (ties aside).`,
      better: null,
      significant: false,
      pValue: sep.signP,
    };
  const record = `${first.wins} wins to ${first.losses} (win rate ${(first.winRate * 100).toFixed(0)}%)`;
  let why: string;
  if (sep.called) why = `significant: two-sided sign test p = ${pText} and the 95% intervals do not overlap`;
  else if (!first.ci || !second.ci)
    why = `not significant: no bootstrap intervals were computed (two-sided sign test p = ${pText})`;
  else if (sep.intervalsApart)
    why = `not significant: the 95% intervals do not overlap but the two-sided sign test gives p = ${pText}, and a difference is called only when both agree`;
  else if (p < SIGNIFICANCE_LEVEL)
    why = `not significant: the two-sided sign test gives p = ${pText} but the 95% intervals overlap, and a difference is called only when both agree`;
  else
    why = `not significant yet (two-sided sign test p = ${pText}; the 95% intervals overlap); more votes would tell`;
  return {
    text: `${first.name} ${sep.called ? 'is better than' : 'is ahead of'} ${second.name}: ${record}, ${why}.`,
    better: first.name,
    significant: sep.called,
    pValue: sep.signP,
  };
}

/**
 * The verdict of a review, under the one rule of `separation`: a difference is called only between contenders
 * with enough votes whose intervals are apart and, for two contenders, whose sign test agrees.
 */
export function reviewVerdict(table: RatingsTable): ReviewReportData['verdict'] {
  const rated = table.contenders;
  const { minVotes } = table.settings;
  if (rated.length === 2 && table.unrated.length === 0) return twoContenderVerdict(table);
  const enough = rated.filter((r) => r.enoughVotes);
  const thin = rated.filter((r) => !r.enoughVotes);
  if (enough.length < 2)
    return {
      text:
        rated.length + table.unrated.length < 2
          ? 'Not enough votes to compare the contenders.'
          : `Not enough votes to compare the contenders: each needs at least ${minVotes} before any claim is made (${fewVotes(thin, table.unrated)}).`,
      better: null,
      significant: false,
      pValue: null,
    };
  const first = enough[0]!;
  if (thin.length > 0 || table.unrated.length > 0)
    return {
      text: `${first.name} has the highest rating, but no contender is called best while ${fewVotes(thin, table.unrated)} (at least ${minVotes} needed each).`,
      better: first.name,
      significant: false,
      pValue: null,
    };
  const notApart = rated.filter(
    (r) => r !== first && !separation(first, r, headToHeadIn(table, first.name, r.name)).called,
  );
  if (notApart.length === 0)
    return {
      text: `${first.name} is best: it is ahead of every other contender beyond doubt (its 95% interval lies above each of theirs; significant).`,
      better: first.name,
      significant: true,
      pValue: null,
    };
  return {
    text: `${first.name} has the highest rating, but it cannot be told apart from ${notApart.map((r) => r.name).join(', ')} (95% intervals overlap): not significant.`,
    better: first.name,
    significant: false,
    pValue: null,
  };
}

/** Everything the close report shows, from the stored review, pairs and votes. */
export function buildReport(
  review: Review,
  pairs: readonly Pair[],
  votes: readonly VoteDoc[],
  opts: { bootstrap: number; judgeHeuristic?: boolean },
): ReviewReportData {
  const table = computeRatings(ratingVotes(review, pairs, votes), {
    contenders: review.contenders.map((c) => c.label),
    bootstrap: opts.bootstrap,
    seed: review.seed,
  });
  const byId = new Map(pairs.map((p) => [p._id, p]));
  const perPair = new Map<string, number>();
  const perUser = new Map<string, number>();
  for (const v of votes) {
    perPair.set(v.pairId, (perPair.get(v.pairId) ?? 0) + 1);
    perUser.set(v.user, (perUser.get(v.user) ?? 0) + 1);
  }
  const needed = review.options.reviewersPerPair;
  const expectedPerPair = (p: Pair) => (review.options.dm ? p.assignees.length : needed);
  const agreementPairs: [string, string][] = [];
  let heuristic = opts.judgeHeuristic ?? false;
  for (const v of votes) {
    const judge = byId.get(v.pairId)?.judge;
    if (!judge || judge.winner === null) continue;
    if (judge.heuristic) heuristic = true;
    agreementPairs.push([v.choice === 'both_bad' ? 'tie' : v.choice, judge.winner]);
  }
  const reasons = votes
    .filter((v) => v.reason)
    .sort((x, y) => (y.reason?.length ?? 0) - (x.reason?.length ?? 0))
    .slice(0, MAX_REASONS)
    .map((v) => {
      const p = byId.get(v.pairId);
      const chose =
        !p || v.choice === 'tie' || v.choice === 'both_bad'
          ? v.choice === 'both_bad'
            ? 'both bad'
            : 'tie'
          : labelOf(review, v.choice === 'a' ? p.aRunId : p.bRunId);
      const text = v.reason!.length > 300 ? `${v.reason!.slice(0, 299)}…` : v.reason!;
      return { text, chose };
    });
  return {
    reviewId: review._id,
    closedReason: review.closedReason ?? review.status,
    contenders: review.contenders.map((c) => ({
      ...c,
      shownA: pairs.filter((p) => p.aRunId === c.runId).length,
      shownB: pairs.filter((p) => p.bRunId === c.runId).length,
    })),
    table,
    votes: {
      total: votes.length,
      expected: pairs.reduce((n, p) => n + expectedPerPair(p), 0),
      pairsComplete: pairs.filter((p) => (perPair.get(p._id) ?? 0) >= expectedPerPair(p)).length,
      pairCount: pairs.length,
    },
    verdict: reviewVerdict(table),
    reasons,
    participation: [...perUser.entries()]
      .map(([user, n]) => ({ user, votes: n }))
      .sort((x, y) => y.votes - x.votes || x.user.localeCompare(y.user)),
    judge: {
      status: review.judge.status,
      judged: pairs.filter((p) => p.judge && p.judge.winner !== null).length,
      model: review.judge.model,
      heuristic,
      agreement: agreementStats(agreementPairs),
    },
  };
}
