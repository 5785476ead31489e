// Pure monitor logic: YAML schema, extractors, sampling, alerts and the "which tick is due" decisions.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isArbiterError } from '../config/index.ts';
import { loadMonitors } from '../monitors/index.ts';
import { type AlertRuleSpec, AlertRuleSchema, ExtractSchema, SampleSchema } from '../monitors/schema.ts';
import { dueTick, latestScheduled } from '../monitors/schedule.ts';
import { evaluateAlerts, type TickStats } from '../monitors/alerts.ts';
import { extractItem, getPath } from '../monitors/extract.ts';
import { hashUnit, sampleItems } from '../monitors/sampling.ts';
import { tempDir } from './helpers/tmp.ts';

describe('monitor YAML', () => {
  let cleanup = () => {};
  afterEach(() => cleanup());

  it('loads the shipped example', () => {
    const [m] = loadMonitors('examples/monitors');
    expect(m?.value.name).toBe('support-quality');
    expect(m?.value.schedule).toEqual({ every: '30m' });
    expect(m?.value.sample).toEqual({ strategy: 'all' });
  });

  it.each([
    ['schedule:\n  cron: "61 * * * *"\n', 'schedule'],
    ['schedule:\n  cron: "0 * * * *"\n  timezone: Mars/Olympus\n', 'schedule'],
    ['schedule:\n  every: 10x\n', 'schedule'],
  ])('names file, line and field for bad schedules (%#)', (schedule, field) => {
    const t = tempDir();
    cleanup = t.cleanup;
    const body = `name: bad\n${schedule}source:\n  type: file\n  path: x.jsonl\nextract:\n  input: a\n  output: b\nmetrics:\n  - metric: refusal\n`;
    writeFileSync(join(t.dir, 'bad.yaml'), body);
    try {
      loadMonitors(t.dir);
      expect.unreachable();
    } catch (err) {
      expect(isArbiterError(err, 'YAML_INVALID')).toBe(true);
      expect((err as Error).message).toMatch(new RegExp(`bad\\.yaml:\\d+:\\d+: ${field}`));
    }
  });

  it('points at the line of a bad sample field', () => {
    const t = tempDir();
    cleanup = t.cleanup;
    mkdirSync(t.dir, { recursive: true });
    writeFileSync(
      join(t.dir, 'm.yaml'),
      'name: m\nschedule: { every: 1h }\nsource: { type: file, path: x }\nextract: { input: a, output: b }\nsample:\n  strategy: most_recent\n  n: -3\nmetrics: [{ metric: refusal }]\n',
    );
    expect(() => loadMonitors(t.dir)).toThrow(/m\.yaml:7:\d+: sample\.n/);
  });

  it('rejects duplicate monitor names across files', () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const body =
      'name: dup\nschedule: { every: 1h }\nsource: { type: file, path: x }\nextract: { input: a, output: b }\nmetrics: [{ metric: refusal }]\n';
    writeFileSync(join(t.dir, 'a.yaml'), body);
    writeFileSync(join(t.dir, 'b.yaml'), body);
    expect(() => loadMonitors(t.dir)).toThrow(/also defined/);
  });

  it('alert rules need exactly one of below/above and a metric for means', () => {
    expect(AlertRuleSchema.safeParse({ metric: 'x', below: 1, above: 2 }).success).toBe(false);
    expect(AlertRuleSchema.safeParse({ below: 1 }).success).toBe(false);
    expect(AlertRuleSchema.safeParse({ on: 'failing', above: 2 }).success).toBe(true);
  });
});

describe('extractors', () => {
  const record = {
    id: 'r1',
    prompt: 'System: be nice.\nCustomer question: Where is my parcel?',
    messages: [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'hello' },
    ],
    response: { choices: [{ text: 'In transit.' }] },
    meta: { plan: 'pro', n: 3 },
  };

  it.each([
    ['response.choices[0].text', 'In transit.'],
    ['response.choices.0.text', 'In transit.'],
    ['meta.n', 3],
    ['meta.missing', undefined],
    ['messages[-1].content', 'hello'],
  ])('getPath(%s)', (path, want) => expect(getPath(record, path)).toEqual(want));

  it('maps dot paths and named regex groups to an Item', () => {
    const spec = ExtractSchema.parse({
      patterns: [{ from: 'prompt', regex: 'Customer question: (?<q>.+)$' }],
      input: '$q',
      output: 'response.choices[0].text',
      context: 'messages',
      metadata: { plan: 'meta.plan' },
    });
    const r = extractItem(record, spec, 'r1');
    expect(r).toEqual({
      ok: true,
      item: {
        id: 'r1',
        input: 'Where is my parcel?',
        output: 'In transit.',
        context: 'hi\nhello',
        metadata: { plan: 'pro' },
      },
    });
  });

  it.each([
    [{ input: 'nope', output: 'prompt' }, /input 'nope' is missing/],
    [{ input: 'prompt', output: 'response.x' }, /output 'response.x' is missing/],
    [
      { input: '$q', output: 'prompt', patterns: [{ from: 'prompt', regex: 'Order: (?<q>\\d+)' }] },
      /does not match/,
    ],
  ])('reports records that do not match (%#)', (raw, reason) => {
    const r = extractItem(record, ExtractSchema.parse(raw), 'r1');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });
});

describe('record size limit (RECORD_FIELD_MAX_BYTES)', () => {
  const spec = ExtractSchema.parse({
    input: 'q',
    output: 'a.text',
    patterns: [{ from: 'raw', regex: '(?<x>.)' }],
    metadata: { blob: 'meta' },
  });
  const ok = { q: 'hi', a: { text: 'yo' }, raw: 'r', meta: 'm' };

  it.each([
    [
      'a.text',
      { ...ok, a: { text: 'x'.repeat(300 * 1024) } },
      /^field `a\.text` is 300 KB, over the 256 KB limit per field \(RECORD_FIELD_MAX_BYTES\)/,
    ],
    ['q', { ...ok, q: '€'.repeat(100 * 1024) }, /^field `q` is 300 KB/],
    [
      'raw (checked before the pattern runs)',
      { ...ok, raw: 'y'.repeat(50 * 1024 * 1024) },
      /^field `raw` is 50\.0 MB/,
    ],
    ['metadata', { ...ok, meta: { big: 'z'.repeat(300 * 1024) } }, /^field `metadata` is 300 KB/],
  ])('a record with an oversized %s is unusable, with a reason naming the field', (_what, record, reason) => {
    const r = extractItem(record, spec, 'rec-7');
    expect(r).toEqual({ ok: false, id: 'rec-7', reason: expect.stringMatching(reason) });
  });

  it('the limit is configurable, and a record within it is extracted', () => {
    expect(extractItem(ok, spec, 'r').ok).toBe(true);
    const big = { ...ok, a: { text: 'x'.repeat(300 * 1024) } };
    expect(extractItem(big, spec, 'r', 1024 * 1024).ok).toBe(true);
    expect(extractItem(ok, spec, 'r', 1).ok).toBe(false);
  });
});

describe('sampling', () => {
  const items = Array.from({ length: 10 }, (_, i) => ({ id: `i${i}`, time: 1000 + ((i * 7) % 10) }));
  const ids = (xs: { id: string }[]) => xs.map((x) => x.id);
  const s = (raw: unknown) => SampleSchema.parse(raw);

  it.each([
    [{ strategy: 'all' }, 10],
    [{ strategy: 'most-recent', n: 3 }, 3],
    [{ strategy: 'oldest', n: 4 }, 4],
    [{ strategy: 'random', n: 5 }, 5],
    [{ strategy: 'random', n: 50 }, 10],
  ])('%j picks %i', (spec, n) => expect(sampleItems(items, s(spec), 42)).toHaveLength(n));

  it('most-recent and oldest order by time', () => {
    expect(ids(sampleItems(items, s({ strategy: 'most-recent', n: 2 })))).toEqual(['i7', 'i4']);
    expect(ids(sampleItems(items, s({ strategy: 'oldest', n: 2 })))).toEqual(['i0', 'i3']);
  });

  it('random is reproducible from its seed and independent of input order', () => {
    const a = ids(sampleItems(items, s({ strategy: 'random', n: 4 }), 7));
    const b = ids(sampleItems([...items].reverse(), s({ strategy: 'random', n: 4 }), 7));
    expect(a).toEqual(b);
    expect(new Set(a).size).toBe(4);
  });

  it('deterministic keeps an item iff the hash of its id is below the rate, whatever the batch', () => {
    const spec = s({ strategy: 'deterministic', rate: 0.5 });
    const picked = ids(sampleItems(items, spec));
    expect(picked).toEqual(items.filter((i) => hashUnit(i.id) < 0.5).map((i) => i.id));
    expect(ids(sampleItems(items.slice(0, 5), spec))).toEqual(picked.filter((id) => Number(id.slice(1)) < 5));
    const many = Array.from({ length: 10_000 }, (_, i) => ({ id: `x${i}`, time: i }));
    expect(sampleItems(many, s({ strategy: 'deterministic', rate: 0.1 })).length).toBeGreaterThan(900);
    expect(sampleItems(many, s({ strategy: 'deterministic', rate: 0.1 })).length).toBeLessThan(1100);
  });

  it('random by rate keeps about that share', () => {
    const many = Array.from({ length: 10_000 }, (_, i) => ({ id: `x${i}`, time: i }));
    const n = sampleItems(many, s({ strategy: 'random', rate: 0.2 }), 1).length;
    expect(n).toBeGreaterThan(1800);
    expect(n).toBeLessThan(2200);
  });

  it('random needs exactly one of n or rate', () => {
    expect(SampleSchema.safeParse({ strategy: 'random' }).success).toBe(false);
    expect(SampleSchema.safeParse({ strategy: 'random', n: 1, rate: 0.5 }).success).toBe(false);
  });
});

describe('alerts', () => {
  const rule = (raw: unknown) => AlertRuleSchema.parse(raw) as AlertRuleSpec;
  const tick = (mean: number, failing = 0, n = 10): TickStats => ({
    means: { q: mean },
    counts: { q: n },
    failing,
    scored: n,
  });
  const now = new Date('2026-11-20T10:00:00Z');

  it('fires once when the rule breaks, stays quiet while broken, resolves once', () => {
    const rules = [rule({ metric: 'q', below: 0.7, severity: 'critical' })];
    const means = [0.9, 0.6, 0.5, 0.65, 0.8, 0.85];
    let states = {};
    const history: TickStats[] = [];
    const kinds: string[] = [];
    for (const m of means) {
      history.push(tick(m));
      const r = evaluateAlerts(rules, states, history, now);
      states = r.states;
      kinds.push(r.events.map((e) => e.kind).join(',') || '-');
    }
    expect(kinds).toEqual(['-', 'fired', '-', '-', 'resolved', '-']);
  });

  it('a rolling window weighs ticks by their counts', () => {
    const r = rule({ metric: 'q', below: 0.7, window: 3 });
    expect(
      evaluateAlerts([r], {}, [tick(0.9, 0, 10), tick(0.9, 0, 10), tick(0.1, 0, 1)], now).events,
    ).toEqual([]);
    expect(
      evaluateAlerts([r], {}, [tick(0.9, 0, 1), tick(0.5, 0, 10), tick(0.5, 0, 10)], now).events,
    ).toHaveLength(1);
  });

  it('fires on the count of failing items', () => {
    const r = rule({ on: 'failing', above: 2, severity: 'critical' });
    const { events } = evaluateAlerts([r], {}, [tick(1, 3)], now);
    expect(events).toMatchObject([{ kind: 'fired', severity: 'critical', value: 3 }]);
  });

  it('keeps its state when the metric has no data', () => {
    const r = rule({ metric: 'other', below: 0.5 });
    const { states, events } = evaluateAlerts(
      [r],
      { 'mean other < 0.5': { firing: true } },
      [tick(0.1)],
      now,
    );
    expect(events).toEqual([]);
    expect(states['mean other < 0.5']).toEqual({ firing: true });
  });
});

describe('which tick is due', () => {
  const at = (s: string) => new Date(s);
  it.each([
    // every: epoch-aligned
    [{ every: '30m' }, undefined, '2026-11-20T10:44:00Z', '2026-11-20T10:30:00.000Z'],
    [{ every: '30m' }, '2026-11-20T10:30:00Z', '2026-11-20T10:44:00Z', undefined],
    [{ every: '30m' }, '2026-11-20T10:30:00Z', '2026-11-20T11:00:00Z', '2026-11-20T11:00:00.000Z'],
    // down for a day: one tick over the gap (the latest), not 48
    [{ every: '30m' }, '2026-11-19T10:30:00Z', '2026-11-20T10:44:00Z', '2026-11-20T10:30:00.000Z'],
    // cron in a timezone: 09:00 Paris is 08:00Z in November
    [
      { cron: '0 9 * * *', timezone: 'Europe/Paris' },
      undefined,
      '2026-11-20T08:30:00Z',
      '2026-11-20T08:00:00.000Z',
    ],
    [
      { cron: '0 9 * * *', timezone: 'Europe/Paris' },
      '2026-11-20T08:00:00Z',
      '2026-11-20T12:00:00Z',
      undefined,
    ],
    [
      { cron: '0 9 * * *', timezone: 'Europe/Paris' },
      '2026-11-17T08:00:00Z',
      '2026-11-20T12:00:00Z',
      '2026-11-20T08:00:00.000Z',
    ],
    // weekdays only: Saturday 21st and Sunday 22nd fall back to Friday
    [{ cron: '0 9 * * 1-5', timezone: 'UTC' }, undefined, '2026-11-22T12:00:00Z', '2026-11-20T09:00:00.000Z'],
  ])('%j last=%s now=%s -> %s', (spec, last, now, want) => {
    const due = dueTick(spec as never, last ? at(last) : undefined, at(now));
    expect(due?.toISOString()).toBe(want);
  });

  it('latestScheduled stops at notBefore', () => {
    expect(
      latestScheduled(
        { cron: '0 9 * * *', timezone: 'UTC' },
        at('2026-11-20T08:00:00Z'),
        at('2026-11-19T10:00:00Z'),
      ),
    ).toBeUndefined();
  });
});

describe('source registry', () => {
  it('documents every source type and constructs each (missing Langfuse keys are an error value)', async () => {
    const { sources, createSource } = await import('../monitors/sources.ts');
    const { SourceSchema } = await import('../monitors/schema.ts');
    for (const [type, def] of Object.entries(sources))
      expect(def.description.length, type).toBeGreaterThan(10);
    expect(createSource(SourceSchema.parse({ type: 'file', path: 'x.jsonl' }), {}).ok).toBe(true);
    const lf = createSource(SourceSchema.parse({ type: 'langfuse' }), {});
    expect(lf).toEqual({ ok: false, error: expect.stringMatching(/LANGFUSE_PUBLIC_KEY/) });
  });
});
