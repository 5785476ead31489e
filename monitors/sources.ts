// Sources: a registry keyed by type; each returns the records after a stored cursor, up to the tick time.
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { z } from 'zod';
import {
  type LangfuseClient,
  type LangfuseError,
  type ObservationV2,
  ObservationV2Schema,
} from '../langfuse/index.ts';
import type { Score } from '../evaluators/index.ts';
import { parseDuration } from '../config/index.ts';
import { getPath } from './extract.ts';
import type { FileSourceSchema, LangfuseSourceSchema, SourceSpec } from './schema.ts';
import { createSlackSource, type SlackSourceDeps } from './slack-source.ts';

/** One record read from a source, before extraction. */
export interface SourceRecord {
  id: string;
  /** When it happened, ms since epoch (sampling by recency uses it). */
  time: number;
  record: unknown;
  url?: string;
  traceId?: string;
  observationId?: string;
  /** Scores the source already knows (Slack 👍/👎 as `human_feedback`), stored with the item's metric scores. */
  scores?: Score[];
}

/** What one read returned: records, the cursor to store once they are handled, and records that did not parse. */
export interface SourceBatch {
  records: SourceRecord[];
  cursor: unknown;
  invalid: { id: string; reason: string }[];
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
  /** Waits between retries of a rate-limited call; injected so tests do not sleep. */
  sleep?: (ms: number) => Promise<void>;
  /** Current time in ms, for pacing Slack calls (the tick passes its clock). */
  now?: () => number;
  /** Bot token and API base for `slack` sources. */
  slack?: SlackSourceDeps;
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

/** Cursor of the Langfuse source: the newest start time handled and the ids seen at exactly that time. */
interface LangfuseCursor {
  from: string;
  seen: string[];
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

function langfuseSource(
  spec: z.infer<typeof LangfuseSourceSchema>,
  deps: SourceDeps,
): Source | { error: string } {
  const client = deps.langfuse;
  if (!client) return { error: 'a langfuse source needs LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY' };
  const baseUrl = deps.langfuseBaseUrl ?? 'https://cloud.langfuse.com';
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const lookbackMs = parseDuration(spec.lookback)!;

  async function readRange(from: Date, until: Date, limitTotal?: number) {
    const observations: ObservationV2[] = [];
    const invalid: SourceBatch['invalid'] = [];
    let cursor: string | undefined;
    let pages = 0;
    for (;;) {
      let attempt = 0;
      let res: Awaited<ReturnType<LangfuseClient['getObservations']>>;
      for (;;) {
        res = await client!.getObservations({
          ...(cursor ? { cursor } : {}),
          limit: spec.pageSize,
          fromStartTime: from,
          toStartTime: until,
          ...(spec.observationType ? { type: spec.observationType } : {}),
          ...(spec.traceId ? { traceId: spec.traceId } : {}),
          ...(spec.filter ? { filter: spec.filter } : {}),
          fields: 'core,basic,io,metadata',
        });
        // A short in-tick retry for 429s; anything longer fails the tick, which retries from the same cursor.
        if (!res.ok && res.error.code === 'LANGFUSE_RATE_LIMITED' && attempt < 2) {
          attempt += 1;
          await sleep(Math.min(res.error.retryAfterMs ?? 1000, 5000));
          continue;
        }
        break;
      }
      if (!res.ok) return { ok: false as const, error: res.error as LangfuseError };
      pages += 1;
      for (const raw of res.value.data) {
        const parsed = ObservationV2Schema.safeParse(raw);
        if (parsed.success && !Number.isNaN(Date.parse(parsed.data.startTime)))
          observations.push(parsed.data);
        else {
          const id =
            typeof (raw as { id?: unknown })?.id === 'string' ? (raw as { id: string }).id : `page${pages}`;
          invalid.push({
            id,
            reason: `malformed observation: ${parsed.success ? 'bad startTime' : parsed.error.issues[0]?.path.join('.') || 'record'}`,
          });
        }
      }
      cursor = res.value.meta?.cursor ?? undefined;
      if (!cursor || (limitTotal !== undefined && observations.length >= limitTotal)) break;
    }
    return { ok: true as const, observations, invalid, pages };
  }

  function toRecords(observations: ObservationV2[]): SourceRecord[] {
    const link = (o: ObservationV2) =>
      o.traceId
        ? traceUrl(baseUrl, o.traceId, typeof o.projectId === 'string' ? o.projectId : undefined)
        : undefined;
    if (spec.groupBy === 'observation') {
      return observations.map((o) => {
        const url = link(o);
        return {
          id: o.id,
          time: Date.parse(o.startTime),
          record: o,
          observationId: o.id,
          ...(o.traceId ? { traceId: o.traceId } : {}),
          ...(url ? { url } : {}),
        };
      });
    }
    const byTrace = new Map<string, ObservationV2[]>();
    for (const o of observations) {
      const key = o.traceId ?? `observation:${o.id}`;
      const list = byTrace.get(key) ?? [];
      list.push(o);
      byTrace.set(key, list);
    }
    return [...byTrace.entries()].map(([traceId, list]) => {
      list.sort((a, b) => Date.parse(a.startTime) - Date.parse(b.startTime));
      const first = list[0]!;
      const last = list.at(-1)!;
      const generation = list.filter((o) => o.type === 'GENERATION').at(-1);
      const url = link(first);
      return {
        id: traceId,
        time: Date.parse(last.startTime),
        record: { traceId, observations: list, first, last, generation: generation ?? last },
        ...(first.traceId ? { traceId: first.traceId } : {}),
        ...(url ? { url } : {}),
      };
    });
  }

  return {
    key: 'langfuse',
    async read(cursor, until, options = {}) {
      const prev = isLangfuseCursor(cursor) ? cursor : undefined;
      const from = options.since ?? (prev ? new Date(prev.from) : new Date(until.getTime() - lookbackMs));
      const got = await readRange(from, until);
      if (!got.ok) return { ok: false, error: got.error.message, retryable: got.error.retryable };
      const seen = new Set(options.since ? [] : (prev?.seen ?? []));
      const fresh = got.observations.filter((o) => !seen.has(o.id));
      let maxTime = prev && !options.since ? Date.parse(prev.from) : from.getTime();
      for (const o of fresh) maxTime = Math.max(maxTime, Date.parse(o.startTime));
      const atMax = got.observations.filter((o) => Date.parse(o.startTime) === maxTime).map((o) => o.id);
      const nextSeen =
        prev && Date.parse(prev.from) === maxTime ? [...new Set([...prev.seen, ...atMax])] : atMax;
      return {
        ok: true,
        value: {
          records: toRecords(fresh),
          invalid: got.invalid,
          cursor: { from: new Date(maxTime).toISOString(), seen: nextSeen } satisfies LangfuseCursor,
        },
      };
    },
    async latest(n, now) {
      const got = await readRange(new Date(now.getTime() - lookbackMs), now, n * 5);
      if (!got.ok) return { ok: false, error: got.error.message, retryable: got.error.retryable };
      const records = toRecords(got.observations)
        .sort((a, b) => a.time - b.time)
        .slice(-n);
      return { ok: true, value: { records, invalid: got.invalid, cursor: undefined } };
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
    description: 'New Langfuse observations (v2 observations API), grouped per trace by default.',
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
