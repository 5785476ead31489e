// Turns a closed review's stored pairs and votes into the report data and the pooled leaderboard votes, pure.
import { agreementStats } from './agreement.ts';
import { signTest } from './agreement.ts';
import type { ReviewReportData } from './messages.ts';
import { computeRatings, type RatingsTable, type Vote } from './ratings.ts';
import type { Pair, Review, VoteDoc } from './types.ts';

const MAX_REASONS = 5;

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

function verdictOf(table: RatingsTable): ReviewReportData['verdict'] {
  const rated = table.contenders;
  if (rated.length < 2)
    return {
      text: 'Not enough votes to compare the contenders.',
      better: null,
      significant: false,
      pValue: null,
    };
  const [first, second] = [rated[0]!, rated[1]!];
  const aloneOnTop = rated.slice(1).every((r) => r.rank > 1);
  if (rated.length === 2 && table.unrated.length === 0) {
    const p = signTest(first.wins, first.losses);
    if (first.wins === first.losses)
      return {
        text: `No difference: ${first.name} and ${second.name} won ${first.wins} each (ties aside).`,
        better: null,
        significant: false,
        pValue: p,
      };
    const significant = p < 0.05;
    return {
      text: `${first.name} is better than ${second.name}: ${first.wins} wins to ${first.losses} (win rate ${(first.winRate * 100).toFixed(0)}%), ${
        significant
          ? `significant (two-sided sign test p = ${p.toFixed(3)})`
          : `not significant yet (two-sided sign test p = ${p.toFixed(3)}; more votes would tell)`
      }${aloneOnTop ? '; the 95% intervals do not overlap' : '; the 95% intervals overlap'}.`,
      better: first.name,
      significant,
      pValue: p,
    };
  }
  return {
    text: aloneOnTop
      ? `${first.name} is best: its 95% interval lies above every other contender's (significant).`
      : `${first.name} has the highest rating, but its 95% interval overlaps ${rated.filter((r) => r.rank === 1).length - 1} other contender(s): not significant.`,
    better: first.name,
    significant: aloneOnTop,
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
    verdict: verdictOf(table),
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
