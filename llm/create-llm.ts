// The one wrapper every model call goes through: validation, response cache with in-flight coalescing,
// per-provider rate limit, circuit breaker, per-attempt time-out, retries with back-off, cost accounting and
// optional Langfuse tracing. Providers stay dumb (one raw call); all policy lives here.
import { z } from 'zod';
import {
  ArbiterError,
  createSilentLogger,
  type Env,
  EnvSchema,
  type Logger,
  parseDuration,
} from '../config/index.ts';
import type { DocumentStore } from '../storage/index.ts';
import { addUsage, cacheKey, createStoreCache, type ResponseCache } from './cache.ts';
import {
  type BreakerOptions,
  type BreakerPass,
  type BreakerRefusal,
  type BreakerState,
  type CircuitBreaker,
  createCircuitBreaker,
} from './circuit-breaker.ts';
import { type LlmClock, systemLlmClock } from './clock.ts';
import { isLlmError, LlmError } from './errors.ts';
import { parseJsonReply, repairMessages } from './json.ts';
import { type ModelName, parseModelName } from './model-name.ts';
import { costOf, DEFAULT_PRICES, loadPriceFile, mergePrices, type PriceTable } from './prices.ts';
import { defaultJudgeModel, PROVIDER_NAMES, PROVIDERS, type ProviderSpec } from './providers.ts';
import { createRateLimiter, estimateTokens, type RateLimiter, type RateLimits } from './rate-limiter.ts';
import { type RetryOptions, retryDelay } from './retry.ts';
import { createLangfuseTracing, type LangfuseTracing } from './otel.ts';
import {
  createOtelGenerationTracer,
  type GenerationTracer,
  noopTracer,
  type TraceOptions,
} from './tracing.ts';
import type {
  CallParams,
  Completion,
  EmbedParams,
  Embeddings,
  FinishReason,
  JsonResult,
  Llm,
  LlmProvider,
  ModelToolCall,
  ProviderReply,
  Usage,
} from './types.ts';

/** Policy of the wrapper; `llmSettingsFromEnv` derives it from the environment. */
export interface LlmSettings {
  /** Default per-attempt time-out in ms. */
  timeoutMs: number;
  retry: RetryOptions;
  breaker: BreakerOptions;
  /** Per provider name; a provider without an entry is not limited. */
  limits: Record<string, RateLimits>;
  /** Response cache on/off. */
  cache: boolean;
  /** How long a cached response is reused, in ms (LLM_CACHE_TTL). */
  cacheTtlMs: number;
  prices: PriceTable;
  /** Langfuse generation tracing; off when undefined. */
  trace: TraceOptions | undefined;
  defaultTemperature: number;
  defaultMaxTokens: number;
  judgeModel: string;
}

/** Usage and cost of one model (or of all models). */
export interface ModelStats {
  /** `complete` calls answered (from the provider or the cache). */
  calls: number;
  /** Attempts that reached the provider, retries included. */
  providerCalls: number;
  /** Calls answered from the store or by joining an identical call in flight. */
  cacheHits: number;
  retries: number;
  errors: number;
  /** Prompt tokens, prompt-cache reads and writes included. */
  inputTokens: number;
  outputTokens: number;
  /** Part of `inputTokens` read from the provider's prompt cache. */
  cacheReadTokens: number;
  /** Part of `inputTokens` written to the provider's prompt cache. */
  cacheWriteTokens: number;
  costUsd: number;
  /** False if any call of this model had no price in the table (its cost counted as 0: "price unknown"). */
  priceKnown: boolean;
  heuristic: boolean;
}

/** Counters since start, for reports and /healthz. */
export interface LlmStats {
  totals: ModelStats;
  byModel: Record<string, ModelStats>;
  breakers: Record<string, BreakerState>;
}

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
  clock?: LlmClock;
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

const ENV_DEFAULTS: Env = EnvSchema.parse({});

/** Settings from the environment: limits, time-outs, breaker, cache, prices (LLM_PRICES_FILE) and tracing. */
export function llmSettingsFromEnv(partial: Partial<Env> = {}): LlmSettings {
  const env: Env = { ...ENV_DEFAULTS, ...stripUndefined(partial) };
  const tracing = env.LLM_TRACE && env.LANGFUSE_PUBLIC_KEY && env.LANGFUSE_SECRET_KEY;
  return {
    timeoutMs: env.LLM_TIMEOUT_MS,
    retry: {
      maxRetries: env.LLM_MAX_RETRIES,
      baseDelayMs: 500,
      maxDelayMs: 30_000,
      maxRetryAfterMs: 60_000,
      budgetMs: env.LLM_RETRY_BUDGET_MS,
    },
    breaker: { failureThreshold: env.LLM_BREAKER_FAILURES, cooldownMs: env.LLM_BREAKER_COOLDOWN_MS },
    limits: {
      anthropic: { requestsPerMinute: env.ANTHROPIC_RPM, tokensPerMinute: env.ANTHROPIC_TPM },
      gemini: { requestsPerMinute: env.GEMINI_RPM, tokensPerMinute: env.GEMINI_TPM },
    },
    cache: env.LLM_CACHE,
    cacheTtlMs: parseDuration(env.LLM_CACHE_TTL) ?? 30 * 86_400_000,
    prices: mergePrices(DEFAULT_PRICES, env.LLM_PRICES_FILE ? loadPriceFile(env.LLM_PRICES_FILE) : undefined),
    trace: tracing
      ? {
          baseUrl: env.LANGFUSE_BASE_URL,
          publicKey: env.LANGFUSE_PUBLIC_KEY!,
          secretKey: env.LANGFUSE_SECRET_KEY!,
          ...(env.LANGFUSE_ENVIRONMENT ? { environment: env.LANGFUSE_ENVIRONMENT } : {}),
        }
      : undefined,
    defaultTemperature: 0,
    // Generous on purpose: thinking models spend output tokens before answering, and unused ones cost nothing.
    defaultMaxTokens: 4096,
    judgeModel: defaultJudgeModel(env),
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Start-up problems of the LLM configuration, one line each naming the variable: a judge model whose provider is
 * unknown or has no key, or LLM_TRACE without Langfuse keys. Empty when all is well.
 */
export function checkLlmConfig(partial: Partial<Env>, extraProviders: readonly string[] = []): string[] {
  const env: Env = { ...ENV_DEFAULTS, ...stripUndefined(partial) };
  const problems: string[] = [];
  if (env.ARBITER_JUDGE_MODEL) {
    const parsed = parseModelName(env.ARBITER_JUDGE_MODEL, [...PROVIDER_NAMES, ...extraProviders]);
    if (!parsed.ok) problems.push(`ARBITER_JUDGE_MODEL: ${parsed.error}`);
    else {
      const spec = (PROVIDERS as Record<string, ProviderSpec>)[parsed.value.provider];
      if (spec?.keyVar && !env[spec.keyVar] && !extraProviders.includes(parsed.value.provider)) {
        problems.push(
          `ARBITER_JUDGE_MODEL: ${env.ARBITER_JUDGE_MODEL} needs ${spec.keyVar}, which is not set (set it, or use offline:heuristic)`,
        );
      }
    }
  }
  if (env.LLM_TRACE && !(env.LANGFUSE_PUBLIC_KEY && env.LANGFUSE_SECRET_KEY)) {
    problems.push('LLM_TRACE: tracing judge calls needs LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY');
  }
  return problems;
}

const ChatMessageSchema = z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string() });
const CallParamsSchema = z.object({
  model: z.string().min(1),
  messages: z
    .array(ChatMessageSchema)
    .min(1)
    .refine((ms) => ms.some((m) => m.role !== 'system'), {
      error: 'needs at least one user or assistant message',
    }),
  temperature: z.number().min(0).max(2).optional(),
  maxTokens: z.number().int().min(1).max(200_000).optional(),
  json: z.boolean().optional(),
  jsonSchema: z.record(z.string(), z.unknown()).optional(),
  effort: z.enum(['low', 'medium', 'high']).optional(),
  timeoutMs: z.number().int().min(1).max(3_600_000).optional(),
  cache: z.boolean().optional(),
  tools: z
    .array(
      z.object({
        name: z
          .string()
          .regex(/^[A-Za-z_][\w.-]{0,63}$/, { error: 'expected a tool name of letters, digits, _ . -' }),
        description: z.string().optional(),
        parameters: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .optional(),
});

/**
 * Whether an error says the provider is in trouble (429, 5xx, 529, time-outs, dropped connections, a provider
 * bug): those count against its breaker. The caller's own bad request and a bad key do not: waiting out a cool-down
 * cannot fix them.
 */
function countsAgainstProvider(e: LlmError): boolean {
  if (['LLM_BAD_REQUEST', 'LLM_AUTH', 'LLM_CIRCUIT_OPEN', 'LLM_CANCELLED'].includes(e.code)) return false;
  return e.retryable || e.code === 'LLM_PROVIDER_ERROR';
}

type Entry = { ok: true; provider: LlmProvider } | { ok: false; error: string };

interface ProviderOutcome {
  text: string;
  usage: Usage;
  finish: FinishReason;
  finishDetail?: string;
  toolCalls?: ModelToolCall[];
  attempts: number;
  fromStore: boolean;
}

/** The largest budget the retry of a truncated JSON reply asks for (current models allow 64k output or more). */
const MAX_RETRY_TOKENS = 32_768;

// Why a reply that did not finish cannot be used, as a completeJson failure.
function unfinished(c: Completion, maxTokens: number): { code: string; error: string } | undefined {
  const detail = c.finishDetail ? ` (${c.finishDetail})` : '';
  switch (c.finish) {
    case 'complete':
      return undefined;
    case 'truncated':
      return {
        code: 'LLM_TRUNCATED',
        error: `the reply was cut off at the token limit of ${maxTokens}${detail}, thinking included`,
      };
    case 'refused':
      return { code: 'LLM_REFUSED', error: `the model declined to answer${detail}` };
    case 'context-overflow':
      return {
        code: 'LLM_CONTEXT_OVERFLOW',
        error: `the prompt does not fit the model's context window${detail}`,
      };
    default:
      return { code: 'LLM_INCOMPLETE', error: `the reply did not finish${detail}` };
  }
}

function emptyStats(heuristic: boolean): ModelStats {
  return {
    calls: 0,
    providerCalls: 0,
    cacheHits: 0,
    retries: 0,
    errors: 0,
    inputTokens: 0,
    outputTokens: 0,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    costUsd: 0,
    priceKnown: true,
    heuristic,
  };
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
  const clock = options.clock ?? systemLlmClock;
  const logger = options.logger ?? createSilentLogger();
  const random = options.random ?? Math.random;
  const cache: ResponseCache | undefined = options.store
    ? createStoreCache(options.store, logger, { ttlMs: settings.cacheTtlMs, now: () => clock.now() })
    : undefined;
  const tracing: LangfuseTracing | undefined = settings.trace
    ? (options.tracing ?? createLangfuseTracing({ ...settings.trace, logger }))
    : undefined;
  const tracer: GenerationTracer = tracing ? createOtelGenerationTracer(tracing) : noopTracer;

  const entries = new Map<string, Entry>();
  for (const name of PROVIDER_NAMES) {
    const spec: ProviderSpec = PROVIDERS[name];
    entries.set(
      name,
      spec.create({ env, now: () => clock.now(), ...(options.fetch ? { fetch: options.fetch } : {}) }),
    );
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

  const limiters = new Map<string, RateLimiter>();
  const breakers = new Map<string, CircuitBreaker>();
  const limiterFor = (name: string) => {
    let l = limiters.get(name);
    if (!l) {
      l = createRateLimiter(settings.limits[name] ?? { requestsPerMinute: 0, tokensPerMinute: 0 }, clock);
      limiters.set(name, l);
    }
    return l;
  };
  const breakerFor = (name: string) => {
    let b = breakers.get(name);
    if (!b) {
      b = createCircuitBreaker(settings.breaker, clock);
      breakers.set(name, b);
    }
    return b;
  };

  const byModel = new Map<string, ModelStats>();
  const statsFor = (model: string, heuristic: boolean) => {
    let s = byModel.get(model);
    if (!s) {
      s = emptyStats(heuristic);
      byModel.set(model, s);
    }
    return s;
  };

  const inFlight = new Map<string, Promise<ProviderOutcome>>();
  const pending = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>) => {
    pending.add(p);
    p.finally(() => pending.delete(p)).catch(() => undefined);
  };

  const parsedNames = new Map<string, ReturnType<typeof parseModelName>>();
  function resolveModel(model: string): { name: ModelName; provider: LlmProvider } {
    let parsed = parsedNames.get(model);
    if (!parsed) {
      parsed = parseModelName(model, names);
      if (parsedNames.size < 1000) parsedNames.set(model, parsed);
    }
    if (!parsed.ok) throw new LlmError('LLM_UNKNOWN_PROVIDER', parsed.error);
    const entry = entries.get(parsed.value.provider)!;
    if (!entry.ok) {
      const spec = (PROVIDERS as Record<string, ProviderSpec>)[parsed.value.provider];
      throw new LlmError('LLM_NO_KEY', `${parsed.value.full} cannot be called: ${entry.error}.`, {
        provider: parsed.value.provider,
        hint: `Set ${spec?.keyVar ?? 'the API key'}, or use offline:heuristic.`,
      });
    }
    return { name: parsed.value, provider: entry.provider };
  }

  async function attemptLoop(
    name: ModelName,
    provider: LlmProvider,
    params: CallParams & { temperature: number; maxTokens: number },
    started: number,
    stats: ModelStats,
  ): Promise<ProviderOutcome> {
    const limiter = limiterFor(name.provider);
    const breaker = breakerFor(name.provider);
    const estimate = params.messages.reduce((n, m) => n + estimateTokens(m.content), 0);
    const deadline = started + settings.retry.budgetMs;
    const timeoutMs = params.timeoutMs ?? settings.timeoutMs;
    let attempts = 0;
    let lastError: LlmError | undefined;
    const signal = params.signal;
    // The circuit stayed open past this call's deadline: provider trouble, so the code says so (LLM_CIRCUIT_OPEN).
    const circuitOpen = (retryInMs: number) => {
      const waited = Math.max(0, clock.now() - started);
      const base = `${name.provider} is failing: its circuit breaker opened after ${breaker.consecutiveFailures} failed calls in a row and was still open when this call gave up after ${(waited / 1000).toFixed(1)} s (next probe in ${Math.ceil(retryInMs / 1000)} s)`;
      return new LlmError(
        'LLM_CIRCUIT_OPEN',
        lastError ? `${base} (last error: ${lastError.message})` : base,
        {
          provider: name.provider,
          retryable: true,
          retryAfterMs: retryInMs,
          ...(lastError ? { cause: lastError } : {}),
        },
      );
    };
    const aborted = () =>
      new LlmError('LLM_CANCELLED', `${name.full}: the call was cancelled`, {
        provider: name.provider,
        ...(signal?.reason !== undefined ? { cause: signal.reason } : {}),
      });
    // A call that fails for good with provider trouble counts once against the breaker, however many attempts.
    const failCall = (e: LlmError): LlmError => {
      if (!countsAgainstProvider(e) || signal?.aborted) return e;
      const before = breaker.state;
      breaker.onCallFailure();
      if (before === 'closed' && breaker.state === 'open')
        logger.warn(
          { provider: name.provider, code: e.code, failedCalls: breaker.consecutiveFailures },
          `${name.provider}: circuit breaker opened after ${breaker.consecutiveFailures} failed calls in a row; calls wait ${Math.round(settings.breaker.cooldownMs / 1000)} s for a probe`,
        );
      return e;
    };
    const waitForCircuit = async (): Promise<BreakerPass> => {
      let gate: BreakerPass | BreakerRefusal;
      try {
        gate = await breaker.enter(deadline, signal);
      } catch {
        throw lastError ?? aborted();
      }
      if (!gate.ok) throw failCall(circuitOpen(gate.retryInMs));
      return gate;
    };
    for (;;) {
      // An open circuit is waited out before queueing for a rate-limit slot, so waiters do not hold slots.
      if (breaker.state !== 'closed') breaker.onNeutral(await waitForCircuit());
      await limiter.acquire(estimate);
      const gate = await waitForCircuit();
      attempts += 1;
      stats.providerCalls += 1;
      let e: LlmError;
      try {
        const res = await callWithTimeout(
          provider,
          { ...params, modelName: name.model },
          timeoutMs,
          name,
          signal,
        );
        breaker.onSuccess();
        limiter.settle(estimate, res.usage.inputTokens + res.usage.outputTokens);
        return {
          text: res.text,
          usage: res.usage,
          finish: res.finish ?? 'complete',
          ...(res.finishDetail ? { finishDetail: res.finishDetail } : {}),
          ...(res.toolCalls ? { toolCalls: res.toolCalls } : {}),
          attempts,
          fromStore: false,
        };
      } catch (err) {
        e = asLlmError(err, name.provider);
        // The caller's own mistakes (and its own cancellation) say nothing about the provider's health.
        if (!countsAgainstProvider(e) || signal?.aborted) breaker.onNeutral(gate);
        else breaker.onAttemptFailure(gate);
      }
      lastError = e;
      if (signal?.aborted) throw e;
      if (!e.retryable || attempts > settings.retry.maxRetries) throw failCall(e);
      if (e.retryAfterMs !== undefined && e.retryAfterMs > settings.retry.maxRetryAfterMs) throw failCall(e);
      const delay = retryDelay(attempts, settings.retry, random, e.retryAfterMs);
      if (clock.now() + delay > deadline) throw failCall(e);
      stats.retries += 1;
      logger.info(
        {
          provider: name.provider,
          model: name.model,
          code: e.code,
          status: e.status,
          attempt: attempts,
          delayMs: Math.round(delay),
        },
        `${name.full}: ${e.code}${e.status ? ` (HTTP ${e.status})` : ''}, retrying in ${(delay / 1000).toFixed(1)} s`,
      );
      try {
        await clock.sleep(delay, signal);
      } catch {
        throw e;
      }
    }
  }

  function callWithTimeout(
    provider: LlmProvider,
    params: CallParams & { modelName: string },
    timeoutMs: number,
    name: ModelName,
    signal: AbortSignal | undefined,
  ): Promise<ProviderReply> {
    const controller = new AbortController();
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer);
        const err = new LlmError('LLM_CANCELLED', `${name.full}: the call was cancelled`, {
          provider: name.provider,
          cause: signal?.reason,
        });
        controller.abort(err);
        reject(err);
      };
      // A provider that ignores its signal must still not hang the caller, hence the race.
      const timer = setTimeout(() => {
        const err = new LlmError('LLM_TIMEOUT', `${name.full}: no answer within ${timeoutMs} ms`, {
          provider: name.provider,
          retryable: true,
        });
        controller.abort(err);
        reject(err);
      }, timeoutMs);
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
      provider.complete(params, controller.signal).then(
        (res) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(res);
        },
        (err: unknown) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      );
    });
  }

  function asLlmError(err: unknown, provider: string): LlmError {
    if (err instanceof LlmError) return err;
    // A provider bug is not retried blindly; it still counts against the breaker.
    const message = err instanceof Error ? err.message : String(err);
    return new LlmError('LLM_PROVIDER_ERROR', `${provider}: ${message.slice(0, 300)}`, {
      provider,
      cause: err,
    });
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
    const started = clock.now();
    const valid = CallParamsSchema.safeParse(params);
    if (!valid.success) {
      const issue = valid.error.issues[0];
      throw new LlmError(
        'LLM_BAD_REQUEST',
        `Invalid model call: ${issue?.path.join('.') || '(params)'}: ${issue?.message}`,
      );
    }
    const { name, provider } = resolveModel(params.model);
    const stats = statsFor(name.full, provider.heuristic);
    const normalized = {
      ...params,
      temperature: params.temperature ?? settings.defaultTemperature,
      maxTokens: params.maxTokens ?? settings.defaultMaxTokens,
      json: params.json ?? false,
    };
    // A call offering tools is never cached: the stored reply keeps only text, not the calls the model made.
    const useCache =
      settings.cache && provider.cacheable !== false && params.cache !== false && !params.tools?.length;
    const key = useCache
      ? cacheKey({
          provider: name.provider,
          model: name.model,
          messages: params.messages,
          temperature: normalized.temperature,
          maxTokens: normalized.maxTokens,
          json: normalized.json,
          ...(params.json && params.jsonSchema ? { jsonSchema: params.jsonSchema } : {}),
          ...(params.effort ? { effort: params.effort } : {}),
        })
      : '';

    let outcome: ProviderOutcome;
    let joined = false;
    try {
      const existing = useCache ? inFlight.get(key) : undefined;
      if (existing) {
        joined = true;
        outcome = await existing;
      } else if (useCache) {
        const run = (async (): Promise<ProviderOutcome> => {
          const hit = cache ? await cache.get(key) : undefined;
          if (hit)
            return { text: hit.text, usage: hit.usage, finish: 'complete', attempts: 0, fromStore: true };
          return attemptLoop(name, provider, normalized, started, stats);
        })();
        inFlight.set(key, run);
        run.then(
          (o) => {
            // Stay joinable until the write lands, so a call arriving meanwhile neither misses nor pays. A reply
            // that did not finish (truncated, refused, blocked) is never stored: asking again may do better.
            if (o.fromStore || !cache || o.finish !== 'complete') inFlight.delete(key);
            else {
              const write = cache
                .put({
                  _id: key,
                  model: name.full,
                  text: o.text,
                  usage: o.usage,
                  finish: 'complete',
                  createdAt: new Date(clock.now()),
                })
                .finally(() => inFlight.delete(key));
              track(write);
            }
          },
          () => inFlight.delete(key),
        );
        outcome = await run;
      } else {
        outcome = await attemptLoop(name, provider, normalized, started, stats);
      }
    } catch (err) {
      const e = asLlmError(err, name.provider);
      stats.calls += 1;
      if (!joined) {
        stats.errors += 1;
        // A fast failure of an open circuit never reached the provider: nothing to trace.
        const reachedProvider = !(e.code === 'LLM_CIRCUIT_OPEN' && e.cause === undefined);
        if (reachedProvider) record(name, provider, params, started, clock.now(), { error: e });
      }
      throw e;
    }

    const ended = clock.now();
    stats.calls += 1;
    const cached = joined || outcome.fromStore;
    if (cached) {
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
    stats.inputTokens += outcome.usage.inputTokens;
    stats.outputTokens += outcome.usage.outputTokens;
    stats.cacheReadTokens += outcome.usage.cacheReadTokens ?? 0;
    stats.cacheWriteTokens += outcome.usage.cacheWriteTokens ?? 0;
    stats.costUsd += costUsd;
    if (!priceKnown) stats.priceKnown = false;
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

  function combine(a: Completion, b: Completion): Completion {
    const priceKnown = a.priceKnown && b.priceKnown;
    return {
      ...b,
      usage: addUsage(a.usage, b.usage),
      costUsd: a.costUsd + b.costUsd,
      latencyMs: a.latencyMs + b.latencyMs,
      cached: a.cached && b.cached,
      priceKnown,
      attempts: (a.attempts ?? 0) + (b.attempts ?? 0),
    };
  }

  function failure(
    err: unknown,
    prefix: string,
    completion?: Completion,
  ): { ok: false; error: string; code: string; completion?: Completion } {
    if (isLlmError(err))
      return {
        ok: false,
        error: `${prefix}${err.message}`,
        code: err.code,
        ...(completion ? { completion } : {}),
      };
    logger.error({ err }, 'unexpected error in completeJson');
    return {
      ok: false,
      error: `${prefix}internal error (details in the logs)`,
      code: 'LLM_INTERNAL',
      ...(completion ? { completion } : {}),
    };
  }

  async function completeJson<S extends z.ZodType>(
    params: CallParams,
    schema: S,
  ): Promise<JsonResult<z.infer<S>>> {
    const p: CallParams = { ...params, json: true };
    const budget = p.maxTokens ?? settings.defaultMaxTokens;
    let first: Completion;
    try {
      first = await complete(p);
    } catch (err) {
      return failure(err, '');
    }
    let used = budget;
    // Thinking models can spend the whole budget before answering: one retry with room to spare.
    if (first.finish === 'truncated' && budget < MAX_RETRY_TOKENS) {
      used = Math.min(MAX_RETRY_TOKENS, budget * 4);
      logger.info(
        { model: p.model, maxTokens: budget, retryWith: used },
        'JSON reply truncated; retrying once',
      );
      try {
        first = combine(first, await complete({ ...p, maxTokens: used }));
      } catch (err) {
        return failure(
          err,
          `the reply was cut off at ${budget} tokens; the retry with ${used} failed: `,
          first,
        );
      }
    }
    const bad = unfinished(first, used);
    if (bad) {
      const retried = used > budget ? ` (also after a retry with ${used} tokens)` : '';
      return { ok: false, error: bad.error + retried, code: bad.code, completion: first };
    }
    const parsed = parseJsonReply(first.text, schema);
    if (parsed.ok) return { ok: true, value: parsed.value, completion: first, repaired: false };
    const repairParams: CallParams = {
      ...p,
      maxTokens: used,
      messages: repairMessages(p.messages, first.text, parsed.error),
    };
    let second: Completion;
    try {
      second = await complete(repairParams);
    } catch (err) {
      return failure(err, `malformed JSON (${parsed.error}); the repair call failed: `, first);
    }
    const both = combine(first, second);
    const badRepair = unfinished(second, used);
    if (badRepair) {
      return {
        ok: false,
        error: `malformed JSON (${parsed.error}); the repair reply did not finish: ${badRepair.error}`,
        code: badRepair.code,
        completion: both,
      };
    }
    const again = parseJsonReply(second.text, schema);
    if (again.ok) return { ok: true, value: again.value, completion: both, repaired: true };
    return {
      ok: false,
      error: `malformed JSON after one repair attempt: ${again.error}`,
      code: 'LLM_BAD_JSON',
      completion: both,
    };
  }

  /**
   * One embedding call: the provider's rate limit and time-out apply; no retries, cache or tracing (a metric that
   * cannot embed reports an error on its item, and a run can be retried).
   */
  async function embed(params: EmbedParams): Promise<Embeddings> {
    const { name, provider } = resolveModel(params.model);
    if (!provider.embed)
      throw new LlmError('LLM_BAD_REQUEST', `${name.full}: the ${name.provider} provider has no embeddings`, {
        provider: name.provider,
      });
    const timeoutMs = params.timeoutMs ?? settings.timeoutMs;
    const limiter = limiterFor(name.provider);
    const estimate = params.texts.reduce((n, t) => n + estimateTokens(t), 0);
    await limiter.acquire(estimate);
    const controller = new AbortController();
    const timer = setTimeout(
      () =>
        controller.abort(
          new LlmError('LLM_TIMEOUT', `${name.full}: no embeddings within ${timeoutMs} ms`, {
            provider: name.provider,
            retryable: true,
          }),
        ),
      timeoutMs,
    );
    const onAbort = () =>
      controller.abort(
        new LlmError('LLM_CANCELLED', `${name.full}: the call was cancelled`, { provider: name.provider }),
      );
    if (params.signal?.aborted) onAbort();
    else params.signal?.addEventListener('abort', onAbort, { once: true });
    const stats = statsFor(name.full, provider.heuristic);
    stats.calls += 1;
    stats.providerCalls += 1;
    try {
      const vectors = await provider.embed({ modelName: name.model, texts: params.texts }, controller.signal);
      limiter.settle(estimate, estimate);
      // The provider reports no token count for embeddings: the estimate is the usage, priced from the table.
      const usage = { inputTokens: estimate, outputTokens: 0 };
      const cost = costOf(settings.prices, name.full, usage);
      stats.inputTokens += estimate;
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
      limiter.settle(estimate, 0);
      if (controller.signal.aborted && controller.signal.reason instanceof LlmError)
        throw controller.signal.reason;
      throw asLlmError(err, name.provider);
    } finally {
      clearTimeout(timer);
      params.signal?.removeEventListener('abort', onAbort);
    }
  }

  return {
    judgeModel: settings.judgeModel,
    providers: names,
    complete,
    completeJson,
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
      const totals = emptyStats(false);
      const out: Record<string, ModelStats> = {};
      for (const [model, s] of byModel) {
        out[model] = { ...s };
        totals.calls += s.calls;
        totals.providerCalls += s.providerCalls;
        totals.cacheHits += s.cacheHits;
        totals.retries += s.retries;
        totals.errors += s.errors;
        totals.inputTokens += s.inputTokens;
        totals.outputTokens += s.outputTokens;
        totals.cacheReadTokens += s.cacheReadTokens;
        totals.cacheWriteTokens += s.cacheWriteTokens;
        totals.costUsd += s.costUsd;
        if (!s.priceKnown) totals.priceKnown = false;
      }
      const states: Record<string, BreakerState> = {};
      for (const [name, b] of breakers) states[name] = b.state;
      return { totals, byModel: out, breakers: states };
    },
    async flush() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
      await tracer.flush();
    },
    tracing,
  };
}
