import { cliActor, recordAudit } from '../audit/index.ts';
import { ArbiterError, createSilentLogger, type Env } from '../config/index.ts';
import { createRunRepository, RUN_JOB_TYPE } from '../runs/index.ts';
import type { Job, JobStatus } from '../storage/index.ts';
import type { CliIo } from './registry.ts';
import type { CliServices } from './services.ts';

function line(job: Job): string {
  const progress = job.progress?.total ? ` ${job.progress.done ?? 0}/${job.progress.total}` : '';
  return `${job._id}  ${job.status.padEnd(9)}  ${job.type.padEnd(16)}  attempts ${job.attempts}/${job.maxAttempts}${progress}  ${job.createdAt.toISOString()}`;
}

/**
 * One `arbiter jobs …` command with its arguments, as the command registry (commands/table.ts) parsed and validated
 * them: this file reads no argv.
 */
export type JobsCliCommand =
  | {
      name: 'jobs.list';
      status?: JobStatus | undefined;
      type?: string | undefined;
      limit?: number | undefined;
      json?: boolean | undefined;
    }
  | { name: 'jobs.show'; id: string; json?: boolean | undefined }
  | { name: 'jobs.cancel'; id: string };

/** Jobs `jobs list` prints when --limit is not given. */
export const JOBS_LIST_DEFAULT = 50;

/** `arbiter jobs list|show|cancel`: inspect the durable job queue. */
export async function runJobsCommand(
  cmd: JobsCliCommand,
  env: Env,
  io: CliIo,
  services: CliServices,
): Promise<number> {
  const queue = await services.queue();
  if (cmd.name === 'jobs.list') {
    const jobs = await queue.list({
      ...(cmd.status ? { status: cmd.status } : {}),
      ...(cmd.type ? { type: cmd.type } : {}),
      limit: cmd.limit ?? JOBS_LIST_DEFAULT,
    });
    if (cmd.json) io.stdout(`${JSON.stringify(jobs, null, 2)}\n`);
    else io.stdout(jobs.length === 0 ? 'No jobs.\n' : `${jobs.map(line).join('\n')}\n`);
    return 0;
  }
  const { id } = cmd;
  if (cmd.name === 'jobs.show') {
    const job = await queue.get(id);
    if (!job)
      throw new ArbiterError('NOT_FOUND', `No job with id ${id}.`, {
        hint: 'List ids with `arbiter jobs list`.',
      });
    io.stdout(
      cmd.json
        ? `${JSON.stringify(job, null, 2)}\n`
        : `${line(job)}\n${job.lastError ? `last error: ${job.lastError}\n` : ''}${job.progress?.message ? `progress: ${job.progress.message}\n` : ''}`,
    );
    return 0;
  }
  const before = await queue.get(id);
  const job = await queue.cancel(id);
  // A run's job cancelled before a worker took it: no worker will ever mark the run, so it is marked here (a
  // running one is marked cancelled by its worker when it stops).
  const runId = (job.payload as { runId?: unknown } | undefined)?.runId;
  if (job.type === RUN_JOB_TYPE && job.status === 'cancelled' && typeof runId === 'string') {
    const now = new Date();
    await (await createRunRepository(await services.store())).updateRun(
      runId,
      { $set: { status: 'cancelled', finishedAt: now, updatedAt: now } },
      { jobId: id, status: { $in: ['queued', 'running'] } },
    );
  }
  if (before && before.status !== job.status)
    await recordAudit(
      await services.audit(),
      {
        actor: cliActor(env),
        action: 'job.cancel',
        object: { type: 'job', id },
        summary: `Cancelled job ${id} (${job.type}, was ${before.status})`,
        details: { type: job.type, from: before.status, to: job.status },
      },
      createSilentLogger(),
    );
  io.stdout(
    job.status === 'cancelled'
      ? `Cancelled ${id}.\n`
      : job.status === 'running'
        ? `Asked ${id} to stop; it is cancelled when its worker notices.\n`
        : `${id} already ended (${job.status}).\n`,
  );
  return 0;
}
