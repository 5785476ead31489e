// Metrics are linear in their input: a 50 MB output is scored (no stack overflow, no quadratic scan) in bounded time.
import { describe, expect, it } from 'vitest';
import { countCodePoints, countWords } from './heuristics.ts';
import { scanPii } from './pii.ts';
import { createMetric } from './registry.ts';

const MB = 1024 * 1024;

async function score(name: string, args: unknown, output: string) {
  const built = createMetric(name, args);
  if (!built.ok) throw new Error(built.error);
  const started = performance.now();
  const s = await built.metric.score({ input: 'q', output });
  return { ...s, ms: performance.now() - started };
}

describe('metrics on a 50 MB output', () => {
  // One big mixed text: words, an address, a card number, brackets, a refusal phrase far from the start.
  const big = `${'Plain words and numbers 12 34, [nested] {"a": 1}. '.repeat(Math.ceil((50 * MB) / 50))}I cannot help with that. Contact me at someone@example.com`;

  it.each([
    ['pii', {}, 0],
    ['refusal', {}, 0],
    ['length', { max: 10, unit: 'chars' }, 0],
    ['length', { max: 10, unit: 'words' }, 0],
    ['keyword-coverage', { keywords: ['numbers', 'absent-word'] }, 0.5],
    ['json-valid', {}, 0],
    ['contains', { value: 'someone@example.com' }, 1],
    ['regex', { pattern: 'cannot help' }, 1],
  ] as const)(
    '%s scores it in bounded time with a value, not a crash',
    async (name, args, value) => {
      const s = await score(name, args, big);
      expect(s.error).toBeUndefined();
      expect(s.value).toBe(value);
      // Generous: a stack overflow throws at once, a quadratic scan of 50 MB takes hours.
      expect(s.ms).toBeLessThan(60_000);
    },
    120_000,
  );

  it('json-valid on 5 MB of unbalanced brackets (5 million levels deep) fails the item instead of overflowing the stack', async () => {
    const s = await score('json-valid', {}, '['.repeat(5 * MB));
    expect(s.value).toBe(0);
  }, 120_000);

  it('pii finds every one of 200,000 addresses without comparing each with all the others', () => {
    const text = 'mail x@ex.com now '.repeat(200_000);
    const started = performance.now();
    const found = scanPii(text, ['email']);
    expect(found).toHaveLength(200_000);
    expect(found[199_999]).toMatchObject({ kind: 'email', start: 199_999 * 18 + 5, end: 199_999 * 18 + 13 });
    // Checking each finding against all earlier ones took 2·10^10 steps here; the interval merge takes milliseconds.
    expect(performance.now() - started).toBeLessThan(20_000);
  }, 60_000);

  it('counts code points and words without building arrays of them', () => {
    expect(countCodePoints('a😀b')).toBe(3);
    expect(countCodePoints('\ud800x')).toBe(2); // a lone surrogate counts as one
    expect(countWords('  one  two\nthree ')).toBe(3);
    expect(countCodePoints('é'.repeat(50 * MB))).toBe(50 * MB);
  });
});
