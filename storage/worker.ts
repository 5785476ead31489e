import { hostname } from 'node:os';
import type { z } from 'zod';
import {
  type CodedError,
  createSilentLogger,
  createWakeableSleep,
  isArbiterError,
  type Logger,
  scrubSecrets,
  systemIds,
} from '../config/index.ts';
import type { Job, JobProgress, JobQueue } from './jobs.ts';

/** What a handler gets besides its payload. */
export interface JobContext {
  job: Job;
  /** Aborted when the job is cancelled, its lease is lost, or the process shuts down. */
  signal: AbortSignal;
  progress(progress: JobProgress): Promise<void>;
  /**
   * Runs a side effect outside the store (a reply posted to Slack) so that a job run again after a crash does not
   * repeat one that is known to have happened: 'started' is recorded on the job before `fn` runs and 'done' after;
   * an effect already done is skipped ('skipped'). When an earlier attempt got as far as 'started' but not 'done'
   * (the process died in between), nobody knows whether it happened: `fn` runs with `uncertain: true` and may look
   * (a post with a key can be found again) or do it again. A throwing `fn` clears the mark and rethrows.
   */
  once(name: string, fn: (state: { uncertain: boolean }) => Promise<void>): Promise<'done' | 'skipped'>;
  logger: Logger;
}

/** A registered handler for one job type; the payload is parsed with its schema first. */
export interface JobHandler<P = unknown> {
  payload?: z.ZodType<P>;
  run(payload: P, ctx: JobContext): Promise<unknown>;
}

/** Thrown by a handler for a failure that retrying cannot fix (bad input). */
export class PermanentJobError extends Error implements CodedError {
  override readonly name = 'PermanentJobError';
  readonly code = 'JOB_PERMANENT';
  readonly exitCode = 2;
  readonly hint: string | undefined;
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.hint = options.hint;
  }
}

/** Options of the worker loop. */
export interface WorkerOptions {
  queue: JobQueue;
  // biome-ignore lint/suspicious/noExplicitAny: handlers of different payload types live in one registry
  handlers: Record<string, JobHandler<any>>;
  concurrency: number;
  leaseMs: number;
  pollMs?: number;
  /** How often a running job checks whether a cancel was requested, ms (default 1000): cancel stops within it. */
  cancelCheckMs?: number;
  workerId?: string;
  logger?: Logger;
}

/** Worker state for /healthz and tests. */
export interface WorkerStats {
  workerId: string;
  running: number;
  succeeded: number;
  failed: number;
  /** Jobs that ended because a cancel was requested (never counted as failed). */
  cancelled: number;
  retried: number;
  released: number;
  stopping: boolean;
}

/** A loop that claims and runs jobs with a concurrency limit. */
export interface Worker {
  start(): void;
  /** Wakes the loop now (after an in-process enqueue) instead of at the next poll. */
  notify(): void;
  /** Stops claiming; waits up to `graceMs` for running jobs, then aborts and releases the rest. */
  stop(graceMs: number): Promise<void>;
  stats(): WorkerStats;
  /** Resolves when the loop finds no due job and none is running (tests, CLI one-shot runs). */
  idle(): Promise<void>;
}

type AbortReason = 'shutdown' | 'cancel' | 'lease-lost';

/** Creates the worker loop for the registered handlers. */
export function createWorker(options: WorkerOptions): Worker {
  const logger = options.logger ?? createSilentLogger();
  const workerId = options.workerId ?? `${hostname()}:${process.pid}:${systemIds.newId().slice(-8)}`;
  const pollMs = options.pollMs ?? 500;
  const types = Object.keys(options.handlers);
  const running = new Map<string, { promise: Promise<void>; abort: (why: AbortReason) => void }>();
  const stats = { succeeded: 0, failed: 0, cancelled: 0, retried: 0, released: 0 };
  const cancelCheckMs = options.cancelCheckMs ?? 1000;
  let started = false;
  let stopping = false;
  const { sleep, wake } = createWakeableSleep();
  let loopDone: Promise<void> = Promise.resolve();
  let lastClaimEmpty = false;
  const idleWaiters: (() => void)[] = [];

  function checkIdle() {
    if (lastClaimEmpty && running.size === 0) for (const r of idleWaiters.splice(0)) r();
  }

  async function runJob(job: Job): Promise<void> {
    const handler = options.handlers[job.type];
    const controller = new AbortController();
    let reason: AbortReason | undefined;
    const abort = (why: AbortReason) => {
      if (reason) return;
      reason = why;
      controller.abort(new Error(`job ${why}`));
    };
    const log = logger.child({ job: job._id, type: job.type, attempt: job.attempts });
    const heartbeat = setInterval(
      () => {
        options.queue
          .heartbeat(job._id, workerId, options.leaseMs)
          .then((state) => {
            if (state === 'lost') abort('lease-lost');
            if (state === 'cancel') abort('cancel');
          })
          .catch((err: unknown) => log.warn({ err }, 'lease renewal failed; will retry'));
      },
      Math.max(50, Math.floor(options.leaseMs / 3)),
    );
    // The lease is renewed every leaseMs/3 (tens of seconds by default); a cancel is looked for more often.
    const cancelCheck = setInterval(() => {
      options.queue
        .get(job._id)
        .then((current) => {
          if (current?.cancelRequested === true || current?.status === 'cancelled') abort('cancel');
        })
        .catch(() => {});
    }, cancelCheckMs);
    running.set(job._id, { promise: Promise.resolve(), abort });
    try {
      if (!handler) throw new PermanentJobError(`no handler registered for job type ${job.type}`);
      const parsed = handler.payload
        ? handler.payload.safeParse(job.payload)
        : { success: true as const, data: job.payload };
      if (!parsed.success)
        throw new PermanentJobError(`invalid payload for ${job.type}: ${parsed.error.issues[0]?.message}`);
      const effects: Record<string, 'started' | 'done'> = { ...job.effects };
      const ctx: JobContext = {
        job,
        signal: controller.signal,
        logger: log,
        progress: async (p) => {
          if (!(await options.queue.setProgress(job._id, workerId, p))) abort('lease-lost');
        },
        once: async (name, fn) => {
          const before = effects[name];
          if (before === 'done') return 'skipped';
          if (before !== 'started') {
            if (!(await options.queue.markEffect(job._id, workerId, name, 'started'))) {
              abort('lease-lost');
              throw new Error(`lease lost before effect ${name}`);
            }
            effects[name] = 'started';
          }
          try {
            await fn({ uncertain: before === 'started' });
          } catch (err) {
            delete effects[name];
            await options.queue.markEffect(job._id, workerId, name, undefined).catch(() => false);
            throw err;
          }
          effects[name] = 'done';
          await options.queue.markEffect(job._id, workerId, name, 'done');
          return 'done';
        },
      };
      const result = await handler.run(parsed.data, ctx);
      if (reason === 'lease-lost') {
        log.warn('finished after losing the lease; the result is dropped (another worker owns the job)');
        return;
      }
      if (await options.queue.complete(job._id, workerId, result)) stats.succeeded += 1;
    } catch (err) {
      // Stored on the job and logged: no known secret may ride along (an agent's echoed credentials).
      const message = scrubSecrets(err instanceof Error ? err.message : String(err));
      if (reason === 'shutdown') {
        if (await options.queue.release(job._id, workerId)) stats.released += 1;
        log.info('released at shutdown; another worker will pick it up');
        return;
      }
      if (reason === 'lease-lost') {
        log.warn('lease lost while running; another worker owns the job');
        return;
      }
      const permanent =
        err instanceof PermanentJobError ||
        reason === 'cancel' ||
        (isArbiterError(err) && err.exitCode === 2);
      const outcome = await options.queue.fail(
        job._id,
        workerId,
        reason === 'cancel' ? 'cancelled' : message,
        { retryable: !permanent },
      );
      if (reason === 'cancel') {
        if (outcome !== 'lease-lost') stats.cancelled += 1;
        log.info('cancelled');
        return;
      }
      if (outcome === 'retrying') stats.retried += 1;
      if (outcome === 'failed') stats.failed += 1;
      log[outcome === 'failed' ? 'error' : 'warn']({ err: message, outcome }, 'job failed');
    } finally {
      clearInterval(heartbeat);
      clearInterval(cancelCheck);
      running.delete(job._id);
      wake();
      checkIdle();
    }
  }

  async function loop() {
    // A worker without handlers claims nothing: claiming with no type filter would take every job.
    if (types.length === 0) {
      lastClaimEmpty = true;
      checkIdle();
    }
    while (!stopping) {
      if (types.length === 0) {
        await sleep(pollMs);
        continue;
      }
      if (running.size >= options.concurrency) {
        await sleep(pollMs);
        continue;
      }
      // One macrotask turn before each claim: a run of back-to-back claims and job starts (a burst of enqueued
      // chat commands) otherwise chains promise callbacks while requests wait unread on their sockets.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (stopping) break;
      let job: Job | null = null;
      try {
        job = await options.queue.claim(workerId, options.leaseMs, types);
      } catch (err) {
        logger.error({ err }, 'claiming a job failed (store unavailable?); retrying');
        await sleep(pollMs);
        continue;
      }
      if (!job) {
        lastClaimEmpty = true;
        checkIdle();
        await sleep(pollMs);
        continue;
      }
      lastClaimEmpty = false;
      // runJob registers the job in `running` synchronously, before its first await.
      const p = runJob(job).catch((err: unknown) => {
        // The store failed while recording the outcome: the lease will expire and the job is retried.
        logger.error(
          { err, job: job?._id },
          'could not record the job outcome; it will be retried after its lease expires',
        );
      });
      const entry = running.get(job._id);
      if (entry) entry.promise = p;
    }
  }

  return {
    start() {
      if (started) return;
      started = true;
      loopDone = loop();
    },
    notify() {
      lastClaimEmpty = false;
      wake();
    },
    async stop(graceMs) {
      stopping = true;
      wake();
      await loopDone;
      const inFlight = [...running.values()];
      if (inFlight.length === 0) return;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        Promise.all(inFlight.map((r) => r.promise)).then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), graceMs);
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        const left = [...running.entries()];
        for (const [, r] of left) r.abort('shutdown');
        // A handler that ignores its signal must not hold the process: release its job and move on.
        let t2: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.all(left.map(([, r]) => r.promise)),
          new Promise<void>((resolve) => {
            t2 = setTimeout(resolve, 2000);
          }),
        ]);
        clearTimeout(t2);
        for (const [id] of running) {
          if (await options.queue.release(id, workerId).catch(() => false)) stats.released += 1;
        }
      }
    },
    stats() {
      return { workerId, running: running.size, ...stats, stopping };
    },
    idle() {
      lastClaimEmpty = false;
      wake();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
  };
}
