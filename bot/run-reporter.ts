// Keeps a run's parent message up to date in the channel where it was launched: one parent per run, progress edits
// at most every `intervalMs` (coalesced in the outbox: the latest state wins), then the summary and its thread
// replies. Every write is an outbox delivery with a key derived from the run, so finishing twice (a redelivered
// job, a restart after kill -9) enqueues nothing new, and nothing is lost: the run is marked reported only once
// the outbox recorded every part of the report as accepted by Slack. The reporter never waits for delivery,
// so a run's job gives its worker slot back as soon as its report is recorded.
import { type Logger, reportPaths, type ReportUrl } from '../config/index.ts';
import { runProgressMessage } from '../commands/index.ts';
import { type Message, openReportSection } from '../chat/index.ts';
import { renderRunSummary } from '../commands/index.ts';
import type { PostedRef } from '../chat/index.ts';
import type { RunService } from '../runs/index.ts';

/** How the reporter reads a run (the run service or the run repository). */
export type RunReader = Pick<RunService, 'getRun' | 'items'>;
import type { Collection, DocumentStore } from '../storage/index.ts';
import { DeliveryFailedError, type DeliveryDoc, type Outbox } from './outbox.ts';

/** Where a run's parent message was posted, and how far its report got. */
interface RunPostDoc {
  _id: string;
  channel: string;
  ts: string;
  /** Set only once Slack accepted every part of the report. */
  reported: boolean;
  /** How many deliveries the report is (set once all are recorded in the outbox). */
  reportParts?: number;
  /** Why a part of the report could not be delivered (the outbox told the requester or the admins). */
  reportError?: string;
  requester?: string;
  reportedAt?: Date;
  createdAt: Date;
}

/** Collection of run parent messages. */
export const RUN_POSTS_COLLECTION = 'chat_run_posts';

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/** Outbox keys of a run's messages. */
export const runDeliveryIds = {
  parent: (runId: string) => `run:${runId}:parent`,
  report: (runId: string) => `run:${runId}:report`,
  reply: (runId: string, i: number) => `run:${runId}:report:${i}`,
  group: (runId: string) => `run:${runId}:report`,
};

/** The run reporter. */
export interface RunReporter {
  /** Posts the parent of a run launched from chat (once per run; waits for it) and reports if the run already ended. */
  attach(
    runId: string,
    channel: string,
    message: Message,
    options?: { requester?: string },
  ): Promise<PostedRef>;
  /** Called on every progress write of a run; records an edit of the parent, rate-limited. Never throws. */
  progress(runId: string): void;
  /** Records the final report (an edit of the parent and its thread replies) once the run has ended. */
  finish(runId: string): Promise<void>;
  /** Reports the runs that ended while no report was recorded (a crash in between); called at start. */
  recover(): Promise<number>;
  /** Waits for pending edits and deliveries (tests, shutdown). */
  idle(): Promise<void>;
}

/** What the reporter needs. */
export interface RunReporterDeps {
  store: DocumentStore;
  outbox: Outbox;
  /** Reads the run it reports (the repository: the reporter is built before the run service it reacts to). */
  runs: RunReader;
  logger: Logger;
  /** Minimum time between progress edits of one run (default 3000 ms; chat.update is rate-limited). */
  intervalMs?: number;
  /** The signed URL of a report page (PUBLIC_URL set): the final report carries an *Open report* button. */
  reportUrl?: ReportUrl;
}

/** Creates the run reporter. */
export async function createRunReporter(deps: RunReporterDeps): Promise<RunReporter> {
  const posts: Collection<RunPostDoc> = await deps.store.collection<RunPostDoc>(RUN_POSTS_COLLECTION);
  const { outbox } = deps;
  const interval = deps.intervalMs ?? 3000;
  const lastEdit = new Map<string, number>();
  const pending = new Set<Promise<unknown>>();
  const finished = new Set<string>();
  const track = <T>(p: Promise<T>) => {
    pending.add(p);
    void p.finally(() => pending.delete(p)).catch(() => undefined);
    return p;
  };

  /** Marks the run reported once every part of its report was delivered; records the failure if one failed. */
  const settleReport = async (runId: string) => {
    const post = await posts.findOne({ _id: runId });
    if (!post || post.reported || post.reportParts === undefined) return;
    const state = await outbox.groupState(runDeliveryIds.group(runId));
    if (state.failed > 0 && !post.reportError) {
      const failed = (await outbox.get(runDeliveryIds.report(runId)))?.error?.code ?? 'a thread reply failed';
      await posts.updateOne({ _id: runId }, { $set: { reportError: failed } });
    }
    // Delivered parts plus an edit that overflowed into the thread (degraded): all the report's parts are there.
    if (state.delivered >= post.reportParts && state.pending + state.sending === 0 && state.failed === 0)
      await posts.updateOne(
        { _id: runId, reported: false },
        { $set: { reported: true, reportedAt: new Date() } },
      );
  };
  outbox.onSettled(async (doc: DeliveryDoc) => {
    const m = doc.group ? /^run:(.+):report$/.exec(doc.group) : null;
    if (m?.[1]) await settleReport(m[1]);
  });

  async function finish(runId: string): Promise<void> {
    const run = await deps.runs.getRun(runId);
    if (!run || !TERMINAL.has(run.status)) return;
    const post = await posts.findOne({ _id: runId });
    if (!post) return;
    finished.add(runId);
    if (post.reported) return;
    const summary = renderRunSummary(run, await deps.runs.items(runId));
    const { thread, ...summaryParent } = summary;
    const button = openReportSection(deps.reportUrl?.(reportPaths.run(runId)));
    const parent = { ...summaryParent, sections: [...summaryParent.sections, ...button] };
    const group = runDeliveryIds.group(runId);
    const requester = post.requester ? { requester: post.requester } : {};
    // The same keys every time: a second finish (or one after a crash midway) adds only what is missing.
    await outbox.enqueue({
      id: runDeliveryIds.report(runId),
      op: 'update',
      lane: 'bulk',
      channel: post.channel,
      ts: post.ts,
      message: parent,
      supersedeKey: runDeliveryIds.parent(runId),
      final: true,
      group,
      ...requester,
    });
    const replies = thread ?? [];
    for (const [i, reply] of replies.entries())
      await outbox.enqueue({
        id: runDeliveryIds.reply(runId, i),
        op: 'post',
        lane: 'bulk',
        channel: post.channel,
        threadTs: post.ts,
        message: reply,
        group,
        ...requester,
      });
    if (post.reportParts === undefined)
      await posts.updateOne({ _id: runId }, { $set: { reportParts: 1 + replies.length } });
    await settleReport(runId);
  }

  return {
    async attach(runId, channel, message, options = {}) {
      const existing = await posts.findOne({ _id: runId });
      if (existing) {
        await finish(runId);
        return { channel: existing.channel, ts: existing.ts };
      }
      // The answer to the user's command: the reply lane, waited for (the report needs its ts).
      const doc = await outbox.send({
        id: runDeliveryIds.parent(runId),
        op: 'post',
        lane: 'reply',
        channel,
        message,
        ...(options.requester ? { requester: options.requester } : {}),
      });
      if (doc.status !== 'delivered' || !doc.result)
        throw new DeliveryFailedError(doc.error?.code ?? doc.status, doc.error?.hint, doc._id);
      const ref = doc.result;
      try {
        await posts.insertOne({
          _id: runId,
          channel: ref.channel,
          ts: ref.ts,
          reported: false,
          ...(options.requester ? { requester: options.requester } : {}),
          createdAt: new Date(),
        });
      } catch (err) {
        deps.logger.warn({ err, runId }, 'run parent recorded twice');
      }
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
      void track(
        (async () => {
          const post = await posts.findOne({ _id: runId });
          if (!post || post.reported) return;
          const run = await deps.runs.getRun(runId);
          if (!run || TERMINAL.has(run.status)) return;
          // Coalesced: a pending edit of the parent takes this state; the final report beats it whenever it comes.
          await outbox.enqueue({
            op: 'update',
            lane: 'bulk',
            channel: post.channel,
            ts: post.ts,
            message: runProgressMessage(run),
            supersedeKey: runDeliveryIds.parent(runId),
            coalesce: true,
          });
        })().catch((err: unknown) => deps.logger.warn({ err, runId }, 'run progress edit not recorded')),
      );
    },
    finish,
    async recover() {
      const open = await posts.find({ reported: false });
      let n = 0;
      for (const p of open) {
        await finish(p._id).catch((err: unknown) =>
          deps.logger.warn({ err, runId: p._id }, 'run report could not be recorded'),
        );
        n += 1;
      }
      return n;
    },
    async idle() {
      while (pending.size > 0) await Promise.all([...pending]);
      await outbox.idle();
    },
  };
}
