// Sources: a registry keyed by type; each returns the records after a stored cursor, up to the tick time.
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { z } from 'zod';
import { type LangfuseClient, type ObservationV2, fieldsFor, readObservations } from '../langfuse/index.ts';
import type { Score } from '../evaluators/index.ts';
import { type Clock, type Logger, parseDuration } from '../config/index.ts';
import { getPath } from './extract.ts';
import type { FileSourceSchema, LangfuseSourceSchema, SourceSpec } from './schema.ts';
import type { SlackReader } from './slack-reader.ts';
import { createSlackSource } from './slack-source.ts';

/** One record read from a source, before extraction. */
export interface SourceRecord {
  id: string;
  /** When it happened, ms since epoch (sampling by recency uses it). */
  time: number;
  record: unknown;
  url?: string;
  traceId?: string;
  observationId?: string;
  /** Langfuse environment of the scored trace (Langfuse sources only): published scores carry it. */
  environment?: string;
  /** Scores the source already knows (Slack 👍/👎 as `human_feedback`), stored with the item's metric scores. */
  scores?: Score[];
}

/** What one read returned: records, the cursor to store once they are handled, and records that did not parse. */
export interface SourceBatch {
  records: SourceRecord[];
  cursor: unknown;
  invalid: { id: string; reason: string }[];
  /** How the read went, for logs and dry runs (which API, what was left out or retried). */
  notes?: string[];
}

/** Expected failures of a source are values, so a tick records them instead of throwing. */
export type SourceResult =
  | { ok: true; value: SourceBatch }
  | { ok: false; error: string; retryable: boolean };

/** A configured source. */
export interface Source {
  /** Stable name used in dedup keys (`file:<path>`, `langfuse`). */
  readonly key: string;
  /** Records after `cursor` (undefined on the first tick) up to `until`; `since` overrides the cursor (backfill). */
  read(cursor: unknown, until: Date, options?: { since?: Date }): Promise<SourceResult>;
  /** The latest `n` records, for an extractor dry-run. */
  latest(n: number, now: Date): Promise<SourceResult>;
}

/** What sources may need from the outside. */
export interface SourceDeps {
  langfuse?: LangfuseClient;
  langfuseBaseUrl?: string;
  /** Folder relative file paths resolve against (the monitor file's folder is NOT used: paths are from the cwd). */
  baseDir?: string;
  /** Pacing of Slack calls and the waits before retrying a rate-limited call (the tick passes its clock; default: the system's). */
  clock?: Pick<Clock, 'nowMs' | 'sleep'>;
  /** The Slack reading client of `slack` sources (the bot's WebClient, adapted; absent without SLACK_BOT_TOKEN). */
  slack?: SlackReader;
  /** The extractor's dot paths (`extractPaths`): a Langfuse source asks only for the field groups they need. */
  extractPaths?: readonly string[];
  logger?: Logger;
}

type Factory<S> = (spec: S, deps: SourceDeps) => Source | { error: string };

function fileSource(spec: z.infer<typeof FileSourceSchema>, deps: SourceDeps): Source {
  const path = isAbsolute(spec.path) ? spec.path : resolve(deps.baseDir ?? process.cwd(), spec.path);
  const load = async (): Promise<{ ok: true; lines: string[] } | { ok: false; error: string }> => {
    try {
      const text = await readFile(path, 'utf8');
      const lines = text.split('\n');
      if (lines.at(-1) === '') lines.pop();
      return { ok: true, lines };
    } catch (err) {
      return {
        ok: false,
        error: `cannot read ${spec.path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      };
    }
  };
  const parse = (lines: string[], from: number, since?: Date): Omit<SourceBatch, 'cursor'> => {
    const records: SourceRecord[] = [];
    const invalid: SourceBatch['invalid'] = [];
    for (let i = from; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (!line) continue;
      const lineId = `line-${i + 1}`;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        invalid.push({ id: lineId, reason: `line ${i + 1}: not valid JSON` });
        continue;
      }
      const rawId = getPath(value, spec.idPath);
      const rawTime = getPath(value, 'timestamp') ?? getPath(value, 'time');
      const t =
        typeof rawTime === 'string' || typeof rawTime === 'number' ? new Date(rawTime).getTime() : Number.NaN;
      const time = Number.isNaN(t) ? i : t;
      if (since && !Number.isNaN(t) && t < since.getTime()) continue;
      records.push({
        id: typeof rawId === 'string' || typeof rawId === 'number' ? String(rawId) : lineId,
        time,
        record: value,
      });
    }
    return { records, invalid };
  };
  return {
    key: `file:${spec.path}`,
    async read(cursor, _until, options = {}) {
      const loaded = await load();
      if (!loaded.ok) return { ok: false, error: loaded.error, retryable: true };
      const from = options.since
        ? 0
        : typeof cursor === 'object' && cursor && 'line' in cursor
          ? Number(cursor.line)
          : 0;
      return {
        ok: true,
        value: { ...parse(loaded.lines, from, options.since), cursor: { line: loaded.lines.length } },
      };
    },
    async latest(n) {
      const loaded = await load();
      if (!loaded.ok) return { ok: false, error: loaded.error, retryable: true };
      const batch = parse(loaded.lines, 0);
      return { ok: true, value: { ...batch, records: batch.records.slice(-n), cursor: undefined } };
    },
  };
}

/**
 * Cursor of the Langfuse source: `from` is the end of the last window read (the tick time); `seen` the records
 * (observation or trace ids) already handed out that the next window re-reads; `hold` the earliest start of a
 * trace held back until it settles. Cursors of earlier versions (`from` = newest start time) still work.
 */
interface LangfuseCursor {
  from: string;
  seen: string[];
  hold?: string;
}

function isLangfuseCursor(c: unknown): c is LangfuseCursor {
  return typeof c === 'object' && c !== null && typeof (c as LangfuseCursor).from === 'string';
}

/** Link to a trace in the Langfuse UI. */
export function traceUrl(baseUrl: string, traceId: string, projectId?: string): string {
  const base = baseUrl.replace(/\/+$/, '');
  return projectId
    ? `${base}/project/${encodeURIComponent(projectId)}/traces/${encodeURIComponent(traceId)}`
    : `${base}/trace/${encodeURIComponent(traceId)}`;
}

/** A trace still busy this long after its first observation is scored as it is then. */
export const MAX_TRACE_HOLD_MS = 60 * 60_000;

const endOf = (o: ObservationV2) => {
  const start = Date.parse(o.startTime);
  const end = o.endTime ? Date.parse(o.endTime) : Number.NaN;
  return Number.isNaN(end) ? start : Math.max(start, end);
};

function langfuseSource(
  spec: z.infer<typeof LangfuseSourceSchema>,
  deps: SourceDeps,
): Source | { error: string } {
  const client = deps.langfuse;
  if (!client) return { error: 'a langfuse source needs LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY' };
  const baseUrl = deps.langfuseBaseUrl ?? 'https://cloud.langfuse.com';
  const lookbackMs = parseDuration(spec.lookback)!;
  const lagMs = parseDuration(spec.lag)!;
  const settleMs = parseDuration(spec.settle)!;
  const wanted = fieldsFor(deps.extractPaths ?? [], {
    ...(spec.fields ? { fields: spec.fields } : {}),
    ...(spec.expandMetadata ? { expandMetadata: spec.expandMetadata } : {}),
  });

  const readRange = (from: Date, until: Date, maxRecords?: number) =>
    readObservations(
      client,
      {
        from,
        until,
        pageSize: spec.pageSize,
        fields: wanted.fields,
        expandMetadata: wanted.expandMetadata,
        ...(spec.observationType ? { type: spec.observationType } : {}),
        ...(spec.traceId ? { traceId: spec.traceId } : {}),
        ...(spec.filter ? { filter: spec.filter } : {}),
        ...(maxRecords !== undefined ? { maxRecords } : {}),
      },
      {
        ...(deps.clock ? { sleep: (ms: number) => deps.clock!.sleep(ms) } : {}),
        ...(deps.logger ? { logger: deps.logger } : {}),
      },
    );

  const link = (o: ObservationV2) =>
    o.traceId
      ? traceUrl(baseUrl, o.traceId, typeof o.projectId === 'string' ? o.projectId : undefined)
      : undefined;

  function observationRecord(o: ObservationV2): SourceRecord {
    const url = link(o);
    return {
      id: o.id,
      time: Date.parse(o.startTime),
      record: o,
      observationId: o.id,
      ...(o.traceId ? { traceId: o.traceId } : {}),
      ...(o.environment ? { environment: o.environment } : {}),
      ...(url ? { url } : {}),
    };
  }

  function byTrace(observations: ObservationV2[]): Map<string, ObservationV2[]> {
    const traces = new Map<string, ObservationV2[]>();
    for (const o of observations) {
      const key = o.traceId ?? `observation:${o.id}`;
      const list = traces.get(key);
      if (list) list.push(o);
      else traces.set(key, [o]);
    }
    for (const list of traces.values())
      list.sort((a, b) => Date.parse(a.startTime) - Date.parse(b.startTime));
    return traces;
  }

  function traceRecord(traceId: string, list: ObservationV2[]): SourceRecord {
    const first = list[0]!;
    const last = list.at(-1)!;
    const generation = list.filter((o) => o.type === 'GENERATION').at(-1);
    const url = link(first);
    // An environment is a trace's: its observations share it (the first that names one stands for all).
    const environment = list.find((o) => o.environment)?.environment;
    return {
      id: traceId,
      time: Date.parse(last.startTime),
      record: { traceId, observations: list, first, last, generation: generation ?? last },
      ...(first.traceId ? { traceId: first.traceId } : {}),
      ...(environment ? { environment } : {}),
      ...(url ? { url } : {}),
    };
  }

  const notesOf = (got: { api: string; own: number; retries: number }, held = 0) => [
    `read through the ${got.api} observations API`,
    ...(got.own ? [`${got.own} of Arbiter's own observation(s) left out`] : []),
    ...(got.retries ? [`${got.retries} Langfuse call(s) retried (429/5xx)`] : []),
    ...(held ? [`${held} trace(s) held back until quiet for ${spec.settle}`] : []),
  ];

  return {
    key: 'langfuse',
    async read(cursor, until, options = {}) {
      const prev = isLangfuseCursor(cursor) && !options.since ? cursor : undefined;
      const untilMs = until.getTime();
      // Re-read `lag` behind the last window (late-visible data), and from the first observation of a held trace.
      const fromMs = options.since
        ? options.since.getTime()
        : prev
          ? Math.min(
              Date.parse(prev.from) - lagMs,
              prev.hold ? Date.parse(prev.hold) : Number.POSITIVE_INFINITY,
            )
          : untilMs - lookbackMs;
      const got = await readRange(new Date(fromMs), until);
      if (!got.ok) return { ok: false, error: got.error.message, retryable: got.error.retryable };
      const { observations } = got.value;
      const seen = new Set(prev?.seen ?? []);
      // A manual run may have read further than this tick: never move the watermark back.
      const readTo = Math.max(untilMs, prev ? Date.parse(prev.from) : 0);
      // What the next window (which starts `lag` before the watermark) will read again.
      const nextFrom = readTo - lagMs;
      const nextSeen: string[] = [];
      // A malformed record is listed once, not again on every tick whose window re-reads it.
      const invalid = got.value.invalid.filter((b) => !seen.has(`invalid:${b.id}`));
      for (const b of got.value.invalid) if (b.id !== '(no id)') nextSeen.push(`invalid:${b.id}`);
      const records: SourceRecord[] = [];
      let hold = Number.POSITIVE_INFINITY;
      let held = 0;
      if (spec.groupBy === 'observation') {
        for (const o of observations) {
          if (!seen.has(o.id)) records.push(observationRecord(o));
          if (Date.parse(o.startTime) >= nextFrom) nextSeen.push(o.id);
        }
      } else {
        for (const [traceId, list] of byTrace(observations)) {
          const firstStart = Date.parse(list[0]!.startTime);
          const lastStart = Date.parse(list.at(-1)!.startTime);
          if (!seen.has(traceId)) {
            const quietFor = untilMs - list.reduce((m, o) => Math.max(m, endOf(o)), 0);
            if (quietFor < settleMs && untilMs - firstStart < MAX_TRACE_HOLD_MS) {
              held += 1;
              hold = Math.min(hold, firstStart);
              continue;
            }
            records.push(traceRecord(traceId, list));
          }
          if (lastStart >= nextFrom) nextSeen.push(traceId);
        }
      }
      const notes = notesOf(got.value, held);
      deps.logger?.info(
        { source: 'langfuse', read: observations.length, handed: records.length },
        notes.join('; '),
      );
      return {
        ok: true,
        value: {
          records,
          invalid,
          notes,
          cursor: {
            from: new Date(readTo).toISOString(),
            seen: nextSeen,
            ...(Number.isFinite(hold) ? { hold: new Date(hold).toISOString() } : {}),
          } satisfies LangfuseCursor,
        },
      };
    },
    async latest(n, now) {
      const got = await readRange(new Date(now.getTime() - lookbackMs), now, n * 5);
      if (!got.ok) return { ok: false, error: got.error.message, retryable: got.error.retryable };
      const { observations, invalid } = got.value;
      const all =
        spec.groupBy === 'observation'
          ? observations.map(observationRecord)
          : [...byTrace(observations)].map(([traceId, list]) => traceRecord(traceId, list));
      const records = all.sort((a, b) => a.time - b.time).slice(-n);
      return { ok: true, value: { records, invalid, notes: notesOf(got.value), cursor: undefined } };
    },
  };
}

/** Every source type a monitor can name. */
export const sources = {
  file: {
    description: 'A JSONL file; each line is one record (cursor: lines already read).',
    create: fileSource,
  },
  langfuse: {
    description:
      'New Langfuse observations (v2 observations API; v1 on self-hosted v3), grouped per trace by default; re-reads `lag` for late data.',
    create: langfuseSource,
  },
  slack: {
    description:
      "A Slack channel's bot answers paired with the user messages they reply to (conversations.history/replies, Tier-1 paced).",
    create: createSlackSource,
  },
} satisfies {
  [K in SourceSpec['type']]: { description: string; create: Factory<Extract<SourceSpec, { type: K }>> };
};

/** Builds a source from its spec; a missing dependency (e.g. Langfuse keys) is an error value. */
export function createSource(
  spec: SourceSpec,
  deps: SourceDeps,
): { ok: true; source: Source } | { ok: false; error: string } {
  const made =
    spec.type === 'file'
      ? sources.file.create(spec, deps)
      : spec.type === 'slack'
        ? sources.slack.create(spec, deps)
        : sources.langfuse.create(spec, deps);
  return 'error' in made ? { ok: false, error: made.error } : { ok: true, source: made };
}
