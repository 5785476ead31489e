import { describe, expect, it } from 'vitest';
import type { Llm } from '../llm/index.ts';
import { createMetric } from './registry.ts';
import { bleu, lcsLength, rougeL, tfidfCosine, tokenize } from './text-similarity.ts';
import type { Item, MetricDeps, Score } from './types.ts';

async function run(name: string, args: unknown, item: Partial<Item>, deps: MetricDeps = {}): Promise<Score> {
  const built = createMetric(name, args, deps);
  if (!built.ok) throw new Error(built.error);
  return built.metric.score({ input: 'q', output: '', ...item });
}

// The examples of NLTK's nltk/translate/bleu_score.py docstrings (Papineni et al. 2002's running example).
const split = (s: string) => s.split(' ');
const h1 = split(
  'It is a guide to action which ensures that the military always obeys the commands of the party',
);
const h2 = split('It is to insure the troops forever hearing the activity guidebook that party direct');
const r1 = split('It is a guide to action that ensures that the military will forever heed Party commands');
const r2 = split(
  'It is the guiding principle which guarantees the military forces always being under the command of the Party',
);
const r3 = split('It is the practical guide for the army always to heed the directions of the party');

describe('bleu (checked against published NLTK values)', () => {
  it('sentence_bleu([r1, r2, r3], h1) = 0.5045… without smoothing', () => {
    expect(bleu(h1, [r1, r2, r3], 'none').bleu).toBeCloseTo(0.5045666840058485, 12);
  });
  it('h2 has no 3- or 4-gram match: 0 unsmoothed, 0.0370… with Chen & Cherry method 1 (epsilon)', () => {
    expect(bleu(h2, [r1, r2, r3], 'none').bleu).toBe(0);
    expect(bleu(h2, [r1, r2, r3], 'epsilon').bleu).toBeCloseTo(0.037, 4);
  });
  it('modified unigram precision clips repeated words: "the the the…" is 2/7 (0.2857…)', () => {
    const p = bleu(split('the the the the the the the'), [
      split('the cat is on the mat'),
      split('there is a cat on the mat'),
    ]);
    expect(p.precisions[0]).toBeCloseTo(0.2857, 4);
  });
  it('brevity penalty of a 12-token candidate against 28-token references is 0.2635971381157267', () => {
    const r = bleu(Array(12).fill('a'), [Array(28).fill('a'), Array(28).fill('a')], 'none');
    expect(r.brevityPenalty).toBeCloseTo(0.2635971381157267, 12);
  });
  it('the closest reference length decides the penalty (12 vs references of 13 and 2: penalized)', () => {
    expect(bleu(Array(12).fill('a'), [Array(13).fill('a'), Array(2).fill('a')]).referenceLength).toBe(13);
  });
  it.each([
    ['none', 0],
    ['epsilon', 0.037],
    ['add-one', 0.1311],
    ['exp', 0.0696],
  ] as const)('smoothing %s on h2 → %d', (smoothing, value) => {
    expect(bleu(h2, [r1, r2, r3], smoothing).bleu).toBeCloseTo(value, 3);
  });
  it('an identical sentence scores 1; no word in common scores 0 whatever the smoothing', () => {
    expect(bleu(h1, [h1]).bleu).toBeCloseTo(1, 12);
    expect(bleu(split('a b c d'), [split('w x y z')], 'exp').bleu).toBe(0);
  });

  it.each([
    [{}, 'The cat sat on the mat.', 'The cat sat on the mat.', 1],
    [{}, 'completely different words here', 'The cat sat on the mat.', 0],
    [{ references: ['the cat sat on the mat'] }, 'the cat sat on the mat', undefined, 1],
  ])('metric bleu %j: %j vs %j → %d', async (args, output, expected, value) => {
    const s = await run('bleu', args, { output, ...(expected ? { expected } : {}) });
    expect(s.error).toBeUndefined();
    expect(s.value).toBeCloseTo(value, 6);
    expect(s.reason).toContain('smoothing');
  });

  it('an item without a reference is an input error naming `expected`', async () => {
    const s = await run('bleu', {}, { output: 'x' });
    expect(s.error).toContain('`expected`');
    expect(s.errorCause).toBe('input');
  });
});

describe('rouge-l', () => {
  it.each([
    [['a', 'b', 'c', 'd'], ['a', 'c', 'd'], 3],
    [['a', 'b'], ['c', 'd'], 0],
    [[], ['a'], 0],
    [['the', 'cat', 'the', 'mat'], ['the', 'mat', 'the', 'cat'], 2],
  ])('LCS of %j and %j is %d', (a, b, n) => {
    expect(lcsLength(a, b)).toBe(n);
    expect(lcsLength(b, a)).toBe(n);
  });

  it('Lin (2004) example: "police killed the gunman" vs "police kill the gunman" → R = P = 3/4', () => {
    const r = rougeL(tokenize('police kill the gunman'), tokenize('police killed the gunman'));
    expect(r.recall).toBeCloseTo(0.75, 12);
    expect(r.precision).toBeCloseTo(0.75, 12);
    expect(r.f).toBeCloseTo(0.75, 12);
  });

  it.each([
    [{}, 'The cat sat on the mat', 'the cat sat on the mat', 1],
    [{}, 'the cat', 'the cat sat on the mat', 0.5],
    [{ measure: 'precision' }, 'the cat', 'the cat sat on the mat', 1],
    [{ measure: 'recall' }, 'the cat', 'the cat sat on the mat', 2 / 6],
    [{ value: 'dogs bark' }, 'dogs bark loudly', 'ignored', 0.8],
  ])('%j: %j vs %j → %d', async (args, output, expected, value) => {
    expect((await run('rouge-l', args, { output, expected })).value).toBeCloseTo(value, 6);
  });

  it('needs a reference', async () => {
    const s = await run('rouge-l', {}, { output: 'x' });
    expect(s.errorCause).toBe('input');
    expect(s.error).toContain('`expected`');
  });
});

describe('levenshtein', () => {
  it.each([
    [{}, 'kitten', 'sitting', 1 - 3 / 7],
    [{}, 'same', 'same', 1],
    [{}, '', '', 1],
    [{}, 'abc', '', 0],
    [{}, 'Paris', 'paris', 0.8],
    [{ ignoreCase: true }, 'Paris', 'paris', 1],
    [{}, '  a   b ', 'a b', 1],
    [{ normalizeWhitespace: false }, 'a  b', 'a b', 0.75],
  ])('%j: %j vs %j → %d', async (args, output, expected, value) => {
    const s = await run('levenshtein', args, { output, expected });
    expect(s.value).toBeCloseTo(value, 6);
  });

  it('needs a reference', async () => {
    expect((await run('levenshtein', {}, { output: 'x' })).errorCause).toBe('input');
  });
});

describe('similarity', () => {
  it.each([
    ['the cat sat on the mat', 'the cat sat on the mat', 1],
    ['apples oranges', 'trains planes', 0],
  ])('TF-IDF cosine of %j and %j is %d', (a, b, v) => {
    expect(tfidfCosine(a, b)).toBeCloseTo(v, 6);
  });

  it('TF-IDF cosine orders a paraphrase above an unrelated answer', () => {
    const ref = 'Refunds are issued within 30 days of the order';
    expect(tfidfCosine('We issue refunds within 30 days of your order', ref)).toBeGreaterThan(
      tfidfCosine('Our office opens at nine in the morning', ref),
    );
  });

  it('without an embedding provider it uses the lexical fallback and says so', async () => {
    const s = await run('similarity', {}, { output: 'the cat sat', expected: 'the cat sat' });
    expect(s.value).toBeCloseTo(1, 6);
    expect(s.reason).toMatch(/^lexical fallback \(TF-IDF cosine, not embeddings/);
    expect(s.heuristic).toBe(true);
  });

  it('fallback: error makes the missing provider an error on the item', async () => {
    const s = await run('similarity', { fallback: 'error' }, { output: 'a', expected: 'a' });
    expect(s.error).toContain('GEMINI_API_KEY');
  });

  const embedder = (vectors: number[][] | Error): Llm => ({
    complete: async () => {
      throw new Error('not used');
    },
    completeJson: async () => ({ ok: false, error: 'not used' }),
    embed: async (p) => {
      if (vectors instanceof Error) throw vectors;
      expect(p.texts).toHaveLength(2);
      return { vectors, model: p.model };
    },
  });

  it('with embeddings: the cosine of the two vectors, naming the model', async () => {
    const s = await run(
      'similarity',
      {},
      { output: 'a', expected: 'b' },
      {
        llm: embedder([
          [1, 0, 0],
          [0.6, 0.8, 0],
        ]),
      },
    );
    expect(s.value).toBeCloseTo(0.6, 12);
    expect(s.reason).toContain('gemini:gemini-embedding-001');
    expect(s.heuristic).toBeUndefined();
  });

  it('a missing key falls back to lexical; provider trouble is an error with cause provider', async () => {
    const noKey = Object.assign(new Error('no key'), { code: 'LLM_NO_KEY' });
    const fell = await run('similarity', {}, { output: 'a b', expected: 'a b' }, { llm: embedder(noKey) });
    expect(fell.reason).toMatch(/^lexical fallback/);
    const down = Object.assign(new Error('gemini: HTTP 503'), { code: 'LLM_OVERLOADED' });
    const s = await run('similarity', {}, { output: 'a', expected: 'b' }, { llm: embedder(down) });
    expect(s.error).toContain('HTTP 503');
    expect(s.errorCause).toBe('provider');
  });

  it('needs a reference', async () => {
    expect((await run('similarity', {}, { output: 'x' })).errorCause).toBe('input');
  });
});
