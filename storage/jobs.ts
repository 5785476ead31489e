import { z } from 'zod';
import { ArbiterError, type Clock, type Ids, systemClock, systemIds } from '../config/index.ts';
import type { Collection, DocumentStore, Filter, IndexSpec } from './port.ts';
import { parseStored } from './stored.ts';

/** Lifecycle of a durable job. */
export const JobStatusSchema = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']);
export type JobStatus = z.infer<typeof JobStatusSchema>;

/** Progress a handler records on its job (shown by `arbiter jobs show` and, later, in Slack). */
export const JobProgressSchema = z
  .object({
    done: z.number().optional(),
    total: z.number().optional(),
    message: z.string().optional(),
  })
  .catchall(z.unknown());
export type JobProgress = z.infer<typeof JobProgressSchema>;

/** A durable job as stored; parsed with zod whenever it is read back. */
export const JobSchema = z.object({
  _id: z.string(),
  type: z.string(),
  payload: z.unknown(),
  idempotencyKey: z.string().optional(),
  status: JobStatusSchema,
  attempts: z.number().int(),
  maxAttempts: z.number().int(),
  runAt: z.date(),
  /**
   * Epoch ms at which the job can be claimed: its runAt while queued, its lease expiry while running, absent once
   * finished. One sparse index on it makes a claim touch only claimable jobs, never the history of finished ones.
   */
  claimableAt: z.number().optional(),
  leaseOwner: z.string().optional(),
  leaseExpiresAt: z.date().optional(),
  cancelRequested: z.boolean().optional(),
  lastError: z.string().optional(),
  progress: JobProgressSchema.optional(),
  /** Who the job is for (e.g. `slack:U123`), so a backlog can be counted per user. */
  group: z.string().optional(),
  /**
   * Side effects of the job outside the store (a reply posted), by name: 'started' once one was about to happen,
   * 'done' once it did. A job run again after a crash skips what is done (JobContext.once).
   */
  effects: z.record(z.string(), z.enum(['started', 'done'])).optional(),
  result: z.unknown().optional(),
  createdAt: z.date(),
  updatedAt: z.date(),
  finishedAt: z.date().optional(),
});
export type Job = z.infer<typeof JobSchema>;

/** What to enqueue. */
export interface EnqueueInput {
  type: string;
  payload?: unknown;
  /** The same key twice enqueues once; the second call returns the first job. */
  idempotencyKey?: string;
  runAt?: Date;
  maxAttempts?: number;
  /** Who the job is for (e.g. `slack:U123`); `backlog` counts unfinished jobs per group. */
  group?: string;
}

/** Unfinished (queued or running) jobs of some types: in all, and per group. */
export interface Backlog {
  total: number;
  byGroup: Map<string, number>;
}

/** Outcome of reporting a failure. */
export type FailOutcome = 'retrying' | 'failed' | 'lease-lost';

/** Options of the job queue. */
export interface JobQueueOptions {
  clock?: Clock;
  ids?: Ids;
  defaultMaxAttempts?: number;
  /** Delay before retry n is `min(backoffMaxMs, backoffBaseMs * 2^(n-1))`. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

/** The durable job queue: enqueue, atomic claims with expiring leases, retries, progress. */
export interface JobQueue {
  enqueue(input: EnqueueInput): Promise<{ job: Job; created: boolean }>;
  /** Atomically claims the next due job (or one whose lease expired); null when none is due. */
  claim(workerId: string, leaseMs: number, types?: readonly string[]): Promise<Job | null>;
  /** Extends the lease; 'lost' when another worker took the job over, 'cancel' when a cancel was requested. */
  heartbeat(jobId: string, workerId: string, leaseMs: number): Promise<'ok' | 'lost' | 'cancel'>;
  setProgress(jobId: string, workerId: string, progress: JobProgress): Promise<boolean>;
  complete(jobId: string, workerId: string, result?: unknown): Promise<boolean>;
  fail(
    jobId: string,
    workerId: string,
    error: string,
    options?: { retryable?: boolean },
  ): Promise<FailOutcome>;
  /** Gives a running job back (graceful shutdown) without counting the attempt. */
  release(jobId: string, workerId: string): Promise<boolean>;
  /** Cancels a queued job at once; asks a running job to stop. */
  cancel(jobId: string): Promise<Job>;
  /**
   * Records the state of a named side effect on a job the worker owns (see JobContext.once); undefined clears it.
   * False when the worker no longer owns the job.
   */
  markEffect(
    jobId: string,
    workerId: string,
    name: string,
    state: 'started' | 'done' | undefined,
  ): Promise<boolean>;
  /** Counts unfinished jobs of these types (through the claim index: cost grows with the backlog, not the history). */
  backlog(types: readonly string[]): Promise<Backlog>;
  get(jobId: string): Promise<Job | null>;
  list(filter?: { status?: JobStatus; type?: string; limit?: number }): Promise<Job[]>;
}

type JobDoc = Job;

const INDEXES: IndexSpec[] = [
  { fields: { idempotencyKey: 1 }, unique: true, sparse: true },
  { fields: { claimableAt: 1 }, sparse: true },
  { fields: { status: 1, createdAt: -1 } },
  { fields: { type: 1, createdAt: -1 } },
  // `jobs list` without a status or type: the newest jobs in index order, never a sort of the whole history.
  { fields: { createdAt: -1 } },
];

function parseJob(doc: unknown): Job {
  return parseStored(JobSchema, doc, { collection: 'jobs' });
}

/** Opens the jobs collection (indexes ensured) and returns the queue over it. */
export async function createJobQueue(store: DocumentStore, options: JobQueueOptions = {}): Promise<JobQueue> {
  const jobs: Collection<JobDoc> = await store.collection<JobDoc>('jobs', INDEXES);
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? systemIds;
  const defaultMaxAttempts = options.defaultMaxAttempts ?? 3;
  const backoffBaseMs = options.backoffBaseMs ?? 1000;
  const backoffMaxMs = options.backoffMaxMs ?? 5 * 60_000;
  const owned = (jobId: string, workerId: string): Filter => ({
    _id: jobId,
    status: 'running',
    leaseOwner: workerId,
  });

  const queue: JobQueue = {
    async enqueue(input) {
      if (
        input.maxAttempts !== undefined &&
        (!Number.isInteger(input.maxAttempts) || input.maxAttempts < 1)
      ) {
        throw new ArbiterError('USAGE', `maxAttempts must be a whole number ≥ 1 (got ${input.maxAttempts})`);
      }
      const now = clock.now();
      const doc: JobDoc = {
        _id: ids.newId('job'),
        type: input.type,
        payload: input.payload ?? null,
        ...(input.idempotencyKey ? { idempotencyKey: input.idempotencyKey } : {}),
        ...(input.group ? { group: input.group } : {}),
        status: 'queued',
        attempts: 0,
        maxAttempts: input.maxAttempts ?? defaultMaxAttempts,
        runAt: input.runAt ?? now,
        claimableAt: (input.runAt ?? now).getTime(),
        createdAt: now,
        updatedAt: now,
      };
      try {
        await jobs.insertOne(doc);
        return { job: parseJob(doc), created: true };
      } catch (err) {
        if (input.idempotencyKey && err instanceof ArbiterError && err.code === 'STORE_DUPLICATE_KEY') {
          const existing = await jobs.findOne({ idempotencyKey: input.idempotencyKey });
          if (existing) return { job: parseJob(existing), created: false };
        }
        throw err;
      }
    },

    async claim(workerId, leaseMs, types) {
      for (;;) {
        const now = clock.now();
        const typeFilter: Filter = types && types.length > 0 ? { type: { $in: [...types] } } : {};
        const leaseExpiresAt = new Date(now.getTime() + leaseMs);
        // Queued jobs that are due and running jobs whose lease expired, earliest first.
        const doc = await jobs.findOneAndUpdate(
          { ...typeFilter, claimableAt: { $lte: now.getTime() } },
          {
            $set: {
              status: 'running',
              leaseOwner: workerId,
              leaseExpiresAt,
              claimableAt: leaseExpiresAt.getTime(),
              updatedAt: now,
            },
            $inc: { attempts: 1 },
          },
          { sort: { claimableAt: 1 } },
        );
        if (!doc) return null;
        const job = parseJob(doc);
        if (job.cancelRequested) {
          await jobs.updateOne(owned(job._id, workerId), {
            $set: { status: 'cancelled', updatedAt: now, finishedAt: now },
            $unset: { leaseOwner: true, leaseExpiresAt: true, claimableAt: true },
          });
          continue;
        }
        if (job.attempts > job.maxAttempts) {
          // Its last worker stopped renewing the lease (crash, kill -9, hang) on the final attempt.
          await jobs.updateOne(owned(job._id, workerId), {
            $set: {
              status: 'failed',
              attempts: job.maxAttempts,
              lastError:
                job.lastError ??
                `lease expired on attempt ${job.maxAttempts} of ${job.maxAttempts} (worker stopped)`,
              updatedAt: now,
              finishedAt: now,
            },
            $unset: { leaseOwner: true, leaseExpiresAt: true, claimableAt: true },
          });
          continue;
        }
        return job;
      }
    },

    async heartbeat(jobId, workerId, leaseMs) {
      const now = clock.now();
      const doc = await jobs.findOneAndUpdate(owned(jobId, workerId), {
        $set: {
          leaseExpiresAt: new Date(now.getTime() + leaseMs),
          claimableAt: now.getTime() + leaseMs,
          updatedAt: now,
        },
      });
      if (!doc) return 'lost';
      return doc.cancelRequested ? 'cancel' : 'ok';
    },

    async setProgress(jobId, workerId, progress) {
      const res = await jobs.updateOne(owned(jobId, workerId), {
        $set: { progress, updatedAt: clock.now() },
      });
      return res.matched === 1;
    },

    async complete(jobId, workerId, result) {
      const now = clock.now();
      const res = await jobs.updateOne(owned(jobId, workerId), {
        $set: {
          status: 'succeeded',
          updatedAt: now,
          finishedAt: now,
          ...(result === undefined ? {} : { result }),
        },
        $unset: { leaseOwner: true, leaseExpiresAt: true, claimableAt: true },
      });
      return res.matched === 1;
    },

    async fail(jobId, workerId, error, opts = {}) {
      const now = clock.now();
      const current = await jobs.findOne(owned(jobId, workerId));
      if (!current) return 'lease-lost';
      const job = parseJob(current);
      const lastError = error.length > 2000 ? `${error.slice(0, 2000)}…` : error;
      const final =
        opts.retryable === false || job.attempts >= job.maxAttempts || job.cancelRequested === true;
      const delay = Math.min(backoffMaxMs, backoffBaseMs * 2 ** Math.max(0, job.attempts - 1));
      const res = await jobs.updateOne(owned(jobId, workerId), {
        $set: final
          ? {
              status: job.cancelRequested ? 'cancelled' : 'failed',
              lastError,
              updatedAt: now,
              finishedAt: now,
            }
          : {
              status: 'queued',
              lastError,
              runAt: new Date(now.getTime() + delay),
              claimableAt: now.getTime() + delay,
              updatedAt: now,
            },
        $unset: final
          ? { leaseOwner: true, leaseExpiresAt: true, claimableAt: true }
          : { leaseOwner: true, leaseExpiresAt: true },
      });
      if (res.matched !== 1) return 'lease-lost';
      return final ? 'failed' : 'retrying';
    },

    async release(jobId, workerId) {
      const now = clock.now();
      const res = await jobs.updateOne(owned(jobId, workerId), {
        $set: { status: 'queued', runAt: now, claimableAt: now.getTime(), updatedAt: now },
        $inc: { attempts: -1 },
        $unset: { leaseOwner: true, leaseExpiresAt: true },
      });
      return res.matched === 1;
    },

    async cancel(jobId) {
      const now = clock.now();
      const queued = await jobs.findOneAndUpdate(
        { _id: jobId, status: 'queued' },
        {
          $set: { status: 'cancelled', cancelRequested: true, updatedAt: now, finishedAt: now },
          $unset: { claimableAt: true },
        },
      );
      if (queued) return parseJob(queued);
      const running = await jobs.findOneAndUpdate(
        { _id: jobId, status: 'running' },
        { $set: { cancelRequested: true, updatedAt: now } },
      );
      if (running) return parseJob(running);
      const other = await jobs.findOne({ _id: jobId });
      if (!other)
        throw new ArbiterError('JOB_NOT_FOUND', `No job with id ${jobId}.`, {
          hint: 'List jobs with `arbiter jobs list`.',
        });
      return parseJob(other);
    },

    async markEffect(jobId, workerId, name, state) {
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(name))
        throw new ArbiterError('INTERNAL', `Invalid effect name "${name}": use letters, digits, - and _`);
      const field = `effects.${name}`;
      const res = await jobs.updateOne(
        owned(jobId, workerId),
        state
          ? { $set: { [field]: state, updatedAt: clock.now() } }
          : { $unset: { [field]: true }, $set: { updatedAt: clock.now() } },
      );
      return res.matched === 1;
    },

    async backlog(types) {
      const docs = await jobs.find({ claimableAt: { $gte: 0 }, type: { $in: [...types] } });
      const byGroup = new Map<string, number>();
      for (const d of docs) if (d.group) byGroup.set(d.group, (byGroup.get(d.group) ?? 0) + 1);
      return { total: docs.length, byGroup };
    },

    async get(jobId) {
      const doc = await jobs.findOne({ _id: jobId });
      return doc ? parseJob(doc) : null;
    },

    async list(filter = {}) {
      const q: Filter = {};
      if (filter.status) q.status = filter.status;
      if (filter.type) q.type = filter.type;
      const docs = await jobs.find(q, { sort: { createdAt: -1 }, limit: filter.limit ?? 50 });
      return docs.map(parseJob);
    },
  };
  return queue;
}
