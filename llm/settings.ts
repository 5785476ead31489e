// Settings of the wrapper: the policy derived from the environment, the start-up check of the LLM configuration,
// validation of one call's parameters and the resolution of a `provider:model` name to a provider.
import { z } from 'zod';
import { type Env, EnvSchema, parseDuration } from '../config/index.ts';
import type { BreakerOptions } from './circuit-breaker.ts';
import { LlmError } from './errors.ts';
import { type ModelName, parseModelName } from './model-name.ts';
import { DEFAULT_PRICES, loadPriceFile, mergePrices, type PriceTable } from './prices.ts';
import { defaultJudgeModel, PROVIDER_NAMES, PROVIDERS, type ProviderSpec } from './providers.ts';
import type { RateLimits } from './rate-limiter.ts';
import type { RetryOptions } from './retry.ts';
import type { TraceOptions } from './tracing.ts';
import type { CallParams, LlmProvider } from './types.ts';

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

const ENV_DEFAULTS: Env = EnvSchema.parse({});

/** Settings from the environment: limits, time-outs, breaker, cache, prices (LLM_PRICES_FILE) and tracing. */
export function llmSettingsFromEnv(partial: Partial<Env> = {}): LlmSettings {
  const env: Env = { ...ENV_DEFAULTS, ...stripUndefined(partial) };
  const tracing = env.LLM_TRACE && env.LANGFUSE_PUBLIC_KEY && env.LANGFUSE_SECRET_KEY;
  return {
    timeoutMs: env.LLM_TIMEOUT,
    retry: {
      maxRetries: env.LLM_MAX_RETRIES,
      baseDelayMs: 500,
      maxDelayMs: 30_000,
      maxRetryAfterMs: 60_000,
      budgetMs: env.LLM_RETRY_BUDGET,
    },
    breaker: { failureThreshold: env.LLM_BREAKER_FAILURES, cooldownMs: env.LLM_BREAKER_COOLDOWN },
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

/** The object without its undefined fields, so a spread of it keeps the defaults it does not set. */
export function stripUndefined<T extends object>(o: T): Partial<T> {
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

/** Throws LLM_BAD_REQUEST naming the first bad field when the parameters of a call are invalid. */
export function validateCallParams(params: CallParams): void {
  const valid = CallParamsSchema.safeParse(params);
  if (!valid.success) {
    const issue = valid.error.issues[0];
    throw new LlmError(
      'LLM_BAD_REQUEST',
      `Invalid model call: ${issue?.path.join('.') || '(params)'}: ${issue?.message}`,
    );
  }
}

/** A provider as configured: ready, or unusable with the reason (e.g. its key is missing). */
export type ProviderEntry = { ok: true; provider: LlmProvider } | { ok: false; error: string };

/**
 * Resolves `provider:model` names against the configured providers, remembering up to 1000 parsed names. Throws
 * LLM_UNKNOWN_PROVIDER for a name no provider serves and LLM_NO_KEY (with the variable to set) for a provider
 * without its key.
 */
export function createModelResolver(
  entries: ReadonlyMap<string, ProviderEntry>,
): (model: string) => { name: ModelName; provider: LlmProvider } {
  const names = [...entries.keys()];
  const parsedNames = new Map<string, ReturnType<typeof parseModelName>>();
  return (model) => {
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
  };
}
