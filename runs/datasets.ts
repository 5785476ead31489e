// Datasets: JSONL, CSV or YAML rows parsed into DatasetItems. A bad row is reported with its number and reason
// and the other rows still run.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYamlText } from 'yaml';
import { z } from 'zod';
import { ArbiterError, formatFieldPath } from '../config/index.ts';
import { ToolCallListSchema, TurnSchema } from '../evaluators/index.ts';
import type { DatasetItem, RowError } from './types.ts';

/** Formats a dataset file may have. */
export type DatasetFormat = 'jsonl' | 'csv' | 'yaml';

const scalarText = z.union([z.string(), z.number(), z.boolean()]).transform((v) => String(v));

/** One dataset row as written by a team (before keys are assigned). */
export const DatasetRowSchema = z
  .object({
    id: scalarText
      .optional()
      .describe(
        "the item's key in the run (ids must be unique); without it the key is derived from the input and persona",
      ),
    input: z.string({ error: 'expected `input` as text' }).describe('the user input sent to the target'),
    expected: scalarText.optional().describe('the reference answer, for metrics such as `equals` and judges'),
    context: z
      .union([z.string(), z.array(z.string()).transform((a) => a.join('\n\n'))])
      .optional()
      .describe('retrieved context the answer should rely on (a list is joined with blank lines)'),
    metadata: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('anything else; templates read `metadata.x`'),
    output: z
      .union([z.string(), z.array(TurnSchema)])
      .optional()
      .describe('a recorded answer (or transcript of {role, content} turns) for the `recorded` target'),
    variables: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('values for template and Langfuse prompt variables (`{{vars.x}}` or `{{x}}`)'),
    persona: z.string().optional().describe('play this row with this persona only (by persona `name`)'),
    toolCalls: ToolCallListSchema.optional().describe(
      'recorded tool calls `[{name, args}]` the `recorded` target returns with the output (CSV: a JSON cell)',
    ),
    expectedToolCalls: ToolCallListSchema.optional().describe(
      'the tool calls expected of the target `[{name, args}]`, for `tool-correctness` and `trajectory` (CSV: a JSON cell)',
    ),
  })
  .strict();

/** Result of parsing a dataset: the usable items and the rows that were not. */
export interface ParsedDataset {
  items: DatasetItem[];
  errors: RowError[];
}

/** Picks the format from the file extension. */
export function formatOf(file: string): DatasetFormat | undefined {
  const ext = extname(file).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.csv') return 'csv';
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  return undefined;
}

/** Reads and parses a dataset file; an unreadable file or unknown format is a YAML_INVALID-style config error. */
export function loadDatasetFile(file: string, format?: DatasetFormat): ParsedDataset {
  const fmt = format ?? formatOf(file);
  if (!fmt) {
    throw new ArbiterError('USAGE', `${file}: unknown dataset format`, {
      hint: 'Use a .jsonl, .csv or .yaml file, or set `dataset.format`.',
    });
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ArbiterError(
      'USAGE',
      `${file}: cannot read dataset (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  return parseDataset(text, fmt);
}

/** Parses dataset text; pure, so every format is table-tested. */
export function parseDataset(text: string, format: DatasetFormat): ParsedDataset {
  const raw = rawRows(text.replace(/^\uFEFF/, ''), format);
  if ('fatal' in raw) return { items: [], errors: [{ row: 0, reason: raw.fatal }] };
  const items: DatasetItem[] = [];
  const errors: RowError[] = [...raw.errors];
  const seen = new Map<string, number>();
  for (const { row, value } of raw.rows) {
    const parsed = DatasetRowSchema.safeParse(value);
    if (!parsed.success) {
      errors.push({
        row,
        reason: parsed.error.issues
          .map((i) => (i.path.length ? `${formatFieldPath(i.path)}: ${i.message}` : i.message))
          .join('; '),
      });
      continue;
    }
    const r = parsed.data;
    let key = r.id !== undefined ? `id:${r.id}` : hashKey(r.input, r.persona);
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    // The same input twice is two items: the second gets a stable suffix so both are stored.
    if (n > 1) key = `${key}#${n}`;
    items.push({
      key,
      row,
      input: r.input,
      ...(r.expected !== undefined ? { expected: r.expected } : {}),
      ...(r.context !== undefined ? { context: r.context } : {}),
      ...(r.metadata !== undefined ? { metadata: r.metadata } : {}),
      ...(r.output !== undefined ? { output: r.output } : {}),
      ...(r.variables !== undefined ? { variables: r.variables } : {}),
      ...(r.persona !== undefined ? { persona: r.persona } : {}),
      ...(r.toolCalls !== undefined ? { toolCalls: r.toolCalls } : {}),
      ...(r.expectedToolCalls !== undefined ? { expectedToolCalls: r.expectedToolCalls } : {}),
    });
  }
  errors.sort((a, b) => a.row - b.row);
  return { items, errors };
}

/** Item key from the input (and persona): the same input pairs up across runs of a suite. */
export function hashKey(input: string, persona?: string): string {
  return createHash('sha256')
    .update(`${input}\u0000${persona ?? ''}`)
    .digest('hex')
    .slice(0, 16);
}

type RawRows = { rows: { row: number; value: unknown }[]; errors: RowError[] } | { fatal: string };

function rawRows(text: string, format: DatasetFormat): RawRows {
  if (format === 'jsonl') {
    const rows: { row: number; value: unknown }[] = [];
    const errors: RowError[] = [];
    text.split(/\r?\n/).forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        rows.push({ row: i + 1, value: JSON.parse(line) });
      } catch (err) {
        errors.push({ row: i + 1, reason: `not valid JSON (${(err as Error).message})` });
      }
    });
    return { rows, errors };
  }
  if (format === 'yaml') {
    let data: unknown;
    try {
      data = parseYamlText(text);
    } catch (err) {
      return { fatal: `not valid YAML: ${(err as Error).message.split('\n')[0]}` };
    }
    const list = Array.isArray(data)
      ? data
      : data && typeof data === 'object' && Array.isArray((data as { items?: unknown }).items)
        ? (data as { items: unknown[] }).items
        : undefined;
    if (!list) return { fatal: 'expected a YAML list of rows (or `items:` holding one)' };
    return { rows: list.map((value, i) => ({ row: i + 1, value })), errors: [] };
  }
  return csvRows(text);
}

const CSV_FIELDS = new Set(['id', 'input', 'expected', 'context', 'output', 'persona']);
/** CSV columns whose cells hold JSON. */
const JSON_CELLS = new Set(['metadata', 'variables', 'toolCalls', 'expectedToolCalls']);

function csvRows(text: string): RawRows {
  const records = parseCsv(text);
  if (!records.ok) return { fatal: records.error };
  const [header, ...body] = records.records;
  if (!header) return { rows: [], errors: [] };
  const names = header.fields.map((h) => h.trim());
  if (!names.includes('input')) return { fatal: 'CSV header has no `input` column' };
  const rows: { row: number; value: unknown }[] = [];
  const errors: RowError[] = [];
  for (const rec of body) {
    if (rec.fields.length === 1 && rec.fields[0] === '') continue;
    if (rec.fields.length !== names.length) {
      errors.push({
        row: rec.line,
        reason: `expected ${names.length} columns, found ${rec.fields.length}`,
      });
      continue;
    }
    const value: Record<string, unknown> = {};
    const metadata: Record<string, unknown> = {};
    let bad: string | undefined;
    names.forEach((name, i) => {
      const cell = rec.fields[i]!;
      if (CSV_FIELDS.has(name)) {
        if (cell !== '' || name === 'input') value[name] = cell;
      } else if (JSON_CELLS.has(name)) {
        if (cell === '') return;
        try {
          value[name] = JSON.parse(cell);
        } catch {
          bad = `column ${name}: not valid JSON`;
        }
      } else if (cell !== '') metadata[name] = cell;
    });
    if (bad) {
      errors.push({ row: rec.line, reason: bad });
      continue;
    }
    if (Object.keys(metadata).length > 0)
      value.metadata = { ...metadata, ...((value.metadata as object | undefined) ?? {}) };
    rows.push({ row: rec.line, value });
  }
  return { rows, errors };
}

/** RFC 4180 CSV: quoted fields may hold commas, quotes ("") and newlines; `line` is where a record starts. */
export function parseCsv(
  text: string,
): { ok: true; records: { line: number; fields: string[] }[] } | { ok: false; error: string } {
  const records: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let recordLine = 1;
  let quoteStart = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
      continue;
    }
    if (c === '"' && field === '') {
      quoted = true;
      quoteStart = line;
    } else if (c === ',') {
      fields.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      fields.push(field);
      records.push({ line: recordLine, fields });
      fields = [];
      field = '';
      line++;
      recordLine = line;
    } else field += c;
  }
  if (quoted) return { ok: false, error: `unterminated quoted field starting on line ${quoteStart}` };
  if (field !== '' || fields.length > 0) {
    fields.push(field);
    records.push({ line: recordLine, fields });
  }
  return { ok: true, records };
}
