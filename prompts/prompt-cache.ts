// Our own prompt cache in front of Langfuse (the SDK's cache is private, so a webhook could not invalidate it).
// Fresh for `ttlMs`; then served while a background refresh runs (stale-while-revalidate); when Langfuse is
// down the last good version is served, flagged as such. `invalidate(name)` forces the next read to fetch.
import { type Clock, createSilentLogger, type Logger, systemClock } from '../config/index.ts';
import type { LangfuseClient, LangfusePrompt, LangfuseResult, PromptSelector } from '../langfuse/index.ts';

/** Options of the prompt cache. */
export interface PromptCacheOptions {
  client: Pick<LangfuseClient, 'getPrompt'>;
  clock?: Clock;
  logger?: Logger;
  /** How long a fetched version is served without asking Langfuse; default 60 s. */
  ttlMs?: number;
  /** After the TTL, how long it is still served while a background refresh runs; default 5 min. */
  staleWhileRevalidateMs?: number;
  /** Entries kept (least recently used dropped first); default 500. */
  maxEntries?: number;
}

/** A prompt read through the cache, with where it came from. */
export interface CachedPrompt {
  prompt: LangfusePrompt;
  /** True when the value may be outdated: served during a background refresh, or as a fallback. */
  stale: boolean;
  /** fresh: just fetched · cache: within TTL · revalidating: past TTL, refresh under way · fallback: Langfuse failed, last good version. */
  source: 'fresh' | 'cache' | 'revalidating' | 'fallback';
  fetchedAt: Date;
  /** Why a fallback was served. */
  error?: string;
}

/** Counters for /healthz and tests. */
export interface PromptCacheStats {
  hits: number;
  misses: number;
  revalidations: number;
  fallbacks: number;
  invalidations: number;
}

/** The prompt cache. */
export interface PromptCache {
  get(name: string, selector?: PromptSelector): Promise<LangfuseResult<CachedPrompt>>;
  /** Marks every cached selector of a prompt as outdated (kept only as a fallback); returns how many. */
  invalidate(name: string): number;
  stats(): PromptCacheStats;
  /** Resolves when background refreshes have finished (tests, shutdown). */
  settled(): Promise<void>;
}

interface Entry {
  name: string;
  prompt: LangfusePrompt;
  fetchedAt: number;
  invalid: boolean;
}

function keyOf(name: string, selector: PromptSelector): string {
  return selector.version !== undefined
    ? `${name}\u0000v:${selector.version}`
    : `${name}\u0000l:${selector.label ?? 'production'}`;
}

/** Creates a prompt cache over the Langfuse client. */
export function createPromptCache(options: PromptCacheOptions): PromptCache {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createSilentLogger();
  const ttl = options.ttlMs ?? 60_000;
  const swr = options.staleWhileRevalidateMs ?? 5 * 60_000;
  const maxEntries = options.maxEntries ?? 500;
  const entries = new Map<string, Entry>();
  // Bumped by invalidate: a fetch started before an invalidation must not store its (older) answer as fresh.
  const generation = new Map<string, number>();
  const inflight = new Map<string, Promise<LangfuseResult<LangfusePrompt>>>();
  const background = new Set<Promise<unknown>>();
  const stats: PromptCacheStats = { hits: 0, misses: 0, revalidations: 0, fallbacks: 0, invalidations: 0 };

  function store(key: string, name: string, prompt: LangfusePrompt, at: number) {
    entries.delete(key);
    entries.set(key, { name, prompt, fetchedAt: at, invalid: false });
    while (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
  }

  function fetchOnce(
    key: string,
    name: string,
    selector: PromptSelector,
  ): Promise<LangfuseResult<LangfusePrompt>> {
    const gen = generation.get(name) ?? 0;
    const flightKey = `${key}#${gen}`;
    const running = inflight.get(flightKey);
    if (running) return running;
    const p = options.client
      .getPrompt(name, selector)
      .then((res) => {
        if (res.ok && (generation.get(name) ?? 0) === gen) store(key, name, res.value, clock.now().getTime());
        if (!res.ok && res.error.code === 'LANGFUSE_NOT_FOUND' && (generation.get(name) ?? 0) === gen)
          entries.delete(key);
        return res;
      })
      .finally(() => inflight.delete(flightKey));
    inflight.set(flightKey, p);
    return p;
  }

  return {
    async get(name, selector = {}) {
      const key = keyOf(name, selector);
      const now = clock.now().getTime();
      const entry = entries.get(key);
      if (entry && !entry.invalid) {
        const age = now - entry.fetchedAt;
        if (age < ttl) {
          stats.hits += 1;
          return {
            ok: true,
            value: {
              prompt: entry.prompt,
              stale: false,
              source: 'cache',
              fetchedAt: new Date(entry.fetchedAt),
            },
          };
        }
        if (age < ttl + swr) {
          stats.revalidations += 1;
          const refresh = fetchOnce(key, name, selector).then((res) => {
            if (!res.ok)
              logger.warn(
                { prompt: name, code: res.error.code },
                'background prompt refresh failed; serving the cached version',
              );
          });
          background.add(refresh);
          void refresh.finally(() => background.delete(refresh));
          return {
            ok: true,
            value: {
              prompt: entry.prompt,
              stale: true,
              source: 'revalidating',
              fetchedAt: new Date(entry.fetchedAt),
            },
          };
        }
      }
      stats.misses += 1;
      const res = await fetchOnce(key, name, selector);
      if (res.ok)
        return {
          ok: true,
          value: { prompt: res.value, stale: false, source: 'fresh', fetchedAt: clock.now() },
        };
      // Only an unreachable or overloaded Langfuse falls back: a 404 (deleted) or 401 must not be papered over.
      const last = entries.get(key);
      if (res.error.retryable && last) {
        stats.fallbacks += 1;
        logger.warn(
          { prompt: name, code: res.error.code },
          'Langfuse unavailable; serving the last good prompt version',
        );
        return {
          ok: true,
          value: {
            prompt: last.prompt,
            stale: true,
            source: 'fallback',
            fetchedAt: new Date(last.fetchedAt),
            error: res.error.message,
          },
        };
      }
      return res;
    },

    invalidate(name) {
      generation.set(name, (generation.get(name) ?? 0) + 1);
      let n = 0;
      for (const e of entries.values()) {
        if (e.name === name && !e.invalid) {
          e.invalid = true;
          n += 1;
        }
      }
      stats.invalidations += 1;
      return n;
    },

    stats: () => ({ ...stats }),

    async settled() {
      while (background.size > 0) await Promise.allSettled([...background]);
    },
  };
}
