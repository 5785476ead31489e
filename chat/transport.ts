import type { Message } from './message.ts';

/** Where a posted message lives, so it can be edited or replied to (Slack: channel id + ts). */
export interface PostedRef {
  channel: string;
  ts: string;
}

/** Options of a write. */
export interface WriteOptions {
  /**
   * 'reply' for an answer to a user's own command or click: delivered before bulk posting (run reports, ballots,
   * digests). Default 'bulk'.
   */
  lane?: 'reply' | 'bulk';
  /** The user who asked for it: told if it cannot be delivered (otherwise the admins are). */
  requester?: string;
  /**
   * A message may go out as several parts (overflow into its thread, thread replies). The parts an earlier attempt
   * had posted, in order: this attempt resumes at the first one missing and never posts one twice.
   */
  resume?: readonly PostedRef[];
  /** Called when each part was accepted, before the next is sent (the outbox records it). */
  onPart?: (index: number, ref: PostedRef) => Promise<void>;
  /**
   * An earlier attempt died while sending, at this time or later: the first part missing from `resume` may have
   * been posted; where the transport can, it looks that part up by its key before sending it.
   */
  uncertainSince?: Date;
}

/** Options of a post. */
export interface PostOptions extends WriteOptions {
  /** An idempotency key for this post (at most 200 characters); each further part gets `key#n`. */
  key?: string;
}

/**
 * The port every outgoing message goes through: Slack in production, the console in the embedded default, a
 * recorder in tests. Implementations keep within the transport's limits (bot/ renders Block Kit).
 */
export interface Transport {
  readonly name: 'slack' | 'console' | string;
  /**
   * Posts a message (and its thread replies) to a channel, or into an existing thread. `options.key` is recorded
   * with the message where the transport can (Slack: message metadata), so that `findPosted` can tell later
   * whether a post whose outcome was lost (a crash, a time-out) did reach the channel.
   */
  post(
    target: { channel: string; threadTs?: string },
    message: Message,
    options?: PostOptions,
  ): Promise<PostedRef>;
  /**
   * The message posted with `key` to the channel (or into the thread) since `since`, if the transport can look it
   * up (Slack: channel history, which needs the channels:history or groups:history scope); absent otherwise.
   */
  findPosted?(
    target: { channel: string; threadTs?: string },
    key: string,
    since: Date,
  ): Promise<PostedRef | undefined>;
  /**
   * Replaces the content of a posted message (progress lines, vote tallies); what overflows it goes to its thread as
   * further parts (see WriteOptions.resume), keyed `key#n` when a key is given.
   */
  update(ref: PostedRef, message: Message, options?: PostOptions): Promise<void>;
  /**
   * Shows a message to one user only (Slack ephemeral; the console prints it marked as such). `options.key` makes
   * it idempotent where the transport can (the outbox records it once per key).
   */
  postEphemeral(
    target: { channel: string; user: string },
    message: Message,
    options?: { key?: string },
  ): Promise<void>;
  /**
   * The message of a file named `filename` uploaded to the channel (or into the thread) since `since`, if the
   * transport can look it up (as findPosted); absent otherwise.
   */
  findUploaded?(
    target: { channel: string; threadTs?: string },
    filename: string,
    since: Date,
  ): Promise<PostedRef | undefined>;
  /** Uploads a local file (e.g. a chart PNG) into a channel or thread. */
  uploadFile(
    target: { channel: string; threadTs?: string },
    file: { path: string; title: string; altText?: string },
  ): Promise<void>;
  /**
   * Records writes to be delivered later by the transport's own delivery loop (Slack: the outbox), in order per
   * channel, and returns as soon as they are recorded: the job that wrote them never waits for Slack. Recording a
   * key again delivers once. Absent on transports without a loop; `deliverLater` then sends the writes itself.
   */
  enqueue?(writes: readonly QueuedWrite[]): Promise<void>;
  /**
   * Where the write recorded with `key` landed: its ref once delivered, null when it failed for good (its requester
   * or the admins were told), undefined while it is on its way or when the transport does not know the key.
   */
  delivered?(key: string): Promise<PostedRef | null | undefined>;
}

/** One write recorded for later delivery (see Transport.enqueue). */
export interface QueuedWrite {
  /** The idempotency key (at most 200 characters, namespaced by the caller: `digest:…`, `review:…`). */
  key: string;
  op: 'post' | 'update' | 'upload';
  channel: string;
  /** post/upload: into this thread. */
  threadTs?: string;
  /** update: this message. */
  ts?: string;
  /** post/upload: into the thread of the post recorded with this key; update: the message that post became. */
  of?: string;
  message?: Message;
  file?: { path: string; title: string; altText?: string };
  /** upload: posted in its place (same thread) when the upload fails for good with one of `fallbackOn`'s codes. */
  fallback?: Message;
  /** The error codes (Slack's) that post the fallback, e.g. not_in_channel for a file the bot may not upload. */
  fallbackOn?: readonly string[];
  /** The user who asked for it: told if it cannot be delivered (otherwise the admins are). */
  requester?: string;
  /** 'reply' for what answers a user's own click or command (ahead of bulk posting); default 'bulk'. */
  lane?: 'reply' | 'bulk';
}

/**
 * Records `writes` with the transport's enqueue; a transport without a delivery loop (tests' recorders, embedding)
 * gets them sent here, in order, each `of` resolved from the writes sent before it.
 */
export async function deliverLater(
  transport: Transport,
  writes: readonly QueuedWrite[],
): Promise<Map<string, PostedRef>> {
  const refs = new Map<string, PostedRef>();
  if (transport.enqueue) {
    await transport.enqueue(writes);
    return refs;
  }
  for (const w of writes) {
    const ofRef = w.of ? (refs.get(w.of) ?? (await transport.delivered?.(w.of)) ?? undefined) : undefined;
    if (w.of && !ofRef) continue; // its parent was never posted: nothing to thread under or edit
    const threadTs = ofRef?.ts ?? w.threadTs;
    const target = { channel: ofRef?.channel ?? w.channel, ...(threadTs ? { threadTs } : {}) };
    const opts = { ...(w.requester ? { requester: w.requester } : {}), ...(w.lane ? { lane: w.lane } : {}) };
    if (w.op === 'post')
      refs.set(
        w.key,
        await transport.post(target, w.message ?? { title: '', sections: [] }, { key: w.key, ...opts }),
      );
    else if (w.op === 'update') {
      const ts = ofRef?.ts ?? w.ts;
      if (ts)
        await transport.update(
          { channel: target.channel, ts },
          w.message ?? { title: '', sections: [] },
          opts,
        );
    } else if (w.file) {
      try {
        await transport.uploadFile(target, w.file);
      } catch (err) {
        const code = errorCode(err);
        if (!w.fallback || !code || !w.fallbackOn?.includes(code)) throw err;
        await transport.post(target, w.fallback, { key: `${w.key}:fallback`, ...opts });
      }
    }
  }
  return refs;
}

/** The error code a transport's error carries (Slack's code: `slackCode`, or the Web API client's `data.error`). */
export function errorCode(err: unknown): string | undefined {
  const e = err as { slackCode?: unknown; data?: { error?: unknown } } | undefined;
  if (typeof e?.slackCode === 'string') return e.slackCode;
  if (typeof e?.data?.error === 'string') return e.data.error;
  return undefined;
}
