// Parses the words after `/arbiter` (Slack) or typed at the console prompt into a typed command, with zod.
// Unknown or malformed input becomes a usage message listing the valid commands, never a throw.
import { z } from 'zod';
import { parseDuration } from '../config/index.ts';
import type { Role } from '../chat/index.ts';
import { AUDIT_CHAT_MAX, parseAuditArgs } from './audit.ts';

/** Usage text shared by Slack, the console prompt and tests. */
export const COMMAND_USAGE = `Commands:
  help [topic]                         this text, or help on a topic (metrics)
  run <suite> [--limit N]              start an evaluation run of a suite in SUITES_DIR
  runs [list]                          recent runs
  runs show <id>                       one run's summary
  runs compare <a> <b>                 compare two runs of the same suite
  runs cancel <id>                     stop a run
  review <runA> <runB> [...] [--pairs N] [--reviewers N] [--dm] [--deadline 2d]
                                       open a blind pairwise review of runs' shared items
  review list                          open and recent reviews
  review close <id>                    close a review now and post the reveal
  review reason <ballot> <text>        add a reason to your vote (the ballot's "Add a reason" shows how)
  leaderboard                          ratings pooled over all closed reviews
  monitor list                         monitors: schedule, state, last tick, open alerts
  monitor run <name>                   run one tick now; the report is posted here
  monitor pause|resume <name>          stop or restart a monitor's scheduled ticks
  digest [--period day|week]           preview a digest (only you see it)
  digest now [--period day|week]       post the configured digests now
  audit [--since 7d] [--user U…] [--object run:<id>] [--limit N]
                                       who did what (admins)`;

/** The top-level command words. */
export const COMMAND_NAMES = [
  'help',
  'run',
  'runs',
  'review',
  'leaderboard',
  'monitor',
  'digest',
  'audit',
] as const;

const id = z.string().regex(/^[A-Za-z0-9_.:-]{1,200}$/, { error: 'expected an id' });

/** A parsed command. */
export const CommandSchema = z.discriminatedUnion('name', [
  z.object({ name: z.literal('help'), topic: z.string().optional() }),
  z.object({
    name: z.literal('run'),
    suite: z.string().min(1).max(500),
    limit: z.number().int().min(1).max(100_000).optional(),
  }),
  z.object({ name: z.literal('runs.list') }),
  z.object({ name: z.literal('runs.show'), id }),
  z.object({ name: z.literal('runs.compare'), a: id, b: id }),
  z.object({ name: z.literal('runs.cancel'), id }),
  z.object({
    name: z.literal('review'),
    runs: z.array(id).min(2).max(20),
    pairs: z.number().int().min(1).max(10_000).optional(),
    reviewersPerPair: z.number().int().min(1).max(20).optional(),
    dm: z.boolean().optional(),
    /** Milliseconds from now. */
    deadlineMs: z.number().int().min(60_000).optional(),
  }),
  z.object({ name: z.literal('review.list') }),
  z.object({ name: z.literal('review.close'), id }),
  z.object({
    name: z.literal('review.reason'),
    token: z.string().regex(/^bt_[A-Za-z0-9_-]{22}$/, { error: 'expected a ballot token (bt_…)' }),
    reason: z.string().min(1).max(1000),
  }),
  z.object({ name: z.literal('leaderboard') }),
  z.object({ name: z.literal('monitor.list') }),
  z.object({
    name: z.enum(['monitor.run', 'monitor.pause', 'monitor.resume']),
    monitor: z.string().min(1).max(200),
  }),
  z.object({ name: z.literal('digest'), now: z.boolean(), period: z.enum(['day', 'week']).optional() }),
  z.object({
    name: z.literal('audit'),
    since: z.string().max(100).optional(),
    user: z.string().max(100).optional(),
    object: z.string().max(300).optional(),
    limit: z.number().int().min(1).max(AUDIT_CHAT_MAX).optional(),
  }),
]);
export type Command = z.infer<typeof CommandSchema>;

/** Result of parsing: a command, or a usage error with the text to show. */
export type ParseResult = { ok: true; command: Command } | { ok: false; error: string; usage: string };

/** Splits on whitespace, keeping "double" or 'single' quoted words together; Slack's smart quotes count too. */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|“([^”]*)”|‘([^’]*)’|(\S+)/g;
  for (const m of text.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3] ?? m[4] ?? m[5] ?? '');
  return out;
}

function fail(error: string): ParseResult {
  return { ok: false, error, usage: COMMAND_USAGE };
}

/** Parses command text such as `run quickstart --limit 5`; a leading `/arbiter` (any slash word) is ignored. */
export function parseCommand(text: string): ParseResult {
  const words = tokenize(text.trim());
  if (words[0]?.startsWith('/')) words.shift();
  const [head, ...rest] = words;
  const word = head?.toLowerCase();
  let candidate: unknown;
  switch (word) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      if (rest.length > 1) return fail('help takes at most one topic.');
      candidate = { name: 'help', ...(rest[0] ? { topic: rest[0] } : {}) };
      break;
    case 'run': {
      const positionals: string[] = [];
      let limit: number | undefined;
      for (let i = 0; i < rest.length; i++) {
        const w = rest[i] ?? '';
        if (w === '--limit' || w.startsWith('--limit=')) {
          const v = w.startsWith('--limit=') ? w.slice(8) : rest[++i];
          if (v === undefined || !/^\d+$/.test(v)) return fail('--limit expects a whole number.');
          limit = Number(v);
        } else if (w.startsWith('--')) return fail(`run: unknown option ${w}.`);
        else positionals.push(w);
      }
      if (positionals.length !== 1) return fail('run needs exactly one suite, e.g. `run quickstart`.');
      candidate = { name: 'run', suite: positionals[0], ...(limit !== undefined ? { limit } : {}) };
      break;
    }
    case 'runs': {
      const [sub = 'list', ...args] = rest;
      const expected: Record<string, number> = { list: 0, show: 1, compare: 2, cancel: 1 };
      const n = expected[sub];
      if (n === undefined) return fail(`Unknown runs command "${sub}". Use list, show, compare or cancel.`);
      if (args.length !== n)
        return fail(`runs ${sub} needs ${n === 0 ? 'no arguments' : n === 1 ? 'a run id' : 'two run ids'}.`);
      candidate =
        sub === 'list'
          ? { name: 'runs.list' }
          : sub === 'compare'
            ? { name: 'runs.compare', a: args[0], b: args[1] }
            : { name: `runs.${sub}`, id: args[0] };
      break;
    }
    case 'review': {
      if (rest[0] === 'list') {
        if (rest.length > 1) return fail('review list takes no arguments.');
        candidate = { name: 'review.list' };
        break;
      }
      if (rest[0] === 'reason') {
        if (rest.length < 3) return fail('review reason needs a ballot token and your reason.');
        candidate = { name: 'review.reason', token: rest[1], reason: rest.slice(2).join(' ') };
        break;
      }
      if (rest[0] === 'close') {
        if (rest.length !== 2) return fail('review close needs a review id, e.g. `review close rev_…`.');
        candidate = { name: 'review.close', id: rest[1] };
        break;
      }
      const runs: string[] = [];
      const opts: Record<string, unknown> = {};
      for (let i = 0; i < rest.length; i++) {
        const w = rest[i] ?? '';
        const [flag, inline] = w.startsWith('--') ? (w.split('=', 2) as [string, string | undefined]) : [w];
        if (!flag.startsWith('--')) {
          runs.push(w);
          continue;
        }
        if (flag === '--dm') {
          opts.dm = true;
          continue;
        }
        const v = inline ?? rest[++i];
        if (flag === '--pairs' || flag === '--reviewers') {
          if (v === undefined || !/^\d+$/.test(v)) return fail(`${flag} expects a whole number.`);
          opts[flag === '--pairs' ? 'pairs' : 'reviewersPerPair'] = Number(v);
        } else if (flag === '--deadline') {
          const ms = v === undefined ? undefined : parseDuration(v);
          if (ms === undefined) return fail('--deadline expects a duration such as 30m, 12h or 2d.');
          opts.deadlineMs = ms;
        } else return fail(`review: unknown option ${flag}.`);
      }
      if (runs.length < 2) return fail('review needs at least two run ids, e.g. `review run_a run_b`.');
      candidate = { name: 'review', runs, ...opts };
      break;
    }
    case 'leaderboard':
      if (rest.length > 0) return fail('leaderboard takes no arguments.');
      candidate = { name: 'leaderboard' };
      break;
    case 'monitor': {
      const [sub, name, ...extra] = rest;
      if (sub === 'list' && name === undefined) candidate = { name: 'monitor.list' };
      else if ((sub === 'run' || sub === 'pause' || sub === 'resume') && name && extra.length === 0)
        candidate = { name: `monitor.${sub}`, monitor: name };
      else return fail('Use `monitor list` or `monitor run|pause|resume <name>`.');
      break;
    }
    case 'digest': {
      let now = false;
      let period: string | undefined;
      for (let i = 0; i < rest.length; i++) {
        const w = rest[i] ?? '';
        if (w === 'now' && i === 0) now = true;
        else if (w === '--period' || w.startsWith('--period=')) {
          period = w.startsWith('--period=') ? w.slice(9) : rest[++i];
          if (period !== 'day' && period !== 'week') return fail('--period expects day or week.');
        } else return fail('Use `digest [--period day|week]` or `digest now [--period day|week]`.');
      }
      candidate = { name: 'digest', now, ...(period ? { period } : {}) };
      break;
    }
    case 'audit': {
      const parsed = parseAuditArgs(rest);
      if (!parsed.ok) return fail(parsed.error);
      if (parsed.args.json) return fail('audit: --json is for the CLI (`arbiter audit --json`).');
      candidate = { name: 'audit', ...parsed.args };
      break;
    }
    default:
      return fail(`Unknown command "${head}". Valid commands: ${COMMAND_NAMES.join(', ')}.`);
  }
  const parsed = CommandSchema.safeParse(candidate);
  if (!parsed.success) return fail(`${parsed.error.issues.map(issueText).join('; ')}.`);
  return { ok: true, command: parsed.data };
}

/** How users name the fields of a command (its option or argument), for messages about them. */
const FIELD_WORDS: Record<string, string> = {
  limit: '--limit',
  pairs: '--pairs',
  reviewersPerPair: '--reviewers',
  deadlineMs: '--deadline',
  period: '--period',
  suite: 'the suite name',
  id: 'the id',
  a: 'the first run id',
  b: 'the second run id',
  runs: 'the run ids',
  token: 'the ballot token',
  reason: 'the reason',
  monitor: 'the monitor name',
  topic: 'the help topic',
  since: '--since',
  user: '--user',
  object: '--object',
};

/** One validation problem in plain words: the field as users type it and what it accepts, never zod's own text. */
function issueText(issue: z.core.$ZodIssue): string {
  const field = FIELD_WORDS[String(issue.path[0] ?? '')] ?? 'the command';
  const item = issue.path.length > 1 ? ` (item ${Number(issue.path[1]) + 1})` : '';
  switch (issue.code) {
    case 'too_small':
      if (issue.origin === 'array') return `${field} needs at least ${issue.minimum}`;
      if (issue.origin === 'string') return `${field}${item} cannot be empty`;
      return `${field}${item} must be at least ${field === '--deadline' ? '1m' : String(issue.minimum)}`;
    case 'too_big':
      if (issue.origin === 'array') return `${field} takes at most ${issue.maximum}`;
      if (issue.origin === 'string') return `${field}${item} is longer than ${issue.maximum} characters`;
      return `${field}${item} must be at most ${String(issue.maximum)}`;
    case 'invalid_format':
      // Our own formats carry their words (`expected an id`, `expected a ballot token (bt_…)`).
      return `${field}${item}: ${issue.message}`;
    case 'invalid_type':
      return `${field}${item} must be ${issue.expected === 'number' ? 'a whole number' : `a ${issue.expected}`}`;
    default:
      return `${field}${item} is not valid`;
  }
}

/** The role a command needs: launching runs, reviews and monitor changes is for admins; reading is for all. */
export function requiredRole(command: Command): Role {
  switch (command.name) {
    case 'run':
    case 'runs.cancel':
    case 'review':
    case 'review.close':
    case 'monitor.run':
    case 'monitor.pause':
    case 'monitor.resume':
    case 'audit':
      return 'admin';
    case 'digest':
      return command.now ? 'admin' : 'reader';
    case 'review.reason':
      return 'reviewer';
    default:
      return 'reader';
  }
}
