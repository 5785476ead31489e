import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createMetric } from './registry.ts';
import { findJson } from './structure.ts';
import type { Item, MetricDeps, Score } from './types.ts';

async function run(name: string, args: unknown, item: Partial<Item>, deps: MetricDeps = {}): Promise<Score> {
  const built = createMetric(name, args, deps);
  if (!built.ok) throw new Error(built.error);
  return built.metric.score({ input: 'q', output: '', ...item });
}

const dir = mkdtempSync(join(tmpdir(), 'arbiter-structure-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('json-schema (Ajv)', () => {
  const schema = {
    type: 'object',
    properties: { city: { type: 'string' }, days: { type: 'integer', minimum: 1 } },
    required: ['city'],
    additionalProperties: false,
  };

  it('reads a schema file relative to the suite folder (baseDir)', async () => {
    writeFileSync(join(dir, 'answer.schema.json'), JSON.stringify(schema));
    const deps = { baseDir: dir };
    expect(
      (await run('json-schema', { schemaPath: 'answer.schema.json' }, { output: '{"city":"Paris"}' }, deps))
        .value,
    ).toBe(1);
    const bad = await run(
      'json-schema',
      { schemaPath: './answer.schema.json' },
      { output: '{"days":0}' },
      deps,
    );
    expect(bad.value).toBe(0);
    expect(bad.reason).toContain('$.city: is required');
  });

  it.each([
    [{ schemaPath: 'missing.json' }, /schemaPath .*missing\.json: cannot read it \(ENOENT\)/],
    [{}, /give either `schema` or `schemaPath`/],
    [{ schema, schemaPath: 'x.json' }, /give either `schema` or `schemaPath`/],
    [{ schema, tool: 'x' }, /`tool` needs `of: tool-args`/],
  ])('rejects %j when built', (args, message) => {
    const built = createMetric('json-schema', args, { baseDir: dir });
    expect(built.ok).toBe(false);
    if (!built.ok) expect(built.error).toMatch(message);
  });

  it('a schema file that is not JSON is an error naming the file', () => {
    writeFileSync(join(dir, 'broken.json'), '{ not json');
    const built = createMetric('json-schema', { schemaPath: 'broken.json' }, { baseDir: dir });
    expect(built.ok).toBe(false);
    if (!built.ok) expect(built.error).toMatch(/broken\.json: not valid JSON/);
  });

  it('checks formats (ajv-formats) and draft-07 schemas', async () => {
    const email = { type: 'string', format: 'email' };
    expect((await run('json-schema', { schema: email }, { output: '"a@b.co"' })).value).toBe(1);
    expect((await run('json-schema', { schema: email }, { output: '"nope"' })).value).toBe(0);
    const d7 = {
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'array',
      items: [{ type: 'string' }],
    };
    expect((await run('json-schema', { schema: d7 }, { output: '["x"]' })).value).toBe(1);
    expect((await run('json-schema', { schema: d7 }, { output: '[1]' })).value).toBe(0);
  });

  const calls = (...c: [string, Record<string, unknown>][]) => c.map(([name, args]) => ({ name, args }));
  it.each([
    [{}, calls(['get_weather', { city: 'Paris' }]), 1],
    [{}, calls(['get_weather', { city: 'Paris' }], ['get_weather', { city: 3 }]), 0],
    [{ tool: 'get_weather' }, calls(['search', { q: 1 }], ['get_weather', { city: 'Rome' }]), 1],
    [{ tool: 'get_weather' }, calls(['search', { q: 1 }]), 0],
    [{}, [], 0],
  ])('of: tool-args %j on %j → %d', async (extra, toolCalls, value) => {
    const s = await run('json-schema', { schema, of: 'tool-args', ...extra }, { toolCalls });
    expect(s.error).toBeUndefined();
    expect(s.value).toBe(value);
  });

  it('of: tool-args on an item without toolCalls is an input error naming the field', async () => {
    const s = await run('json-schema', { schema, of: 'tool-args' }, { output: '{}' });
    expect(s.errorCause).toBe('input');
    expect(s.error).toContain('`toolCalls`');
  });
});

describe('contains-json', () => {
  it.each([
    ['Here you go: {"a": 1} hope it helps', true],
    ['[1, 2, 3]', true],
    ['text { not json } then {"b": "}"}', true],
    ['no json at all', false],
    ['{"unterminated": 1', false],
    ['', false],
  ])('findJson(%j) found: %s', (text, found) => {
    expect(findJson(text) !== undefined).toBe(found);
  });

  it('finds the JSON after a brace in prose and reads braces inside strings', () => {
    expect(findJson('text { not json } then {"b": "}"}')?.value).toEqual({ b: '}' });
  });

  it.each([
    [{}, 'Answer: {"answer": "Paris"}', 1],
    [{}, 'Answer: Paris', 0],
    [{ schema: { type: 'object', required: ['answer'] } }, 'x {"answer": 1} y', 1],
    [{ schema: { type: 'object', required: ['answer'] } }, 'x {"other": 1} y', 0],
  ])('%j on %j → %d', async (args, output, value) => {
    expect((await run('contains-json', args, { output })).value).toBe(value);
  });
});

describe('starts-with', () => {
  it.each([
    [{ value: 'Yes' }, 'Yes, it is.', 1],
    [{ value: 'Yes' }, '  Yes, it is.', 1],
    [{ value: 'Yes', trim: false }, '  Yes, it is.', 0],
    [{ value: 'Yes' }, 'yes, it is.', 0],
    [{ value: 'Yes', caseSensitive: false }, 'yes, it is.', 1],
    [{ value: ['Yes', 'No'] }, 'No.', 1],
    [{ value: ['Yes', 'No'] }, 'Maybe.', 0],
  ])('%j on %j → %d', async (args, output, value) => {
    expect((await run('starts-with', args, { output })).value).toBe(value);
  });
});

describe('is-sql', () => {
  it.each([
    [{}, 'SELECT id, name FROM users WHERE age > 30 ORDER BY name', 1],
    [{}, '```sql\nSELECT 1;\n```', 1],
    [{}, 'SELEC id FROM users', 0],
    [{}, 'Sure! Here is the query: SELECT 1', 0],
    [{}, '', 0],
    [{ dialect: 'mysql' }, 'SELECT `id` FROM `users` LIMIT 5', 1],
    [{ dialect: 'sqlite' }, "INSERT INTO t (a) VALUES ('x')", 1],
    [{ dialect: 'transactsql' }, 'SELECT TOP 5 id FROM users', 1],
  ])('%j on %j → %d', async (args, output, value) => {
    const s = await run('is-sql', args, { output });
    expect(s.value).toBe(value);
  });

  it('names the dialect and the parser error on failure', async () => {
    const s = await run('is-sql', { dialect: 'postgresql' }, { output: 'SELECT FROM WHERE' });
    expect(s.reason).toMatch(/^output is not valid postgresql SQL: /);
  });

  it('rejects an unknown dialect when built', () => {
    const built = createMetric('is-sql', { dialect: 'oracle9' });
    expect(built.ok).toBe(false);
  });
});

describe('is-xml', () => {
  it.each([
    [{}, '<note><to>Tove</to></note>', 1],
    [{}, '<?xml version="1.0"?>\n<note a="1"/>', 1],
    [{}, '```xml\n<a><b/></a>\n```', 1],
    [{}, '<a><b></a>', 0],
    [{}, 'plain text', 0],
    [{}, '<a>unclosed', 0],
    [{ root: 'invoice' }, '<?xml version="1.0"?><!-- c --><invoice><n>1</n></invoice>', 1],
    [{ root: 'invoice' }, '<receipt/>', 0],
  ])('%j on %j → %d', async (args, output, value) => {
    expect((await run('is-xml', args, { output })).value).toBe(value);
  });

  it('says where the XML breaks', async () => {
    const s = await run('is-xml', {}, { output: '<a><b></a>' });
    expect(s.reason).toMatch(/line 1, column \d+/);
  });
});
