// Runs a parsed command and answers with a transport-neutral Message. Slack and the console prompt both call it;
// it never imports Bolt. Slow work (an evaluation run) is started as a durable job and reported on separately.
import { existsSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import type { AuditActor, AuditLog } from '../audit/index.ts';
import { ArbiterError, isArbiterError } from '../config/index.ts';
import {
  findMonitor,
  listMonitors,
  type Monitor,
  type MonitorDeps,
  runMonitorNow,
  setMonitorPaused,
} from '../monitors/index.ts';
import type { ReviewService } from '../reviews/index.ts';
import { loadSuite, type Run, type RunService, runOutcome } from '../runs/index.ts';
import { type ChannelAccess, cannotPostHere } from './channel-access.ts';
import { auditCommand } from './audit.ts';
import { type DigestCommandDeps, handleDigest } from './digest.ts';
import { HELP_TOPICS, helpTopicText } from './help.ts';
import {
  leaderboardCommand,
  reviewCloseCommand,
  reviewCommand,
  reviewListCommand,
  reviewReasonCommand,
} from './reviews.ts';
import { escapeMrkdwn, type Message } from '../chat/index.ts';
import { hasRole, type Role, type RolePolicy } from '../chat/index.ts';
import { type Command, COMMAND_USAGE, requiredRole } from './parse.ts';
import { progressBar, renderComparison, renderRunSummary } from './runs.ts';

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

const NOT_YET: Partial<Record<Command['name'], string>> = {};

const ROLE_VAR: Record<Role, string> = { admin: 'ARBITER_ADMINS', reviewer: 'ARBITER_REVIEWERS', reader: '' };

/** A short ephemeral note; `text` is plain (echoed input, error text): escaped once here, backticks still format. */
export function notice(title: string, text: string, extra: Message['sections'] = []): Message {
  return {
    title,
    summary: text,
    sections: [{ kind: 'text', text: escapeMrkdwn(text) }, ...extra],
    ephemeral: true,
  };
}

/** The usage message for bad input. */
export function usageMessage(error: string): Message {
  return notice('Arbiter: unknown command', error, [{ kind: 'code', text: COMMAND_USAGE }]);
}

/**
 * Fast checks that need no store: a command that is not built yet, or a user without the role. Returns the answer
 * to show at once, or undefined when the command must run (in a job).
 */
export function precheck(command: Command, user: string, roles: RolePolicy): Message | undefined {
  const notYet = NOT_YET[command.name];
  if (notYet) return notice('Not available yet', notYet);
  const role = requiredRole(command);
  if (!hasRole(roles, user, role))
    return notice(
      'Not allowed',
      `\`${command.name.replace('.', ' ')}\` needs the ${role} role. Ask an admin to add your user id (${user}) to ${ROLE_VAR[role]}.`,
    );
  if (command.name === 'help') return helpMessage(command.topic);
  return undefined;
}

function helpMessage(topic: string | undefined): Message {
  if (topic === undefined)
    return {
      title: 'Arbiter help',
      summary: 'Arbiter commands',
      sections: [{ kind: 'code', text: COMMAND_USAGE }],
      ephemeral: true,
    };
  const text = helpTopicText(topic);
  if (text === undefined)
    return notice('Arbiter help', `No help on "${topic}". Topics: ${HELP_TOPICS.join(', ')}.`);
  return { title: `Arbiter help: ${topic}`, sections: [{ kind: 'code', text }], ephemeral: true };
}

/** Resolves a suite name or path inside the suites folder; anything outside it is refused. */
export function resolveSuitePath(suite: string, suitesDir: string, cwd = process.cwd()): string {
  const dir = resolve(cwd, suitesDir);
  const inside = (p: string) => {
    const rel = relative(dir, p);
    return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
  };
  const bases = [resolve(dir, suite), resolve(cwd, suite)];
  for (const base of bases)
    for (const p of [base, `${base}.yaml`, `${base}.yml`]) if (inside(p) && existsSync(p)) return p;
  if (!bases.some(inside))
    throw new ArbiterError('USAGE', `Suite "${suite}" is outside the suites folder ${suitesDir}.`, {
      hint: 'Name a suite in SUITES_DIR, e.g. `run quickstart`.',
    });
  throw new ArbiterError('NOT_FOUND', `No suite "${suite}" in ${suitesDir}.`, {
    hint: 'Name a suite file in SUITES_DIR, e.g. `run quickstart`.',
  });
}

/** The progress line of a run (the parent message a long run keeps up to date). */
export function runProgressMessage(run: Run): Message {
  return {
    title: `Evaluation run: ${run.suiteName}`,
    summary: `${run.suiteName}: ${run.status} ${run.progress.done}/${run.total}`,
    sections: [
      { kind: 'text', text: `${run.status}: ${progressBar(run.progress, 20)}` },
      {
        kind: 'context',
        items: [
          `Run ${run._id}; the report follows here when it finishes.`,
          ...(run.warnings ?? []).slice(0, 9).map((w) => `Warning: ${w}`),
        ],
      },
    ],
  };
}

function runRow(r: Run): string {
  const score = r.summary?.meanScore ?? r.progress.meanScore;
  const verdict = r.status === 'completed' ? runOutcome(r) : '';
  return `${r._id}  ${r.status.padEnd(9)}  ${r.suiteName}  ${r.progress.done}/${r.total}  mean ${score === null ? '—' : score.toFixed(3)}  ${verdict}`.trimEnd();
}

/** What a command posts in the conversation it was typed in, for those that cannot work without posting there. */
const POSTS_HERE: Partial<Record<Command['name'], string>> = {
  run: "the run's progress line and report",
  review: "the review's summary, ballots and result",
};

/** Runs a command (authorization already passed precheck) and returns what to show. */
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
  switch (command.name) {
    case 'run': {
      const suite = loadSuite(resolveSuitePath(command.suite, deps.suitesDir), deps.environment);
      const started = await deps.runs.startRun(suite, {
        ...(command.limit !== undefined ? { limit: command.limit } : {}),
        ...(ctx.idempotencyKey ? { idempotencyKey: ctx.idempotencyKey } : {}),
        origin: { user: ctx.user, ...(ctx.channel ? { channel: ctx.channel } : {}) },
        actor: commandActor(ctx),
      });
      const run = await deps.runs.getRun(started.runId);
      if (!run) throw new ArbiterError('INTERNAL', `Run ${started.runId} vanished after it was started.`);
      return { message: runProgressMessage(run), watchRun: { runId: run._id, created: started.created } };
    }
    case 'runs.list': {
      const runs = await deps.runs.listRuns({ limit: 15 });
      return {
        message: {
          title: 'Recent runs',
          summary: `${runs.length} recent runs`,
          sections: [
            {
              kind: runs.length ? 'code' : 'text',
              text: runs.length ? runs.map(runRow).join('\n') : 'No runs yet.',
            },
          ],
          ephemeral: true,
        },
      };
    }
    case 'runs.show': {
      const run = await deps.runs.getRun(command.id);
      if (!run)
        throw new ArbiterError('NOT_FOUND', `No run with id ${command.id}.`, {
          hint: 'List runs with `runs list`.',
        });
      return { message: { ...renderRunSummary(run, await deps.runs.items(run._id)), ephemeral: true } };
    }
    case 'runs.compare': {
      const cmp = await deps.runs.compare(command.a, command.b);
      return { message: { ...renderComparison(cmp), ephemeral: true } };
    }
    case 'runs.cancel': {
      const run = await deps.runs.cancelRun(command.id, { actor: commandActor(ctx) });
      const text =
        run.status === 'cancelled'
          ? `Cancelled ${command.id}.`
          : run.status === 'running' || run.status === 'queued'
            ? `Asked ${command.id} to stop; it is cancelled when its worker notices.`
            : `${command.id} already ended (${run.status}).`;
      return { message: notice('Run cancel', text) };
    }
    case 'digest':
      return { message: await handleDigest(command, deps.digests, commandActor(ctx)) };
    case 'review':
    case 'review.list':
    case 'review.close':
    case 'review.reason':
    case 'leaderboard': {
      const reviews = deps.reviews;
      if (!reviews) return { message: notice('Reviews', 'Reviews are not set up in this process.') };
      if (command.name === 'review')
        return {
          message: await reviewCommand(
            command,
            {
              user: ctx.user,
              channel: ctx.channel ?? ctx.user,
              ...(ctx.idempotencyKey ? { idempotencyKey: ctx.idempotencyKey } : {}),
              actor: commandActor(ctx),
            },
            reviews,
          ),
        };
      if (command.name === 'review.list') return { message: await reviewListCommand(reviews) };
      if (command.name === 'review.close')
        return {
          message: await reviewCloseCommand(command, { user: ctx.user, actor: commandActor(ctx) }, reviews),
        };
      if (command.name === 'review.reason')
        return { message: await reviewReasonCommand(command, { user: ctx.user }, reviews) };
      return { message: await leaderboardCommand(reviews) };
    }
    case 'audit': {
      if (!deps.audit) return { message: notice('Audit', 'The audit trail is not set up in this process.') };
      const { name: _name, ...args } = command;
      return { message: await auditCommand(args, deps.audit, new Date()) };
    }
    case 'monitor.list':
    case 'monitor.run':
    case 'monitor.pause':
    case 'monitor.resume':
      return { message: await dispatchMonitor(command, ctx, deps) };
    default:
      // precheck answered every other command.
      throw new ArbiterError('INTERNAL', `No handler for ${command.name}.`);
  }
}

const MONITOR_USAGE = 'monitor list\nmonitor run <name>\nmonitor pause <name>\nmonitor resume <name>';

async function dispatchMonitor(
  command: Extract<Command, { name: `monitor.${string}` }>,
  ctx: DispatchContext,
  deps: DispatchDeps,
): Promise<Message> {
  if (!deps.monitors) return notice('Monitors', 'Monitors are not set up in this process.');
  const { list, deps: mdeps } = deps.monitors;
  if (command.name === 'monitor.list') return { ...(await listMonitors(list, mdeps)), ephemeral: true };
  const found = findMonitor(list, command.monitor);
  if (!found.ok)
    return notice('Arbiter: unknown monitor', found.error, [{ kind: 'code', text: MONITOR_USAGE }]);
  const m = found.monitor;
  if (command.name === 'monitor.pause' || command.name === 'monitor.resume') {
    const res = await setMonitorPaused(m, command.name === 'monitor.pause', commandActor(ctx), mdeps);
    // A change is posted in the channel so the team sees who paused what; a no-op only to the asker.
    return { ...notice(`Monitor ${m.name}`, res.text), ephemeral: !res.changed };
  }
  const paused = (await mdeps.store.getState(m.name)).paused === true;
  const note = paused ? [`${m.name} is paused: only its scheduled ticks are skipped.`] : [];
  const { outcome, message } = await runMonitorNow(m, mdeps, commandActor(ctx));
  if (outcome.status === 'skipped')
    return notice(`Monitor ${m.name}`, `Not run: ${outcome.reason}. Try again in a moment.`);
  if (message)
    return note.length
      ? { ...message, sections: [...message.sections, { kind: 'context', items: note }] }
      : message;
  if (outcome.status === 'failed')
    return notice(`Monitor ${m.name}: tick failed`, outcome.error, [
      { kind: 'context', items: ['The next tick retries from the same watermark.', ...note] },
    ]);
  return notice(
    `Monitor ${m.name}`,
    `Nothing new to report: read ${outcome.read}, scored ${outcome.scored}, already scored ${outcome.alreadyScored}.`,
    note.length ? [{ kind: 'context', items: note }] : [],
  );
}

/** Our errors whose message is written for the person who typed the command (the rest may carry internals). */
const TOLD_TO_USERS = new Set([
  'CONFIG_INVALID',
  'YAML_INVALID',
  'USAGE',
  'NOT_FOUND',
  'STORE_UNAVAILABLE',
  'STORE_LOCKED',
]);

/**
 * An error as an ephemeral message: our own errors meant for users say what and why; anything else (a stored
 * document failing its schema, a bug) only a reference id, never a stack trace or a validation library's text.
 */
export function errorMessage(err: unknown, ref: string): Message {
  if (isArbiterError(err) && TOLD_TO_USERS.has(err.code))
    return notice('Arbiter could not do that', `${err.message}${err.hint ? `\n${err.hint}` : ''}`, [
      { kind: 'context', items: [`Reference ${ref}`] },
    ]);
  return notice(
    'Arbiter hit an error',
    `Something went wrong. Reference ${ref} (it appears in the bot's logs).`,
  );
}
