// Posting a digest exactly once per (digest, period): a record in `digest_posts` checkpoints each step (parent
// message, each thread reply, the chart upload) and an expiring lease keeps two replicas from posting at once.
// A failed step (Slack down) is retried later from the last checkpoint; a replica that dies mid-post leaves its
// lease to expire and the next attempt resumes after the last step it recorded. Also the node-cron scheduler.
import { basename, join } from 'node:path';
import { createRequire } from 'node:module';
import type cronLib from 'node-cron';
import type { ScheduledTask } from 'node-cron';
import { type AuditActor, type AuditLog, recordAudit, SYSTEM_ACTOR } from '../audit/index.ts';
import { escapeMrkdwn, type Message, openReportSection } from '../chat/index.ts';
import type { QueuedWrite, Transport } from '../chat/index.ts';
import {
  type Clock,
  createSilentLogger,
  describeError,
  type Logger,
  scheduleTimezone,
  wakeExpression,
  reportPaths,
  type ReportUrl,
} from '../config/index.ts';
import { type Collection, DEFAULT_LEASE_TTL_MS, type DocumentStore, type Leases } from '../storage/index.ts';
import { type BuiltDigest, buildDigest, type DigestInputs } from './build.ts';
import { writeChartPng } from './chart.ts';
import { latestScheduled, type Period, periodBefore } from './period.ts';
import type { Digest } from './schema.ts';

/** node-cron loads when a schedule is first checked or started, not when `arbiter help` starts (test/startup.test.ts). */
function cron(): typeof cronLib {
  return createRequire(import.meta.url)('node-cron') as typeof cronLib;
}

/** The posting state of one digest period. */
export interface DigestPostDoc {
  _id: string;
  digest: string;
  periodKind: 'day' | 'week';
  periodKey: string;
  periodStart: Date;
  periodEnd: Date;
  channel: string;
  status: 'posting' | 'posted';
  /** Where the parent message went (set once it is posted). */
  parentChannel?: string;
  parentTs?: string;
  repliesPosted: number;
  chartDone: boolean;
  /** Why the chart was left out (Slack refused the upload for a reason no retry fixes); told once in the thread. */
  chartSkipped?: string;
  attempts: number;
  lastError?: string;
  lastOwner?: string;
  postedAt?: Date;
  updatedAt: Date;
}

/** Repository of digest posting states. */
export interface DigestPosts {
  get(id: string): Promise<DigestPostDoc | null>;
  save(
    id: string,
    fields: Partial<Omit<DigestPostDoc, '_id'>>,
    onInsert?: Partial<DigestPostDoc>,
  ): Promise<void>;
  /** Most recent posting states, newest first. */
  recent(limit?: number): Promise<DigestPostDoc[]>;
  /** When a scheduler first ran this digest (recorded on the first call, with `now`); shared by replicas. */
  firstSeen(name: string, now: Date): Promise<Date>;
}

/** Opens `digest_posts`. */
export async function createDigestPosts(store: DocumentStore): Promise<DigestPosts> {
  const posts: Collection<DigestPostDoc> = await store.collection<DigestPostDoc>('digest_posts', [
    { fields: { updatedAt: -1 } },
  ]);
  const seen = await store.collection<{ _id: string; firstSeenAt: Date }>('digest_state');
  return {
    get: (id) => posts.findOne({ _id: id }),
    async save(id, fields, onInsert = {}) {
      const unset = fields.lastError === undefined && 'lastError' in fields;
      const set = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
      await posts.updateOne(
        { _id: id },
        {
          $set: set,
          ...(Object.keys(onInsert).length ? { $setOnInsert: onInsert } : {}),
          ...(unset ? { $unset: { lastError: true as const } } : {}),
        },
        { upsert: true },
      );
    },
    recent: (limit = 20) => posts.find({}, { sort: { updatedAt: -1 }, limit }),
    async firstSeen(name, now) {
      await seen.updateOne({ _id: name }, { $setOnInsert: { firstSeenAt: now } }, { upsert: true });
      return (await seen.findOne({ _id: name }))?.firstSeenAt ?? now;
    },
  };
}

/** What posting digests needs; production and tests build it. */
export interface DigestDeps {
  inputs: DigestInputs;
  transport: Transport;
  posts: DigestPosts;
  leases: Leases;
  clock: Clock;
  /** This replica's name in leases. */
  owner: string;
  /** Charts are written to `<dataDir>/digests/<name>-<period start>.png`. */
  dataDir: string;
  logger?: Logger;
  /**
   * TTL of the lease on a period (default 30 s). A heartbeat renews it every third of that while the post runs, so
   * a replica that dies mid-post is replaced by the next wake-up after it lapses.
   */
  leaseMs?: number;
  /** The audit trail: each period's post is recorded there once, after it is marked posted. */
  audit?: Pick<AuditLog, 'record'>;
  /** The signed URL of a report page (PUBLIC_URL set): the digest carries an *Open report* button (the overview). */
  reportUrl?: ReportUrl;
}

/** How a post attempt ended. */
export type PostOutcome =
  | {
      status: 'posted';
      period: Period;
      channel: string;
      /** The parent's ts; absent when the transport's delivery loop (the outbox) posts it after this returns. */
      ts?: string;
      resumed: boolean;
      chartPath?: string;
    }
  | { status: 'already-posted'; period: Period; postedAt?: Date; channel?: string; ts?: string }
  | { status: 'busy'; period: Period }
  | { status: 'failed'; period: Period; error: string };

/** The key of one digest period: posting is unique on it. */
export const digestPostId = (name: string, period: Period) => `${name}|${period.kind}|${period.key}`;

/** The delivery key of one part of a digest period's post (the outbox posts each once). */
export const digestDeliveryKey = (postId: string, what: string) => `digest:${postId}|${what}`;

/** Where a digest's chart is written. */
export function chartPath(dataDir: string, name: string, period: Period, suffix = ''): string {
  const kind = period.kind === 'day' ? '' : `-${period.kind}`;
  return join(dataDir, 'digests', `${name}${kind}-${period.key}${suffix}.png`);
}

const errorText = (err: unknown) => describeError(err);

/** Slack answers to files.completeUploadExternal that mean "the bot is not a member of this channel". */
const UPLOAD_NEEDS_MEMBERSHIP = new Set(['not_in_channel', 'channel_not_found']);

/** The Slack error code of a failed call: the transport's `slackCode`, or the Web API client's `data.error`. */
function slackErrorCode(err: unknown): string | undefined {
  const e = err as { slackCode?: unknown; data?: { error?: unknown } } | undefined;
  const code = e?.slackCode ?? e?.data?.error;
  return typeof code === 'string' ? code : undefined;
}

/** The thread note of a digest whose chart Slack would not take, with the fix. */
export function chartSkippedMessage(code: string | undefined, file: string): Message {
  const answered = code ? `Slack answered \`${code}\` because` : 'Slack refused the upload because';
  const text = `The chart was not uploaded: ${answered} Arbiter is not a member of this channel (posting works without an invite, uploading files does not). Invite it with \`/invite @arbiter\` to get charts in the next digests. The chart was saved as ${basename(file)} on the bot's data folder.`;
  return {
    title: '',
    summary: 'Digest chart not uploaded: invite Arbiter to this channel',
    sections: [{ kind: 'text', text: escapeMrkdwn(text) }],
  };
}

/**
 * Posts the digest of `period` (default: the last complete period before now) unless it was already posted.
 * Exactly one replica proceeds per period; a failure leaves a checkpoint the next attempt resumes from.
 */
export async function postDigest(
  spec: Digest,
  deps: DigestDeps,
  options: { period?: Period; periodKind?: 'day' | 'week'; actor?: AuditActor } = {},
): Promise<PostOutcome> {
  const logger = deps.logger ?? createSilentLogger();
  const now = deps.clock.now();
  const period =
    options.period ?? periodBefore(options.periodKind ?? spec.period, now, scheduleTimezone(spec.schedule));
  const id = digestPostId(spec.name, period);
  const before = await deps.posts.get(id);
  if (before?.status === 'posted') return alreadyPosted(period, before);
  const leaseName = `digest:${id}`;
  // A post stuck in a Slack call that never returns gives the period up after MAX_POST_MS, as a crash would.
  const lease = await deps.leases.hold(leaseName, deps.owner, deps.leaseMs ?? DEFAULT_LEASE_TTL_MS, {
    maxHoldMs: MAX_POST_MS,
  });
  if (!lease) return { status: 'busy', period };
  try {
    // Read again under the lease: another replica may have finished between the first read and the claim.
    const doc = await deps.posts.get(id);
    if (doc?.status === 'posted') return alreadyPosted(period, doc);
    const resumed = doc?.parentTs !== undefined;
    await deps.posts.save(
      id,
      {
        status: 'posting',
        attempts: (doc?.attempts ?? 0) + 1,
        lastOwner: deps.owner,
        updatedAt: deps.clock.now(),
      },
      {
        digest: spec.name,
        periodKind: period.kind,
        periodKey: period.key,
        periodStart: period.start,
        periodEnd: period.end,
        channel: spec.channel,
        repliesPosted: 0,
        chartDone: false,
      },
    );
    const built = await buildDigest(deps.inputs, spec, now, { period });
    built.message.sections.push(...openReportSection(deps.reportUrl?.(reportPaths.overview())));
    // Before each step: a replica whose lease lapsed (a long pause, the store unreachable) must stop posting.
    const renew = () => lease.renew();
    const state = (await deps.posts.get(id))!;
    let parent =
      state.parentTs && state.parentChannel
        ? { channel: state.parentChannel, ts: state.parentTs }
        : undefined;
    const { thread = [], ...head } = built.message;
    if (deps.transport.enqueue) {
      // The bot's transport is the outbox: the whole digest (parent, replies, chart) is recorded as keyed writes and
      // this job ends; the outbox posts them paced, retried, once each (looked up by key after a crash). A chart the
      // bot may not upload (not a member) is replaced by the note saying how to fix it, in the same thread.
      const parentKey = digestDeliveryKey(id, 'parent');
      const writes: QueuedWrite[] = [
        { key: parentKey, op: 'post', channel: spec.channel, message: head as Message },
        ...thread.map((m, i) => ({
          key: digestDeliveryKey(id, `reply|${i}`),
          op: 'post' as const,
          channel: spec.channel,
          of: parentKey,
          message: m,
        })),
      ];
      const chartFile = built.chart
        ? await renderChartFile(built, spec, period, deps.dataDir, logger)
        : undefined;
      if (built.chart && chartFile)
        writes.push({
          key: digestDeliveryKey(id, 'chart'),
          op: 'upload',
          channel: spec.channel,
          of: parentKey,
          file: {
            path: chartFile,
            title: built.chart.title,
            altText: `Mean score per monitor over ${period.key} (${period.kind})`,
          },
          fallback: chartSkippedMessage(undefined, chartFile),
          fallbackOn: [...UPLOAD_NEEDS_MEMBERSHIP],
        });
      await deps.transport.enqueue(writes);
      const postedAt = deps.clock.now();
      await deps.posts.save(id, {
        status: 'posted',
        postedAt,
        updatedAt: postedAt,
        lastError: undefined,
        chartDone: true,
      });
      logger.info({ digest: spec.name, period: period.key }, 'digest recorded for delivery');
      return {
        status: 'posted',
        period,
        channel: spec.channel,
        resumed,
        ...(chartFile ? { chartPath: chartFile } : {}),
      };
    }
    // An earlier attempt may have had a step accepted by Slack and died (or timed out) before recording it: the
    // first unrecorded step is looked up by its key before it is posted again.
    let mayBePosted = (doc?.attempts ?? 0) > 0;
    const postStep = async (
      target: { channel: string; threadTs?: string },
      message: Message,
      key: string,
    ) => {
      // Without a lookup (or without the history scope: see Transport.findPosted) the step is posted again.
      const found = mayBePosted ? await deps.transport.findPosted?.(target, key, period.end) : undefined;
      mayBePosted = false;
      return found ?? deps.transport.post(target, message, { key });
    };
    if (!parent) {
      const ref = await postStep({ channel: spec.channel }, head as Message, `${id}|parent`);
      parent = { channel: ref.channel, ts: ref.ts };
      await deps.posts.save(id, {
        parentChannel: ref.channel,
        parentTs: ref.ts,
        updatedAt: deps.clock.now(),
      });
    }
    for (let i = state.repliesPosted; i < thread.length; i++) {
      await renew();
      await postStep({ channel: parent.channel, threadTs: parent.ts }, thread[i]!, `${id}|reply|${i}`);
      await deps.posts.save(id, { repliesPosted: i + 1, updatedAt: deps.clock.now() });
    }
    let chartFile: string | undefined;
    if (built.chart && !state.chartDone) {
      await renew();
      chartFile = await renderChartFile(built, spec, period, deps.dataDir, logger);
      const thread = { channel: parent.channel, threadTs: parent.ts };
      // The chart file's name is unique per digest and period, so an upload an earlier attempt finished is found
      // by it (the upload is the first unrecorded step when every reply was recorded).
      const uploaded =
        chartFile && mayBePosted && deps.transport.findUploaded
          ? await deps.transport.findUploaded(thread, basename(chartFile), period.end)
          : undefined;
      let skipped: string | undefined;
      if (chartFile && !uploaded) {
        try {
          await deps.transport.uploadFile(thread, {
            path: chartFile,
            title: built.chart.title,
            altText: `Mean score per monitor over ${period.key} (${period.kind})`,
          });
        } catch (err) {
          // Uploading needs the bot in the channel even where posting does not (chat:write.public covers messages,
          // not files): no retry fixes that, so the digest is finished without its chart and the thread says why.
          const code = slackErrorCode(err);
          if (!code || !UPLOAD_NEEDS_MEMBERSHIP.has(code)) throw err;
          skipped = code;
          logger.warn(
            { digest: spec.name, period: period.key, code },
            'digest chart not uploaded: bot not in channel',
          );
          const key = `${id}|chart-skipped`;
          const found =
            (doc?.attempts ?? 0) > 0 ? await deps.transport.findPosted?.(thread, key, period.end) : undefined;
          if (!found) await deps.transport.post(thread, chartSkippedMessage(code, chartFile), { key });
        }
      }
      await deps.posts.save(id, {
        chartDone: true,
        ...(skipped ? { chartSkipped: skipped } : {}),
        updatedAt: deps.clock.now(),
      });
    }
    const postedAt = deps.clock.now();
    await deps.posts.save(id, { status: 'posted', postedAt, updatedAt: postedAt, lastError: undefined });
    logger.info({ digest: spec.name, period: period.key, resumed }, 'digest posted');
    await recordAudit(
      deps.audit,
      {
        key: `digest.post:${id}`,
        actor: options.actor ?? SYSTEM_ACTOR,
        action: 'digest.post',
        object: { type: 'digest', id: spec.name },
        summary: `Posted the ${spec.name} digest for ${period.kind} ${period.key}`,
        details: { period: period.key, kind: period.kind, channel: parent.channel, resumed },
      },
      logger,
    );
    return {
      status: 'posted',
      period,
      channel: parent.channel,
      ts: parent.ts,
      resumed,
      ...(chartFile ? { chartPath: chartFile } : {}),
    };
  } catch (err) {
    const error = errorText(err);
    logger.warn({ digest: spec.name, period: period.key, err }, 'digest post failed; it is retried later');
    await deps.posts.save(id, { lastError: error, updatedAt: deps.clock.now() }).catch(() => {});
    return { status: 'failed', period, error };
  } finally {
    await lease.release();
  }
}

function alreadyPosted(period: Period, doc: DigestPostDoc): PostOutcome {
  return {
    status: 'already-posted',
    period,
    ...(doc.postedAt ? { postedAt: doc.postedAt } : {}),
    ...(doc.parentChannel ? { channel: doc.parentChannel } : {}),
    ...(doc.parentTs ? { ts: doc.parentTs } : {}),
  };
}

/** Renders the chart of a built digest to its file; a rendering problem skips the chart, never the digest. */
export async function renderChartFile(
  built: BuiltDigest,
  spec: Digest,
  period: Period,
  dataDir: string,
  logger: Logger,
  suffix = '',
): Promise<string | undefined> {
  if (!built.chart) return undefined;
  try {
    return await writeChartPng(built.chart, chartPath(dataDir, spec.name, period, suffix));
  } catch (err) {
    logger.warn({ digest: spec.name, err }, 'digest chart could not be rendered; posting without it');
    return undefined;
  }
}

/** Builds a digest without posting anything (previews, `--dry-run`); optionally writes its chart. */
export async function previewDigest(
  spec: Digest,
  deps: Pick<DigestDeps, 'inputs' | 'clock' | 'dataDir' | 'logger'>,
  options: { periodKind?: 'day' | 'week'; renderChart?: boolean } = {},
): Promise<BuiltDigest & { chartPath?: string }> {
  const now = deps.clock.now();
  const built = await buildDigest(deps.inputs, spec, now, {
    preview: true,
    ...(options.periodKind ? { periodKind: options.periodKind } : {}),
  });
  if (!options.renderChart || !built.chart) return built;
  const path = await renderChartFile(
    built,
    spec,
    built.data.period,
    deps.dataDir,
    deps.logger ?? createSilentLogger(),
    '-preview',
  );
  return path ? { ...built, chartPath: path } : built;
}

/** The longest a replica keeps renewing its lease on one post attempt. */
export const MAX_POST_MS = 10 * 60_000;

/** How long after a failed post attempt the next one is made (a crashed attempt is resumed sooner). */
export const FAILED_RETRY_MS = 5 * 60_000;

/** How often the scheduler looks for due, failed or abandoned posts (node-cron, with seconds). */
export const DIGEST_RETRY_CRON = '*/20 * * * * *';

/**
 * The due period of a digest at `now`: the period before its latest scheduled time, if that is not posted yet.
 * A wake-up after downtime or after a failed post finds the same period and posts (or resumes) it.
 */
export async function runDueDigest(
  spec: Digest,
  deps: DigestDeps,
  options: { notBefore?: Date; failedRetryMs?: number } = {},
): Promise<PostOutcome | { status: 'not-due' }> {
  const scheduled = latestScheduled(spec.schedule, deps.clock.now());
  if (!scheduled) return { status: 'not-due' };
  if (options.notBefore && scheduled < options.notBefore) return { status: 'not-due' };
  const period = periodBefore(spec.period, scheduled, scheduleTimezone(spec.schedule));
  const doc = await deps.posts.get(digestPostId(spec.name, period));
  if (doc?.status === 'posted') return { status: 'not-due' };
  // A post that failed (Slack down) waits FAILED_RETRY_MS before the next try; one whose replica died mid-post
  // recorded no error and resumes as soon as its lease lapses.
  if (
    doc?.lastError !== undefined &&
    deps.clock.now().getTime() - doc.updatedAt.getTime() < (options.failedRetryMs ?? FAILED_RETRY_MS)
  )
    return { status: 'not-due' };
  return postDigest(spec, deps, { period });
}

/** Running digest schedules. */
export interface DigestScheduler {
  /** Checks every digest now (start-up catch-up, retries); resolves when done. */
  checkAll(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts one node-cron task per digest (its cron, in its timezone) and a retry task (every `retryCron`, default
 * every 20 seconds) that posts any due period not yet posted: one whose replica died mid-post (resumed once its
 * 30 s lease lapses, so within about a minute), one that failed because Slack was down (after FAILED_RETRY_MS), or
 * one missed while no replica ran. Wake-ups of a digest never overlap in one process; the lease covers replicas.
 */
export function startDigests(
  specs: readonly Digest[],
  deps: DigestDeps,
  options: {
    retryCron?: string;
    catchUp?: boolean;
    onPost?: (name: string, outcome: PostOutcome | { status: 'not-due' }) => void;
  } = {},
): DigestScheduler {
  const running = new Map<string, Promise<void>>();
  const wake = (spec: Digest): Promise<void> => {
    const inFlight = running.get(spec.name);
    if (inFlight) return inFlight;
    // A digest posts from its first scheduled time after a scheduler first saw it: a fresh install (or a newly
    // added digest) does not post a digest of the day before it existed; a replica that was down catches up.
    const p = deps.posts
      .firstSeen(spec.name, deps.clock.now())
      .then((notBefore) => runDueDigest(spec, deps, { notBefore }))
      .then((outcome) => options.onPost?.(spec.name, outcome))
      .catch((err) => deps.logger?.error({ digest: spec.name, err }, 'digest wake-up failed'))
      .finally(() => running.delete(spec.name));
    running.set(spec.name, p);
    return p;
  };
  const checkAll = async () => {
    await Promise.all(specs.map(wake));
  };
  const tasks: ScheduledTask[] = specs.map((spec) => {
    const { expr, timezone } = wakeExpression(spec.schedule);
    return cron().schedule(expr, () => void wake(spec), {
      timezone,
      name: `digest:${spec.name}`,
      noOverlap: true,
    });
  });
  if (specs.length > 0)
    tasks.push(
      cron().schedule(options.retryCron ?? DIGEST_RETRY_CRON, () => void checkAll(), {
        name: 'digest:retry',
        noOverlap: true,
      }),
    );
  if (options.catchUp !== false) void checkAll();
  return {
    checkAll,
    async stop() {
      for (const t of tasks) await t.destroy();
      await Promise.all([...running.values()]);
    },
  };
}
