// Voting: the ballot buttons' ActionHandler (`review:vote:<choice>`, `review:reason`), recording a vote or a change
// of vote (atomically, once per click), auditing it without naming a contender, offering the reviewer the next pair,
// closing the review when its last vote is in, and the reason a reviewer adds to their vote.
import { clickActor } from '../audit/index.ts';
import {
  type ActionContext,
  type ActionHandler,
  type ActionResult,
  type Message,
  md,
  mention,
} from '../chat/index.ts';
import type { Clock } from '../config/index.ts';
import { REVIEW_ACTION_IDS, REVIEW_ACTION_PREFIX } from './messages.ts';
import { votesAsOfClose } from './report.ts';
import type { ReviewRepository, VoteOutcome } from './repository.ts';
import { ballotOf, neededVotes, note, type RecordAudit } from './shared.ts';
import { CHOICE_LABELS, type Choice, ChoiceSchema, type Pair, type Review, type VoteDoc } from './types.ts';

/** The voting surface of the review service. */
export interface ReviewVotes {
  /** Adds a reason to the caller's vote on the pair of a ballot token. */
  addReason(token: string, user: string, reason: string): Promise<Message>;
  /** Button clicks `review:vote:<choice>` and `review:reason`, for reviewers. */
  actionHandler: ActionHandler;
}

/** What voting needs. */
export interface ReviewVoteDeps {
  repo: ReviewRepository;
  clock: Clock;
  audit: RecordAudit;
  /** The lifecycle's close: a vote that fills the last pair closes the review as complete. */
  close(id: string, options: { reason: 'complete' }): Promise<unknown>;
}

/**
 * What the click with `key` did to a vote, for the audit trail: a new vote, a change from `previous`, or nothing (the
 * same choice again). A redelivered click (`duplicate`) is read back from the vote's history, so a retry whose first
 * attempt stored the vote but not its record writes the record (keyed by the click: never twice).
 */
export function votedBy(
  outcome: VoteOutcome,
  key: string,
): { choice: Choice; previous?: Choice } | undefined {
  if (outcome.kind === 'new') return { choice: outcome.vote.choice };
  if (outcome.kind === 'changed') return { choice: outcome.vote.choice, previous: outcome.previous };
  if (outcome.kind === 'same') return undefined;
  const history = outcome.vote.history;
  const i = history.findIndex((h) => h.key === key);
  if (i < 0) return undefined;
  const choice = history[i]!.choice;
  if (i === 0) return { choice };
  const previous = history[i - 1]!.choice;
  return previous === choice ? undefined : { choice, previous };
}

/** Voting over the repository. */
export function createReviewVotes(deps: ReviewVoteDeps): ReviewVotes {
  const { repo, clock, audit } = deps;

  /**
   * The next pair to offer `user`: in DM mode the next one assigned to them they have not voted on; otherwise the
   * first they have not voted on that still needs votes. Counts are read per candidate pair (indexed by pair), so a
   * click costs the same early and late in a large review.
   */
  const nextPending = async (
    review: Review,
    pairs: readonly Pair[],
    mine: readonly VoteDoc[],
    user: string,
  ): Promise<Pair | undefined> => {
    const voted = new Set(mine.map((v) => v.pairId));
    if (review.options.dm) return pairs.find((p) => p.assignees.includes(user) && !voted.has(p._id));
    for (const p of pairs) {
      if (voted.has(p._id)) continue;
      if ((await repo.countVotes({ pairId: p._id })) < neededVotes(review, p)) return p;
    }
    return undefined;
  };

  /** Closes the review when every pair has its votes. */
  const maybeComplete = async (review: Review, pairs: readonly Pair[]) => {
    const expected = pairs.reduce((n, p) => n + neededVotes(review, p), 0);
    if ((await repo.countVotes({ reviewId: review._id })) < expected) return;
    for (const p of pairs) if ((await repo.countVotes({ pairId: p._id })) < neededVotes(review, p)) return;
    await deps.close(review._id, { reason: 'complete' });
  };

  async function handleClick(
    input: { actionId: string; value: string },
    ctx: ActionContext,
  ): Promise<ActionResult> {
    const actionId = input.actionId.replace(/~\d+$/, '');
    const token = input.value;
    if (actionId === REVIEW_ACTION_IDS.reason) {
      return {
        ephemeral: {
          ...note(
            'Add a reason',
            md`Vote first, then send \`/arbiter review reason ${token} &lt;your reason&gt;\` (only you see this; the reason is shown, unattributed, when the review closes).`,
          ),
        },
      };
    }
    const m = /^review:vote:(.+)$/.exec(actionId);
    const choice = ChoiceSchema.safeParse(m?.[1]);
    if (!choice.success) return { ephemeral: note('Review', 'Unknown review button.') };
    const pair = await repo.pairByToken(token);
    if (!pair) return { ephemeral: note('Review', 'That ballot is unknown or has expired.') };
    const review = await repo.getReview(pair.reviewId);
    if (review?.status !== 'open') {
      return {
        ephemeral: note(
          'Review closed',
          'This review is closed, so your vote was not counted. The result is posted in the review thread.',
        ),
        ...(review
          ? { update: ballotOf(pair, review, { buttons: false, notes: ['This review is closed.'] }) }
          : {}),
      };
    }
    if (review.options.dm && !pair.assignees.includes(ctx.user)) {
      return {
        ephemeral: note(
          'Not your ballot',
          'This ballot was sent to another reviewer, so your vote was not counted. Your own ballots are in your direct messages from Arbiter.',
        ),
      };
    }
    const outcome = await repo.recordVote({
      pair,
      user: ctx.user,
      choice: choice.data,
      key: ctx.key,
      now: clock.now(),
      clickedAt: ctx.clickedAt,
    });
    const voted = votedBy(outcome, ctx.key);
    if (voted)
      // A/B is the ballot's hidden order, never a contender: the record reveals nothing before the close.
      await audit({
        key: `review.vote:${ctx.key}`,
        actor: clickActor(ctx),
        action: voted.previous === undefined ? 'review.vote' : 'review.vote-change',
        object: { type: 'review', id: review._id },
        summary:
          voted.previous === undefined
            ? `Voted "${CHOICE_LABELS[voted.choice]}" on pair ${pair.seq}`
            : `Changed the vote on pair ${pair.seq} from "${CHOICE_LABELS[voted.previous]}" to "${CHOICE_LABELS[voted.choice]}"`,
        details: {
          pair: pair.seq,
          choice: voted.choice,
          ...(voted.previous !== undefined ? { previous: voted.previous } : {}),
        },
      });
    // The review may have closed while this vote was being stored; the result counts votes as of the close.
    const after = await repo.getReview(review._id);
    if (after && after.status !== 'open') {
      const counted = votesAsOfClose(after, [outcome.vote])[0];
      const text =
        counted?.choice === outcome.vote.choice
          ? 'This review closed just as your vote arrived; it was counted. The result is posted in the review thread.'
          : 'This review closed before your vote arrived, so it was not counted. The result is posted in the review thread.';
      return {
        ephemeral: note('Review closed', text),
        update: ballotOf(pair, after, { buttons: false, notes: ['This review is closed.'] }),
      };
    }
    const pairs = await repo.pairs(review._id);
    const [mine, onPair] = await Promise.all([
      repo.votesOnPairs(
        ctx.user,
        pairs.map((p) => p._id),
      ),
      repo.countVotes({ pairId: pair._id }),
    ]);
    const needed = neededVotes(review, pair);
    const chosen = CHOICE_LABELS[outcome.vote.choice];
    const what =
      outcome.kind === 'changed'
        ? `Changed your vote from *${CHOICE_LABELS[outcome.previous]}* to *${chosen}*.`
        : outcome.kind === 'same'
          ? `You had already voted *${chosen}*; nothing changed.`
          : md`Thanks, ${mention(ctx.user)}! Your vote: *${chosen}*.`;
    const myTotal = review.options.dm
      ? pairs.filter((p) => p.assignees.includes(ctx.user)).length
      : pairs.length;
    const progress = `You have voted on ${mine.length} of ${myTotal} pair${myTotal === 1 ? '' : 's'}.`;
    const next = await nextPending(review, pairs, mine, ctx.user);
    // Only a new vote that fills its pair can complete the review (a changed vote moves no count).
    if (outcome.kind === 'new' && onPair >= needed) await maybeComplete(review, pairs);
    const nextLine = next ? `Next: pair ${next.seq}.` : 'No pairs left for you. Thank you!';
    if (review.options.dm) {
      return {
        update: ballotOf(pair, review, {
          notes: [`${what} ${progress} Click another button to change it.`],
        }),
        ...(next ? { reply: ballotOf(next, review) } : {}),
      };
    }
    const ephemeral: Message = next
      ? {
          ...ballotOf(next, review, { ephemeral: true, notes: [`${what} ${progress} ${nextLine}`] }),
        }
      : note('Vote recorded', `${what} ${progress} ${nextLine}`);
    return {
      update: ballotOf(pair, review, {
        notes: [
          `Thanks for voting! ${Math.min(onPair, needed)} of ${needed} vote${needed === 1 ? '' : 's'} in on this pair.`,
        ],
      }),
      ephemeral,
    };
  }

  return {
    async addReason(token, user, reason) {
      const text = reason.trim();
      if (!text) return note('Review', 'Write the reason after the token.');
      const pair = await repo.pairByToken(token);
      if (!pair) return note('Review', 'That ballot is unknown or has expired.');
      const review = await repo.getReview(pair.reviewId);
      if (review?.status !== 'open')
        return note('Review closed', 'This review is closed; reasons are no longer accepted.');
      const vote = await repo.setReason(pair._id, user, text.slice(0, 1000), clock.now());
      if (!vote) return note('Review', 'Vote on this pair first, then add your reason.');
      return note('Reason saved', `Saved your reason for your vote (${CHOICE_LABELS[vote.choice]}).`);
    },

    actionHandler: {
      prefix: REVIEW_ACTION_PREFIX,
      role: 'reviewer',
      handle: (input, ctx) => handleClick(input, ctx),
    },
  };
}
