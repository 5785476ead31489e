// The provider registry, keyed by the name used in `provider:model`. Each entry says what it is, which
// variables configure it, and how to build it; a provider whose key is missing is reported, not built.
import type { Clock, Env } from '../config/index.ts';
import { createAnthropicProvider } from './anthropic.ts';
import { createGeminiProvider } from './gemini.ts';
import { createOfflineProvider } from './offline.ts';
import type { LlmProvider } from './types.ts';

/** The configuration providers read. */
export type LlmEnv = Partial<
  Pick<Env, 'ANTHROPIC_API_KEY' | 'ANTHROPIC_BASE_URL' | 'GEMINI_API_KEY' | 'GEMINI_BASE_URL'>
>;

/** What a provider factory gets. */
export interface ProviderContext {
  env: LlmEnv;
  /** The wrapper's clock (epoch ms for Retry-After dates). */
  clock: Pick<Clock, 'nowMs'>;
  fetch?: typeof fetch;
}

/** One registry entry. */
export interface ProviderSpec {
  /** One line for the README and `arbiter providers`. */
  doc: string;
  /** A model name to show in examples and error messages. */
  exampleModel: string;
  /** Variable holding the API key, when one is needed. */
  keyVar?: 'ANTHROPIC_API_KEY' | 'GEMINI_API_KEY';
  /** Variable overriding the API base URL. */
  baseUrlVar?: 'ANTHROPIC_BASE_URL' | 'GEMINI_BASE_URL';
  heuristic: boolean;
  /** Builds the provider, or says why it cannot (a missing key). */
  create(ctx: ProviderContext): { ok: true; provider: LlmProvider } | { ok: false; error: string };
}

/** Built-in providers. */
export const PROVIDERS = {
  anthropic: {
    doc: 'Anthropic Messages API via @anthropic-ai/sdk (ANTHROPIC_API_KEY; ANTHROPIC_BASE_URL overrides the host).',
    // The current Sonnet (claude-sonnet-4-5 was retired on 2026-11-30).
    exampleModel: 'anthropic:claude-sonnet-5-5',
    keyVar: 'ANTHROPIC_API_KEY',
    baseUrlVar: 'ANTHROPIC_BASE_URL',
    heuristic: false,
    create: ({ env, clock, fetch }) =>
      env.ANTHROPIC_API_KEY
        ? {
            ok: true,
            provider: createAnthropicProvider({
              apiKey: env.ANTHROPIC_API_KEY,
              clock,
              ...(env.ANTHROPIC_BASE_URL ? { baseUrl: env.ANTHROPIC_BASE_URL } : {}),
              ...(fetch ? { fetch } : {}),
            }),
          }
        : { ok: false, error: 'ANTHROPIC_API_KEY is not set' },
  },
  gemini: {
    doc: 'Google Gemini API generateContent via @google/genai (GEMINI_API_KEY; GEMINI_BASE_URL overrides the host).',
    // The current GA Flash model (Gemini 2.0 was shut down on 2026-06-01).
    exampleModel: 'gemini:gemini-3.5-flash',
    keyVar: 'GEMINI_API_KEY',
    baseUrlVar: 'GEMINI_BASE_URL',
    heuristic: false,
    create: ({ env, clock, fetch }) =>
      env.GEMINI_API_KEY
        ? {
            ok: true,
            provider: createGeminiProvider({
              apiKey: env.GEMINI_API_KEY,
              clock,
              ...(env.GEMINI_BASE_URL ? { baseUrl: env.GEMINI_BASE_URL } : {}),
              ...(fetch ? { fetch } : {}),
            }),
          }
        : { ok: false, error: 'GEMINI_API_KEY is not set' },
  },
  offline: {
    doc: 'Deterministic heuristic (lexical overlap, rubric keyword coverage, length and format checks); no key, no network. Reports label it a heuristic, never an LLM verdict.',
    exampleModel: 'offline:heuristic',
    heuristic: true,
    create: () => ({ ok: true, provider: createOfflineProvider() }),
  },
} satisfies Record<string, ProviderSpec>;

/** Name of a built-in provider. */
export type ProviderName = keyof typeof PROVIDERS;

/** Built-in provider names in registry order. */
export const PROVIDER_NAMES = Object.keys(PROVIDERS) as ProviderName[];

/** The judge model when ARBITER_JUDGE_MODEL is unset: the first provider with a key, else offline. */
export function defaultJudgeModel(env: LlmEnv & Partial<Pick<Env, 'ARBITER_JUDGE_MODEL'>>): string {
  if (env.ARBITER_JUDGE_MODEL) return env.ARBITER_JUDGE_MODEL;
  if (env.ANTHROPIC_API_KEY) return PROVIDERS.anthropic.exampleModel;
  if (env.GEMINI_API_KEY) return PROVIDERS.gemini.exampleModel;
  return PROVIDERS.offline.exampleModel;
}
