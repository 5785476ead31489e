// Runs a parsed chat command through its registry entry and answers with a transport-neutral Message. Slack and the
// console prompt both call it; it never imports Bolt. Slow work (an evaluation run) is started as a durable job and
// reported on separately.
import { hasRole, type Message, type Role, type RolePolicy } from '../chat/index.ts';
import { ArbiterError } from '../config/index.ts';
import { cannotPostHere } from './channel-access.ts';
import type { CommandReply, DispatchContext, DispatchDeps } from './dispatch-types.ts';
import { notice } from './messages.ts';
import { requiredRole } from './parse.ts';
import { findSuite } from './suites.ts';
import { type Command, COMMANDS, helpMessage } from './table.ts';

export type { CommandReply, DispatchContext, DispatchDeps } from './dispatch-types.ts';
export { errorMessage, notice, usageMessage } from './messages.ts';
export { runProgressMessage } from './table.ts';

const ROLE_VAR: Record<Role, string> = { admin: 'ARBITER_ADMINS', reviewer: 'ARBITER_REVIEWERS', reader: '' };

/**
 * Fast checks that need no store: a user without the role, or help. Returns the answer to show at once, or
 * undefined when the command must run (in a job).
 */
export function precheck(command: Command, user: string, roles: RolePolicy): Message | undefined {
  const role = requiredRole(command);
  if (!hasRole(roles, user, role))
    return notice(
      'Not allowed',
      `\`${COMMANDS[command.name].words.join(' ')}\` needs the ${role} role. Ask an admin to add your user id (${user}) to ${ROLE_VAR[role]}.`,
    );
  if (command.name === 'help') return helpMessage(command.topic);
  return undefined;
}

/** Resolves a suite name, file name or `name:` inside the suites folder; anything outside it is refused. */
export function resolveSuitePath(suite: string, suitesDir: string, cwd = process.cwd()): string {
  return findSuite(suite, { suitesDir, cwd });
}

/** What a command posts in the conversation it was typed in, for those that cannot work without posting there. */
const POSTS_HERE: Partial<Record<Command['name'], string>> = {
  run: "the run's progress line and report",
  review: "the review's summary, ballots and result",
};

/** Runs a command (authorization checked again here) and returns what to show. */
export async function dispatch(
  command: Command,
  ctx: DispatchContext,
  deps: DispatchDeps,
): Promise<CommandReply> {
  const early = precheck(command, ctx.user, deps.roles);
  if (early) return { message: early };
  // Checked before any work: a run whose report cannot be posted, or a review whose ballots cannot, helps no one.
  const posts = POSTS_HERE[command.name];
  if (posts && ctx.channel && deps.channelAccess) {
    const check = await deps.channelAccess(ctx.channel, ctx.user);
    if (!check.ok) return { message: cannotPostHere(posts, check) };
  }
  const handler = (COMMANDS[command.name] as { chat?: unknown }).chat as
    | ((cmd: Command, ctx: DispatchContext, deps: DispatchDeps) => Promise<CommandReply>)
    | undefined;
  if (!handler) throw new ArbiterError('INTERNAL', `No chat handler for ${command.name}.`);
  return handler(command, ctx, deps);
}
