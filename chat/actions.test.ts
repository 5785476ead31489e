import { describe, expect, it } from 'vitest';
import { type ActionHandler, findActionHandler } from './actions.ts';

const handler = (prefix: string): ActionHandler => ({
  prefix,
  role: 'reader',
  handle: async () => ({}),
});

describe('findActionHandler', () => {
  const handlers = [handler('review'), handler('monitor.review'), handler('monitor'), handler('prompt')];
  it.each([
    ['review', 'review'],
    ['review:a', 'review'],
    ['review:both_bad~2', 'review'],
    ['monitor.review:confirm', 'monitor.review'],
    ['monitor:pause', 'monitor'],
    ['prompt:run_suite~1', 'prompt'],
    ['reviewer:a', undefined],
    ['prompt.run_suite', undefined],
    ['prompt:compare_production', 'prompt'],
    ['unknown', undefined],
  ])('%s → %s', (actionId, prefix) => {
    expect(findActionHandler(handlers, actionId)?.prefix).toBe(prefix);
  });
});
