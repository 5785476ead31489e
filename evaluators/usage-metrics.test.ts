import { describe, expect, it } from 'vitest';
import { createMetric } from './registry.ts';
import type { Item, Score } from './types.ts';

async function run(name: string, args: unknown, item: Partial<Item>): Promise<Score> {
  const built = createMetric(name, args);
  if (!built.ok) throw new Error(built.error);
  return built.metric.score({ input: 'q', output: 'a', ...item });
}

const usage = (inputTokens: number, outputTokens: number, costUsd?: number) => ({
  inputTokens,
  outputTokens,
  ...(costUsd !== undefined ? { costUsd } : {}),
});

describe('cost', () => {
  it.each([
    [0.01, usage(100, 10, 0.004), 1],
    [0.01, usage(100, 10, 0.01), 1],
    [0.01, usage(100, 10, 0.0101), 0],
    [0.01, usage(0, 0, 0), 1],
  ])('maxUsd %d with %j → %d', async (maxUsd, u, value) => {
    expect((await run('cost', { maxUsd }, { usage: u })).value).toBe(value);
  });

  it.each([
    [{}, '`usage`'],
    [{ usage: usage(10, 10) }, '`usage.costUsd`'],
  ])('an item %j is an input error naming %s', async (item, field) => {
    const s = await run('cost', { maxUsd: 1 }, item);
    expect(s.error).toContain(field);
    expect(s.errorCause).toBe('input');
  });
});

describe('tokens', () => {
  it.each([
    [{ max: 100 }, usage(60, 40), 1],
    [{ max: 100 }, usage(60, 41), 0],
    [{ maxInput: 50 }, usage(60, 1), 0],
    [{ maxOutput: 50 }, usage(600, 50), 1],
    [{ maxOutput: 50, max: 100 }, usage(60, 50), 0],
  ])('%j with %j → %d', async (args, u, value) => {
    expect((await run('tokens', args, { usage: u })).value).toBe(value);
  });

  it('an item with no usage is an input error naming `usage`', async () => {
    const s = await run('tokens', { max: 10 }, {});
    expect(s.error).toContain('`usage`');
    expect(s.errorCause).toBe('input');
  });

  it('needs at least one limit', () => {
    const built = createMetric('tokens', {});
    expect(built.ok).toBe(false);
    if (!built.ok) expect(built.error).toContain('expected max, maxInput or maxOutput');
  });
});

describe('finish-reason', () => {
  it.each([
    [{}, undefined, 1],
    [{}, 'truncated', 0],
    [{ expected: 'refused' }, 'refused', 1],
    [{ expected: ['complete', 'truncated'] }, 'truncated', 1],
    [{ expected: ['complete', 'truncated'] }, 'refused', 0],
    [{ expected: 'refused' }, undefined, 0],
  ])('%j with finish %j → %d', async (args, finish, value) => {
    const s = await run('finish-reason', args, finish ? { finish } : {});
    expect(s.value).toBe(value);
  });

  it('rejects an unknown finish reason when built', () => {
    expect(createMetric('finish-reason', { expected: 'stopped' }).ok).toBe(false);
  });
});
