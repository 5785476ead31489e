// Verifies that an HTTP request really comes from Slack (signing secret HMAC, replay window).
import { createHmac, timingSafeEqual } from 'node:crypto';

/** How far a request timestamp may be from our clock, either way (Slack's recommendation: 5 minutes). */
export const SLACK_SIGNATURE_MAX_SKEW_SECONDS = 300;

/** Why a request was rejected; stable values for logs and metrics (never shown to the caller). */
export type SlackSignatureFailure =
  | 'missing_secret'
  | 'missing_timestamp'
  | 'malformed_timestamp'
  | 'stale_timestamp'
  | 'future_timestamp'
  | 'missing_signature'
  | 'malformed_signature'
  | 'signature_mismatch';

/** Inputs of verifySlackSignature: the two headers as received and the exact raw body bytes. */
export interface SlackSignatureInput {
  signingSecret: string;
  /** `X-Slack-Request-Timestamp` header (Unix seconds). */
  timestamp: string | string[] | null | undefined;
  /** `X-Slack-Signature` header (`v0=` + 64 hex digits). */
  signature: string | string[] | null | undefined;
  /** The body exactly as received, before any parsing (a string is hashed as UTF-8). */
  rawBody: string | Uint8Array;
  now: Date;
}

/** Result of verifySlackSignature. */
export type SlackSignatureResult = { ok: true } | { ok: false; reason: SlackSignatureFailure };

const TIMESTAMP_RE = /^\d{1,12}$/;
const SIGNATURE_RE = /^v0=[0-9a-fA-F]{64}$/;

function hmac(secret: string, timestamp: string, rawBody: string | Uint8Array): Buffer {
  return createHmac('sha256', secret).update(`v0:${timestamp}:`).update(rawBody).digest();
}

/** Computes the `X-Slack-Signature` value Slack would send; used by tests and local fake Slack servers. */
export function signSlackRequest(
  signingSecret: string,
  timestamp: string | number,
  rawBody: string | Uint8Array,
): string {
  return `v0=${hmac(signingSecret, String(timestamp), rawBody).toString('hex')}`;
}

/**
 * Checks Slack's request signature: `v0=` + hex HMAC-SHA256(secret, `v0:{timestamp}:{rawBody}`), compared in
 * constant time, with timestamps more than 5 minutes in the past or future rejected (replay protection).
 */
export function verifySlackSignature(input: SlackSignatureInput): SlackSignatureResult {
  // An empty secret would make every forged signature computable; treat it as misconfiguration.
  if (!input.signingSecret) return { ok: false, reason: 'missing_secret' };
  const { timestamp, signature } = input;
  if (timestamp === undefined || timestamp === null || timestamp === '')
    return { ok: false, reason: 'missing_timestamp' };
  // A repeated header arrives as an array: ambiguous, so refuse rather than pick one.
  if (typeof timestamp !== 'string' || !TIMESTAMP_RE.test(timestamp))
    return { ok: false, reason: 'malformed_timestamp' };
  if (signature === undefined || signature === null || signature === '')
    return { ok: false, reason: 'missing_signature' };
  if (typeof signature !== 'string' || !SIGNATURE_RE.test(signature))
    return { ok: false, reason: 'malformed_signature' };

  const nowSeconds = Math.floor(input.now.getTime() / 1000);
  const skew = nowSeconds - Number(timestamp);
  if (skew > SLACK_SIGNATURE_MAX_SKEW_SECONDS) return { ok: false, reason: 'stale_timestamp' };
  if (skew < -SLACK_SIGNATURE_MAX_SKEW_SECONDS) return { ok: false, reason: 'future_timestamp' };

  const expected = hmac(input.signingSecret, timestamp, input.rawBody);
  const received = Buffer.from(signature.slice(3), 'hex');
  // Lengths are equal by the regex above; the check stays because timingSafeEqual throws otherwise.
  if (received.length !== expected.length || !timingSafeEqual(received, expected)) {
    return { ok: false, reason: 'signature_mismatch' };
  }
  return { ok: true };
}
