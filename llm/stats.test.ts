// Usage and cost accounting on its own: live counters per model, totals summed on a snapshot.
import { describe, expect, it } from 'vitest';
import { addSpend, createStatsBook } from './stats.ts';

describe('stats book', () => {
  it('keeps live counters per model and sums them into totals, unknown prices included', () => {
    const book = createStatsBook();
    const a = book.statsFor('anthropic:x', false);
    expect(book.statsFor('anthropic:x', false)).toBe(a);
    a.calls += 2;
    addSpend(a, { inputTokens: 100, outputTokens: 10, cacheReadTokens: 40 }, 0.5, true);
    addSpend(a, { inputTokens: 50, outputTokens: 5 }, 0.25, true);
    const g = book.statsFor('gemini:y', false);
    g.calls += 1;
    g.errors += 1;
    addSpend(g, { inputTokens: 7, outputTokens: 3, cacheWriteTokens: 2 }, 0, false);
    const off = book.statsFor('offline:heuristic', true);
    off.calls += 1;

    const snap = book.snapshot({ anthropic: 'closed' });
    expect(snap.byModel['anthropic:x']).toMatchObject({
      calls: 2,
      inputTokens: 150,
      outputTokens: 15,
      cacheReadTokens: 40,
      costUsd: 0.75,
      priceKnown: true,
    });
    expect(snap.byModel['gemini:y']).toMatchObject({ priceKnown: false, cacheWriteTokens: 2, errors: 1 });
    expect(snap.byModel['offline:heuristic']?.heuristic).toBe(true);
    expect(snap.totals).toMatchObject({
      calls: 4,
      errors: 1,
      inputTokens: 157,
      outputTokens: 18,
      costUsd: 0.75,
      priceKnown: false,
      heuristic: false,
    });
    expect(snap.breakers).toEqual({ anthropic: 'closed' });
    // A snapshot is a copy: later calls do not change it.
    a.calls += 1;
    expect(snap.byModel['anthropic:x']?.calls).toBe(2);
  });
});
