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
}

/** Options of a post. */
export interface PostOptions extends WriteOptions {
  /** An idempotency key for this post (at most 200 characters). */
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
  /** Replaces the content of a posted message (progress lines, vote tallies). */
  update(ref: PostedRef, message: Message, options?: WriteOptions): Promise<void>;
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
}
