// The blind review use cases: create (or open when two runs finish), post ballots, record votes from button clicks,
// judge every pair with the pairwise judge, close (deadline, all votes in, or by hand), report and leaderboard.
// Everything lives in the store, so a restart keeps every vote and the hidden order; slow work runs in jobs.
import { randomBytes, randomInt } from 'node:crypto';
import { z } from 'zod';
import type { ActionContext, ActionHandler, ActionResult } from '../chat/index.ts';
import {
  deliverLater,
  escapeMrkdwn,
  type Message,
  md,
  mention,
  openReportSection,
  plainText,
} from '../chat/index.ts';
import type { Transport } from '../chat/index.ts';
import {
  type AuditActor,
  type AuditEntry,
  type AuditLog,
  clickActor,
  recordAudit,
  SYSTEM_ACTOR,
} from '../audit/index.ts';
import {
  ArbiterError,
  type Clock,
  type Ids,
  type Logger,
  reportPaths,
  type ReportUrl,
} from '../config/index.ts';
import { type JudgeDeps, judgePair } from '../evaluators/index.ts';
import type { DocumentStore, JobHandler, JobQueue } from '../storage/index.ts';
import {
  ballotMessage,
  leaderboardMessage,
  parentMessage,
  REVIEW_ACTION_IDS,
  REVIEW_ACTION_PREFIX,
  reportMessage,
} from './messages.ts';
import { assignReviewers, planPairs } from './pairing.ts';
import { computeRatings, type RatingsTable } from './ratings.ts';
import { buildReport, pooledVotes, votesAsOfClose } from './report.ts';
import { createReviewRepository, type ReviewRepository, type VoteOutcome } from './repository.ts';
import {
  CHOICE_LABELS,
  type Choice,
  ChoiceSchema,
  type Pair,
  type Review,
  type ReviewRun,
  type ReviewRunSource,
  type VoteDoc,
} from './types.ts';

/** Job types the worker must run for reviews. */
export const REVIEW_JOB_TYPES = {
  openWhenReady: 'review.open_when_ready',
  post: 'review.post',
  judge: 'review.judge',
  close: 'review.close',
  report: 'review.report',
} as const;

/** What the review service needs. */
export interface ReviewServiceDeps {
  store: DocumentStore;
  runs: ReviewRunSource;
  /** The pairwise judge's model access; without it the report says no judge was configured. */
  judge?: JudgeDeps;
  transport: Transport;
  queue: JobQueue;
  clock: Clock;
  ids: Ids;
  logger: Logger;
  /** Reviewers DM mode sends ballots to (ARBITER_REVIEWERS). */
  reviewers?: readonly string[];
  /** Channel of reviews opened by a prompt change (openBlindReview names none). */
  defaultChannel?: string;
  /** Sources of the pairing seed and ballot tokens (crypto by default). */
  random?: { seed(): number; token(): string };
  /** How often a waiting review re-checks its runs, ms (default 30 s). */
  waitPollMs?: number;
  /** How long a review waits for its runs before giving up, ms (default 24 h). */
  maxWaitMs?: number;
  /** Bootstrap rounds of the ratings (default 1000). */
  bootstrap?: number;
  /** Wakes the in-process worker after an enqueue. */
  notify?: () => void;
  /** The audit trail: creates, votes and closes are recorded there after their durable write. */
  audit?: Pick<AuditLog, 'record'>;
  /** The signed URL of a report page (PUBLIC_URL set): the close report carries an *Open report* button. */
  reportUrl?: ReportUrl;
}

/** A review request (from `review <runA> <runB> …`). */
export interface CreateReviewInput {
  runs: readonly string[];
  pairs?: number | undefined;
  reviewersPerPair?: number | undefined;
  dm?: boolean | undefined;
  deadlineMs?: number | undefined;
  /** Where the review was requested: the parent message and the result go there. */
  channel: string;
  user?: string | undefined;
  /** A redelivered request with the same key creates nothing new. */
  idempotencyKey?: string | undefined;
  /** Who asked, for the audit trail (the system when not given). */
  actor?: AuditActor | undefined;
}

/** A review with its vote count, for listings. */
export interface ReviewSummary {
  review: Review;
  votes: number;
}

/** The review service. */
export interface ReviewService {
  create(input: CreateReviewInput): Promise<{ review: Review; created: boolean }>;
  /** Opens a review of two runs that may still be running: it waits and opens when both have finished. */
  openBlindReview(input: {
    suite: string;
    runA: string;
    runB: string;
    prompt: string;
    channel?: string;
  }): Promise<{ reviewId: string }>;
  get(id: string): Promise<Review | null>;
  list(options?: { limit?: number }): Promise<ReviewSummary[]>;
  /** Closes an open (or waiting) review and queues its report; `changed` false when it was already closed. */
  close(
    id: string,
    options: { reason: 'deadline' | 'complete' | 'manual'; by?: string; actor?: AuditActor },
  ): Promise<{ review: Review; changed: boolean }>;
  /** The result of a closed review (reveal, ratings, verdict, agreement). */
  report(id: string): Promise<Message>;
  /** Ratings pooled over every closed review, per contender label. */
  leaderboard(): Promise<Message>;
  /** The pooled ratings over reviews closed before `at` (default: every closed review). */
  /** Ratings pooled over closed reviews (closed before `at`; only those `include` keeps, when given). */
  standings(at?: Date, include?: (review: { channel: string }) => boolean): Promise<RatingsTable>;
  /** A run ended: reviews waiting for it re-check now instead of at their next poll. */
  runFinished(runId: string): Promise<void>;
  /** Open reviews with the pairs still waiting for this user's vote (App Home); names no contender. */
  openFor(
    user: string,
  ): Promise<{ id: string; title: string; pending: number; channel: string; dm: boolean }[]>;
  /** Reviews closed in `[from, to)` with their verdict, for digests. */
  closedBetween(
    from: Date,
    to: Date,
  ): Promise<{ id: string; title: string; closedAt: Date; ballots: number; winner?: string }[]>;
  /** Adds a reason to the caller's vote on the pair of a ballot token. */
  addReason(token: string, user: string, reason: string): Promise<Message>;
  /** Button clicks `review:vote:<choice>` and `review:reason`, for reviewers. */
  actionHandler: ActionHandler;
  // biome-ignore lint/suspicious/noExplicitAny: handlers of different payload types live in one registry
  handlers: Record<string, JobHandler<any>>;
  repository: ReviewRepository;
}

const ReviewIdPayload = z.object({ reviewId: z.string().min(1) });
const OpenPayload = z.object({ reviewId: z.string().min(1), check: z.number().int().min(0) });
const ClosePayload = z.object({
  reviewId: z.string().min(1),
  reason: z.enum(['deadline', 'complete', 'manual']),
});

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

/** Ratings over the votes of the given closed reviews, pooled per contender (seeded, so stable). */
async function pooledRatings(
  repo: ReviewRepository,
  closed: readonly Review[],
  bootstrap: number,
): Promise<{ table: RatingsTable; sameContender: number }> {
  const loaded = [];
  for (const review of closed) {
    const [pairs, votes] = await Promise.all([repo.pairs(review._id), repo.votes(review._id)]);
    loaded.push({ review, pairs, votes });
  }
  const pooled = pooledVotes(loaded);
  const table = computeRatings(pooled.votes, { contenders: pooled.contenders, bootstrap, seed: 42 });
  return { table, sameContender: pooled.sameContender };
}

/** An ephemeral note; `text` is our mrkdwn (values escaped), its summary the plain text. */
function note(title: string, text: string): Message {
  return { title, summary: plainText(text), sections: [{ kind: 'text', text }], ephemeral: true };
}

/** Contender labels, unique within a review: a repeated label gets the run id appended. */
export function contenderLabels(runs: readonly ReviewRun[]): string[] {
  const counts = new Map<string, number>();
  for (const r of runs) counts.set(r.label, (counts.get(r.label) ?? 0) + 1);
  return runs.map((r) => ((counts.get(r.label) ?? 0) > 1 ? `${r.label} [${r.id}]` : r.label));
}

/** Creates the review service (opens its collections). */
export async function createReviewService(deps: ReviewServiceDeps): Promise<ReviewService> {
  const repo = await createReviewRepository(deps.store);
  const random = deps.random ?? {
    seed: () => randomInt(0, 2 ** 31 - 1),
    token: () => `bt_${randomBytes(16).toString('base64url')}`,
  };
  const waitPollMs = deps.waitPollMs ?? 30_000;
  const maxWaitMs = deps.maxWaitMs ?? 24 * 3_600_000;
  const bootstrap = deps.bootstrap ?? 1000;
  const pooled = (closed: readonly Review[]) => pooledRatings(repo, closed, bootstrap);
  const reviewers = [...(deps.reviewers ?? [])];

  const enqueue = async (type: string, payload: unknown, idempotencyKey: string, runAt?: Date) => {
    await deps.queue.enqueue({ type, payload, idempotencyKey, ...(runAt ? { runAt } : {}) });
    deps.notify?.();
  };

  const mustGet = async (id: string): Promise<Review> => {
    const review = await repo.getReview(id);
    if (!review)
      throw new ArbiterError('NOT_FOUND', `No review with id ${id}.`, {
        hint: 'List reviews with `review list`.',
      });
    return review;
  };

  const neededVotes = (review: Review, pair: Pair) =>
    review.options.dm ? pair.assignees.length : review.options.reviewersPerPair;

  /** Plans and stores the pairs of a review whose runs have all completed; a usage error when they cannot pair. */
  const materialize = async (review: Review): Promise<Pair[]> => {
    const contenders = await Promise.all(
      review.contenders.map(async (c) => ({ runId: c.runId, items: await deps.runs.items(c.runId) })),
    );
    const plan = planPairs({ contenders, pairs: review.options.pairs, seed: review.seed });
    if (!plan.ok) throw new ArbiterError('USAGE', plan.error, { hint: 'Pick runs over the same dataset.' });
    const assignees = review.options.dm
      ? assignReviewers(plan.pairs.length, review.reviewers, review.options.reviewersPerPair)
      : [];
    const now = deps.clock.now();
    const pairs: Pair[] = plan.pairs.map((p, i) => ({
      _id: `${review._id}.${p.seq}`,
      reviewId: review._id,
      seq: p.seq,
      token: random.token(),
      matchKey: p.matchKey,
      input: p.input,
      answerA: p.answerA,
      answerB: p.answerB,
      aRunId: p.aRunId,
      bRunId: p.bRunId,
      assignees: assignees[i] ?? [],
      createdAt: now,
    }));
    await repo.insertPairs(pairs);
    return repo.pairs(review._id);
  };

  const afterOpen = async (review: Review) => {
    await enqueue(REVIEW_JOB_TYPES.post, { reviewId: review._id }, `review.post:${review._id}`);
    await enqueue(REVIEW_JOB_TYPES.judge, { reviewId: review._id }, `review.judge:${review._id}`);
    if (review.options.deadlineMs !== undefined) {
      const opened = review.openedAt ?? deps.clock.now();
      await enqueue(
        REVIEW_JOB_TYPES.close,
        { reviewId: review._id, reason: 'deadline' },
        `review.deadline:${review._id}`,
        new Date(opened.getTime() + review.options.deadlineMs),
      );
    }
  };

  const checkReviewers = (dm: boolean) => {
    if (dm && reviewers.length === 0)
      throw new ArbiterError('USAGE', 'There are no reviewers to send ballots to by DM.', {
        hint: 'Set ARBITER_REVIEWERS, or leave out --dm to post the ballots in this channel.',
      });
  };

  const baseReview = (input: {
    id: string;
    status: Review['status'];
    runs: ReviewRun[];
    options: Review['options'];
    channel: string;
    source: Review['source'];
    user?: string | undefined;
    prompt?: string | undefined;
    idempotencyKey?: string | undefined;
    now: Date;
  }): Review => {
    const labels = contenderLabels(input.runs);
    return {
      _id: input.id,
      status: input.status,
      contenders: input.runs.map((r, i) => ({ runId: r.id, suiteName: r.suiteName, label: labels[i]! })),
      options: input.options,
      channel: input.channel,
      reviewers: input.options.dm ? reviewers : [],
      ...(input.user ? { createdBy: input.user } : {}),
      source: input.source,
      ...(input.prompt ? { prompt: input.prompt } : {}),
      seed: random.seed(),
      ...(input.idempotencyKey ? { idempotencyKey: input.idempotencyKey } : {}),
      pairCount: 0,
      dmPosted: [],
      judge: deps.judge ? { status: 'pending', model: deps.judge.judgeModel } : { status: 'skipped' },
      createdAt: input.now,
      updatedAt: input.now,
    };
  };

  const audit = (entry: AuditEntry) => recordAudit(deps.audit, entry, deps.logger);
  /** Once per review (keyed): a retried request whose first attempt stopped before its record makes it then. */
  const auditCreate = (review: Review, actor: AuditActor | undefined) =>
    audit({
      key: `review.create:${review._id}`,
      actor: actor ?? SYSTEM_ACTOR,
      action: 'review.create',
      object: { type: 'review', id: review._id },
      // Counts only: before the close nothing here may identify a contender.
      summary: `Opened a blind review of ${review.contenders.length} runs${review.source === 'prompt-change' ? ' for a prompt change' : ''}`,
      details: { contenders: review.contenders.length, dm: review.options.dm, source: review.source },
    });

  const service: ReviewService = {
    repository: repo,

    async create(input) {
      const runIds = [...new Set(input.runs)];
      if (runIds.length < 2)
        throw new ArbiterError('USAGE', 'A review needs at least 2 different runs (contenders).', {
          hint: 'e.g. `review run_a run_b`.',
        });
      if (input.idempotencyKey) {
        const existing = await repo.findReviewByKey(input.idempotencyKey);
        if (existing) {
          await auditCreate(existing, input.actor);
          return { review: existing, created: false };
        }
      }
      const runs = await Promise.all(runIds.map((id) => deps.runs.getRun(id)));
      const unknown = runIds.filter((_, i) => !runs[i]);
      if (unknown.length)
        throw new ArbiterError('NOT_FOUND', `No run with id ${unknown.join(', ')}.`, {
          hint: 'List runs with `runs list`.',
        });
      const found = runs as ReviewRun[];
      const unfinished = found.filter((r) => r.status !== 'completed');
      if (unfinished.length)
        throw new ArbiterError(
          'USAGE',
          `Only completed runs can be reviewed: ${unfinished.map((r) => `${r.id} is ${r.status}`).join(', ')}.`,
          { hint: 'Wait for the runs to finish (see `runs show <id>`), then open the review.' },
        );
      const dm = input.dm ?? false;
      checkReviewers(dm);
      const now = deps.clock.now();
      const draft: Review = {
        ...baseReview({
          id: deps.ids.newId('rev'),
          status: 'open',
          runs: found,
          options: {
            ...(input.pairs !== undefined ? { pairs: input.pairs } : {}),
            reviewersPerPair: input.reviewersPerPair ?? 1,
            dm,
            ...(input.deadlineMs !== undefined ? { deadlineMs: input.deadlineMs } : {}),
          },
          channel: input.channel,
          source: 'command',
          user: input.user,
          idempotencyKey: input.idempotencyKey,
          now,
        }),
        openedAt: now,
      };
      // Pairs first: a review document never exists without its pairs.
      const pairs = await materialize(draft);
      const { review, created } = await repo.insertReview({ ...draft, pairCount: pairs.length });
      if (created) await afterOpen(review);
      await auditCreate(review, input.actor);
      return { review, created };
    },

    async openBlindReview(input) {
      if (input.runA === input.runB)
        throw new ArbiterError('USAGE', 'A review needs at least 2 different runs (contenders).');
      const idempotencyKey = `blind:${input.runA}:${input.runB}`;
      const existing = await repo.findReviewByKey(idempotencyKey);
      if (existing) return { reviewId: existing._id };
      const runs = await Promise.all([deps.runs.getRun(input.runA), deps.runs.getRun(input.runB)]);
      const unknown = [input.runA, input.runB].filter((_, i) => !runs[i]);
      if (unknown.length) throw new ArbiterError('NOT_FOUND', `No run with id ${unknown.join(', ')}.`);
      const channel = input.channel ?? deps.defaultChannel;
      const dm = channel === undefined;
      if (dm) checkReviewers(true);
      const now = deps.clock.now();
      const review: Review = {
        ...baseReview({
          id: deps.ids.newId('rev'),
          status: 'waiting',
          runs: runs as ReviewRun[],
          options: { reviewersPerPair: 1, dm },
          // With DMs only, the parent summary goes to the first reviewer's DM.
          channel: channel ?? reviewers[0]!,
          source: 'prompt-change',
          prompt: input.prompt,
          idempotencyKey,
          now,
        }),
        waitUntil: new Date(now.getTime() + maxWaitMs),
      };
      const { review: stored, created } = await repo.insertReview(review);
      if (created)
        await enqueue(
          REVIEW_JOB_TYPES.openWhenReady,
          { reviewId: stored._id, check: 0 },
          `review.open:${stored._id}:0`,
        );
      await auditCreate(stored, SYSTEM_ACTOR);
      return { reviewId: stored._id };
    },

    get: (id) => repo.getReview(id),

    async list(options = {}) {
      const reviews = await repo.listReviews({ limit: options.limit ?? 15 });
      return Promise.all(
        reviews.map(async (review) => ({ review, votes: await repo.countVotes({ reviewId: review._id }) })),
      );
    },

    async close(id, options) {
      const review = await mustGet(id);
      if (review.status === 'closed' || review.status === 'abandoned') return { review, changed: false };
      const now = deps.clock.now();
      const updated = await repo.updateReview(
        id,
        { status: { $in: ['open', 'waiting'] } },
        {
          $set: {
            status: 'closed',
            closedAt: now,
            closedReason: options.reason,
            updatedAt: now,
            ...(options.by ? { closedBy: options.by } : {}),
          },
        },
      );
      if (!updated) return { review: await mustGet(id), changed: false };
      await enqueue(REVIEW_JOB_TYPES.report, { reviewId: id }, `review.report:${id}`);
      const why = { manual: 'by hand', complete: 'every vote is in', deadline: 'its deadline passed' }[
        options.reason
      ];
      await audit({
        key: `review.close:${id}`,
        actor: options.actor ?? SYSTEM_ACTOR,
        action: 'review.close',
        object: { type: 'review', id },
        summary: `Closed the review (${why})`,
        details: { reason: options.reason },
      });
      return { review: updated, changed: true };
    },

    async report(id) {
      const review = await mustGet(id);
      if (review.status !== 'closed')
        throw new ArbiterError(
          'USAGE',
          `Review ${id} is ${review.status}; its result is revealed when it closes.`,
          {
            hint: `Close it with \`review close ${id}\`.`,
          },
        );
      const [pairs, votes] = await Promise.all([repo.pairs(id), repo.votes(id)]);
      const message = reportMessage(buildReport(review, pairs, votesAsOfClose(review, votes), { bootstrap }));
      const button = openReportSection(deps.reportUrl?.(reportPaths.review(id)));
      return button.length > 0 ? { ...message, sections: [...message.sections, ...button] } : message;
    },

    async leaderboard() {
      const closed = await repo.listReviews({ status: 'closed' });
      const { table, sameContender } = await pooled(closed);
      return leaderboardMessage(table, closed.length, { sameContender });
    },

    async standings(at, include) {
      const closed = (await repo.listReviews({ status: 'closed' })).filter(
        (r) =>
          (at === undefined || (r.closedAt !== undefined && r.closedAt < at)) && (!include || include(r)),
      );
      return (await pooled(closed)).table;
    },

    async runFinished(runId) {
      for (const review of await repo.listReviews({ status: 'waiting' })) {
        if (!review.contenders.some((c) => c.runId === runId)) continue;
        // check 0: if the other run is still going, the next poll it schedules already exists (same key).
        await enqueue(
          REVIEW_JOB_TYPES.openWhenReady,
          { reviewId: review._id, check: 0 },
          `review.open:${review._id}:after:${runId}`,
        );
      }
    },

    async openFor(user) {
      const out = [];
      for (const review of await repo.listReviews({ status: 'open', limit: 50 })) {
        const [pairs, votes] = await Promise.all([repo.pairs(review._id), repo.votes(review._id)]);
        const mine = new Set(votes.filter((v) => v.user === user).map((v) => v.pairId));
        const count = new Map<string, number>();
        for (const v of votes) count.set(v.pairId, (count.get(v.pairId) ?? 0) + 1);
        const pending = pairs.filter(
          (p) =>
            !mine.has(p._id) &&
            (count.get(p._id) ?? 0) < neededVotes(review, p) &&
            (!review.options.dm || p.assignees.includes(user)),
        ).length;
        if (pending > 0)
          out.push({
            id: review._id,
            title: `Blind review opened ${(review.openedAt ?? review.createdAt).toISOString().slice(0, 10)}`,
            pending,
            channel: review.channel,
            dm: review.options.dm,
          });
      }
      return out;
    },

    async closedBetween(from, to) {
      const closed = (await repo.listReviews({ status: 'closed' })).filter(
        (r) => r.closedAt !== undefined && r.closedAt >= from && r.closedAt < to,
      );
      const out = [];
      for (const review of closed) {
        const [pairs, stored] = await Promise.all([repo.pairs(review._id), repo.votes(review._id)]);
        const votes = votesAsOfClose(review, stored);
        const report = buildReport(review, pairs, votes, { bootstrap });
        out.push({
          id: review._id,
          title: review.contenders.map((c) => c.label).join(' vs '),
          closedAt: review.closedAt as Date,
          ballots: votes.length,
          ...(report.verdict.better && report.verdict.significant ? { winner: report.verdict.better } : {}),
        });
      }
      return out;
    },

    async addReason(token, user, reason) {
      const text = reason.trim();
      if (!text) return note('Review', 'Write the reason after the token.');
      const pair = await repo.pairByToken(token);
      if (!pair) return note('Review', 'That ballot is unknown or has expired.');
      const review = await repo.getReview(pair.reviewId);
      if (review?.status !== 'open')
        return note('Review closed', 'This review is closed; reasons are no longer accepted.');
      const vote = await repo.setReason(pair._id, user, text.slice(0, 1000), deps.clock.now());
      if (!vote) return note('Review', 'Vote on this pair first, then add your reason.');
      return note('Reason saved', `Saved your reason for your vote (${CHOICE_LABELS[vote.choice]}).`);
    },

    actionHandler: {
      prefix: REVIEW_ACTION_PREFIX,
      role: 'reviewer',
      handle: (input, ctx) => handleClick(input, ctx),
    },

    handlers: {},
  };

  const ballotOf = (pair: Pair, review: Review, opts: Parameters<typeof ballotMessage>[2] = {}) =>
    ballotMessage(pair, review.pairCount, opts);

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
    await service.close(review._id, { reason: 'complete' });
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
      now: deps.clock.now(),
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
    const chosen = CHOICE_LABELS[outcome.vote.choice as Choice];
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

  // ---- jobs ----

  const abandon = async (review: Review, reason: 'run-failed' | 'timeout', text: string) => {
    const now = deps.clock.now();
    const updated = await repo.updateReview(
      review._id,
      { status: 'waiting' },
      { $set: { status: 'abandoned', closedAt: now, closedReason: reason, note: text, updatedAt: now } },
    );
    if (updated)
      await deliverLater(deps.transport, [
        {
          key: reviewDeliveryKey(review._id, 'abandoned'),
          op: 'post',
          channel: review.channel,
          message: {
            title: 'Blind review not opened',
            summary: text,
            sections: [{ kind: 'text', text: escapeMrkdwn(text) }],
          },
        },
      ]);
    return { abandoned: reason };
  };

  const openWhenReady: JobHandler<z.infer<typeof OpenPayload>> = {
    payload: OpenPayload,
    async run({ reviewId, check }) {
      const review = await repo.getReview(reviewId);
      if (review?.status !== 'waiting') return { skipped: review?.status ?? 'missing' };
      const runs = await Promise.all(review.contenders.map((c) => deps.runs.getRun(c.runId)));
      const broken = runs.find((r) => !r || r.status === 'failed' || r.status === 'cancelled');
      if (broken !== undefined) {
        const idx = runs.indexOf(broken);
        const c = review.contenders[idx]!;
        return abandon(
          review,
          'run-failed',
          `The blind review of ${review.prompt ?? c.suiteName} was not opened: run ${c.runId} ${broken ? `ended ${broken.status}` : 'no longer exists'}.`,
        );
      }
      if (runs.every((r) => r?.status === 'completed')) {
        let pairs: Pair[];
        try {
          pairs = await materialize(review);
        } catch (err) {
          const why = err instanceof ArbiterError ? err.message : String(err);
          if (!(err instanceof ArbiterError)) throw err;
          return abandon(review, 'run-failed', `The blind review was not opened: ${why}`);
        }
        const now = deps.clock.now();
        const opened = await repo.updateReview(
          reviewId,
          { status: 'waiting' },
          { $set: { status: 'open', pairCount: pairs.length, openedAt: now, updatedAt: now } },
        );
        if (opened) await afterOpen(opened);
        return { opened: pairs.length };
      }
      const now = deps.clock.now();
      if (review.waitUntil && now > review.waitUntil)
        return abandon(
          review,
          'timeout',
          'The blind review was not opened: its runs did not finish in time.',
        );
      await enqueue(
        REVIEW_JOB_TYPES.openWhenReady,
        { reviewId, check: check + 1 },
        `review.open:${reviewId}:${check + 1}`,
        new Date(now.getTime() + waitPollMs),
      );
      return { waiting: true, check };
    },
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
        const refs = await deliverLater(deps.transport, [
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
            await deliverLater(deps.transport, [
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
          const refs = await deliverLater(deps.transport, [
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
      const res = await service.close(reviewId, { reason });
      return { changed: res.changed };
    },
  };

  const report: JobHandler<z.infer<typeof ReviewIdPayload>> = {
    payload: ReviewIdPayload,
    async run({ reviewId }) {
      const review = await repo.getReview(reviewId);
      if (review?.status !== 'closed') return { skipped: review?.status ?? 'missing' };
      if (review.reportRef) return { skipped: 'already posted' };
      const message = await service.report(reviewId);
      const key = reviewDeliveryKey(reviewId, 'report');
      const parentKey = reviewDeliveryKey(reviewId, 'parent');
      // The parent's ref is known (posted directly), or the parent is a delivery of the outbox, threaded under by
      // its key; a parent that could not be delivered (null) leaves the report in the channel.
      const parentFailed = (await deps.transport.delivered?.(parentKey)) === null;
      const underParent = review.parentRef
        ? { threadTs: review.parentRef.ts }
        : deps.transport.enqueue && !parentFailed
          ? { of: parentKey }
          : {};
      const refs = await deliverLater(deps.transport, [
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
        await deliverLater(deps.transport, [
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

  service.handlers = {
    [REVIEW_JOB_TYPES.openWhenReady]: openWhenReady,
    [REVIEW_JOB_TYPES.post]: post,
    [REVIEW_JOB_TYPES.judge]: judge,
    [REVIEW_JOB_TYPES.close]: close,
    [REVIEW_JOB_TYPES.report]: report,
  };
  return service;
}

/** The delivery key of one of a review's messages (the outbox posts each once, whatever the retries). */
export const reviewDeliveryKey = (reviewId: string, what: string) => `review:${reviewId}:${what}`;
