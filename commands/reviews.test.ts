import { describe, expect, it } from 'vitest';
import { runLabel } from './reviews.ts';

describe('runLabel (the contender a run stands for on the leaderboard)', () => {
  it.each([
    {
      target: { type: 'model', model: 'anthropic:claude-sonnet-4-5' },
      want: 's · anthropic:claude-sonnet-4-5',
    },
    {
      target: { type: 'prompt', name: 'support', version: 7, model: 'gemini:gemini-2.5-flash' },
      want: 's · prompt support v7 on gemini:gemini-2.5-flash',
    },
    { target: { type: 'prompt', name: 'support', label: 'staging' }, want: 's · prompt support@staging' },
    { target: { type: 'prompt', name: 'support' }, want: 's · prompt support@production' },
    { target: { type: 'http', url: 'https://agent.example.com/chat' }, want: 's · http agent.example.com' },
    { target: { type: 'http', url: 'not a url' }, want: 's · http' },
    { target: { type: 'recorded' }, want: 's · recorded' },
  ])('$want', ({ target, want }) => {
    expect(runLabel({ suiteName: 's', suiteJson: JSON.stringify({ name: 's', target }) })).toBe(want);
  });

  it('falls back when the stored suite cannot be read', () => {
    expect(runLabel({ suiteName: 's', suiteJson: '{not json' })).toBe('s · unknown target');
  });
});
