import { describe, expect, it } from 'vitest';
import { countWords, keywordPattern, parseJsonOutput } from './heuristics.ts';
import { createMetric } from './registry.ts';
import type { Item, Score } from './types.ts';

async function run(name: string, args: unknown, item: Partial<Item>): Promise<Score> {
  const built = createMetric(name, args);
  if (!built.ok) throw new Error(built.error);
  return built.metric.score({ input: 'q', output: '', ...item });
}

describe('contains / not-contains', () => {
  it.each([
    [{ value: 'Paris' }, 'The capital is paris.', 1],
    [{ value: 'Paris', caseSensitive: true }, 'The capital is paris.', 0],
    [{ value: ['Paris', 'France'] }, 'Paris is lovely', 0],
    [{ value: ['Paris', 'France'], mode: 'all' }, 'Paris, France', 1],
    [{ value: ['Paris', 'France'], mode: 'any' }, 'Paris is lovely', 1],
    [{ value: ['Rome', 'Berlin'], mode: 'any' }, 'Paris is lovely', 0],
    [{ value: '{"a":' }, 'json: {"b": 1}', 0],
    [{ value: '{"a":' }, 'json: {"a":1}', 1],
  ])('contains %j in %j → %d', async (args, output, value) => {
    const s = await run('contains', args, { output });
    expect(s.value).toBe(value);
    expect(s.label).toBe(value ? 'pass' : 'fail');
  });

  it('names the missing values', async () => {
    const s = await run('contains', { value: ['Paris', 'France'] }, { output: 'Paris' });
    expect(s.reason).toContain('"France"');
  });

  it.each([
    [{ value: 'as an AI' }, 'As an AI, I think…', 0],
    [{ value: ['sorry', 'apologize'] }, 'Here is the answer.', 1],
    [{ value: 'Sorry', caseSensitive: true }, 'sorry!', 1],
    [{ value: ['sorry', 'apologize'] }, 'Sorry, here it is.', 0],
    [{ value: ['sorry', 'apologize'], mode: 'all' }, 'Sorry, here it is.', 1],
    [{ value: ['sorry', 'apologize'], mode: 'all' }, 'Sorry, I apologize.', 0],
  ])('not-contains %j in %j → %d', async (args, output, value) => {
    expect((await run('not-contains', args, { output })).value).toBe(value);
  });

  it('looks at every assistant turn of a transcript, not the user turns', async () => {
    const output = [
      { role: 'user' as const, content: 'Where is Paris?' },
      { role: 'assistant' as const, content: 'In France.' },
    ];
    expect((await run('contains', { value: 'France' }, { output })).value).toBe(1);
    expect((await run('contains', { value: 'Where' }, { output })).value).toBe(0);
  });
});

describe('regex', () => {
  it.each([
    [{ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }, '2024-05-01', 1],
    [{ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }, 'on 2024-05-01', 0],
    [{ pattern: '^\\d{4}$', flags: 'm' }, 'year:\n2024\n', 1],
    [{ pattern: 'hello', flags: 'i' }, 'HELLO', 1],
    [{ pattern: 'password', expect: 'no-match' }, 'your password is x', 0],
    [{ pattern: 'password', expect: 'no-match' }, 'all good', 1],
  ])('%j on %j → %d', async (args, output, value) => {
    expect((await run('regex', args, { output })).value).toBe(value);
  });

  it('gives the same answer on every call (no lastIndex state)', async () => {
    const built = createMetric('regex', { pattern: 'a' });
    if (!built.ok) throw new Error(built.error);
    const values = await Promise.all([1, 2, 3].map(() => built.metric.score({ input: '', output: 'a' })));
    expect(values.map((s) => s.value)).toEqual([1, 1, 1]);
  });

  it.each([
    [{ pattern: '(' }, /metric 'regex': argument 'pattern': invalid regular expression/],
    [{ pattern: 'a', flags: 'g' }, /argument 'flags': expected regular-expression flags from i, m, s, u, v/],
    [{ pattern: '' }, /argument 'pattern': expected a non-empty string/],
  ])('rejects %j when the metric is built', (args, message) => {
    const built = createMetric('regex', args);
    expect(built.ok).toBe(false);
    if (!built.ok) expect(built.error).toMatch(message);
  });
});

describe('equals', () => {
  it.each([
    [{}, ' Paris\n', 'Paris', 1],
    [{}, 'paris', 'Paris', 0],
    [{ ignoreCase: true }, 'paris', 'Paris', 1],
    [{ normalizeWhitespace: false }, 'Paris ', 'Paris', 0],
    [{}, 'New   York', 'New York', 1],
    [{ value: '42' }, '42', 'ignored', 1],
  ])('%j: %j vs %j → %d', async (args, output, expected, value) => {
    expect((await run('equals', args, { output, expected })).value).toBe(value);
  });

  it('is an error score, not a throw, when nothing is expected', async () => {
    const s = await run('equals', {}, { output: 'x' });
    expect(s).toMatchObject({ value: 0, label: 'error' });
    expect(s.error).toMatch(/no expected answer/);
  });
});

describe('json-valid / json-schema', () => {
  it.each([
    ['{"a": 1}', true, true],
    ['[1, 2]', true, true],
    ['```json\n{"a": 1}\n```', true, true],
    ['```json\n{"a": 1}\n```', false, false],
    ['{"a": 1,}', true, false],
    ['', true, false],
    ['Sure! {"a": 1}', true, false],
  ])('parseJsonOutput(%j, fence=%s) → ok %s', (raw, fence, ok) => {
    expect(parseJsonOutput(raw, fence).ok).toBe(ok);
  });

  it.each([
    ['{"a": 1}', 1],
    ['not json', 0],
  ])('json-valid %j → %d', async (output, value) => {
    expect((await run('json-valid', {}, { output })).value).toBe(value);
  });

  const schema = {
    type: 'object',
    properties: {
      answer: { type: 'string', minLength: 1 },
      score: { type: 'integer', minimum: 1, maximum: 5 },
      tags: { type: 'array', items: { enum: ['a', 'b'] } },
      email: { type: 'string', format: 'email' },
    },
    required: ['answer', 'score'],
    additionalProperties: false,
  };

  it.each([
    ['{"answer": "x", "score": 3}', 1, undefined],
    ['{"answer": "x", "score": 3, "tags": ["a"]}', 1, undefined],
    ['{"answer": "x"}', 0, '$.score'],
    ['{"answer": "x", "score": 9}', 0, '$.score'],
    ['{"answer": "x", "score": 2.5}', 0, '$.score'],
    ['{"answer": "x", "score": 3, "tags": ["c"]}', 0, '$.tags[0]'],
    ['{"answer": "x", "score": 3, "extra": true}', 0, 'extra'],
    ['{"answer": "x", "score": 3, "email": "nope"}', 0, '$.email'],
    ['{answer: x}', 0, 'not valid JSON'],
  ])('json-schema %j → %d', async (output, value, mention) => {
    const s = await run('json-schema', { schema }, { output });
    expect(s.value).toBe(value);
    if (mention) expect(s.reason).toContain(mention);
  });

  it('follows $ref to $defs', async () => {
    const withRef = { $ref: '#/$defs/n', $defs: { n: { type: 'number' } } };
    expect((await run('json-schema', { schema: withRef }, { output: '3' })).value).toBe(1);
    expect((await run('json-schema', { schema: withRef }, { output: '"3"' })).value).toBe(0);
  });

  it('rejects an invalid schema when the metric is built', () => {
    const built = createMetric('json-schema', { schema: { type: 'nonsense' } });
    expect(built.ok).toBe(false);
    if (!built.ok)
      expect(built.error).toMatch(/metric 'json-schema': argument 'schema': invalid JSON Schema/);
  });
});

describe('length', () => {
  it.each([
    [{ max: 5 }, 'hello', 1],
    [{ max: 4 }, 'hello', 0],
    [{ min: 6 }, 'hello', 0],
    [{ min: 2, max: 3, unit: 'words' }, 'one two three', 1],
    [{ max: 2, unit: 'words' }, '  one\n two \tthree ', 0],
    [{ max: 1 }, '👍', 1],
    [{ min: 1, unit: 'words' }, '   ', 0],
  ])('%j on %j → %d', async (args, output, value) => {
    expect((await run('length', args, { output })).value).toBe(value);
  });

  it.each([
    [{}, /expected min, max or both/],
    [{ min: 5, max: 2 }, /argument 'max': expected max ≥ min/],
    [{ max: 1.5 }, /argument 'max'/],
    [{ max: 5, unit: 'lines' }, /argument 'unit'.*"chars"\|"words"/],
  ])('rejects %j', (args, message) => {
    const built = createMetric('length', args);
    expect(built.ok).toBe(false);
    if (!built.ok) expect(built.error).toMatch(message);
  });

  it.each([
    ['', 0],
    ['one', 1],
    [' a  b\nc ', 3],
  ])('countWords(%j) = %d', (s, n) => expect(countWords(s)).toBe(n));
});

describe('latency', () => {
  it.each([
    [1000, 1],
    [1500, 1],
    [1501, 0],
  ])('%d ms against 1500 → %d', async (latencyMs, value) => {
    expect((await run('latency', { maxDuration: '1500ms' }, { latencyMs })).value).toBe(value);
  });

  it('is an error score when the item has no latency', async () => {
    const s = await run('latency', { maxDuration: '1500ms' }, {});
    expect(s.error).toMatch(/no latencyMs/);
  });
});

describe('keyword-coverage', () => {
  it.each([
    [['refund', 'order number'], 'Your REFUND needs the order   number.', 1],
    [['refund', 'order number'], 'Refunds take a while.', 0],
    [['refund', 'order number', '30 days'], 'A refund within 30 days.', 2 / 3],
    [['cat'], 'concatenate the category', 0],
    [['cat'], 'the cat, sat', 1],
    [['C++', '.NET'], 'I know C++ and .NET well', 1],
    [['café'], 'un CAFÉ noir', 1],
  ])('%j in %j → %d', async (keywords, output, value) => {
    expect((await run('keyword-coverage', { keywords }, { output })).value).toBeCloseTo(value);
  });

  it('labels pass/fail at minCoverage and names the missing keywords', async () => {
    const s = await run(
      'keyword-coverage',
      { keywords: ['a1', 'b2'], minCoverage: 0.5 },
      { output: 'a1 only' },
    );
    expect(s).toMatchObject({ value: 0.5, label: 'pass' });
    expect(s.reason).toContain('"b2"');
  });

  it.each([
    ['a.b', 'a.b', true],
    ['a.b', 'axb', false],
    ['(x)', 'f(x) =', true],
    ['e-mail', 'send an e-mail', true],
    ['e-mail', 'send an email', false],
  ])('keywordPattern(%j) escapes regex syntax: %j → %s', (k, text, hit) => {
    expect(keywordPattern(k).test(text)).toBe(hit);
  });
});
