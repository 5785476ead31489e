import { describe, expect, it } from 'vitest';
import { readToolCalls } from './tool-calls.ts';
import { createMetric } from './registry.ts';
import type { Item, Score, ToolCall } from './types.ts';

async function run(name: string, args: unknown, item: Partial<Item>): Promise<Score> {
  const built = createMetric(name, args);
  if (!built.ok) throw new Error(built.error);
  return built.metric.score({ input: 'q', output: '', ...item });
}

const c = (name: string, args: Record<string, unknown> = {}): ToolCall => ({ name, args });

describe('tool-correctness', () => {
  it.each([
    // [args, expected, made, F1]
    [{}, [c('search'), c('book')], [c('search'), c('book')], 1],
    [{}, [c('search'), c('book')], [c('book'), c('search')], 1],
    [{}, [c('search'), c('book')], [c('search')], 2 / 3],
    [{}, [c('search')], [c('search'), c('search'), c('cancel')], 0.5],
    [{}, [c('search')], [], 0],
    [{}, [], [], 1],
    [{}, [], [c('search')], 0],
    [{}, [c('search'), c('search')], [c('search')], 2 / 3],
    [{ matchArgs: true }, [c('search', { q: 'paris' })], [c('search', { q: 'paris' })], 1],
    [{ matchArgs: true }, [c('search', { q: 'paris' })], [c('search', { q: 'rome' })], 0],
    [{ matchArgs: true }, [c('search', { q: 'paris' })], [c('search', { q: 'paris', n: 5 })], 0],
    [{ matchArgs: 'subset' }, [c('search', { q: 'paris' })], [c('search', { q: 'paris', n: 5 })], 1],
    [{ matchArgs: true }, [c('f', { a: { b: [1, 2] } })], [c('f', { a: { b: [1, 2] } })], 1],
    [{ matchArgs: true }, [c('f', { n: 1 })], [c('f', { n: '1' })], 0],
    [{ matchArgs: false }, [c('search', { q: 'paris' })], [c('search', { q: 'rome' })], 1],
    // A greedy pass would give the first actual call to the first expected one and miss the second.
    [{ matchArgs: 'subset' }, [c('s', {}), c('s', { q: 'a' })], [c('s', { q: 'a' }), c('s', { q: 'b' })], 1],
  ])('%j expected %j, made %j → F1 %d', async (args, expectedToolCalls, toolCalls, f1) => {
    const s = await run('tool-correctness', args, { expectedToolCalls, toolCalls });
    expect(s.error).toBeUndefined();
    expect(s.value).toBeCloseTo(f1, 12);
  });

  it('names missing and unexpected calls', async () => {
    const s = await run(
      'tool-correctness',
      {},
      {
        expectedToolCalls: [c('search'), c('book')],
        toolCalls: [c('search'), c('cancel')],
      },
    );
    expect(s.reason).toContain('missing book');
    expect(s.reason).toContain('unexpected cancel');
  });

  it('takes the expected calls from its argument when given', async () => {
    const s = await run('tool-correctness', { expected: [{ name: 'search' }] }, { toolCalls: [c('search')] });
    expect(s.value).toBe(1);
  });

  it.each([
    [{ toolCalls: [c('x')] }, '`expectedToolCalls`'],
    [{ expectedToolCalls: [c('x')] }, '`toolCalls`'],
  ])('an item %j is an input error naming %s, never a score', async (item, field) => {
    const s = await run('tool-correctness', {}, item);
    expect(s.error).toContain(field);
    expect(s.errorCause).toBe('input');
    expect(s.label).toBe('error');
  });
});

describe('trajectory', () => {
  const t = (...names: string[]) => names.map((n) => c(n));
  it.each([
    // [args, expected, made, pass]
    [{ order: 'strict' }, t('a', 'b', 'c'), t('a', 'b', 'c'), 1],
    [{ order: 'strict' }, t('a', 'b', 'c'), t('a', 'x', 'b', 'c'), 0],
    [{ order: 'strict' }, t('a', 'b'), t('b', 'a'), 0],
    [{ order: 'in-order' }, t('a', 'b', 'c'), t('a', 'x', 'b', 'c'), 1],
    [{ order: 'in-order' }, t('a', 'b', 'c'), t('b', 'a', 'c'), 0],
    [{}, t('a', 'c'), t('a', 'b', 'c'), 1],
    [{ order: 'any-order' }, t('a', 'b', 'c'), t('c', 'a', 'b'), 1],
    [{ order: 'any-order' }, t('a', 'a'), t('a'), 0],
    [{ order: 'any-order' }, t('a', 'b'), t('a', 'x'), 0],
    [{ forbidden: ['delete'] }, undefined, t('search', 'delete'), 0],
    [{ forbidden: ['delete'] }, undefined, t('search'), 1],
    [{ maxSteps: 2 }, undefined, t('a', 'b'), 1],
    [{ maxSteps: 2 }, undefined, t('a', 'b', 'c'), 0],
    [{ order: 'in-order', forbidden: ['x'], maxSteps: 5 }, t('a', 'b'), t('a', 'x', 'b'), 0],
    [{ forbidden: ['x'] }, t('a', 'b'), t('b', 'a'), 0],
  ])('%j expected %j made %j → %d', async (args, expected, made, pass) => {
    const s = await run('trajectory', args, {
      toolCalls: made,
      ...(expected ? { expectedToolCalls: expected } : {}),
    });
    expect(s.error).toBeUndefined();
    expect(s.value).toBe(pass);
  });

  it('says every failed check', async () => {
    const s = await run(
      'trajectory',
      { forbidden: ['delete'], maxSteps: 1 },
      { toolCalls: t('search', 'delete') },
    );
    expect(s.reason).toContain('called forbidden delete');
    expect(s.reason).toContain('2 calls, over maxSteps 1');
  });

  it.each([
    [{}, { toolCalls: t('a') }, '`expectedToolCalls`'],
    [{ order: 'strict', forbidden: ['x'] }, { toolCalls: t('a') }, '`expectedToolCalls`'],
    [{ forbidden: ['x'] }, {}, '`toolCalls`'],
  ])('%j on %j is an input error naming %s', async (args, item, field) => {
    const s = await run('trajectory', args, item);
    expect(s.error).toContain(field);
    expect(s.errorCause).toBe('input');
  });
});

describe('readToolCalls (the shapes agents and traces write)', () => {
  it.each([
    [[{ name: 'a', args: { x: 1 } }], [c('a', { x: 1 })]],
    [[{ name: 'a' }], [c('a')]],
    [[{ name: 'a', arguments: '{"x":1}' }], [c('a', { x: 1 })]],
    [[{ name: 'a', arguments: { x: 1 } }], [c('a', { x: 1 })]],
    [[{ type: 'tool_use', id: 't1', name: 'a', input: { x: 1 } }], [c('a', { x: 1 })]],
    [[{ id: 'call_1', type: 'function', function: { name: 'a', arguments: '{"x":1}' } }], [c('a', { x: 1 })]],
    [{ name: 'a', args: {} }, [c('a')]],
  ])('%j → %j', (raw, calls) => {
    expect(readToolCalls(raw)).toEqual({ ok: true, calls });
  });

  it.each([
    ['nope', /expected a list of tool calls/],
    [[{ args: {} }], /tool call 1 has no `name`/],
    [
      [{ name: 'a', arguments: '{oops' }],
      /tool call 1 \(a\): arguments are a text that is not a JSON object/,
    ],
    [[{ name: 'a', args: [1] }], /tool call 1 \(a\): arguments are not an object/],
  ])('%j is an error %s', (raw, message) => {
    const r = readToolCalls(raw);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(message);
  });
});
