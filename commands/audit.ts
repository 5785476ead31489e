// `audit` (admins, Slack and the console) and `arbiter audit` (CLI): the audit trail, newest first, filtered by
// time, user and object. The arguments are parsed by the command's registry entry (commands/table.ts) with the
// checks below; one query for both front doors; the use case returns a Message (chat) or prints the records (CLI).
import {
  AUDIT_OBJECT_TYPES,
  type AuditLog,
  type AuditObjectType,
  type AuditQuery,
  type AuditRecord,
  describeVia,
} from '../audit/index.ts';
import type { Message } from '../chat/index.ts';
import { ArbiterError, type Clock, parseDuration, systemClock } from '../config/index.ts';
import type { CliServices } from './services.ts';

/** The arguments of `audit` as typed (validated, not yet resolved against the clock). */
export interface AuditArgs {
  /** `7d`, `12h`, … before now, or an ISO date/time. */
  since?: string;
  user?: string;
  /** `run:<id>`, or a bare type (`review`) for every object of it. */
  object?: string;
  limit?: number;
  json?: boolean;
}

/** Records shown in chat at most (the CLI shows up to AUDIT_CLI_MAX). */
export const AUDIT_CHAT_MAX = 50;
/** Records `arbiter audit` prints at most. */
export const AUDIT_CLI_MAX = 1000;
const AUDIT_CHAT_DEFAULT = 20;
const USAGE_HINT = 'e.g. audit --since 7d --object run:run_01abc (see `help`)';

/** A Slack `<@U…|name>` mention typed as --user is read as the user id; anything else is kept as typed. */
export function auditUser(value: string): string {
  return /^<@([A-Z0-9]+)(?:\|[^>]*)?>$/.exec(value)?.[1] ?? value;
}

/** Whether --since is a duration back from now (7d, 12h) or a date/time (2026-12-01, ISO). */
export function isAuditSince(value: string): boolean {
  if (parseDuration(value) !== undefined) return true;
  return /^\d/.test(value) && !Number.isNaN(new Date(value).getTime());
}

/** Whether --object is `<type>:<id>` or a bare type, with a type the trail knows. */
export function isAuditObject(value: string): boolean {
  const sep = value.indexOf(':');
  const type = sep < 0 ? value : value.slice(0, sep);
  return (AUDIT_OBJECT_TYPES as readonly string[]).includes(type) && (sep < 0 || sep < value.length - 1);
}

/** What --object accepts, in words (the registry's error and this module's USAGE errors say it). */
export const AUDIT_OBJECT_WORDS = `expects <type>:<id> or a type, with a type among ${AUDIT_OBJECT_TYPES.join(', ')} (e.g. run:run_01abc, review)`;

/** Resolves the arguments into a query at `now`; bad values are a USAGE error naming the option. */
export function auditQuery(args: AuditArgs, now: Date, maxLimit: number): AuditQuery {
  const query: AuditQuery = {};
  if (args.since !== undefined) {
    const ms = parseDuration(args.since);
    const at = ms !== undefined ? new Date(now.getTime() - ms) : new Date(args.since);
    if (!/^\d/.test(args.since) || Number.isNaN(at.getTime()))
      throw new ArbiterError(
        'USAGE',
        `--since expects a duration such as 7d or 12h, or a date such as 2026-12-01 (got "${args.since}").`,
        { hint: USAGE_HINT },
      );
    query.since = at;
  }
  if (args.user !== undefined) query.user = args.user;
  if (args.object !== undefined) {
    const sep = args.object.indexOf(':');
    const type = sep < 0 ? args.object : args.object.slice(0, sep);
    if (!(AUDIT_OBJECT_TYPES as readonly string[]).includes(type))
      throw new ArbiterError(
        'USAGE',
        `--object expects <type>:<id> with a type among ${AUDIT_OBJECT_TYPES.join(', ')} (got "${args.object}").`,
        { hint: 'e.g. --object run:run_01abc or --object review' },
      );
    query.objectType = type as AuditObjectType;
    if (sep >= 0) {
      const id = args.object.slice(sep + 1);
      if (!id)
        throw new ArbiterError('USAGE', `--object ${type}: needs an id after the colon.`, {
          hint: USAGE_HINT,
        });
      query.objectId = id;
    }
  }
  if (args.limit !== undefined) {
    if (args.limit > maxLimit)
      throw new ArbiterError('USAGE', `--limit is at most ${maxLimit} here.`, { hint: USAGE_HINT });
    query.limit = args.limit;
  }
  return query;
}

function clip(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** One record as one plain line: when, who (from where), what, on which object. */
export function auditLine(r: AuditRecord): string {
  const when = `${r.at.toISOString().slice(0, 16).replace('T', ' ')}Z`;
  return `${when}  ${r.actor.user} (${describeVia(r.actor)})  ${r.action}  ${r.object.type}:${r.object.id}  ${clip(r.summary, 200)}`;
}

function describeQuery(q: AuditQuery): string {
  const parts = [
    q.since ? `since ${q.since.toISOString()}` : '',
    q.user ? `by ${q.user}` : '',
    q.objectType ? `on ${q.objectType}${q.objectId ? `:${q.objectId}` : ''}` : '',
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : 'all records';
}

/** A record as JSON (what `arbiter audit --json` prints, one array). */
export function auditJson(r: AuditRecord): Record<string, unknown> {
  return { ...r, at: r.at.toISOString() };
}

/** `audit …` in chat (admins): the newest records as plain lines; the renderer escapes them once. */
export async function auditCommand(
  args: AuditArgs,
  audit: Pick<AuditLog, 'list'>,
  now: Date,
): Promise<Message> {
  const query = auditQuery(args, now, AUDIT_CHAT_MAX);
  const limit = query.limit ?? AUDIT_CHAT_DEFAULT;
  const records = await audit.list({ ...query, limit });
  const filters = describeQuery(query);
  return {
    title: 'Audit trail',
    summary: `${records.length} audit record(s): ${filters}`,
    sections: [
      records.length
        ? { kind: 'code', text: records.map(auditLine).join('\n') }
        : { kind: 'text', text: 'No audit records match.' },
      {
        kind: 'context',
        items: [
          `${records.length} newest first, ${filters}${records.length === limit ? ` (the newest ${limit}: narrow with --since, --user or --object, or raise --limit up to ${AUDIT_CHAT_MAX})` : ''}.`,
        ],
      },
    ],
    ephemeral: true,
  };
}

/** What `arbiter audit` needs: the CLI services (app/) give it the audit trail; tests pass their own clock. */
export interface AuditCliDeps {
  io: { stdout(text: string): void };
  services: Pick<CliServices, 'audit'>;
  /** The one Clock (its `now`); the system clock by default. */
  clock?: Pick<Clock, 'now'>;
}

/** `arbiter audit [--since] [--user] [--object] [--limit] [--json]` (arguments parsed by the registry); the exit code. */
export async function runAuditCli(args: AuditArgs, deps: AuditCliDeps): Promise<number> {
  const query = auditQuery(args, (deps.clock ?? systemClock).now(), AUDIT_CLI_MAX);
  const records = await (await deps.services.audit()).list(query);
  if (args.json) deps.io.stdout(`${JSON.stringify(records.map(auditJson), null, 2)}\n`);
  else
    deps.io.stdout(
      records.length
        ? `${records.map(auditLine).join('\n')}\n`
        : `No audit records match (${describeQuery(query)}).\n`,
    );
  return 0;
}
