import { describe, expect, it } from 'vitest';
import { hashKey, parseCsv, parseDataset } from './datasets.ts';

describe('parseDataset', () => {
  it('JSONL: a bad row is reported with its line and reason, the others are kept', () => {
    const text = [
      '{"input": "a", "expected": "A"}',
      '{"input": "b", ',
      '',
      '{"expected": "no input"}',
      '{"input": "c", "colour": "red"}',
      '{"id": 7, "input": "d", "metadata": {"x.y": 1}}',
    ].join('\n');
    const { items, errors } = parseDataset(text, 'jsonl');
    expect(items.map((i) => [i.row, i.input])).toEqual([
      [1, 'a'],
      [6, 'd'],
    ]);
    expect(items[1]!.key).toBe('id:7');
    expect(errors.map((e) => e.row)).toEqual([2, 4, 5]);
    expect(errors[0]!.reason).toMatch(/not valid JSON/);
    expect(errors[1]!.reason).toMatch(/input/);
    expect(errors[2]!.reason).toMatch(/colour/);
  });

  it('CSV: quoted commas, quotes and newlines; unknown columns become metadata; bad rows report their line', () => {
    const text =
      'id,input,expected,product\n1,"Hello, ""world""",hi,store\n2,"multi\nline",x,y\n3,too,many,cols,here\n';
    const { items, errors } = parseDataset(text, 'csv');
    expect(items).toHaveLength(2);
    expect(items[0]).toMatchObject({
      key: 'id:1',
      row: 2,
      input: 'Hello, "world"',
      expected: 'hi',
      metadata: { product: 'store' },
    });
    expect(items[1]).toMatchObject({ row: 3, input: 'multi\nline' });
    expect(errors).toEqual([{ row: 5, reason: 'expected 4 columns, found 5' }]);
  });

  it('CSV without an input column is one fatal error', () => {
    expect(parseDataset('question,answer\nq,a\n', 'csv').errors[0]!.reason).toMatch(/no `input` column/);
  });

  it('YAML: a list (or items:) of rows; transcripts as outputs', () => {
    const text =
      '- input: q1\n  output:\n    - {role: user, content: hi}\n    - {role: assistant, content: hello}\n- input: 3\n';
    const { items, errors } = parseDataset(text, 'yaml');
    expect(items).toHaveLength(1);
    expect(Array.isArray(items[0]!.output)).toBe(true);
    expect(errors).toEqual([{ row: 2, reason: expect.stringMatching(/input/) }]);
    expect(parseDataset('items:\n  - input: x\n', 'yaml').items).toHaveLength(1);
    expect(parseDataset('input: x\n', 'yaml').errors[0]!.reason).toMatch(/expected a YAML list/);
  });

  it('keys are stable input hashes; duplicates get a suffix so both are stored', () => {
    const { items } = parseDataset('{"input":"same"}\n{"input":"same"}\n{"input":"other"}\n', 'jsonl');
    expect(items.map((i) => i.key)).toEqual([hashKey('same'), `${hashKey('same')}#2`, hashKey('other')]);
    expect(hashKey('same')).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('parseCsv', () => {
  it.each([
    [
      'a,b\n1,2',
      [
        ['a', 'b'],
        ['1', '2'],
      ],
    ],
    [
      'a,b\r\n1,2\r\n',
      [
        ['a', 'b'],
        ['1', '2'],
      ],
    ],
    ['"x,y",""""\n', [['x,y', '"']]],
    ['a,,c', [['a', '', 'c']]],
  ])('%j', (text, expected) => {
    const r = parseCsv(text);
    expect(r.ok && r.records.map((x) => x.fields)).toEqual(expected);
  });

  it('reports an unterminated quote', () => {
    expect(parseCsv('a\n"open\n')).toEqual({
      ok: false,
      error: 'unterminated quoted field starting on line 2',
    });
  });
});
