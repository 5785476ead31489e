import type { Message } from './message.ts';

/** Where a posted message lives, so it can be edited or replied to (Slack: channel id + ts). */
export interface PostedRef {
  channel: string;
  ts: string;
}

/**
 * The port every outgoing message goes through: Slack in production, the console in the embedded default, a
 * recorder in tests. Implementations keep within the transport's limits (bot/ renders Block Kit).
 */
export interface Transport {
  readonly name: 'slack' | 'console' | string;
  /** Posts a message (and its thread replies) to a channel, or into an existing thread. */
  post(target: { channel: string; threadTs?: string }, message: Message): Promise<PostedRef>;
  /** Replaces the content of a posted message (progress lines, vote tallies). */
  update(ref: PostedRef, message: Message): Promise<void>;
  /** Shows a message to one user only (Slack ephemeral; the console prints it marked as such). */
  postEphemeral(target: { channel: string; user: string }, message: Message): Promise<void>;
  /** Uploads a local file (e.g. a chart PNG) into a channel or thread. */
  uploadFile(
    target: { channel: string; threadTs?: string },
    file: { path: string; title: string; altText?: string },
  ): Promise<void>;
}
