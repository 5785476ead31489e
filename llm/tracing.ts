// Optional Langfuse tracing of model calls as "generations" (usage and cost included). Fire-and-forget:
// a slow or failing Langfuse is logged and otherwise ignored, so it can never block or fail a score.
import { randomUUID } from 'node:crypto';
import type { Logger } from '../config/index.ts';
import type { ChatMessage, Usage } from './types.ts';

/** Where to send generations. */
export interface TraceOptions {
  baseUrl: string;
  publicKey: string;
  secretKey: string;
  /** Per-request time-out; default 10 s. */
  timeoutMs?: number;
}

/** One model call as recorded in Langfuse. */
export interface GenerationRecord {
  name: string;
  /** Attach to this trace; a new trace is created when unset. */
  traceId?: string;
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

/** Builds the ingestion batch for one generation (exported for tests). */
export function generationBatch(g: GenerationRecord, ids: () => string = randomUUID): { batch: unknown[] } {
  const timestamp = g.endTime.toISOString();
  const traceId = g.traceId ?? ids();
  const batch: unknown[] = [];
  if (!g.traceId) {
    batch.push({
      id: ids(),
      type: 'trace-create',
      timestamp,
      body: { id: traceId, name: g.name, timestamp: g.startTime.toISOString(), tags: ['arbiter'] },
    });
  }
  batch.push({
    id: ids(),
    type: 'generation-create',
    timestamp,
    body: {
      id: ids(),
      traceId,
      name: g.name,
      startTime: g.startTime.toISOString(),
      endTime: g.endTime.toISOString(),
      model: g.model,
      modelParameters: g.modelParameters,
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
      ...(g.costUsd !== undefined && g.priceKnown !== false ? { costDetails: { total: g.costUsd } } : {}),
      level: g.error ? 'ERROR' : 'DEFAULT',
      ...(g.error ? { statusMessage: `${g.error.code}: ${g.error.message}` } : {}),
      metadata: { provider: g.provider, source: 'arbiter', ...g.metadata },
    },
  });
  return { batch };
}

/** Sends each generation to Langfuse's ingestion API (POST /api/public/ingestion, basic auth pk:sk). */
export function createLangfuseTracer(
  options: TraceOptions,
  deps: { logger: Logger; fetch?: typeof fetch },
): GenerationTracer {
  const doFetch = deps.fetch ?? fetch;
  const url = `${options.baseUrl.replace(/\/+$/, '')}/api/public/ingestion`;
  const auth = `Basic ${Buffer.from(`${options.publicKey}:${options.secretKey}`).toString('base64')}`;
  const pending = new Set<Promise<void>>();

  async function send(g: GenerationRecord): Promise<void> {
    try {
      const res = await doFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: auth },
        body: JSON.stringify(generationBatch(g)),
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      if (!res.ok) {
        deps.logger.warn(
          { status: res.status, generation: g.name },
          'Langfuse rejected a generation trace (the score is unaffected)',
        );
        return;
      }
      // 207 Multi-Status lists per-event errors in the body.
      const body = (await res.json().catch(() => undefined)) as
        | { errors?: { message?: string }[] }
        | undefined;
      if (body?.errors && body.errors.length > 0) {
        deps.logger.warn(
          { errors: body.errors.map((e) => e.message).slice(0, 3), generation: g.name },
          'Langfuse rejected part of a generation trace',
        );
      }
    } catch (err) {
      deps.logger.warn(
        { err: err instanceof Error ? err.message : String(err), generation: g.name },
        'could not send a generation trace to Langfuse (the score is unaffected)',
      );
    }
  }

  return {
    record(g) {
      const p = send(g).finally(() => pending.delete(p));
      pending.add(p);
    },
    async flush() {
      await Promise.allSettled([...pending]);
    },
  };
}
