import { describe, expect, it } from 'vitest';
import { parseEnv } from './env.ts';
import { ArbiterError } from './errors.ts';
import { createLogger, logFailure } from './logger.ts';
import { createScrubber } from './redact.ts';

describe('logging never leaks secrets', () => {
  const env = parseEnv({
    SLACK_BOT_TOKEN: 'xoxb-1111-2222-abcdefsecret',
    SLACK_SIGNING_SECRET: 'sign-me-0123456789',
    MONGODB_URI: 'mongodb://arbiter:p%40ssw0rd-long@db.internal:27017/arbiter',
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
  });

  it('scrubs secret values wherever they appear in a line', () => {
    const lines: string[] = [];
    const logger = createLogger(env, { write: (l) => lines.push(l) });
    logger.info({ url: 'https://slack.com/api?token=xoxb-1111-2222-abcdefsecret' }, 'calling Slack');
    logger.error(
      { err: new Error('auth failed for mongodb://arbiter:p%40ssw0rd-long@db.internal:27017') },
      'mongo down',
    );
    logger.warn('password was p@ssw0rd-long');
    logger.info({ headers: { authorization: 'Bearer abc' } }, 'request');
    const all = lines.join('\n');
    expect(all).not.toContain('abcdefsecret');
    expect(all).not.toContain('p%40ssw0rd-long');
    expect(all).not.toContain('p@ssw0rd-long');
    expect(all).not.toContain('Bearer abc');
    expect(all).toContain('[redacted]');
    expect(lines).toHaveLength(4);
  });

  it('removes credentials from any URL', () => {
    const scrub = createScrubber([]);
    expect(scrub('connect https://user:hunter2@example.com/x')).toBe(
      'connect https://user:[redacted]@example.com/x',
    );
  });
});

describe('logFailure', () => {
  it('logs a user mistake at info with its code and no stack, anything else at error with its stack', () => {
    const lines: string[] = [];
    const logger = createLogger({ LOG_LEVEL: 'info', LOG_FORMAT: 'json' }, { write: (l) => lines.push(l) });
    logFailure(
      logger,
      new ArbiterError('USAGE', 'Suite "../x" is outside the suites folder.'),
      { ref: 'r1' },
      'failed',
    );
    logFailure(logger, new ArbiterError('STORE_UNAVAILABLE', 'store down'), { ref: 'r2' }, 'failed');
    logFailure(logger, new TypeError('x is undefined'), { ref: 'r3' }, 'failed');
    const [mistake, infra, bug] = lines.map((l) => JSON.parse(l));
    expect(mistake).toMatchObject({
      level: 30,
      code: 'USAGE',
      ref: 'r1',
      reason: expect.stringMatching(/outside/),
    });
    expect(mistake.err).toBeUndefined();
    expect(infra).toMatchObject({ level: 50, ref: 'r2', err: { message: 'store down' } });
    expect(bug).toMatchObject({
      level: 50,
      ref: 'r3',
      err: { type: 'TypeError', stack: expect.stringMatching(/TypeError/) },
    });
  });
});
