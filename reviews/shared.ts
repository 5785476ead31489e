// What the parts of the review service share: the small helpers lifecycle.ts, votes.ts, queries.ts and jobs.ts all
// use, each taking what it needs as an argument (no state lives here).
import { randomBytes, randomInt } from 'node:crypto';
import type { AuditEntry } from '../audit/index.ts';
import { type Message, plainText } from '../chat/index.ts';
import { ArbiterError } from '../config/index.ts';
import type { JobQueue } from '../storage/index.ts';
import { ballotMessage } from './messages.ts';
import type { ReviewRepository } from './repository.ts';
import type { Pair, Review } from './types.ts';

/** Sources of the pairing seed and ballot tokens. */
export interface ReviewRandom {
  seed(): number;
  token(): string;
}

/** Crypto-strong seeds and ballot tokens (the default). */
export const cryptoRandom: ReviewRandom = {
  seed: () => randomInt(0, 2 ** 31 - 1),
  token: () => `bt_${randomBytes(16).toString('base64url')}`,
};

/** Queues a job (once per idempotency key) and wakes the in-process worker. */
export type Enqueue = (type: string, payload: unknown, idempotencyKey: string, runAt?: Date) => Promise<void>;

/** An `Enqueue` over the durable queue; `notify` wakes the worker after each enqueue. */
export function enqueueOn(queue: JobQueue, notify?: () => void): Enqueue {
  return async (type, payload, idempotencyKey, runAt) => {
    await queue.enqueue({ type, payload, idempotencyKey, ...(runAt ? { runAt } : {}) });
    notify?.();
  };
}

/** Records an audit entry after the action's durable write (a failure is logged, never thrown). */
export type RecordAudit = (entry: AuditEntry) => Promise<void>;

/** The review, or NOT_FOUND with a hint to list reviews. */
export async function mustGetReview(repo: ReviewRepository, id: string): Promise<Review> {
  const review = await repo.getReview(id);
  if (!review)
    throw new ArbiterError('NOT_FOUND', `No review with id ${id}.`, {
      hint: 'List reviews with `review list`.',
    });
  return review;
}

/** Votes a pair needs: one per assignee in DM mode, else the review's reviewers per pair. */
export const neededVotes = (review: Review, pair: Pair): number =>
  review.options.dm ? pair.assignees.length : review.options.reviewersPerPair;

/** An ephemeral note; `text` is our mrkdwn (values escaped), its summary the plain text. */
export function note(title: string, text: string): Message {
  return { title, summary: plainText(text), sections: [{ kind: 'text', text }], ephemeral: true };
}

/** The ballot of a pair of a review. */
export const ballotOf = (
  pair: Pair,
  review: Review,
  opts: Parameters<typeof ballotMessage>[2] = {},
): Message => ballotMessage(pair, review.pairCount, opts);

/** The delivery key of one of a review's messages (the outbox posts each once, whatever the retries). */
export const reviewDeliveryKey = (reviewId: string, what: string) => `review:${reviewId}:${what}`;
