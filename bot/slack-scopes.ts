// A Slack answer `missing_scope` means the app was installed without a scope a feature needs: no retry fixes it and
// the user who hit it cannot either. Every Web API call of a watched WebClient is watched (the `slack` monitor source
// reads through one too, bot/slack-reader.ts); a `missing_scope` for a scope is told to the admins (ARBITER_ADMINS)
// by direct message with the scope and the fix, once, through the one admin notifier (bot/admin-notices.ts: kept
// across restarts, told again after a quiet day); every one is logged. The error still reaches its caller.
import type { Message } from '../chat/index.ts';
import type { Logger } from '../config/index.ts';
import { type AdminNotifier, createMemoryAdminNotifier } from './admin-notices.ts';
import { slackProblemKey } from './slack-errors.ts';
import type { SlackClient } from './slack-transport.ts';

/** What the reporter needs. */
export interface ScopeAlertDeps {
  /** The one admin notifier (bot/admin-notices.ts); absent: one in memory over `admins` and `notify`. */
  notifier?: AdminNotifier;
  /** Admins' user ids, read when a report is sent (the live role policy; user-group ids are skipped). */
  admins?: () => readonly string[];
  /** Posts a message to a user's DM with the app (chat.postMessage with the user id as channel). */
  notify?: (user: string, message: Message) => Promise<unknown>;
  logger: Logger;
}

/** The admins' message for one missing scope. */
export function missingScopeMessage(method: string, needed: string): Message {
  const text = `Arbiter's Slack app lacks the \`${needed}\` scope, so \`${method}\` failed with missing_scope. Add it under OAuth & Permissions → Bot Token Scopes (manifest.yml lists every scope Arbiter uses), then reinstall the app to the workspace.`;
  return {
    title: 'Arbiter needs a Slack permission',
    summary: `Arbiter's Slack app lacks the ${needed} scope (${method} failed).`,
    sections: [{ kind: 'text', text }],
  };
}

/** Reports each missing scope once, through the admin notifier (kept across restarts when it has a store). */
export function createScopeAlerts(deps: ScopeAlertDeps) {
  const notify = deps.notify;
  const notifier =
    deps.notifier ??
    createMemoryAdminNotifier({
      admins: deps.admins ?? (() => []),
      ...(notify ? { send: (user: string, message: Message) => notify(user, message) } : {}),
      logger: deps.logger,
    });
  const reported = new Set<string>();
  return {
    /** Scopes this process reported to the admins (tests). */
    reported: () => [...reported],
    /** A `missing_scope` answer to `method`; `needed` is Slack's `needed` field (may list several, comma-separated). */
    report(method: string, needed: string | undefined): void {
      const scope = needed?.trim() || `the scope ${method} needs`;
      deps.logger.warn({ method, needed: scope }, `slack ${method}: missing_scope (${scope})`);
      const message = missingScopeMessage(method, scope);
      void notifier
        .tell({
          key: slackProblemKey('missing_scope', scope),
          fingerprint: 'missing_scope',
          text: message.summary ?? message.title,
          message,
          detail: { method, needed: scope },
        })
        .then((told) => {
          if (told) reported.add(scope);
        })
        .catch((err: unknown) => deps.logger.warn({ err, scope }, 'could not record a missing scope'));
    },
  };
}

/** A scope reporter. */
export type ScopeAlerts = ReturnType<typeof createScopeAlerts>;

interface SlackErrorData {
  error?: string;
  needed?: string;
}

const SKIP = new Set(['logger', 'axios', 'slackApiUrl', 'token', 'tlsConfig', 'requestQueue', 'retryConfig']);

/**
 * Watches every method of a WebClient (chat.postMessage, files.*, conversations.*, …): the client binds each method
 * to `apiCall` when it is built, so each bound method is wrapped here, in place, by its Web API name; a platform
 * error carries Slack's answer in `data`. The client is returned.
 */
export function watchClientScopes(client: SlackClient, alerts: ScopeAlerts): SlackClient {
  const wrap =
    (fn: (...a: unknown[]) => Promise<unknown>, method: string) =>
    async (...args: unknown[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        const data = (err as { data?: SlackErrorData }).data;
        if (data?.error === 'missing_scope') alerts.report(method, data.needed);
        throw err;
      }
    };
  const visit = (node: Record<string, unknown>, path: string[], depth: number) => {
    for (const [key, value] of Object.entries(node)) {
      if (depth === 0 && (SKIP.has(key) || key.startsWith('_'))) continue;
      const name = [...path, key].join('.');
      if (typeof value === 'function' && depth > 0)
        node[key] = wrap(value as (...a: unknown[]) => Promise<unknown>, name);
      else if (value && typeof value === 'object' && !Array.isArray(value) && depth < 4)
        visit(value as Record<string, unknown>, [...path, key], depth + 1);
    }
  };
  visit(client as unknown as Record<string, unknown>, [], 0);
  const apiCall = client.apiCall.bind(client);
  client.apiCall = wrap(
    (method, options) => apiCall(method as string, options as Record<string, unknown>),
    'apiCall',
  ) as SlackClient['apiCall'];
  return client;
}
