import { describe, expect, it } from 'vitest';
import { signSlackRequest, verifySlackSignature } from './slack-signature.ts';

// Official example from Slack's "Verifying requests from Slack" guide (also in DESIGN.md).
const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const TIMESTAMP = '1531420618';
const BODY =
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
const SIGNATURE = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';
const at = (seconds: number) => new Date(seconds * 1000);
const NOW = at(1531420618 + 30);

const base = { signingSecret: SECRET, timestamp: TIMESTAMP, signature: SIGNATURE, rawBody: BODY, now: NOW };

describe('signSlackRequest', () => {
  it('reproduces the official test vector exactly', () => {
    expect(signSlackRequest(SECRET, TIMESTAMP, BODY)).toBe(SIGNATURE);
    expect(signSlackRequest(SECRET, 1531420618, Buffer.from(BODY))).toBe(SIGNATURE);
  });
});

describe('verifySlackSignature', () => {
  it('accepts the official test vector', () => {
    expect(verifySlackSignature(base)).toEqual({ ok: true });
    expect(verifySlackSignature({ ...base, rawBody: new TextEncoder().encode(BODY) })).toEqual({ ok: true });
    expect(
      verifySlackSignature({ ...base, signature: SIGNATURE.toUpperCase().replace('V0=', 'v0=') }),
    ).toEqual({ ok: true });
  });

  it.each([
    {
      name: 'tampered body',
      input: { rawBody: BODY.replace('roadrunner', 'coyote') },
      reason: 'signature_mismatch',
    },
    { name: 'body with trailing newline', input: { rawBody: `${BODY}\n` }, reason: 'signature_mismatch' },
    { name: 'wrong secret', input: { signingSecret: `${SECRET}x` }, reason: 'signature_mismatch' },
    { name: 'empty secret', input: { signingSecret: '' }, reason: 'missing_secret' },
    {
      name: 'timestamp swapped for another valid one',
      input: { timestamp: '1531420619' },
      reason: 'signature_mismatch',
    },
    {
      name: 'signature of another body',
      input: { signature: signSlackRequest(SECRET, TIMESTAMP, 'x') },
      reason: 'signature_mismatch',
    },
    { name: 'stale (5 min + 1 s old)', input: { now: at(1531420618 + 301) }, reason: 'stale_timestamp' },
    { name: 'future (5 min + 1 s ahead)', input: { now: at(1531420618 - 301) }, reason: 'future_timestamp' },
    { name: 'missing timestamp', input: { timestamp: undefined }, reason: 'missing_timestamp' },
    { name: 'empty timestamp', input: { timestamp: '' }, reason: 'missing_timestamp' },
    { name: 'non-numeric timestamp', input: { timestamp: '1531420618abc' }, reason: 'malformed_timestamp' },
    { name: 'negative timestamp', input: { timestamp: '-1' }, reason: 'malformed_timestamp' },
    {
      name: 'repeated timestamp header',
      input: { timestamp: [TIMESTAMP, TIMESTAMP] },
      reason: 'malformed_timestamp',
    },
    { name: 'missing signature', input: { signature: null }, reason: 'missing_signature' },
    {
      name: 'signature without v0=',
      input: { signature: SIGNATURE.slice(3) },
      reason: 'malformed_signature',
    },
    {
      name: 'v1 signature',
      input: { signature: SIGNATURE.replace('v0=', 'v1=') },
      reason: 'malformed_signature',
    },
    {
      name: 'truncated signature',
      input: { signature: SIGNATURE.slice(0, -2) },
      reason: 'malformed_signature',
    },
    {
      name: 'non-hex signature',
      input: { signature: `v0=${'z'.repeat(64)}` },
      reason: 'malformed_signature',
    },
    { name: 'repeated signature header', input: { signature: [SIGNATURE] }, reason: 'malformed_signature' },
  ])('rejects $name', ({ input, reason }) => {
    expect(verifySlackSignature({ ...base, ...input })).toEqual({ ok: false, reason });
  });

  it('accepts timestamps exactly 5 minutes off either way', () => {
    expect(verifySlackSignature({ ...base, now: at(1531420618 + 300) })).toEqual({ ok: true });
    expect(verifySlackSignature({ ...base, now: at(1531420618 - 300) })).toEqual({ ok: true });
  });

  it('round-trips with signSlackRequest for arbitrary bodies', () => {
    const body = '{"type":"event_callback","text":"héllo 😀 <!channel>"}';
    const signature = signSlackRequest('s3cret', '1700000000', body);
    expect(
      verifySlackSignature({
        signingSecret: 's3cret',
        timestamp: '1700000000',
        signature,
        rawBody: body,
        now: at(1700000000),
      }),
    ).toEqual({ ok: true });
  });
});
