import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import cron, { type ScheduledTask } from 'node-cron';
import { isMap, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { z } from 'zod';
import { ArbiterError } from './errors.ts';

/** One problem in a YAML file, located by line, column and field path. */
export interface YamlProblem {
  file: string;
  line: number;
  column: number;
  field: string;
  message: string;
}

/** A value loaded from a YAML file, with the file it came from. */
export interface Loaded<T> {
  file: string;
  value: T;
}

/** Formats a field path the way users write it: `metrics[2].args.pattern`. */
export function formatFieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || '(top level)';
}

function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') ? rel : file;
}

function formatProblems(problems: YamlProblem[]): string {
  return problems
    .map((p) => `${displayPath(p.file)}:${p.line}:${p.column}: ${p.field}: ${p.message}`)
    .join('\n');
}

function nodeAt(doc: Document, path: readonly PropertyKey[]): { node: Node | undefined; depth: number } {
  for (let depth = path.length; depth >= 0; depth--) {
    const sub = path.slice(0, depth) as (string | number)[];
    const node = depth === 0 ? (doc.contents as Node | null) : (doc.getIn(sub, true) as Node | undefined);
    if (node && typeof node === 'object' && 'range' in node && node.range) return { node, depth };
  }
  return { node: undefined, depth: 0 };
}

/** Parses YAML text and validates it with a zod schema; returns problems with file, line and field. */
export function parseYaml<S extends z.ZodType>(
  text: string,
  schema: S,
  file: string,
): { ok: true; value: z.infer<S> } | { ok: false; problems: YamlProblem[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return {
          file,
          line: pos.line,
          column: pos.col,
          field: '(syntax)',
          message: e.message.split('\n')[0]!,
        };
      }),
    };
  }
  const data = doc.toJS({ maxAliasCount: 100 });
  const result = schema.safeParse(data);
  if (result.success) return { ok: true, value: result.data };
  const problems = result.error.issues.map((issue) => {
    const { node, depth } = nodeAt(doc, issue.path);
    const pos = node?.range ? lineCounter.linePos(node.range[0]) : { line: 1, col: 1 };
    const missing = depth < issue.path.length && node && (isMap(node) || isSeq(node));
    return {
      file,
      line: pos.line,
      column: pos.col,
      field: formatFieldPath(issue.path),
      message:
        missing && issue.code === 'invalid_type' ? `${issue.message} (field is missing)` : issue.message,
    };
  });
  return { ok: false, problems };
}

/** Loads and validates one YAML file; throws YAML_INVALID naming file, line and field. */
export function loadYamlFile<S extends z.ZodType>(file: string, schema: S): z.infer<S> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ArbiterError(
      'YAML_INVALID',
      `${displayPath(file)}: cannot read file (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      { cause: err },
    );
  }
  const parsed = parseYaml(text, schema, file);
  if (!parsed.ok) {
    throw new ArbiterError('YAML_INVALID', formatProblems(parsed.problems), { details: parsed.problems });
  }
  return parsed.value;
}

/**
 * Loads every `.yaml`/`.yml` file of a folder (sorted by name). All problems from all files are
 * collected into one YAML_INVALID error so a user fixes them in one pass. A missing folder is empty.
 */
export function loadYamlDir<S extends z.ZodType>(dir: string, schema: S): Loaded<z.infer<S>>[] {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory())
      throw new ArbiterError('YAML_INVALID', `${displayPath(dir)}: not a folder`);
    names = readdirSync(dir)
      .filter((n) => /\.ya?ml$/i.test(n))
      .sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: Loaded<z.infer<S>>[] = [];
  const problems: YamlProblem[] = [];
  for (const name of names) {
    const file = join(dir, name);
    const parsed = parseYaml(readFileSync(file, 'utf8'), schema, file);
    if (parsed.ok) out.push({ file, value: parsed.value });
    else problems.push(...parsed.problems);
  }
  if (problems.length > 0)
    throw new ArbiterError('YAML_INVALID', formatProblems(problems), { details: problems });
  return out;
}

function isTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** A 5-field cron expression read in an IANA timezone (monitor and digest schedules in YAML). */
export const CronScheduleSchema = z.strictObject({
  cron: z
    .string()
    .refine((c) => c.trim().split(/\s+/).length === 5 && cron.validate(c), {
      message: 'not a valid 5-field cron expression (minute hour day-of-month month day-of-week)',
    })
    .describe('minute hour day-of-month month day-of-week, e.g. `0 9 * * 1-5` (09:00 on weekdays)'),
  timezone: z
    .string()
    .refine(isTimezone, { message: 'unknown IANA timezone, e.g. Europe/Paris' })
    .default('UTC')
    .describe('IANA timezone the cron fields are read in, e.g. Europe/Paris'),
});

const MINUTE = 60_000;
/** How far back a cron schedule is searched for its latest time (a weekly schedule fits). */
const MAX_SCAN_MINUTES = 8 * 24 * 60;
const cronMatchers = new Map<string, ScheduledTask>();

/**
 * The latest time of a cron schedule at or before `now` (minute resolution), searched back no further than
 * `notBefore` and 8 days; undefined when none is found there. Shared by monitor and digest schedules.
 */
export function latestCronTime(
  schedule: { cron: string; timezone: string },
  now: Date,
  notBefore?: Date,
): Date | undefined {
  const key = `${schedule.cron}|${schedule.timezone}`;
  let task = cronMatchers.get(key);
  if (!task) {
    // A created, never started task: only its timezone-aware `match` is used.
    task = cron.createTask(schedule.cron, () => {}, { timezone: schedule.timezone });
    cronMatchers.set(key, task);
  }
  const floor = notBefore ? notBefore.getTime() : Number.NEGATIVE_INFINITY;
  let t = Math.floor(now.getTime() / MINUTE) * MINUTE;
  for (let i = 0; i < MAX_SCAN_MINUTES && t > floor; i++, t -= MINUTE)
    if (task.match(new Date(t))) return new Date(t);
  return undefined;
}

/**
 * Loads a folder of named definitions (monitors, digests) like loadYamlDir, and refuses two files defining the
 * same `name` (YAML_INVALID naming both files).
 */
export function loadNamedYamlDir<S extends z.ZodType<{ name: string }>>(
  dir: string,
  schema: S,
  kind: string,
): Loaded<z.infer<S>>[] {
  const loaded = loadYamlDir(dir, schema);
  const seen = new Map<string, string>();
  for (const d of loaded) {
    const other = seen.get(d.value.name);
    if (other)
      throw new ArbiterError(
        'YAML_INVALID',
        `${d.file}: name: ${kind} '${d.value.name}' is also defined in ${other}`,
      );
    seen.set(d.value.name, d.file);
  }
  return loaded;
}
