// Shared vocabulary of blind reviews: the stored documents (parsed with zod when read back) and the narrow port
// through which reviews/ reads evaluation runs (runs/ is adapted to it in commands/reviews.ts).
import { z } from 'zod';

/** What a reviewer can answer about a pair, in the positions the ballot showed. */
export const ChoiceSchema = z.enum(['a', 'b', 'tie', 'both_bad']);
export type Choice = z.infer<typeof ChoiceSchema>;

/** Button labels of each choice (also used to describe a vote back to the reviewer). */
export const CHOICE_LABELS: Record<Choice, string> = {
  a: 'A is better',
  b: 'B is better',
  tie: 'Tie',
  both_bad: 'Both bad',
};

/** A run as reviews/ sees it. `label` names the contender (suite + target/model); the leaderboard pools on it. */
export interface ReviewRun {
  id: string;
  suiteName: string;
  /** Only `completed` runs can be reviewed; `failed`/`cancelled` never will be. */
  status: 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
  label: string;
}

/** One finished item of a run: the input the target got and its output (absent when the target failed). */
export interface ReviewRunItem {
  key: string;
  input: string;
  output: string | undefined;
}

/** The port reviews/ reads runs through (commands/reviews.ts adapts RunService to it). */
export interface ReviewRunSource {
  getRun(id: string): Promise<ReviewRun | null>;
  items(id: string): Promise<ReviewRunItem[]>;
}

const PostedRefSchema = z.object({ channel: z.string(), ts: z.string() });

/** Lifecycle of a review: waiting for its runs to finish, open for votes, closed, or abandoned (a run failed). */
export const ReviewStatusSchema = z.enum(['waiting', 'open', 'closed', 'abandoned']);
export type ReviewStatus = z.infer<typeof ReviewStatusSchema>;

/** A review as stored in `reviews`. */
export const ReviewSchema = z.object({
  _id: z.string(),
  status: ReviewStatusSchema,
  /** One contender per run, labels unique within the review. */
  contenders: z.array(z.object({ runId: z.string(), suiteName: z.string(), label: z.string() })),
  options: z.object({
    /** Requested number of pairs (undefined: the default per matchup). */
    pairs: z.number().int().optional(),
    reviewersPerPair: z.number().int().min(1),
    dm: z.boolean(),
    deadlineMs: z.number().int().optional(),
  }),
  /** Channel the review was requested from; the parent message and the result go there. */
  channel: z.string(),
  /** DM mode: the reviewers ballots are sent to. */
  reviewers: z.array(z.string()),
  createdBy: z.string().optional(),
  source: z.enum(['command', 'prompt-change']),
  prompt: z.string().optional(),
  /** Seed of pairing and the hidden A/B order. */
  seed: z.number().int(),
  idempotencyKey: z.string().optional(),
  pairCount: z.number().int(),
  parentRef: PostedRefSchema.optional(),
  /** DM mode: reviewers who were sent their first ballot. */
  dmPosted: z.array(z.string()).default([]),
  judge: z.object({
    status: z.enum(['pending', 'done', 'skipped']),
    model: z.string().optional(),
  }),
  /** The waiting review gives up after this instant. */
  waitUntil: z.date().optional(),
  openedAt: z.date().optional(),
  closedAt: z.date().optional(),
  closedReason: z.enum(['deadline', 'complete', 'manual', 'run-failed', 'timeout']).optional(),
  closedBy: z.string().optional(),
  reportRef: PostedRefSchema.optional(),
  note: z.string().optional(),
  createdAt: z.date(),
  updatedAt: z.date(),
});
export type Review = z.infer<typeof ReviewSchema>;

/** The pairwise judge's verdict on a pair, in displayed positions; `winner` null when the judge failed. */
export const JudgeVerdictSchema = z.object({
  winner: z.enum(['a', 'b', 'tie']).nullable(),
  reason: z.string(),
  confidence: z.number(),
  heuristic: z.boolean(),
  error: z.string().optional(),
});
export type JudgeVerdict = z.infer<typeof JudgeVerdictSchema>;

/** One pair as stored in `review_pairs`: the hidden order lives here (aRunId/bRunId), never in a ballot. */
export const PairSchema = z.object({
  _id: z.string(),
  reviewId: z.string(),
  seq: z.number().int(),
  /** Opaque random ballot token: the only thing a button carries. */
  token: z.string(),
  matchKey: z.string(),
  input: z.string(),
  answerA: z.string(),
  answerB: z.string(),
  aRunId: z.string(),
  bRunId: z.string(),
  /** DM mode: who is asked to vote on this pair. */
  assignees: z.array(z.string()),
  postedRef: PostedRefSchema.optional(),
  judge: JudgeVerdictSchema.optional(),
  createdAt: z.date(),
});
export type Pair = z.infer<typeof PairSchema>;

/** One reviewer's vote on one pair (`_id` = pair id + user, so there is one per reviewer per pair). */
export const VoteDocSchema = z.object({
  _id: z.string(),
  reviewId: z.string(),
  pairId: z.string(),
  user: z.string(),
  choice: ChoiceSchema,
  reason: z.string().optional(),
  /** Delivery key of the click that set `choice`: a redelivery of it changes nothing. */
  lastKey: z.string(),
  /** When the click that set `choice` happened (epoch ms), when known. */
  clickedAt: z.number().optional(),
  history: z.array(z.object({ choice: ChoiceSchema, key: z.string(), at: z.date() })),
  createdAt: z.date(),
  updatedAt: z.date(),
});
export type VoteDoc = z.infer<typeof VoteDocSchema>;
