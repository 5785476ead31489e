// Optional Langfuse tracing of model calls as generations (usage and cost included), sent through OpenTelemetry
// with @langfuse/tracing (see otel.ts). A call made inside an active span (a run item) becomes its child; one made
// elsewhere (a monitor's judge) is a trace of its own that names what it judged. Every generation is marked as
// Arbiter's own: name `arbiter.…`, trace tag `arbiter`, metadata `source: arbiter`, so monitors can leave it out.
// Attribute shapes: https://langfuse.com/integrations/native/opentelemetry#property-mapping
import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import type * as LangfuseCore from '@langfuse/core';
import type * as LangfuseTracingSdk from '@langfuse/tracing';
import type { LangfuseGenerationAttributes } from '@langfuse/tracing';
import type * as OtelApi from '@opentelemetry/api';
import { ARBITER_SOURCE, ARBITER_SPAN_PREFIX, ARBITER_TAG, type LangfuseTracing } from './otel.ts';
import type { ChatMessage, Usage } from './types.ts';

const requireCjs = createRequire(import.meta.url);
let sdks: { core: typeof LangfuseCore; tracing: typeof LangfuseTracingSdk; api: typeof OtelApi } | undefined;
/** The Langfuse SDK and the OTel API, required by the first traced generation, not at start (state on globalThis). */
function sdk() {
  sdks ??= {
    core: requireCjs('@langfuse/core') as typeof LangfuseCore,
    tracing: requireCjs('@langfuse/tracing') as typeof LangfuseTracingSdk,
    api: requireCjs('@opentelemetry/api') as typeof OtelApi,
  };
  return sdks;
}

/** Where to send generations (the Langfuse keys; LLM_TRACE switches generation tracing on). */
export interface TraceOptions {
  baseUrl: string;
  publicKey: string;
  secretKey: string;
  /** Langfuse environment (LANGFUSE_ENVIRONMENT). */
  environment?: string;
  /** Per-request time-out; default 10 s. */
  timeoutMs?: number;
}

/** What an evaluation judged, recorded on the judge's generation (monitors scoring a Langfuse trace). */
export interface JudgedRef {
  traceId: string;
  observationId?: string;
}

/** One model call as recorded in Langfuse. */
export interface GenerationRecord {
  name: string;
  /** The trace this call evaluated (kept as metadata: Arbiter never writes into the judged trace). */
  judged?: JudgedRef;
  /** Link the generation to a Langfuse prompt version. */
  prompt?: { name: string; version: number };
  provider: string;
  model: string;
  input: readonly ChatMessage[];
  output?: string;
  usage?: Usage;
  costUsd?: number;
  priceKnown?: boolean;
  startTime: Date;
  endTime: Date;
  modelParameters: Record<string, string | number | boolean>;
  error?: { code: string; message: string };
  metadata?: Record<string, unknown>;
}

/** Records generations; `flush` waits for those in flight (tests and shutdown). */
export interface GenerationTracer {
  record(generation: GenerationRecord): void;
  flush(): Promise<void>;
}

/** A tracer that records nothing (tracing off, the default). */
export const noopTracer: GenerationTracer = { record() {}, flush: async () => {} };

const judging = new AsyncLocalStorage<JudgedRef>();

/** Runs `fn` so that every model call inside it records that it judged `ref` (monitors wrap their scoring). */
export function withJudged<T>(ref: JudgedRef | undefined, fn: () => T): T {
  return ref ? judging.run(ref, fn) : fn();
}

/** `judge:faithfulness` → `arbiter.judge.faithfulness`; names already starting `arbiter.` are kept. */
export function arbiterSpanName(name: string): string {
  let out = spanNames.get(name);
  if (out === undefined) {
    const clean = name.replace(/:/g, '.');
    out = clean.startsWith(ARBITER_SPAN_PREFIX) ? clean : `${ARBITER_SPAN_PREFIX}${clean}`;
    if (spanNames.size < 1000) spanNames.set(name, out);
  }
  return out;
}
const spanNames = new Map<string, string>();

/** The @langfuse/tracing attributes of one generation (exported for tests). */
export function generationAttributes(
  g: GenerationRecord,
  judged: JudgedRef | undefined,
): LangfuseGenerationAttributes {
  return {
    model: g.model,
    // Langfuse model parameters are strings or numbers.
    modelParameters: Object.fromEntries(
      Object.entries(g.modelParameters).map(([k, v]) => [k, typeof v === 'boolean' ? String(v) : v]),
    ),
    input: g.input,
    ...(g.output !== undefined ? { output: g.output } : {}),
    ...(g.usage
      ? {
          usageDetails: {
            input: g.usage.inputTokens,
            output: g.usage.outputTokens,
            total: g.usage.inputTokens + g.usage.outputTokens,
          },
        }
      : {}),
    // An unknown price is left to Langfuse's own model prices rather than sent as a false 0.
    ...(g.costUsd !== undefined && g.priceKnown !== false ? { costDetails: { total: g.costUsd } } : {}),
    level: g.error ? ('ERROR' as const) : ('DEFAULT' as const),
    ...(g.error ? { statusMessage: `${g.error.code}: ${g.error.message}` } : {}),
    ...(g.prompt ? { prompt: { name: g.prompt.name, version: g.prompt.version, isFallback: false } } : {}),
    metadata: {
      ...g.metadata,
      ...ARBITER_SOURCE,
      provider: g.provider,
      ...(judged
        ? {
            judgedTraceId: judged.traceId,
            ...(judged.observationId ? { judgedObservationId: judged.observationId } : {}),
          }
        : {}),
    },
  };
}

/** Records each generation as an OTel span through @langfuse/tracing on `tracing`'s provider. */
export function createOtelGenerationTracer(tracing: LangfuseTracing): GenerationTracer {
  return {
    record(g) {
      const judged = g.judged ?? judging.getStore();
      const name = arbiterSpanName(g.name);
      const generation = sdk().tracing.startObservation(name, generationAttributes(g, judged), {
        asType: 'generation',
        startTime: g.startTime,
      });
      // Outside a run item the generation is the root of its own trace: name, tag and mark that trace too.
      if (!sdk().api.trace.getActiveSpan()) {
        generation.otelSpan.setAttributes({
          [sdk().core.LangfuseOtelSpanAttributes.TRACE_NAME]: name,
          [sdk().core.LangfuseOtelSpanAttributes.TRACE_TAGS]: judged
            ? [ARBITER_TAG, 'evaluation']
            : [ARBITER_TAG],
          [`${sdk().core.LangfuseOtelSpanAttributes.TRACE_METADATA}.source`]: ARBITER_SOURCE.source,
          ...(judged
            ? { [`${sdk().core.LangfuseOtelSpanAttributes.TRACE_METADATA}.judgedTraceId`]: judged.traceId }
            : {}),
        });
      }
      generation.end(g.endTime);
    },
    flush: () => tracing.flush(),
  };
}
