// The one YAML vocabulary (issue 17): each old form loads to the same value as its new form, with a warning that
// names the file, line and column and the form to write; cross-references are checked at load with file:line:column
// and a did-you-mean; one schedule type, one duration type, one path grammar.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startBot } from '../bot/start.ts';
import {
  durationMs,
  durationSchema,
  formatDuration,
  latestScheduledTime,
  parseEnv,
  parseFieldPath,
  readPath,
  ScheduleSchema,
} from '../config/index.ts';
import { loadDigests } from '../digests/schema.ts';
import { runMonitorCli } from '../monitors/cli.ts';
import { buildMetrics } from '../monitors/tick-phases.ts';
import { loadMonitors, type Monitor } from '../monitors/schema.ts';
import { loadSuite, type Suite } from '../runs/suite.ts';
import { withCliServices } from './helpers/cli-services.ts';
import { tempDir } from './helpers/tmp.ts';

let cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

function folder(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

/** Loads a suite written in a folder of its own, with a dataset beside it. */
function suite(text: string): Suite {
  const dir = folder();
  writeFileSync(join(dir, 'd.jsonl'), '{"input":"hi","output":"hello"}\n');
  const file = join(dir, 's.yaml');
  writeFileSync(file, text);
  return loadSuite(file, { AGENT_TOKEN: 'x' });
}

const SUITE_HEAD = 'name: s\ndataset: d.jsonl\nthreshold: 0.5\n';

/** Loads one monitor written as `m.yaml` in a folder of its own (a records file beside it). */
function monitor(text: string, dir = folder()): { monitor: Monitor; warnings: string[]; file: string } {
  writeFileSync(join(dir, 'records.jsonl'), '{"id":"1","q":"a","a":"b"}\n');
  writeFileSync(join(dir, 'm.yaml'), text);
  const [loaded] = loadMonitors(dir);
  if (!loaded) throw new Error('no monitor loaded');
  const { warnings: _w, ...value } = loaded.value;
  return { monitor: value, warnings: loaded.warnings, file: loaded.file };
}

const MONITOR_HEAD =
  'name: m\nsource: { type: file, path: records.jsonl }\nextract: { input: q, output: a }\n';

/** The message of the YAML_INVALID error a load throws. */
function loadError(load: () => unknown): string {
  try {
    load();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected the load to fail');
}

/** `file:line:column: ` as the loader prints it (relative to the working directory when under it). */
function at(file: string, line: number, column: number): string {
  const rel = relative(process.cwd(), file);
  return `${rel && !rel.startsWith('..') ? rel : file}:${line}:${column}: `;
}

describe('old forms load as their new form, with a warning naming file:line:column and the new form', () => {
  it.each([
    {
      what: 'suite metric entry `- name:`',
      old: `${SUITE_HEAD}target: { type: recorded }\nmetrics:\n  - name: contains\n    args: { value: x }\n`,
      now: `${SUITE_HEAD}target: { type: recorded }\nmetrics:\n  - metric: contains\n    args: { value: x }\n`,
      warning:
        /s\.yaml:6:5: metrics\[0\]: `- name: contains` is the old form.*write `- metric: contains, args: \{"value":"x"\}`/,
    },
    {
      what: 'http target `timeoutMs`',
      old: `${SUITE_HEAD}target: { type: http, url: "http://127.0.0.1:1/x", timeoutMs: 15000 }\nmetrics: [{ metric: pii }]\n`,
      now: `${SUITE_HEAD}target: { type: http, url: "http://127.0.0.1:1/x", timeout: 15s }\nmetrics: [{ metric: pii }]\n`,
      warning: /s\.yaml:4:52: target\.timeoutMs: `timeoutMs: 15000` is the old form.*write `timeout: 15s`/,
    },
    {
      what: 'model target `timeoutMs`',
      old: `${SUITE_HEAD}target: { type: model, model: "offline:heuristic", timeoutMs: 1500 }\nmetrics: [{ metric: pii }]\n`,
      now: `${SUITE_HEAD}target: { type: model, model: "offline:heuristic", timeout: 1500ms }\nmetrics: [{ metric: pii }]\n`,
      warning: /target\.timeoutMs: `timeoutMs: 1500` is the old form.*write `timeout: 1500ms`/,
    },
    {
      what: 'latency `maxMs`',
      old: `${SUITE_HEAD}target: { type: recorded }\nmetrics:\n  - metric: latency\n    args: { maxMs: 5000 }\n`,
      now: `${SUITE_HEAD}target: { type: recorded }\nmetrics:\n  - metric: latency\n    args: { maxDuration: 5s }\n`,
      warning:
        /s\.yaml:7:13: metrics\[0\]\.args\.maxMs: `maxMs: 5000` is the old form.*write `maxDuration: 5s`/,
    },
  ])('$what', ({ old, now, warning }) => {
    const before = suite(old);
    const after = suite(now);
    expect(before.warnings).toHaveLength(1);
    expect(before.warnings?.[0]).toMatch(warning);
    expect(after.warnings).toBeUndefined();
    const strip = (s: Suite) => ({ ...s, file: '', dataset: '', warnings: undefined });
    expect(strip(before)).toEqual(strip(after));
  });

  it.each([
    {
      what: 'a bare cron string as `schedule` (read in UTC)',
      old: `${MONITOR_HEAD}schedule: "*/5 * * * *"\nmetrics: [{ metric: pii }]\n`,
      now: `${MONITOR_HEAD}schedule: { cron: "*/5 * * * *", timezone: UTC }\nmetrics: [{ metric: pii }]\n`,
      warning:
        /m\.yaml:4:1: schedule: `schedule: "\*\/5 \* \* \* \*"` is the old form.*write `schedule: \{cron: "\*\/5 \* \* \* \*", timezone: UTC\}`.*read in UTC.*`schedule: \{every: 15m\}` or `schedule: \{cron: "0 9 \* \* 1-5", timezone: Europe\/Paris\}`/,
    },
    {
      what: 'slack source `minIntervalSeconds`',
      old: 'name: m\nschedule: { every: 1h }\nsource: { type: slack, channel: C0123, botUserId: U0BOT, minIntervalSeconds: 90 }\nextract: { input: q, output: a }\nmetrics: [{ metric: pii }]\n',
      now: 'name: m\nschedule: { every: 1h }\nsource: { type: slack, channel: C0123, botUserId: U0BOT, minInterval: 90s }\nextract: { input: q, output: a }\nmetrics: [{ metric: pii }]\n',
      warning:
        /m\.yaml:3:58: source\.minIntervalSeconds: `minIntervalSeconds: 90` is the old form.*write `minInterval: 90s`/,
    },
    {
      what: 'sample strategy `most_recent`',
      old: `${MONITOR_HEAD}schedule: { every: 1h }\nsample: { strategy: most_recent, n: 3 }\nmetrics: [{ metric: pii }]\n`,
      now: `${MONITOR_HEAD}schedule: { every: 1h }\nsample: { strategy: most-recent, n: 3 }\nmetrics: [{ metric: pii }]\n`,
      warning:
        /m\.yaml:5:11: sample\.strategy: `strategy: most_recent` is the old form.*write `strategy: most-recent`/,
    },
    {
      what: '`publish.worst` above 10 (the old monitor range went to 20)',
      old: `${MONITOR_HEAD}schedule: { every: 1h }\nmetrics: [{ metric: pii }]\npublish: { channel: "#m", worst: 15 }\n`,
      now: `${MONITOR_HEAD}schedule: { every: 1h }\nmetrics: [{ metric: pii }]\npublish: { channel: "#m", worst: 10 }\n`,
      warning: /m\.yaml:6:27: publish\.worst: `worst: 15` is the old form.*write `worst: 10`.*at most 10/,
    },
    {
      what: 'the old `- name:` entry pasted into a monitor',
      old: `${MONITOR_HEAD}schedule: { every: 1h }\nmetrics:\n  - name: length\n    args: { max: 9 }\n`,
      now: `${MONITOR_HEAD}schedule: { every: 1h }\nmetrics:\n  - metric: length\n    args: { max: 9 }\n`,
      warning: /m\.yaml:6:5: metrics\[0\]: `- name: length` is the old form/,
    },
  ])('monitor: $what', ({ old, now, warning }) => {
    const before = monitor(old);
    const after = monitor(now);
    expect(before.warnings).toHaveLength(1);
    expect(before.warnings[0]).toMatch(warning);
    expect(after.warnings).toEqual([]);
    // The two files sit in different folders: their paths and folders differ, nothing else.
    const strip = ({ dir: _dir, ...m }: Monitor) =>
      m.source.type === 'file' ? { ...m, source: { ...m.source, path: '' } } : m;
    expect(strip(before.monitor)).toEqual(strip(after.monitor));
  });

  it('digest: a bare cron string as `schedule`', () => {
    const dir = folder();
    writeFileSync(join(dir, 'd.yaml'), 'name: d\nschedule: "0 9 * * *"\nchannel: "#q"\n');
    const [old] = loadDigests(dir);
    writeFileSync(
      join(dir, 'd.yaml'),
      'name: d\nschedule: { cron: "0 9 * * *", timezone: UTC }\nchannel: "#q"\n',
    );
    const [now] = loadDigests(dir);
    expect(old?.value).toEqual(now?.value);
    expect(old?.warnings[0]).toMatch(/d\.yaml:2:1: schedule: .*old form.*timezone: UTC/);
    expect(now?.warnings).toEqual([]);
  });

  it('`worst` is one field with one range (0 to 10) in monitors and digests; each file keeps its default', () => {
    const dir = folder();
    writeFileSync(join(dir, 'd.yaml'), 'name: d\nschedule: { every: 1d }\nchannel: "#q"\nworst: 0\n');
    writeFileSync(join(dir, 'e.yaml'), 'name: e\nschedule: { every: 1d }\nchannel: "#q"\n');
    expect(loadDigests(dir).map((l) => [l.value.name, l.value.worst])).toEqual([
      ['d', 0],
      ['e', 5],
    ]);
    expect(
      monitor(`${MONITOR_HEAD}schedule: { every: 1h }\nmetrics: [{ metric: pii }]\n`).monitor.publish.worst,
    ).toBe(3);
    // Past the shared range, in a file that never accepted it: refused at the key, with the range.
    writeFileSync(join(dir, 'd.yaml'), 'name: d\nschedule: { every: 1d }\nchannel: "#q"\nworst: 11\n');
    expect(loadError(() => loadDigests(dir))).toMatch(/d\.yaml:4:8: worst: .*10/);
    // Past the old monitor range too: refused, not clamped.
    expect(
      loadError(() =>
        monitor(
          `${MONITOR_HEAD}schedule: { every: 1h }\nmetrics: [{ metric: pii }]\npublish: { worst: 21 }\n`,
        ),
      ),
    ).toMatch(/m\.yaml:6:19: publish\.worst: .*10/);
  });

  it('a monitor file path is relative to the monitor file; a path that exists only from the working directory is used with a warning', () => {
    const dir = folder();
    const beside = monitor(`${MONITOR_HEAD}schedule: { every: 1h }\nmetrics: [{ metric: pii }]\n`, dir);
    expect(beside.monitor.source).toMatchObject({ path: join(dir, 'records.jsonl') });
    expect(beside.warnings).toEqual([]);

    // The shipped example's data file, named from the working directory as monitors used to be written.
    const sub = join(folder(), 'monitors');
    mkdirSync(sub);
    writeFileSync(
      join(sub, 'm.yaml'),
      'name: m\nschedule: { every: 1h }\nsource: { type: file, path: examples/monitors/data/support-traffic.jsonl }\nextract: { input: q, output: a }\nmetrics: [{ metric: pii }]\n',
    );
    const [old] = loadMonitors(sub);
    expect(old?.value.source).toMatchObject({
      path: join(process.cwd(), 'examples/monitors/data/support-traffic.jsonl'),
    });
    expect(old?.warnings[0]).toMatch(
      /m\.yaml:3:23: source\.path: 'examples\/monitors\/data\/support-traffic\.jsonl' is read relative to the working directory.*relative to the monitor file: write `path: \.\.\/.*examples\/monitors\/data\/support-traffic\.jsonl`/,
    );
  });

  it("a monitor's metric files (a custom module, a json-schema `schemaPath`) are relative to the monitor file and checked at load", async () => {
    const dir = folder();
    mkdirSync(join(dir, 'metrics'));
    writeFileSync(
      join(dir, 'metrics', 'short.js'),
      'export default (item) => (item.output.length < 5 ? 1 : 0);',
    );
    writeFileSync(
      join(dir, 'out.schema.json'),
      '{"type":"object","required":["ok"],"properties":{"ok":{"type":"boolean"}}}',
    );
    const text = `${MONITOR_HEAD}schedule: { every: 1h }\nmetrics:\n  - metric: ./metrics/short.js\n  - metric: json-schema\n    args: { schemaPath: out.schema.json }\n`;
    // The working directory (the repository) holds neither file: only the monitor's folder does.
    const loaded = monitor(text, dir);
    expect(loaded.monitor.dir).toBe(dir);
    const built = buildMetrics(loaded.monitor, {});
    if (!built.ok) throw new Error(built.error);
    const scores = await Promise.all(
      built.metrics.map((m) => m.metric.score({ input: 'q', output: '{"ok":true}' })),
    );
    expect(scores.map((s) => [s.metric, s.value, s.error])).toEqual([
      ['short', 0, undefined],
      ['json-schema', 1, undefined],
    ]);

    // A missing file is a load error naming the monitor file's line, as in a suite.
    const bad = folder();
    writeFileSync(join(bad, 'records.jsonl'), '');
    writeFileSync(
      join(bad, 'm.yaml'),
      `${MONITOR_HEAD}schedule: { every: 1h }\nmetrics:\n  - metric: ./metrics/short.js\n  - metric: json-schema\n    args: { schemaPath: out.schema.json }\n`,
    );
    const error = loadError(() => loadMonitors(bad));
    expect(error).toContain(
      `${at(join(bad, 'm.yaml'), 6, 13)}metrics[0].metric: custom metric ./metrics/short.js: file not found (${join(bad, 'metrics', 'short.js')})`,
    );
    expect(error).toMatch(
      /m\.yaml:8:11: metrics\[1\]\.args: schemaPath .*out\.schema\.json: cannot read it \(ENOENT\)/,
    );
  });

  it('a suite name with upper case still loads under its name, with a warning showing the lower-case one', () => {
    const s = suite(
      'name: Support_QA\ndataset: d.jsonl\nthreshold: 0.5\ntarget: { type: recorded }\nmetrics: [{ metric: pii }]\n',
    );
    expect(s.name).toBe('Support_QA');
    expect(s.warnings?.[0]).toMatch(
      /s\.yaml:1:1: name: `name: Support_QA` is the old form.*write `name: support_qa`/,
    );
    expect(
      loadError(() =>
        monitor(
          `${MONITOR_HEAD.replace('name: m', 'name: Bad Name')}schedule: { every: 1h }\nmetrics: [{ metric: pii }]\n`,
        ),
      ),
    ).toMatch(/m\.yaml:1:7: name: expected a lower-case name of letters, digits, -, _ and \./);
  });

  it('a problem under a renamed key is reported at the key the user wrote', () => {
    const message = loadError(() =>
      suite(`${SUITE_HEAD}target: { type: recorded }\nmetrics:\n  - name: contians\n`),
    );
    expect(message).toMatch(
      /s\.yaml:6:11: metrics\[0\]\.name: unknown metric 'contians' \(did you mean 'contains'\?\)/,
    );
    const timeout = loadError(() =>
      suite(
        `${SUITE_HEAD}target: { type: http, url: "http://127.0.0.1:1/x", timeoutMs: -5 }\nmetrics: [{ metric: pii }]\n`,
      ),
    );
    expect(timeout).toMatch(/s\.yaml:4:\d+: target\.timeoutMs: expected a duration/);
  });
});

describe('cross-references are checked at load, with file:line:column and a did-you-mean', () => {
  const METRICS = 'metrics:\n  - metric: refusal\n    name: no-refusal\n  - metric: pii\n';
  it.each([
    {
      what: 'an alert on the metric instead of its renamed score',
      text: `${MONITOR_HEAD}schedule: { every: 1h }\n${METRICS}alerts:\n  - metric: refusal\n    below: 0.9\n`,
      line: 10,
      column: 13,
      message:
        /alerts\[0\]\.metric: alerts name the score, and metric 'refusal' writes its scores as 'no-refusal': write `metric: no-refusal`/,
    },
    {
      what: 'an alert on a mistyped score',
      text: `${MONITOR_HEAD}schedule: { every: 1h }\n${METRICS}alerts:\n  - metric: no-refusl\n    below: 0.9\n`,
      line: 10,
      column: 13,
      message:
        /alerts\[0\]\.metric: no metric of this monitor writes scores named 'no-refusl' \(did you mean 'no-refusal'\?\)/,
    },
    {
      what: 'a mistyped metric (at load, not at the first tick)',
      text: `${MONITOR_HEAD}schedule: { every: 1h }\nmetrics:\n  - metric: refusl\n`,
      line: 6,
      column: 13,
      message: /metrics\[0\]\.metric: unknown metric 'refusl' \(did you mean 'refusal'\?\)/,
    },
    {
      what: 'a `$group` no pattern defines',
      text: `name: m\nschedule: { every: 1h }\nsource: { type: file, path: records.jsonl }\nextract:\n  patterns:\n    - from: $.q\n      regex: "Q: (?<question>.+)"\n  input: $questoin\n  output: a\nmetrics: [{ metric: pii }]\n`,
      line: 8,
      column: 10,
      message:
        /extract\.input: no pattern defines a group named 'questoin' \(did you mean '\$question'\?\); groups: \$question/,
    },
    {
      what: 'a `$group` in a monitor without patterns',
      text: `name: m\nschedule: { every: 1h }\nsource: { type: file, path: records.jsonl }\nextract: { input: $q, output: a }\nmetrics: [{ metric: pii }]\n`,
      line: 4,
      column: 19,
      message:
        /extract\.input: '\$q' reads a named group of `extract\.patterns`, and this monitor has no patterns; for a field of the record write `\$\.q`/,
    },
    {
      what: 'an unknown key',
      text: `${MONITOR_HEAD}schedule: { every: 1h }\nmetrics: [{ metric: pii }]\nalert: []\n`,
      line: 6,
      column: 1,
      message: /alert: unknown key \(did you mean 'alerts'\?\)/,
    },
  ])('monitor: $what', ({ text, line, column, message }) => {
    const dir = folder();
    writeFileSync(join(dir, 'm.yaml'), text);
    const error = loadError(() => loadMonitors(dir));
    expect(error).toContain(at(join(dir, 'm.yaml'), line, column));
    expect(error).toMatch(message);
  });

  it('digest: `monitors` must name a monitor', () => {
    const dir = folder();
    writeFileSync(
      join(dir, 'd.yaml'),
      'name: d\nschedule: { every: 1d }\nchannel: "#q"\nmonitors: [suport-quality]\n',
    );
    expect(loadDigests(dir)).toHaveLength(1);
    const error = loadError(() => loadDigests(dir, { monitorNames: ['support-quality'] }));
    expect(error).toContain(at(join(dir, 'd.yaml'), 4, 12));
    expect(error).toMatch(
      /monitors\[0\]: no monitor is named 'suport-quality' \(did you mean 'support-quality'\?\)/,
    );
  });

  it('`npm start` refuses to start on a bad monitor file, naming the file, line and a suggestion', async () => {
    const dir = folder();
    mkdirSync(join(dir, 'monitors'));
    writeFileSync(
      join(dir, 'monitors', 'm.yaml'),
      `${MONITOR_HEAD}schedule: { every: 1h }\nmetrics:\n  - metric: refusl\n`,
    );
    const env = parseEnv({
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: join(dir, 'data'),
      MONITORS_DIR: join(dir, 'monitors'),
      DIGESTS_DIR: join(dir, 'digests'),
      LOG_LEVEL: 'silent',
    });
    await expect(startBot(env)).rejects.toMatchObject({
      code: 'YAML_INVALID',
      message: expect.stringMatching(
        /m\.yaml:6:13: metrics\[0\]\.metric: unknown metric 'refusl' \(did you mean 'refusal'\?\)/,
      ),
    });
  });

  it('`arbiter monitor list` shows a warning on stderr and with the monitor', async () => {
    const dir = folder();
    mkdirSync(join(dir, 'monitors'));
    writeFileSync(join(dir, 'monitors', 'records.jsonl'), '');
    writeFileSync(
      join(dir, 'monitors', 'm.yaml'),
      `${MONITOR_HEAD}schedule: "0 * * * *"\nmetrics: [{ metric: pii }]\n`,
    );
    let out = '';
    let err = '';
    const code = await withCliServices(
      {
        env: parseEnv({
          DATA_DIR: join(dir, 'data'),
          MONITORS_DIR: join(dir, 'monitors'),
          LOG_LEVEL: 'silent',
        }),
        io: { stdout: (t: string) => (out += t), stderr: (t: string) => (err += t) },
      },
      (d) => runMonitorCli({ name: 'monitor.list' }, d),
    );
    expect(code).toBe(0);
    expect(err).toMatch(/^warning: .*m\.yaml:4:1: schedule: `schedule: "0 \* \* \* \*"` is the old form/);
    expect(out).toMatch(/m {2}cron "0 \* \* \* \*" \(UTC\)[\s\S]*warning: .*schedule: .*is the old form/);
  });
});

describe('one schedule type for monitors and digests', () => {
  it.each([
    [{ every: '15m' }, true],
    [{ every: '1d', timezone: 'Europe/Paris' }, true],
    [{ cron: '0 9 * * 1-5', timezone: 'Europe/Paris' }, true],
    [{ cron: '0 9 * * 1-5' }, true],
    [{ every: '30s' }, false],
    [{ every: '15' }, false],
    [{ cron: '61 * * * *' }, false],
    [{ cron: '0 9 * * *', timezone: 'Mars/Olympus' }, false],
    [{ every: '1h', cron: '0 * * * *' }, false],
  ])('%j valid: %s', (schedule, ok) => expect(ScheduleSchema.safeParse(schedule).success).toBe(ok));

  it('a digest accepts `every` and posts once per interval', () => {
    const dir = folder();
    writeFileSync(
      join(dir, 'd.yaml'),
      'name: d\nschedule: { every: 1d, timezone: Europe/Paris }\nchannel: "#q"\n',
    );
    const [d] = loadDigests(dir);
    expect(d?.value.schedule).toEqual({ every: '1d', timezone: 'Europe/Paris' });
    expect(latestScheduledTime(d!.value.schedule, new Date('2026-12-07T15:20:00Z'))).toEqual(
      new Date('2026-12-07T00:00:00Z'),
    );
  });

  it.each([
    [
      'schedule: "every hour"\n',
      /schedule: expected a mapping \{every, timezone\?\}, or a mapping \{cron, timezone\?\}/,
    ],
    ['schedule: { every: 30s }\n', /schedule\.every: expected a duration of at least 1m like 15m/],
  ])('a schedule in neither form shows both forms (%#)', (schedule, message) => {
    const dir = folder();
    writeFileSync(join(dir, 'm.yaml'), `${MONITOR_HEAD}${schedule}metrics: [{ metric: pii }]\n`);
    expect(loadError(() => loadMonitors(dir))).toMatch(message);
  });
});

describe('one duration type', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['10m', 600_000],
    ['24h', 86_400_000],
    ['2d', 172_800_000],
    ['1w', 604_800_000],
    ['0s', 0],
  ])('%s = %i ms', (text, ms) => expect(durationMs(text)).toBe(ms));

  it.each([
    [90_000, '90s'],
    [3_600_000, '1h'],
    [1500, '1500ms'],
    [86_400_000, '1d'],
  ])('%i ms is written %s', (ms, text) => expect(formatDuration(ms)).toBe(text));

  it.each([
    [{}, '30s', true],
    [{}, '0s', false],
    [{ min: 0 }, '0s', true],
    [{ min: 60_000 }, '59s', false],
    [{ max: 3_600_000 }, '2h', false],
    [{}, 30, false],
    [{}, '30 seconds', false],
  ])('durationSchema(%j) on %j: %s', (bounds, value, ok) =>
    expect(durationSchema({ example: '30s', ...bounds }).safeParse(value).success).toBe(ok),
  );

  it('every time field of the files takes one', () => {
    const s = suite(
      `${SUITE_HEAD}target: { type: http, url: "http://127.0.0.1:1/x", timeout: 2m }\nmetrics:\n  - metric: latency\n    args: { maxDuration: 1500ms }\n`,
    );
    expect(s.target).toMatchObject({ timeout: '2m' });
    const m = monitor(
      'name: m\nschedule: { every: 1h }\nsource: { type: slack, channel: C0123, botUserId: U0BOT, minInterval: 0s, lookback: 2d, settle: 10m }\nextract: { input: q, output: a }\nmetrics: [{ metric: pii }]\n',
    );
    expect(m.monitor.source).toMatchObject({ minInterval: '0s', lookback: '2d', settle: '10m' });
    expect(
      loadError(() =>
        suite(
          `${SUITE_HEAD}target: { type: http, url: "http://127.0.0.1:1/x", timeout: 30 }\nmetrics: [{ metric: pii }]\n`,
        ),
      ),
    ).toMatch(/target\.timeout: expected a duration from 1ms to 1h like 30s/);
  });
});

describe('one path grammar for suites and monitors', () => {
  const record = { a: { b: [{ c: 'yes' }, { c: 'last' }] }, 'x.y': { z: 1 }, messages: [{ content: 'hi' }] };
  it.each([
    ['$.a.b[0].c', 'yes'],
    ['a.b.0.c', 'yes'],
    ['a.b[-1].c', 'last'],
    ['$.a.b[-1].c', 'last'],
    ["$['x.y'].z", 1],
    ['messages[-1].content', 'hi'],
    ['$.missing.path', undefined],
  ])('%s reads %j', (path, want) => expect(readPath(record, path)).toEqual(want));

  it.each([
    ['$question', { kind: 'group', name: 'question' }],
    ['$', { kind: 'path', segments: [] }],
    ['$.a[-1]', { kind: 'path', segments: ['a', -1] }],
    ['a..b', null],
    ['$.a[', null],
  ])('parseFieldPath(%s)', (path, want) => expect(parseFieldPath(path)).toEqual(want));

  it('`$.` roots and `[-1]` work in monitor extractors as in suites', () => {
    const m = monitor(
      `name: m\nschedule: { every: 1h }\nsource: { type: file, path: records.jsonl }\nextract: { input: "$.messages[-1].content", output: a.b }\nmetrics: [{ metric: pii }]\n`,
    );
    expect(m.monitor.extract).toMatchObject({ input: '$.messages[-1].content', output: 'a.b' });
    expect(
      loadError(() =>
        monitor(
          'name: m\nschedule: { every: 1h }\nsource: { type: file, path: records.jsonl }\nextract: { input: "a..b", output: a }\nmetrics: [{ metric: pii }]\n',
        ),
      ),
    ).toMatch(/extract\.input: expected a path such as \$\.a\.b\[0\]\.c/);
  });
});
