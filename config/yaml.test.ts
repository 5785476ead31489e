import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { tempDir } from '../test/helpers/tmp.ts';
import { isArbiterError } from './errors.ts';
import { loadYamlDir, loadYamlFile, parseYaml } from './yaml.ts';

const MonitorSchema = z.object({
  name: z.string().min(1),
  schedule: z
    .string()
    .regex(/^every: \d+m$|^[\d*/ ,-]+$/, { error: 'expected a cron expression or "every: 30m"' }),
  metrics: z.array(z.object({ name: z.string(), args: z.record(z.string(), z.unknown()).optional() })).min(1),
  sample: z.object({ rate: z.number().min(0).max(1) }).optional(),
});

describe('YAML loader', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  it('returns the typed value for a valid file', () => {
    const r = parseYaml(
      'name: checkout\nschedule: "*/5 * * * *"\nmetrics:\n  - name: pii\n',
      MonitorSchema,
      'm.yaml',
    );
    expect(r).toEqual({
      ok: true,
      value: { name: 'checkout', schedule: '*/5 * * * *', metrics: [{ name: 'pii' }] },
    });
  });

  it.each([
    ['name: a\nschedule: "* * * * *"\nmetrics:\n  - name: pii\n  - args: {}\n', 5, 'metrics[1].name'],
    ['name: a\nschedule: "* * * * *"\nmetrics:\n  - name: pii\nsample:\n  rate: 3\n', 6, 'sample.rate'],
    ['name: a\nschedule: sometimes\nmetrics: [{name: x}]\n', 2, 'schedule'],
    ['name: a\nschedule: "* * * * *"\n', 1, 'metrics'],
  ])('locates the problem in %j at line %i, field %s', (text, line, field) => {
    const r = parseYaml(text, MonitorSchema, 'examples/monitors/m.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems[0]).toMatchObject({ line, field });
  });

  it('reports YAML syntax errors with their line', () => {
    const r = parseYaml('name: a\nschedule: [unclosed\nmetrics: []\n', MonitorSchema, 'x.yaml');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems[0]?.field).toBe('(syntax)');
  });

  it('rejects duplicate keys', () => {
    const r = parseYaml(
      'name: a\nname: b\nschedule: "* * * * *"\nmetrics: [{name: x}]\n',
      MonitorSchema,
      'x.yaml',
    );
    expect(r.ok).toBe(false);
  });

  it('throws YAML_INVALID with file:line:column: field: message', () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'name: a\nschedule: "* * * * *"\nmetrics:\n  - name: 42\n');
    const err = (() => {
      try {
        loadYamlFile(file, MonitorSchema);
      } catch (e) {
        return e;
      }
    })();
    expect(isArbiterError(err, 'YAML_INVALID')).toBe(true);
    expect((err as Error).message).toMatch(/bad\.yaml:4:11: metrics\[0\]\.name: /);
  });

  it('loads a folder in name order and collects the problems of every file', () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    writeFileSync(join(dir, 'b.yaml'), 'name: b\nschedule: "* * * * *"\nmetrics: [{name: x}]\n');
    writeFileSync(join(dir, 'a.yml'), 'name: a\nschedule: "* * * * *"\nmetrics: [{name: x}]\n');
    writeFileSync(join(dir, 'notes.txt'), 'ignored');
    expect(loadYamlDir(dir, MonitorSchema).map((l) => l.value.name)).toEqual(['a', 'b']);
    writeFileSync(join(dir, 'c.yaml'), 'name: ""\nschedule: never\nmetrics: []\n');
    writeFileSync(join(dir, 'd.yaml'), 'name: d\n');
    try {
      loadYamlDir(dir, MonitorSchema);
      throw new Error('expected failure');
    } catch (err) {
      const msg = (err as Error).message;
      expect(msg).toMatch(/c\.yaml:1:\d+: name:/);
      expect(msg).toMatch(/c\.yaml:2:\d+: schedule: expected a cron expression/);
      expect(msg).toMatch(/d\.yaml:1:\d+: schedule:/);
    }
    expect(loadYamlDir(join(dir, 'missing'), MonitorSchema)).toEqual([]);
  });
});

describe('YAML loader messages a user can act on', () => {
  const Tagged = z.strictObject({
    name: z.string(),
    source: z.discriminatedUnion('type', [
      z.strictObject({ type: z.literal('file'), path: z.string(), idPath: z.string().default('id') }),
      z.strictObject({ type: z.literal('slack'), channel: z.string() }),
    ]),
    schedule: z.union([
      z.strictObject({ cron: z.string(), timezone: z.string().default('UTC') }),
      z.strictObject({ every: z.string() }),
    ]),
  });
  const problems = (text: string) => {
    const r = parseYaml(text, Tagged, 'm.yaml');
    return r.ok ? [] : r.problems.map((p) => `${p.line}:${p.column} ${p.field}: ${p.message}`);
  };

  it.each([
    [
      'an unknown key is placed at the key, with the closest key of the form its tag picks',
      'name: a\nsource:\n  type: file\n  path: x.jsonl\n  idpath: x\nschedule: {every: 1h}\n',
      ["5:3 source.idpath: unknown key (did you mean 'idPath'?); valid keys: type, path, idPath"],
    ],
    [
      'a top-level typo gets its suggestion',
      'name: a\nsorce: {type: file, path: x}\nsource: {type: file, path: x}\nschedule: {every: 1h}\n',
      ["2:1 sorce: unknown key (did you mean 'source'?); valid keys: name, source, schedule"],
    ],
    [
      'a value fitting no form of a union lists the forms',
      'name: a\nsource: {type: file, path: x}\nschedule: "0 * * * *"\n',
      ['3:11 schedule: expected a mapping {cron, timezone?}, or a mapping {every}'],
    ],
    [
      'a missing union field says it is missing, with the forms',
      'name: a\nsource: {type: file, path: x}\n',
      ['1:1 schedule: expected a mapping {cron, timezone?}, or a mapping {every} (field is missing)'],
    ],
  ])('%s', (_what, text, expected) => {
    expect(problems(text)).toEqual(expected);
  });
});
