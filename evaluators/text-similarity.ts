// Reference-based text metrics: Levenshtein similarity, ROUGE-L, BLEU-4 and semantic similarity (Gemini embeddings,
// or a TF-IDF cosine that says it is the lexical fallback). Each compares the output with the item's `expected`
// answer (or the metric's `value`); an item with neither is an error naming `expected`, never a score.
import { ModelNameSchema } from '../config/index.ts';
import { createRequire } from 'node:module';
import type * as Levenshtein from 'fastest-levenshtein';
import { z } from 'zod';
import type { Llm } from '../llm/index.ts';
import { clamp01, errorMessage, errorScore, isProviderTrouble, outputText } from './score.ts';
import { defineMetric, type Item, type Metric, type Score, type ScoreUsage } from './types.ts';

const requireCjs = createRequire(import.meta.url);

/** fastest-levenshtein loads with the first `levenshtein` score, not when `arbiter help` starts (test/startup.test.ts). */
function distance(a: string, b: string): number {
  return (requireCjs('fastest-levenshtein') as typeof Levenshtein).distance(a, b);
}

function heuristic(name: string, score: (item: Item) => Score): Metric {
  return { name, kind: 'heuristic', score: async (item) => score(item) };
}

/** The reference of an item: the metric's `value` when given, else the item's `expected`. */
function referenceOf(metric: string, item: Item, value: string | undefined): string | Score {
  const ref = value ?? item.expected;
  if (ref === undefined)
    return errorScore(
      metric,
      "no reference answer: set the item's `expected` or the metric's `value` argument",
      {
        errorCause: 'input',
      },
    );
  return ref;
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/** Lower-cased word tokens: runs of letters/digits, and each punctuation mark as its own token. */
export function tokenize(text: string, lowercase = true): string[] {
  const t = lowercase ? text.toLowerCase() : text;
  return t.match(/[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu) ?? [];
}

const valueArg = z
  .string()
  .optional()
  .describe("compare with this reference instead of the item's expected answer");

/** `levenshtein`: 1 − edit distance / length of the longer text. */
export const levenshteinMetric = defineMetric({
  description:
    "Normalized Levenshtein similarity to the expected answer: 1 − edits / longer length (gate it with the entry's threshold).",
  kind: 'heuristic',
  args: z.strictObject({
    value: valueArg,
    ignoreCase: z.boolean().default(false).describe('compare without case'),
    normalizeWhitespace: z.boolean().default(true).describe('trim and collapse runs of whitespace first'),
  }),
  example: { ignoreCase: true },
  create(args) {
    const norm = (s: string) => {
      let r = args.normalizeWhitespace ? s.trim().replace(/\s+/g, ' ') : s;
      if (args.ignoreCase) r = r.toLowerCase();
      return r;
    };
    return heuristic('levenshtein', (item) => {
      const ref = referenceOf('levenshtein', item, args.value);
      if (typeof ref !== 'string') return ref;
      const a = norm(outputText(item));
      const b = norm(ref);
      const longer = Math.max(a.length, b.length);
      const edits = longer === 0 ? 0 : distance(a, b);
      const value = longer === 0 ? 1 : 1 - edits / longer;
      return {
        metric: 'levenshtein',
        value: clamp01(value),
        reason: `${edits} edit(s) over ${longer} characters: similarity ${round(value)}`,
        details: { edits, length: longer },
      };
    });
  },
});

/** Length of the longest common subsequence of two token lists (two rows of the DP table). */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  const [long, short] = a.length >= b.length ? [a, b] : [b, a];
  let prev = new Uint32Array(short.length + 1);
  let cur = new Uint32Array(short.length + 1);
  for (let i = 1; i <= long.length; i++) {
    const x = long[i - 1];
    for (let j = 1; j <= short.length; j++)
      cur[j] = x === short[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, cur[j - 1]!);
    [prev, cur] = [cur, prev];
  }
  return prev[short.length]!;
}

/** ROUGE-L of a candidate against a reference (Lin 2004): LCS recall, precision and F1 over tokens. */
export function rougeL(candidate: readonly string[], reference: readonly string[]) {
  const lcs = lcsLength(candidate, reference);
  const precision = candidate.length ? lcs / candidate.length : 0;
  const recall = reference.length ? lcs / reference.length : 0;
  const f = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { lcs, precision, recall, f };
}

/** `rouge-l`: longest-common-subsequence overlap with the expected answer. */
export const rougeLMetric = defineMetric({
  description:
    'ROUGE-L of the output against the expected answer: longest common subsequence of lower-cased word tokens, as F1 (or precision/recall).',
  kind: 'heuristic',
  args: z.strictObject({
    value: valueArg,
    measure: z
      .enum(['f', 'precision', 'recall'])
      .default('f')
      .describe('the score: F1 (default), LCS/output length, or LCS/reference length'),
  }),
  example: { measure: 'f' },
  create(args) {
    return heuristic('rouge-l', (item) => {
      const ref = referenceOf('rouge-l', item, args.value);
      if (typeof ref !== 'string') return ref;
      const r = rougeL(tokenize(outputText(item)), tokenize(ref));
      const value = args.measure === 'f' ? r.f : r[args.measure];
      return {
        metric: 'rouge-l',
        value: clamp01(value),
        reason: `ROUGE-L ${args.measure === 'f' ? 'F1' : args.measure} ${round(value)} (LCS ${r.lcs} tokens; P ${round(r.precision)}, R ${round(r.recall)})`,
        details: { lcs: r.lcs, precision: r.precision, recall: r.recall, f: r.f },
      };
    });
  },
});

/** How zero n-gram matches are handled in sentence-level BLEU (Chen & Cherry 2014). */
export type BleuSmoothing = 'none' | 'epsilon' | 'add-one' | 'exp';

function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = tokens.slice(i, i + n).join('\u0000');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/**
 * Sentence-level BLEU-4 (Papineni et al. 2002): the geometric mean of modified (clipped) 1–4-gram precisions, uniform
 * weights, times the brevity penalty exp(1 − r/c) when the candidate is shorter than the reference length r (the
 * reference length closest to the candidate's; ties take the shorter, as NLTK and sacreBLEU do). With several
 * references each n-gram's count is clipped by its largest count in any one reference.
 *
 * Smoothing, for n-gram orders with no match (Chen & Cherry 2014, "A Systematic Comparison of Smoothing Techniques
 * for Sentence-Level BLEU"):
 * - `none`: unsmoothed; any order without a match makes BLEU 0;
 * - `epsilon` (method 1): a zero match count becomes ε = 0.1;
 * - `add-one` (method 2, Lin & Och 2004): add 1 to the matches and the total of every order above unigrams;
 * - `exp` (method 3, NIST geometric sequence; sacreBLEU's default for sentence BLEU): the k-th order with no match
 *   gets precision 1 / (2^k · total).
 */
export function bleu(
  candidate: readonly string[],
  references: readonly (readonly string[])[],
  smoothing: BleuSmoothing = 'exp',
  maxN = 4,
): {
  bleu: number;
  precisions: number[];
  brevityPenalty: number;
  candidateLength: number;
  referenceLength: number;
} {
  const c = candidate.length;
  // Closest reference length; ties go to the shorter reference.
  let r = references[0]?.length ?? 0;
  for (const ref of references) {
    const d = Math.abs(ref.length - c);
    const best = Math.abs(r - c);
    if (d < best || (d === best && ref.length < r)) r = ref.length;
  }
  const precisions: number[] = [];
  let logSum = 0;
  let zeroOrders = 0;
  let anyZero = false;
  let unigramMatches = 0;
  for (let n = 1; n <= maxN; n++) {
    const cand = ngramCounts(candidate, n);
    const maxRef = new Map<string, number>();
    for (const ref of references)
      for (const [g, k] of ngramCounts(ref, n)) maxRef.set(g, Math.max(maxRef.get(g) ?? 0, k));
    let matches = 0;
    let total = 0;
    for (const [g, k] of cand) {
      matches += Math.min(k, maxRef.get(g) ?? 0);
      total += k;
    }
    // As NLTK: the denominator is at least 1 (a candidate shorter than n has no n-grams).
    const denominator = Math.max(1, total);
    if (n === 1) unigramMatches = matches;
    let p: number;
    if (smoothing === 'add-one' && n > 1) p = (matches + 1) / (denominator + 1);
    else if (matches > 0) p = matches / denominator;
    else if (smoothing === 'epsilon') p = 0.1 / denominator;
    else if (smoothing === 'exp') {
      zeroOrders++;
      p = 1 / (2 ** zeroOrders * denominator);
    } else p = 0;
    precisions.push(p);
    if (p === 0) anyZero = true;
    else logSum += Math.log(p) / maxN;
  }
  const brevityPenalty = c === 0 ? 0 : c > r ? 1 : Math.exp(1 - r / c);
  // No unigram in common means BLEU 0 whatever the smoothing (as NLTK and sacreBLEU).
  const score = anyZero || c === 0 || unigramMatches === 0 ? 0 : brevityPenalty * Math.exp(logSum);
  return { bleu: score, precisions, brevityPenalty, candidateLength: c, referenceLength: r };
}

/** `bleu`: sentence BLEU-4 against the expected answer (or several references). */
export const bleuMetric = defineMetric({
  description:
    'Sentence BLEU-4 against the expected answer (or `references`): clipped 1–4-gram precisions, brevity penalty, smoothing (default exp, as sacreBLEU).',
  kind: 'heuristic',
  args: z.strictObject({
    references: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe("reference translations to compare with instead of the item's expected answer"),
    smoothing: z
      .enum(['none', 'epsilon', 'add-one', 'exp'])
      .default('exp')
      .describe(
        'for orders without a match: none (BLEU 0), epsilon (Chen & Cherry 1), add-one (2), exp (3, sacreBLEU default)',
      ),
    lowercase: z.boolean().default(false).describe('compare without case'),
  }),
  example: { smoothing: 'exp' },
  create(args) {
    return heuristic('bleu', (item) => {
      const refs = args.references ?? (item.expected !== undefined ? [item.expected] : undefined);
      if (refs === undefined)
        return errorScore(
          'bleu',
          "no reference answer: set the item's `expected` or the metric's `references`",
          {
            errorCause: 'input',
          },
        );
      const r = bleu(
        tokenize(outputText(item), args.lowercase),
        refs.map((ref) => tokenize(ref, args.lowercase)),
        args.smoothing,
      );
      return {
        metric: 'bleu',
        value: clamp01(r.bleu),
        reason: `BLEU-4 ${round(r.bleu)} (precisions ${r.precisions.map(round).join('/')}, brevity penalty ${round(r.brevityPenalty)}, smoothing ${args.smoothing})`,
        details: { ...r },
      };
    });
  },
});

/** Cosine of two vectors; 0 when either is all zeros. */
export function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/**
 * TF-IDF cosine of two texts over lower-cased word tokens, with the smoothed idf of scikit-learn
 * (ln((1 + N) / (1 + df)) + 1, N = 2): words both texts share weigh 1, words only one has weigh ≈1.41.
 */
export function tfidfCosine(a: string, b: string): number {
  const ta = tokenize(a).filter((t) => /[\p{L}\p{N}]/u.test(t));
  const tb = tokenize(b).filter((t) => /[\p{L}\p{N}]/u.test(t));
  const ca = new Map<string, number>();
  const cb = new Map<string, number>();
  for (const t of ta) ca.set(t, (ca.get(t) ?? 0) + 1);
  for (const t of tb) cb.set(t, (cb.get(t) ?? 0) + 1);
  const idf = (t: string) => Math.log(3 / (1 + (ca.has(t) ? 1 : 0) + (cb.has(t) ? 1 : 0))) + 1;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (const [t, k] of ca) {
    const w = k * idf(t);
    na += w * w;
    const kb = cb.get(t);
    if (kb !== undefined) dot += w * kb * idf(t);
  }
  for (const [t, k] of cb) nb += (k * idf(t)) ** 2;
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** Default embedding model of `similarity`. */
export const DEFAULT_EMBEDDING_MODEL = 'gemini:gemini-embedding-001';

/** `similarity`: cosine of Gemini embeddings of the output and the expected answer; TF-IDF cosine offline. */
export const similarityMetric = defineMetric({
  description:
    'Semantic similarity to the expected answer: cosine of Gemini embeddings; without a Gemini key, a TF-IDF cosine that says it is the lexical fallback.',
  kind: 'heuristic',
  args: z.strictObject({
    value: valueArg,
    model: ModelNameSchema.default(DEFAULT_EMBEDDING_MODEL).describe(
      'embedding model as provider:model (Gemini embedding models)',
    ),
    fallback: z
      .enum(['lexical', 'error'])
      .default('lexical')
      .describe(
        'without an embedding model (no GEMINI_API_KEY): `lexical` TF-IDF cosine, or `error` on the item',
      ),
  }),
  example: { model: DEFAULT_EMBEDDING_MODEL },
  create(args, deps) {
    const llm: Llm | undefined = deps.llm;
    const lexical = (out: string, ref: string, why: string): Score => {
      if (args.fallback === 'error')
        return errorScore('similarity', `${why}; set GEMINI_API_KEY or use fallback: lexical`, {
          errorCause: 'provider',
        });
      const value = tfidfCosine(out, ref);
      return {
        metric: 'similarity',
        value: clamp01(value),
        reason: `lexical fallback (TF-IDF cosine, not embeddings: ${why}): ${round(value)}`,
        heuristic: true,
        details: { method: 'tfidf-cosine' },
      };
    };
    return {
      name: 'similarity',
      kind: 'heuristic',
      async score(item, ctx) {
        const ref = referenceOf('similarity', item, args.value);
        if (typeof ref !== 'string') return ref;
        const out = outputText(item);
        if (!llm?.embed) return lexical(out, ref, 'no embedding provider is configured');
        try {
          const res = await llm!.embed!({
            model: args.model,
            texts: [out, ref],
            ...(ctx?.signal ? { signal: ctx.signal } : {}),
          });
          // The call counts toward the run's tokens and cost like a judge's (null cost: price unknown, never $0).
          const usage: ScoreUsage | undefined = res.usage
            ? {
                inputTokens: res.usage.inputTokens,
                outputTokens: res.usage.outputTokens,
                cacheReadTokens: 0,
                cacheWriteTokens: 0,
                costUsd: res.costUsd ?? null,
              }
            : undefined;
          const spent = usage
            ? { usage, ...(typeof usage.costUsd === 'number' ? { cost: usage.costUsd } : {}) }
            : {};
          const [a, b] = res.vectors;
          if (!a || !b || a.length === 0 || a.length !== b.length)
            return { ...errorScore('similarity', `${args.model} returned no usable embeddings`), ...spent };
          const value = cosine(a, b);
          return {
            metric: 'similarity',
            value: clamp01(value),
            reason: `embedding cosine ${round(value)} (${args.model})`,
            ...spent,
            details: {
              method: 'embedding',
              model: args.model,
              dimensions: a.length,
              ...(res.tokensEstimated ? { tokensEstimated: true } : {}),
            },
          };
        } catch (err) {
          // No key for the embedding provider: the offline case, not an outage.
          if ((err as { code?: unknown }).code === 'LLM_NO_KEY')
            return lexical(out, ref, `${args.model} has no API key`);
          return errorScore('similarity', `embedding call failed: ${errorMessage(err)}`, {
            errorCause: isProviderTrouble(err) ? 'provider' : 'metric',
          });
        }
      },
    };
  },
});
