// Verifies Langfuse webhook signatures: `x-langfuse-signature: t=<unix s>,v1=<hex>` where v1 is hex
// HMAC-SHA256, keyed with the whole secret string as UTF-8, over `${t}.${rawBody}`. Langfuse enforces no replay
// window, so the receiver does (5 minutes either way).
import { createHmac, timingSafeEqual } from 'node:crypto';

/** How far a signature timestamp may be from our clock, either way. */
export const LANGFUSE_SIGNATURE_MAX_SKEW_SECONDS = 300;

/** Why a delivery was rejected; stable values for logs (never echoed to the caller in detail). */
export type LangfuseSignatureFailure =
  | 'missing_secret'
  | 'missing_signature'
  | 'malformed_signature'
  | 'stale_timestamp'
  | 'future_timestamp'
  | 'signature_mismatch';

/** Result of verifyLangfuseSignature. */
export type LangfuseSignatureResult =
  | { ok: true; timestamp: number }
  | { ok: false; reason: LangfuseSignatureFailure };

const HEX64 = /^[0-9a-fA-F]{64}$/;

function hmac(secret: string, t: string, rawBody: string | Uint8Array): Buffer {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${t}.`).update(rawBody).digest();
}

/** Computes the `x-langfuse-signature` header Langfuse would send (tests, the benchmark, local replays). */
export function signLangfuseWebhook(
  secret: string,
  timestamp: number | string,
  rawBody: string | Uint8Array,
): string {
  return `t=${timestamp},v1=${hmac(secret, String(timestamp), rawBody).toString('hex')}`;
}

/** Splits `t=…,v1=…[,v1=…]` into the timestamp and every v1 candidate (several during a secret rotation). */
export function parseSignatureHeader(header: string): { t: string; v1: string[] } | undefined {
  let t: string | undefined;
  const v1: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (t !== undefined) return undefined; // two timestamps: ambiguous, refuse
      t = value;
    } else if (key === 'v1') v1.push(value);
  }
  if (t === undefined || !/^\d{1,12}$/.test(t) || v1.length === 0) return undefined;
  return { t, v1 };
}

/**
 * Checks a delivery against the exact raw body bytes. Constant-time comparison of each v1 candidate; the
 * timestamp window is checked before the HMAC so stale replays cost nothing.
 */
export function verifyLangfuseSignature(input: {
  secret: string | undefined;
  header: string | null | undefined;
  rawBody: string | Uint8Array;
  now: Date;
}): LangfuseSignatureResult {
  // An empty secret would make every signature computable by anyone: misconfiguration, never "accept".
  if (!input.secret) return { ok: false, reason: 'missing_secret' };
  if (!input.header) return { ok: false, reason: 'missing_signature' };
  const parsed = parseSignatureHeader(input.header);
  if (!parsed) return { ok: false, reason: 'malformed_signature' };
  const skew = Math.floor(input.now.getTime() / 1000) - Number(parsed.t);
  if (skew > LANGFUSE_SIGNATURE_MAX_SKEW_SECONDS) return { ok: false, reason: 'stale_timestamp' };
  if (skew < -LANGFUSE_SIGNATURE_MAX_SKEW_SECONDS) return { ok: false, reason: 'future_timestamp' };
  const expected = hmac(input.secret, parsed.t, input.rawBody);
  let match = false;
  for (const candidate of parsed.v1) {
    if (!HEX64.test(candidate)) continue;
    // No early exit: every candidate is compared, so timing says nothing about which one matched.
    if (timingSafeEqual(Buffer.from(candidate, 'hex'), expected)) match = true;
  }
  return match ? { ok: true, timestamp: Number(parsed.t) } : { ok: false, reason: 'signature_mismatch' };
}
