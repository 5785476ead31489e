// The one table of Slack error codes the bot can receive from the methods it calls (chat.postMessage, chat.update,
// chat.postEphemeral, files.getUploadURLExternal / files.completeUploadExternal, conversations.open / .info /
// .history / .replies, usergroups.users.list) and from response_url posts: each code is retryable, refused content,
// a destination that cannot take the message (another route, or the user, can fix it) or a problem only an admin can
// fix, with the hint to show. Both users of Slack errors read it: the outbox (classifySlackError in
// slack-transport.ts: retry, degrade, or fail with the hint) and the reply path (slack-reply.ts: retry, next route,
// plain text, or tell the admins once). Users never see a code alone: they get their answer another way, or a fix in
// words. Codes from Slack's method pages (Errors sections): https://docs.slack.dev/reference/methods/chat.postMessage,
// https://docs.slack.dev/reference/methods/chat.update, https://docs.slack.dev/reference/methods/chat.postEphemeral,
// https://docs.slack.dev/reference/methods/files.completeUploadExternal,
// https://docs.slack.dev/reference/methods/conversations.open, https://docs.slack.dev/reference/methods/conversations.info;
// `ratelimited` with HTTP 200 as well as 429: https://docs.slack.dev/apis/web-api/rate-limits; the incoming-webhook
// errors a response_url answers with: https://docs.slack.dev/messaging/sending-messages-using-incoming-webhooks#handling_errors.
import type { Logger } from '../config/index.ts';
import { type AdminNotifier, createMemoryAdminNotifier } from './admin-notices.ts';

/** What to do about a Slack error code on the reply path. */
export type SlackErrorAction =
  /** Transient on Slack's side: retry the same call after a pause. */
  | 'retry'
  /** This route cannot reach the user (not a member, URL used up, DM closed): try the next route. */
  | 'next'
  /** Slack refused the content (our rendering): tell the admins once, send it again as plain text. */
  | 'content'
  /** The app's installation or token is wrong: tell the admins once; try the next route. */
  | 'admin';

/** One code of the table: its kind and, where someone can act on it, what to do. */
export interface SlackErrorEntry {
  /** retry: Slack's trouble; content: refused as built; next: this destination cannot take it; admin: configuration. */
  kind: SlackErrorAction;
  /** The fix, in one sentence, for the user (next) or the admins (admin). */
  hint?: string;
}

const INVITE = 'Arbiter is not in this channel: invite it with `/invite @arbiter`, then try again.';
const HIDDEN =
  'Arbiter cannot see this channel (private channels and DMs need it invited): invite it with `/invite @arbiter`.';
const TOKEN = 'Slack refused SLACK_BOT_TOKEN: reinstall the app and set the new bot token (xoxb-…).';
const WORKSPACE = "A workspace setting or the app's installation keeps Arbiter from doing this: check both.";
const REPORT = 'This is a bug in how Arbiter calls Slack: please report it.';

/** Every code the bot maps, with its kind and hint. */
export const SLACK_ERRORS: Readonly<Record<string, SlackErrorEntry>> = {
  // Transient: Slack asks to retry (HTTP 200 ok:false for ratelimited, internal_error, fatal_error, as well as 429/5xx).
  ratelimited: { kind: 'retry' },
  rate_limited: { kind: 'retry' },
  internal_error: { kind: 'retry' },
  fatal_error: { kind: 'retry' },
  service_unavailable: { kind: 'retry' },
  request_timeout: { kind: 'retry' },
  timeout: { kind: 'retry' },
  team_added_to_org: { kind: 'retry' },
  // The destination cannot take it here; another route (or an invite) can.
  channel_not_found: { kind: 'next', hint: HIDDEN },
  not_in_channel: { kind: 'next', hint: INVITE },
  user_not_in_channel: { kind: 'next', hint: 'The user is not a member of this channel.' },
  is_archived: { kind: 'next', hint: 'This channel is archived.' },
  channel_is_archived: { kind: 'next', hint: 'This channel is archived.' },
  restricted_action: {
    kind: 'next',
    hint: 'A workspace setting keeps Arbiter from posting in this channel.',
  },
  restricted_action_read_only_channel: { kind: 'next', hint: 'This channel is read-only.' },
  restricted_action_thread_only_channel: { kind: 'next', hint: 'This channel takes thread replies only.' },
  restricted_action_non_threadable_channel: { kind: 'next', hint: 'This channel takes no thread replies.' },
  message_limit_exceeded: { kind: 'next', hint: "The workspace's message limit was reached." },
  team_access_not_granted: {
    kind: 'next',
    hint: 'Arbiter is not installed in the workspace of this channel.',
  },
  ekm_access_denied: { kind: 'next', hint: 'Administrators have suspended posting (EKM).' },
  access_denied: { kind: 'next', hint: 'Slack denied access to this conversation.' },
  action_prohibited: { kind: 'next', hint: 'A workspace setting prohibits this action.' },
  posting_to_general_channel_denied: { kind: 'next', hint: 'Only admins may post in this channel.' },
  thread_not_found: { kind: 'next', hint: 'The thread no longer exists.' },
  message_not_found: { kind: 'next', hint: 'The message to edit was deleted.' },
  cant_update_message: { kind: 'next', hint: 'Arbiter may only edit its own messages.' },
  edit_window_closed: { kind: 'next', hint: "The workspace's edit window for messages has closed." },
  used_url: { kind: 'next' },
  expired_url: { kind: 'next' },
  // The person cannot get a DM from the bot.
  user_not_found: { kind: 'next', hint: 'Slack knows no such user.' },
  user_not_visible: { kind: 'next', hint: 'Arbiter may not message this user.' },
  user_disabled: { kind: 'next', hint: 'This user is deactivated.' },
  cannot_dm_bot: { kind: 'next', hint: 'A bot cannot be sent a DM.' },
  invalid_user_combination: { kind: 'next' },
  // Slack refused what we sent: a rendering bug; a simpler form (plain text) passes.
  invalid_blocks: { kind: 'content', hint: REPORT },
  invalid_blocks_format: { kind: 'content', hint: REPORT },
  msg_too_long: { kind: 'content', hint: REPORT },
  msg_blocks_too_long: { kind: 'content', hint: REPORT },
  no_text: { kind: 'content', hint: REPORT },
  invalid_payload: { kind: 'content', hint: REPORT },
  too_many_attachments: { kind: 'content', hint: REPORT },
  invalid_attachments: { kind: 'content', hint: REPORT },
  markdown_text_conflict: { kind: 'content', hint: REPORT },
  // The installation: scopes, token, workspace. Only an admin can fix these.
  missing_scope: {
    kind: 'admin',
    hint: "Arbiter's Slack app lacks a permission this needs: add it in manifest.yml and reinstall the app (Install App → Reinstall).",
  },
  not_authed: { kind: 'admin', hint: 'SLACK_BOT_TOKEN is not set for this call.' },
  invalid_auth: { kind: 'admin', hint: TOKEN },
  account_inactive: { kind: 'admin', hint: "Arbiter's Slack app was deactivated: reinstall it." },
  token_revoked: { kind: 'admin', hint: TOKEN },
  token_expired: { kind: 'admin', hint: TOKEN },
  invalid_token: { kind: 'admin', hint: TOKEN },
  no_permission: { kind: 'admin', hint: WORKSPACE },
  not_allowed_token_type: {
    kind: 'admin',
    hint: 'SLACK_BOT_TOKEN is not a bot token: use the xoxb-… token from OAuth & Permissions.',
  },
  org_login_required: { kind: 'admin', hint: WORKSPACE },
  team_not_found: { kind: 'admin', hint: WORKSPACE },
  no_service: { kind: 'admin', hint: WORKSPACE },
  accesslimited: { kind: 'admin', hint: WORKSPACE },
  enterprise_is_restricted: { kind: 'admin', hint: WORKSPACE },
  invalid_arguments: { kind: 'admin', hint: REPORT },
  invalid_arg_name: { kind: 'admin', hint: REPORT },
  invalid_charset: { kind: 'admin', hint: REPORT },
  invalid_form_data: { kind: 'admin', hint: REPORT },
  invalid_post_type: { kind: 'admin', hint: REPORT },
  missing_post_type: { kind: 'admin', hint: REPORT },
  method_not_supported_for_channel_type: { kind: 'admin', hint: REPORT },
  deprecated_endpoint: { kind: 'admin', hint: REPORT },
  no_upload_url: { kind: 'retry' },
};

/** The table's entry for a code; a code it does not know is an admin's to look at (and is not retried). */
export function slackErrorEntry(code: string): SlackErrorEntry {
  return (
    SLACK_ERRORS[code] ?? {
      kind: 'admin',
      hint: `Slack answered ${code}, which Arbiter does not expect here. Please report it.`,
    }
  );
}

/** The action for a code; a code we do not know is told to the admins and the next route is tried. */
export function slackErrorAction(code: string): SlackErrorAction {
  return slackErrorEntry(code).kind;
}

/** Every code mapped (tests check a table of them). */
export const MAPPED_SLACK_CODES: readonly string[] = Object.keys(SLACK_ERRORS);

/** What an admin should do about a code, in one sentence. */
export function adminFix(code: string, detail: { method?: string; needed?: string } = {}): string {
  const where = detail.method ? ` (${detail.method})` : '';
  if (code === 'missing_scope')
    return `Slack answered missing_scope${where}${detail.needed ? `: the app needs ${detail.needed}` : ''}. Add the scope in manifest.yml and reinstall the app (Install App → Reinstall).`;
  const entry = slackErrorEntry(code);
  if (entry.kind === 'content')
    return `Slack refused a reply's content (${code})${where}; the user got it as plain text. This is a bug in Arbiter's rendering: please report it.`;
  return `Slack answered ${code}${where}: ${entry.hint ?? 'Arbiter does not expect it here. Please report it.'}`;
}

/** Tells the admins about a Slack problem once (bot/admin-notices.ts): the code's fix, logged and sent by DM. */
export interface AdminAlerts {
  report(code: string, detail?: { method?: string; needed?: string }): void;
}

/** The problem key of a Slack code: per scope for missing_scope (as slack-scopes.ts reports it), else per code. */
export function slackProblemKey(code: string, needed?: string): string {
  return code === 'missing_scope' && needed ? `slack:missing_scope:${needed.trim()}` : `slack:${code}`;
}

/**
 * Admin alerts over the one notifier; without one, a notifier in memory that logs (Slack pieces built without a
 * store). A report never throws: the notifier's own failure is logged.
 */
export function createAdminAlerts(logger: Logger, notifier?: AdminNotifier): AdminAlerts {
  const tell = notifier ?? createMemoryAdminNotifier({ admins: () => [], logger });
  return {
    report(code, detail = {}) {
      void tell
        .tell({
          key: slackProblemKey(code, detail.needed),
          fingerprint: code,
          text: adminFix(code, detail),
          title: 'Arbiter needs an admin: Slack refused a call',
          detail: { slackCode: code, ...detail },
        })
        .catch((err: unknown) => logger.warn({ err, slackCode: code }, 'could not record an admin alert'));
    },
  };
}
