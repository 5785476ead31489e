// Keeps a run's parent message up to date in the channel where it was launched: one parent per run, progress edits
// at most every `intervalMs`, then the summary and its thread replies exactly once (even after redeliveries and
// job retries: the "reported" flag is claimed atomically in the store).
import type { Logger } from '../config/index.ts';
import { runProgressMessage } from '../commands/dispatch.ts';
import type { Message } from '../commands/message.ts';
import { renderRunSummary } from '../commands/runs.ts';
import type { PostedRef, Transport } from '../commands/transport.ts';
import type { RunService } from '../runs/index.ts';
import type { Collection, DocumentStore } from '../storage/index.ts';

/** Where a run's parent message was posted. */
interface RunPostDoc {
  _id: string;
  channel: string;
  ts: string;
  reported: boolean;
  createdAt: Date;
}

/** Collection of run parent messages. */
export const RUN_POSTS_COLLECTION = 'chat_run_posts';

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/** The run reporter. */
export interface RunReporter {
  /** Posts the parent of a run launched from chat (once per run) and reports at once if the run already ended. */
  attach(runId: string, channel: string, message: Message): Promise<PostedRef>;
  /** Called on every progress write of a run; edits the parent, rate-limited. Never throws. */
  progress(runId: string): void;
  /** Posts the final report once, when the run has ended. */
  finish(runId: string): Promise<void>;
  /** Waits for pending edits (tests, shutdown). */
  idle(): Promise<void>;
}

/** What the reporter needs. */
export interface RunReporterDeps {
  store: DocumentStore;
  transport: Transport;
  runs: () => RunService;
  logger: Logger;
  /** Minimum time between progress edits of one run (default 3000 ms; chat.update is rate-limited). */
  intervalMs?: number;
}

/** Creates the run reporter. */
export async function createRunReporter(deps: RunReporterDeps): Promise<RunReporter> {
  const posts: Collection<RunPostDoc> = await deps.store.collection<RunPostDoc>(RUN_POSTS_COLLECTION);
  const interval = deps.intervalMs ?? 3000;
  const refs = new Map<string, PostedRef | null>();
  const lastEdit = new Map<string, number>();
  const chains = new Map<string, Promise<void>>();
  const finished = new Set<string>();

  // Edits of one run are serialized so a slow progress edit never lands after the final report.
  const enqueue = (runId: string, fn: () => Promise<void>) => {
    const next = (chains.get(runId) ?? Promise.resolve()).then(fn).catch((err: unknown) => {
      deps.logger.warn({ err, runId }, 'run report to chat failed');
    });
    chains.set(runId, next);
    void next.then(() => {
      if (chains.get(runId) === next) chains.delete(runId);
    });
    return next;
  };

  const refOf = async (runId: string): Promise<PostedRef | null> => {
    if (refs.has(runId)) return refs.get(runId) ?? null;
    const doc = await posts.findOne({ _id: runId });
    const ref = doc ? { channel: doc.channel, ts: doc.ts } : null;
    refs.set(runId, ref);
    return ref;
  };

  async function finish(runId: string): Promise<void> {
    const run = await deps.runs().getRun(runId);
    if (!run || !TERMINAL.has(run.status)) return;
    await enqueue(runId, async () => {
      const claimed = await posts.findOneAndUpdate(
        { _id: runId, reported: false },
        { $set: { reported: true } },
      );
      if (!claimed) return;
      finished.add(runId);
      const ref = { channel: claimed.channel, ts: claimed.ts };
      const summary = renderRunSummary(run, await deps.runs().items(runId));
      const { thread, ...parent } = summary;
      await deps.transport.update(ref, parent);
      for (const reply of thread ?? [])
        await deps.transport.post({ channel: ref.channel, threadTs: ref.ts }, reply);
    });
  }

  return {
    async attach(runId, channel, message) {
      const existing = await posts.findOne({ _id: runId });
      if (existing) {
        await finish(runId);
        return { channel: existing.channel, ts: existing.ts };
      }
      const ref = await deps.transport.post({ channel }, message);
      try {
        await posts.insertOne({
          _id: runId,
          channel: ref.channel,
          ts: ref.ts,
          reported: false,
          createdAt: new Date(),
        });
      } catch (err) {
        deps.logger.warn({ err, runId }, 'run parent recorded twice');
      }
      refs.set(runId, ref);
      lastEdit.set(runId, Date.now());
      // A short run can end before its parent was recorded; its worker then found nothing to report on.
      await finish(runId);
      return ref;
    },
    progress(runId) {
      if (finished.has(runId)) return;
      const now = Date.now();
      if (now - (lastEdit.get(runId) ?? 0) < interval) return;
      lastEdit.set(runId, now);
      void enqueue(runId, async () => {
        if (finished.has(runId)) return;
        const ref = await refOf(runId);
        if (!ref) return;
        const run = await deps.runs().getRun(runId);
        if (!run || TERMINAL.has(run.status)) return;
        await deps.transport.update(ref, runProgressMessage(run));
      });
    },
    finish,
    async idle() {
      while (chains.size > 0) await Promise.all([...chains.values()]);
    },
  };
}
