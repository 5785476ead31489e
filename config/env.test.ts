import { describe, expect, it } from 'vitest';
import { ENV_VARS, parseEnv } from './env.ts';
import { isArbiterError } from './errors.ts';
import { describeEnv, REDACTED } from './redact.ts';

function problems(env: Record<string, string>): string {
  try {
    parseEnv(env);
  } catch (err) {
    expect(isArbiterError(err, 'CONFIG_INVALID')).toBe(true);
    expect((err as { exitCode: number }).exitCode).toBe(2);
    return (err as Error).message;
  }
  throw new Error('expected the environment to be rejected');
}

describe('environment', () => {
  it('an empty environment gives the embedded defaults', () => {
    const env = parseEnv({});
    expect(env).toMatchObject({
      PORT: 3000,
      DATA_DIR: './data',
      MONGODB_DB: 'arbiter',
      SLACK_COMMAND: '/arbiter',
      LANGFUSE_BASE_URL: 'https://cloud.langfuse.com',
      WORKER_CONCURRENCY: 4,
      SUITES_DIR: 'examples/suites',
      MONITORS_DIR: 'examples/monitors',
      DIGESTS_DIR: 'examples/digests',
      ARBITER_ADMINS: [],
    });
    expect(env.MONGODB_URI).toBeUndefined();
    expect(env.SLACK_BOT_TOKEN).toBeUndefined();
  });

  it('treats empty strings as unset and parses numbers and lists', () => {
    const env = parseEnv({
      PORT: '8080',
      MONGODB_URI: '',
      ARBITER_ADMINS: 'U012ABC, U034DEF',
      ARBITER_REVIEWERS: 'S0GROUP1',
    });
    expect(env.PORT).toBe(8080);
    expect(env.MONGODB_URI).toBeUndefined();
    expect(parseEnv({}).LLM_CACHE_TTL).toBe('30d');
    expect(parseEnv({ LLM_CACHE_TTL: '12h' }).LLM_CACHE_TTL).toBe('12h');
    expect(env.ARBITER_ADMINS).toEqual(['U012ABC', 'U034DEF']);
    expect(env.ARBITER_REVIEWERS).toEqual(['S0GROUP1']);
  });

  it.each([
    [{ PORT: 'abc' }, /PORT: expected a whole number from 0 to 65535 \(got "abc"\)/],
    [{ PORT: '70000' }, /PORT: expected a whole number from 0 to 65535/],
    [{ MONGODB_URI: 'postgres://x' }, /MONGODB_URI: expected a MongoDB connection string/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL:/],
    [{ SLACK_API_URL: 'not a url' }, /SLACK_API_URL: expected an http\(s\) URL/],
    [{ ARBITER_ADMINS: 'bob' }, /ARBITER_ADMINS: expected comma-separated Slack ids/],
    [{ ARBITER_JUDGE_MODEL: 'claude' }, /ARBITER_JUDGE_MODEL: expected provider:model/],
    [{ LLM_CACHE_TTL: 'forever' }, /LLM_CACHE_TTL: expected a duration of at least a minute, e\.g\. 30d/],
    [{ LLM_CACHE_TTL: '30s' }, /LLM_CACHE_TTL: expected a duration of at least a minute/],
    [{ SLACK_BOT_TOKEN: 'xoxb-1-2-3' }, /SLACK_SIGNING_SECRET: required in HTTP mode/],
    [{ SLACK_APP_TOKEN: 'xapp-1-2' }, /SLACK_BOT_TOKEN: required when SLACK_APP_TOKEN/],
    [{ LANGFUSE_PUBLIC_KEY: 'pk-lf-123' }, /LANGFUSE_SECRET_KEY: Langfuse needs both/],
    [
      { ARBITER_ADMIN: 'U0123' },
      /ARBITER_ADMIN: not a variable Arbiter knows \(did you mean ARBITER_ADMINS\?\)/,
    ],
  ])('rejects %j naming the variable', (env, message) => {
    expect(problems(env)).toMatch(message);
  });

  it('lists every problem at once', () => {
    const msg = problems({ PORT: 'x', WORKER_CONCURRENCY: '0' });
    expect(msg).toMatch(/2 problems/);
    expect(msg).toMatch(/PORT:/);
    expect(msg).toMatch(/WORKER_CONCURRENCY:/);
  });

  it('never echoes a secret value in an error', () => {
    const msg = problems({ SLACK_BOT_TOKEN: 'xoxp-super-secret-user-token' });
    expect(msg).toMatch(/SLACK_BOT_TOKEN: expected a bot token starting with xoxb-/);
    expect(msg).not.toContain('super-secret');
  });

  it('describes the configuration with secrets redacted', () => {
    const env = parseEnv({
      SLACK_BOT_TOKEN: 'xoxb-abc-def-ghi',
      SLACK_SIGNING_SECRET: 'signing-secret-1234',
      PORT: '9000',
    });
    const shown = describeEnv(env);
    expect(shown.SLACK_BOT_TOKEN).toBe(REDACTED);
    expect(shown.SLACK_SIGNING_SECRET).toBe(REDACTED);
    expect(shown.PORT).toBe('9000');
    expect(JSON.stringify(shown)).not.toContain('abc-def');
  });

  it('every variable has a doc line, and every secret is marked', () => {
    for (const [name, spec] of Object.entries(ENV_VARS)) {
      expect(spec.doc.length, name).toBeGreaterThan(10);
      if (/KEY$|TOKEN$|SECRET|URI$/.test(name) && name !== 'LANGFUSE_PUBLIC_KEY')
        expect(spec.secret, name).toBe(true);
    }
  });
});
