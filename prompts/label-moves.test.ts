import { describe, expect, it } from 'vitest';
import { describeMove, summarizeChange, type VersionEvent } from './label-moves.ts';

let n = 0;
function ev(
  action: VersionEvent['action'],
  version: number,
  labels: string[],
  at = '2026-01-01T00:00:00Z',
): VersionEvent {
  n += 1;
  return {
    eventId: `e${n}`,
    action,
    version,
    labels,
    tags: [],
    timestamp: at,
    user: 'alice',
    commitMessage: action === 'created' ? `v${version}` : null,
  };
}
const known = (o: Partial<Record<number, string[]>>) =>
  new Map(Object.entries(o).flatMap(([k, v]) => (v ? [[Number(k), v] as const] : [])));

describe('summarizeChange', () => {
  it.each([
    {
      name: 'two "updated" events of one label move become one move',
      events: [ev('updated', 4, ['production', 'latest']), ev('updated', 3, [])],
      known: { 3: ['production'], 4: ['latest'] },
      moves: ['production: v3 → v4'],
      focus: 4,
      baseline: { version: 3, reason: 'label-holder' },
    },
    {
      name: 'a created version taking latest: implicit loss on the old version, diff against the previous version',
      events: [ev('created', 5, ['latest'])],
      known: { 4: ['production', 'latest'] },
      moves: ['latest: v4 → v5'],
      focus: 5,
      baseline: { version: 4, reason: 'previous-version' },
    },
    {
      name: 'unknown earlier labels: the single other updated version is the source',
      events: [ev('updated', 3, []), ev('updated', 4, ['production'])],
      known: {},
      moves: ['production: v3 → v4'],
      focus: 4,
      baseline: { version: 3, reason: 'label-holder' },
    },
    {
      name: 'unknown earlier labels and no source: reported as uncertain',
      events: [ev('updated', 7, ['staging'])],
      known: {},
      moves: ['staging: now on v7 (earlier labels of v7 not known to Arbiter)'],
      focus: 7,
      baseline: undefined,
    },
    {
      name: 'a label removed',
      events: [ev('updated', 3, [])],
      known: { 3: ['staging'] },
      moves: ['staging: removed from v3'],
      focus: 3,
      baseline: undefined,
    },
    {
      name: 'a deleted version',
      events: [ev('deleted', 2, ['staging'])],
      known: { 2: ['staging'] },
      moves: ['staging: removed from v2'],
      focus: 2,
      baseline: undefined,
    },
    {
      name: 'first version of a prompt',
      events: [ev('created', 1, ['production', 'latest'])],
      known: {},
      moves: ['production: set on v1', 'latest: set on v1'],
      focus: 1,
      baseline: undefined,
    },
    {
      name: 'tags only: no move',
      events: [ev('updated', 3, ['production'])],
      known: { 3: ['production'] },
      moves: [],
      focus: 3,
      baseline: undefined,
    },
  ])('$name', ({ events, known: k, moves, focus, baseline }) => {
    const c = summarizeChange('p', events, known(k));
    expect(c.moves.map(describeMove)).toEqual(moves);
    expect(c.focus).toBe(focus);
    expect(c.baseline).toEqual(baseline);
  });

  it('uses the latest event of a version and stores the state after', () => {
    const c = summarizeChange(
      'p',
      [
        ev('updated', 4, ['production'], '2026-01-01T00:00:02Z'),
        ev('updated', 4, ['staging'], '2026-01-01T00:00:01Z'),
        ev('updated', 3, []),
      ],
      known({ 3: ['production'], 4: [] }),
    );
    expect(c.moves.map(describeMove)).toEqual(['production: v3 → v4']);
    expect(c.stateAfter).toEqual([
      { version: 3, labels: [] },
      { version: 4, labels: ['production'] },
    ]);
    expect(c.actions).toEqual(['updated']);
  });

  it('is order independent for the two sibling events', () => {
    const a = ev('updated', 4, ['production']);
    const b = ev('updated', 3, []);
    const k = known({ 3: ['production'], 4: [] });
    expect(summarizeChange('p', [a, b], k).moves).toEqual(summarizeChange('p', [b, a], k).moves);
  });
});
