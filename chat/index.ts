// The chat port: the transport-neutral Message, the Transport every outgoing message goes through, button
// handlers and roles. Capabilities talk to Slack and the console only through these; bot/ implements them.
export { type ActionContext, type ActionHandler, type ActionResult, findActionHandler } from './actions.ts';
export {
  channelMention,
  escapeMrkdwn,
  link,
  md,
  mention,
  type Message,
  OPEN_REPORT_ACTION_ID,
  openReportSection,
  type MessageButton,
  type MessageSection,
  Mrkdwn,
  plainText,
  trusted,
  WORD_JOINER,
} from './message.ts';
export { hasRole, type Role, type RolePolicy } from './roles.ts';
export { messageToText, type TextLayout } from './text.ts';
export {
  deliverLater,
  errorCode,
  type PostedRef,
  type PostOptions,
  type QueuedWrite,
  type Transport,
  type WriteOptions,
} from './transport.ts';
