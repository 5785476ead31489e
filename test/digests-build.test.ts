// Digests over stored data: ticks recorded through the monitor tick log, runs through the run repository, the
// builder against the previous period, periods in a timezone, and the YAML loader's errors.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDigestInputs } from '../commands/digest.ts';
import { isArbiterError } from '../config/index.ts';
import { createManualClock } from '../config/runtime.ts';
import { createDigestTransport } from '../digests/testing.ts';
import { type Digest, loadDigests } from '../digests/index.ts';
import { buildDigest, trendArrow } from '../digests/build.ts';
import { DigestSchema } from '../digests/schema.ts';
import { periodBefore, previousPeriod } from '../digests/period.ts';
import { createMonitorStore, createTickLog, loadMonitors, type TickLog } from '../monitors/index.ts';
import { runTick } from '../monitors/tick.ts';
import { createRunRepository, type Run, type RunRepository } from '../runs/index.ts';
import { createLeases, type DocumentStore } from '../storage/index.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { tempDir } from './helpers/tmp.ts';

let dir: string;
let cleanup: () => void;
let store: DocumentStore;
let tickLog: TickLog;
let runs: RunRepository;

beforeEach(async () => {
  ({ dir, cleanup } = tempDir());
  store = await createEmbeddedStore({ dir: join(dir, 'data'), autocompactMs: 0 });
  tickLog = await createTickLog(store);
  runs = await createRunRepository(store);
});
afterEach(async () => {
  await store.close();
  cleanup();
});

const T = (s: string) => new Date(s);

function spec(extra: Partial<Record<string, unknown>> = {}): Digest {
  return DigestSchema.parse({
    name: 'daily',
    schedule: { cron: '0 9 * * *', timezone: 'UTC' },
    channel: '#q',
    ...extra,
  });
}

/** Records a tick whose items score `values` on `metric` (threshold 0.5). */
async function tick(monitor: string, at: string, metric: string, values: number[], extra = {}) {
  await tickLog.recordTick({
    monitor,
    tickTime: T(at),
    finishedAt: T(at),
    read: values.length,
    items: values.map((v, i) => ({
      id: `${monitor}-${at}-${i}`,
      input: `question ${i} from jane@example.com`,
      output: `answer ${i}`,
      scores: [{ metric, value: v, reason: 'r' }],
      url: `https://langfuse.example/trace/${monitor}-${i}`,
    })),
    thresholds: new Map([[metric, 0.5]]),
    events: [],
    ...extra,
  });
}

function run(id: string, finishedAt: string, passed: boolean | null): Run {
  const t = T(finishedAt);
  return {
    _id: id,
    suiteName: 'quickstart',
    suiteFile: 'examples/suites/quickstart.yaml',
    suiteHash: 'h',
    suiteJson: '{}',
    status: passed === null ? 'failed' : 'completed',
    options: { concurrency: 1 },
    total: 2,
    datasetErrors: [],
    datasetSource: 'file',
    progress: { done: 2, total: 2, errors: 0, meanScore: 0.8 },
    ...(passed === null
      ? {}
      : {
          summary: {
            total: 2,
            finished: 2,
            passed: passed ? 2 : 0,
            failed: passed ? 0 : 2,
            errors: 0,
            missing: 0,
            errorCauses: { target: 0, provider: 0, input: 0, metric: 0 },
            costUnknown: false,
            heuristicOutputs: 0,
            needsReview: 0,
            meanScore: passed ? 0.9 : 0.3,
            passRate: passed ? 1 : 0,
            metrics: [],
            tokens: { input: 0, output: 0 },
            costUsd: 0,
            durationMs: 1,
            gate: {
              kind: 'mean-score' as const,
              threshold: 0.5,
              value: passed ? 0.9 : 0.3,
              maxErrors: 0,
              passed,
            },
            reviewKeys: [],
            heuristic: true,
          },
        }),
    createdAt: t,
    finishedAt: t,
    updatedAt: t,
  };
}

const inputs = () => createDigestInputs({ tickLog, runs });

describe('trend arrows', () => {
  it.each([
    [0.8, 0.7, '↑'],
    [0.7, 0.8, '↓'],
    [0.8, 0.8, '→'],
    [0.804, 0.8, '→'],
    [0.8, 0.806, '↓'],
    [0.5, undefined, 'new'],
  ])('%s vs %s is %s', (cur, prev, arrow) => {
    expect(trendArrow(cur, prev)).toBe(arrow);
  });
});

describe('periods', () => {
  it.each([
    // A daily digest at 09:00 Paris on Fri 20 Nov covers Thu 19 Nov, midnight to midnight Paris time (UTC+1).
    [
      'day',
      '2026-11-20T08:00:00Z',
      'Europe/Paris',
      '2026-11-18T23:00:00.000Z',
      '2026-11-19T23:00:00.000Z',
      '2026-11-19',
    ],
    // Weeks run Monday to Monday: on Fri 20 Nov the last complete week is Mon 9 – Mon 16 Nov.
    [
      'week',
      '2026-11-20T08:00:00Z',
      'UTC',
      '2026-11-09T00:00:00.000Z',
      '2026-11-16T00:00:00.000Z',
      '2026-11-09',
    ],
    // On a Monday, the week that just ended.
    [
      'week',
      '2026-11-16T10:00:00Z',
      'UTC',
      '2026-11-09T00:00:00.000Z',
      '2026-11-16T00:00:00.000Z',
      '2026-11-09',
    ],
    // The day DST ends in Paris (25 Oct 2026) is 25 hours long.
    [
      'day',
      '2026-10-26T08:00:00Z',
      'Europe/Paris',
      '2026-10-24T22:00:00.000Z',
      '2026-10-25T23:00:00.000Z',
      '2026-10-25',
    ],
    // A US timezone: 20 Nov 03:00 UTC is still 19 Nov in New York, so the last complete day is 18 Nov.
    [
      'day',
      '2026-11-20T03:00:00Z',
      'America/New_York',
      '2026-11-18T05:00:00.000Z',
      '2026-11-19T05:00:00.000Z',
      '2026-11-18',
    ],
  ] as const)('%s before %s in %s', (kind, at, tz, start, end, key) => {
    const p = periodBefore(kind, T(at), tz);
    expect([p.start.toISOString(), p.end.toISOString(), p.key]).toEqual([start, end, key]);
    const prev = previousPeriod(p);
    expect(prev.end.toISOString()).toBe(start);
    expect(prev.kind).toBe(kind);
  });
});

describe('the tick log', () => {
  it('a real monitor tick records its summary, which the digest of that day reads', async () => {
    const [ex] = loadMonitors('examples/monitors');
    const clock = createManualClock('2026-11-20T10:00:00Z');
    const out = await runTick(ex!.value, T('2026-11-20T10:00:00Z'), {
      store: await createMonitorStore(store),
      leases: await createLeases(store, { clock }),
      transport: createDigestTransport(),
      clock,
      owner: 'a',
      tickLog,
    });
    expect(out).toMatchObject({ status: 'succeeded', scored: 6 });
    const [doc] = await tickLog.listTicks(T('2026-11-20T00:00:00Z'), T('2026-11-21T00:00:00Z'));
    expect(doc).toMatchObject({
      monitor: 'support-quality',
      status: 'ok',
      read: 8,
      scored: 6,
      backfill: false,
    });
    if (out.status !== 'succeeded') throw new Error('tick failed');
    // Per-metric sums and counts agree with the tick's own means.
    for (const m of doc!.metrics) expect(m.sum / m.count).toBeCloseTo(out.stats.means[m.metric]!, 10);
    expect(doc!.failing).toBe(out.stats.failing);
    expect(doc!.worst.length).toBeGreaterThan(0);
    expect(doc!.worst.map((w) => w.value)).toEqual([...doc!.worst.map((w) => w.value)].sort((a, b) => a - b));
    // PII in traffic is masked before it is stored for shared-channel digests.
    expect(JSON.stringify(doc!.worst)).not.toMatch(/[\w.]+@[\w.]+\.\w+/);
    const built = await buildDigest(inputs(), spec(), T('2026-11-21T09:00:00Z'));
    expect(built.data.scored).toBe(6);
  });
});

describe('buildDigest over stored ticks and runs', () => {
  const now = T('2026-11-20T09:00:00Z'); // covers 19 Nov; previous period is 18 Nov

  it('an errored run is listed as ERROR and left out of the gate pass rate, never counted as FAILED', async () => {
    await tick('support', '2026-11-19T08:00:00Z', 'helpful', [0.9]);
    await runs.insertRun(run('r1', '2026-11-19T11:00:00Z', true));
    const errored = run('r5', '2026-11-19T12:00:00Z', false);
    errored.summary!.errors = 2;
    errored.summary!.errorCauses.provider = 2;
    errored.summary!.gate = { ...errored.summary!.gate, verdict: 'errored', errorKind: 'infrastructure' };
    await runs.insertRun(errored);

    const { data, message } = await buildDigest(inputs(), spec(), now);
    expect(data.runs).toMatchObject({ finished: 2, passed: 1, withGate: 1 });
    const runList = message.thread!.find((t) => t.title === 'Runs finished');
    expect(JSON.stringify(runList)).toMatch(/r5 +quickstart +completed +0\.300 +ERROR/);
    expect(JSON.stringify(runList)).not.toMatch(/r5[^"\\]*FAILED/);
  });

  it('compares each monitor and metric with the previous period and counts alerts and runs', async () => {
    // Previous day: support 0.8 mean, billing 0.5 mean.
    await tick('support', '2026-11-18T10:00:00Z', 'helpful', [0.8, 0.8]);
    await tick('billing', '2026-11-18T10:00:00Z', 'correct', [0.5, 0.5]);
    // This day: support drops to 0.6 (0.9, 0.3), billing rises to 0.75, a new monitor appears.
    await tick('support', '2026-11-19T08:00:00Z', 'helpful', [0.9]);
    await tick('support', '2026-11-19T16:00:00Z', 'helpful', [0.3], {
      events: [{ rule: 'mean helpful < 0.5', kind: 'fired', severity: 'warning', value: 0.3 }],
    });
    await tick('billing', '2026-11-19T12:00:00Z', 'correct', [0.75, 0.75], {
      events: [{ rule: 'old', kind: 'resolved', severity: 'warning', value: 0.75 }],
    });
    await tick('fresh', '2026-11-19T12:00:00Z', 'tone', [1]);
    // Outside both periods: ignored.
    await tick('support', '2026-11-20T01:00:00Z', 'helpful', [0]);
    await runs.insertRun(run('r1', '2026-11-19T11:00:00Z', true));
    await runs.insertRun(run('r2', '2026-11-19T12:00:00Z', false));
    await runs.insertRun(run('r3', '2026-11-19T13:00:00Z', null));
    await runs.insertRun(run('r0', '2026-11-18T13:00:00Z', true));

    const built = await buildDigest(inputs(), spec(), now);
    const { data, message } = built;
    expect(data.period.key).toBe('2026-11-19');
    expect(data.scored).toBe(5);
    expect(data.previousScored).toBe(4);
    expect(data.alertsFired).toBe(1);
    expect(data.alertsResolved).toBe(1);
    expect(data.runs).toEqual({
      finished: 3,
      passed: 1,
      withGate: 2,
      previousFinished: 1,
      previousPassed: 1,
    });
    const byName = Object.fromEntries(data.trends.map((t) => [`${t.monitor}/${t.metric}`, t]));
    expect(byName['support/helpful']).toMatchObject({ count: 2, failing: 1 });
    expect(byName['support/helpful']!.mean).toBeCloseTo(0.6, 10);
    expect(byName['support/helpful']!.previous).toBeCloseTo(0.8, 10);
    expect(byName['billing/correct']!.mean).toBeCloseTo(0.75, 10);
    expect(byName['fresh/tone']!.previous).toBeUndefined();

    const table = message.sections.find((s) => s.kind === 'code');
    expect(table?.kind === 'code' && table.text).toMatch(/support · helpful\s+0\.60 ↓ −0\.20 vs 0\.80/);
    expect(table?.kind === 'code' && table.text).toMatch(/billing · correct\s+0\.75 ↑ \+0\.25 vs 0\.50/);
    expect(table?.kind === 'code' && table.text).toMatch(/fresh · tone\s+1\.00 new/);
    const headline = message.sections[0];
    expect(headline?.kind === 'text' && headline.text).toContain(
      '*5 items scored* by 3 monitor(s) (↑ 25% vs 4)',
    );
    expect(headline?.kind === 'text' && headline.text).toContain('*Alerts:* 1 fired, 1 resolved');
    expect(headline?.kind === 'text' && headline.text).toContain(
      '3 finished, 1 passed their gate (50% pass rate)',
    );

    // Thread: the regression first, then the worst items with masked excerpts and links.
    const [regressions, worst, runList] = message.thread!;
    expect(regressions!.title).toBe('Worst regressions');
    expect(JSON.stringify(regressions!.sections)).toMatch(/support · helpful {2}0\.80 → 0\.60/);
    expect(JSON.stringify(regressions!.sections)).not.toContain('billing');
    expect(worst!.title).toBe('Worst 5 item(s)');
    const first = worst!.sections[0];
    expect(first?.kind === 'text' && first.text).toMatch(
      /^\*1\. support\* · helpful 0\.30 .*<https:\/\/langfuse\.example\/trace\/support-0\|open in Langfuse>/,
    );
    expect(JSON.stringify(worst)).not.toContain('jane@example.com');
    expect(runList!.title).toBe('Runs finished');
    expect(JSON.stringify(runList)).toMatch(/r2 +quickstart +completed +0\.300 +FAILED/);

    // The chart has one series per monitor, hourly over the day, with the scores at their hours.
    expect(built.chart?.buckets).toHaveLength(24);
    expect(built.chart?.series.map((s) => s.name)).toEqual(['billing', 'fresh', 'support']);
    const support = built.chart!.series[2]!.points;
    expect(support[8]!.value).toBeCloseTo(0.9, 10);
    expect(support[16]!.value).toBeCloseTo(0.3, 10);
    expect(support[9]!.value).toBeNull();
  });

  it('`worst: 0` shows neither the worst regressions nor the worst items', async () => {
    await tick('support', '2026-11-18T10:00:00Z', 'helpful', [0.8, 0.8]);
    await tick('support', '2026-11-19T08:00:00Z', 'helpful', [0.3]);
    const shown = await buildDigest(inputs(), spec(), now);
    expect(shown.message.thread!.map((t) => t.title)).toContain('Worst regressions');
    const none = await buildDigest(inputs(), { ...spec(), worst: 0 }, now);
    expect((none.message.thread ?? []).map((t) => t.title)).not.toContain('Worst regressions');
    expect(JSON.stringify(none.message.thread ?? [])).not.toContain('Worst 1 item');
  });

  it('an empty period says so and still builds within limits', async () => {
    const built = await buildDigest(inputs(), spec(), now);
    expect(built.data.scored).toBe(0);
    expect(built.data.trends).toEqual([]);
    expect(built.chart).toBeUndefined();
    const text = JSON.stringify(built.message);
    expect(text).toContain('*No monitor ticks* in this period.');
    expect(text).toContain('*Runs:* none finished');
    expect(built.message.thread?.[0]?.sections).toEqual([
      { kind: 'text', text: 'No metric dropped against the previous period.' },
    ]);
  });

  it('include, monitors and reviews: only what the digest asks for, leaderboard moves when provided', async () => {
    await tick('support', '2026-11-19T08:00:00Z', 'helpful', [0.9]);
    await tick('other', '2026-11-19T08:00:00Z', 'helpful', [0.1]);
    const withReviews = {
      ...inputs(),
      reviewsClosed: async () => [{ id: 'rv1', title: 'A vs B', closedAt: T('2026-11-19T10:00:00Z') }],
      leaderboard: async (at: Date) =>
        at < T('2026-11-19T12:00:00Z')
          ? [
              { name: 'prompt-a', rating: 1010 },
              { name: 'prompt-b', rating: 990 },
            ]
          : [
              { name: 'prompt-b', rating: 1020 },
              { name: 'prompt-a', rating: 980 },
              { name: 'prompt-c', rating: 950 },
            ],
    };
    const built = await buildDigest(
      withReviews,
      spec({ include: ['monitors', 'reviews'], monitors: ['support'] }),
      now,
    );
    expect(built.chart).toBeUndefined();
    expect(built.data.trends.map((t) => t.monitor)).toEqual(['support']);
    expect(built.data.reviews).toEqual({
      closed: 1,
      moves: [
        { name: 'prompt-b', from: 2, to: 1 },
        { name: 'prompt-a', from: 1, to: 2 },
        { name: 'prompt-c', to: 3 },
      ],
    });
    const text = JSON.stringify(built.message);
    expect(text).toContain(
      '*Reviews:* 1 closed · leaderboard: prompt-b #2 → #1 ↑, prompt-a #1 → #2 ↓, prompt-c new at #3',
    );
    expect(text).not.toContain('*Runs:*');
    expect(text).not.toContain('*Alerts:*');
  });

  it('escapes untrusted names in text sections and keeps sections within Slack limits', async () => {
    const evil = '<!channel> & co';
    for (let i = 0; i < 60; i++)
      await tick(`m${i}`, '2026-11-19T08:00:00Z', `metric-${'x'.repeat(60)}`, [0.2]);
    await tickLog.recordTick({
      monitor: 'evil',
      tickTime: T('2026-11-19T09:00:00Z'),
      finishedAt: T('2026-11-19T09:00:00Z'),
      read: 1,
      items: [
        {
          id: evil,
          input: 'i',
          output: 'o',
          scores: [{ metric: evil, value: 0, reason: '' }],
          url: 'javascript:alert(1)',
        },
      ],
      thresholds: new Map(),
      events: [],
    });
    const { message } = await buildDigest(inputs(), spec(), now);
    const all = [message, ...(message.thread ?? [])];
    for (const m of all) {
      expect(m.title.length).toBeLessThanOrEqual(150);
      expect(m.sections.length).toBeLessThanOrEqual(50);
      for (const s of m.sections) {
        if (s.kind === 'text' || s.kind === 'code') expect(s.text.length).toBeLessThanOrEqual(3000);
        if (s.kind === 'text') expect(s.text).not.toContain('<!channel>');
      }
    }
    const worst = JSON.stringify(
      message.thread?.find((t) => t.title.startsWith('Worst') && t.title.includes('item')),
    );
    expect(worst).toContain('&lt;!channel&gt; &amp; co');
    expect(worst).not.toContain('<javascript:');
  });
});

describe('digest YAML', () => {
  it('loads the shipped example with defaults', () => {
    const [daily] = loadDigests('examples/digests');
    expect(daily!.value).toMatchObject({
      name: 'daily',
      period: 'day',
      schedule: { cron: '0 9 * * *', timezone: 'Europe/Paris' },
      include: ['monitors', 'alerts', 'runs', 'reviews', 'chart'],
    });
  });

  it('names file, line and field of each problem', () => {
    const d = join(dir, 'digests');
    mkdirSync(d);
    writeFileSync(
      join(d, 'bad.yaml'),
      'name: weekly\nschedule:\n  cron: "61 9 * * *"\n  timezone: Mars/Olympus\nchannel: "#q"\nperiod: month\ninclude: [monitors, charts]\n',
    );
    let err: unknown;
    try {
      loadDigests(d);
    } catch (e) {
      err = e;
    }
    expect(isArbiterError(err, 'YAML_INVALID')).toBe(true);
    const msg = (err as Error).message;
    expect(msg).toMatch(/bad\.yaml:3:\d+: schedule\.cron: not a valid 5-field cron/);
    expect(msg).toMatch(/bad\.yaml:4:\d+: schedule\.timezone: unknown IANA timezone/);
    expect(msg).toMatch(/bad\.yaml:6:\d+: period:/);
    expect(msg).toMatch(
      /bad\.yaml:7:\d+: include\[1\]: expected one of monitors, alerts, runs, reviews, chart/,
    );
  });

  it('refuses a missing channel and a duplicate name', () => {
    const d = join(dir, 'dup');
    mkdirSync(d);
    writeFileSync(join(d, 'a.yaml'), 'name: x\nschedule: { cron: "0 9 * * 1" }\nchannel: "#a"\n');
    writeFileSync(join(d, 'b.yaml'), 'name: x\nschedule: { cron: "0 9 * * 1" }\nchannel: "#b"\n');
    expect(() => loadDigests(d)).toThrow(/b\.yaml: name: digest 'x' is also defined in .*a\.yaml/);
    writeFileSync(join(d, 'b.yaml'), 'name: y\nschedule: { cron: "0 9 * * 1" }\n');
    expect(() => loadDigests(d)).toThrow(/b\.yaml:1:1: channel: .*field is missing/);
  });
});
