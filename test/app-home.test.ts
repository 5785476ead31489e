import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildHomeView,
  type HomeData,
  type HomeLeader,
  type HomeMonitor,
  type HomeReview,
  type HomeSnapshot,
  loadHomeSnapshot,
} from '../bot/app-home.ts';
import type { Block } from '../bot/render-blocks.ts';
import type { Run } from '../runs/index.ts';

const NOW = new Date('2026-03-01T12:00:00Z');
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function run(i: number, suiteName = `suite-${i}`): Run {
  return {
    _id: `run_${i}`,
    suiteName,
    status: 'succeeded',
    total: 10,
    progress: { done: 10, meanScore: 0.5 },
    summary: { meanScore: 0.8125, gate: { passed: i % 2 === 0 } },
  } as unknown as Run;
}

const snapshot = (p: Partial<Record<keyof HomeSnapshot, readonly unknown[]>>): HomeSnapshot => ({
  runs: { ok: true, rows: (p.runs ?? []) as Run[] },
  reviews: p.reviews ? { ok: true, rows: p.reviews as HomeReview[] } : { ok: false, reason: 'not-available' },
  monitors: p.monitors
    ? { ok: true, rows: p.monitors as HomeMonitor[] }
    : { ok: false, reason: 'not-available' },
  leaders: p.leaders ? { ok: true, rows: p.leaders as HomeLeader[] } : { ok: false, reason: 'not-available' },
});

/** Every Block Kit limit a Home view must respect (view: 100 blocks). */
function limitProblems(blocks: Block[]): string[] {
  const problems: string[] = [];
  if (blocks.length === 0) problems.push('no blocks');
  if (blocks.length > 100) problems.push(`${blocks.length} blocks > 100`);
  const texts: string[] = [];
  for (const b of blocks) {
    if (b.type === 'header') {
      if (b.text.text.length > 150) problems.push('header > 150');
      texts.push(b.text.text);
    }
    if (b.type === 'section') {
      if (b.text && b.text.text.length > 3000) problems.push(`section ${b.text.text.length} > 3000`);
      if (b.text) texts.push(b.text.text);
      if ((b.fields?.length ?? 0) > 10) problems.push('> 10 fields');
      for (const f of b.fields ?? []) {
        if (f.text.length > 2000) problems.push('field > 2000');
        texts.push(f.text);
      }
    }
    if (b.type === 'context') {
      if (b.elements.length > 10) problems.push('> 10 context elements');
      for (const e of b.elements) texts.push(e.text);
    }
  }
  for (const t of texts) {
    if (t.trim().length === 0) problems.push('blank text');
    if (LONE_SURROGATE.test(t)) problems.push('lone surrogate');
    if (/<[!@#]/.test(t)) problems.push(`raw special token in ${JSON.stringify(t.slice(0, 80))}`);
    if (/@(?:here|channel|everyone)(?![\p{L}\p{N}_])/iu.test(t)) problems.push('bare broadcast mention');
  }
  const total = texts.reduce((n, t) => n + t.length, 0);
  if (total > 12_000) problems.push(`cumulative text ${total}`);
  return problems;
}

const allText = (blocks: Block[]) => JSON.stringify(blocks);

describe('App Home view', () => {
  it('shows runs with scores, reviews waiting for the user, monitor status and the top 5', () => {
    const view = buildHomeView(
      snapshot({
        runs: [run(1), run(2)],
        reviews: [{ id: 'rev_1', title: 'prompt v3 vs v4', pending: 7 }],
        monitors: [
          {
            name: 'support-bot',
            schedule: '*/15 * * * *',
            lastTickTime: new Date(NOW.getTime() - 5 * 60_000),
            failing: true,
            lastAlert: { time: new Date(NOW.getTime() - 2 * 3600_000), text: 'helpfulness 0.61 < 0.7' },
            paused: false,
          },
          { name: 'nightly', schedule: '0 3 * * *', failing: false, paused: true },
        ],
        leaders: [
          { name: 'gpt-a', rating: 1043.4, lower: 1010, upper: 1071 },
          { name: 'claude-b', rating: 998 },
          { name: 'new-one', unrated: true },
        ],
      }),
      '/arbiter',
      NOW,
    );
    expect(view.type).toBe('home');
    expect(limitProblems(view.blocks)).toEqual([]);
    const text = allText(view.blocks);
    expect(text).toContain('suite-1');
    expect(text).toContain('mean 0.813');
    expect(text).toContain('prompt v3 vs v4');
    expect(text).toContain('7 pairs to vote on');
    expect(text).toContain('failing');
    expect(text).toContain('last tick 5 min ago');
    expect(text).toContain('last alert 2 h ago');
    expect(text).toContain('paused');
    expect(text).toContain('last tick never');
    expect(text).toContain('1043 (95% 1010–1071)');
    expect(text).toContain('unrated');
  });

  it.each([
    ['capabilities not wired yet', snapshot({}), ['Not available yet', 'monitor list']],
    [
      'empty lists',
      snapshot({ runs: [], reviews: [], monitors: [], leaders: [] }),
      ['None yet', 'Nothing waiting for your vote', 'No monitors configured', 'No ratings yet'],
    ],
    [
      'a part that failed to load',
      { ...snapshot({ runs: [run(1)] }), reviews: { ok: false, reason: 'error' } } as HomeSnapshot,
      ['Could not be loaded just now', 'suite-1'],
    ],
  ])('%s', (_name, snap, expected) => {
    const view = buildHomeView(snap, '/arbiter', NOW);
    expect(limitProblems(view.blocks)).toEqual([]);
    for (const e of expected) expect(allText(view.blocks)).toContain(e);
  });

  it('still accepts a plain list of runs (the current slack-app call)', () => {
    const view = buildHomeView([run(1)], '/arbiter');
    expect(limitProblems(view.blocks)).toEqual([]);
    expect(allText(view.blocks)).toContain('suite-1');
  });

  it('neutralizes mentions, links and markup in names', () => {
    const evil = '<!channel> @here <@U123> <https://evil.example|click> *bold* ```fence';
    const view = buildHomeView(
      snapshot({
        runs: [run(1, evil)],
        reviews: [{ id: '<!everyone>', title: evil, pending: 1 }],
        monitors: [
          {
            name: evil,
            schedule: '`x`',
            failing: false,
            paused: false,
            lastAlert: { time: NOW, text: evil },
          },
        ],
        leaders: [{ name: evil, rating: 1000 }],
      }),
      '/arbiter',
      NOW,
    );
    expect(limitProblems(view.blocks)).toEqual([]);
    expect(allText(view.blocks)).not.toContain('<!channel>');
    expect(allText(view.blocks)).toContain('&lt;!channel&gt;');
  });

  it('stays within the limits with huge lists and huge names', () => {
    const huge = `${'&<>'.repeat(4000)}👩‍👩‍👧‍👦`;
    const many = 10_000;
    const view = buildHomeView(
      snapshot({
        runs: Array.from({ length: many }, (_, i) => run(i, huge)),
        reviews: Array.from({ length: many }, (_, i) => ({ id: `r${i}`, title: huge, pending: i })),
        monitors: Array.from({ length: many }, (_, i) => ({
          name: huge,
          schedule: huge,
          failing: i % 2 === 0,
          paused: i % 3 === 0,
          lastTickTime: NOW,
          lastAlert: { time: NOW, text: huge },
        })),
        leaders: Array.from({ length: many }, (_, i) => ({
          name: huge,
          rating: 1000 + i,
          lower: 900,
          upper: 1100,
        })),
      }),
      '/arbiter',
      NOW,
    );
    expect(limitProblems(view.blocks)).toEqual([]);
    // The lists say how much is not shown and where to see it.
    expect(allText(view.blocks)).toMatch(/\+\d+ more/);
    // Nothing was pushed out of the view (a Home tab has no thread to continue in).
    expect(allText(view.blocks)).not.toContain('in the thread');
    expect(allText(view.blocks)).toContain('Leaderboard (top 5)');
  });

  it('property: any names, ids and sizes give a valid view with no live mentions', () => {
    const str = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 300 }),
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.constantFrom('<!channel>', '@here', '<@U1>', '```', '&amp;', '\uD800', '', '   '),
    );
    const date = fc.option(fc.date({ noInvalidDate: false }), { nil: undefined });
    fc.assert(
      fc.property(
        fc.array(str, { maxLength: 30 }),
        fc.array(fc.record({ id: str, title: str, pending: fc.integer({ min: -5, max: 1e6 }) }), {
          maxLength: 30,
        }),
        fc.array(
          fc.record({
            name: str,
            schedule: str,
            failing: fc.boolean(),
            paused: fc.boolean(),
            lastTickTime: date,
            lastAlert: fc.option(fc.record({ time: fc.date(), text: fc.option(str, { nil: undefined }) }), {
              nil: undefined,
            }),
          }),
          { maxLength: 30 },
        ),
        fc.array(
          fc.record({
            name: str,
            rating: fc.option(fc.double(), { nil: undefined }),
            lower: fc.option(fc.double(), { nil: undefined }),
            upper: fc.option(fc.double(), { nil: undefined }),
            unrated: fc.option(fc.boolean(), { nil: undefined }),
          }),
          { maxLength: 30 },
        ),
        (runNames, reviews, monitors, leaders) => {
          const view = buildHomeView(
            snapshot({ runs: runNames.map((n, i) => run(i, n)), reviews, monitors, leaders }),
            '/arbiter',
            NOW,
          );
          expect(limitProblems(view.blocks)).toEqual([]);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('loadHomeSnapshot', () => {
  it('loads every wired part, marks the missing ones, and survives one that throws', async () => {
    const errors: string[] = [];
    const data: HomeData = {
      recentRuns: async (limit) => Array.from({ length: limit }, (_, i) => run(i)),
      openReviewsFor: async (user) => {
        if (user === 'U1') throw new Error('reviews store down');
        return [];
      },
      leaderboardTop: (n) => Array.from({ length: n }, (_, i) => ({ name: `m${i}`, rating: 1000 - i })),
    };
    const s = await loadHomeSnapshot(data, { user: 'U1', admin: true }, (part) => errors.push(part));
    expect(s.runs).toMatchObject({ ok: true });
    expect(s.runs.ok && s.runs.rows).toHaveLength(10);
    expect(s.reviews).toEqual({ ok: false, reason: 'error' });
    expect(s.monitors).toEqual({ ok: false, reason: 'not-available' });
    expect(s.leaders.ok && s.leaders.rows).toHaveLength(5);
    expect(errors).toEqual(['reviews']);
    expect(limitProblems(buildHomeView(s, '/arbiter', NOW).blocks)).toEqual([]);
  });
});

describe('loadHomeSnapshot for a viewer', () => {
  const withOrigin = (i: number, origin: Run['origin'], trigger?: Run['trigger']): Run =>
    ({ ...run(i), origin, ...(trigger ? { trigger } : {}) }) as Run;
  const data: HomeData = {
    recentRuns: () => [
      withOrigin(1, { user: 'UADMIN', channel: 'CIN' }),
      withOrigin(2, { user: 'UADMIN', channel: 'GOUT' }),
      withOrigin(3, { user: 'UME', channel: 'DME' }),
      withOrigin(4, undefined, { reason: 'button', prompt: { name: 'p', version: 2 }, requestedBy: 'UME' }),
      withOrigin(5, undefined),
    ],
    openReviewsFor: () => [
      { id: 'rev_in', title: 'in', pending: 1, channel: 'CIN', dm: false },
      { id: 'rev_out', title: 'out', pending: 1, channel: 'GOUT', dm: false },
      { id: 'rev_dm', title: 'dm', pending: 1, channel: 'UADMIN', dm: true },
    ],
    monitors: () => [
      { name: 'seen', schedule: 'every 30m', failing: false, paused: false, channel: 'CIN' },
      { name: 'hidden', schedule: 'every 30m', failing: false, paused: false, channel: 'GOUT' },
    ],
    leaderboardTop: (n, include) =>
      [
        { name: 'in-model', rating: 1100, channel: 'CIN' },
        { name: 'out-model', rating: 1200, channel: 'GOUT' },
      ]
        .filter((l) => !include || include(l.channel))
        .slice(0, n),
  };

  it('a member sees what comes from channels they are in, their own runs and their DM ballots, nothing else', async () => {
    const s = await loadHomeSnapshot(data, { user: 'UME', admin: false, channels: new Set(['CIN']) });
    expect(s.runs.ok && s.runs.rows.map((r) => r._id)).toEqual(['run_1', 'run_3', 'run_4']);
    expect(s.reviews.ok && s.reviews.rows.map((r) => r.id)).toEqual(['rev_in', 'rev_dm']);
    expect(s.monitors.ok && s.monitors.rows.map((m) => m.name)).toEqual(['seen']);
    expect(s.leaders.ok && s.leaders.rows.map((l) => l.name)).toEqual(['in-model']);
    const text = JSON.stringify(buildHomeView(s, '/arbiter', NOW).blocks);
    expect(text).toContain('from channels you are in');
    expect(text).not.toContain('out-model');
  });

  it('an admin sees everything and is told it is the admin view', async () => {
    const s = await loadHomeSnapshot(data, { user: 'UADMIN', admin: true });
    expect(s.runs.ok && s.runs.rows).toHaveLength(5);
    expect(s.leaders.ok && s.leaders.rows.map((l) => l.name)).toEqual(['in-model', 'out-model']);
    expect(JSON.stringify(buildHomeView(s, '/arbiter', NOW).blocks)).toContain('Admin view');
  });
});
