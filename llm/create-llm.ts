// The one wrapper every model call goes through, composed of its parts: settings and model resolution
// (`settings.ts`), the policy stages around a provider call — response cache with in-flight coalescing, circuit
// breaker, retries with back-off, per-provider rate limit, per-attempt time-out (`policy.ts`) —, usage and cost
// accounting (`stats.ts`), the JSON-repair decorator (`json-repair.ts`) and optional Langfuse tracing. Providers
// stay dumb (one raw call); all policy lives in the stages, for completions and embeddings alike.
import { ArbiterError, createSilentLogger, type Env, type Logger, systemClock } from '../config/index.ts';
import type { DocumentStore } from '../storage/index.ts';
import { cacheKey, createStoreCache, type ResponseCache } from './cache.ts';
import { type BreakerState, type CircuitBreaker, createCircuitBreaker } from './circuit-breaker.ts';
import type { LlmTimer } from './clock.ts';
import { isLlmError, LlmError } from './errors.ts';
import { withJsonRepair } from './json-repair.ts';
import type { ModelName } from './model-name.ts';
import { createLangfuseTracing, type LangfuseTracing } from './otel.ts';
import {
  type Attempt,
  asLlmError,
  breakerStages,
  cacheStage,
  type CallContext,
  countAttempts,
  type Metered,
  type ProviderOutcome,
  rateLimitStage,
  retryStage,
  timedAttempt,
  timeoutAttempt,
} from './policy.ts';
import { costOf } from './prices.ts';
import { PROVIDER_NAMES, PROVIDERS, type ProviderSpec } from './providers.ts';
import { createRateLimiter, estimateTokens, type RateLimiter } from './rate-limiter.ts';
import {
  checkLlmConfig,
  createModelResolver,
  type LlmSettings,
  llmSettingsFromEnv,
  type ProviderEntry,
  stripUndefined,
  validateCallParams,
} from './settings.ts';
import { addSpend, createStatsBook, type LlmStats, type ModelStats } from './stats.ts';
import { createOtelGenerationTracer, type GenerationTracer, noopTracer } from './tracing.ts';
import type { CallParams, Completion, EmbedParams, Embeddings, Llm, LlmProvider, Usage } from './types.ts';

export { checkLlmConfig, llmSettingsFromEnv, type LlmSettings } from './settings.ts';

/** What the embedding pipeline sends a provider: its model, the texts and their estimated tokens. */
interface EmbedProviderParams {
  modelName: string;
  texts: readonly string[];
  estimate: number;
}

/** What the embedding pipeline gets back: the vectors and the (estimated) tokens they used. */
interface EmbedReply {
  vectors: number[][];
  usage: Usage;
}

/** A provider that has embeddings. */
type Embedder = LlmProvider & Required<Pick<LlmProvider, 'embed'>>;

const canEmbed = (provider: LlmProvider): provider is Embedder => Boolean(provider.embed);

export type { LlmStats, ModelStats } from './stats.ts';

/** The wrapper as the application holds it: `Llm` plus introspection. */
export interface LlmService extends Llm {
  /** Default judge model (`provider:model`). */
  readonly judgeModel: string;
  /** Provider names callers may use. */
  readonly providers: readonly string[];
  /** Whether a model name can be called here; the error is fit for a user (unknown provider, missing key). */
  check(model: string): { ok: true; heuristic: boolean } | { ok: false; error: string };
  stats(): LlmStats;
  /** Waits for background cache writes and traces (tests, shutdown). */
  flush(): Promise<void>;
  /** The Langfuse tracing pipeline generations go through (when LLM_TRACE is on); runs share it. */
  readonly tracing: LangfuseTracing | undefined;
}

/** What `createLlm` needs; everything but the store has a default. */
export interface CreateLlmOptions {
  /** Holds the response cache (`llm_cache`); without it only identical in-flight calls are shared. */
  store?: DocumentStore;
  /** Parsed environment (keys, base URLs, limits); unset fields take their documented defaults. */
  env?: Partial<Env>;
  /** Overrides of the settings derived from `env`. */
  settings?: Partial<LlmSettings>;
  /** The one `Clock` (its `nowMs` and `sleep`); `createManualClock` in tests. */
  clock?: LlmTimer;
  logger?: Logger;
  /** Extra providers (or replacements of built-ins) by name, e.g. a benchmark stub. */
  providers?: Record<string, LlmProvider>;
  /** Source of jitter; Math.random by default. */
  random?: () => number;
  /** fetch for providers (tests); the global fetch by default. */
  fetch?: typeof fetch;
  /** The Langfuse tracing pipeline to record generations on (with LLM_TRACE); one is started when unset. */
  tracing?: LangfuseTracing;
}

/**
 * Creates the wrapper. Throws CONFIG_INVALID at start-up when the judge model cannot be served (unknown
 * provider, missing key) or tracing is asked for without Langfuse keys.
 */
export function createLlm(options: CreateLlmOptions = {}): LlmService {
  const env = options.env ?? {};
  const extraNames = Object.keys(options.providers ?? {});
  const problems = checkLlmConfig(env, extraNames);
  if (problems.length > 0) {
    throw new ArbiterError(
      'CONFIG_INVALID',
      `Arbiter cannot start: the LLM configuration has problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      {
        hint: 'Set the missing key, or unset ARBITER_JUDGE_MODEL to fall back to offline:heuristic.',
        details: problems,
      },
    );
  }
  const settings: LlmSettings = { ...llmSettingsFromEnv(env), ...stripUndefined(options.settings ?? {}) };
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createSilentLogger();
  const random = options.random ?? Math.random;
  const cache: ResponseCache | undefined = options.store
    ? createStoreCache(options.store, logger, { ttlMs: settings.cacheTtlMs, clock })
    : undefined;
  const tracing: LangfuseTracing | undefined = settings.trace
    ? (options.tracing ?? createLangfuseTracing({ ...settings.trace, logger }))
    : undefined;
  const tracer: GenerationTracer = tracing ? createOtelGenerationTracer(tracing) : noopTracer;

  const entries = new Map<string, ProviderEntry>();
  for (const name of PROVIDER_NAMES) {
    const spec: ProviderSpec = PROVIDERS[name];
    entries.set(name, spec.create({ env, clock, ...(options.fetch ? { fetch: options.fetch } : {}) }));
  }
  for (const [name, provider] of Object.entries(options.providers ?? {})) {
    if (!/^[a-z][a-z0-9-]*$/.test(name))
      throw new ArbiterError(
        'INTERNAL',
        `Invalid provider name "${name}": use lowercase letters, digits and -`,
      );
    entries.set(name, { ok: true, provider });
  }
  const names = [...entries.keys()];
  const resolveModel = createModelResolver(entries);

  const pending = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>) => {
    pending.add(p);
    p.finally(() => pending.delete(p)).catch(() => undefined);
  };
  const book = createStatsBook();
  const cached = cacheStage({ cache, clock, track });
  const retry = retryStage({ retry: settings.retry, clock, random, logger });

  // Per provider: its limiter and breaker, and the stages around its attempts, built on first use.
  const breakers = new Map<string, CircuitBreaker>();
  const limiters = new Map<string, RateLimiter>();
  const pipelines = new Map<string, Attempt>();
  function limiterFor(providerName: string): RateLimiter {
    let limiter = limiters.get(providerName);
    if (!limiter) {
      limiter = createRateLimiter(
        settings.limits[providerName] ?? { requestsPerMinute: 0, tokensPerMinute: 0 },
        clock,
      );
      limiters.set(providerName, limiter);
    }
    return limiter;
  }
  const guards = new Map<string, ReturnType<typeof breakerStages>>();
  const embedPipelines = new Map<string, Attempt<EmbedReply, EmbedProviderParams>>();
  /** The provider's breaker stages: one breaker per provider, shared by its completions and embeddings. */
  function guardFor(providerName: string) {
    let guard = guards.get(providerName);
    if (!guard) {
      const breaker = createCircuitBreaker(settings.breaker, clock);
      breakers.set(providerName, breaker);
      guard = breakerStages(breaker, { clock, logger, cooldownMs: settings.breaker.cooldownMs });
      guards.set(providerName, guard);
    }
    return guard;
  }
  /** The policy around one raw provider call: breaker, retries, rate limit, attempt count and time-out. */
  function policed<R extends Metered, P>(providerName: string, raw: Attempt<R, P>): Attempt<R, P> {
    const guard = guardFor(providerName);
    return guard.call(retry(guard.attempt(rateLimitStage(limiterFor(providerName)))(countAttempts(raw))));
  }
  function pipelineFor(providerName: string, provider: LlmProvider): Attempt {
    let pipeline = pipelines.get(providerName);
    if (!pipeline) {
      pipeline = policed(providerName, timeoutAttempt(provider));
      pipelines.set(providerName, pipeline);
    }
    return pipeline;
  }
  function embedPipelineFor(
    providerName: string,
    provider: Embedder,
  ): Attempt<EmbedReply, EmbedProviderParams> {
    let pipeline = embedPipelines.get(providerName);
    if (!pipeline) {
      // The provider reports no token count for embeddings: the estimate is the usage (rate limit, cost).
      const raw = timedAttempt<EmbedReply, EmbedProviderParams>(
        async (p, signal) => ({
          vectors: await provider.embed({ modelName: p.modelName, texts: p.texts }, signal),
          usage: { inputTokens: p.estimate, outputTokens: 0 },
        }),
        'embeddings',
      );
      pipeline = policed(providerName, raw);
      embedPipelines.set(providerName, pipeline);
    }
    return pipeline;
  }
  /** One provider call's context: its start, the retry budget's deadline, the per-attempt time-out, no attempt. */
  function callContext<P>(
    name: ModelName,
    params: P,
    call: { signal?: AbortSignal; timeoutMs?: number },
    started: number,
    estimate: number,
    stats: ModelStats,
  ): CallContext<P> {
    return {
      name,
      params,
      signal: call.signal,
      started,
      deadline: started + settings.retry.budgetMs,
      timeoutMs: call.timeoutMs ?? settings.timeoutMs,
      estimate,
      attempts: 0,
      lastError: undefined,
      stats,
    };
  }

  async function callProvider(
    name: ModelName,
    provider: LlmProvider,
    params: CallParams & { temperature: number; maxTokens: number },
    started: number,
    stats: ModelStats,
  ): Promise<ProviderOutcome> {
    const ctx = callContext(
      name,
      { ...params, modelName: name.model },
      params,
      started,
      params.messages.reduce((n, m) => n + estimateTokens(m.content), 0),
      stats,
    );
    const res = await pipelineFor(name.provider, provider)(ctx);
    return {
      text: res.text,
      usage: res.usage,
      finish: res.finish ?? 'complete',
      ...(res.finishDetail ? { finishDetail: res.finishDetail } : {}),
      ...(res.toolCalls ? { toolCalls: res.toolCalls } : {}),
      attempts: ctx.attempts,
      fromStore: false,
    };
  }

  function record(
    name: ModelName,
    provider: LlmProvider,
    params: CallParams,
    started: number,
    ended: number,
    result: { text: string; usage: Usage; costUsd: number; priceKnown: boolean } | { error: LlmError },
  ) {
    if (provider.heuristic || !settings.trace) return;
    tracer.record({
      name: params.trace?.name ?? `llm:${name.provider}`,
      ...(params.trace?.traceId
        ? {
            judged: {
              traceId: params.trace.traceId,
              ...(params.trace.observationId ? { observationId: params.trace.observationId } : {}),
            },
          }
        : {}),
      ...(params.trace?.prompt ? { prompt: params.trace.prompt } : {}),
      provider: name.provider,
      model: name.model,
      input: params.messages,
      startTime: new Date(started),
      endTime: new Date(ended),
      modelParameters: {
        temperature: params.temperature ?? settings.defaultTemperature,
        maxTokens: params.maxTokens ?? settings.defaultMaxTokens,
        json: params.json ?? false,
      },
      ...('error' in result
        ? { error: { code: result.error.code, message: result.error.message } }
        : {
            output: result.text,
            usage: result.usage,
            costUsd: result.costUsd,
            priceKnown: result.priceKnown,
          }),
      ...(params.trace?.metadata ? { metadata: params.trace.metadata } : {}),
    });
  }

  async function complete(params: CallParams): Promise<Completion> {
    const started = clock.nowMs();
    validateCallParams(params);
    const { name, provider } = resolveModel(params.model);
    const stats = book.statsFor(name.full, provider.heuristic);
    const normalized = {
      ...params,
      temperature: params.temperature ?? settings.defaultTemperature,
      maxTokens: params.maxTokens ?? settings.defaultMaxTokens,
      json: params.json ?? false,
    };
    // A call offering tools is never cached: the stored reply keeps only text, not the calls the model made.
    const useCache =
      settings.cache && provider.cacheable !== false && params.cache !== false && !params.tools?.length;

    let outcome: ProviderOutcome;
    let joined = false;
    try {
      if (useCache) {
        const key = cacheKey({
          provider: name.provider,
          model: name.model,
          messages: params.messages,
          temperature: normalized.temperature,
          maxTokens: normalized.maxTokens,
          json: normalized.json,
          ...(params.json && params.jsonSchema ? { jsonSchema: params.jsonSchema } : {}),
          ...(params.effort ? { effort: params.effort } : {}),
        });
        const lookup = cached(key, name.full, () => callProvider(name, provider, normalized, started, stats));
        joined = lookup.joined;
        outcome = await lookup.outcome;
      } else {
        outcome = await callProvider(name, provider, normalized, started, stats);
      }
    } catch (err) {
      const e = asLlmError(err, name.provider);
      stats.calls += 1;
      if (!joined) {
        stats.errors += 1;
        // A fast failure of an open circuit never reached the provider: nothing to trace.
        const reachedProvider = !(e.code === 'LLM_CIRCUIT_OPEN' && e.cause === undefined);
        if (reachedProvider) record(name, provider, params, started, clock.nowMs(), { error: e });
      }
      throw e;
    }

    const ended = clock.nowMs();
    stats.calls += 1;
    if (joined || outcome.fromStore) {
      stats.cacheHits += 1;
      return {
        text: outcome.text,
        usage: { inputTokens: 0, outputTokens: 0 },
        finish: outcome.finish,
        ...(outcome.finishDetail ? { finishDetail: outcome.finishDetail } : {}),
        costUsd: 0,
        latencyMs: ended - started,
        cached: true,
        model: name.full,
        heuristic: provider.heuristic,
        // Nothing was spent, so the cost is known: zero.
        priceKnown: true,
        attempts: 0,
      };
    }
    const { costUsd, priceKnown } = provider.heuristic
      ? { costUsd: 0, priceKnown: true }
      : costOf(settings.prices, name.full, outcome.usage);
    addSpend(stats, outcome.usage, costUsd, priceKnown);
    record(name, provider, params, started, ended, {
      text: outcome.text,
      usage: outcome.usage,
      costUsd,
      priceKnown,
    });
    if (outcome.finish !== 'complete') {
      logger.info(
        { model: name.full, finish: outcome.finish, detail: outcome.finishDetail },
        `${name.full}: the reply did not complete (${outcome.finishDetail ?? outcome.finish})`,
      );
    }
    return {
      text: outcome.text,
      usage: outcome.usage,
      finish: outcome.finish,
      ...(outcome.finishDetail ? { finishDetail: outcome.finishDetail } : {}),
      ...(outcome.toolCalls ? { toolCalls: outcome.toolCalls } : {}),
      costUsd,
      latencyMs: ended - started,
      cached: false,
      model: name.full,
      heuristic: provider.heuristic,
      priceKnown,
      attempts: outcome.attempts,
    };
  }

  /**
   * One embedding call, through the same policy stages as a completion (`policed`): the provider's rate limit, the
   * per-attempt time-out, retries with back-off within LLM_RETRY_BUDGET and the provider's circuit breaker (shared
   * with its completions). No cache and no tracing: a metric that cannot embed reports an error on its item.
   */
  async function embed(params: EmbedParams): Promise<Embeddings> {
    const started = clock.nowMs();
    const { name, provider } = resolveModel(params.model);
    if (!canEmbed(provider))
      throw new LlmError('LLM_BAD_REQUEST', `${name.full}: the ${name.provider} provider has no embeddings`, {
        provider: name.provider,
      });
    const estimate = params.texts.reduce((n, t) => n + estimateTokens(t), 0);
    const stats = book.statsFor(name.full, provider.heuristic);
    stats.calls += 1;
    const ctx = callContext(
      name,
      { modelName: name.model, texts: params.texts, estimate },
      params,
      started,
      estimate,
      stats,
    );
    try {
      const { vectors, usage } = await embedPipelineFor(name.provider, provider)(ctx);
      const cost = costOf(settings.prices, name.full, usage);
      stats.inputTokens += usage.inputTokens;
      stats.costUsd += cost.costUsd;
      if (!cost.priceKnown) stats.priceKnown = false;
      return {
        vectors,
        model: name.full,
        usage,
        tokensEstimated: true,
        costUsd: cost.priceKnown ? cost.costUsd : null,
      };
    } catch (err) {
      stats.errors += 1;
      throw asLlmError(err, name.provider);
    }
  }

  return {
    judgeModel: settings.judgeModel,
    providers: names,
    complete,
    completeJson: withJsonRepair(complete, { defaultMaxTokens: settings.defaultMaxTokens, logger }),
    embed,
    check(model) {
      try {
        const { provider } = resolveModel(model);
        return { ok: true, heuristic: provider.heuristic };
      } catch (err) {
        return {
          ok: false,
          error: isLlmError(err) && err.hint ? `${err.message} ${err.hint}` : (err as Error).message,
        };
      }
    },
    stats() {
      const states: Record<string, BreakerState> = {};
      for (const [name, b] of breakers) states[name] = b.state;
      return book.snapshot(states);
    },
    async flush() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
      await tracer.flush();
    },
    tracing,
  };
}
