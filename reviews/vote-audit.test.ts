import { describe, expect, it } from 'vitest';
import type { VoteDoc } from './index.ts';
import type { Choice } from './types.ts';
import type { VoteOutcome } from './repository.ts';
import { votedBy } from './votes.ts';

const at = new Date('2026-12-01T10:00:00Z');

function vote(history: [Choice, string][]): VoteDoc {
  const last = history.at(-1)!;
  return {
    _id: 'pair_1|U1',
    reviewId: 'rev_1',
    pairId: 'pair_1',
    user: 'U1',
    choice: last[0],
    lastKey: last[1],
    history: history.map(([choice, key]) => ({ choice, key, at })),
    createdAt: at,
    updatedAt: at,
  };
}

describe('votedBy: what a click did to a vote, for the audit trail', () => {
  it.each<[string, VoteOutcome, string, ReturnType<typeof votedBy>]>([
    ['a new vote', { kind: 'new', vote: vote([['a', 'k1']]) }, 'k1', { choice: 'a' }],
    [
      'a changed vote',
      {
        kind: 'changed',
        vote: vote([
          ['a', 'k1'],
          ['b', 'k2'],
        ]),
        previous: 'a',
      },
      'k2',
      { choice: 'b', previous: 'a' },
    ],
    [
      'the same choice again',
      {
        kind: 'same',
        vote: vote([
          ['a', 'k1'],
          ['a', 'k2'],
        ]),
      },
      'k2',
      undefined,
    ],
    // A redelivered click is read back from the history: a retry writes the record its first attempt missed.
    ['a redelivered first vote', { kind: 'duplicate', vote: vote([['a', 'k1']]) }, 'k1', { choice: 'a' }],
    [
      'a redelivered change',
      {
        kind: 'duplicate',
        vote: vote([
          ['a', 'k1'],
          ['tie', 'k2'],
        ]),
      },
      'k2',
      { choice: 'tie', previous: 'a' },
    ],
    [
      'a redelivered same choice',
      {
        kind: 'duplicate',
        vote: vote([
          ['a', 'k1'],
          ['a', 'k2'],
        ]),
      },
      'k2',
      undefined,
    ],
    ['a click the vote never took', { kind: 'duplicate', vote: vote([['a', 'k1']]) }, 'k9', undefined],
  ])('%s', (_name, outcome, key, expected) => {
    expect(votedBy(outcome, key)).toEqual(expected);
  });
});
