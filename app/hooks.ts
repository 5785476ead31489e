// Cross-capability reactions, declared: what happens elsewhere when a run finishes, a run progresses or a job is
// enqueued in this process. Each hook is a list run in order; a reaction that fails is logged and never stops the
// others nor the job that fired it.
import type { Logger } from '../config/index.ts';

/** A named reaction to a finished run (the name is what the log says when it fails). */
export interface RunFinishedReaction {
  name: string;
  run(runId: string): Promise<void>;
}

/** The hooks of the composed app. */
export interface AppHooks {
  /** After every progress write of a run. Never awaited; a reaction must not block. */
  onRunProgress: Array<(runId: string) => void>;
  /** After a run's job ended, whatever the outcome (completed, failed, cancelled, thrown), in order. */
  onRunFinished: RunFinishedReaction[];
  /** After something in this process enqueued a job (the worker wakes up instead of waiting for its next poll). */
  onJobEnqueued: Array<() => void>;
}

/** The reactions a front door declares; the app adds its own after them. */
export type HookInputs = Partial<AppHooks>;

/** Runs the `onRunFinished` reactions in order; each failure is logged with the run id, never thrown. */
export async function runFinished(hooks: AppHooks, runId: string, logger: Logger): Promise<void> {
  for (const reaction of hooks.onRunFinished) {
    try {
      await reaction.run(runId);
    } catch (err) {
      logger.warn({ err, runId }, `${reaction.name} failed`);
    }
  }
}

/** Runs the `onRunProgress` reactions; a throwing one is logged. */
export function runProgressed(hooks: AppHooks, runId: string, logger: Logger): void {
  for (const reaction of hooks.onRunProgress) {
    try {
      reaction(runId);
    } catch (err) {
      logger.warn({ err, runId }, 'run progress reaction failed');
    }
  }
}

/** Runs the `onJobEnqueued` reactions. */
export function jobEnqueued(hooks: AppHooks, logger: Logger): void {
  for (const reaction of hooks.onJobEnqueued) {
    try {
      reaction();
    } catch (err) {
      logger.warn({ err }, 'job enqueued reaction failed');
    }
  }
}
