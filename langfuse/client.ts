// A small typed client of the Langfuse public API: server health, prompts, observations, datasets and scores. Direct
// HTTP (the lean keep-alive node:http client of config/, or an injected fetch) rather than @langfuse/client: that SDK reads LANGFUSE_* from process.env itself (only config/ may), takes no injectable
// fetch, batches scores in a background queue (no per-score outcome, no await on a 401) and keeps a private
// prompt cache we cannot invalidate on webhooks. The REST API it wraps is the same; here every response is
// parsed with zod and every failure is a typed value.
import { z } from 'zod';
import {
  createSilentLogger,
  type Env,
  type HttpHeaders,
  type Logger,
  sendHttp,
  viaFetch,
} from '../config/index.ts';
import {
  codeForStatus,
  LANGFUSE_OTEL_PATH,
  LangfuseError,
  type LangfuseResult,
  langfuseFix,
} from './errors.ts';
import { type RetryOptions, withBackoff } from './retry.ts';
import {
  type DatasetItemsPage,
  DatasetItemsPageSchema,
  type LangfuseDataset,
  type LangfuseDatasetItem,
  LangfuseDatasetItemSchema,
  type LangfuseHealth,
  LangfuseHealthSchema,
  LangfuseDatasetSchema,
  type LangfusePrompt,
  LangfusePromptSchema,
  type ObservationsPage,
  ObservationsPageSchema,
  type ObservationsV1Page,
  ObservationsV1PageSchema,
  ScoreCreatedSchema,
  type ScoreInput,
  ScoreInputSchema,
} from './schemas.ts';

/** How to reach Langfuse. */
export interface LangfuseClientOptions {
  baseUrl: string;
  publicKey: string;
  secretKey: string;
  /** Injected for tests and proxies; defaults to a keep-alive node:http(s) client (fetch costs more CPU per request). */
  fetch?: typeof fetch;
  /** Per-request time-out in ms; default 10 s. */
  timeoutMs?: number;
  /**
   * How prompt, dataset and score calls are retried on 429/5xx/time-outs (default 3 retries from 1 s). Observation
   * reads are retried by `readObservations`, which reports its retries to the tick.
   */
  retry?: RetryOptions;
  logger?: Logger;
}

/** Which version of a prompt to read: by label (default `production`, as Langfuse does) or by number. */
export type PromptSelector = { label?: string; version?: undefined } | { version: number; label?: undefined };

/** Outcome of publishing a batch of scores: each score either published or failed, never thrown. */
export interface PublishScoresResult {
  published: string[];
  failed: { id: string; error: LangfuseError }[];
  /** 429/5xx/time-out answers retried. */
  retries: number;
}

/** Query of `GET /api/public/v2/observations`; dates are sent as ISO strings. */
export interface ObservationsQuery {
  cursor?: string;
  limit?: number;
  fromStartTime?: Date;
  toStartTime?: Date;
  type?: string;
  traceId?: string;
  /** The API's JSON `filter` array. */
  filter?: unknown[];
  /** Field groups, e.g. `core,basic,io,metadata` (the API returns `core,basic` when unset). */
  fields?: string;
  /** Metadata keys returned in full (other metadata values over 200 characters come back truncated). */
  expandMetadata?: readonly string[];
}

/** Query of the page-based v1 read `GET /api/public/observations` (self-hosted Langfuse v3; `limit` ≤ 100). */
export interface ObservationsV1Query {
  /** 1-based. */
  page?: number;
  limit?: number;
  fromStartTime?: Date;
  toStartTime?: Date;
  type?: string;
  traceId?: string;
  filter?: unknown[];
}

/** A whole dataset read page by page: active items, how many were archived, and records that did not parse. */
export interface DatasetRead {
  dataset: LangfuseDataset;
  /** ACTIVE items in Langfuse's order. */
  items: LangfuseDatasetItem[];
  archived: number;
  /** 1-based position over all records read, and why it could not be used. */
  invalid: { position: number; reason: string }[];
  /** 429/5xx/time-out answers retried. */
  retries: number;
}

/** The Langfuse API operations Arbiter uses. */
export interface LangfuseClient {
  /** `GET /api/public/health`: status and server version (no retries: a probe). */
  getHealth(): Promise<LangfuseResult<LangfuseHealth>>;
  /**
   * `POST /api/public/otel/v1/traces` with an OTLP/JSON body, once (no retries). Traces go through the OpenTelemetry
   * pipeline (llm/otel.ts); this is for probing the endpoint with an empty export.
   */
  postOtlp(body: unknown): Promise<LangfuseResult<unknown>>;
  /** `GET /api/public/v2/prompts/{name}` with `label` or `version`. */
  getPrompt(name: string, selector?: PromptSelector): Promise<LangfuseResult<LangfusePrompt>>;
  /** One page of `GET /api/public/v2/observations` (follow `meta.cursor` for the next). */
  getObservations(query?: ObservationsQuery): Promise<LangfuseResult<ObservationsPage>>;
  /** One page of the v1 read `GET /api/public/observations` (self-hosted v3, which has no v2 observations). */
  getObservationsV1(query?: ObservationsV1Query): Promise<LangfuseResult<ObservationsV1Page>>;
  /** `GET /api/public/v2/datasets/{name}` (the dataset without its items; read those with `getDatasetItems`). */
  getDataset(name: string): Promise<LangfuseResult<LangfuseDataset>>;
  /** One page of `GET /api/public/dataset-items?datasetName=` (page is 1-based). */
  getDatasetItems(
    name: string,
    page?: { page?: number; limit?: number },
  ): Promise<LangfuseResult<DatasetItemsPage>>;
  /** The dataset and all its items (every page); archived items are counted and skipped. */
  readDataset(name: string, options?: { pageSize?: number }): Promise<LangfuseResult<DatasetRead>>;
  /** `POST /api/public/scores`, one request per score (the same id upserts, so retrying is safe). */
  publishScores(
    scores: readonly ScoreInput[],
    options?: {
      concurrency?: number /** Overrides the client's retries (0: try once). */;
      maxRetries?: number;
    },
  ): Promise<PublishScoresResult>;
}

function retryAfterMs(headers: HttpHeaders): number | undefined {
  const value = headers['retry-after'];
  const raw = Array.isArray(value) ? value[0] : value;
  if (!raw) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/**
 * Follows redirects as fetch does (at most 5): 303, and 301/302 of a POST, become a GET without a body; 307/308 keep
 * the method and body; a redirect to another origin drops the authorization header.
 */
function followingRedirects(send: typeof sendHttp): typeof sendHttp {
  return async (url, init) => {
    let current = url;
    let req = init;
    for (let hop = 0; ; hop++) {
      const res = await send(current, req);
      const location = res.ok ? res.headers.location : undefined;
      if (!res.ok || res.status < 300 || res.status > 399 || typeof location !== 'string' || hop >= 5)
        return res;
      const next = new URL(location, current);
      const toGet =
        res.status === 303 || ((res.status === 301 || res.status === 302) && req.method === 'POST');
      const headers = { ...req.headers };
      if (next.origin !== new URL(current).origin) delete headers.authorization;
      if (toGet) delete headers['content-type'];
      const { body: _body, ...rest } = req;
      req = toGet ? { ...rest, method: 'GET', headers } : { ...req, headers };
      current = next.href;
    }
  };
}

/** Creates the Langfuse client (Basic auth publicKey:secretKey; the secret never appears in errors or logs). */
export function createLangfuseClient(options: LangfuseClientOptions): LangfuseClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const send = options.fetch ? viaFetch(options.fetch) : followingRedirects(sendHttp);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const logger = options.logger ?? createSilentLogger();
  const auth = `Basic ${Buffer.from(`${options.publicKey}:${options.secretKey}`).toString('base64')}`;

  async function call<T>(
    method: 'GET' | 'POST',
    path: string,
    schema: z.ZodType<T>,
    body?: unknown,
    extraHeaders: Record<string, string> = {},
  ): Promise<LangfuseResult<T>> {
    const what = `${method} ${path.split('?')[0]}`;
    const res = await send(`${base}${path}`, {
      method,
      headers: {
        authorization: auth,
        accept: 'application/json',
        // Large reads (observation pages) come compressed, as they did with fetch.
        'accept-encoding': 'gzip, deflate, br',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...extraHeaders,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      timeoutMs,
    });
    if (!res.ok) {
      const f = res.failure;
      const message =
        f.kind === 'error'
          ? `Langfuse is unreachable (${what}): ${f.message}`
          : `Langfuse did not answer ${what} within ${timeoutMs} ms`;
      logger.warn({ what }, message);
      return { ok: false, error: new LangfuseError('LANGFUSE_UNAVAILABLE', message, { cause: f }) };
    }
    if (res.status < 200 || res.status > 299) {
      // The body of an error response may echo request data; keep only a short excerpt for the message.
      const excerpt = res.text.slice(0, 200);
      const code = codeForStatus(res.status);
      const fix = langfuseFix(res.status, what);
      const hint = fix ? ` (${fix})` : '';
      const after = retryAfterMs(res.headers);
      return {
        ok: false,
        error: new LangfuseError(
          code,
          `Langfuse answered ${res.status} to ${what}${hint}${excerpt ? `: ${excerpt}` : ''}`,
          {
            status: res.status,
            ...(after === undefined ? {} : { retryAfterMs: after }),
          },
        ),
      };
    }
    let json: unknown;
    try {
      json = JSON.parse(res.text);
    } catch (err) {
      return {
        ok: false,
        error: new LangfuseError('LANGFUSE_BAD_RESPONSE', `Langfuse sent invalid JSON for ${what}`, {
          cause: err,
        }),
      };
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return {
        ok: false,
        error: new LangfuseError(
          'LANGFUSE_BAD_RESPONSE',
          `Langfuse's answer to ${what} has an unexpected shape: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
        ),
      };
    }
    return { ok: true, value: parsed.data };
  }

  /** Rewrites 401/403/404 of a dataset call so the message names the dataset (never a key). */
  function aboutDataset<T>(name: string, res: LangfuseResult<T>): LangfuseResult<T> {
    if (res.ok) return res;
    const e = res.error;
    if (e.code === 'LANGFUSE_NOT_FOUND')
      return {
        ok: false,
        error: new LangfuseError(
          e.code,
          `Langfuse has no dataset named '${name}' in this project (404); check the name (it is case-sensitive) and LANGFUSE_BASE_URL`,
          { status: 404 },
        ),
      };
    if (e.code === 'LANGFUSE_UNAUTHORIZED')
      return {
        ok: false,
        error: new LangfuseError(
          e.code,
          `Langfuse refused to read dataset '${name}' (${e.status}): ${langfuseFix(e.status ?? 401, '')}`,
          e.status === undefined ? {} : { status: e.status },
        ),
      };
    return res;
  }

  /** `call` retried on 429/5xx/time-outs; `counter` counts the retries. */
  // Once a call has used up its retries on a retryable failure, Langfuse is taken to be down for 30 s: calls in
  // that time are tried once, so many calls in a row (a run's scores) cannot each wait out the back-off.
  let downUntil = 0;
  async function retried<T>(
    what: string,
    run: () => Promise<LangfuseResult<T>>,
    counter?: { retries: number },
    maxRetries?: number,
  ): Promise<LangfuseResult<T>> {
    const res = await withBackoff(run, {
      ...options.retry,
      ...(Date.now() < downUntil ? { maxRetries: 0 } : maxRetries === undefined ? {} : { maxRetries }),
      logger,
      what: `Langfuse ${what}`,
      onRetry: () => {
        if (counter) counter.retries += 1;
      },
    });
    if (!res.ok && res.error.retryable) downUntil = Date.now() + 30_000;
    else if (res.ok) downUntil = 0;
    return res;
  }

  async function getDataset(
    name: string,
    counter?: { retries: number },
  ): Promise<LangfuseResult<LangfuseDataset>> {
    // The current read (https://api.reference.langfuse.com/#tag/datasets/GET/api/public/v2/datasets/{datasetName});
    // the legacy GET /api/public/datasets/{name} also embedded every item, which large datasets cannot afford.
    return aboutDataset(
      name,
      await retried(
        'dataset read',
        () => call('GET', `/api/public/v2/datasets/${encodeURIComponent(name)}`, LangfuseDatasetSchema),
        counter,
      ),
    );
  }

  async function getDatasetItems(
    name: string,
    p: { page?: number; limit?: number } = {},
    counter?: { retries: number },
  ): Promise<LangfuseResult<DatasetItemsPage>> {
    const query = new URLSearchParams({ datasetName: name });
    if (p.page !== undefined) query.set('page', String(p.page));
    if (p.limit !== undefined) query.set('limit', String(p.limit));
    return aboutDataset(
      name,
      await retried(
        'dataset items read',
        () => call('GET', `/api/public/dataset-items?${query}`, DatasetItemsPageSchema),
        counter,
      ),
    );
  }

  const api: LangfuseClient = {
    getHealth: () => call('GET', '/api/public/health', LangfuseHealthSchema),

    postOtlp: (body) =>
      call('POST', LANGFUSE_OTEL_PATH, z.unknown(), body, { 'x-langfuse-ingestion-version': '4' }),

    getPrompt(name, selector = {}) {
      const query = new URLSearchParams();
      if (selector.version !== undefined) query.set('version', String(selector.version));
      else if (selector.label !== undefined) query.set('label', selector.label);
      const qs = query.toString();
      return retried('prompt read', () =>
        call(
          'GET',
          `/api/public/v2/prompts/${encodeURIComponent(name)}${qs ? `?${qs}` : ''}`,
          LangfusePromptSchema,
        ),
      );
    },

    getObservations(q = {}) {
      const query = new URLSearchParams();
      if (q.cursor) query.set('cursor', q.cursor);
      if (q.limit !== undefined) query.set('limit', String(q.limit));
      if (q.fromStartTime) query.set('fromStartTime', q.fromStartTime.toISOString());
      if (q.toStartTime) query.set('toStartTime', q.toStartTime.toISOString());
      if (q.type) query.set('type', q.type);
      if (q.traceId) query.set('traceId', q.traceId);
      if (q.filter) query.set('filter', JSON.stringify(q.filter));
      if (q.fields) query.set('fields', q.fields);
      if (q.expandMetadata?.length) query.set('expandMetadata', q.expandMetadata.join(','));
      const qs = query.toString();
      return call('GET', `/api/public/v2/observations${qs ? `?${qs}` : ''}`, ObservationsPageSchema);
    },

    getObservationsV1(q = {}) {
      const query = new URLSearchParams();
      if (q.page !== undefined) query.set('page', String(q.page));
      if (q.limit !== undefined) query.set('limit', String(q.limit));
      if (q.fromStartTime) query.set('fromStartTime', q.fromStartTime.toISOString());
      if (q.toStartTime) query.set('toStartTime', q.toStartTime.toISOString());
      if (q.type) query.set('type', q.type);
      if (q.traceId) query.set('traceId', q.traceId);
      if (q.filter) query.set('filter', JSON.stringify(q.filter));
      const qs = query.toString();
      return call('GET', `/api/public/observations${qs ? `?${qs}` : ''}`, ObservationsV1PageSchema);
    },

    getDataset: (name) => getDataset(name),
    getDatasetItems: (name, p) => getDatasetItems(name, p),

    async readDataset(name, opts = {}) {
      const counter = { retries: 0 };
      const dataset = await getDataset(name, counter);
      if (!dataset.ok) return dataset;
      const limit = opts.pageSize ?? 100;
      const read: DatasetRead = {
        dataset: dataset.value,
        items: [],
        archived: 0,
        invalid: [],
        retries: 0,
      };
      let position = 0;
      // Page-based paging; stop on the last page, or on an empty page in case totalPages is stale.
      for (let page = 1; page <= 10_000; page++) {
        const res = await getDatasetItems(name, { page, limit }, counter);
        read.retries = counter.retries;
        if (!res.ok) return res;
        for (const raw of res.value.data) {
          position += 1;
          const item = LangfuseDatasetItemSchema.safeParse(raw);
          if (!item.success) {
            const issue = item.error.issues[0];
            read.invalid.push({
              position,
              reason: `${issue?.path.join('.') || '(record)'}: ${issue?.message ?? 'invalid'}`,
            });
          } else if (item.data.status === 'ARCHIVED') read.archived += 1;
          else read.items.push(item.data);
        }
        if (res.value.data.length === 0 || page >= res.value.meta.totalPages) break;
      }
      return { ok: true, value: read };
    },

    async publishScores(scores, opts = {}) {
      const result: PublishScoresResult = { published: [], failed: [], retries: 0 };
      const queue = [...scores];
      const worker = async () => {
        for (let score = queue.shift(); score; score = queue.shift()) {
          const input = ScoreInputSchema.safeParse(score);
          if (!input.success) {
            result.failed.push({
              id: score.id,
              error: new LangfuseError(
                'LANGFUSE_BAD_REQUEST',
                `invalid score: ${input.error.issues[0]?.message}`,
              ),
            });
            continue;
          }
          const body = input.data;
          const res = await retried(
            'score write',
            () => call('POST', '/api/public/scores', ScoreCreatedSchema, body),
            result,
            opts.maxRetries,
          );
          if (res.ok) result.published.push(input.data.id);
          else result.failed.push({ id: input.data.id, error: res.error });
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 4) }, worker));
      return result;
    },
  };
  return api;
}

/** The Langfuse client the environment configures (both keys set), or undefined when Langfuse is off. */
export function langfuseFromEnv(
  env: Pick<Env, 'LANGFUSE_BASE_URL' | 'LANGFUSE_PUBLIC_KEY' | 'LANGFUSE_SECRET_KEY'>,
  options: Pick<LangfuseClientOptions, 'logger' | 'fetch'> = {},
): LangfuseClient | undefined {
  if (!env.LANGFUSE_PUBLIC_KEY || !env.LANGFUSE_SECRET_KEY) return undefined;
  return createLangfuseClient({
    baseUrl: env.LANGFUSE_BASE_URL,
    publicKey: env.LANGFUSE_PUBLIC_KEY,
    secretKey: env.LANGFUSE_SECRET_KEY,
    ...options,
  });
}
