import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PromptChatMessage } from '../langfuse/index.ts';
import {
  chatDiffLines,
  diffConfig,
  diffPrompts,
  diffSequences,
  renderPromptDiff,
  unifiedLines,
} from './diff.ts';

function lcsLength(a: readonly string[], b: readonly string[]): number {
  const dp = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      dp[i]![j] = a[i - 1] === b[j - 1] ? dp[i - 1]![j - 1]! + 1 : Math.max(dp[i - 1]![j]!, dp[i]![j - 1]!);
  return dp[a.length]![b.length]!;
}

describe('diffSequences (Myers)', () => {
  it('is a valid and shortest edit script (property, against an LCS table)', () => {
    const seq = fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 25 });
    fc.assert(
      fc.property(seq, seq, (a, b) => {
        const edits = diffSequences(a, b);
        const rebuilt = edits
          .filter((e) => e.op !== 'delete')
          .map((e) => (e.op === 'equal' ? a[e.a] : b[e.b]));
        expect(rebuilt).toEqual(b);
        expect(
          edits.filter((e) => e.op !== 'insert').map((e) => (e.op === 'equal' ? a[e.a] : a[e.a])),
        ).toEqual(a);
        for (const e of edits) if (e.op === 'equal') expect(a[e.a]).toBe(b[e.b]);
        expect(edits.filter((e) => e.op === 'equal').length).toBe(lcsLength(a, b));
      }),
      { numRuns: 300 },
    );
  });
});

describe('unifiedLines', () => {
  it.each([
    ['identical', ['a', 'b'], ['a', 'b'], []],
    ['one line changed', ['a', 'b', 'c'], ['a', 'B', 'c'], ['@@ -1,3 +1,3 @@', '  a', '- b', '+ B', '  c']],
    ['line added at the end', ['a'], ['a', 'b'], ['@@ -1,1 +1,2 @@', '  a', '+ b']],
    ['everything new', [], ['x'], ['@@ -0,0 +1,1 @@', '+ x']],
    [
      'far apart changes make two hunks',
      ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12'],
      ['one', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', 'twelve'],
      [
        '@@ -1,4 +1,4 @@',
        '- 1',
        '+ one',
        '  2',
        '  3',
        '  4',
        '@@ -9,4 +9,4 @@',
        '  9',
        '  10',
        '  11',
        '- 12',
        '+ twelve',
      ],
    ],
  ])('%s', (_name, a, b, expected) => {
    expect(unifiedLines(a, b)).toEqual(expected);
  });
});

describe('diffConfig', () => {
  it.each([
    ['no change', { t: 1 }, { t: 1 }, []],
    [
      'changed value',
      { temperature: 0.2 },
      { temperature: 0.7 },
      [{ path: 'temperature', kind: 'changed', before: '0.2', after: '0.7' }],
    ],
    ['added nested key', {}, { model: { name: 'x' } }, [{ path: 'model.name', kind: 'added', after: '"x"' }]],
    ['removed key', { stop: ['a'] }, {}, [{ path: 'stop', kind: 'removed', before: '["a"]' }]],
    ['null config', null, { a: true }, [{ path: 'a', kind: 'added', after: 'true' }]],
  ])('%s', (_name, a, b, expected) => {
    expect(diffConfig(a, b)).toEqual(expected);
  });
});

describe('chatDiffLines', () => {
  it.each([
    [
      'a changed system message',
      [
        { role: 'system', content: 'Be kind.' },
        { role: 'user', content: '{{q}}' },
      ],
      [
        { role: 'system', content: 'Be kind and brief.' },
        { role: 'user', content: '{{q}}' },
      ],
      ['Message 1 (system) changed:', '  @@ -1,1 +1,1 @@', '  - Be kind.', '  + Be kind and brief.'],
    ],
    [
      'a message inserted at the front does not mark the others as changed',
      [{ role: 'user', content: 'hi' }],
      [
        { role: 'system', content: 'rules' },
        { role: 'user', content: 'hi' },
      ],
      ['Message 1 (system) added:', '  + rules'],
    ],
    [
      'a removed placeholder',
      [
        { role: 'system', content: 's' },
        { type: 'placeholder', name: 'history' },
      ],
      [{ role: 'system', content: 's' }],
      ['Message 2 (placeholder {{history}}) removed:', '  - {{history}}'],
    ],
    [
      'role change',
      [{ role: 'user', content: 'x' }],
      [{ role: 'assistant', content: 'x' }],
      ['Message 1 (user → assistant) changed:', '  (role changed only)'],
    ],
  ])('%s', (_name, a, b, expected) => {
    expect(chatDiffLines(a as PromptChatMessage[], b as PromptChatMessage[])).toEqual(expected);
  });
});

describe('diffPrompts', () => {
  it('diffs text prompts with config and stats, and renders them', () => {
    const d = diffPrompts(
      { type: 'text', version: 3, prompt: 'You are helpful.\nBe brief.', config: { temperature: 0.2 } },
      {
        type: 'text',
        version: 4,
        prompt: 'You are helpful.\nBe very brief.\nCite sources.',
        config: { temperature: 0.1 },
      },
    );
    expect(d.stats).toEqual({ added: 2, removed: 1 });
    expect(d.fromVersion).toBe(3);
    expect(renderPromptDiff(d)).toBe(
      [
        '@@ -1,2 +1,3 @@',
        '  You are helpful.',
        '- Be brief.',
        '+ Be very brief.',
        '+ Cite sources.',
        '',
        'Config:',
        '  ~ temperature: 0.2 → 0.1',
      ].join('\n'),
    );
  });

  it('handles a first version and a text → chat type change', () => {
    expect(diffPrompts(undefined, { type: 'text', version: 1, prompt: 'a', config: {} }).stats).toEqual({
      added: 1,
      removed: 0,
    });
    const d = diffPrompts(
      { type: 'text', version: 1, prompt: 'a', config: {} },
      { type: 'chat', version: 2, prompt: [{ role: 'system', content: 'a' }], config: {} },
    );
    expect(d.typeChanged).toEqual({ from: 'text', to: 'chat' });
    expect(renderPromptDiff(d)).toContain('+ [system] a');
  });

  it('says so when only labels changed', () => {
    const p = { type: 'text' as const, version: 2, prompt: 'same', config: {} };
    expect(renderPromptDiff(diffPrompts({ ...p, version: 1 }, p))).toBe('Prompt text unchanged.');
  });

  it('copes with two large unrelated prompts without blowing up', () => {
    const a = Array.from({ length: 3000 }, (_, i) => `a${i}`).join('\n');
    const b = Array.from({ length: 3000 }, (_, i) => `b${i}`).join('\n');
    const d = diffPrompts(
      { type: 'text', version: 1, prompt: a, config: {} },
      { type: 'text', version: 2, prompt: b, config: {} },
    );
    expect(d.stats).toEqual({ added: 3000, removed: 3000 });
  });
});
