import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../test/helpers/tmp.ts';
import { hashKey, loadDatasetFile, parseCsv, parseDataset, parseDatasetBytes } from './datasets.ts';

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

  it('a duplicate id is reported on the later row, naming the first; it is never renamed', () => {
    const text =
      '{"id":"a","input":"x"}\n{"id":"b","input":"y"}\n{"id":"a","input":"z"}\n{"id":"a","input":"w"}\n';
    const { items, errors } = parseDataset(text, 'jsonl');
    expect(items.map((i) => i.key)).toEqual(['id:a', 'id:b']);
    expect(errors).toEqual([
      { row: 3, reason: 'id "a" is already used by row 1: ids must be unique (this row was not run)' },
      { row: 4, reason: 'id "a" is already used by row 1: ids must be unique (this row was not run)' },
    ]);
    const csv = parseDataset('id,input\n7,x\n7,y\n', 'csv');
    expect(csv.items).toHaveLength(1);
    expect(csv.errors).toEqual([
      { row: 3, reason: expect.stringMatching(/^id "7" is already used by row 2/) },
    ]);
  });

  it('a field over the size limit fails its row, naming the field and the limit; the other rows run', () => {
    const big = 'x'.repeat(300 * 1024);
    const text = [
      JSON.stringify({ input: 'ok' }),
      JSON.stringify({ input: big }),
      JSON.stringify({ input: 'q', expected: 'é'.repeat(150 * 1024) }),
      JSON.stringify({ input: 'q2', metadata: { blob: big } }),
    ].join('\n');
    const { items, errors } = parseDataset(text, 'jsonl');
    expect(items.map((i) => i.row)).toEqual([1]);
    expect(errors.map((e) => [e.row, e.reason.split(',')[0]])).toEqual([
      [2, 'field `input` is 300 KB'],
      [3, 'field `expected` is 300 KB'],
      [4, 'field `metadata` is 300 KB'],
    ]);
    expect(errors[0]!.reason).toMatch(/over the 256 KB limit per field \(RECORD_FIELD_MAX_BYTES\)/);
    // Configurable: a higher limit runs them.
    expect(parseDataset(text, 'jsonl', { maxFieldBytes: 1024 * 1024 }).items).toHaveLength(4);
    // CSV cells too.
    const csv = parseDataset(`input,expected\nok,1\n${big},2\n`, 'csv');
    expect(csv.items).toHaveLength(1);
    expect(csv.errors).toEqual([{ row: 3, reason: expect.stringMatching(/^field `input` is 300 KB/) }]);
  });

  it('a 50 MB row is refused quickly, without being validated or hashed', () => {
    const started = performance.now();
    const { items, errors } = parseDataset(
      `${JSON.stringify({ input: 'y'.repeat(50 * 1024 * 1024) })}\n{"input":"n"}\n`,
      'jsonl',
    );
    expect(items.map((i) => i.input)).toEqual(['n']);
    expect(errors[0]).toMatchObject({ row: 1, reason: expect.stringMatching(/^field `input` is 50.0 MB/) });
    expect(performance.now() - started).toBeLessThan(20_000);
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
    expect(r.errors).toEqual([]);
    expect(r.records.map((x) => x.fields)).toEqual(expected);
  });

  it('reports an unterminated quote on the line it opens, and reads the lines after it', () => {
    expect(parseCsv('a\n"open\nb\n')).toEqual({
      records: [
        { line: 1, endLine: 1, fields: ['a'] },
        { line: 3, endLine: 3, fields: ['b'] },
      ],
      errors: [{ row: 2, reason: 'a quoted field is never closed: add the missing closing quote (")' }],
    });
  });
});

describe('CSV with broken rows (csv-parse): each is reported, the other rows run', () => {
  it('a stray quote, a quote inside an unquoted field and an unclosed quote, among good rows', () => {
    const text = [
      'id,input,expected',
      '1,"good",a',
      '2,"bad"x,b',
      '3,fine,c',
      '4,"multi',
      'line",d',
      '5,in"side,e',
      '6,"unclosed,f',
      '7,last,g',
      '',
    ].join('\n');
    const { items, errors } = parseDataset(text, 'csv');
    expect(items.map((i) => [i.row, i.input])).toEqual([
      [2, 'good'],
      [4, 'fine'],
      [5, 'multi\nline'],
      [9, 'last'],
    ]);
    expect(errors).toEqual([
      { row: 3, reason: expect.stringMatching(/^text follows the closing quote/) },
      { row: 7, reason: expect.stringMatching(/^a quote inside an unquoted field/) },
      { row: 8, reason: expect.stringMatching(/^a quoted field is never closed/) },
    ]);
  });

  it('a broken header is one fatal error naming it', () => {
    const { items, errors } = parseDataset('"id,input\n1,x\n', 'csv');
    expect(items).toEqual([]);
    expect(errors).toEqual([
      { row: 0, reason: expect.stringMatching(/^the CSV header \(row 1\) cannot be read/) },
    ]);
  });
});

describe('dataset files that are not UTF-8', () => {
  const bad = (s: string) =>
    Buffer.concat([Buffer.from(s.split('#')[0]!), Buffer.from([0xff, 0xfe]), Buffer.from(s.split('#')[1]!)]);

  it('JSONL: the row with the bad bytes is reported with the byte offset; the others run', () => {
    const bytes = Buffer.concat([
      Buffer.from('{"input":"a"}\n'),
      bad('{"input":"b#"}\n'),
      Buffer.from('{"input":"c"}\n'),
    ]);
    const { items, errors } = parseDatasetBytes(bytes, 'jsonl');
    expect(items.map((i) => i.input)).toEqual(['a', 'c']);
    // Line 2 starts at byte 14; the bad byte is its 12th.
    expect(errors).toEqual([
      {
        row: 2,
        reason: 'invalid UTF-8 at byte offset 25 of the file (byte 12 of line 2): save the file as UTF-8',
      },
    ]);
  });

  it('CSV: a record spanning lines fails when any of its lines holds bad bytes; a truncated sequence counts', () => {
    const bytes = Buffer.concat([
      Buffer.from('id,input\n1,"two\n'),
      bad('lines#"\n'),
      Buffer.from('2,ok\n3,'),
      Buffer.from([0xe2, 0x82]), // a 3-byte sequence cut short
      Buffer.from('\n'),
    ]);
    const { items, errors } = parseDatasetBytes(bytes, 'csv');
    expect(items.map((i) => i.input)).toEqual(['ok']);
    expect(errors.map((e) => [e.row, e.reason.match(/byte offset (\d+)/)?.[1]])).toEqual([
      [2, '21'], // on line 3, inside the record that starts on line 2
      [5, '32'],
    ]);
  });

  it('YAML: the file is not read, with the line and byte offset', () => {
    const { items, errors } = parseDatasetBytes(bad('- input: a#\n'), 'yaml');
    expect(items).toEqual([]);
    expect(errors).toEqual([
      { row: 0, reason: expect.stringMatching(/^line 1: invalid UTF-8 at byte offset 10 /) },
    ]);
  });

  it('valid multi-byte UTF-8 (accents, emoji) passes; loadDatasetFile reads bytes, not replaced text', () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = join(dir, 'd.jsonl');
      writeFileSync(file, Buffer.concat([Buffer.from('{"input":"café 😀"}\n'), bad('{"input":"x#"}\n')]));
      const { items, errors } = loadDatasetFile(file);
      expect(items.map((i) => i.input)).toEqual(['café 😀']);
      expect(errors).toHaveLength(1);
      expect(errors[0]!.row).toBe(2);
    } finally {
      cleanup();
    }
  });
});
