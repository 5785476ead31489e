// Token prices for cost accounting. Defaults are list prices in USD per million tokens, standard tier, no
// batch or prompt-caching discounts and no long-context surcharge (Gemini 2.5 Pro costs more past 200k tokens); a team overrides or extends them with
// LLM_PRICES_FILE. An unknown model costs 0 and is flagged, never guessed.
import { z } from 'zod';
import { loadYamlFile } from '../config/index.ts';
import type { Usage } from './types.ts';

/** Price of one model in USD per million tokens. */
export interface ModelPrice {
  input: number;
  output: number;
}

/** `provider:model` → price. */
export type PriceTable = Readonly<Record<string, ModelPrice>>;

/**
 * List prices from the providers' model pages (Anthropic: platform.claude.com model overviews, 2026; Gemini:
 * ai.google.dev pricing for the 2.5/2.0 families). Keys are `provider:model`. Models whose price is tiered or
 * promotional (Claude Haiku 5.5 "from $0.10", time-limited Gemini rates) are left out on purpose: better
 * `priceKnown: false` than a wrong number. Add them with LLM_PRICES_FILE.
 */
export const DEFAULT_PRICES = {
  'anthropic:claude-fable-5-2': { input: 8, output: 40 },
  'anthropic:claude-fable-5-1': { input: 10, output: 50 },
  'anthropic:claude-opus-5-5': { input: 4, output: 20 },
  'anthropic:claude-opus-5': { input: 5, output: 25 },
  'anthropic:claude-sonnet-5-5': { input: 2, output: 10 },
  'anthropic:claude-sonnet-5': { input: 2, output: 10 },
  'anthropic:claude-opus-4-6': { input: 5, output: 25 },
  'anthropic:claude-sonnet-4-6': { input: 3, output: 15 },
  'anthropic:claude-opus-4-5': { input: 5, output: 25 },
  'anthropic:claude-sonnet-4-5': { input: 3, output: 15 },
  'anthropic:claude-haiku-4-5': { input: 1, output: 5 },
  'anthropic:claude-opus-4-1': { input: 15, output: 75 },
  'anthropic:claude-sonnet-4': { input: 3, output: 15 },
  'gemini:gemini-2.5-pro': { input: 1.25, output: 10 },
  'gemini:gemini-2.5-flash': { input: 0.3, output: 2.5 },
  'gemini:gemini-2.5-flash-lite': { input: 0.1, output: 0.4 },
  'gemini:gemini-2.0-flash': { input: 0.1, output: 0.4 },
  'gemini:gemini-2.0-flash-lite': { input: 0.075, output: 0.3 },
} satisfies Record<string, ModelPrice>;

const PriceSchema = z.object({
  input: z.number({ error: 'expected USD per million input tokens, e.g. 3' }).min(0),
  output: z.number({ error: 'expected USD per million output tokens, e.g. 15' }).min(0),
});

/** Shape of LLM_PRICES_FILE (YAML or JSON): `provider:model` → `{ input, output }` in USD per million tokens. */
export const PriceFileSchema = z.record(
  z.string().regex(/^[a-z][a-z0-9-]*:[\w.:/@-]+$/, {
    error: 'expected a provider:model key, e.g. anthropic:claude-sonnet-4-5',
  }),
  PriceSchema,
);

/** Loads LLM_PRICES_FILE; throws YAML_INVALID naming the file, line and field. */
export function loadPriceFile(file: string): PriceTable {
  return loadYamlFile(file, PriceFileSchema);
}

/** Default prices with a file's entries on top. */
export function mergePrices(...tables: readonly (PriceTable | undefined)[]): PriceTable {
  return Object.assign({}, ...tables.filter(Boolean));
}

// Dated snapshots (claude-sonnet-4-5-20250929), `-latest` aliases and Vertex-style `@20250929` share their base
// model's price. Nothing looser: claude-sonnet-4-6 is not claude-sonnet-4, and previews were priced differently.
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

/** Cost of a call in USD, and whether the price was known (unknown → 0). */
export function costOf(
  table: PriceTable,
  fullModel: string,
  usage: Usage,
): { costUsd: number; priceKnown: boolean } {
  const price = findPrice(table, fullModel);
  if (!price) return { costUsd: 0, priceKnown: false };
  const costUsd = (usage.inputTokens * price.input + usage.outputTokens * price.output) / 1_000_000;
  return { costUsd: Math.round(costUsd * 1e9) / 1e9, priceKnown: true };
}
