import { describe, expect, it } from 'vitest';
import type { Score } from '../evaluators/index.ts';
import {
  compareRuns,
  pairedTInterval,
  pairingInput,
  signTest,
  studentTCdf,
  studentTQuantile,
} from './compare.ts';
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

  // Reference quantiles from standard t tables (R: qt(0.975, df)).
  it.each([
    [1, 12.706204736],
    [2, 4.30265273],
    [3, 3.182446305],
    [9, 2.262157163],
    [29, 2.045229642],
    [1000, 1.962339081],
  ])('t quantile 0.975 with %i df is %d', (df, want) => {
    expect(studentTQuantile(0.975, df)).toBeCloseTo(want, 7);
    expect(studentTQuantile(0.025, df)).toBeCloseTo(-want, 7);
    expect(studentTCdf(want, df)).toBeCloseTo(0.975, 9);
  });

  it('t CDF is a half at 0 and refuses impossible quantiles', () => {
    expect(studentTCdf(0, 5)).toBeCloseTo(0.5, 12);
    // df = 1 is the Cauchy distribution: P(T ≤ 1) = 3/4.
    expect(studentTCdf(1, 1)).toBeCloseTo(0.75, 10);
    expect(() => studentTQuantile(1, 5)).toThrow(RangeError);
    expect(() => studentTQuantile(0.5, 0)).toThrow(RangeError);
  });

  it.each([
    {
      case: 'three positive deltas: the old percentile bootstrap excluded 0, the t interval does not',
      diffs: [0.1, 0.2, 0.3],
      // mean 0.2 ± 4.3027·0.1/√3
      want: [0.2 - (4.30265273 * 0.1) / Math.sqrt(3), 0.2 + (4.30265273 * 0.1) / Math.sqrt(3)],
    },
    { case: 'identical runs: no spread, a point at 0', diffs: [0, 0, 0, 0], want: [0, 0] },
    { case: 'one pair: no interval', diffs: [0.5], want: null },
    { case: 'no pairs: no interval', diffs: [], want: null },
    {
      case: 'ten deltas',
      diffs: [0.1, 0.2, 0.3, 0.1, 0.2, 0.25, 0.15, 0.3, 0.05, 0.35],
      want: [0.2 - (2.262157163 * 0.1) / Math.sqrt(10), 0.2 + (2.262157163 * 0.1) / Math.sqrt(10)],
    },
  ])('paired t interval: $case', ({ diffs, want }) => {
    const got = pairedTInterval(diffs);
    if (want === null) expect(got).toBeNull();
    else {
      expect(got![0]).toBeCloseTo(want[0]!, 7);
      expect(got![1]).toBeCloseTo(want[1]!, 7);
    }
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

  it('identical runs: zero delta, a point interval at 0, no sign test, not significant', () => {
    const a = ['x', 'y', 'z'].map((k) => view(k, 0.5));
    const cmp = compareRuns({ run: run('A'), items: a }, { run: run('B', 'other'), items: a });
    expect(cmp.sameSuite).toBe(false);
    expect(cmp.metrics[0]).toMatchObject({ delta: 0, ci: [0, 0], significant: false, pValue: null });
  });

  it('tiny n: three items all better is not significant (t interval and sign test both say so)', () => {
    const keys = ['k0', 'k1', 'k2'];
    const a = keys.map((k) => view(k, 0.4));
    const b = keys.map((k, i) => view(k, 0.5 + i * 0.1));
    const score = compareRuns({ run: run('A'), items: a }, { run: run('B'), items: b }).metrics[0]!;
    expect(score).toMatchObject({ pairs: 3, wins: 3, losses: 0, significant: false });
    expect(score.pValue).toBeCloseTo(0.25, 12);
    // Every delta is positive, so every bootstrap resample mean is at least the smallest one (0.1): the old
    // percentile interval was at best [0.1, 0.3] and called this significant. The t interval contains 0.
    expect(score.delta).toBeCloseTo(0.2, 12);
    expect(score.ci![0]).toBeCloseTo(0.2 - (4.30265273 * 0.1) / Math.sqrt(3), 7);
    expect(score.ci![0]).toBeLessThan(0);
    expect(score.ci![1]).toBeGreaterThan(0.2);
  });

  it('pairs items by input (normalized, with persona), not by item key', () => {
    const item = (key: string, input: string, value: number, row: number, persona?: string): RunItemView => {
      const v = view(key, value, 'done', input);
      return { ...v, doc: { ...v.doc, row }, item: { key, row, input, ...(persona ? { persona } : {}) } };
    };
    const a = [
      item('id:1', 'How do I reset my password?', 0.2, 1),
      item('id:2', 'Do you ship to Canada?', 0.2, 2),
      item('h-dup', 'Same question', 0.1, 3),
      item('h-dup#2', 'Same question', 0.3, 4),
      item('p1', 'Hello', 0.5, 5, 'angry'),
    ];
    const b = [
      // Same ids, different questions: pairing on keys would compare unrelated answers.
      item('id:1', 'Do you ship to Canada?', 0.9, 1),
      item('id:2', '  how do I   RESET my password? ', 0.6, 2),
      item('x#1', 'Same question', 0.2, 3),
      item('x#2', 'Same question', 0.4, 4),
      item('p2', 'Hello', 0.5, 5, 'calm'),
    ];
    const cmp = compareRuns({ run: run('A'), items: a }, { run: run('B'), items: b });
    expect(cmp).toMatchObject({ paired: 4, onlyInA: 1, onlyInB: 1 });
    const byInput = new Map(cmp.improvements.map((d) => [d.input, [d.scoreA, d.scoreB]]));
    expect(byInput.get('Do you ship to Canada?')).toEqual([0.2, 0.9]);
    expect(byInput.get('  how do I   RESET my password? ')).toEqual([0.2, 0.6]);
    // A repeated input pairs occurrence by occurrence, in row order.
    expect(
      cmp.improvements
        .filter((d) => d.input === 'Same question')
        .map((d) => [d.scoreA, d.scoreB])
        .sort((x, y) => x[0]! - y[0]!),
    ).toEqual([
      [0.1, 0.2],
      [0.3, 0.4],
    ]);
    expect(pairingInput(' Ａ\tb ')).toBe(pairingInput('a b'));
    expect(pairingInput('a', 'p')).not.toBe(pairingInput('a'));
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
