// The reviews repository over the document-store port: `reviews`, `review_pairs` and `review_votes` (one document
// per reviewer per pair, with its history). Every document is parsed with zod when read back.
import type { z } from 'zod';
import { ArbiterError, isArbiterError } from '../config/index.ts';
import { type DocumentStore, type Filter, parseStored, type Update } from '../storage/index.ts';
import {
  type Choice,
  type Pair,
  PairSchema,
  type Review,
  ReviewSchema,
  type VoteDoc,
  VoteDocSchema,
} from './types.ts';

/** What recording a vote did. */
export type VoteOutcome =
  | { kind: 'new'; vote: VoteDoc }
  | { kind: 'changed'; vote: VoteDoc; previous: Choice }
  | { kind: 'same'; vote: VoteDoc }
  /** The same click delivered again: nothing changed. */
  | { kind: 'duplicate'; vote: VoteDoc };

/** Typed access to reviews, pairs and votes. */
export interface ReviewRepository {
  insertReview(review: Review): Promise<{ review: Review; created: boolean }>;
  getReview(id: string): Promise<Review | null>;
  findReviewByKey(key: string): Promise<Review | null>;
  listReviews(filter?: { status?: Review['status']; limit?: number }): Promise<Review[]>;
  /** Atomic conditional update; returns the review after it, or null when the filter did not match. */
  updateReview(id: string, filter: Filter, update: Update): Promise<Review | null>;
  /** Inserts pairs, keeping any already stored with the same id (a retried job keeps the first tokens). */
  insertPairs(pairs: readonly Pair[]): Promise<void>;
  pairs(reviewId: string): Promise<Pair[]>;
  pairByToken(token: string): Promise<Pair | null>;
  updatePair(id: string, update: Update): Promise<void>;
  /** Upserts one reviewer's vote on a pair atomically; a repeated `key` changes nothing. */
  recordVote(input: {
    pair: Pair;
    user: string;
    choice: Choice;
    key: string;
    now: Date;
    /** When the click happened (epoch ms); a click older than the vote's last one changes nothing. */
    clickedAt?: number | undefined;
  }): Promise<VoteOutcome>;
  setReason(pairId: string, user: string, reason: string, now: Date): Promise<VoteDoc | null>;
  votes(reviewId: string): Promise<VoteDoc[]>;
  /** One reviewer's votes on the given pairs, read by id (as many reads as pairs, whatever the review's size). */
  votesOnPairs(user: string, pairIds: readonly string[]): Promise<VoteDoc[]>;
  countVotes(filter: { reviewId?: string; pairId?: string; user?: string }): Promise<number>;
}

function parser<S extends z.ZodType>(schema: S, collection: string) {
  return (doc: unknown): z.infer<S> => parseStored(schema, doc, { collection });
}

const parseReview = parser(ReviewSchema, 'reviews');
const parsePair = parser(PairSchema, 'review_pairs');
const parseVote = parser(VoteDocSchema, 'review_votes');

/** The id of a reviewer's vote on a pair: one document per (pair, user) by construction. */
export function voteId(pairId: string, user: string): string {
  return `${pairId}|${user}`;
}

/** Opens the review collections (indexes ensured). */
export async function createReviewRepository(store: DocumentStore): Promise<ReviewRepository> {
  const reviews = await store.collection<Review>('reviews', [
    { fields: { idempotencyKey: 1 }, unique: true, sparse: true },
    { fields: { status: 1, createdAt: -1 } },
    { fields: { createdAt: -1 } },
  ]);
  const pairs = await store.collection<Pair>('review_pairs', [
    { fields: { token: 1 }, unique: true },
    { fields: { reviewId: 1, seq: 1 } },
  ]);
  const votes = await store.collection<VoteDoc>('review_votes', [
    // The embedded store uses single-field indexes only: without this, reading a review's votes scans every vote.
    { fields: { reviewId: 1 } },
    { fields: { pairId: 1 } },
  ]);

  return {
    async insertReview(review) {
      try {
        await reviews.insertOne(review);
        return { review: parseReview(review), created: true };
      } catch (err) {
        if (review.idempotencyKey && isArbiterError(err, 'STORE_DUPLICATE_KEY')) {
          const existing = await reviews.findOne({ idempotencyKey: review.idempotencyKey });
          if (existing) return { review: parseReview(existing), created: false };
        }
        throw err;
      }
    },
    async getReview(id) {
      const doc = await reviews.findOne({ _id: id });
      return doc ? parseReview(doc) : null;
    },
    async findReviewByKey(key) {
      const doc = await reviews.findOne({ idempotencyKey: key });
      return doc ? parseReview(doc) : null;
    },
    async listReviews(filter = {}) {
      const q: Filter = filter.status ? { status: filter.status } : {};
      const docs = await reviews.find(q, {
        sort: { createdAt: -1 },
        ...(filter.limit !== undefined ? { limit: filter.limit } : {}),
      });
      return docs.map(parseReview);
    },
    async updateReview(id, filter, update) {
      const doc = await reviews.findOneAndUpdate({ ...filter, _id: id }, update);
      return doc ? parseReview(doc) : null;
    },
    async insertPairs(list) {
      for (const p of list) {
        try {
          await pairs.insertOne(p);
        } catch (err) {
          if (!isArbiterError(err, 'STORE_DUPLICATE_KEY')) throw err;
          if (!(await pairs.findOne({ _id: p._id }))) throw err;
        }
      }
    },
    async pairs(reviewId) {
      const docs = await pairs.find({ reviewId }, { sort: { seq: 1 } });
      return docs.map(parsePair);
    },
    async pairByToken(token) {
      const doc = await pairs.findOne({ token });
      return doc ? parsePair(doc) : null;
    },
    async updatePair(id, update) {
      await pairs.updateOne({ _id: id }, update);
    },
    async recordVote({ pair, user, choice, key, now, clickedAt }) {
      const _id = voteId(pair._id, user);
      let before: VoteDoc | null;
      try {
        // The filter skips a document whose last click was this one; the upsert then collides on `_id`, which is
        // how a redelivered click is recognised without a read-then-write race.
        // A click older than the one that set the vote (two clicks handled out of order) is treated the same way.
        const order =
          clickedAt === undefined
            ? {}
            : { $or: [{ clickedAt: { $exists: false } }, { clickedAt: { $lte: clickedAt } }] };
        before = await votes.findOneAndUpdate(
          { _id, lastKey: { $ne: key }, ...order },
          {
            $set: { choice, lastKey: key, updatedAt: now, ...(clickedAt !== undefined ? { clickedAt } : {}) },
            $push: { history: { choice, key, at: now } },
            $setOnInsert: { reviewId: pair.reviewId, pairId: pair._id, user, createdAt: now },
          },
          { upsert: true, returnDocument: 'before' },
        );
      } catch (err) {
        if (!isArbiterError(err, 'STORE_DUPLICATE_KEY')) throw err;
        const current = await votes.findOne({ _id });
        if (!current) throw err;
        return { kind: 'duplicate', vote: parseVote(current) };
      }
      const after = await votes.findOne({ _id });
      if (!after) throw new ArbiterError('INTERNAL', `Vote ${_id} vanished after it was recorded.`);
      const vote = parseVote(after);
      if (!before) return { kind: 'new', vote };
      const previous = parseVote(before).choice;
      return previous === choice ? { kind: 'same', vote } : { kind: 'changed', vote, previous };
    },
    async setReason(pairId, user, reason, now) {
      const doc = await votes.findOneAndUpdate(
        { _id: voteId(pairId, user) },
        { $set: { reason, updatedAt: now } },
      );
      return doc ? parseVote(doc) : null;
    },
    async votes(reviewId) {
      return (await votes.find({ reviewId })).map(parseVote);
    },
    async votesOnPairs(user, pairIds) {
      if (pairIds.length === 0) return [];
      return (await votes.find({ _id: { $in: pairIds.map((id) => voteId(id, user)) } })).map(parseVote);
    },
    async countVotes(filter) {
      return votes.count(filter);
    },
  };
}
