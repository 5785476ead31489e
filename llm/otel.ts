// Langfuse tracing over OpenTelemetry: one NodeTracerProvider with @langfuse/otel's LangfuseSpanProcessor, used by
// @langfuse/tracing's observation API (judge and target generations, run items as experiment items). Langfuse v4
// ingests traces only through OTLP (`POST /api/public/otel/v1/traces`); the legacy ingestion endpoint answers 400 to
// trace, span and generation events.
//   https://langfuse.com/integrations/native/opentelemetry (endpoint, Basic auth, x-langfuse-ingestion-version: 4)
//   https://langfuse.com/docs/observability/sdk/typescript/setup (LangfuseSpanProcessor on the Node SDK)
// Export never blocks or fails the caller: spans are batched, failures are counted and logged once.
import { createRequire } from 'node:module';
import type * as LangfuseOtel from '@langfuse/otel';
import type * as LangfuseTracingSdk from '@langfuse/tracing';
import type * as OtelApi from '@opentelemetry/api';
import type { SpanContext } from '@opentelemetry/api';
import type * as OtelContextAsyncHooks from '@opentelemetry/context-async-hooks';
import type * as OtelCore from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import type * as OtelExporter from '@opentelemetry/exporter-trace-otlp-http';
import type { IdGenerator, ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type * as OtelNode from '@opentelemetry/sdk-trace-node';
import type { Env, Logger } from '../config/index.ts';
import { LANGFUSE_OTEL_PATH, langfuseFix } from '../langfuse/index.ts';

const requireCjs = createRequire(import.meta.url);
/**
 * The OpenTelemetry SDK and @langfuse/otel (several hundred modules, over half a second) are required when a
 * pipeline starts (Langfuse keys set), not when the bot or the CLI starts. The OTel API and @langfuse/tracing keep
 * their state on globalThis, so these CommonJS copies and the ES modules other files import share it.
 */
function sdk() {
  return {
    api: requireCjs('@opentelemetry/api') as typeof OtelApi,
    asyncHooks: requireCjs('@opentelemetry/context-async-hooks') as typeof OtelContextAsyncHooks,
    core: requireCjs('@opentelemetry/core') as typeof OtelCore,
    exporter: requireCjs('@opentelemetry/exporter-trace-otlp-http') as typeof OtelExporter,
    node: requireCjs('@opentelemetry/sdk-trace-node') as typeof OtelNode,
    langfuseOtel: requireCjs('@langfuse/otel') as typeof LangfuseOtel,
    langfuseTracing: requireCjs('@langfuse/tracing') as typeof LangfuseTracingSdk,
  };
}

/** Where and how to send spans. */
export interface LangfuseTracingOptions {
  baseUrl: string;
  publicKey: string;
  secretKey: string;
  /** Langfuse environment of Arbiter's own traces (LANGFUSE_ENVIRONMENT); `default` when unset. */
  environment?: string;
  /** Spans per export request; default 100. */
  flushAt?: number;
  /** Longest time a span waits in the batch, ms; default 2000. */
  flushIntervalMs?: number;
  /** Per-request time-out, ms; default 10 s. */
  timeoutMs?: number;
  /** Longest time `flush` waits for exports in flight, ms; default 15 s. */
  flushTimeoutMs?: number;
  logger: Logger;
}

/** Export counters since start (spans, not requests). */
export interface TracingStats {
  exported: number;
  failed: number;
  lastError?: string;
}

/** The running tracing pipeline. */
export interface LangfuseTracing {
  readonly environment: string;
  /** Runs `fn` with the next root span's trace and span id fixed (deterministic ids make re-sends upserts). */
  withIds<T>(ids: { traceId: string; spanId: string }, fn: () => T): T;
  /** Export outcome of the root span of `traceId` once known ('ok' | 'failed'); reading it forgets it. */
  takeRootOutcome(traceId: string): 'ok' | 'failed' | undefined;
  /** Exports every ended span; waits at most `flushTimeoutMs`. Never throws. */
  flush(): Promise<void>;
  /** Flushes, then stops the pipeline (shutdown). Never throws. */
  shutdown(): Promise<void>;
  stats(): TracingStats;
}

/** Name every span Arbiter creates starts with (monitors exclude them by it, with tag and metadata markers). */
export const ARBITER_SPAN_PREFIX = 'arbiter.';
/** Trace tag on every trace Arbiter creates. */
export const ARBITER_TAG = 'arbiter';
/** Observation metadata marking Arbiter's own spans. */
export const ARBITER_SOURCE = { source: 'arbiter' } as const;

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;

const HEX = '0123456789abcdef';
/** Random hex as OTel's own RandomIdGenerator makes it (Math.random: ids need to be unique, not secret; crypto's
 * synchronous random bytes cost ~10x more per span). */
function randomHex(chars: number): string {
  let out = '';
  for (let i = 0; i < chars; i++) out += HEX[Math.floor(Math.random() * 16)];
  // An all-zero id is invalid in W3C trace context.
  return /^0+$/.test(out) ? `${out.slice(0, -1)}1` : out;
}

/** Random ids unless a caller pinned the next root span's ids (synchronously, around one startSpan call). */
class PinnableIds implements IdGenerator {
  pinned: { traceId: string; spanId: string } | undefined;
  private pinnedSpanUsed = false;
  generateTraceId(): string {
    return this.pinned?.traceId ?? randomHex(32);
  }
  generateSpanId(): string {
    // The tracer asks for the span id first, then (for a root span) the trace id.
    if (this.pinned && !this.pinnedSpanUsed) {
      this.pinnedSpanUsed = true;
      return this.pinned.spanId;
    }
    return randomHex(16);
  }
  with<T>(ids: { traceId: string; spanId: string }, fn: () => T): T {
    const before = this.pinned;
    const used = this.pinnedSpanUsed;
    this.pinned = ids;
    this.pinnedSpanUsed = false;
    try {
      return fn();
    } finally {
      this.pinned = before;
      this.pinnedSpanUsed = used;
    }
  }
}

/**
 * Why an export failed, naming the endpoint and what to check (exported for tests). The OTLP exporter has already
 * retried 429/502/503/504 with back-off within its time-out when it reports a retryable failure.
 */
export function exportFailure(error: unknown, endpoint: string): string {
  const e = error as { code?: unknown; data?: unknown; message?: unknown } | undefined;
  const what = `POST ${endpoint}`;
  const status = typeof e?.code === 'number' ? e.code : undefined;
  if (status !== undefined) {
    const fix = langfuseFix(status, what);
    const body = typeof e?.data === 'string' ? e.data.slice(0, 200) : '';
    return `Langfuse answered ${status} to ${what}${fix ? ` (${fix})` : ''}${body ? `: ${body}` : ''}`;
  }
  const message = typeof e?.message === 'string' ? e.message : 'export failed';
  if (/retryable/i.test(message))
    return `Langfuse did not take the spans at ${what}: 429/5xx or time-outs until the exporter's retries ran out`;
  return `Langfuse is unreachable (${what}): ${message}`;
}

/** Counts what the OTLP exporter managed to send; remembers the outcome of root spans named `arbiter.run.item`. */
class CountingExporter implements SpanExporter {
  readonly stats: TracingStats = { exported: 0, failed: 0 };
  readonly roots = new Map<string, 'ok' | 'failed'>();
  private reported = false;
  constructor(
    private readonly inner: SpanExporter,
    private readonly logger: Logger,
    private readonly endpoint: string,
    private readonly success: OtelCore.ExportResultCode,
  ) {}
  /** Exports sent and not yet answered. */
  private readonly inFlight = new Set<Promise<void>>();
  /** Resolves once every export sent so far has its outcome counted. */
  settled(): Promise<void> {
    return Promise.all(this.inFlight).then(() => undefined);
  }
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    let answered = () => {};
    const pending = new Promise<void>((resolve) => {
      answered = resolve;
    });
    this.inFlight.add(pending);
    this.inner.export(spans, (result) => {
      this.inFlight.delete(pending);
      answered();
      const ok = result.code === this.success;
      if (ok) this.stats.exported += spans.length;
      else {
        this.stats.failed += spans.length;
        this.stats.lastError = exportFailure(result.error, this.endpoint).slice(0, 600);
        if (!this.reported) {
          this.reported = true;
          this.logger.warn(
            { spans: spans.length, error: this.stats.lastError },
            'Langfuse tracing: spans could not be exported (runs and scores are unaffected; further failures are only counted)',
          );
        }
      }
      for (const s of spans) {
        if (s.name !== RUN_ITEM_SPAN) continue;
        if (this.roots.size > 100_000) this.roots.clear();
        this.roots.set(s.spanContext().traceId, ok ? 'ok' : 'failed');
      }
      done(result);
    });
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

/** Name of the root span of a run item (an experiment item trace). */
export const RUN_ITEM_SPAN = 'arbiter.run.item';

let contextManagerSet = false;
/** Spans started inside a callback become its children only with an async context manager; set one once. */
function ensureContextManager(lib: ReturnType<typeof sdk>): void {
  if (contextManagerSet) return;
  contextManagerSet = true;
  // False when another one is already registered (e.g. an embedding app's OTel SDK): that one works as well.
  lib.api.context.setGlobalContextManager(new lib.asyncHooks.AsyncLocalStorageContextManager().enable());
}

/** A remote parent for attaching a span to an existing trace (ids are validated; undefined when malformed). */
export function remoteParent(traceId: string, spanId: string): SpanContext | undefined {
  if (!HEX32.test(traceId) || !HEX16.test(spanId)) return undefined;
  return { traceId, spanId, traceFlags: sdk().api.TraceFlags.SAMPLED, isRemote: true };
}

/** Starts the pipeline and makes it the one @langfuse/tracing uses. */
export function createLangfuseTracing(options: LangfuseTracingOptions): LangfuseTracing {
  const lib = sdk();
  const { OTLPTraceExporter } = lib.exporter;
  const { NodeTracerProvider } = lib.node;
  const { LangfuseSpanProcessor } = lib.langfuseOtel;
  const { getLangfuseTracerProvider, setLangfuseTracerProvider } = lib.langfuseTracing;
  ensureContextManager(lib);
  const base = options.baseUrl.replace(/\/+$/, '');
  const auth = Buffer.from(`${options.publicKey}:${options.secretKey}`).toString('base64');
  // The exporter sends OTLP/JSON (exporter-trace-otlp-http's default); Langfuse accepts JSON and protobuf.
  const endpoint = `${base}${LANGFUSE_OTEL_PATH}`;
  const otlp = new OTLPTraceExporter({
    url: endpoint,
    headers: {
      Authorization: `Basic ${auth}`,
      'x-langfuse-ingestion-version': '4',
      'x-langfuse-sdk-name': 'javascript',
      'x-langfuse-public-key': options.publicKey,
    },
    timeoutMillis: options.timeoutMs ?? 10_000,
  });
  const exporter = new CountingExporter(otlp, options.logger, endpoint, lib.core.ExportResultCode.SUCCESS);
  const environment = options.environment ?? 'default';
  const processor = new LangfuseSpanProcessor({
    exporter,
    // Given explicitly so the SDK never falls back to reading LANGFUSE_* from process.env (config/ does that).
    publicKey: options.publicKey,
    secretKey: options.secretKey,
    baseUrl: base,
    environment,
    flushAt: options.flushAt ?? 100,
    flushInterval: (options.flushIntervalMs ?? 2000) / 1000,
    mediaUploadEnabled: false,
  });
  const ids = new PinnableIds();
  const provider = new NodeTracerProvider({ idGenerator: ids, spanProcessors: [processor] });
  setLangfuseTracerProvider(provider);
  const flushTimeoutMs = options.flushTimeoutMs ?? 15_000;
  const bounded = async (p: Promise<unknown>) => {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      p.catch(() => undefined),
      new Promise((resolve) => {
        timer = setTimeout(resolve, flushTimeoutMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  };
  let stopped: Promise<void> | undefined;
  return {
    environment,
    withIds: (pinned, fn) => ids.with(pinned, fn),
    takeRootOutcome(traceId) {
      const o = exporter.roots.get(traceId);
      if (o) exporter.roots.delete(traceId);
      return o;
    },
    // The batch processor's forceFlush exports what is buffered but does not wait for an export already in flight
    // (started by a full batch or the timer): wait for those too, so every root's outcome is known after a flush and
    // the run's publication does not send again an item trace that was on its way.
    flush: () =>
      bounded(
        provider
          .forceFlush()
          .catch(() => undefined)
          .then(() => exporter.settled()),
      ),
    shutdown() {
      stopped ??= (async () => {
        await bounded(provider.shutdown());
        if (getLangfuseTracerProvider() === provider) setLangfuseTracerProvider(null);
      })();
      return stopped;
    },
    stats: () => ({ ...exporter.stats }),
  };
}

/** The tracing pipeline the environment configures (both Langfuse keys set), or undefined when Langfuse is off. */
export function langfuseTracingFromEnv(
  env: Partial<
    Pick<Env, 'LANGFUSE_BASE_URL' | 'LANGFUSE_PUBLIC_KEY' | 'LANGFUSE_SECRET_KEY' | 'LANGFUSE_ENVIRONMENT'>
  >,
  deps: { logger: Logger },
): LangfuseTracing | undefined {
  if (!env.LANGFUSE_PUBLIC_KEY || !env.LANGFUSE_SECRET_KEY) return undefined;
  return createLangfuseTracing({
    baseUrl: env.LANGFUSE_BASE_URL ?? 'https://cloud.langfuse.com',
    publicKey: env.LANGFUSE_PUBLIC_KEY,
    secretKey: env.LANGFUSE_SECRET_KEY,
    ...(env.LANGFUSE_ENVIRONMENT ? { environment: env.LANGFUSE_ENVIRONMENT } : {}),
    logger: deps.logger,
  });
}
