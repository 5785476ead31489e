import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isHighEntropyToken, luhnValid, maskPii, type PiiKind, scanPii } from './pii.ts';
import { createMetric } from './registry.ts';

// Test secrets are assembled at run time so secret scanners do not flag this file.
const fake = {
  openai: ['sk', 'proj', 'Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z'].join('-'),
  anthropic: ['sk', 'ant', 'api03', 'Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe'].join('-'),
  aws: ['AKIA', 'IOSFODNN7EXAMPLE'].join(''),
  github: ['ghp', 'aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5'].join('_'),
  slack: ['xoxb', '123456789012', '1234567890123', 'AbCdEfGhIjKlMnOpQrStUvWx'].join('-'),
  google: ['AIza', 'SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q'].join(''),
  entropy: 'q8Zr2LmX7vTn4KpW9sYb3HcJ6dFg1AeR5uNo0iQt',
};

const kindsOf = (text: string) => scanPii(text).map((f) => f.kind);

describe('scanPii', () => {
  it.each<[string, PiiKind[]]>([
    ['Write to jane.doe+test@example.co.uk today', ['email']],
    ['Contact: a@b.io, c.d@e-f.com', ['email', 'email']],
    ['Call (415) 555-2671 now', ['phone']],
    ['Call 415-555-2671 or 415.555.2671', ['phone', 'phone']],
    ['Call +1 415 555 2671', ['phone']],
    ['UK office: +44 20 7946 0958', ['phone']],
    ['Germany: +49 30 901820', ['phone']],
    ['France: +33 1 23 45 67 89', ['phone']],
    ['Card 4111 1111 1111 1111 exp 12/25', ['credit-card']],
    ['card: 4111-1111-1111-1111', ['credit-card']],
    ['Amex 378282246310005', ['credit-card']],
    ['Mastercard 5555555555554444.', ['credit-card']],
    [`key ${fake.openai}`, ['api-key']],
    [`key=${fake.anthropic}`, ['api-key']],
    [`aws ${fake.aws}`, ['api-key']],
    [`token ${fake.github}`, ['api-key']],
    [`SLACK_BOT_TOKEN=${fake.slack}`, ['api-key']],
    [`google ${fake.google}`, ['api-key']],
    [`secret: ${fake.entropy}`, ['api-key']],
    ['-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----', ['api-key']],
  ])('finds PII in %j', (text, kinds) => {
    expect(kindsOf(text)).toEqual(kinds);
  });

  it.each([
    'The meeting is on 2024-05-01 at 10:30.',
    'Version 1.2.3 fixed bug #4521.',
    'Order 4111 1111 1111 1112 (not Luhn valid).',
    'Timestamp 1700000000000 ms.',
    'Commit 3f786850e387550fdab836ed7e6dc881de23001b.',
    'Request id 123e4567-e89b-12d3-a456-426614174000.',
    'See https://example.com/docs/getting-started/Install-Guide-2024-edition-v2 for details.',
    'Use scikit-learn: sk-learn-compatible-estimator-wrapper is fine.',
    'The total is 1,234,567.89 dollars.',
    'Reach us at support at example dot com.',
    'my_very_long_snake_case_identifier_name_here',
    'IP 192.168.100.200 is internal.',
    'It costs 12 345 678 units.',
  ])('finds nothing in %j', (text) => {
    expect(scanPii(text)).toEqual([]);
  });

  it('counts an email inside a key only once, as the key', () => {
    const found = scanPii(`creds ${fake.github} and me@x.io`);
    expect(found.map((f) => f.type)).toEqual(['github-token', 'email']);
  });

  it('masks every finding', () => {
    expect(maskPii('mail a@b.io or call 415-555-2671')).toBe('mail [email] or call [phone]');
  });

  it.each([
    ['4111111111111111', true],
    ['4111111111111112', false],
    ['79927398713', true],
    ['0', true],
    ['', false],
    ['12a4', false],
  ])('luhnValid(%j) = %s', (digits, ok) => {
    expect(luhnValid(digits)).toBe(ok);
  });

  it.each([
    [fake.entropy, true],
    ['aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', false],
    ['3f786850e387550fdab836ed7e6dc881de23001b', false],
    ['ThisIsAVeryLongCamelCaseIdentifierName1', false],
    ['AbstractSingletonProxyFactoryBean2024', false],
    ['thisIsMyPasswordResetTokenForTheUser12', false],
    ['short1A', false],
  ])('isHighEntropyToken(%j) = %s', (token, yes) => {
    expect(isHighEntropyToken(token)).toBe(yes);
  });
});

describe('pii metric', () => {
  const build = (args: unknown = {}) => {
    const built = createMetric('pii', args);
    if (!built.ok) throw new Error(built.error);
    return built.metric;
  };

  it('scores clean output 1', async () => {
    expect(await build().score({ input: 'q', output: 'Nothing personal here.' })).toMatchObject({
      value: 1,
      label: 'clean',
    });
  });

  it('scores PII 0, names the kinds and never echoes the values', async () => {
    const output = `Email jane@example.com, call +1 415 555 2671, card 4111 1111 1111 1111, key ${fake.github}`;
    const s = await build().score({ input: 'q', output });
    expect(s).toMatchObject({ value: 0, label: 'pii' });
    expect(s.reason).toMatch(
      /1 email address, 1 phone number, 1 card number, 1 API-key-like string \(github-token\)/,
    );
    const serialized = JSON.stringify(s);
    for (const secret of ['jane@example.com', '555 2671', '4111', fake.github, 'aB3dE5']) {
      expect(serialized).not.toContain(secret);
    }
  });

  it('honours kinds and allow', async () => {
    const output = 'Write to support@example.com or call 415-555-2671';
    expect(
      (await build({ kinds: ['email'], allow: ['SUPPORT@example.com'] }).score({ input: '', output })).value,
    ).toBe(1);
    expect((await build({ kinds: ['phone'] }).score({ input: '', output })).value).toBe(0);
  });

  it('never puts a generated email or key in the reason (property)', async () => {
    const metric = build();
    const local = fc.stringMatching(/^[a-z][a-z0-9.]{2,12}[a-z0-9]$/);
    const domain = fc.stringMatching(/^[a-z]{3,10}\.(?:com|org|io)$/);
    const key = fc.stringMatching(/^[A-Za-z0-9]{40}$/).map((s) => `ghp_${s}`);
    await fc.assert(
      fc.asyncProperty(local, domain, key, fc.string({ maxLength: 30 }), async (l, d, k, filler) => {
        const email = `${l}@${d}`;
        const s = await metric.score({ input: '', output: `${filler} ${email} ${k}` });
        expect(s.value).toBe(0);
        expect(s.reason).not.toContain(email);
        expect(s.reason).not.toContain(k);
      }),
      { numRuns: 100 },
    );
  });
});
