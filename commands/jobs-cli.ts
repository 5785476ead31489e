import { cliActor, recordAudit } from '../audit/index.ts';
import { ArbiterError, createSilentLogger, type Env, parseFlags } from '../config/index.ts';
import { createRunRepository, RUN_JOB_TYPE } from '../runs/index.ts';
import { type Job, JobStatusSchema } from '../storage/index.ts';
import type { CliIo } from './registry.ts';
import type { CliServices } from './services.ts';

function line(job: Job): string {
  const progress = job.progress?.total ? ` ${job.progress.done ?? 0}/${job.progress.total}` : '';
  return `${job._id}  ${job.status.padEnd(9)}  ${job.type.padEnd(16)}  attempts ${job.attempts}/${job.maxAttempts}${progress}  ${job.createdAt.toISOString()}`;
}

/** `arbiter jobs list|show|cancel`: inspect the durable job queue. */
export async function runJobsCommand(
  argv: string[],
  env: Env,
  io: CliIo,
  services: CliServices,
): Promise<number> {
  const [sub, ...rest] = argv;
  const parsed = parseFlags(rest, {
    allowPositionals: true,
    options: {
      status: { type: 'string' },
      type: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  const positionals = parsed.positionals;
  const values = parsed.values as { status?: string; type?: string; limit?: string; json?: boolean };
  if (!sub || !['list', 'show', 'cancel'].includes(sub)) {
    throw new ArbiterError('USAGE', `Unknown jobs command "${sub ?? ''}".`, {
      hint: 'Usage: arbiter jobs list [--status S] [--type T] [--limit N] [--json] | show <id> [--json] | cancel <id>',
    });
  }
  const queue = await services.queue();
  if (sub === 'list') {
    const status = values.status === undefined ? undefined : JobStatusSchema.safeParse(values.status);
    if (status && !status.success) {
      throw new ArbiterError(
        'USAGE',
        `--status must be one of ${JobStatusSchema.options.join(', ')} (got "${values.status}")`,
      );
    }
    const limit = values.limit === undefined ? 50 : Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1)
      throw new ArbiterError('USAGE', `--limit must be a whole number ≥ 1 (got "${values.limit}")`);
    const jobs = await queue.list({
      ...(status?.success ? { status: status.data } : {}),
      ...(values.type ? { type: values.type } : {}),
      limit,
    });
    if (values.json) io.stdout(`${JSON.stringify(jobs, null, 2)}\n`);
    else io.stdout(jobs.length === 0 ? 'No jobs.\n' : `${jobs.map(line).join('\n')}\n`);
    return 0;
  }
  const id = positionals[0];
  if (!id)
    throw new ArbiterError('USAGE', `arbiter jobs ${sub} needs a job id.`, {
      hint: 'List ids with `arbiter jobs list`.',
    });
  if (sub === 'show') {
    const job = await queue.get(id);
    if (!job)
      throw new ArbiterError('NOT_FOUND', `No job with id ${id}.`, {
        hint: 'List ids with `arbiter jobs list`.',
      });
    io.stdout(
      values.json
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
