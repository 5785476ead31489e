// The chat port: the transport-neutral Message, the Transport every outgoing message goes through, button
// handlers and roles. Capabilities talk to Slack and the console only through these; bot/ implements them.
export { type ActionContext, type ActionHandler, type ActionResult, findActionHandler } from './actions.ts';
export {
  escapeMrkdwn,
  link,
  md,
  mention,
  type Message,
  OPEN_REPORT_ACTION_ID,
  openReportSection,
  type MessageButton,
  type MessageSection,
  plainText,
  trusted,
  WORD_JOINER,
} from './message.ts';
export { hasRole, type Role, type RolePolicy } from './roles.ts';
export { createTextTransport, messageToText } from './text.ts';
export { deliverLater, type PostedRef, type QueuedWrite, type Transport } from './transport.ts';
