// What the user reply path does with each Slack error code it can receive (response_url, chat.postEphemeral,
// conversations.open, chat.postMessage to a DM, conversations.info): retry it, try the next route to the user, or
// tell the admins once (configuration and our own bugs). Users never see a code: they get their answer another way,
// or a fix in words. Codes from https://docs.slack.dev/reference/methods/chat.postEphemeral,
// …/conversations.open, …/conversations.info, …/chat.postMessage and the incoming-webhook errors response_url
// answers with (https://docs.slack.dev/messaging/sending-messages-using-incoming-webhooks#handling_errors).
import type { Logger } from '../config/index.ts';

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

const ACTIONS: Record<string, SlackErrorAction> = {
  // Transient: Slack asks to retry (HTTP 200 ok:false for the first three, as well as 429/5xx).
  ratelimited: 'retry',
  rate_limited: 'retry',
  internal_error: 'retry',
  fatal_error: 'retry',
  service_unavailable: 'retry',
  request_timeout: 'retry',
  timeout: 'retry',
  // The route cannot reach the user here; another route can.
  channel_not_found: 'next',
  not_in_channel: 'next',
  user_not_in_channel: 'next',
  is_archived: 'next',
  channel_is_archived: 'next',
  restricted_action: 'next',
  restricted_action_read_only_channel: 'next',
  restricted_action_thread_only_channel: 'next',
  restricted_action_non_threadable_channel: 'next',
  message_limit_exceeded: 'next',
  team_access_not_granted: 'next',
  ekm_access_denied: 'next',
  access_denied: 'next',
  action_prohibited: 'next',
  posting_to_general_channel_denied: 'next',
  thread_not_found: 'next',
  used_url: 'next',
  expired_url: 'next',
  // The person cannot get a DM from the bot.
  user_not_found: 'next',
  user_not_visible: 'next',
  user_disabled: 'next',
  cannot_dm_bot: 'next',
  invalid_user_combination: 'next',
  // Slack refused what we sent: a rendering bug.
  invalid_blocks: 'content',
  invalid_blocks_format: 'content',
  msg_too_long: 'content',
  msg_blocks_too_long: 'content',
  no_text: 'content',
  invalid_payload: 'content',
  too_many_attachments: 'content',
  invalid_attachments: 'content',
  markdown_text_conflict: 'content',
  // The installation: scopes, token, workspace.
  missing_scope: 'admin',
  not_authed: 'admin',
  invalid_auth: 'admin',
  account_inactive: 'admin',
  token_revoked: 'admin',
  token_expired: 'admin',
  no_permission: 'admin',
  not_allowed_token_type: 'admin',
  org_login_required: 'admin',
  team_not_found: 'admin',
  no_service: 'admin',
  invalid_token: 'admin',
  invalid_arguments: 'admin',
  method_not_supported_for_channel_type: 'admin',
  accesslimited: 'admin',
  deprecated_endpoint: 'admin',
};

/** The action for a code; a code we do not know is told to the admins and the next route is tried. */
export function slackErrorAction(code: string): SlackErrorAction {
  return ACTIONS[code] ?? 'admin';
}

/** Every code the reply path maps (tests check a table of them). */
export const MAPPED_SLACK_CODES: readonly string[] = Object.keys(ACTIONS);

/** What an admin should do about a code, in one sentence. */
export function adminFix(code: string, detail: { method?: string; needed?: string } = {}): string {
  const where = detail.method ? ` (${detail.method})` : '';
  switch (code) {
    case 'missing_scope':
      return `Slack answered missing_scope${where}${detail.needed ? `: the app needs ${detail.needed}` : ''}. Add the scope in manifest.yml and reinstall the app (Install App → Reinstall).`;
    case 'not_authed':
    case 'invalid_auth':
    case 'account_inactive':
    case 'token_revoked':
    case 'token_expired':
    case 'invalid_token':
      return `Slack refused SLACK_BOT_TOKEN (${code})${where}: reinstall the app and set the new bot token.`;
    case 'not_allowed_token_type':
      return `SLACK_BOT_TOKEN is not a bot token${where}: use the xoxb-… token from OAuth & Permissions.`;
    case 'no_permission':
    case 'accesslimited':
    case 'org_login_required':
    case 'team_not_found':
      return `Slack does not let the app do this in the workspace (${code})${where}: check the app's installation and workspace settings.`;
    default:
      if (slackErrorAction(code) === 'content')
        return `Slack refused a reply's content (${code})${where}; the user got it as plain text. This is a bug in Arbiter's rendering: please report it.`;
      return `Slack answered ${code}${where}, which Arbiter does not expect here. Please report it.`;
  }
}

/** Tells the admins about a Slack problem once per code (they read the bot's log: this is an error line). */
export interface AdminAlerts {
  report(code: string, detail?: { method?: string; needed?: string }): void;
}

/** Creates the admin alerts: the first report of a code is logged at error level with its fix; repeats at debug. */
export function createAdminAlerts(logger: Logger): AdminAlerts {
  const told = new Set<string>();
  return {
    report(code, detail = {}) {
      const line = adminFix(code, detail);
      if (told.has(code)) {
        logger.debug({ slackCode: code, ...detail }, line);
        return;
      }
      told.add(code);
      logger.error({ slackCode: code, adminAlert: true, ...detail }, line);
    },
  };
}
