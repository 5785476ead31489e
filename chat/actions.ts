// Interactive actions (buttons) in transport-neutral form: Slack block actions and console clicks are routed by
// action id prefix to a handler that answers with Messages. Handlers never import Bolt.
import type { Message } from './message.ts';
import type { Role } from './roles.ts';

/** Who clicked what, and where the clicked message lives. */
export interface ActionContext {
  user: string;
  /** Channel of the message holding the button. */
  channel?: string;
  /** Timestamp of the message holding the button (to replace it). */
  messageTs?: string;
  /** Thread the message is in, if any. */
  threadTs?: string;
  /** The same for every delivery of one click (Slack: action_ts + user + action id). */
  key: string;
  /** When the user clicked (epoch ms; Slack's action_ts): two clicks handled out of order keep the later one. */
  clickedAt?: number;
  /** Where the click came from (the audit trail records it): Slack unless the console prompt pressed it. */
  via?: 'slack' | 'console';
}

/** What a handler asks the front door to do after a click; every part is optional. */
export interface ActionResult {
  /** Shown to the clicking user only. */
  ephemeral?: Message;
  /** Replaces the message holding the button. */
  update?: Message;
  /** Posted in the thread of the message holding the button (or its channel when it has no thread). */
  reply?: Message;
}

/** Handles buttons whose action id is `prefix` or starts with `prefix:`. */
export interface ActionHandler {
  prefix: string;
  /** Least role that may click; the front door refuses others with an ephemeral message naming the role. */
  role: Role;
  handle(input: { actionId: string; value: string }, ctx: ActionContext): Promise<ActionResult>;
}

/** Finds the handler of an action id (longest matching prefix wins). */
export function findActionHandler(
  handlers: readonly ActionHandler[],
  actionId: string,
): ActionHandler | undefined {
  // The Block Kit renderer suffixes repeated action ids with `~n` (Slack wants them unique per message).
  const id = actionId.replace(/~\d+$/, '');
  let best: ActionHandler | undefined;
  for (const h of handlers) {
    const match = id === h.prefix || id.startsWith(`${h.prefix}:`);
    if (match && (!best || h.prefix.length > best.prefix.length)) best = h;
  }
  return best;
}
