// The machinery of the one command registry (the table itself is commands/table.ts): a command defined once as
// words, a zod schema of its positionals and flags, a role and its handlers; and what every front door derives from
// it: matching words, parsing flags (config/args.ts), validating, usage lines, help, did-you-mean.
import type { z } from 'zod';
import {
  ArbiterError,
  closestName,
  type Env,
  type FlagOption,
  flagName,
  parseFlags,
} from '../config/index.ts';
import type { Role } from '../chat/index.ts';
import type { CliServices } from './services.ts';

/** Which front door a command was typed at: chat is Slack's `/arbiter …` and the console prompt. */
export type FrontDoor = 'chat' | 'cli';

/** The CLI's view of the outside world, so commands are testable in-process. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  readFile(path: string): Promise<string>;
  /** True when stderr is a terminal (progress bars). */
  isTTY?: boolean;
}

/** What a CLI handler gets besides its parsed arguments. */
export interface CliContext {
  /** The parsed environment; undefined for commands marked `standalone`. */
  env: Env;
  environment: Record<string, string | undefined>;
  io: CliIo;
  /**
   * Prints the signed URL of a run's or a review's report page (`--link`); the CLI wires it (report pages live in
   * web/, beside this layer). Absent: the command says links are not available here.
   */
  reportLink?: (kind: 'run' | 'review', id: string) => Promise<number>;
  /**
   * The configured store and services of this invocation (app/ composes them on first use; cli/ closes them once).
   * Standalone commands get none: using them throws.
   */
  services: CliServices;
}

/** A positional argument: its key in the schema and how usage shows it. */
export interface PositionalDef {
  key: string;
  /** Takes every remaining word (an array field), or joins them into one string with `join`. */
  variadic?: 'array' | 'join';
}

/** Per-flag details the schema cannot carry. */
export interface FlagDef {
  /** Typed name when it is not the kebab-case of the key (`reviewersPerPair` → `reviewers`). */
  flag?: string;
  /** Placeholder of the value in usage lines (`N`, `FILE`, `day|week`). */
  value?: string;
  /** Only the `arbiter` CLI accepts it (`--json`, `--junit FILE`): chat refuses it with a clear note. */
  cliOnly?: boolean;
  /** A one-letter form. */
  short?: string;
}

/** One command, defined once. `A` is the zod object of its arguments (positionals and flags). */
export interface CommandDef<A extends z.ZodObject = z.ZodObject> {
  /** The words that name it (`['runs', 'show']`). */
  words: readonly string[];
  /** Other words meaning exactly the same command (`['review', 'create']` for `review`). */
  aliases?: readonly (readonly string[])[];
  /** Arguments an alias implies, keyed by its words joined with a space (`'digest now': { now: true }`). */
  aliasArgs?: Readonly<Record<string, Record<string, unknown>>>;
  /** One line: what it does. */
  summary: string;
  /** Who may run it from chat (the CLI is whoever owns the machine). */
  role: Role | ((args: z.output<A>) => Role);
  /** Positionals and flags, each `.describe()`d; flags are the keys not listed in `positionals`. */
  args: A;
  positionals?: readonly PositionalDef[];
  flags?: Partial<Record<string, FlagDef>>;
  /** How the positionals read in a usage line (`<id>`, `<runA> <runB> [more]`). */
  shape?: string;
  /** What the positionals must be, said when their number is wrong (`a run id`, `two run ids`). */
  arity?: string;
  /** Checks across arguments after the schema; returns the problem in words. */
  check?: (args: z.output<A>, door: FrontDoor) => string | undefined;
  /** Values this command always sets (an alias such as `digest now` is `digest` with post: true). */
  fixed?: Partial<z.output<A>>;
  /** Shown in help with the usage line, when the summary is not enough. */
  note?: string;
  /**
   * Said by `arbiter <command> --help` below the usage line (a file format, a method), followed by every flag with
   * its description.
   */
  detail?: string;
  /** The chat handler: runs the command and returns a Message (Slack and the console). */
  chat?: ChatHandler<z.output<A>>;
  /** The CLI handler: prints and returns the exit code. */
  cli?: (args: z.output<A>, ctx: CliContext) => Promise<number> | number;
  /** The CLI handler needs neither the environment nor the store. */
  standalone?: boolean;
  /** Said when the command is typed at the front door it has no handler for. */
  elsewhere?: string;
  /** Left out of help (a legacy alias kept for one release). */
  hidden?: boolean;
}

/** Opaque chat handler type; commands/table.ts gives it its real dependencies. */
// biome-ignore lint/suspicious/noExplicitAny: the chat context and deps are bound in commands/table.ts
export type ChatHandler<T> = (args: T & { name: string }, ctx: any, deps: any) => Promise<any>;

/** Builds a command definition with its argument types inferred from the schema. */
export function defineCommand<A extends z.ZodObject>(def: CommandDef<A>): CommandDef<A> {
  return def;
}

/** A registry entry with its id (`runs.show`): the `name` of the parsed command. */
export interface Entry extends CommandDef {
  id: string;
}

/** Every command id with its definition. */
export type Registry = Readonly<Record<string, CommandDef>>;

/** The entries of a registry with their ids. */
export function entries(registry: Registry): Entry[] {
  let list = ENTRIES.get(registry);
  if (!list) {
    list = Object.entries(registry).map(([id, def]) => ({ ...def, id }));
    ENTRIES.set(registry, list);
  }
  return list;
}

// Derived once per registry and per command: parsing runs on every slash command, the registry never changes.
const ENTRIES = new WeakMap<Registry, Entry[]>();
const FLAGS = new WeakMap<CommandDef, FlagInfo[]>();
const USAGE = new WeakMap<CommandDef, Partial<Record<FrontDoor, string>>>();

// ---- Schema introspection ----

type AnySchema = z.ZodType & { _zod: { def: Record<string, unknown> & { type: string } } };

function unwrap(schema: AnySchema): AnySchema {
  let s = schema;
  for (;;) {
    const def = s._zod.def;
    if (
      def.type === 'optional' ||
      def.type === 'default' ||
      def.type === 'nullable' ||
      def.type === 'prefault'
    )
      s = def.innerType as AnySchema;
    else if (def.type === 'pipe') s = def.in as AnySchema;
    else return s;
  }
}

function fieldOf(def: CommandDef, key: string): AnySchema {
  return (def.args.shape as Record<string, AnySchema>)[key]!;
}

/** Whether a field is optional (absent is fine) in the schema. */
function isOptional(def: CommandDef, key: string): boolean {
  return fieldOf(def, key).safeParse(undefined).success;
}

/** A flag of a command: its schema key, its typed name, switch or value, and its details. */
export interface FlagInfo {
  key: string;
  flag: string;
  type: 'boolean' | 'string';
  meta: FlagDef;
}

/** The flag keys of a command (its schema keys that are not positionals), with their typed names. */
export function flagsOf(def: CommandDef): FlagInfo[] {
  let flags = FLAGS.get(def);
  if (!flags) {
    flags = computeFlags(def);
    FLAGS.set(def, flags);
  }
  return flags;
}

function computeFlags(def: CommandDef): FlagInfo[] {
  const positional = new Set((def.positionals ?? []).map((p) => p.key));
  const fixed = new Set(Object.keys(def.fixed ?? {}));
  return Object.keys(def.args.shape)
    .filter((k) => !positional.has(k) && !fixed.has(k))
    .map((key) => {
      const meta = def.flags?.[key] ?? {};
      const inner = unwrap(fieldOf(def, key));
      return {
        key,
        flag: meta.flag ?? flagName(key),
        type: inner._zod.def.type === 'boolean' ? ('boolean' as const) : ('string' as const),
        meta,
      };
    });
}

// ---- Usage and help ----

/** The usage line of a command at a front door, without the `arbiter`/`/arbiter` prefix. */
export function usageLine(def: CommandDef, door: FrontDoor): string {
  const known = USAGE.get(def) ?? {};
  USAGE.set(def, known);
  known[door] ??= computeUsage(def, door);
  return known[door];
}

function computeUsage(def: CommandDef, door: FrontDoor): string {
  const parts = [...def.words];
  if (def.shape) parts.push(def.shape);
  for (const f of flagsOf(def)) {
    if (door === 'chat' && f.meta.cliOnly) continue;
    const text = flagText(f);
    parts.push(isOptional(def, f.key) ? `[${text}]` : text);
  }
  return parts.join(' ');
}

/** A flag as usage lines and help show it: `--json`, `--limit N`. */
function flagText(f: FlagInfo): string {
  return f.type === 'boolean' ? `--${f.flag}` : `--${f.flag} ${f.meta.value ?? 'X'}`;
}

/**
 * What `arbiter <command> --help` prints: the usage line and the summary; with a `detail`, that text and every flag
 * with its `.describe()`d text.
 */
export function commandHelp(def: CommandDef): string {
  const lines = [`Usage: arbiter ${usageLine(def, 'cli')}`, `  ${def.summary}`];
  if (def.detail) {
    const flags = flagsOf(def).map((f) => ({
      text: flagText(f),
      what: fieldOf(def, f.key).description ?? '',
    }));
    const width = Math.max(0, ...flags.map((f) => f.text.length)) + 2;
    lines.push('', def.detail, '', 'Options:', ...flags.map((f) => `  ${f.text.padEnd(width)}${f.what}`));
  }
  return `${lines.join('\n')}\n`;
}

/** Whether a command has a handler at a front door. */
export function servedAt(def: CommandDef, door: FrontDoor): boolean {
  return door === 'chat' ? def.chat !== undefined : def.cli !== undefined;
}

/** The help text of a front door: every command it serves, usage then summary, generated from the registry. */
export function helpText(registry: Registry, door: FrontDoor, prefix = ''): string {
  const lines: string[] = [];
  for (const e of entries(registry)) {
    if (e.hidden || !servedAt(e, door)) continue;
    const usage = `${prefix}${usageLine(e, door)}`;
    const summary = e.note ? `${e.summary}; ${e.note}` : e.summary;
    if (usage.length <= 36) lines.push(`  ${usage.padEnd(37)}${summary}`);
    else lines.push(`  ${usage}`, `  ${' '.repeat(37)}${summary}`);
  }
  return lines.join('\n');
}

// ---- Matching and parsing ----

/** A usage mistake: what was wrong (with did-you-mean) and the one usage line that helps. */
export interface UsageProblem {
  error: string;
  /** The relevant usage lines (one for a known command; the group's for an unknown subcommand). */
  usage: string[];
}

/** Result of parsing words at a front door. */
export type Parsed =
  | { ok: true; entry: Entry; args: Record<string, unknown> & { name: string }; used: number }
  | ({ ok: false } & UsageProblem);

function lower(words: readonly string[]): string[] {
  return words.map((w) => w.toLowerCase());
}

/** The entry whose words (or alias) start `words`, the longest match winning. */
export function matchEntry(
  registry: Registry,
  words: readonly string[],
): { entry: Entry; used: number; form: readonly string[] } | undefined {
  const typed = lower(words);
  let best: { entry: Entry; used: number; form: readonly string[] } | undefined;
  for (const e of entries(registry))
    for (const form of [e.words, ...(e.aliases ?? [])]) {
      if (form.length > typed.length) continue;
      if (form.every((w, i) => typed[i] === w) && (!best || form.length > best.used))
        best = { entry: e, used: form.length, form };
    }
  return best;
}

/** The flag a schema field is typed as, or none for a positional. */
function flagOf(def: CommandDef, key: string): FlagInfo | undefined {
  return flagsOf(def).find((f) => f.key === key);
}

/** How a schema field is named to users in messages: its flag, or its positional's place. */
function fieldWord(def: CommandDef, key: string): string {
  const flag = flagOf(def, key);
  if (flag) return `--${flag.flag}`;
  return FIELD_WORDS[key] ?? `the ${key}`;
}

const FIELD_WORDS: Record<string, string> = {
  suite: 'the suite name',
  id: 'the id',
  a: 'the first run id',
  b: 'the second run id',
  runs: 'the run ids',
  token: 'the ballot token',
  reason: 'the reason',
  monitor: 'the monitor name',
  topic: 'the help topic',
};

/** One validation problem in plain words: the field as users type it and what it accepts, never zod's own text. */
function issueText(def: CommandDef, issue: z.core.$ZodIssue): string {
  const key = String(issue.path[0] ?? '');
  const field = fieldWord(def, key);
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
    case 'custom':
      // Our own checks carry their words: `expects a whole number`, `must be one of …`, `expected an id`.
      return /^(expects|must) /.test(issue.message)
        ? `${field}${item} ${issue.message}`
        : `${field}${item}: ${issue.message}`;
    case 'invalid_value': {
      const values = (issue as { values?: unknown[] }).values ?? [];
      return `${field}${item} expects ${values.map(String).join(' or ')}`;
    }
    case 'invalid_type':
      // A required flag left out (a positional left out is said before validation, with the command's words).
      if (issue.path.length === 1 && /received undefined/.test(issue.message)) {
        const value = flagOf(def, key)?.meta.value;
        return `Missing ${field}${value ? ` ${value}` : ''}`;
      }
      return `${field}${item} must be ${issue.expected === 'number' ? 'a whole number' : `a ${issue.expected}`}`;
    default:
      return `${field}${item} is not valid`;
  }
}

/** Where a command works when it is typed at a front door that has no handler for it. */
function elsewhere(entry: CommandDef, door: FrontDoor): string {
  if (entry.elsewhere) return entry.elsewhere;
  return door === 'chat'
    ? 'works only in the `arbiter` CLI (on the machine Arbiter runs on).'
    : 'works only in Slack (`/arbiter …`) and at the console prompt of `npm start`.';
}

/** ` Use `digest` or `digest now`.` for a command with other forms, else nothing. */
function otherForms(entry: CommandDef): string {
  const forms = [entry.words, ...(entry.aliases ?? [])].filter((f) => !f[0]?.startsWith('-'));
  return forms.length > 1 ? ` Use ${forms.map((f) => `\`${f.join(' ')}\``).join(' or ')}.` : '';
}

function subcommandsOf(registry: Registry, head: string, door: FrontDoor): Entry[] {
  return entries(registry).filter(
    (e) => !e.hidden && e.words[0] === head && e.words.length > 1 && (door === 'cli' || !e.cli || e.chat),
  );
}

/**
 * Parses words (already tokenized, without the `/arbiter` or `arbiter` prefix) at a front door: the command, its
 * flags through the one flag parser, its arguments through its schema. Every mistake is a UsageProblem.
 */
export function parseWords(registry: Registry, words: readonly string[], door: FrontDoor): Parsed {
  const prefix = door === 'cli' ? 'arbiter ' : '';
  const all = entries(registry);
  const head = words[0]?.toLowerCase() ?? '';
  const served = (e: Entry) => !e.hidden && (servedAt(e, door) || e.elsewhere !== undefined);
  const match = matchEntry(registry, words);
  const subs = subcommandsOf(registry, head, door).filter(served);
  const sub = words[1];
  // A group word with an unknown subcommand, when the group itself takes no such word.
  const groupMiss =
    subs.length > 0 &&
    sub !== undefined &&
    !sub.startsWith('-') &&
    (!match || (match.used === 1 && !(match.entry.positionals ?? []).length));
  if (!match || groupMiss) {
    if (subs.length > 0) {
      const names = subs.map((e) => e.words[1]!);
      const guess = sub === undefined ? undefined : closestName(sub, names);
      return {
        ok: false,
        error: `Unknown ${head} command "${sub ?? ''}".${guess ? ` Did you mean \`${prefix}${head} ${guess}\`?` : ''} Use ${names.join(', ')}.`,
        usage: subs.map((e) => `${prefix}${usageLine(e, door)}`),
      };
    }
    const heads = [...new Set(all.filter(served).map((e) => e.words[0]!))];
    const guess = closestName(head, heads);
    return {
      ok: false,
      error: `Unknown command "${words[0] ?? ''}".${guess ? ` Did you mean \`${prefix}${guess}\`?` : ''} Commands: ${heads.join(', ')}.`,
      usage: [],
    };
  }
  const { entry, used, form } = match;
  // `review lst …` reads as a review of run "lst": a word close to a subcommand gets a did-you-mean.
  const near =
    used === 1 && sub !== undefined && !sub.startsWith('-') && subs.length
      ? closestName(
          sub,
          subs.map((e) => e.words[1]!),
        )
      : undefined;
  const fail = (error: string, lines: string[]): Parsed => ({
    ok: false,
    error: near ? `${error} Did you mean \`${prefix}${head} ${near}\`?` : error,
    usage: lines,
  });
  const usage = [`${prefix}${usageLine(entry, door)}`];
  const name = entry.words.join(' ');
  if (!servedAt(entry, door)) return fail(`\`${name}\` ${elsewhere(entry, door)}`, []);
  const flags = flagsOf(entry);
  const options: Record<string, FlagOption> = {};
  for (const f of flags)
    options[f.flag] = {
      type: f.type,
      ...(f.meta.short ? { short: f.meta.short } : {}),
      ...(door === 'chat' && f.meta.cliOnly ? { refused: 'works only in the `arbiter` CLI.' } : {}),
    };
  let parsed: ReturnType<typeof parseFlags>;
  try {
    parsed = parseFlags(words.slice(used), {
      options,
      allowPositionals: true,
      ...(door === 'chat' ? { command: name } : {}),
    });
  } catch (err) {
    if (err instanceof ArbiterError) return fail(err.message, usage);
    throw err;
  }
  const candidate: Record<string, unknown> = {};
  for (const f of flags) {
    const v = parsed.values[f.flag];
    if (v !== undefined) candidate[f.key] = v;
  }
  const defs = entry.positionals ?? [];
  const words_ = parsed.positionals;
  const arity = entry.arity ? `${name} needs ${entry.arity}.` : undefined;
  for (const [i, p] of defs.entries()) {
    if (p.variadic === 'array') candidate[p.key] = words_.slice(i);
    else if (p.variadic === 'join') {
      if (words_.length > i) candidate[p.key] = words_.slice(i).join(' ');
    } else if (words_[i] !== undefined) candidate[p.key] = words_[i];
  }
  const takesAll = defs.some((p) => p.variadic);
  if (!takesAll && words_.length > defs.length) {
    const extra = words_[defs.length]!;
    return fail(
      arity ??
        (defs.length
          ? `Unexpected argument ${extra}.`
          : `${name} takes no arguments (got "${extra}").${otherForms(entry)}`),
      usage,
    );
  }
  for (const p of defs)
    if (candidate[p.key] === undefined && !isOptional(entry, p.key))
      return fail(arity ?? `${name} needs ${fieldWord(entry, p.key)}.`, usage);
  Object.assign(candidate, entry.fixed ?? {}, entry.aliasArgs?.[form.join(' ')] ?? {});
  const result = entry.args.safeParse(candidate);
  if (!result.success) {
    const first = result.error.issues[0]!;
    // A positional array that is too short is an arity problem: said with the command's own words.
    if (first.code === 'too_small' && first.origin === 'array' && arity) return fail(arity, usage);
    return fail(`${result.error.issues.map((i) => issueText(entry, i)).join('; ')}.`, usage);
  }
  const args = result.data as Record<string, unknown>;
  const problem = entry.check?.(args, door);
  if (problem) return fail(problem, usage);
  return { ok: true, entry, args: { name: entry.id, ...args }, used };
}
