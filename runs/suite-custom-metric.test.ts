import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSuite } from './suite.ts';

const dir = mkdtempSync(join(tmpdir(), 'arbiter-suite-custom-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'polite.ts'), 'export default () => 1;');

const suite = (metric: string) =>
  `name: s\ndataset: rows.jsonl\ntarget: {type: recorded}\nmetrics:\n  - metric: ${metric}\n    args: {anything: 1}\nthreshold: 0.5\n`;

describe('suite: custom metric modules', () => {
  it('a module next to the suite loads, with its own arguments and its file name as the score name', () => {
    const r = parseSuite(suite('./polite.ts'), join(dir, 'suite.yaml'));
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    expect(r.suite.metrics[0]).toMatchObject({
      metric: './polite.ts',
      name: 'polite',
      args: { anything: 1 },
    });
  });

  it('a missing module is a load error naming the file, line and field', () => {
    const r = parseSuite(suite('./metrics/nope.ts'), join(dir, 'suite.yaml'));
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.problems[0]).toMatchObject({
        line: 5,
        message: `custom metric ./metrics/nope.ts: file not found (${join(dir, 'metrics', 'nope.ts')})`,
      });
  });
});

describe('suite: files named by metric arguments', () => {
  it('a json-schema schemaPath that does not exist is a load error naming the file', () => {
    const text =
      'name: s\ndataset: rows.jsonl\ntarget: {type: recorded}\nmetrics:\n  - metric: json-schema\n    args: {schemaPath: schemas/answer.json}\nthreshold: 0.5\n';
    const r = parseSuite(text, join(dir, 'suite.yaml'));
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.problems[0]?.message).toMatch(/schemaPath .*schemas\/answer\.json: cannot read it \(ENOENT\)/);
    writeFileSync(join(dir, 'answer.json'), '{"type": "object"}');
    expect(parseSuite(text.replace('schemas/answer.json', 'answer.json'), join(dir, 'suite.yaml')).ok).toBe(
      true,
    );
  });
});
