import { describe, expect, it } from 'vitest';
import {
  closestName,
  createMetric,
  describeMetrics,
  formatMetricsHelp,
  METRIC_NAMES,
  metrics,
} from './registry.ts';
import { createStubLlm } from './stub-llm.ts';
import { ScoreSchema, type Item } from './types.ts';

const deps = {
  llm: createStubLlm((p) =>
    p.messages.at(-1)?.content.includes('<task>\npairwise')
      ? '{"winner": "A", "reason": "ok", "confidence": 0.9}'
      : '{"score": 4, "reason": "ok", "confidence": 0.9}',
  ),
  judgeModel: 'stub:judge',
};

const sample: Item = {
  input: 'What is the capital of France?',
  output: '{"answer": "Paris"}',
  expected: 'Paris',
  latencyMs: 120,
  metadata: { baseline: 'Lyon' },
};

describe('metric registry', () => {
  it('names every issue-required metric', () => {
    expect(METRIC_NAMES).toEqual(
      expect.arrayContaining([
        'contains',
        'not-contains',
        'regex',
        'equals',
        'json-valid',
        'json-schema',
        'length',
        'latency',
        'refusal',
        'pii',
        'keyword-coverage',
        'llm-judge',
        'pairwise-judge',
        'tool-correctness',
        'trajectory',
        'contains-json',
        'starts-with',
        'is-sql',
        'is-xml',
        'levenshtein',
        'rouge-l',
        'bleu',
        'similarity',
        'cost',
        'tokens',
        'finish-reason',
      ]),
    );
  });

  it.each(METRIC_NAMES)(
    '%s is documented, constructible from its example and returns a valid Score',
    async (name) => {
      const def = metrics[name];
      expect(def.description.length).toBeGreaterThan(10);
      expect(def.description.length).toBeLessThanOrEqual(150);
      expect(def.description).not.toContain('\n');
      expect(name).toMatch(/^[a-z][a-z-]*$/);
      const built = createMetric(name, def.example, deps);
      if (!built.ok) throw new Error(built.error);
      expect(built.metric.kind).toBe(def.kind);
      const score = await built.metric.score(sample);
      expect(ScoreSchema.safeParse(score).success).toBe(true);
    },
  );

  it.each(METRIC_NAMES)('%s never throws on a broken item', async (name) => {
    const built = createMetric(name, metrics[name].example, deps);
    if (!built.ok) throw new Error(built.error);
    const score = await built.metric.score({} as Item);
    expect(ScoreSchema.safeParse(score).success).toBe(true);
  });
});

describe('createMetric errors', () => {
  it.each([
    [
      'contans',
      /^unknown metric 'contans' \(did you mean 'contains'\?\); valid: contains, not-contains, regex/,
    ],
    ['llm_judge', /did you mean 'llm-judge'/],
    ['rouge', /^unknown metric 'rouge' \(did you mean 'rouge-l'\?\)/],
    [
      'sentiment',
      /^unknown metric 'sentiment'; valid: contains, .*or a module file such as \.\/metrics\/my-metric\.ts$/,
    ],
    ['toString', /^unknown metric 'toString'/],
  ])('unknown metric %j', (name, message) => {
    const r = createMetric(name, {});
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(message);
  });

  it.each([
    [
      'contains',
      {},
      /^metric 'contains': argument 'value': .*; valid arguments: value, mode, caseSensitive$/,
    ],
    ['contains', { value: 'x', valeu: 'y' }, /unknown argument 'valeu' \(did you mean 'value'\?\)/],
    [
      'contains',
      { value: 'x', mode: 'most' },
      /argument 'mode': Invalid option: expected one of "any"\|"all"/,
    ],
    ['latency', { maxDuration: '-1s' }, /^metric 'latency': argument 'maxDuration'/],
    ['latency', 'fast', /^metric 'latency': arguments expected object/],
    ['keyword-coverage', { keywords: [] }, /argument 'keywords': expected at least one keyword/],
    ['llm-judge', { criteria: '' }, /argument 'criteria': expected the criteria/],
    [
      'llm-judge',
      { criteria: 'x', scale: '5-1' },
      /argument 'scale': expected a scale whose max is above its min/,
    ],
    ['llm-judge', { criteria: 'x', scale: 'big' }, /argument 'scale'/],
    [
      'pairwise-judge',
      { against: 'somewhere' },
      /argument 'against': expected "expected" or "metadata.<key>"/,
    ],
  ])('%s with %j', (name, args, message) => {
    const r = createMetric(name, args, deps);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(message);
  });

  it('needs an LLM and a judge model for judges', () => {
    const noLlm = createMetric('llm-judge', { criteria: 'x' });
    expect(noLlm).toEqual({ ok: false, error: "metric 'llm-judge' needs an LLM, but none was provided" });
    const noModel = createMetric('pairwise-judge', {}, { llm: deps.llm });
    expect(noModel.ok).toBe(false);
    if (!noModel.ok) expect(noModel.error).toMatch(/needs a judge model: set ARBITER_JUDGE_MODEL/);
    expect(createMetric('pairwise-judge', { model: 'offline:heuristic' }, { llm: deps.llm }).ok).toBe(true);
  });

  it('accepts missing args for metrics without required ones', () => {
    expect(createMetric('json-valid').ok).toBe(true);
    expect(createMetric('pii', undefined).ok).toBe(true);
    expect(createMetric('refusal', null).ok).toBe(true);
  });

  it.each([
    ['contans', 'contains'],
    ['REGEX', 'regex'],
    ['latncy', 'latency'],
    ['zzzzzz', undefined],
  ])('closestName(%j) = %j', (name, best) => {
    expect(closestName(name, METRIC_NAMES)).toBe(best);
  });
});

describe('help text', () => {
  it('lists every metric with its arguments', () => {
    const help = describeMetrics();
    expect(help.map((h) => h.name)).toEqual(METRIC_NAMES);
    const contains = help.find((h) => h.name === 'contains');
    expect(contains?.args).toEqual([
      { name: 'value', optional: false, description: 'a string or a list of strings' },
      { name: 'mode', optional: true, description: 'with a list: pass when any / all are present' },
      { name: 'caseSensitive', optional: true, description: 'compare with case (default: ignore case)' },
    ]);
    const text = formatMetricsHelp();
    expect(text.split('\n')).toHaveLength(METRIC_NAMES.length);
    expect(text).toContain('llm-judge — LLM rubric judge');
    expect(text).toContain(
      '(args: criteria, steps?, scale?, levels?, needs?, name?, model?, reviewBelow?, effort?, maxTokens?, judges?, samples?, aggregate?, temperature?)',
    );
  });
});
