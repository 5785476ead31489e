import { describe, expect, it } from 'vitest';
import { createLlm } from '../llm/index.ts';
import { type ClaimRun, shareOfVerdicts } from './claim-run.ts';
import type { StatementVerdict } from './claims.ts';
import { fixedRubric, newLedger } from './judge-call.ts';

const at = (): ClaimRun => ({
  name: 'demo',
  judge: { llm: createLlm({ env: {} }), judgeModel: 'anthropic:claude-sonnet-5-5' },
  model: 'anthropic:claude-sonnet-5-5',
  effort: 'low',
  rubric: fixedRubric('demo: share of statements that pass'),
  ledger: newLedger(),
});
const spec = {
  allPass: (n: number) => `all ${n} pass`,
  somePass: (s: { passed: number; total: number; failing: { index: number; statement: string }[] }) =>
    `${s.passed} of ${s.total}; failing ${s.failing.map((f) => `${f.index}:${f.statement}`).join(',')}`,
  details: (s: { passed: number; total: number }) => ({ total: s.total, passed: s.passed }),
};
const v = (statement: string, verdict: StatementVerdict['verdict']): StatementVerdict => ({
  statement,
  verdict,
  reason: '',
});

describe('shareOfVerdicts', () => {
  it('scores the share of passing verdicts, naming the failing ones with their place', () => {
    const s = shareOfVerdicts(at(), [v('a', 'yes'), v('b', 'no'), v('c', 'idk'), v('d', 'yes')], spec);
    expect(s.value).toBe(0.5);
    expect(s.reason).toBe('2 of 4; failing 1:b,2:c');
    expect(s.error).toBeUndefined();
    expect(s.details).toMatchObject({ total: 4, passed: 2, model: 'anthropic:claude-sonnet-5-5' });
  });

  it('takes the metric’s own rule of what passes (idk counting as relevant)', () => {
    const s = shareOfVerdicts(at(), [v('a', 'idk'), v('b', 'no')], { ...spec, passes: (x) => x !== 'no' });
    expect(s.value).toBe(0.5);
    expect(s.reason).toBe('1 of 2; failing 1:b');
    expect(shareOfVerdicts(at(), [v('a', 'idk')], { ...spec, passes: (x) => x !== 'no' })).toMatchObject({
      value: 1,
      reason: 'all 1 pass',
    });
  });

  it('is an error on the item, not a 0, when nothing was judged', () => {
    const s = shareOfVerdicts(at(), [], spec);
    expect(s.error).toMatch(/nothing was judged/);
    expect(s.errorCause).toBe('metric');
    expect(s.label).toBe('error');
    expect(s.reason).toMatch(/^could not score: /);
  });
});
