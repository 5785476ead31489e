import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createMonitorStore } from '../monitors/index.ts';
import { MonitorSchema } from '../monitors/schema.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { createHomeReads, leaderRows } from './home.ts';

const rating = (name: string, r: number, ci?: [number, number]) => ({
  name,
  rating: r,
  ...(ci ? { ci: { lower: ci[0], upper: ci[1] } } : {}),
});

describe('the Home tab leaderboard rows', () => {
  it.each([
    {
      case: 'rated first, with intervals, then unrated names up to n',
      table: { contenders: [rating('a', 1100, [1050, 1150]), rating('b', 900)], unrated: ['c', 'd'] },
      n: 3,
      rows: [
        { name: 'a', rating: 1100, lower: 1050, upper: 1150 },
        { name: 'b', rating: 900 },
        { name: 'c', unrated: true },
      ],
    },
    {
      case: 'more rated than n: no unrated row',
      table: { contenders: [rating('a', 1100), rating('b', 900)], unrated: ['c'] },
      n: 1,
      rows: [{ name: 'a', rating: 1100 }],
    },
    { case: 'nothing voted yet', table: { contenders: [], unrated: [] }, n: 5, rows: [] },
  ])('$case', ({ table, n, rows }) => {
    expect(leaderRows(table as Parameters<typeof leaderRows>[0], n)).toEqual(rows);
  });
});

describe('the Home tab monitor rows, read from the monitor store', () => {
  const cleanups: (() => void | Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('says how many alerts fire and since when (the newest), whether it fails or is paused, and its channel', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const store = await createEmbeddedStore({ dir: join(dir, 'data'), autocompactMs: 0 });
    cleanups.push(() => store.close());
    const monitorStore = await createMonitorStore(store);
    const monitor = (name: string) =>
      MonitorSchema.parse({
        name,
        schedule: { every: '1h' },
        source: { type: 'file', path: 'examples/datasets/quickstart.jsonl' },
        extract: { input: 'input', output: 'output' },
        metrics: [{ metric: 'pii' }],
        publish: { channel: 'C123' },
      });
    const tick = new Date('2026-12-01T10:00:00Z');
    await monitorStore.saveState({
      _id: 'firing',
      alerts: {
        a: { firing: true, since: '2026-12-01T08:00:00.000Z' },
        b: { firing: true, since: '2026-12-01T09:00:00.000Z' },
        c: { firing: false },
      },
      history: [],
      failing: true,
      lastTickTime: tick,
    });
    await monitorStore.setPaused('quiet', true, { user: 'U1', at: tick });
    const home = createHomeReads({
      runs: { listRuns: async () => [] },
      reviews: { openFor: async () => [], standings: async () => ({}) as never },
      monitors: [monitor('firing'), monitor('quiet')],
      monitorStore,
    });
    expect(await home.monitors()).toEqual([
      {
        name: 'firing',
        schedule: 'every 1h',
        lastTickTime: tick,
        failing: true,
        paused: false,
        channel: 'C123',
        lastAlert: { time: new Date('2026-12-01T09:00:00.000Z'), text: '2 alert(s) firing' },
      },
      {
        name: 'quiet',
        schedule: 'every 1h',
        lastTickTime: undefined,
        failing: false,
        paused: true,
        channel: 'C123',
      },
    ]);
  });
});
