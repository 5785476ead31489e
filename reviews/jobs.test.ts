// The review job map on the real embedded store, job queue and worker: it names every review job type, a malformed
// payload fails the job for good (naming what was wrong) instead of being retried, and a job whose review is gone
// does nothing. Only Slack is replaced, by a recording Transport.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createReviewRunSource } from '../commands/reviews.ts';
import { createSilentLogger, systemClock, systemIds } from '../config/index.ts';
import { createLlm } from '../llm/index.ts';
import { createRecordingTransport } from '../prompts/testing.ts';
import { createWorker, type Job } from '../storage/index.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { offlineRunService } from '../test/helpers/runs.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { waitUntil } from '../test/helpers/wait.ts';
import { createReviewService } from './index.ts';
import { REVIEW_JOB_TYPES } from './jobs.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup() {
  const t = tempDir('arbiter-review-jobs-');
  cleanups.push(t.cleanup);
  const store = await createEmbeddedStore({ dir: join(t.dir, 'data'), autocompactMs: 0 });
  cleanups.push(() => store.close());
  const logger = createSilentLogger();
  const llm = createLlm({ store });
  cleanups.push(() => llm.flush());
  const { queue, svc: runs } = await offlineRunService(store, {
    logger,
    llm,
    engine: 'direct',
    progressIntervalMs: 0,
  });
  const transport = createRecordingTransport();
  const reviews = await createReviewService({
    store,
    runs: createReviewRunSource(runs),
    judge: { llm, judgeModel: 'offline:heuristic' },
    transport,
    queue,
    clock: systemClock,
    ids: systemIds,
    logger,
    reviewers: ['U_R1'],
  });
  return { store, queue, transport, reviews };
}

describe('review jobs', () => {
  it('the handlers are exactly the review job types', async () => {
    const { reviews } = await setup();
    expect(Object.keys(reviews.handlers).sort()).toEqual(Object.values(REVIEW_JOB_TYPES).sort());
  });

  /** Enqueues one job per type, runs them on a real worker and returns each finished job by type. */
  async function runJobs(
    env: Awaited<ReturnType<typeof setup>>,
    payloads: Record<string, unknown>,
    tag: string,
  ) {
    const ids: Record<string, string> = {};
    for (const [type, payload] of Object.entries(payloads)) {
      const { job } = await env.queue.enqueue({ type, payload, idempotencyKey: `${tag}:${type}` });
      ids[type] = job._id;
    }
    const worker = createWorker({
      queue: env.queue,
      handlers: env.reviews.handlers,
      concurrency: 2,
      leaseMs: 10_000,
      pollMs: 10,
    });
    worker.start();
    cleanups.push(() => worker.stop(2000));
    const done: Record<string, Job> = {};
    for (const [type, id] of Object.entries(ids))
      done[type] = await waitUntil(async () => {
        const j = await env.queue.get(id);
        return j?.status === 'failed' || j?.status === 'succeeded' ? j : undefined;
      });
    return done;
  }

  it('a malformed payload fails the job for good, naming the job type and what was wrong', async () => {
    const env = await setup();
    const done = await runJobs(
      env,
      {
        [REVIEW_JOB_TYPES.openWhenReady]: { reviewId: 'rev_1', check: -1 },
        [REVIEW_JOB_TYPES.post]: { reviewId: '' },
        [REVIEW_JOB_TYPES.judge]: {},
        [REVIEW_JOB_TYPES.close]: { reviewId: 'rev_1', reason: 'bored' },
        [REVIEW_JOB_TYPES.report]: { review: 'rev_1' },
      },
      'bad',
    );
    expect(Object.keys(done)).toHaveLength(5);
    for (const [type, job] of Object.entries(done)) {
      expect(job.status, type).toBe('failed');
      expect(job.attempts, type).toBe(1);
      expect(job.lastError, type).toContain(`invalid payload for ${type}`);
    }
  });

  it('each job on a review that does not exist does nothing', async () => {
    const env = await setup();
    const done = await runJobs(
      env,
      {
        [REVIEW_JOB_TYPES.openWhenReady]: { reviewId: 'rev_gone', check: 0 },
        [REVIEW_JOB_TYPES.post]: { reviewId: 'rev_gone' },
        [REVIEW_JOB_TYPES.judge]: { reviewId: 'rev_gone' },
        [REVIEW_JOB_TYPES.close]: { reviewId: 'rev_gone', reason: 'deadline' },
        [REVIEW_JOB_TYPES.report]: { reviewId: 'rev_gone' },
      },
      'gone',
    );
    expect(Object.keys(done)).toHaveLength(5);
    for (const [type, job] of Object.entries(done)) {
      expect(job.status, type).toBe('succeeded');
      expect(job.result, type).toEqual({ skipped: 'missing' });
    }
    // Nothing posted, no follow-up job queued (no re-poll, no report), no review made.
    expect(env.transport.posts).toEqual([]);
    expect(await env.queue.list()).toHaveLength(5);
    expect(await env.reviews.list()).toEqual([]);
  });
});
