// Token prices for cost accounting. Defaults are list prices in USD per million tokens, standard tier, no batch
// discount; prompt-cache reads and writes have their own rates, and prompts past a model's long-context threshold
// are priced at its long-context rates. A team overrides or extends them with LLM_PRICES_FILE. An unknown model
// has no cost (`priceKnown: false`, shown as "price unknown"), never a guessed one.
import { z } from 'zod';
import { loadYamlFile, ModelNameSchema } from '../config/index.ts';
import type { Usage } from './types.ts';

/** Rates of one price tier, USD per million tokens. */
export interface PriceRates {
  input: number;
  output: number;
  /** Prompt-cache reads; defaults to 0.1 × input (the standard Anthropic and Gemini discount). */
  cacheRead?: number;
  /** Prompt-cache writes (Anthropic 5-minute cache); defaults to 1.25 × input (Anthropic's standard premium). */
  cacheWrite?: number;
}

/** Price of one model in USD per million tokens. */
export interface ModelPrice extends PriceRates {
  /** Rates for every token of a call whose prompt (cache included) exceeds `tokens`. */
  above?: PriceRates & { tokens: number };
}

/** `provider:model` → price. */
export type PriceTable = Readonly<Record<string, ModelPrice>>;

/** The day the built-in table was last checked against the providers' pricing pages. */
export const PRICES_AS_OF = '2026-12-03';

/**
 * List prices as of PRICES_AS_OF, from platform.claude.com (about-claude/pricing and each model's overview page:
 * input, output, 5-minute cache write, cache read) and ai.google.dev/gemini-api/docs/pricing (input, output,
 * context-caching read; prompts over 200k tokens priced higher). Retired models are gone (Claude Sonnet 4.5
 * retired 2026-11-30, Sonnet 4 and Opus 4 on 2026-06-15, Opus 4.1 on 2026-08-05; Gemini 2.0 shut down
 * 2026-06-01). Claude Haiku 5.5 is priced by prompt length (the 100k tier from the pricing page as quoted by
 * two independent price trackers, the overview page says only "from $0.10 / $0.50"). Models without a published
 * list price (previews, limited-availability Mythos on request) are left out: better "price unknown" than a
 * wrong number. Add them with LLM_PRICES_FILE.
 */
export const DEFAULT_PRICES = {
  'anthropic:claude-fable-5-2': { input: 8, output: 40, cacheWrite: 10, cacheRead: 0.2 },
  'anthropic:claude-fable-5-1': { input: 10, output: 50, cacheWrite: 12.5, cacheRead: 0.25 },
  'anthropic:claude-fable-5': { input: 10, output: 50, cacheWrite: 12.5, cacheRead: 1 },
  'anthropic:claude-opus-5-5': { input: 4, output: 20, cacheWrite: 5, cacheRead: 0.2 },
  'anthropic:claude-opus-5': { input: 5, output: 25, cacheWrite: 6.25, cacheRead: 0.5 },
  'anthropic:claude-sonnet-5-5': { input: 2, output: 10, cacheWrite: 2.5, cacheRead: 0.1 },
  'anthropic:claude-sonnet-5': { input: 2, output: 10, cacheWrite: 2.5, cacheRead: 0.2 },
  'anthropic:claude-haiku-5-5': {
    input: 0.1,
    output: 0.5,
    cacheWrite: 0.125,
    cacheRead: 0.01,
    above: { tokens: 100_000, input: 0.5, output: 2.5, cacheWrite: 0.625, cacheRead: 0.05 },
  },
  'anthropic:claude-opus-4-8': { input: 5, output: 25, cacheWrite: 6.25, cacheRead: 0.5 },
  'anthropic:claude-opus-4-7': { input: 5, output: 25, cacheWrite: 6.25, cacheRead: 0.5 },
  'anthropic:claude-opus-4-6': { input: 5, output: 25, cacheWrite: 6.25, cacheRead: 0.5 },
  'anthropic:claude-opus-4-5': { input: 5, output: 25, cacheWrite: 6.25, cacheRead: 0.5 },
  'anthropic:claude-sonnet-4-6': { input: 3, output: 15, cacheWrite: 3.75, cacheRead: 0.3 },
  'anthropic:claude-haiku-4-5': { input: 1, output: 5, cacheWrite: 1.25, cacheRead: 0.1 },
  'gemini:gemini-3.5-flash': { input: 1.5, output: 9, cacheRead: 0.15 },
  'gemini:gemini-3.1-pro': {
    input: 2,
    output: 12,
    cacheRead: 0.2,
    above: { tokens: 200_000, input: 4, output: 18, cacheRead: 0.4 },
  },
  'gemini:gemini-3.1-flash-lite': { input: 0.25, output: 1.5, cacheRead: 0.025 },
  'gemini:gemini-3-flash': { input: 0.5, output: 3, cacheRead: 0.05 },
  'gemini:gemini-2.5-pro': {
    input: 1.25,
    output: 10,
    cacheRead: 0.125,
    above: { tokens: 200_000, input: 2.5, output: 15, cacheRead: 0.25 },
  },
  'gemini:gemini-2.5-flash': { input: 0.3, output: 2.5, cacheRead: 0.03 },
  'gemini:gemini-2.5-flash-lite': { input: 0.1, output: 0.4, cacheRead: 0.01 },
  // Embeddings bill input tokens only (ai.google.dev/gemini-api/docs/pricing, "Gemini Embedding": $0.15 per 1M).
  'gemini:gemini-embedding-001': { input: 0.15, output: 0 },
} satisfies Record<string, ModelPrice>;

const usd = (what: string, example: number) =>
  z.number({ error: `expected USD per million ${what} tokens, e.g. ${example}` }).min(0);

const RatesShape = {
  input: usd('input', 3),
  output: usd('output', 15),
  cacheRead: usd('cache-read', 0.3).optional(),
  cacheWrite: usd('cache-write', 3.75).optional(),
};

const PriceSchema = z.strictObject({
  ...RatesShape,
  above: z
    .strictObject({
      tokens: z
        .int({ error: 'expected the prompt size (tokens) past which these rates apply, e.g. 200000' })
        .min(1),
      ...RatesShape,
    })
    .optional(),
});

/**
 * Shape of LLM_PRICES_FILE (YAML or JSON): `provider:model` → `{ input, output, cacheRead?, cacheWrite?, above? }`
 * in USD per million tokens.
 */
export const PriceFileSchema = z.record(ModelNameSchema, PriceSchema);

/** Loads LLM_PRICES_FILE; throws YAML_INVALID naming the file, line and field. */
export function loadPriceFile(file: string): PriceTable {
  return loadYamlFile(file, PriceFileSchema);
}

/** Default prices with a file's entries on top. */
export function mergePrices(...tables: readonly (PriceTable | undefined)[]): PriceTable {
  return Object.assign({}, ...tables.filter(Boolean));
}

// Dated snapshots (claude-haiku-4-5-20251001), `-latest` aliases and Vertex-style `@20251001` share their base
// model's price. Nothing looser: claude-sonnet-5-5 is not claude-sonnet-5, and previews were priced differently.
const SNAPSHOT_SUFFIX = /^(?:-\d{8}|-latest|@\d{8})$/;

/** Price of a model, or undefined when the table does not know it. */
export function findPrice(table: PriceTable, fullModel: string): ModelPrice | undefined {
  const exact = table[fullModel];
  if (exact) return exact;
  let best: { key: string; price: ModelPrice } | undefined;
  for (const [key, price] of Object.entries(table)) {
    if (!fullModel.startsWith(key) || !SNAPSHOT_SUFFIX.test(fullModel.slice(key.length))) continue;
    if (!best || key.length > best.key.length) best = { key, price };
  }
  return best?.price;
}

/** Cost of a call in USD, and whether the price was known (unknown → 0 with `priceKnown: false`). */
export function costOf(
  table: PriceTable,
  fullModel: string,
  usage: Usage,
): { costUsd: number; priceKnown: boolean } {
  const price = findPrice(table, fullModel);
  if (!price) return { costUsd: 0, priceKnown: false };
  const rates = price.above && usage.inputTokens > price.above.tokens ? price.above : price;
  const cacheRead = Math.max(0, usage.cacheReadTokens ?? 0);
  const cacheWrite = Math.max(0, usage.cacheWriteTokens ?? 0);
  const plainInput = Math.max(0, usage.inputTokens - cacheRead - cacheWrite);
  const costUsd =
    (plainInput * rates.input +
      cacheRead * (rates.cacheRead ?? rates.input * 0.1) +
      cacheWrite * (rates.cacheWrite ?? rates.input * 1.25) +
      usage.outputTokens * rates.output) /
    1_000_000;
  return { costUsd: Math.round(costUsd * 1e9) / 1e9, priceKnown: true };
}

/** A cost for people: `$0.0123`, `$4.20`, or `price unknown` when it is null (never `$0` for an unknown price). */
export function formatCost(costUsd: number | null | undefined): string {
  if (costUsd === null || costUsd === undefined || !Number.isFinite(costUsd)) return 'price unknown';
  return `$${costUsd.toFixed(costUsd < 1 ? 4 : 2)}`;
}
