import { describe, expect, it } from 'vitest';
import { createLogger, type LogSink, parseEnv } from '../config/index.ts';
import { type AppHooks, jobEnqueued, runFinished, runProgressed } from './hooks.ts';

function logged() {
  const lines: Record<string, unknown>[] = [];
  const sink: LogSink = { write: (line: string) => void lines.push(JSON.parse(line)) };
  return { logger: createLogger(parseEnv({ LOG_LEVEL: 'info' }), sink), lines };
}

describe('declared hooks', () => {
  it('runs the onRunFinished reactions in order; a failure is logged with its name and the run, the rest still run', async () => {
    const { logger, lines } = logged();
    const seen: string[] = [];
    const hooks: AppHooks = {
      onRunProgress: [],
      onJobEnqueued: [],
      onRunFinished: [
        {
          name: 'run report',
          run: async (id) => {
            seen.push(`report ${id}`);
            throw new Error('outbox down');
          },
        },
        { name: 'review re-check', run: async (id) => void seen.push(`review ${id}`) },
      ],
    };
    await expect(runFinished(hooks, 'run_1', logger)).resolves.toBeUndefined();
    expect(seen).toEqual(['report run_1', 'review run_1']);
    const warn = lines.find((l) => l.msg === 'run report failed');
    expect(warn).toMatchObject({ runId: 'run_1' });
    expect(JSON.stringify(warn)).toContain('outbox down');
  });

  it('progress and enqueue reactions never throw to their caller', () => {
    const { logger, lines } = logged();
    let woken = 0;
    const hooks: AppHooks = {
      onRunFinished: [],
      onRunProgress: [
        () => {
          throw new Error('boom');
        },
      ],
      onJobEnqueued: [
        () => {
          throw new Error('bang');
        },
        () => {
          woken += 1;
        },
      ],
    };
    expect(() => runProgressed(hooks, 'run_2', logger)).not.toThrow();
    expect(() => jobEnqueued(hooks, logger)).not.toThrow();
    expect(woken).toBe(1);
    expect(lines.map((l) => l.msg)).toEqual(['run progress reaction failed', 'job enqueued reaction failed']);
  });
});
