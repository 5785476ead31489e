import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration.ts';

describe('parseDuration', () => {
  it.each([
    ['45s', 45_000],
    ['30m', 1_800_000],
    ['30min', 1_800_000],
    ['2h', 7_200_000],
    ['12H', 43_200_000],
    ['1d', 86_400_000],
    ['2d', 172_800_000],
    ['1w', 604_800_000],
    [' 3 h ', 10_800_000],
  ])('%s = %s ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['0m', 'm', '1.5h', '-1h', '10', '1y', '1 hour', '', '99999999999999999999d'])(
    'refuses %j',
    (text) => expect(parseDuration(text)).toBeUndefined(),
  );
});
