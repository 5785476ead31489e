// The review jobs the worker runs: one declared map from job type to handler, each with the zod schema of its
// payload (the worker parses the payload with it first), built from the explicit deps below. Slow or external work
// lives here: posting the parent and the ballots, judging every pair, posting the report. State changes are the
// lifecycle's (opening a waiting review, closing), reached through the functions passed in.
import { z } from 'zod';
import { deliverLater, type Message, type Transport } from '../chat/index.ts';
import type { Clock, Logger } from '../config/index.ts';
import { type JudgeDeps, judgePair } from '../evaluators/index.ts';
import type { JobHandler } from '../storage/index.ts';
import { parentMessage } from './messages.ts';
import type { ReviewRepository } from './repository.ts';
import { ballotOf, reviewDeliveryKey } from './shared.ts';
import type { Review } from './types.ts';

/** Job types the worker must run for reviews. */
export const REVIEW_JOB_TYPES = {
  openWhenReady: 'review.open_when_ready',
  post: 'review.post',
  judge: 'review.judge',
  close: 'review.close',
  report: 'review.report',
} as const;

/** One of the review job types. */
type ReviewJobType = (typeof REVIEW_JOB_TYPES)[keyof typeof REVIEW_JOB_TYPES];

/** Why a review closed (by a command, its deadline job, or its last vote). */
const CloseReasonSchema = z.enum(['deadline', 'complete', 'manual']);
export type CloseReason = z.infer<typeof CloseReasonSchema>;

const ReviewIdPayload = z.object({ reviewId: z.string().min(1) });
const OpenPayload = z.object({ reviewId: z.string().min(1), check: z.number().int().min(0) });
const ClosePayload = z.object({
  reviewId: z.string().min(1),
  reason: CloseReasonSchema,
});

/** What the review jobs need. */
export interface ReviewJobDeps {
  repo: ReviewRepository;
  transport: Transport;
  clock: Clock;
  logger: Logger;
  /** The pairwise judge's model access; without it the judge job marks the review's judge skipped. */
  judge?: JudgeDeps | undefined;
  /** The lifecycle's check of a waiting review: open it, give it up, or poll again. */
  openWhenReady(reviewId: string, check: number): Promise<unknown>;
  /** The lifecycle's close. */
  close(id: string, options: { reason: CloseReason }): Promise<{ changed: boolean }>;
  /** The result message of a closed review. */
  report(id: string): Promise<Message>;
}

/** The handler of every review job type. */
// biome-ignore lint/suspicious/noExplicitAny: handlers of different payload types live in one registry
type ReviewJobHandlers = Record<ReviewJobType, JobHandler<any>>;

/** The review job handlers, by job type. */
export function createReviewJobs(deps: ReviewJobDeps): ReviewJobHandlers {
  const { repo, transport } = deps;

  const openWhenReady: JobHandler<z.infer<typeof OpenPayload>> = {
    payload: OpenPayload,
    run: ({ reviewId, check }) => deps.openWhenReady(reviewId, check),
  };

  const post: JobHandler<z.infer<typeof ReviewIdPayload>> = {
    payload: ReviewIdPayload,
    async run({ reviewId }) {
      let review = await repo.getReview(reviewId);
      if (review?.status !== 'open') return { skipped: review?.status ?? 'missing' };
      const pairs = await repo.pairs(reviewId);
      if (!review.parentRef) {
        const deadline =
          review.options.deadlineMs !== undefined && review.openedAt
            ? new Date(review.openedAt.getTime() + review.options.deadlineMs)
            : undefined;
        const key = reviewDeliveryKey(reviewId, 'parent');
        const refs = await deliverLater(transport, [
          {
            key,
            op: 'post',
            channel: review.channel,
            message: parentMessage({
              pairCount: review.pairCount,
              reviewersPerPair: review.options.reviewersPerPair,
              dm: review.options.dm,
              reviewers: review.reviewers.length,
              deadline,
            }),
          },
        ]);
        // A transport with a delivery loop (the outbox) posts it later: the ballots go into its thread by its key.
        const ref = refs.get(key);
        if (ref)
          review =
            (await repo.updateReview(
              reviewId,
              {},
              { $set: { parentRef: ref, updatedAt: deps.clock.now() } },
            )) ?? review;
      }
      const inParentThread = (r: Review) =>
        r.parentRef ? { threadTs: r.parentRef.ts } : { of: reviewDeliveryKey(r._id, 'parent') };
      // Each ballot is recorded as its own keyed write before the next, so a job run again after a crash neither
      // skips a reviewer nor posts a ballot twice.
      let posted = 0;
      if (review.options.dm) {
        for (const user of review.reviewers) {
          if (review.dmPosted.includes(user)) continue;
          const first = pairs.find((p) => p.assignees.includes(user));
          if (first) {
            await deliverLater(transport, [
              {
                key: reviewDeliveryKey(reviewId, `dm:${user}`),
                op: 'post',
                channel: user,
                message: ballotOf(first, review),
              },
            ]);
            posted++;
          }
          review = (await repo.updateReview(reviewId, {}, { $push: { dmPosted: user } })) ?? review;
        }
      } else {
        for (const pair of pairs) {
          if (pair.postedRef) continue;
          const key = reviewDeliveryKey(reviewId, `pair:${pair._id}`);
          const refs = await deliverLater(transport, [
            {
              key,
              op: 'post',
              channel: review.channel,
              ...inParentThread(review),
              message: ballotOf(pair, review),
            },
          ]);
          const ref = refs.get(key);
          if (ref) await repo.updatePair(pair._id, { $set: { postedRef: ref } });
          posted++;
        }
      }
      return { posted };
    },
  };

  const judge: JobHandler<z.infer<typeof ReviewIdPayload>> = {
    payload: ReviewIdPayload,
    async run({ reviewId }, ctx) {
      const review = await repo.getReview(reviewId);
      if (!review) return { skipped: 'missing' };
      if (!deps.judge) {
        await repo.updateReview(reviewId, {}, { $set: { judge: { status: 'skipped' } } });
        return { skipped: 'no judge' };
      }
      const pairs = await repo.pairs(reviewId);
      let judged = 0;
      for (const pair of pairs) {
        if (pair.judge) continue;
        const v = await judgePair(
          { input: pair.input, answerA: pair.answerA, answerB: pair.answerB },
          deps.judge,
          { signal: ctx.signal },
        );
        if (ctx.signal.aborted) break;
        await repo.updatePair(pair._id, {
          $set: {
            judge: {
              winner: v.error ? null : v.winner === 'A' ? 'a' : v.winner === 'B' ? 'b' : 'tie',
              reason: v.reason.slice(0, 1000),
              confidence: v.confidence,
              heuristic: v.heuristic === true,
              ...(v.error ? { error: v.error.slice(0, 500) } : {}),
            },
          },
        });
        judged++;
        await ctx.progress({ done: judged, total: pairs.length });
      }
      if (!ctx.signal.aborted)
        await repo.updateReview(
          reviewId,
          {},
          {
            $set: { judge: { status: 'done', model: deps.judge.judgeModel } },
          },
        );
      return { judged };
    },
  };

  const close: JobHandler<z.infer<typeof ClosePayload>> = {
    payload: ClosePayload,
    async run({ reviewId, reason }) {
      const review = await repo.getReview(reviewId);
      if (!review) return { skipped: 'missing' };
      const res = await deps.close(reviewId, { reason });
      return { changed: res.changed };
    },
  };

  const report: JobHandler<z.infer<typeof ReviewIdPayload>> = {
    payload: ReviewIdPayload,
    async run({ reviewId }) {
      const review = await repo.getReview(reviewId);
      if (review?.status !== 'closed') return { skipped: review?.status ?? 'missing' };
      if (review.reportRef) return { skipped: 'already posted' };
      const message = await deps.report(reviewId);
      const key = reviewDeliveryKey(reviewId, 'report');
      const parentKey = reviewDeliveryKey(reviewId, 'parent');
      // The parent's ref is known (posted directly), or the parent is a delivery of the outbox, threaded under by
      // its key; a parent that could not be delivered (null) leaves the report in the channel.
      const parentFailed = (await transport.delivered?.(parentKey)) === null;
      const underParent = review.parentRef
        ? { threadTs: review.parentRef.ts }
        : transport.enqueue && !parentFailed
          ? { of: parentKey }
          : {};
      const refs = await deliverLater(transport, [
        {
          key,
          op: 'post',
          channel: review.parentRef?.channel ?? review.channel,
          ...underParent,
          message,
        },
      ]);
      const ref = refs.get(key);
      if (ref)
        await repo.updateReview(reviewId, {}, { $set: { reportRef: ref, updatedAt: deps.clock.now() } });
      if (review.parentRef || 'of' in underParent) {
        const text = 'This blind review is closed; the reveal and the result are in the thread.';
        await deliverLater(transport, [
          {
            key: reviewDeliveryKey(reviewId, 'parent-closed'),
            op: 'update',
            channel: review.parentRef?.channel ?? review.channel,
            ...(review.parentRef ? { ts: review.parentRef.ts } : { of: parentKey }),
            message: { title: 'Blind review closed', summary: text, sections: [{ kind: 'text', text }] },
          },
        ]).catch((err: unknown) => deps.logger.warn({ err, reviewId }, 'could not update the review parent'));
      }
      return { posted: true };
    },
  };

  return {
    [REVIEW_JOB_TYPES.openWhenReady]: openWhenReady,
    [REVIEW_JOB_TYPES.post]: post,
    [REVIEW_JOB_TYPES.judge]: judge,
    [REVIEW_JOB_TYPES.close]: close,
    [REVIEW_JOB_TYPES.report]: report,
  };
}
