import { describe, expect, it } from 'vitest';
import type { Score } from '../evaluators/index.ts';
import { bootstrapCi, compareRuns, signTest } from './compare.ts';
import { escapeXml, renderJunit } from './junit.ts';
import { summarize, summaryExitCode } from './summary.ts';
import type { Run, RunItemView } from './types.ts';

const run = (id: string, suiteName = 's'): Run => ({
  _id: id,
  suiteName,
  suiteFile: '/s.yaml',
  suiteHash: 'h',
  suiteJson: JSON.stringify({ threshold: { score: 0.5 } }),
  status: 'completed',
  options: { concurrency: 1 },
  total: 0,
  datasetErrors: [],
  datasetSource: 'x',
  progress: { done: 0, total: 0, errors: 0, meanScore: null },
  createdAt: new Date('2026-01-01T00:00:00Z'),
  updatedAt: new Date('2026-01-01T00:00:00Z'),
});

const view = (key: string, value: number, status: 'done' | 'error' = 'done', input = key): RunItemView => ({
  doc: {
    _id: key,
    runId: 'r',
    itemKey: key,
    row: 1,
    seq: 0,
    status,
    itemJson: '{}',
    score: value,
    passed: status === 'done' && value >= 0.5,
    ...(status === 'error' ? { error: 'HTTP 500 <boom> & "x"' } : {}),
  },
  item: { key, row: 1, input },
  result: {
    scores: [{ metric: 'm', value, reason: 'r' }],
    stopReason: 'single-turn',
    turns: 1,
    output: `out\u0001 ${key}`,
  },
});

describe('statistics', () => {
  it.each([
    [10, 0, 0.001953125],
    [5, 5, 1],
    [0, 0, null],
    [8, 2, 0.109375],
  ])('sign test %i wins %i losses → p %s', (w, l, p) => {
    const got = signTest(w, l);
    if (p === null) expect(got).toBeNull();
    else expect(got).toBeCloseTo(p, 9);
  });

  it('bootstrap is seeded and brackets the mean', () => {
    const diffs = [0.1, 0.2, 0.3, 0.1, 0.2, 0.25, 0.15, 0.3];
    const a = bootstrapCi(diffs, 1000, 7)!;
    expect(bootstrapCi(diffs, 1000, 7)).toEqual(a);
    expect(a[0]).toBeGreaterThan(0);
    expect(a[0]).toBeLessThan(0.2);
    expect(a[1]).toBeGreaterThan(0.2);
    expect(bootstrapCi([])).toBeNull();
  });
});

describe('compareRuns', () => {
  it('pairs by key and finds regressions, improvements and significance', () => {
    const keys = Array.from({ length: 12 }, (_, i) => `k${i}`);
    const a = keys.map((k) => view(k, 0.4));
    const b = keys.map((k, i) => view(k, i === 0 ? 0.1 : 0.9));
    const cmp = compareRuns({ run: run('A'), items: [...a, view('onlyA', 1)] }, { run: run('B'), items: b });
    expect(cmp).toMatchObject({ paired: 12, onlyInA: 1, onlyInB: 0, sameSuite: true });
    const score = cmp.metrics.find((m) => m.metric === 'score')!;
    expect(score).toMatchObject({ wins: 11, losses: 1, ties: 0, significant: true });
    expect(score.delta).toBeCloseTo((11 * 0.5 - 0.3) / 12, 9);
    expect(cmp.regressions.map((r) => r.key)).toEqual(['k0']);
    expect(cmp.improvements).toHaveLength(5);
  });

  it('no change is not significant', () => {
    const a = ['x', 'y', 'z'].map((k) => view(k, 0.5));
    const cmp = compareRuns({ run: run('A'), items: a }, { run: run('B', 'other'), items: a });
    expect(cmp.sameSuite).toBe(false);
    expect(cmp.metrics[0]).toMatchObject({ delta: 0, significant: false, pValue: null });
  });
});

describe('summarize', () => {
  const s = (metric: string, value: number, extra: Partial<Score> = {}): Score => ({
    metric,
    value,
    reason: '',
    ...extra,
  });
  const base = { inputTokens: 1, outputTokens: 2, costUsd: 0.5 };

  it('leaves errored items out of the mean and pass rate, skips error scores in metric means, and gates on pass rate or mean', () => {
    const items = [
      {
        key: 'a',
        status: 'done' as const,
        score: 1,
        passed: true,
        needsReview: false,
        scores: [s('m', 1)],
        ...base,
      },
      {
        key: 'b',
        status: 'done' as const,
        score: 0.5,
        passed: false,
        needsReview: true,
        scores: [s('m', 0.5), s('j', 0, { error: 'x' })],
        ...base,
      },
      {
        key: 'c',
        status: 'error' as const,
        errorCause: 'provider' as const,
        score: null,
        passed: false,
        needsReview: false,
        scores: [],
        ...base,
      },
      {
        key: 'd',
        status: 'pending' as const,
        score: null,
        passed: false,
        needsReview: false,
        scores: [],
        ...base,
      },
    ];
    const sum = summarize(items, { score: 0.6, passRate: 0.3, maxErrors: 1 }, 1234);
    expect(sum).toMatchObject({
      total: 4,
      finished: 3,
      passed: 1,
      failed: 1,
      errors: 1,
      errorCauses: { target: 0, provider: 1, input: 0, metric: 0 },
      needsReview: 1,
      reviewKeys: ['b'],
      costUsd: 1.5,
      durationMs: 1234,
    });
    expect(sum.meanScore).toBeCloseTo(0.75, 9);
    expect(sum.passRate).toBeCloseTo(0.5, 9);
    expect(sum.metrics).toEqual([
      { metric: 'm', mean: 0.75, count: 2, errors: 0, heuristic: false },
      { metric: 'j', mean: null, count: 0, errors: 1, heuristic: false },
    ]);
    expect(sum.gate).toMatchObject({ kind: 'pass-rate', threshold: 0.3, passed: true, verdict: 'passed' });
    expect(summaryExitCode(sum)).toBe(0);
    // With no errored item tolerated, the provider failure decides: no verdict, exit 3.
    const strict = summarize(items, { score: 0.6, passRate: 0.3 }, 0);
    expect(strict.gate).toMatchObject({ passed: false, verdict: 'errored', errorKind: 'infrastructure' });
    expect(summaryExitCode(strict)).toBe(3);
    expect(summarize(items, { score: 0.8, maxErrors: 1 }, 0).gate).toMatchObject({
      kind: 'mean-score',
      passed: false,
      verdict: 'failed',
    });
    expect(
      summarize(items, { score: 0.6, passRate: 0.3, failUnder: 0.4, maxErrors: 1 }, 0).gate,
    ).toMatchObject({
      kind: 'mean-score',
      threshold: 0.4,
      passed: true,
    });
    expect(summarize([], { score: 0.5 }, 0).gate.passed).toBe(false);
  });
});

describe('JUnit XML', () => {
  it('escapes XML and drops control characters', () => {
    expect(escapeXml(`<a href="x">&'\u0000\u0007ok`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;ok');
  });

  it('one testcase per item with failures and errors', () => {
    const xml = renderJunit(run('R'), [
      view('ok', 0.9),
      view('low <1>', 0.2, 'done', 'what & why'),
      view('bad', 0, 'error'),
    ]);
    expect(xml).toMatch(/<testsuites name="arbiter" tests="3" failures="1" errors="1"/);
    expect(xml.match(/<testcase /g)).toHaveLength(3);
    expect(xml).toContain('what &amp; why');
    expect(xml).toContain('<error message="HTTP 500 &lt;boom&gt; &amp; &quot;x&quot;" type="target-error"/>');
    expect(xml).toMatch(/<failure message="below threshold: m 0.200 &lt; 0.5"/);
    expect(xml.includes(String.fromCharCode(1))).toBe(false);
  });
});
