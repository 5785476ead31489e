import { describe, expect, it, vi } from 'vitest';
import { ENV_VARS, type ParseEnvOptions, parseEnv, RENAMED_ENV_VARS } from './env.ts';
import { isArbiterError } from './errors.ts';
import { describeEnv, REDACTED } from './redact.ts';

function problems(env: Record<string, string>, options?: ParseEnvOptions): string {
  try {
    parseEnv(env, options);
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

  it('reads time variables in the duration syntax, as milliseconds', () => {
    const env = parseEnv({
      JOB_LEASE: '1m',
      SHUTDOWN_GRACE: '0s',
      LLM_TIMEOUT: '90s',
      MONGODB_CONNECT_TIMEOUT: '500ms',
    });
    expect(env).toMatchObject({
      JOB_LEASE: 60_000,
      SHUTDOWN_GRACE: 0,
      LLM_TIMEOUT: 90_000,
      MONGODB_CONNECT_TIMEOUT: 500,
      LLM_RETRY_BUDGET: 120_000,
      LLM_BREAKER_COOLDOWN: 30_000,
    });
    // Shown (arbiter config, .env.example) as written, not as milliseconds.
    expect(describeEnv(env)).toMatchObject({ JOB_LEASE: '1m', SHUTDOWN_GRACE: '0ms', LLM_TIMEOUT: '90s' });
  });

  it('reads an old _MS name with a warning naming the new variable and value', () => {
    const warnings: string[] = [];
    const env = parseEnv(
      { JOB_LEASE_MS: '60000', LLM_TIMEOUT_MS: '1500', SHUTDOWN_GRACE_MS: '0' },
      { warn: (m) => warnings.push(m) },
    );
    expect(env.JOB_LEASE).toBe(60_000);
    expect(env.LLM_TIMEOUT).toBe(1500);
    expect(env.SHUTDOWN_GRACE).toBe(0);
    expect(warnings).toEqual([
      'JOB_LEASE_MS=60000 is deprecated: use JOB_LEASE=1m',
      'SHUTDOWN_GRACE_MS=0 is deprecated: use SHUTDOWN_GRACE=0ms',
      'LLM_TIMEOUT_MS=1500 is deprecated: use LLM_TIMEOUT=1500ms',
    ]);
    for (const old of Object.keys(RENAMED_ENV_VARS)) expect(old).toMatch(/_MS$/);
  });

  it('when the old and the new name are both set, the new one wins with a warning', () => {
    const warnings: string[] = [];
    const env = parseEnv({ JOB_LEASE_MS: '60000', JOB_LEASE: '2m' }, { warn: (m) => warnings.push(m) });
    expect(env.JOB_LEASE).toBe(120_000);
    expect(warnings).toEqual([
      'JOB_LEASE_MS=60000 and JOB_LEASE=2m are both set: JOB_LEASE wins; remove JOB_LEASE_MS',
    ]);
  });

  it('warns on stderr by default', () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      parseEnv({ LLM_RETRY_BUDGET_MS: '30000' });
      expect(write).toHaveBeenCalledWith(
        'warning: LLM_RETRY_BUDGET_MS=30000 is deprecated: use LLM_RETRY_BUDGET=30s\n',
      );
    } finally {
      write.mockRestore();
    }
  });

  it.each([
    [{ JOB_LEASE: '30000' }, /JOB_LEASE: expected a duration from 1s to 1h like 30s .* \(got "30000"\)/],
    [{ LLM_TIMEOUT: '2h' }, /LLM_TIMEOUT: expected a duration from 1s to 10m like 1m/],
    [{ SHUTDOWN_GRACE: 'soon' }, /SHUTDOWN_GRACE: expected a duration from 0s to 10m like 10s/],
    [
      { JOB_LEASE_MS: '30s' },
      /JOB_LEASE_MS: expected a whole number of milliseconds \(got "30s"\); better, use JOB_LEASE with a duration, e\.g\. JOB_LEASE=30s/,
    ],
    [
      { MONGODB_CONNECT_TIMEOUT_MS: '5' },
      /MONGODB_CONNECT_TIMEOUT_MS \(read as MONGODB_CONNECT_TIMEOUT\): expected a duration from 100ms to 2m like 5s .*\(got MONGODB_CONNECT_TIMEOUT_MS=5\)/,
    ],
  ])('rejects the time variable %j naming it, with an example', (env, message) => {
    const warnings: string[] = [];
    expect(problems(env, { warn: (m) => warnings.push(m) })).toMatch(message);
    expect(warnings).toEqual([]);
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
