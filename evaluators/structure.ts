// Structure metrics: JSON Schema validity (Ajv, of the output or of tool-call arguments), JSON somewhere in the
// output, a required opening, SQL that parses in a dialect (node-sql-parser) and well-formed XML (fast-xml-parser).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import type * as AjvModule from 'ajv';
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';
import type * as Ajv2020Module from 'ajv/dist/2020.js';
import type { Ajv2020 } from 'ajv/dist/2020.js';
import type * as FastXmlParser from 'fast-xml-parser';
import { z } from 'zod';
import { parseJsonOutput } from './heuristics.ts';
import { errorMessage, errorScore, outputText, passFail } from './score.ts';
import { defineMetric, type Item, type Metric, type Score } from './types.ts';

function heuristic(name: string, score: (item: Item) => Score): Metric {
  return { name, kind: 'heuristic', score: async (item) => score(item) };
}

// ajv-formats is CommonJS; its default import is the plugin function itself.
// Ajv (with its formats) and the XML validator are required by the first metric that needs them, not at start:
// the metric registry is loaded by every command, `arbiter help` included.
const requireCjs = createRequire(import.meta.url);
const ajvLib = () => ({
  Ajv: (requireCjs('ajv') as typeof AjvModule).Ajv,
  Ajv2020: (requireCjs('ajv/dist/2020.js') as typeof Ajv2020Module).Ajv2020,
  addFormats: requireCjs('ajv-formats') as {
    default: (ajv: Ajv | Ajv2020) => unknown;
  },
});

const DRAFT_07 = /json-schema\.org\/draft-0[4-7]\/schema/;

/** Compiles a JSON Schema with Ajv (draft 2020-12, or draft-07 when `$schema` says so) and the standard formats. */
export function compileJsonSchema(
  schema: unknown,
): { ok: true; validate: ValidateFunction } | { ok: false; error: string } {
  if (typeof schema !== 'boolean' && (typeof schema !== 'object' || schema === null || Array.isArray(schema)))
    return { ok: false, error: 'a JSON Schema is an object (or true/false)' };
  const declared = typeof schema === 'object' ? (schema as { $schema?: unknown }).$schema : undefined;
  const options = { allErrors: true, strict: false } as const;
  const lib = ajvLib();
  const ajv =
    typeof declared === 'string' && DRAFT_07.test(declared) ? new lib.Ajv(options) : new lib.Ajv2020(options);
  lib.addFormats.default(ajv);
  try {
    return { ok: true, validate: ajv.compile(schema as object) };
  } catch (err) {
    return { ok: false, error: errorMessage(err) };
  }
}

/** Ajv errors as `$.path: message` lines. */
function ajvIssues(errors: readonly ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    const path = `$${e.instancePath.replace(/\/(\d+)(?=\/|$)/g, '[$1]').replace(/\//g, '.')}`;
    // A missing property is reported at its own path, where the user will look for it.
    if (e.keyword === 'required')
      return `${path}.${String((e.params as { missingProperty?: unknown }).missingProperty)}: is required`;
    const extra =
      e.keyword === 'additionalProperties'
        ? ` ('${String((e.params as { additionalProperty?: unknown }).additionalProperty)}')`
        : e.keyword === 'enum'
          ? ` (${JSON.stringify((e.params as { allowedValues?: unknown }).allowedValues)})`
          : '';
    return `${path}: ${e.message ?? e.keyword}${extra}`;
  });
}

function shownIssues(issues: readonly string[]): string {
  return issues.slice(0, 3).join('; ') + (issues.length > 3 ? `; and ${issues.length - 3} more` : '');
}

const JsonSchemaArgs = z
  .strictObject({
    schema: z
      .union([z.boolean(), z.record(z.string(), z.unknown())])
      .optional()
      .describe('an inline JSON Schema (draft 2020-12; draft-07 when its `$schema` says so)'),
    schemaPath: z
      .string()
      .min(1)
      .optional()
      .describe('a JSON Schema file instead, relative to the suite or monitor file'),
    of: z
      .enum(['output', 'tool-args'])
      .default('output')
      .describe(
        "`output`: the output is JSON matching the schema; `tool-args`: each tool call's arguments match it",
      ),
    tool: z
      .string()
      .min(1)
      .optional()
      .describe('with `of: tool-args`: check only the calls of this tool (default: every call)'),
    allowFence: z.boolean().default(true).describe('accept one surrounding ``` code fence'),
  })
  .superRefine((a, ctx) => {
    if ((a.schema === undefined) === (a.schemaPath === undefined))
      ctx.addIssue({ code: 'custom', path: ['schema'], message: 'give either `schema` or `schemaPath`' });
    if (a.schema !== undefined) {
      const r = compileJsonSchema(a.schema);
      if (!r.ok)
        ctx.addIssue({ code: 'custom', path: ['schema'], message: `invalid JSON Schema: ${r.error}` });
    }
    if (a.tool !== undefined && a.of !== 'tool-args')
      ctx.addIssue({ code: 'custom', path: ['tool'], message: '`tool` needs `of: tool-args`' });
  });

/** Reads a schema file named relative to the suite; errors name the file. */
function loadSchemaFile(path: string, baseDir: string | undefined): unknown {
  const file = resolve(baseDir ?? process.cwd(), path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(
      `schemaPath ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`schemaPath ${file}: not valid JSON (${errorMessage(err)})`);
  }
}

/** `json-schema`: the output (or each tool call's arguments) satisfies a JSON Schema, validated by Ajv. */
export const jsonSchemaMetric = defineMetric({
  description:
    'Output is JSON that satisfies a JSON Schema (Ajv with formats), or with of: tool-args, every tool call’s arguments do.',
  kind: 'heuristic',
  args: JsonSchemaArgs,
  example: {
    schema: {
      type: 'object',
      properties: { answer: { type: 'string' }, sources: { type: 'array', items: { type: 'string' } } },
      required: ['answer'],
    },
  },
  create(args, deps) {
    const source = args.schema ?? loadSchemaFile(args.schemaPath!, deps.baseDir);
    const compiled = compileJsonSchema(source);
    if (!compiled.ok)
      throw new Error(
        `${args.schemaPath ? `schemaPath ${args.schemaPath}: ` : ''}invalid JSON Schema: ${compiled.error}`,
      );
    const validate = compiled.validate;
    if (args.of === 'tool-args') {
      return heuristic('json-schema', (item) => {
        if (item.toolCalls === undefined)
          return errorScore('json-schema', 'the item has no `toolCalls` to check the arguments of', {
            errorCause: 'input',
          });
        const calls = item.toolCalls.filter((c) => args.tool === undefined || c.name === args.tool);
        if (calls.length === 0)
          return passFail(
            'json-schema',
            false,
            args.tool ? `no call of tool '${args.tool}' to check` : 'the target made no tool calls',
          );
        const bad: string[] = [];
        calls.forEach((c, i) => {
          if (!validate(c.args))
            bad.push(`call ${i + 1} (${c.name}): ${shownIssues(ajvIssues(validate.errors))}`);
        });
        return passFail(
          'json-schema',
          bad.length === 0,
          bad.length === 0
            ? `the arguments of ${calls.length} tool call(s) match the JSON Schema`
            : `tool arguments do not match the JSON Schema: ${bad.slice(0, 3).join(' | ')}`,
          { checked: calls.length, failed: bad.length },
        );
      });
    }
    return heuristic('json-schema', (item) => {
      const parsed = parseJsonOutput(outputText(item), args.allowFence);
      if (!parsed.ok) return passFail('json-schema', false, parsed.error);
      if (validate(parsed.value)) return passFail('json-schema', true, 'output matches the JSON Schema');
      const issues = ajvIssues(validate.errors);
      return passFail('json-schema', false, `output does not match the JSON Schema: ${shownIssues(issues)}`, {
        issues: issues.slice(0, 20),
      });
    });
  },
});

/**
 * The first JSON object or array embedded in a text (prose around it allowed), or undefined. Each `{` or `[` is
 * tried as a start; the matching close is found by bracket depth outside strings, then the span is parsed.
 */
export function findJson(text: string): { value: unknown; start: number; end: number } | undefined {
  for (let start = 0; start < text.length; start++) {
    const open = text[start];
    if (open !== '{' && open !== '[') continue;
    let depth = 0;
    let inString = false;
    for (let i = start; i < text.length; i++) {
      const c = text[i];
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') inString = true;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) {
          try {
            return { value: JSON.parse(text.slice(start, i + 1)), start, end: i + 1 };
          } catch {
            break;
          }
        }
      }
    }
  }
  return undefined;
}

/** `contains-json`: a JSON object or array appears somewhere in the output (optionally matching a schema). */
export const containsJsonMetric = defineMetric({
  description:
    'Output contains a JSON object or array somewhere in its text (prose around it allowed), optionally matching a JSON Schema.',
  kind: 'heuristic',
  args: z
    .strictObject({
      schema: z
        .union([z.boolean(), z.record(z.string(), z.unknown())])
        .optional()
        .describe('a JSON Schema the embedded JSON must also satisfy'),
    })
    .superRefine((a, ctx) => {
      if (a.schema === undefined) return;
      const r = compileJsonSchema(a.schema);
      if (!r.ok)
        ctx.addIssue({ code: 'custom', path: ['schema'], message: `invalid JSON Schema: ${r.error}` });
    }),
  example: { schema: { type: 'object', required: ['answer'] } },
  create(args) {
    const compiled = args.schema === undefined ? undefined : compileJsonSchema(args.schema);
    const validate = compiled?.ok ? compiled.validate : undefined;
    return heuristic('contains-json', (item) => {
      const found = findJson(outputText(item));
      if (!found) return passFail('contains-json', false, 'output contains no JSON object or array');
      if (validate && !validate(found.value))
        return passFail(
          'contains-json',
          false,
          `the JSON in the output does not match the JSON Schema: ${shownIssues(ajvIssues(validate.errors))}`,
        );
      return passFail(
        'contains-json',
        true,
        `output contains JSON at characters ${found.start}–${found.end}${validate ? ' matching the JSON Schema' : ''}`,
      );
    });
  },
});

const text = z.string().min(1, { error: 'expected a non-empty string' });

/** `starts-with`: the output begins with a value (or one of a list). */
export const startsWithMetric = defineMetric({
  description:
    'Output starts with a value, or with one of a list of values (leading whitespace ignored by default).',
  kind: 'heuristic',
  args: z.strictObject({
    value: z
      .union([text, z.array(text).min(1, { error: 'expected at least one value' })])
      .describe('a string, or a list of accepted openings'),
    caseSensitive: z.boolean().default(true).describe('compare with case (default true)'),
    trim: z.boolean().default(true).describe('ignore leading whitespace of the output'),
  }),
  example: { value: ['Yes', 'No'] },
  create(args) {
    const values = typeof args.value === 'string' ? [args.value] : args.value;
    const norm = (s: string) => (args.caseSensitive ? s : s.toLowerCase());
    return heuristic('starts-with', (item) => {
      let out = outputText(item);
      if (args.trim) out = out.trimStart();
      const hit = values.find((v) => norm(out).startsWith(norm(v)));
      return passFail(
        'starts-with',
        hit !== undefined,
        hit !== undefined
          ? `output starts with ${JSON.stringify(hit)}`
          : `output does not start with ${values.map((v) => JSON.stringify(v)).join(' or ')}`,
      );
    });
  },
});

const FENCE = /^```[\w-]*\s*\n([\s\S]*?)\n?```$/;

function unfence(raw: string, allow: boolean): string {
  const body = raw.trim();
  if (!allow) return body;
  return FENCE.exec(body)?.[1]?.trim() ?? body;
}

/** Dialects node-sql-parser parses (its `database` option). */
export const SQL_DIALECTS = [
  'mysql',
  'mariadb',
  'postgresql',
  'sqlite',
  'bigquery',
  'transactsql',
  'snowflake',
  'redshift',
  'hive',
  'db2',
  'flinksql',
  'athena',
  'trino',
  'noql',
] as const;

const NODE_SQL_DIALECT: Record<(typeof SQL_DIALECTS)[number], string> = {
  mysql: 'MySQL',
  mariadb: 'MariaDB',
  postgresql: 'PostgresQL',
  sqlite: 'Sqlite',
  bigquery: 'BigQuery',
  transactsql: 'TransactSQL',
  snowflake: 'Snowflake',
  redshift: 'Redshift',
  hive: 'Hive',
  db2: 'DB2',
  flinksql: 'FlinkSQL',
  athena: 'Athena',
  trino: 'Trino',
  noql: 'Noql',
};

type SqlParser = { astify(sql: string, opt?: { database?: string }): unknown };
let sqlParser: SqlParser | undefined;
// node-sql-parser is CommonJS and large: loaded on the first SQL check, not at start-up.
const loadSqlParser = (): SqlParser => {
  sqlParser ??= new (
    createRequire(import.meta.url)('node-sql-parser') as { Parser: new () => SqlParser }
  ).Parser();
  return sqlParser;
};

/** `is-sql`: the output parses as SQL in a dialect. */
export const isSqlMetric = defineMetric({
  description:
    'Output is SQL that parses in the given dialect (node-sql-parser); one ``` code fence is allowed.',
  kind: 'heuristic',
  args: z.strictObject({
    dialect: z.enum(SQL_DIALECTS).default('postgresql').describe('the SQL dialect the output must parse in'),
    allowFence: z.boolean().default(true).describe('accept one surrounding ``` code fence'),
  }),
  example: { dialect: 'sqlite' },
  create(args) {
    return heuristic('is-sql', (item) => {
      const sql = unfence(outputText(item), args.allowFence);
      if (sql === '') return passFail('is-sql', false, 'output is empty');
      try {
        loadSqlParser().astify(sql, { database: NODE_SQL_DIALECT[args.dialect] });
        return passFail('is-sql', true, `output parses as ${args.dialect} SQL`);
      } catch (err) {
        return passFail(
          'is-sql',
          false,
          `output is not valid ${args.dialect} SQL: ${errorMessage(err).slice(0, 200)}`,
        );
      }
    });
  },
});

/** `is-xml`: the output is well-formed XML (optionally with a given root element). */
export const isXmlMetric = defineMetric({
  description: 'Output is well-formed XML (fast-xml-parser), optionally with a given root element.',
  kind: 'heuristic',
  args: z.strictObject({
    root: z.string().min(1).optional().describe('the name the root element must have'),
    allowFence: z.boolean().default(true).describe('accept one surrounding ``` code fence'),
  }),
  example: { root: 'invoice' },
  create(args) {
    return heuristic('is-xml', (item) => {
      const xml = unfence(outputText(item), args.allowFence);
      if (xml === '') return passFail('is-xml', false, 'output is empty');
      if (!xml.startsWith('<')) return passFail('is-xml', false, 'output does not start with an XML tag');
      const r = (requireCjs('fast-xml-parser') as typeof FastXmlParser).XMLValidator.validate(xml);
      if (r !== true)
        return passFail(
          'is-xml',
          false,
          `output is not well-formed XML: ${r.err.msg} (line ${r.err.line}, column ${r.err.col})`,
        );
      if (args.root) {
        // The first element after the prolog, comments and doctype.
        const m = /^(?:<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!DOCTYPE[^>]*>|\s)*<([A-Za-z_][\w.:-]*)/.exec(xml);
        if (m?.[1] !== args.root)
          return passFail('is-xml', false, `the root element is <${m?.[1] ?? '?'}>, expected <${args.root}>`);
      }
      return passFail('is-xml', true, 'output is well-formed XML');
    });
  },
});
