// The Slack reading client the `slack` source is given: the two Web API methods it calls, under Slack's own method
// names, with Slack's arguments and answers (https://docs.slack.dev/reference/methods/conversations.history,
// https://docs.slack.dev/reference/methods/conversations.replies). The bot passes an adapter over its
// @slack/web-api WebClient (bot/slack-reader.ts: missing_scope watched, SLACK_API_URL honoured); monitors/ never
// loads a Slack SDK and never speaks HTTP to Slack itself.

/** The arguments of conversations.history the source sends (both time bounds exclusive unless `inclusive`). */
export interface ConversationsHistoryArgs {
  channel: string;
  limit: number;
  oldest?: string;
  latest?: string;
  inclusive?: boolean;
  cursor?: string;
}

/** The arguments of conversations.replies the source sends. */
export interface ConversationsRepliesArgs {
  channel: string;
  ts: string;
  limit: number;
  cursor?: string;
}

/**
 * Slack's answer to one call. `ok: true` carries the method's fields as Slack sent them (`messages`, `has_more`,
 * `response_metadata.next_cursor`, …). `ok: false` carries Slack's error code and, for `missing_scope`, `needed`.
 * What Slack's JSON cannot say comes from the client: an HTTP status other than 200 (`status`; a 429 with
 * `error: 'ratelimited'` and its Retry-After as `retryAfterMs`), `request_failed` when no answer came (network,
 * time-out; `detail` says why) and `invalid_response` when the answer was not Slack JSON.
 */
export type SlackAnswer =
  | ({ ok: true } & Record<string, unknown>)
  | {
      ok: false;
      error: string;
      needed?: string;
      status?: number;
      retryAfterMs?: number;
      detail?: string;
    };

/**
 * The Slack reading client of the `slack` source. It never waits inside a call (no retries, a 429 comes back with
 * its Retry-After) because the source paces itself within Slack's Tier-1 limits and keeps its pacing in its cursor.
 */
export interface SlackReader {
  conversations: {
    history(args: ConversationsHistoryArgs): Promise<SlackAnswer>;
    replies(args: ConversationsRepliesArgs): Promise<SlackAnswer>;
  };
}
