// Reading observations as the server can answer: v2 (Langfuse Cloud, self-hosted v4+) with cursor paging,
// field groups and raw-string I/O, or the page-based v1 read (self-hosted v3, parsed I/O). Records come out in
// one shape, with JSON text decoded; Arbiter's own observations are left out; 429/5xx are retried with back-off.
// Shapes: https://github.com/langfuse/langfuse/blob/main/fern/apis/server/definition/observations.yml and
// legacy/observations-v1.yml (rendered at https://api.reference.langfuse.com/#tag/observationsv2).
import { createSilentLogger, type Logger } from '../config/index.ts';
import type { LangfuseClient } from './client.ts';
import { LangfuseError, type LangfuseResult } from './errors.ts';
import { EXCLUDE_ARBITER_TAG_FILTER, isArbiterOwnObservation } from './own.ts';
import { type RetryOptions, withBackoff } from './retry.ts';
import { type ObservationV2, ObservationV2Schema } from './schemas.ts';

/** Which observations read a server has. */
export type ObservationsApi = 'v2' | 'v1';

/** Decodes a string that holds JSON (an object, an array or a quoted string); any other value is returned as is. */
export function decodeJsonText(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  let i = 0;
  while (
    i < value.length &&
    (value[i] === ' ' || value[i] === '\n' || value[i] === '\t' || value[i] === '\r')
  )
    i++;
  const c = value[i];
  if (c !== '{' && c !== '[' && c !== '"') return value;
  try {
    return JSON.parse(value);
  } catch {
    // Not JSON after all, or a value Langfuse truncated: the text is still what the user sees.
    return value;
  }
}

function decodeMetadata(metadata: unknown): unknown {
  const md = decodeJsonText(metadata);
  if (!md || typeof md !== 'object' || Array.isArray(md)) return md;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(md)) out[k] = decodeJsonText(v);
  return out;
}

/** One record of either read, parsed and decoded; or why it cannot be used. */
export function normalizeObservation(
  raw: unknown,
): { ok: true; observation: ObservationV2 } | { ok: false; id: string; reason: string } {
  const parsed = ObservationV2Schema.safeParse(raw);
  const rawId = (raw as { id?: unknown } | null)?.id;
  const id = typeof rawId === 'string' && rawId ? rawId : '(no id)';
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      id,
      reason: `malformed observation: ${issue?.path.join('.') || 'record'}: ${issue?.message ?? 'invalid'}`,
    };
  }
  const o = parsed.data;
  if (Number.isNaN(Date.parse(o.startTime)))
    return { ok: false, id, reason: `malformed observation: startTime '${o.startTime}' is not a date` };
  const observation: ObservationV2 = { ...o };
  if ('input' in o) observation.input = decodeJsonText(o.input);
  if ('output' in o) observation.output = decodeJsonText(o.output);
  if ('metadata' in o) observation.metadata = decodeMetadata(o.metadata);
  // v1 names the model `model`; v2's `model` group calls it `providedModelName`: extractors can use either.
  if (typeof o.model === 'string' && observation.providedModelName === undefined)
    observation.providedModelName = o.model;
  return { ok: true, observation };
}

/** The v2 field group each top-level observation field belongs to (core fields are always returned). */
const FIELD_GROUP: Record<string, string> = {
  input: 'io',
  output: 'io',
  metadata: 'metadata',
  completionStartTime: 'time',
  createdAt: 'time',
  updatedAt: 'time',
  providedModelName: 'model',
  internalModelId: 'model',
  modelParameters: 'model',
  model: 'model',
  usageDetails: 'usage',
  costDetails: 'usage',
  totalCost: 'usage',
  usagePricingTierName: 'usage',
  promptId: 'prompt',
  promptName: 'prompt',
  promptVersion: 'prompt',
  latency: 'metrics',
  timeToFirstToken: 'metrics',
  traceName: 'trace_context',
  tags: 'trace_context',
  release: 'trace_context',
};

/**
 * Groups always asked for: `basic` (name, and `environment`, which published scores carry), `metadata` and
 * `trace_context` (tags) tell Arbiter's own apart.
 */
const ALWAYS = ['core', 'basic', 'metadata', 'trace_context'];

/** Record prefixes a per-trace record adds in front of an observation's fields. */
const RECORD_PREFIX = /^(?:generation|first|last|observations(?:\[-?\d+\]|\.-?\d+))\.?/;

/**
 * The v2 field groups and full-length metadata keys an extractor's dot paths need (`generation.input[-1].content`
 * needs `io`; `metadata.user_query` needs `metadata` and the key `user_query` expanded).
 */
export function fieldsFor(
  paths: readonly string[],
  extra: { fields?: readonly string[]; expandMetadata?: readonly string[] } = {},
): { fields: string; expandMetadata: string[] } {
  const groups = new Set([...ALWAYS, ...(extra.fields ?? [])]);
  const keys = new Set(extra.expandMetadata ?? []);
  for (const path of paths) {
    if (path.startsWith('$')) continue;
    const steps = path
      .replace(RECORD_PREFIX, '')
      .replace(/\[(-?\d+)\]/g, '.$1')
      .split('.')
      .filter(Boolean);
    const group = steps[0] ? FIELD_GROUP[steps[0]] : undefined;
    if (group) groups.add(group);
    if (steps[0] === 'metadata' && steps[1]) keys.add(steps[1]);
  }
  return { fields: [...groups].join(','), expandMetadata: [...keys].sort() };
}

/** A time window of observations to read. */
export interface ObservationWindow {
  from: Date;
  until: Date;
  type?: string;
  traceId?: string;
  /** The v2 `filter` conditions (also sent to v1). */
  filter?: readonly unknown[];
  /** Records per page (v1 allows at most 100). */
  pageSize: number;
  /** v2 field groups and full-length metadata keys (see `fieldsFor`). */
  fields: string;
  expandMetadata?: readonly string[];
  /** Stop after this many records (dry runs). */
  maxRecords?: number;
}

/** What a read returned. */
export interface ObservationsRead {
  api: ObservationsApi;
  /** Decoded, deduplicated by id, Arbiter's own left out. */
  observations: ObservationV2[];
  /** Records that could not be parsed, by id. */
  invalid: { id: string; reason: string }[];
  /** Arbiter's own observations left out (client-side; a v2 server also leaves out `arbiter`-tagged traces). */
  own: number;
  pages: number;
  /** 429/5xx/time-out answers retried. */
  retries: number;
}

/** How a read behaves on faults: each page is retried on 429/5xx/time-outs (see RetryOptions). */
export interface ReadOptions extends RetryOptions {
  logger?: Logger;
}

const detected = new WeakMap<LangfuseClient, ObservationsApi>();
const exclusionRefused = new WeakSet<LangfuseClient>();

/** The observations read detected for a client so far (undefined before its first read). */
export function detectedObservationsApi(client: LangfuseClient): ObservationsApi | undefined {
  return detected.get(client);
}

/** Records which observations read a client's server has (the start-up probe found it), so reads skip detection. */
export function rememberObservationsApi(client: LangfuseClient, api: ObservationsApi): void {
  detected.set(client, api);
}

const API_PATH: Record<ObservationsApi, string> = {
  v2: 'GET /api/public/v2/observations',
  v1: 'GET /api/public/observations',
};

/** Reads every observation of a window, page by page, through whichever read the server has. */
export async function readObservations(
  client: LangfuseClient,
  w: ObservationWindow,
  opts: ReadOptions = {},
): Promise<LangfuseResult<ObservationsRead>> {
  const logger = opts.logger ?? createSilentLogger();
  let retries = 0;

  const withRetries = <T>(call: () => Promise<LangfuseResult<T>>) =>
    withBackoff(call, {
      ...opts,
      logger,
      what: 'Langfuse observations read',
      onRetry: () => {
        retries += 1;
      },
    });

  const read: ObservationsRead = {
    api: detected.get(client) ?? 'v2',
    observations: [],
    invalid: [],
    own: 0,
    pages: 0,
    retries: 0,
  };
  const byId = new Map<string, ObservationV2>();
  const take = (data: readonly unknown[]) => {
    read.pages += 1;
    for (const raw of data) {
      const n = normalizeObservation(raw);
      if (!n.ok) read.invalid.push({ id: n.id, reason: n.reason });
      else if (isArbiterOwnObservation(n.observation)) read.own += 1;
      else byId.set(n.observation.id, n.observation);
    }
  };
  const full = () => w.maxRecords !== undefined && byId.size >= w.maxRecords;

  async function readV2(): Promise<LangfuseResult<'done'> | { notFound: LangfuseError }> {
    let cursor: string | undefined;
    let exclude = !exclusionRefused.has(client);
    for (;;) {
      const query = (withExclusion: boolean) => ({
        ...(cursor ? { cursor } : {}),
        limit: w.pageSize,
        fromStartTime: w.from,
        toStartTime: w.until,
        ...(w.type ? { type: w.type } : {}),
        ...(w.traceId ? { traceId: w.traceId } : {}),
        ...(withExclusion || w.filter?.length
          ? { filter: [...(w.filter ?? []), ...(withExclusion ? [EXCLUDE_ARBITER_TAG_FILTER] : [])] }
          : {}),
        fields: w.fields,
        ...(w.expandMetadata?.length ? { expandMetadata: w.expandMetadata } : {}),
      });
      let res = await withRetries(() => client.getObservations(query(exclude)));
      if (!res.ok && res.error.code === 'LANGFUSE_BAD_REQUEST' && exclude) {
        // An older v4 server may not filter on trace tags: if it answers without, filter client-side only.
        const without = await withRetries(() => client.getObservations(query(false)));
        if (without.ok) {
          exclusionRefused.add(client);
          exclude = false;
          logger.warn(
            { error: res.error.message },
            'Langfuse refused the trace-tag filter on v2 observations; leaving out Arbiter’s own client-side only',
          );
        }
        res = without;
      }
      if (!res.ok) {
        if (res.error.code === 'LANGFUSE_NOT_FOUND' && read.pages === 0 && !detected.has(client))
          return { notFound: res.error };
        return res;
      }
      take(res.value.data);
      cursor = res.value.meta?.cursor ?? undefined;
      if (!cursor || full()) return { ok: true, value: 'done' };
    }
  }

  async function readV1(): Promise<LangfuseResult<'done'>> {
    const limit = Math.min(w.pageSize, 100);
    for (let page = 1; page <= 100_000; page++) {
      const res = await withRetries(() =>
        client.getObservationsV1({
          page,
          limit,
          fromStartTime: w.from,
          toStartTime: w.until,
          ...(w.type ? { type: w.type } : {}),
          ...(w.traceId ? { traceId: w.traceId } : {}),
          ...(w.filter?.length ? { filter: [...w.filter] } : {}),
        }),
      );
      if (!res.ok) return res;
      take(res.value.data);
      if (res.value.data.length === 0 || page >= res.value.meta.totalPages || full())
        return { ok: true, value: 'done' };
    }
    return { ok: true, value: 'done' };
  }

  const known = detected.get(client);
  let outcome: LangfuseResult<'done'>;
  if (known === 'v1') outcome = await readV1();
  else {
    const v2 = await readV2();
    if ('notFound' in v2) {
      // Self-hosted v3 has no v2 observations (404): fall back to the page-based v1 read, with parsed I/O.
      outcome = await readV1();
      if (!outcome.ok && outcome.error.code === 'LANGFUSE_NOT_FOUND')
        return {
          ok: false,
          error: new LangfuseError(
            'LANGFUSE_NOT_FOUND',
            `Langfuse answered 404 to both ${API_PATH.v2} and ${API_PATH.v1}: check LANGFUSE_BASE_URL (the Langfuse host, e.g. https://cloud.langfuse.com, https://us.cloud.langfuse.com or your self-hosted URL, without /api); Langfuse Cloud and self-hosted v3 or later are supported`,
            { status: 404 },
          ),
        };
      if (outcome.ok) {
        detected.set(client, 'v1');
        read.api = 'v1';
        logger.info(
          { api: 'v1' },
          `Langfuse has no v2 observations (self-hosted v3): reading observations through ${API_PATH.v1}`,
        );
      }
    } else {
      outcome = v2;
      if (v2.ok && !known) {
        detected.set(client, 'v2');
        logger.info({ api: 'v2' }, `Langfuse observations are read through ${API_PATH.v2}`);
      }
    }
  }
  read.retries = retries;
  if (!outcome.ok) {
    const e = outcome.error;
    const hint =
      e.code === 'LANGFUSE_BAD_REQUEST' && w.filter?.length
        ? ' (check the monitor’s source.filter: conditions need type, column, operator and value)'
        : e.retryable
          ? ` (after ${retries} retr${retries === 1 ? 'y' : 'ies'})`
          : '';
    return {
      ok: false,
      error: hint
        ? new LangfuseError(e.code, `${e.message}${hint}`, {
            ...(e.status === undefined ? {} : { status: e.status }),
            ...(e.retryAfterMs === undefined ? {} : { retryAfterMs: e.retryAfterMs }),
          })
        : e,
    };
  }
  read.observations = [...byId.values()];
  return { ok: true, value: read };
}
