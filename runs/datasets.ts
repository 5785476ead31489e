// Datasets: JSONL, CSV or YAML rows parsed into DatasetItems. A bad row is reported with its number and reason
// and the other rows still run.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import type * as CsvParseSync from 'csv-parse/sync';
import { z } from 'zod';
import {
  ArbiterError,
  DEFAULT_FIELD_MAX_BYTES,
  formatFieldPath,
  oversizedField,
  yamlLib,
} from '../config/index.ts';
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

/** Options of dataset parsing. */
export interface DatasetParseOptions {
  /** Largest field of a row in UTF-8 bytes (RECORD_FIELD_MAX_BYTES; 256 KB): a larger one fails its row. */
  maxFieldBytes?: number;
}

/** Reads and parses a dataset file; an unreadable file or unknown format is a YAML_INVALID-style config error. */
export function loadDatasetFile(
  file: string,
  format?: DatasetFormat,
  options: DatasetParseOptions = {},
): ParsedDataset {
  const fmt = format ?? formatOf(file);
  if (!fmt) {
    throw new ArbiterError('USAGE', `${file}: unknown dataset format`, {
      hint: 'Use a .jsonl, .csv or .yaml file, or set `dataset.format`.',
    });
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new ArbiterError(
      'USAGE',
      `${file}: cannot read dataset (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  return parseDatasetBytes(bytes, fmt, options);
}

/**
 * Parses a dataset file's bytes. Bytes that are not UTF-8 are never replaced in silence: the rows (JSONL, CSV) that
 * hold them fail with the byte offset, the others run; a YAML file with such bytes is not read at all.
 */
export function parseDatasetBytes(
  bytes: Uint8Array,
  format: DatasetFormat,
  options: DatasetParseOptions = {},
): ParsedDataset {
  const badLines = invalidUtf8Lines(bytes);
  if (badLines.size > 0 && format === 'yaml') {
    const [line, reason] = [...badLines.entries()][0]!;
    return { items: [], errors: [{ row: 0, reason: `line ${line}: ${reason}; the YAML file was not read` }] };
  }
  return parseDataset(new TextDecoder('utf-8').decode(bytes), format, { ...options, badLines });
}

/** The first byte of `b[from, to)` that breaks UTF-8 (bad lead, bad or missing continuation, overlong, surrogate). */
function invalidUtf8At(b: Uint8Array, from: number, to: number): number {
  let i = from;
  while (i < to) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= n; k++) {
      const d = i + k < to ? b[i + k]! : -1;
      if (d < (k === 1 ? lo : 0x80) || d > (k === 1 ? hi : 0xbf)) return i;
    }
    i += n + 1;
  }
  return -1;
}

/** Lines (1-based) holding bytes that are not UTF-8, with a reason naming the byte offset in the file. */
function invalidUtf8Lines(bytes: Uint8Array): Map<number, string> {
  const bad = new Map<number, string>();
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return bad;
  } catch {
    // Located line by line below.
  }
  let line = 1;
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i < bytes.length && bytes[i] !== 0x0a) continue;
    const at = invalidUtf8At(bytes, start, i);
    if (at >= 0)
      bad.set(
        line,
        `invalid UTF-8 at byte offset ${at} of the file (byte ${at - start + 1} of line ${line}): save the file as UTF-8`,
      );
    line++;
    start = i + 1;
  }
  return bad;
}

/** Parses dataset text; pure, so every format is table-tested. */
export function parseDataset(
  text: string,
  format: DatasetFormat,
  options: DatasetParseOptions & { badLines?: ReadonlyMap<number, string> } = {},
): ParsedDataset {
  const maxFieldBytes = options.maxFieldBytes ?? DEFAULT_FIELD_MAX_BYTES;
  const raw = rawRows(text.replace(/^\uFEFF/, ''), format);
  if ('fatal' in raw) return { items: [], errors: [{ row: 0, reason: raw.fatal }] };
  const items: DatasetItem[] = [];
  const errors: RowError[] = [...raw.errors];
  const seen = new Map<string, number>();
  const idRows = new Map<string, number>();
  for (const { row, endRow, value } of raw.rows) {
    const badBytes = options.badLines ? firstBadLine(options.badLines, row, endRow ?? row) : undefined;
    if (badBytes) {
      errors.push({ row, reason: badBytes });
      continue;
    }
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const tooBig = oversizedField(value as Record<string, unknown>, maxFieldBytes);
      if (tooBig) {
        errors.push({ row, reason: tooBig });
        continue;
      }
    }
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
    if (r.id !== undefined) {
      // An id names one row: a second row with it is reported, never renamed (results would pair up wrongly).
      const first = idRows.get(r.id);
      if (first !== undefined) {
        errors.push({
          row,
          reason: `id ${JSON.stringify(r.id)} is already used by row ${first}: ids must be unique (this row was not run)`,
        });
        continue;
      }
      idRows.set(r.id, row);
    }
    let key = r.id !== undefined ? `id:${r.id}` : hashKey(r.input, r.persona);
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    // The same input twice (without ids) is two items: the second gets a stable suffix so both are stored.
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

function firstBadLine(bad: ReadonlyMap<number, string>, from: number, to: number): string | undefined {
  for (let line = from; line <= to; line++) {
    const reason = bad.get(line);
    if (reason) return reason;
  }
  return undefined;
}

/** Item key from the input (and persona): the same input pairs up across runs of a suite. */
export function hashKey(input: string, persona?: string): string {
  return createHash('sha256')
    .update(`${input}\u0000${persona ?? ''}`)
    .digest('hex')
    .slice(0, 16);
}

/** Rows as read, before validation; `endRow` is the last line of a row spanning several (CSV). */
type RawRow = { row: number; endRow?: number; value: unknown };
type RawRows = { rows: RawRow[]; errors: RowError[] } | { fatal: string };

function rawRows(text: string, format: DatasetFormat): RawRows {
  if (format === 'jsonl') {
    const rows: RawRow[] = [];
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
      data = yamlLib().parse(text);
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
  const parsed = parseCsv(text);
  const [header, ...body] = parsed.records;
  if (!header)
    return parsed.errors.length
      ? { fatal: `row ${parsed.errors[0]!.row}: ${parsed.errors[0]!.reason}` }
      : { rows: [], errors: [] };
  // A broken header cannot be skipped: a later line would be read as the header.
  const brokenHeader = parsed.errors.find((e) => e.row < header.line);
  if (brokenHeader)
    return { fatal: `the CSV header (row ${brokenHeader.row}) cannot be read: ${brokenHeader.reason}` };
  const names = header.fields.map((h) => h.trim());
  if (!names.includes('input')) return { fatal: 'CSV header has no `input` column' };
  const rows: RawRow[] = [];
  const errors: RowError[] = [...parsed.errors];
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
    rows.push({ row: rec.line, endRow: rec.endLine, value });
  }
  return { rows, errors };
}

/** One CSV record: the line it starts on, the line it ends on (quoted fields may hold newlines), its fields. */
export interface CsvRecord {
  line: number;
  endLine: number;
  fields: string[];
}

/** Broken records reported before the rest of a file is given up (each one re-reads the rest of the file). */
const MAX_CSV_ERRORS = 200;

/** What a csv-parse error means for the person who wrote the file (its own line numbers are of the re-read part). */
function csvReason(err: unknown): string {
  const code = (err as { code?: string }).code ?? '';
  if (code === 'CSV_QUOTE_NOT_CLOSED')
    return 'a quoted field is never closed: add the missing closing quote (")';
  if (code === 'CSV_INVALID_CLOSING_QUOTE')
    return 'text follows the closing quote of a field: write "" for a quote inside a quoted field';
  if (code.endsWith('INVALID_OPENING_QUOTE'))
    return 'a quote inside an unquoted field: quote the whole field and write "" for each quote in it';
  return `not valid CSV: ${((err as Error).message ?? String(err)).replace(/ at line \d+/g, '')}`;
}

/**
 * RFC 4180 CSV through csv-parse: quoted fields may hold commas, quotes ("") and newlines. A broken record is
 * reported with the line it starts on and reading resumes on the next line, so the other records are kept.
 */
export function parseCsv(text: string): { records: CsvRecord[]; errors: RowError[] } {
  // csv-parse loads on the first CSV file, not when `arbiter help` starts (test/startup.test.ts).
  const { parse: parseCsvText } = createRequire(import.meta.url)('csv-parse/sync') as typeof CsvParseSync;
  const lineStarts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  const records: CsvRecord[] = [];
  const errors: RowError[] = [];
  let from = 1;
  while (from <= lineStarts.length) {
    const chunk = text.slice(lineStarts[from - 1]);
    if (chunk === '') break;
    let lastEnd = from - 1;
    try {
      parseCsvText(chunk, {
        relax_column_count: true,
        on_record: (record, context) => {
          const end = from + context.lines - 1;
          records.push({ line: lastEnd + 1, endLine: end, fields: record });
          lastEnd = end;
          return null;
        },
      });
      break;
    } catch (err) {
      const start = lastEnd + 1;
      if (errors.length >= MAX_CSV_ERRORS) {
        errors.push({
          row: start,
          reason: `${csvReason(err)}; too many broken rows: the rest of the file was not read`,
        });
        break;
      }
      errors.push({ row: start, reason: csvReason(err) });
      from = start + 1;
    }
  }
  return { records, errors };
}
