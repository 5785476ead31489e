import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseEnv } from '../config/index.ts';
import { runsCli } from '../test/helpers/runs-cli.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { progressBar, renderComparison, renderRunSummary } from './run-messages.ts';
import { progressLine } from './runs-cli.ts';

const QUICKSTART = 'examples/suites/quickstart.yaml';

function cli(dataDir: string, extraEnv: Record<string, string> = {}, isTTY = false) {
  return runsCli({ env: parseEnv({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...extraEnv }) }, { isTTY });
}

describe('arbiter run / runs', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });
  const dataDir = () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    return t.dir;
  };

  it('the quickstart passes on a fresh machine (exit 0), with JUnit XML and plain progress lines', async () => {
    const c = cli(dataDir());
    expect(await c.run([QUICKSTART, '--junit', 'out.xml'])).toBe(0);
    expect(c.out).toMatch(/PASSED: mean score 0\.854 ≥ threshold 0\.7, pass rate 0\.833 ≥ threshold 0\.6/);
    expect(c.out).toMatch(/correctness .* heuristic/);
    expect(c.err).toMatch(/^Run run_\w+ of quickstart: 6 items\./);
    expect(c.err).toMatch(/progress 6\/6 errors=0 mean=0\.\d{3}/);
    expect(c.files['out.xml']).toMatch(/<testsuite name="quickstart" tests="6" failures="1" errors="0"/);
  });

  it('below the threshold is exit 1 (--fail-under overrides the suite); --json prints the run', async () => {
    const c = cli(dataDir(), {}, true);
    expect(await c.run([QUICKSTART, '--fail-under', '0.99', '--json', '--limit', '3'])).toBe(1);
    const report = JSON.parse(c.out) as {
      exitCode: number;
      total: number;
      summary: { gate: { kind: string; passed: boolean } };
    };
    expect(report).toMatchObject({
      exitCode: 1,
      total: 3,
      summary: { gate: { kind: 'mean-score', passed: false } },
    });
    expect(c.err).toContain('\r[');
  });

  it.each([
    [['run'], /needs a suite file/],
    [['nope.yaml'], /cannot read suite/],
    [[QUICKSTART, '--concurrency', '0'], /--concurrency expects a whole number/],
    [[QUICKSTART, '--fail-under', '2'], /--fail-under expects a number from 0 to 1/],
    [[QUICKSTART, '--bogus'], /Unknown option/],
  ])('usage and configuration errors are exit 2: %j', async (argv, message) => {
    const c = cli(dataDir());
    expect(await c.run(argv.filter((a) => a !== 'run'))).toBe(2);
    expect(c.err).toMatch(message);
  });

  it('a suite with a bad field is exit 2 naming file, line and field', async () => {
    const dir = dataDir();
    writeFileSync(
      join(dir, 's.yaml'),
      'name: s\ndataset: d.jsonl\ntarget: { type: recorded }\nmetrics: [{ name: lenght }]\nthreshold: 0.5\n',
    );
    const c = cli(dir);
    expect(await c.run([join(dir, 's.yaml')])).toBe(2);
    expect(c.err).toMatch(/s\.yaml:4:\d+: metrics\[0\]\.name: unknown metric 'lenght'/);
  });

  it('a dataset with no usable rows is exit 2 with the rows and reasons', async () => {
    const dir = dataDir();
    writeFileSync(join(dir, 'd.jsonl'), '{"input": 1}\nnot json\n');
    writeFileSync(
      join(dir, 's.yaml'),
      'name: s\ndataset: d.jsonl\ntarget: { type: recorded }\nmetrics: [{ name: pii }]\nthreshold: 0.5\n',
    );
    const c = cli(dir);
    expect(await c.run([join(dir, 's.yaml')])).toBe(2);
    expect(c.err).toMatch(/no usable rows[\s\S]*row 1: input[\s\S]*row 2: not valid JSON/);
  });

  it('an unreachable store is an infrastructure failure (exit 3)', async () => {
    const c = cli(dataDir(), { MONGODB_URI: 'mongodb://127.0.0.1:1/', MONGODB_CONNECT_TIMEOUT: '200ms' });
    expect(await c.run([QUICKSTART])).toBe(3);
    expect(c.err).not.toMatch(/at .*\.ts:\d+/);
  });

  it('runs list, show, compare and cancel', async () => {
    const dir = dataDir();
    const c = cli(dir);
    expect(await c.run([QUICKSTART, '--json'])).toBe(0);
    const a = (JSON.parse(c.out) as { _id: string })._id;
    c.reset();
    expect(await c.run([QUICKSTART, '--json', '--new'])).toBe(0);
    const b = (JSON.parse(c.out) as { _id: string })._id;
    expect(b).not.toBe(a);

    c.reset();
    expect(await c.runs(['list'])).toBe(0);
    expect(c.out.split('\n')[0]).toMatch(new RegExp(`^${b}\\s+completed\\s+quickstart`));

    c.reset();
    expect(await c.runs(['show', a, '--json'])).toBe(0);
    const shown = JSON.parse(c.out) as { run: { _id: string }; items: { key: string; scores: unknown[] }[] };
    expect(shown.run._id).toBe(a);
    expect(shown.items).toHaveLength(6);
    expect(shown.items[0]!.key).toBe('id:capital-fr');

    c.reset();
    expect(await c.runs(['compare', a, b])).toBe(0);
    expect(c.out).toMatch(/No significant change: mean item score \+0\.000 over 6 paired items/);
    c.reset();
    expect(await c.runs(['compare', a, b, '--json'])).toBe(0);
    expect(JSON.parse(c.out)).toMatchObject({ paired: 6, sameSuite: true });

    c.reset();
    expect(await c.runs(['cancel', a])).toBe(0);
    expect(c.out).toMatch(/already ended \(completed\)/);
    c.reset();
    expect(await c.runs(['show', 'run_missing'])).toBe(2);
    expect(c.err).toMatch(/No run with id run_missing/);
    c.reset();
    expect(await c.runs(['frob'])).toBe(2);
  });
});

describe('rendering', () => {
  it('progress bar and line', () => {
    const p = { done: 5, total: 10, errors: 1, meanScore: 0.5 };
    expect(progressBar(p, 10)).toBe('[#####.....] 5/10  errors 1  mean 0.500');
    expect(progressLine({ ...p, meanScore: null })).toBe('progress 5/10 errors=1 mean=-');
  });

  it('a run summary Message names the verdict and puts failing items in the thread', () => {
    const msg = renderRunSummary({
      _id: 'run_1',
      suiteName: 's',
      suiteFile: 'f',
      suiteHash: 'h',
      suiteJson: '{}',
      status: 'running',
      options: { concurrency: 1 },
      total: 4,
      datasetErrors: [{ row: 3, reason: 'bad' }],
      datasetSource: 'd',
      progress: { done: 2, total: 4, errors: 0, meanScore: 0.5 },
      createdAt: new Date(0),
      updatedAt: new Date(0),
    });
    expect(msg.title).toBe('Evaluation run: s');
    expect(msg.sections[0]).toEqual({ kind: 'text', text: 'running (2/4 items)' });
    expect(JSON.stringify(msg)).toContain('row 3: bad');
    const cmp = renderComparison({
      a: { id: 'A', suiteName: 's', meanScore: 0.5, createdAt: new Date(0) },
      b: { id: 'B', suiteName: 's', meanScore: 0.7, createdAt: new Date(0) },
      sameSuite: true,
      paired: 0,
      onlyInA: 0,
      onlyInB: 0,
      metrics: [],
      regressions: [],
      improvements: [],
    });
    expect(cmp.summary).toBe('No paired items to compare.');
  });
});
