import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isArbiterError } from '../config/index.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { parsePersona } from './personas.ts';
import { loadSuite, parseSuite } from './suite.ts';

const GOOD = `name: demo
dataset: data.jsonl
target:
  type: recorded
metrics:
  - name: contains
    args: { value: Paris }
threshold: 0.8
`;

describe('suites', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  it('normalizes a good suite: paths relative to the file, threshold object', () => {
    const r = parseSuite(GOOD, '/x/suites/demo.yaml');
    expect(r.ok && r.suite).toMatchObject({
      name: 'demo',
      dataset: { kind: 'file', path: '/x/suites/data.jsonl' },
      threshold: { score: 0.8 },
      metrics: [{ name: 'contains', args: { value: 'Paris' } }],
    });
  });

  it.each([
    [
      'unknown metric',
      GOOD.replace('name: contains', 'name: containz'),
      6,
      'metrics[0].name',
      /unknown metric 'containz'/,
    ],
    [
      'bad metric argument',
      GOOD.replace('value: Paris', 'value: 3'),
      7,
      'metrics[0].args.value',
      /Invalid input/,
    ],
    [
      'unknown target',
      GOOD.replace('type: recorded', 'type: recordd'),
      4,
      'target.type',
      /unknown target type/,
    ],
    ['threshold out of range', GOOD.replace('threshold: 0.8', 'threshold: 8'), 8, 'threshold', /0 to 1/],
  ])('%s → file:line:field', (_name, text, line, field, message) => {
    const r = parseSuite(text, 'suites/demo.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems[0]).toMatchObject({ file: 'suites/demo.yaml', line, field });
    expect(r.problems[0]!.message).toMatch(message);
  });

  it('an http header naming an unset environment variable is a load error on that header', () => {
    const text = `name: h
dataset: d.csv
target:
  type: http
  url: http://127.0.0.1:1/chat
  headers:
    authorization: Bearer \${ENV:AGENT_TOKEN}
metrics: [{ name: length, args: { max: 10 } }]
threshold: 0.5
`;
    const bad = parseSuite(text, 's.yaml', {});
    expect(!bad.ok && bad.problems[0]).toMatchObject({
      line: 7,
      field: 'target.headers.authorization',
      message: 'environment variable AGENT_TOKEN is not set',
    });
    expect(parseSuite(text, 's.yaml', { AGENT_TOKEN: 'x' }).ok).toBe(true);
  });

  it('loadSuite throws YAML_INVALID (exit 2) and loads personas relative to the suite', () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    writeFileSync(
      join(dir, 'p.md'),
      '---\nname: pat\ngoal: get a refund\nturns: [hi]\n---\nLikes brevity.\n',
    );
    writeFileSync(join(dir, 's.yaml'), `${GOOD}conversation:\n  personas: [p.md]\n  maxTurns: 3\n`);
    const suite = loadSuite(join(dir, 's.yaml'));
    expect(suite.conversation).toMatchObject({
      maxTurns: 3,
      goalCheck: true,
      personas: [{ name: 'pat', description: 'Likes brevity.' }],
    });
    const err = (() => {
      try {
        loadSuite(join(dir, 'missing.yaml'));
      } catch (e) {
        return e;
      }
    })();
    expect(isArbiterError(err, 'YAML_INVALID')).toBe(true);
  });
});

describe('personas', () => {
  it('Markdown front matter errors point at the file line', () => {
    const r = parsePersona('---\nname: x\ngoal: y\ntraits: oops\n---\n', 'p.md');
    expect(!r.ok && r.problems.map((p) => [p.line, p.field])).toEqual([[4, 'traits']]);
  });

  it('YAML personas parse with defaults', () => {
    expect(parsePersona('name: a\ngoal: b\n', 'a.yaml')).toEqual({
      ok: true,
      value: { name: 'a', goal: 'b', traits: [] },
    });
  });
});
