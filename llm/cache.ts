// The response cache: an identical call (provider, model, full prompt, parameters) is answered from the store
// at no cost. Only complete replies are stored (never a truncated, refused or blocked one), and an entry older
// than LLM_CACHE_TTL is a miss. A failing store never fails a call: the cache is an optimisation and degrades to
// a miss.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { type Clock, isArbiterError, type Logger, systemClock } from '../config/index.ts';
import type { Collection, DocumentStore } from '../storage/index.ts';
import type { ChatMessage, Usage } from './types.ts';

/** Collection holding cached responses. */
export const CACHE_COLLECTION = 'llm_cache';

/** Everything that decides a model's answer; exactly these fields form the cache key. */
export interface CacheKeyInput {
  provider: string;
  model: string;
  messages: readonly ChatMessage[];
  temperature: number;
  maxTokens: number;
  json: boolean;
  /** Structured-output schema, when one was sent. */
  jsonSchema?: Record<string, unknown>;
  effort?: string;
}

/** JSON with object keys sorted at every level, so equal values always serialise identically. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object' && !(v instanceof Date)) {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

/** sha256 (hex) of the canonical JSON of the key fields. */
export function cacheKey(input: CacheKeyInput): string {
  const { provider, model, messages, temperature, maxTokens, json, jsonSchema, effort } = input;
  // Unset optional fields drop out of the canonical JSON, so calls without them keep their old keys.
  const material = canonicalJson({
    provider,
    model,
    messages: messages.map((m) => ({ role: m.role, content: m.content })),
    temperature,
    maxTokens,
    json,
    jsonSchema,
    effort,
  });
  return createHash('sha256').update(material).digest('hex');
}

const CachedDocSchema = z.object({
  _id: z.string(),
  model: z.string(),
  text: z.string(),
  usage: z.object({
    inputTokens: z.number(),
    outputTokens: z.number(),
    cacheReadTokens: z.number().optional(),
    cacheWriteTokens: z.number().optional(),
  }),
  // Entries written before replies carried a finish reason may hold a truncated reply: they are not trusted.
  finish: z.literal('complete'),
  createdAt: z.coerce.date(),
});

/** A cached response as stored. */
export type CachedResponse = z.infer<typeof CachedDocSchema>;

/** Read/write access to cached responses. */
export interface ResponseCache {
  get(key: string): Promise<CachedResponse | undefined>;
  /** Resolves once the entry is stored (or the write failed and was logged); never rejects. */
  put(entry: CachedResponse): Promise<void>;
}

/** Write batching: at most this many entries or this many ms before a batch goes to the store. */
const BATCH_MAX = 200;
const BATCH_DELAY_MS = 25;

/**
 * A cache over the document store; the collection opens on first use. Writes are batched: one insertMany
 * per batch instead of one write per call, because store reads queue behind writes (the embedded store runs
 * one operation at a time) and every call starts with a read.
 */
export function createStoreCache(
  store: DocumentStore,
  logger: Logger,
  options: { ttlMs?: number; clock?: Pick<Clock, 'nowMs'> } = {},
): ResponseCache {
  const ttlMs = options.ttlMs ?? Number.POSITIVE_INFINITY;
  const clock = options.clock ?? systemClock;
  let collection: Promise<Collection<CachedResponse>> | undefined;
  const open = () => {
    if (!collection) {
      collection = store.collection<CachedResponse>(CACHE_COLLECTION, [{ fields: { createdAt: 1 } }]);
      // A failed open is retried on the next call rather than remembered.
      collection.catch(() => {
        collection = undefined;
      });
    }
    return collection;
  };

  let batch: { entries: CachedResponse[]; done: Promise<void>; release: () => void } | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;

  async function write(entries: CachedResponse[]): Promise<void> {
    try {
      const coll = await open();
      try {
        await coll.insertMany(entries);
      } catch (err) {
        if (!isArbiterError(err, 'STORE_DUPLICATE_KEY')) throw err;
        // Another replica cached some of these first (its answers are as good as ours): insert the rest one by one.
        for (const entry of entries) {
          await coll.insertOne(entry).catch((e: unknown) => {
            if (!isArbiterError(e, 'STORE_DUPLICATE_KEY')) throw e;
          });
        }
      }
    } catch (err) {
      logger.warn(
        { err: errText(err), entries: entries.length },
        'llm cache write failed; these responses are not cached',
      );
    }
  }

  function flushBatch() {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const current = batch;
    batch = undefined;
    if (current) void write(current.entries).finally(current.release);
  }

  return {
    async get(key) {
      try {
        const coll = await open();
        const doc = await coll.findOne({ _id: key });
        if (!doc) return undefined;
        const parsed = CachedDocSchema.safeParse(doc);
        const expired = parsed.success && clock.nowMs() - parsed.data.createdAt.getTime() > ttlMs;
        if (!parsed.success || expired) {
          if (!parsed.success) logger.debug({ key }, 'dropping an llm_cache document that cannot be trusted');
          // Removed so the fresh answer can take its key (entries are inserted, never overwritten).
          await coll.deleteOne({ _id: key });
          return undefined;
        }
        return parsed.data;
      } catch (err) {
        logger.warn({ err: errText(err) }, 'llm cache read failed; calling the provider');
        return undefined;
      }
    },
    put(entry) {
      if (!batch) {
        let release!: () => void;
        const done = new Promise<void>((resolve) => {
          release = resolve;
        });
        batch = { entries: [], done, release };
        timer = setTimeout(flushBatch, BATCH_DELAY_MS);
      }
      const current = batch;
      current.entries.push(entry);
      if (current.entries.length >= BATCH_MAX) flushBatch();
      return current.done;
    },
  };
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Sum of two usages. */
export function addUsage(a: Usage, b: Usage): Usage {
  const cacheRead = (a.cacheReadTokens ?? 0) + (b.cacheReadTokens ?? 0);
  const cacheWrite = (a.cacheWriteTokens ?? 0) + (b.cacheWriteTokens ?? 0);
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    ...(cacheRead > 0 ? { cacheReadTokens: cacheRead } : {}),
    ...(cacheWrite > 0 ? { cacheWriteTokens: cacheWrite } : {}),
  };
}
