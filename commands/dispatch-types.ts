// What a chat handler gets (who asked, where) and needs (the services), and what it answers.
import type { AuditActor, AuditLog } from '../audit/index.ts';
import type { Message, RolePolicy } from '../chat/index.ts';
import type { ReportUrl } from '../config/index.ts';
import type { Monitor, MonitorDeps } from '../monitors/index.ts';
import type { ReviewService } from '../reviews/index.ts';
import type { RunService } from '../runs/index.ts';
import type { ChannelAccess } from './channel-access.ts';
import type { DigestCommandDeps } from './digest.ts';

/** What the dispatcher needs. */
export interface DispatchDeps {
  runs: RunService;
  /** Suites are looked up here; a suite path outside this folder is refused (Slack users cannot read any file). */
  suitesDir: string;
  /** Raw environment for `${ENV:NAME}` header values of http targets. */
  environment: Record<string, string | undefined>;
  roles: RolePolicy;
  /** The loaded monitors (MONITORS_DIR) and what their ticks need; without it `monitor …` says it is not set up. */
  monitors?: { list: readonly Monitor[]; deps: MonitorDeps };
  /** The configured digests (DIGESTS_DIR) and what posting them needs; without it `digest` says it is not set up. */
  digests?: DigestCommandDeps;
  /** Blind pairwise reviews; without it `review …` and `leaderboard` say they are not set up. */
  reviews?: ReviewService;
  /** The audit trail `audit` lists (admins only); without it `audit` says it is not set up. */
  audit?: Pick<AuditLog, 'list'>;
  /**
   * Asked before a command starts work that posts in the conversation it was typed in (`run`, `review`); without it
   * (the console) every conversation can be posted in.
   */
  channelAccess?: ChannelAccess;
  /** The signed URL of a report page (PUBLIC_URL set): `runs show` then carries an *Open report* button. */
  reportUrl?: ReportUrl;
}

/** Who asked, and the key that makes a repeated delivery of the same request start nothing new. */
export interface DispatchContext {
  user: string;
  /** Where the command was typed (reviews post their ballots there). */
  channel?: string;
  idempotencyKey?: string;
  /** The front door it came through, for the audit trail (default: Slack, as `user` in `channel`). */
  via?: 'slack' | 'console';
}

/** The audit actor of a chat command: the console prompt's, or a Slack user's in the channel they typed in. */
export function commandActor(ctx: DispatchContext): AuditActor {
  if (ctx.via === 'console') return { via: 'console', user: ctx.user };
  return { via: 'slack', user: ctx.user, ...(ctx.channel ? { channel: ctx.channel } : {}) };
}

/** The answer to a command; `watchRun` asks the front door to keep a progress line and post the report. */
export interface CommandReply {
  message: Message;
  watchRun?: { runId: string; created: boolean };
}
