// Run services for tests and benchmarks: the real store, queue and engine with the offline provider and judge and
// silent logs, and a worker loop that drains a run.
import { createSilentLogger, systemClock, systemIds } from '../../config/index.ts';
import { createLlm } from '../../llm/index.ts';
import { createRunService, type RunService } from '../../runs/index.ts';
import type { RunServiceDeps } from '../../runs/service.ts';
import { createJobQueue, createWorker, type DocumentStore, type JobQueue } from '../../storage/index.ts';

/** A run service on `store` with offline defaults; `deps` adds or replaces any of its dependencies. */
export async function offlineRunService(
  store: DocumentStore,
  deps: Partial<Omit<RunServiceDeps, 'store' | 'queue'>> = {},
): Promise<{ queue: JobQueue; svc: RunService }> {
  const queue = await createJobQueue(store);
  const svc = await createRunService({
    store,
    queue,
    clock: systemClock,
    ids: systemIds,
    logger: createSilentLogger(),
    env: {},
    llm: createLlm({ env: {} }),
    judgeModel: 'offline:heuristic',
    ...deps,
  });
  return { queue, svc };
}

/** Runs a worker until the run is completed, failed or cancelled; throws with its progress after `timeoutMs`. */
export async function drainRun(
  queue: JobQueue,
  svc: RunService,
  runId: string,
  options: { concurrency?: number; timeoutMs?: number } = {},
): Promise<void> {
  const worker = createWorker({
    queue,
    handlers: svc.handlers,
    concurrency: options.concurrency ?? 1,
    leaseMs: 5000,
    pollMs: 10,
  });
  worker.start();
  try {
    const deadline = Date.now() + (options.timeoutMs ?? 20_000);
    for (;;) {
      const run = await svc.getRun(runId);
      if (run && ['completed', 'failed', 'cancelled'].includes(run.status)) break;
      if (Date.now() > deadline)
        throw new Error(`run ${runId} did not finish: ${JSON.stringify(run?.progress)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    await worker.stop(1000);
  }
}
