// The outbox: every channel write (posts, thread replies, edits, ephemerals, file uploads) is a durable delivery in
// the store, performed by ONE delivery loop that holds no worker slot. The loop paces per channel and per method
// (Slack: ~1 message/s/channel after a short burst; chat.update is Tier 3, ~50/min workspace-wide), retries what
// Slack says is temporary (429 with Retry-After, `ratelimited` with HTTP 200, `internal_error`, `fatal_error`,
// network and 5xx errors) with back-off, and records a delivery as delivered only once the transport accepted it,
// with what it returned (the ts), so that dependants (thread replies, edits of a posted message) can use it.
//
// Lanes: a reply to a user's command or click ('reply') is always picked before bulk posting ('bulk': run reports,
// ballots, digests), and channels never wait for each other. Edits of one message are coalesced: a pending edit is
// replaced by a newer one (latest state wins) and a `final` edit (the run report) beats any progress edit.
//
// Exactly once, and where it is only at least once: the delivery is marked 'sending' before the call. A process
// that dies during the call leaves it 'sending'; the next loop (at start for the embedded store, which one process
// owns; after the lease for MongoDB) looks the post up by its key (Slack: message metadata in the channel or
// thread history, as digests do) and records it delivered instead of posting again. Where the transport cannot
// look up (ephemerals; history the bot may not read; no findPosted) it sends again: that window is one in-flight
// delivery per channel at the moment of the crash. Edits are idempotent by nature.
//
// Jobs that post in bulk (review ballots and reveals, monitor reports, digests, prompt alerts) record their writes
// through Transport.enqueue (chat/deliverLater): keyed deliveries, a thread's replies tied to their parent by its key
// (`parent`), and the job ends without waiting for Slack. A write may carry a fallback posted in its place when it
// fails for good with given codes (a digest chart the bot may not upload: the note saying how to fix it).
//
// Failures that retrying cannot fix (invalid_blocks, msg_too_long, channel_not_found, not_in_channel,
// missing_scope, invalid_auth…) first degrade where that can help (a message Slack refuses is re-sent as plain
// text; an edit it refuses keeps a short parent and moves the content into the thread), then fail the delivery
// with the code and reason recorded and handed to `onFailed` (start.ts tells the requester or the admins, once).
import {
  type Clock,
  createWakeableSleep,
  type Ids,
  type Logger,
  systemClock,
  systemIds,
} from '../config/index.ts';
import type { Message } from '../chat/index.ts';
import type { PostedRef, Transport } from '../chat/index.ts';
import type { Collection, DocumentStore, Filter } from '../storage/index.ts';
import { type AdminNotifier, createMemoryAdminNotifier } from './admin-notices.ts';
import { SlackPostError } from './slack-transport.ts';

/** Collection of deliveries. */
export const OUTBOX_COLLECTION = 'outbox';

/** 'reply' answers a user (never queued behind bulk posting); 'bulk' is everything else. */
export type Lane = 'reply' | 'bulk';
const LANE_RANK: Record<Lane, number> = { reply: 0, bulk: 1 };

/** What a delivery does. */
export type DeliveryOp = 'post' | 'update' | 'ephemeral' | 'upload' | 'reply';

/** Where a user reply goes (op 'reply'): the user and where they typed; the response_url is kept apart (unset once settled). */
export interface ReplyTarget {
  user: string;
  channel?: string;
  threadTs?: string;
  issuedAt?: Date;
}

/** Sends one user reply by the first route that works (bot/slack-reply.ts); 'none' when none could reach the user. */
export type ReplySender = (
  to: ReplyTarget & { responseUrl?: string },
  message: Message,
) => Promise<'response_url' | 'ephemeral' | 'dm' | 'none'>;

/** Where a delivery stands. */
export type DeliveryStatus = 'pending' | 'sending' | 'delivered' | 'failed' | 'superseded';

/** One delivery as stored. */
export interface DeliveryDoc {
  /** The delivery's key: enqueueing the same key twice delivers once. Also the post's lookup key. */
  _id: string;
  op: DeliveryOp;
  lane: Lane;
  laneRank: number;
  /** Order of enqueueing (FIFO within a channel and lane). */
  seq: number;
  channel: string;
  /** post/upload into this thread; update this message. */
  threadTs?: string;
  ts?: string;
  /** The delivery whose ts is the thread (post/upload) or the message (update): waited for, then used. */
  parent?: string;
  user?: string;
  message?: Message;
  file?: { path: string; title: string; altText?: string };
  /** Edits of one message share it: only the newest pending one is sent; a final one wins over the others. */
  supersedeKey?: string;
  final?: boolean;
  /** A set of deliveries that completes something (a run's report); see Outbox.groupState. */
  group?: string;
  /** Who asked (told if the delivery fails); absent: admins are told. */
  requester?: string;
  /** A failure notice itself: never produces another notice. */
  notice?: boolean;
  /** Posted in this delivery's place (same channel and thread) when it fails for good with one of fallbackOn. */
  fallback?: Message;
  fallbackOn?: string[];
  status: DeliveryStatus;
  /** Epoch ms at which a pending delivery is due; absent otherwise (sparse index: the loop reads only these). */
  dueAt?: number;
  attempts: number;
  owner?: string;
  leaseUntil?: number;
  /** Set when an earlier attempt was 'sending' when its process stopped: look before sending again. */
  uncertain?: boolean;
  /** The message was refused as built and is sent in a simpler form. */
  degraded?: boolean;
  /** Parts of a message that goes out as several (overflow, thread replies) already accepted, in order. */
  parts?: PostedRef[];
  /** op 'reply': who it is for and where they typed. */
  replyTo?: ReplyTarget;
  /** op 'reply': the request's response_url (a credential: removed once the reply settles). */
  responseUrl?: string;
  /** op 'reply': the route that reached the user. */
  route?: string;
  result?: PostedRef;
  /** Why it failed; `admin`: only an admin can fix it (they are told whoever asked). */
  error?: { code: string; reason: string; hint?: string; admin?: boolean };
  lastError?: string;
  createdAt: Date;
  updatedAt: Date;
  settledAt?: Date;
}

/** What to deliver. */
export interface DeliveryInput {
  /** The idempotency key (default: a fresh id). */
  id?: string;
  op: DeliveryOp;
  lane?: Lane;
  channel: string;
  threadTs?: string;
  ts?: string;
  parent?: string;
  user?: string;
  message?: Message;
  file?: { path: string; title: string; altText?: string };
  supersedeKey?: string;
  final?: boolean;
  /** Replace the message of a pending, non-final delivery with the same supersedeKey instead of adding one. */
  coalesce?: boolean;
  group?: string;
  requester?: string;
  notice?: boolean;
  fallback?: Message;
  fallbackOn?: readonly string[];
  replyTo?: ReplyTarget;
  responseUrl?: string;
}

/** How the transport's error is to be treated. */
export interface ErrorVerdict {
  /** Slack's error code, or a short name of the failure. */
  code: string;
  retry: boolean;
  /** Wait at least this long before the next attempt (Retry-After). */
  retryAfterMs?: number;
  /** The message was refused as built: a simpler form may pass. */
  refusedContent?: boolean;
  /** Only an admin can fix it (scopes, token, workspace settings): the admins are told, whoever asked. */
  admin?: boolean;
  /** What the user or admin can do about it. */
  hint?: string;
}

/** A token bucket's rate. */
export interface Pace {
  perSecond: number;
  burst: number;
}

/** Options of the outbox. */
export interface OutboxOptions {
  store: DocumentStore;
  /** The transport that really sends (Slack, the console, a recorder in tests). */
  transport: Transport;
  logger: Logger;
  clock?: Clock;
  ids?: Ids;
  /** Classifies a transport error (default: everything is retried, a bounded number of times). */
  classify?: (err: unknown) => ErrorVerdict;
  /** Pace of channel writes per channel (default: none). */
  perChannel?: Pace;
  /** Pace per operation, workspace-wide (Slack: chat.update is Tier 3). */
  perOp?: Partial<Record<DeliveryOp, Pace>>;
  /** Deliveries in flight at once across channels (default 8); always at most one per channel. */
  concurrency?: number;
  /** Attempts before a retryable failure is given up (default 10). */
  maxAttempts?: number;
  /** First retry delay (default 1000 ms), doubled per attempt up to maxBackoffMs (default 5 min). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** How long a 'sending' delivery is another process's (default 60 s). */
  leaseMs?: number;
  /** Every 'sending' delivery at start is from a dead process (the embedded store has one owner). */
  recoverAllAtStart?: boolean;
  /** Tests: called at each step; returning true freezes the loop there forever, as a kill -9 would. */
  crashAt?: (step: 'claimed' | 'part' | 'sent' | 'recorded', doc: DeliveryDoc) => boolean;
  owner?: string;
}

/** The delivery loop and its queue. */
export interface Outbox {
  /** Records a delivery (idempotent on `id`); the loop sends it. */
  enqueue(input: DeliveryInput): Promise<{ id: string; created: boolean }>;
  /** Waits until the delivery is delivered, failed or superseded. */
  settled(id: string): Promise<DeliveryDoc>;
  /** enqueue, then settled. */
  send(input: DeliveryInput): Promise<DeliveryDoc>;
  get(id: string): Promise<DeliveryDoc | null>;
  /** Deliveries of a group by status. */
  groupState(group: string): Promise<Record<DeliveryStatus, number> & { total: number }>;
  /**
   * Called after each delivery settles (delivered, failed or superseded); `awaited` says whether a caller in this
   * process was waiting for it (and so was told of a failure itself).
   */
  onSettled(listener: (doc: DeliveryDoc, awaited: boolean) => void | Promise<void>): void;
  start(): void;
  /** Wakes the loop now. */
  notify(): void;
  /** Sets how 'reply' deliveries are sent (the reply path's routes); without it they fail. */
  useReplies(sender: ReplySender): void;
  /** Stops taking deliveries; waits for those in flight. */
  stop(): Promise<void>;
  /** Resolves when nothing is pending or in flight. */
  idle(): Promise<void>;
  stats(): { delivered: number; failed: number; retried: number; inFlight: number };
}

/** A delivery that did not reach its channel: Slack's code and what to do about it. */
export class DeliveryFailedError extends SlackPostError {
  constructor(
    code: string,
    hint: string | undefined,
    readonly delivery: string,
  ) {
    super(code, hint);
    this.message = `delivery ${delivery} failed: ${code}`;
  }
}

/** Token buckets keyed by name, non-blocking: take() returns 0 when a token was taken, else the ms to wait. */
export function createBuckets(pace: Pace, clock: Pick<Clock, 'nowMs'>) {
  const now = () => clock.nowMs();
  const rate = pace.perSecond / 1000;
  const buckets = new Map<string, { tokens: number; at: number; pausedUntil: number }>();
  const get = (key: string) => {
    let b = buckets.get(key);
    if (!b) {
      b = { tokens: pace.burst, at: now(), pausedUntil: 0 };
      buckets.set(key, b);
    }
    const t = now();
    b.tokens = Math.min(pace.burst, b.tokens + (t - b.at) * rate);
    b.at = t;
    return b;
  };
  return {
    /** Ms until a token is there (0: there is one now; nothing is taken). */
    wait(key: string): number {
      const b = get(key);
      const paused = Math.max(0, b.pausedUntil - now());
      return Math.max(paused, b.tokens >= 1 ? 0 : Math.ceil((1 - b.tokens) / rate));
    },
    take(key: string): void {
      get(key).tokens -= 1;
    },
    /** Slack said to wait (Retry-After): nothing more for this key before then. */
    pause(key: string, ms: number): void {
      const b = get(key);
      b.pausedUntil = Math.max(b.pausedUntil, now() + ms);
      b.tokens = Math.min(b.tokens, 0);
    },
  };
}

const TERMINAL = new Set<DeliveryStatus>(['delivered', 'failed', 'superseded']);

/** A message refused as built, as plain text in a code section (which the renderer splits without loss). */
export function plainMessage(message: Message): Message {
  const lines: string[] = [];
  for (const s of message.sections) {
    if (s.kind === 'text' || s.kind === 'code') lines.push(s.text);
    else if (s.kind === 'fields') for (const f of s.fields) lines.push(`${f.label}: ${f.value}`);
    else if (s.kind === 'context') lines.push(...s.items);
    else if (s.kind === 'image') lines.push(`[image: ${s.alt}]`);
  }
  return {
    title: message.title,
    ...(message.summary ? { summary: message.summary } : {}),
    sections: lines.length ? [{ kind: 'code', text: lines.join('\n') }] : [],
    ...(message.ephemeral ? { ephemeral: true } : {}),
  };
}

/** Creates the outbox over its collection (indexes ensured). Call start() to run the loop. */
export async function createOutbox(options: OutboxOptions): Promise<Outbox> {
  const col: Collection<DeliveryDoc> = await options.store.collection<DeliveryDoc>(OUTBOX_COLLECTION, [
    { fields: { dueAt: 1 }, sparse: true },
    { fields: { status: 1, leaseUntil: 1 } },
    { fields: { supersedeKey: 1 }, sparse: true },
    { fields: { group: 1 }, sparse: true },
    // The last sequence number at start, without sorting every delivery.
    { fields: { seq: 1 } },
  ]);
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? systemIds;
  const logger = options.logger;
  const transport = options.transport;
  const classify: (err: unknown) => ErrorVerdict =
    options.classify ?? ((err: unknown) => ({ code: errorName(err), retry: true }));
  const concurrency = options.concurrency ?? 8;
  const maxAttempts = options.maxAttempts ?? 10;
  const backoffMs = options.backoffMs ?? 1000;
  const maxBackoffMs = options.maxBackoffMs ?? 5 * 60_000;
  const leaseMs = options.leaseMs ?? 60_000;
  const owner = options.owner ?? ids.newId('outbox');
  const nowMs = () => clock.now().getTime();
  const channelBuckets = options.perChannel ? createBuckets(options.perChannel, { nowMs }) : undefined;
  const opBuckets = new Map(
    Object.entries(options.perOp ?? {}).map(([op, pace]) => [op, createBuckets(pace as Pace, { nowMs })]),
  );
  const listeners: ((doc: DeliveryDoc, awaited: boolean) => void | Promise<void>)[] = [];
  const waiters = new Map<string, ((doc: DeliveryDoc) => void)[]>();
  const inFlight = new Map<string, Promise<void>>(); // by channel
  const stats = { delivered: 0, failed: 0, retried: 0 };
  const idleWaiters: (() => void)[] = [];
  let seq = 0;
  let started = false;
  let stopping = false;
  const sleeper = createWakeableSleep();
  // A wake that comes while a pass runs (a reply enqueued meanwhile) is remembered: the loop then goes round at
  // once instead of sleeping until its timer, so an answer never waits for the next tick.
  let woken = false;
  const wake = () => {
    woken = true;
    sleeper.wake();
  };
  let loopDone: Promise<void> = Promise.resolve();
  let frozen = false;
  let lastPassEmpty = false;
  let replySender: ReplySender | undefined;

  // The sequence continues after the highest stored one, so FIFO holds across restarts.
  const last = await col.find({}, { sort: { seq: -1 }, limit: 1 });
  seq = last[0]?.seq ?? 0;

  const settle = async (doc: DeliveryDoc) => {
    const awaited = (waiters.get(doc._id) ?? []).length > 0;
    for (const w of waiters.get(doc._id) ?? []) w(doc);
    waiters.delete(doc._id);
    for (const l of listeners)
      await Promise.resolve()
        .then(() => l(doc, awaited))
        .catch((err: unknown) => logger.warn({ err, delivery: doc._id }, 'outbox listener failed'));
  };

  const enqueue = async (input: DeliveryInput): Promise<{ id: string; created: boolean }> => {
    const now = clock.now();
    if (input.coalesce && input.supersedeKey && input.message) {
      const replaced = await col.findOneAndUpdate(
        { supersedeKey: input.supersedeKey, status: 'pending', final: { $ne: true } },
        { $set: { message: input.message, updatedAt: now } },
      );
      if (replaced) return { id: replaced._id, created: false };
    }
    const lane = input.lane ?? 'bulk';
    seq += 1;
    const doc: DeliveryDoc = {
      _id: input.id ?? ids.newId('dlv'),
      op: input.op,
      lane,
      laneRank: LANE_RANK[lane],
      seq,
      channel: input.channel,
      ...(input.threadTs ? { threadTs: input.threadTs } : {}),
      ...(input.ts ? { ts: input.ts } : {}),
      ...(input.parent ? { parent: input.parent } : {}),
      ...(input.user ? { user: input.user } : {}),
      ...(input.message ? { message: input.message } : {}),
      ...(input.file ? { file: input.file } : {}),
      ...(input.supersedeKey ? { supersedeKey: input.supersedeKey } : {}),
      ...(input.final ? { final: true } : {}),
      ...(input.group ? { group: input.group } : {}),
      ...(input.requester ? { requester: input.requester } : {}),
      ...(input.notice ? { notice: true } : {}),
      ...(input.fallback ? { fallback: input.fallback, fallbackOn: [...(input.fallbackOn ?? [])] } : {}),
      ...(input.replyTo ? { replyTo: input.replyTo } : {}),
      ...(input.responseUrl ? { responseUrl: input.responseUrl } : {}),
      status: 'pending',
      dueAt: now.getTime(),
      attempts: 0,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await col.insertOne(doc);
    } catch (err) {
      if ((err as { code?: string }).code === 'STORE_DUPLICATE_KEY') return { id: doc._id, created: false };
      throw err;
    }
    wake();
    return { id: doc._id, created: true };
  };

  const settled = async (id: string): Promise<DeliveryDoc> => {
    for (;;) {
      const doc = await col.findOne({ _id: id });
      if (!doc) throw new Error(`no delivery ${id}`);
      if (TERMINAL.has(doc.status)) return doc;
      // Woken by this loop when it settles it; the periodic look covers another replica's loop.
      const got = await new Promise<DeliveryDoc | undefined>((resolve) => {
        const list = waiters.get(id) ?? [];
        const timer = setTimeout(() => {
          const l = waiters.get(id);
          if (l)
            waiters.set(
              id,
              l.filter((f) => f !== done),
            );
          resolve(undefined);
        }, 5000);
        const done = (d: DeliveryDoc) => {
          clearTimeout(timer);
          resolve(d);
        };
        list.push(done);
        waiters.set(id, list);
      });
      if (got) return got;
    }
  };

  /** Records the outcome of an attempt on a delivery this loop owns; false when it no longer owns it. */
  const record = async (doc: DeliveryDoc, set: Partial<DeliveryDoc>, unset: string[] = []) => {
    if (frozen) return freeze();
    const updated = await col.findOneAndUpdate(
      { _id: doc._id, status: 'sending', owner },
      {
        $set: { ...set, updatedAt: clock.now() },
        $unset: Object.fromEntries(['owner', 'leaseUntil', ...unset].map((k) => [k, true as const])),
      },
    );
    return updated;
  };

  const delivered = async (doc: DeliveryDoc, ref: PostedRef, route?: string) => {
    if (options.crashAt?.('sent', doc)) return freeze();
    const after = await record(
      doc,
      { status: 'delivered', result: ref, settledAt: clock.now(), ...(route ? { route } : {}) },
      ['uncertain', 'lastError', 'responseUrl'],
    );
    if (options.crashAt?.('recorded', doc)) return freeze();
    stats.delivered += 1;
    if (after) await settle(after);
  };

  const fail = async (doc: DeliveryDoc, code: string, reason: string, hint?: string, admin?: boolean) => {
    const after = await record(
      doc,
      {
        status: 'failed',
        error: { code, reason, ...(hint ? { hint } : {}), ...(admin ? { admin: true } : {}) },
        settledAt: clock.now(),
      },
      ['responseUrl'],
    );
    stats.failed += 1;
    logger.warn({ delivery: doc._id, channel: doc.channel, op: doc.op, code, reason }, 'delivery failed');
    if (after) await settle(after);
  };

  /** Never resolves: the test's stand-in for a process that died at this step. */
  const freeze = () => {
    frozen = true;
    return new Promise<never>(() => {});
  };

  /** The ts a dependant needs from its parent: undefined while the parent is on its way; null if it never will be. */
  const parentTs = async (doc: DeliveryDoc): Promise<string | undefined | null> => {
    if (!doc.parent) return doc.op === 'update' ? (doc.ts ?? null) : (doc.threadTs ?? '');
    const p = await col.findOne({ _id: doc.parent });
    if (!p || p.status === 'failed' || p.status === 'superseded') return null;
    if (p.status !== 'delivered') return undefined;
    return p.result?.ts ?? null;
  };

  const attempt = async (doc: DeliveryDoc): Promise<void> => {
    const ref = await parentTs(doc);
    if (ref === null || ref === undefined) {
      // Only reached when the parent failed meanwhile (the pass checked it was there).
      await fail(doc, 'parent_failed', `the message it belongs to (${doc.parent}) was not delivered`);
      return;
    }
    const threadTs = doc.op === 'update' ? undefined : ref || undefined;
    const target = { channel: doc.channel, ...(threadTs ? { threadTs } : {}) };
    // The parts of the message (overflow, thread replies) posted so far: each recorded before the next is sent.
    const parts: PostedRef[] = [...(doc.parts ?? [])];
    const since = new Date(doc.createdAt.getTime() - 60_000);
    const onPart = async (i: number, partRef: PostedRef) => {
      parts[i] = partRef;
      if (options.crashAt?.('part', { ...doc, parts: [...parts] })) await freeze();
      await col.updateOne(
        { _id: doc._id, status: 'sending', owner },
        { $set: { parts: [...parts], updatedAt: clock.now() } },
      );
    };
    try {
      if (doc.uncertain && doc.op === 'post' && parts.length === 0 && transport.findPosted) {
        // The process that sent it died before recording its first part: look before sending it again.
        const found = await transport.findPosted(target, doc._id, since);
        if (found) {
          logger.info(
            { delivery: doc._id },
            'delivery in flight at a crash was found posted; not sent again',
          );
          await onPart(0, found);
        }
      }
      if (doc.uncertain && doc.op === 'upload' && doc.file) {
        const found = await transport.findUploaded?.(target, doc.file.path.split(/[\\/]/).pop() ?? '', since);
        if (found) {
          logger.info({ delivery: doc._id }, 'upload in flight at a crash was found; not sent again');
          await delivered(doc, found);
          return;
        }
      }
      if (frozen) return freeze();
      const message = doc.message ?? { title: '', sections: [] };
      // A later part may have been in flight at the crash: the transport looks it up by its key (`key#n`).
      const partOptions = {
        key: doc._id,
        resume: [...parts],
        onPart,
        ...(doc.uncertain && parts.length > 0 ? { uncertainSince: since } : {}),
      };
      let result: PostedRef;
      if (doc.op === 'post') result = await transport.post(target, message, partOptions);
      else if (doc.op === 'update') {
        result = { channel: doc.channel, ts: ref };
        await transport.update(result, message, partOptions);
      } else if (doc.op === 'reply') {
        if (!replySender) throw new Error('no reply path for a user reply');
        const route = await replySender(
          {
            ...(doc.replyTo ?? { user: doc.user ?? '' }),
            ...(doc.responseUrl ? { responseUrl: doc.responseUrl } : {}),
          },
          message,
        );
        if (route === 'none') {
          // The reply path tried every route (and retried Slack's transient errors); nothing can reach the user.
          await fail(doc, 'unreachable', 'no route reached the user (response_url, ephemeral, DM)');
          return;
        }
        await delivered(doc, { channel: doc.replyTo?.channel ?? doc.channel, ts: '' }, route);
        return;
      } else if (doc.op === 'ephemeral') {
        await transport.postEphemeral(
          { channel: doc.channel, user: doc.user ?? '', ...(threadTs ? { threadTs } : {}) },
          message,
        );
        result = { channel: doc.channel, ts: '' };
      } else {
        if (!doc.file) throw new Error('upload without a file');
        await transport.uploadFile(target, doc.file);
        result = { channel: doc.channel, ts: '' };
      }
      await delivered(doc, result);
    } catch (err) {
      if (frozen) return;
      await failedAttempt({ ...doc, ...(parts.length ? { parts } : {}) }, err, ref);
    }
  };

  const failedAttempt = async (doc: DeliveryDoc, err: unknown, ref: string) => {
    const v = classify(err);
    const now = nowMs();
    if (v.retryAfterMs !== undefined) {
      channelBuckets?.pause(doc.channel, v.retryAfterMs);
      opBuckets.get(doc.op)?.pause('*', v.retryAfterMs);
    }
    // A plain form renders into other parts: once some are posted, sending it would repeat them. The rest fails
    // (recorded, and told) rather than duplicating what the channel already shows.
    const partlyPosted = (doc.parts?.length ?? 0) > 0;
    if (v.refusedContent && !doc.degraded && doc.message && !partlyPosted) {
      // Slack refused the message as built (invalid_blocks, msg_too_long): send a form it takes.
      logger.warn({ delivery: doc._id, code: v.code }, 'message refused as built; sending it as plain text');
      if (doc.op === 'update') {
        // The parent keeps its title and says where the rest is; the content goes to its thread, as the marker says.
        const rest = await enqueue({
          id: `${doc._id}:overflow`,
          op: 'post',
          lane: doc.lane,
          channel: doc.channel,
          threadTs: ref,
          message: plainMessage(doc.message),
          ...(doc.group ? { group: doc.group } : {}),
          ...(doc.requester ? { requester: doc.requester } : {}),
        });
        void rest;
        const short: Message = {
          title: doc.message.title,
          ...(doc.message.summary ? { summary: doc.message.summary } : {}),
          sections: [{ kind: 'context', items: ['Full text in the thread.'] }],
        };
        await record(doc, {
          status: 'pending',
          dueAt: now,
          degraded: true,
          message: short,
          lastError: v.code,
        });
      } else
        await record(doc, {
          status: 'pending',
          dueAt: now,
          degraded: true,
          message: plainMessage(doc.message),
          lastError: v.code,
        });
      wake();
      return;
    }
    if (v.retry && doc.attempts < maxAttempts) {
      const delay = Math.max(
        v.retryAfterMs ?? 0,
        Math.min(maxBackoffMs, backoffMs * 2 ** (doc.attempts - 1)),
      );
      stats.retried += 1;
      logger.info(
        { delivery: doc._id, code: v.code, attempt: doc.attempts, delayMs: delay },
        'delivery will be retried',
      );
      await record(doc, { status: 'pending', dueAt: now + delay, lastError: v.code });
      return;
    }
    const reason = v.retry
      ? `gave up after ${doc.attempts} attempts (${v.code})`
      : `Slack refused it (${v.code})${v.hint ? `: ${v.hint}` : ''}`;
    if (!v.retry && doc.fallback && doc.fallbackOn?.includes(v.code))
      // What to say instead (a digest's chart the bot may not upload: how to fix it), where it would have gone.
      await enqueue({
        id: `${doc._id}:fallback`,
        op: 'post',
        lane: doc.lane,
        channel: doc.channel,
        ...(ref ? { threadTs: ref } : {}),
        message: doc.fallback,
        ...(doc.group ? { group: doc.group } : {}),
        ...(doc.requester ? { requester: doc.requester } : {}),
      });
    await fail(doc, v.code, reason, v.hint, v.admin);
  };

  /** Deliveries 'sending' whose process is gone become pending again, marked uncertain (look before sending). */
  const recover = async (all: boolean) => {
    const now = nowMs();
    const filter: Filter = all
      ? { status: 'sending', owner: { $ne: owner } }
      : { status: 'sending', leaseUntil: { $lt: now } };
    const stuck = await col.find(filter);
    for (const d of stuck) {
      await col.updateOne(
        { _id: d._id, status: 'sending', ...(d.owner ? { owner: d.owner } : {}) },
        {
          $set: { status: 'pending', dueAt: now, uncertain: true, updatedAt: clock.now() },
          $unset: { owner: true, leaseUntil: true },
        },
      );
    }
    if (stuck.length)
      logger.warn({ count: stuck.length }, 'deliveries in flight at a crash: looking them up');
  };

  /** Whether the edit is stale (a newer or final edit of the same message exists); marks it superseded if so. */
  const superseded = async (doc: DeliveryDoc): Promise<boolean> => {
    if (!doc.supersedeKey) return false;
    const rivals = await col.find({
      supersedeKey: doc.supersedeKey,
      status: { $in: ['pending', 'sending', 'delivered'] },
      _id: { $ne: doc._id },
    });
    const beaten = rivals.some((r) =>
      doc.final ? false : r.final === true || (r.status !== 'delivered' && r.seq > doc.seq),
    );
    if (!beaten) return false;
    const after = await col.findOneAndUpdate(
      { _id: doc._id, status: 'pending' },
      {
        $set: { status: 'superseded', settledAt: clock.now(), updatedAt: clock.now() },
        $unset: { dueAt: true },
      },
    );
    if (after) await settle(after);
    return true;
  };

  /** One pass: start what is due, as lanes, channels and paces allow; returns ms until something may be due. */
  const pass = async (): Promise<number> => {
    const now = nowMs();
    let nextMs = 1000;
    const blocked = new Set<string>(inFlight.keys());
    let started = 0;
    let seen = 0;
    for (let round = 0; round < 3 && inFlight.size < concurrency; round++) {
      const due = await col.find(
        { dueAt: { $lte: now }, ...(blocked.size ? { channel: { $nin: [...blocked] } } : {}) },
        { sort: { laneRank: 1, seq: 1 }, limit: 200 },
      );
      seen += due.length;
      if (due.length === 0) break;
      for (const doc of due) {
        if (inFlight.size >= concurrency) break;
        if (blocked.has(doc.channel)) continue;
        if (await superseded(doc)) continue;
        if (doc.parent) {
          const ts = await parentTs(doc);
          if (ts === undefined) continue; // its parent is still on its way; others of the channel may go
          if (ts === null) {
            const claimed = await claim(doc);
            if (claimed) void attempt(claimed);
            continue;
          }
        }
        // FIFO within a channel: whatever comes after this one in the channel waits for it.
        blocked.add(doc.channel);
        // A user reply (response_url, or an ephemeral/DM by its own route) is not a channel post: no channel pace.
        const paced = doc.op !== 'reply';
        const wait = Math.max(
          paced ? (channelBuckets?.wait(doc.channel) ?? 0) : 0,
          opBuckets.get(doc.op)?.wait('*') ?? 0,
        );
        if (wait > 0) {
          nextMs = Math.min(nextMs, wait);
          continue;
        }
        const claimed = await claim(doc);
        if (!claimed) continue;
        if (options.crashAt?.('claimed', claimed)) {
          await freeze();
        }
        if (paced) channelBuckets?.take(doc.channel);
        opBuckets.get(doc.op)?.take('*');
        started += 1;
        const run = attempt(claimed)
          .catch((err: unknown) => logger.error({ err, delivery: doc._id }, 'outbox attempt failed'))
          .finally(() => {
            inFlight.delete(doc.channel);
            wake();
          });
        inFlight.set(doc.channel, run);
      }
      if (due.length < 200) break;
    }
    const future = await col.find({ dueAt: { $gt: now } }, { sort: { dueAt: 1 }, limit: 1 });
    if (future[0]?.dueAt !== undefined) nextMs = Math.min(nextMs, future[0].dueAt - now);
    lastPassEmpty = seen === 0 && started === 0;
    return Math.max(5, nextMs);
  };

  const claim = (doc: DeliveryDoc) =>
    col.findOneAndUpdate(
      { _id: doc._id, status: 'pending' },
      {
        $set: { status: 'sending', owner, leaseUntil: nowMs() + leaseMs, updatedAt: clock.now() },
        $unset: { dueAt: true },
        $inc: { attempts: 1 },
      },
    );

  const checkIdle = async () => {
    if (idleWaiters.length === 0) return;
    if (inFlight.size > 0) return;
    const open = await col.count({ status: { $in: ['pending', 'sending'] } });
    if (open === 0) for (const r of idleWaiters.splice(0)) r();
  };

  const loop = async () => {
    await recover(options.recoverAllAtStart === true);
    let lastRecover = nowMs();
    while (!stopping && !frozen) {
      let waitMs = 1000;
      try {
        if (nowMs() - lastRecover > leaseMs / 2) {
          lastRecover = nowMs();
          await recover(false);
        }
        waitMs = await pass();
        if (lastPassEmpty) await checkIdle();
      } catch (err) {
        logger.error({ err }, 'outbox pass failed; trying again');
      }
      if (stopping || frozen) break;
      if (woken) {
        woken = false;
        // Let I/O in (HTTP acks, store writes) between back-to-back passes.
        await new Promise((r) => setImmediate(r));
        continue;
      }
      await sleeper.sleep(waitMs);
      woken = false;
    }
  };

  const outbox: Outbox = {
    enqueue,
    settled,
    async send(input) {
      const { id } = await enqueue(input);
      return settled(id);
    },
    get: (id) => col.findOne({ _id: id }),
    async groupState(group) {
      const docs = await col.find({ group });
      const out = { pending: 0, sending: 0, delivered: 0, failed: 0, superseded: 0, total: docs.length };
      for (const d of docs) out[d.status] += 1;
      return out;
    },
    onSettled(listener) {
      listeners.push(listener);
    },
    start() {
      if (started) return;
      started = true;
      loopDone = loop();
    },
    notify() {
      wake();
    },
    useReplies(sender) {
      replySender = sender;
    },
    async stop() {
      stopping = true;
      wake();
      if (frozen) return;
      await loopDone;
      await Promise.all([...inFlight.values()]);
    },
    idle() {
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        wake();
      });
    },
    stats: () => ({ ...stats, inFlight: inFlight.size }),
  };
  return outbox;
}

function errorName(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : err instanceof Error ? err.name : 'error';
}

/** Lane and kind options of the outbox's transport methods. */
export interface OutboxTransportOptions {
  lane?: Lane;
  requester?: string;
}

/**
 * The Transport every caller uses: each write is a delivery of the outbox, waited for (a post returns its ts).
 * A failed delivery throws DeliveryFailedError with Slack's code and hint. Lookups read the outbox first.
 */
export function createOutboxTransport(outbox: Outbox, inner: Transport): Transport {
  const outcome = (doc: DeliveryDoc): PostedRef => {
    if (doc.status === 'delivered' && doc.result) return doc.result;
    throw new DeliveryFailedError(doc.error?.code ?? doc.status, doc.error?.hint, doc._id);
  };
  const postId = (target: { channel: string; threadTs?: string }, key: string) =>
    `post:${target.channel}:${target.threadTs ?? ''}:${key}`;
  return {
    name: inner.name,
    async post(target, message, options = {}) {
      return outcome(
        await outbox.send({
          ...(options.key ? { id: postId(target, options.key) } : {}),
          op: 'post',
          lane: options.lane ?? 'bulk',
          channel: target.channel,
          ...(target.threadTs ? { threadTs: target.threadTs } : {}),
          message,
          ...(options.requester ? { requester: options.requester } : {}),
        }),
      );
    },
    async findPosted(target, key, since) {
      const doc = await outbox.get(postId(target, key));
      if (doc?.status === 'delivered' && doc.result) return doc.result;
      // Recorded but not delivered: the post with this key will be it (enqueueing it again delivers once).
      if (doc) return undefined;
      return inner.findPosted?.(target, key, since);
    },
    ...(inner.findUploaded ? { findUploaded: inner.findUploaded.bind(inner) } : {}),
    async enqueue(writes) {
      // Recorded in order (seq), so a thread's replies follow their parent; nothing here waits for Slack.
      for (const w of writes)
        await outbox.enqueue({
          id: w.key,
          op: w.op,
          lane: w.lane ?? 'bulk',
          channel: w.channel,
          ...(w.threadTs ? { threadTs: w.threadTs } : {}),
          ...(w.ts ? { ts: w.ts } : {}),
          ...(w.of ? { parent: w.of } : {}),
          ...(w.message ? { message: w.message } : {}),
          ...(w.file ? { file: w.file } : {}),
          ...(w.fallback ? { fallback: w.fallback, fallbackOn: w.fallbackOn ?? [] } : {}),
          // Edits of one message: the latest recorded state wins.
          ...(w.op === 'update'
            ? { supersedeKey: w.of ? `msgof:${w.of}` : `msg:${w.channel}:${w.ts ?? ''}` }
            : {}),
          ...(w.requester ? { requester: w.requester } : {}),
        });
    },
    async delivered(key) {
      const doc = await outbox.get(key);
      if (!doc) return undefined;
      if (doc.status === 'delivered') return doc.result ?? null;
      return doc.status === 'failed' || doc.status === 'superseded' ? null : undefined;
    },
    async update(ref, message, options = {}) {
      outcome(
        await outbox.send({
          op: 'update',
          lane: options.lane ?? 'bulk',
          channel: ref.channel,
          ts: ref.ts,
          message,
          supersedeKey: `msg:${ref.channel}:${ref.ts}`,
          ...(options.requester ? { requester: options.requester } : {}),
        }),
      );
    },
    async postEphemeral(target, message, options = {}) {
      outcome(
        await outbox.send({
          // Keyed: a job run again after a crash finds its reply recorded and does not send it a second time.
          ...(options.key ? { id: `ephemeral:${target.channel}:${target.user}:${options.key}` } : {}),
          op: 'ephemeral',
          lane: 'reply',
          channel: target.channel,
          user: target.user,
          ...((target as { threadTs?: string }).threadTs
            ? { threadTs: (target as { threadTs?: string }).threadTs }
            : {}),
          message,
          requester: target.user,
        }),
      );
    },
    async uploadFile(target, file) {
      outcome(
        await outbox.send({
          op: 'upload',
          lane: 'bulk',
          channel: target.channel,
          ...(target.threadTs ? { threadTs: target.threadTs } : {}),
          file,
        }),
      );
    },
  };
}

/** Where failure notices go and how they read. */
export interface FailureNoticeOptions {
  outbox: Outbox;
  /** Admin user ids (U…): told once per (error, channel) of a delivery nobody asked for. */
  admins: () => readonly string[];
  logger: Logger;
  /** The one admin notifier (bot/admin-notices.ts); absent: one in memory that DMs `admins` through the outbox. */
  notifier?: AdminNotifier;
}

/** The admin notifier's DM, sent as a notice delivery of the outbox (a notice never produces another notice). */
export function outboxAdminSender(outbox: Outbox) {
  return async (user: string, message: Message, id: string) => {
    await outbox.enqueue({ id, op: 'post', lane: 'reply', channel: user, message, notice: true });
  };
}

/**
 * Tells someone when a delivery fails for good: the user who asked for it (a DM), and the admins, once per problem
 * (error and channel) through the admin notifier, when nobody asked for it or only an admin can fix it. A failure a
 * waiting caller was told of (it answers the user itself) is only logged, unless it needs an admin.
 */
export function reportDeliveryFailures(options: FailureNoticeOptions): void {
  const { outbox, logger } = options;
  const notifier =
    options.notifier ??
    createMemoryAdminNotifier({ admins: options.admins, send: outboxAdminSender(outbox), logger });
  outbox.onSettled(async (doc, awaited) => {
    if (doc.status !== 'failed' || doc.notice) return;
    const code = doc.error?.code ?? 'failed';
    const what = doc.op === 'update' ? 'an edit of a message' : doc.op === 'upload' ? 'a file' : 'a message';
    const text = `Arbiter could not deliver ${what} to <#${doc.channel}>: ${doc.error?.reason ?? code}.`;
    const message: Message = {
      title: 'Arbiter could not deliver a message',
      summary: `Arbiter could not deliver ${what} to ${doc.channel}: ${doc.error?.reason ?? code}.`,
      sections: [
        { kind: 'text', text },
        { kind: 'context', items: [`Delivery ${doc._id}${doc.error?.hint ? '' : ` (Slack: ${code})`}`] },
      ],
    };
    const requester = doc.requester && !doc.requester.startsWith('S') ? doc.requester : undefined;
    if (requester && !awaited)
      await outbox.enqueue({
        id: `notice:${doc._id}`,
        op: 'post',
        lane: 'reply',
        channel: requester,
        message,
        notice: true,
      });
    if (requester && !doc.error?.admin) return;
    if (awaited && !doc.error?.admin) return;
    await notifier.tell({
      key: `delivery:${code}:${doc.channel}`,
      fingerprint: code,
      text: message.summary ?? message.title,
      message,
      detail: { delivery: doc._id, channel: doc.channel, slackCode: code },
    });
  });
}
