import { readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import type * as YamlLib from 'yaml';
import type { Document, LineCounter, Node } from 'yaml';
import type { z } from 'zod';
import { ArbiterError } from './errors.ts';
import { type JsonSchema, jsonSchemaOf, typeOf } from './schema-doc.ts';
import { closestName } from './suggest.ts';

/**
 * The yaml package, loaded when first used (a file parsed or written), not when `arbiter help` starts
 * (test/startup.test.ts).
 */
export function yamlLib(): typeof YamlLib {
  return createRequire(import.meta.url)('yaml') as typeof YamlLib;
}

/** One problem in a YAML file, located by line, column and field path. */
export interface YamlProblem {
  file: string;
  line: number;
  column: number;
  field: string;
  message: string;
}

/** A value loaded from a YAML file, with the file it came from and its load warnings (old forms still accepted). */
export interface Loaded<T> {
  file: string;
  value: T;
  /** `file:line:column: field: message` for each old form the file still uses; empty when none. */
  warnings: string[];
}

/**
 * Reports an old form at `path` with a message naming the new one; `moved` says a key was renamed, so problems found
 * at the new key are reported at the key the user wrote.
 */
export type UpgradeWarn = (
  path: readonly PropertyKey[],
  message: string,
  moved?: { from: readonly PropertyKey[]; to: readonly PropertyKey[] },
) => void;

/**
 * Rewrites the old forms of a document into the current ones before validation (in place), calling `warn` for each.
 * `file` is the YAML file (for file-relative paths).
 */
export type Upgrade = (data: unknown, warn: UpgradeWarn, file: string) => void;

/** Options of the YAML loaders. */
export interface YamlOptions {
  /** Old forms accepted with a warning, for one release. */
  upgrade?: Upgrade;
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

function formatProblem(p: YamlProblem): string {
  return `${displayPath(p.file)}:${p.line}:${p.column}: ${p.field}: ${p.message}`;
}

/** Formats problems (or warnings) one a line: `file:line:column: field: message`. */
export function formatProblems(problems: readonly YamlProblem[]): string {
  return problems.map(formatProblem).join('\n');
}

/** Line and column of the key at the end of `path` (or of the nearest node on it). */
function keyPosition(
  doc: Document,
  lineCounter: LineCounter,
  path: readonly PropertyKey[],
): { line: number; col: number } {
  const { isMap, isScalar } = yamlLib();
  const last = path[path.length - 1];
  if (typeof last === 'string') {
    const parent = nodeAt(doc, path.slice(0, -1));
    if (parent.depth === path.length - 1 && parent.node && isMap(parent.node)) {
      const pair = parent.node.items.find((it) => isScalar(it.key) && String(it.key.value) === last);
      if (pair && isScalar(pair.key) && pair.key.range) return lineCounter.linePos(pair.key.range[0]);
    }
  }
  const { node } = nodeAt(doc, path);
  return node?.range ? lineCounter.linePos(node.range[0]) : { line: 1, col: 1 };
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
  options: YamlOptions = {},
):
  | {
      ok: true;
      value: z.infer<S> /** Old forms still accepted; absent when none. */;
      warnings?: YamlProblem[];
    }
  | { ok: false; problems: YamlProblem[] } {
  const { isMap, isScalar, isSeq, LineCounter, parseDocument } = yamlLib();
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
  const warnings: YamlProblem[] = [];
  const moves: { from: readonly PropertyKey[]; to: readonly PropertyKey[] }[] = [];
  options.upgrade?.(
    data,
    (path, message, moved) => {
      const at = keyPosition(doc, lineCounter, path);
      warnings.push({ file, line: at.line, column: at.col, field: formatFieldPath(path), message });
      if (moved) moves.push(moved);
    },
    file,
  );
  const result = schema.safeParse(data);
  if (result.success) return { ok: true, value: result.data, ...(warnings.length ? { warnings } : {}) };
  // A problem under a renamed key is reported where the user wrote it (the old key).
  const issues = result.error.issues.map((issue) => {
    const move = moves.find(
      (m) => m.to.length <= issue.path.length && m.to.every((seg, i) => issue.path[i] === seg),
    );
    return move ? { ...issue, path: [...move.from, ...issue.path.slice(move.to.length)] } : issue;
  });
  let json: JsonSchema | undefined;
  const jsonAt = (path: readonly PropertyKey[]) => {
    json ??= jsonSchemaOf(schema);
    return schemasAt(json, path);
  };
  const problems = issues.flatMap((issue): YamlProblem[] => {
    const { node, depth } = nodeAt(doc, issue.path);
    const pos = node?.range ? lineCounter.linePos(node.range[0]) : { line: 1, col: 1 };
    const missing = depth < issue.path.length && node && (isMap(node) || isSeq(node));
    if (issue.code === 'unrecognized_keys') {
      // Each unknown key at its own line and column, with the closest valid key.
      const value = valueAt(data, issue.path);
      const forms = jsonAt(issue.path).filter((j) => fitsDiscriminator(j, value));
      const valid = [...new Set(forms.flatMap((j) => Object.keys(j.properties ?? {})))];
      const map = depth === issue.path.length && node && isMap(node) ? node : undefined;
      return issue.keys.map((key) => {
        const pair = map?.items.find((it) => isScalar(it.key) && String(it.key.value) === key);
        const at =
          pair && isScalar(pair.key) && pair.key.range ? lineCounter.linePos(pair.key.range[0]) : pos;
        const guess = closestName(key, valid);
        return {
          file,
          line: at.line,
          column: at.col,
          field: formatFieldPath([...issue.path, key]),
          message: `unknown key${guess ? ` (did you mean '${guess}'?)` : ''}${valid.length ? `; valid keys: ${valid.join(', ')}` : ''}`,
        };
      });
    }
    let message = issue.message;
    if (issue.code === 'invalid_union' && /^Invalid input$/.test(message)) {
      // None of the forms fits at all: say which forms there are instead of zod's "Invalid input".
      const forms = jsonAt(issue.path).flatMap((j) => j.anyOf ?? j.oneOf ?? [j]);
      if (forms.length) message = `expected ${forms.map(formOf).join(', or ')}`;
    }
    if (missing && (issue.code === 'invalid_type' || issue.code === 'invalid_union'))
      message = `${message} (field is missing)`;
    return [{ file, line: pos.line, column: pos.col, field: formatFieldPath(issue.path), message }];
  });
  return { ok: false, problems };
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let at = data;
  for (const seg of path)
    at = at && typeof at === 'object' ? (at as Record<PropertyKey, unknown>)[seg] : undefined;
  return at;
}

/** False for a form of a tagged union whose tag (`type: file`) the value contradicts. */
function fitsDiscriminator(form: JsonSchema, value: unknown): boolean {
  if (!value || typeof value !== 'object') return true;
  return Object.entries(form.properties ?? {}).every(
    ([k, p]) => p.const === undefined || !(k in value) || (value as Record<string, unknown>)[k] === p.const,
  );
}

/** The JSON Schemas a field path can lead to (every form of a union along the way). */
function schemasAt(root: JsonSchema, path: readonly PropertyKey[]): JsonSchema[] {
  let at = [root];
  for (const seg of path) {
    at = at
      .flatMap((j) => j.anyOf ?? j.oneOf ?? [j])
      .flatMap((j) => {
        if (typeof seg === 'number') return j.items ? [j.items] : [];
        const prop = j.properties?.[String(seg)];
        if (prop) return [prop];
        return j.additionalProperties && typeof j.additionalProperties === 'object'
          ? [j.additionalProperties]
          : [];
      });
  }
  return at.flatMap((j) => j.anyOf ?? j.oneOf ?? [j]);
}

/** One accepted form for a message: `a mapping {cron, timezone?}`, `text`, `a number 0–1`. */
function formOf(j: JsonSchema): string {
  if (!j.properties) return typeOf(j);
  const required = new Set(j.required ?? []);
  const keys = Object.entries(j.properties).map(([k, p]) =>
    required.has(k) && p.default === undefined ? k : `${k}?`,
  );
  return `a mapping {${keys.join(', ')}}`;
}

/** A schema built for one file (paths in it are checked relative to the file's folder). */
export type SchemaFor<S extends z.ZodType> = (file: string) => S;

function schemaOf<S extends z.ZodType>(schema: S | SchemaFor<S>, file: string): S {
  return typeof schema === 'function' ? (schema as SchemaFor<S>)(file) : schema;
}

/** Loads and validates one YAML file with its warnings; throws YAML_INVALID naming file, line and field. */
export function readYamlFile<S extends z.ZodType>(
  file: string,
  schema: S | SchemaFor<S>,
  options: YamlOptions = {},
): Loaded<z.infer<S>> {
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
  const parsed = parseYaml(text, schemaOf(schema, file), file, options);
  if (!parsed.ok) {
    throw new ArbiterError('YAML_INVALID', formatProblems(parsed.problems), { details: parsed.problems });
  }
  return { file, value: parsed.value, warnings: (parsed.warnings ?? []).map(formatProblem) };
}

/** Loads and validates one YAML file; throws YAML_INVALID naming file, line and field. */
export function loadYamlFile<S extends z.ZodType>(
  file: string,
  schema: S,
  options: YamlOptions = {},
): z.infer<S> {
  return readYamlFile(file, schema, options).value;
}

/**
 * Loads every `.yaml`/`.yml` file of a folder (sorted by name). All problems from all files are
 * collected into one YAML_INVALID error so a user fixes them in one pass. A missing folder is empty.
 */
export function loadYamlDir<S extends z.ZodType>(
  dir: string,
  schema: S | SchemaFor<S>,
  options: YamlOptions = {},
): Loaded<z.infer<S>>[] {
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
    const parsed = parseYaml(readFileSync(file, 'utf8'), schemaOf(schema, file), file, options);
    if (parsed.ok)
      out.push({ file, value: parsed.value, warnings: (parsed.warnings ?? []).map(formatProblem) });
    else problems.push(...parsed.problems);
  }
  if (problems.length > 0)
    throw new ArbiterError('YAML_INVALID', formatProblems(problems), { details: problems });
  return out;
}

/**
 * Loads a folder of named definitions (monitors, digests) like loadYamlDir, and refuses two files defining the
 * same `name` (YAML_INVALID naming both files).
 */
export function loadNamedYamlDir<S extends z.ZodType<{ name: string }>>(
  dir: string,
  schema: S | SchemaFor<S>,
  kind: string,
  options: YamlOptions = {},
): Loaded<z.infer<S>>[] {
  const loaded = loadYamlDir(dir, schema, options);
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
