// Roles from ARBITER_ADMINS / ARBITER_REVIEWERS, where an entry may be a Slack user group (`S…`): groups are
// expanded with usergroups.users.list (scope usergroups:read) at start and every few minutes. A group that cannot
// be read keeps its last good members; the listeners read the live policy on every request.
import type { Logger } from '../config/index.ts';
import type { RolePolicy } from '../chat/index.ts';
import { slackErrorCode } from './slack-transport.ts';

/** The one Web API call the resolver makes (a WebClient fits). */
export interface UserGroupClient {
  usergroups: {
    users: {
      list(args: { usergroup: string }): Promise<{ ok?: boolean; users?: string[]; error?: string }>;
    };
  };
}

/** Options of the role resolver. */
export interface RoleResolverOptions {
  /** ARBITER_ADMINS as configured: user ids and user-group ids. */
  admins: readonly string[];
  /** ARBITER_REVIEWERS as configured. */
  reviewers: readonly string[];
  /** Absent in console mode: groups then stay unexpanded (no one matches them). */
  client?: UserGroupClient;
  logger: Logger;
  /** How often groups are read again (default 10 minutes). */
  refreshMs?: number;
}

/** A live RolePolicy and its refresh loop. */
export interface RoleResolver {
  /** Always the latest expansion; pass it where a RolePolicy is read per request. */
  readonly policy: RolePolicy;
  /** Reads every group once; failures keep the last good members and are logged. */
  refresh(): Promise<void>;
  /** First refresh, then one every refreshMs (the timer does not keep the process alive). */
  start(): Promise<void>;
  stop(): void;
}

/** Whether a configured id is a user group (Slack user-group ids start with S). */
export function isUserGroupId(id: string): boolean {
  return /^S[A-Z0-9]+$/.test(id);
}

/** Creates the role resolver; with no groups configured the policy is just the configured ids. */
export function createRoleResolver(options: RoleResolverOptions): RoleResolver {
  const { logger } = options;
  const groups = [...new Set([...options.admins, ...options.reviewers].filter(isUserGroupId))];
  const members = new Map<string, readonly string[]>();
  // A group id stays in the list: if a group cannot be read (or is empty), ARBITER_ADMINS is still non-empty, so
  // hasRole never falls back to "no admins configured, everyone is admin".
  const expand = (ids: readonly string[]) => [
    ...new Set(ids.flatMap((id) => (isUserGroupId(id) ? [id, ...(members.get(id) ?? [])] : [id]))),
  ];
  let current: RolePolicy = { admins: expand(options.admins), reviewers: expand(options.reviewers) };
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  async function readGroup(group: string): Promise<void> {
    const client = options.client;
    if (!client) return;
    try {
      const res = await client.usergroups.users.list({ usergroup: group });
      if (res.ok === false || !Array.isArray(res.users))
        throw new Error(res.error ?? 'no users in the answer');
      members.set(group, res.users);
    } catch (err) {
      const code = slackErrorCode(err);
      logger.warn(
        { group, code, kept: members.get(group)?.length ?? 0 },
        `could not read Slack user group ${group}${code === 'missing_scope' ? ' (add the usergroups:read scope)' : ''}; keeping its last known members`,
      );
    }
  }

  const refresh = () => {
    running ??= (async () => {
      try {
        await Promise.all(groups.map(readGroup));
        current = { admins: expand(options.admins), reviewers: expand(options.reviewers) };
      } finally {
        running = undefined;
      }
    })();
    return running;
  };

  return {
    policy: {
      get admins() {
        return current.admins;
      },
      get reviewers() {
        return current.reviewers;
      },
    },
    refresh,
    async start() {
      if (groups.length === 0 || !options.client) return;
      await refresh();
      timer = setInterval(() => void refresh(), options.refreshMs ?? 10 * 60_000);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
  };
}
