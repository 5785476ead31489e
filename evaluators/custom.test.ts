import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { customMetricName } from './custom.ts';
import { checkMetricEntry, createMetricFromSpec, toMetricSpec } from './entry.ts';
import { createMetric } from './registry.ts';
import type { Item, Score } from './types.ts';

const dir = mkdtempSync(join(tmpdir(), 'arbiter-custom-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const files: Record<string, string> = {
  'word-count.ts': `
    interface Args { max?: number }
    export default function wordCount(item: { output: string }, args: Args): { value: number; reason: string } {
      const n = item.output.trim().split(/\\s+/).length;
      return { value: n <= (args.max ?? 5) ? 1 : 0, reason: \`\${n} words\` };
    }`,
  'half.js': 'export default () => 0.5;',
  'async.mjs': 'export default async (item) => ({ value: item.expected === item.output ? 1 : 0 });',
  'throws.js': "export default () => { throw new Error('boom'); };",
  'no-default.js': 'export const score = () => 1;',
  'not-function.js': 'export default 42;',
  'too-big.js': 'export default () => 7;',
  'text.js': "export default () => 'great';",
  'nan.js': 'export default () => ({ value: Number.NaN });',
  'mutates.js': "export default (item) => { item.output = 'changed'; return 1; };",
  'syntax-error.js': 'export default () => {',
};
for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);

async function run(
  path: string,
  args: Record<string, unknown> = {},
  item: Partial<Item> = {},
): Promise<Score> {
  const built = createMetric(path, args, { baseDir: dir });
  if (!built.ok) throw new Error(built.error);
  return built.metric.score({ input: 'q', output: 'one two three', ...item });
}

describe('custom metric modules', () => {
  it.each([
    ['./word-count.ts', {}, {}, 1, '3 words'],
    ['./word-count.ts', { max: 2 }, {}, 0, '3 words'],
    ['./half.js', {}, {}, 0.5, 'custom metric ./half.js: 0.5'],
    ['./async.mjs', {}, { expected: 'one two three' }, 1, undefined],
  ])('%s with %j → %d', async (path, args, item, value, reason) => {
    const s = await run(path, args, item);
    expect(s.error).toBeUndefined();
    expect(s.value).toBe(value);
    if (reason) expect(s.reason).toBe(reason);
  });

  it.each([
    ['./throws.js', /custom metric \.\/throws\.js threw: boom/],
    [
      './no-default.js',
      /custom metric \.\/no-default\.js: the module has no default export function \(found none\)/,
    ],
    ['./not-function.js', /no default export function \(found number\)/],
    ['./too-big.js', /returned 7; expected a number from 0 to 1 or \{value, reason\}/],
    ['./text.js', /returned string; expected a number/],
    ['./nan.js', /returned \{value: null\}/],
    ['./syntax-error.js', /custom metric \.\/syntax-error\.js: cannot load .*syntax-error\.js/],
  ])('%s is an error on the item naming the file', async (path, message) => {
    const s = await run(path);
    expect(s.label).toBe('error');
    expect(s.error).toMatch(message);
    expect(s.metric).toBe(customMetricName(path));
  });

  it('gets a copy of the item: other metrics still see the original', async () => {
    const item: Item = { input: 'q', output: 'original' };
    const built = createMetric('./mutates.js', {}, { baseDir: dir });
    if (!built.ok) throw new Error(built.error);
    expect((await built.metric.score(item)).value).toBe(1);
    expect(item.output).toBe('original');
  });

  it('a missing file is an error when the metric is built and when the suite is checked, naming the file', () => {
    const built = createMetric('./nowhere.ts', {}, { baseDir: dir });
    expect(built.ok).toBe(false);
    if (!built.ok)
      expect(built.error).toBe(`custom metric ./nowhere.ts: file not found (${join(dir, 'nowhere.ts')})`);
    const issues = checkMetricEntry({ metric: './nowhere.ts' }, dir);
    expect(issues).toEqual([{ path: ['metric'], message: expect.stringContaining('file not found') }]);
    expect(checkMetricEntry({ metric: './half.js' }, dir)).toEqual([]);
  });

  it('writes scores under the file name unless the entry renames it', async () => {
    expect(customMetricName('./metrics/Word Count.ts')).toBe('word-count');
    const spec = toMetricSpec({ metric: './half.js' });
    expect(spec.name).toBe('half');
    const made = createMetricFromSpec({ ...spec, name: 'halfway' }, { baseDir: dir });
    if (!made.ok) throw new Error(made.error);
    expect((await made.graded.metric.score({ input: '', output: '' })).metric).toBe('halfway');
  });
});
