import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseSignatureHeader, signLangfuseWebhook, verifyLangfuseSignature } from './signature.ts';

const secret = 'lf-whsec_0123456789abcdef';
const body = '{"id":"evt_1","type":"prompt-version"}';
const t = 1_767_225_600; // 2026-01-01T00:00:00Z
const now = new Date(t * 1000);

describe('Langfuse webhook signature', () => {
  it('is hex HMAC-SHA256 keyed with the whole secret over t.rawBody (computed independently)', () => {
    const v1 = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
    expect(signLangfuseWebhook(secret, t, body)).toBe(`t=${t},v1=${v1}`);
  });

  it.each([
    ['valid', signLangfuseWebhook(secret, t, body), body, now, { ok: true, timestamp: t }],
    [
      'valid, spaces after the comma',
      signLangfuseWebhook(secret, t, body).replace(',', ', '),
      body,
      now,
      { ok: true, timestamp: t },
    ],
    [
      '4 min 59 s old',
      signLangfuseWebhook(secret, t, body),
      body,
      new Date((t + 299) * 1000),
      { ok: true, timestamp: t },
    ],
    ['missing header', undefined, body, now, { ok: false, reason: 'missing_signature' }],
    ['garbage header', 'sha256=abc', body, now, { ok: false, reason: 'malformed_signature' }],
    [
      'two timestamps',
      `t=${t},t=${t},v1=${'0'.repeat(64)}`,
      body,
      now,
      { ok: false, reason: 'malformed_signature' },
    ],
    [
      'stale (> 5 min past)',
      signLangfuseWebhook(secret, t, body),
      body,
      new Date((t + 301) * 1000),
      { ok: false, reason: 'stale_timestamp' },
    ],
    [
      'future (> 5 min ahead)',
      signLangfuseWebhook(secret, t, body),
      body,
      new Date((t - 301) * 1000),
      { ok: false, reason: 'future_timestamp' },
    ],
    [
      'other body',
      signLangfuseWebhook(secret, t, body),
      `${body} `,
      now,
      { ok: false, reason: 'signature_mismatch' },
    ],
    [
      'other secret',
      signLangfuseWebhook('lf-whsec_other', t, body),
      body,
      now,
      { ok: false, reason: 'signature_mismatch' },
    ],
    [
      'timestamp swapped',
      signLangfuseWebhook(secret, t, body).replace(`t=${t}`, `t=${t + 1}`),
      body,
      now,
      { ok: false, reason: 'signature_mismatch' },
    ],
    ['short v1', `t=${t},v1=abcd`, body, now, { ok: false, reason: 'signature_mismatch' }],
    [
      'rotation: one of two v1 matches',
      `t=${t},v1=${'0'.repeat(64)},${signLangfuseWebhook(secret, t, body).split(',')[1]}`,
      body,
      now,
      { ok: true, timestamp: t },
    ],
  ])('%s', (_name, header, raw, at, expected) => {
    expect(verifyLangfuseSignature({ secret, header, rawBody: raw, now: at })).toEqual(expected);
  });

  it('refuses everything when no secret is configured', () => {
    expect(
      verifyLangfuseSignature({ secret: '', header: signLangfuseWebhook('', t, body), rawBody: body, now }),
    ).toEqual({
      ok: false,
      reason: 'missing_secret',
    });
  });

  it('hashes the raw bytes: a body re-serialized with other spacing fails', () => {
    const header = signLangfuseWebhook(secret, t, body);
    const reserialized = JSON.stringify(JSON.parse(body), null, 2);
    expect(verifyLangfuseSignature({ secret, header, rawBody: Buffer.from(body), now }).ok).toBe(true);
    expect(verifyLangfuseSignature({ secret, header, rawBody: reserialized, now }).ok).toBe(false);
  });

  it('parses headers', () => {
    expect(parseSignatureHeader('t=1,v1=a,v1=b')).toEqual({ t: '1', v1: ['a', 'b'] });
    expect(parseSignatureHeader('v1=a')).toBeUndefined();
  });
});
