// The life of a review: created open (two finished runs), or waiting for its runs (a prompt change) and opened or
// given up when they end; closed by its deadline, by the last vote or by hand. Each change is one conditional write
// of the review's status, then the jobs it implies are queued (keyed, so a retry queues nothing twice) and the
// change is audited.
import { type AuditActor, SYSTEM_ACTOR } from '../audit/index.ts';
import { deliverLater, escapeMrkdwn, type Transport } from '../chat/index.ts';
import { ArbiterError, type Clock, type Ids } from '../config/index.ts';
import type { JudgeDeps } from '../evaluators/index.ts';
import { type CloseReason, REVIEW_JOB_TYPES } from './jobs.ts';
import { assignReviewers, planPairs } from './pairing.ts';
import type { ReviewRepository } from './repository.ts';
import {
  type Enqueue,
  mustGetReview,
  type RecordAudit,
  type ReviewRandom,
  reviewDeliveryKey,
} from './shared.ts';
import type { Pair, Review, ReviewRun, ReviewRunSource } from './types.ts';

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

/** What a check of a waiting review did (the result of its job). */
type OpenCheck =
  | { skipped: string }
  | { abandoned: 'run-failed' | 'timeout' }
  | { opened: number }
  | { waiting: true; check: number };

/** The review state changes (part of the service's surface). */
export interface ReviewLifecycle {
  create(input: CreateReviewInput): Promise<{ review: Review; created: boolean }>;
  /** Opens a review of two runs that may still be running: it waits and opens when both have finished. */
  openBlindReview(input: {
    suite: string;
    runA: string;
    runB: string;
    prompt: string;
    channel?: string;
  }): Promise<{ reviewId: string }>;
  /** Closes an open (or waiting) review and queues its report; `changed` false when it was already closed. */
  close(
    id: string,
    options: { reason: CloseReason; by?: string; actor?: AuditActor },
  ): Promise<{ review: Review; changed: boolean }>;
  /** A run ended: reviews waiting for it re-check now instead of at their next poll. */
  runFinished(runId: string): Promise<void>;
}

/** The state changes and the check the `review.open_when_ready` job runs (not part of the service's surface). */
export interface ReviewLifecycleWithCheck extends ReviewLifecycle {
  /**
   * A waiting review's check (its job): opens it when every run completed, gives it up when a run failed, was
   * cancelled or vanished, or the wait is over, else checks again in `waitPollMs`.
   */
  openWhenReady(reviewId: string, check: number): Promise<OpenCheck>;
}

/** What the lifecycle needs. */
export interface ReviewLifecycleDeps {
  repo: ReviewRepository;
  runs: ReviewRunSource;
  /** The pairwise judge, when configured: a new review's judge is then pending (else skipped). */
  judge?: JudgeDeps | undefined;
  /** Where a review that could not open says so. */
  transport: Transport;
  clock: Clock;
  ids: Ids;
  random: ReviewRandom;
  /** Reviewers DM mode sends ballots to. */
  reviewers: readonly string[];
  /** Channel of reviews opened by a prompt change (openBlindReview names none). */
  defaultChannel?: string | undefined;
  /** How often a waiting review re-checks its runs, ms. */
  waitPollMs: number;
  /** How long a review waits for its runs before giving up, ms. */
  maxWaitMs: number;
  enqueue: Enqueue;
  audit: RecordAudit;
}

/** Contender labels, unique within a review: a repeated label gets the run id appended. */
export function contenderLabels(runs: readonly ReviewRun[]): string[] {
  const counts = new Map<string, number>();
  for (const r of runs) counts.set(r.label, (counts.get(r.label) ?? 0) + 1);
  return runs.map((r) => ((counts.get(r.label) ?? 0) > 1 ? `${r.label} [${r.id}]` : r.label));
}

const isRun = (run: ReviewRun | null | undefined): run is ReviewRun => Boolean(run);

/** The review lifecycle over the repository and the job queue. */
export function createReviewLifecycle(deps: ReviewLifecycleDeps): ReviewLifecycleWithCheck {
  const { repo, clock, enqueue, audit, random, reviewers } = deps;

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
    const now = clock.now();
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

  /** Queues what an opened review needs: its ballots, its judge and, with a deadline, its close. */
  const afterOpen = async (review: Review) => {
    await enqueue(REVIEW_JOB_TYPES.post, { reviewId: review._id }, `review.post:${review._id}`);
    await enqueue(REVIEW_JOB_TYPES.judge, { reviewId: review._id }, `review.judge:${review._id}`);
    if (review.options.deadlineMs !== undefined) {
      const opened = review.openedAt ?? clock.now();
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
    runs: readonly ReviewRun[];
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
      reviewers: input.options.dm ? [...reviewers] : [],
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

  /** Gives up a waiting review (a run failed or the wait is over) and says so in its channel. */
  const abandon = async (
    review: Review,
    reason: 'run-failed' | 'timeout',
    text: string,
  ): Promise<OpenCheck> => {
    const now = clock.now();
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

  return {
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
      const found = runs.filter(isRun);
      const unfinished = found.filter((r) => r.status !== 'completed');
      if (unfinished.length)
        throw new ArbiterError(
          'USAGE',
          `Only completed runs can be reviewed: ${unfinished.map((r) => `${r.id} is ${r.status}`).join(', ')}.`,
          { hint: 'Wait for the runs to finish (see `runs show <id>`), then open the review.' },
        );
      const dm = input.dm ?? false;
      checkReviewers(dm);
      const now = clock.now();
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
      const now = clock.now();
      const review: Review = {
        ...baseReview({
          id: deps.ids.newId('rev'),
          status: 'waiting',
          runs: runs.filter(isRun),
          options: { reviewersPerPair: 1, dm },
          // With DMs only, the parent summary goes to the first reviewer's DM.
          channel: channel ?? reviewers[0]!,
          source: 'prompt-change',
          prompt: input.prompt,
          idempotencyKey,
          now,
        }),
        waitUntil: new Date(now.getTime() + deps.maxWaitMs),
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

    async close(id, options) {
      const review = await mustGetReview(repo, id);
      if (review.status === 'closed' || review.status === 'abandoned') return { review, changed: false };
      const now = clock.now();
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
      if (!updated) return { review: await mustGetReview(repo, id), changed: false };
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

    async openWhenReady(reviewId, check) {
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
        const now = clock.now();
        const opened = await repo.updateReview(
          reviewId,
          { status: 'waiting' },
          { $set: { status: 'open', pairCount: pairs.length, openedAt: now, updatedAt: now } },
        );
        if (opened) await afterOpen(opened);
        return { opened: pairs.length };
      }
      const now = clock.now();
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
        new Date(now.getTime() + deps.waitPollMs),
      );
      return { waiting: true, check };
    },
  };
}
