// Errors of the llm/ module. config/errors.ts is shared and closed, so llm/ carries its own stable codes;
// callers branch on `code` and `retryable`, never on message wording. It has the shared coded-error shape.
import type { CodedError } from '../config/index.ts';

/** Stable codes of errors raised by model calls. */
export type LlmErrorCode =
  | 'LLM_UNKNOWN_PROVIDER'
  | 'LLM_NO_KEY'
  | 'LLM_BAD_REQUEST'
  | 'LLM_AUTH'
  | 'LLM_RATE_LIMITED'
  | 'LLM_OVERLOADED'
  | 'LLM_PROVIDER_ERROR'
  | 'LLM_TIMEOUT'
  | 'LLM_CIRCUIT_OPEN'
  | 'LLM_BAD_JSON'
  /** The call was cancelled by its caller (an aborted run): never provider trouble. */
  | 'LLM_CANCELLED'
  /** The reply hit the token limit (even after the retry with a larger budget, for completeJson). */
  | 'LLM_TRUNCATED'
  /** The model or the provider's safety system declined to answer. */
  | 'LLM_REFUSED'
  /** The prompt filled the model's context window. */
  | 'LLM_CONTEXT_OVERFLOW'
  /** The reply ended some other way than a complete answer (paused turn, malformed call, unknown reason). */
  | 'LLM_INCOMPLETE';

/** An error from a model call: a stable code, whether the wrapper may retry it, and what the server asked. */
export class LlmError extends Error implements CodedError {
  readonly code: LlmErrorCode;
  /** True when the same call may succeed if repeated (429, 5xx, 529, time-outs, dropped connections). */
  readonly retryable: boolean;
  /** Provider name (`anthropic`, `gemini`, …) when known. */
  readonly provider: string | undefined;
  /** HTTP status from the provider, when there was a response. */
  readonly status: number | undefined;
  /** How long the server asked us to wait (retry-after and friends), in ms. */
  readonly retryAfterMs: number | undefined;
  readonly hint: string | undefined;

  constructor(
    code: LlmErrorCode,
    message: string,
    options: {
      retryable?: boolean;
      provider?: string;
      status?: number;
      retryAfterMs?: number;
      hint?: string;
      cause?: unknown;
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LlmError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.provider = options.provider;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.hint = options.hint;
  }

  /** A failed model call is infrastructure (exit 3), never a quality verdict. */
  get exitCode(): number {
    return 3;
  }
}

/**
 * Codes that mean the provider is in trouble (rate limits, overload, 5xx, time-outs, a circuit that stayed open
 * past the caller's deadline), as opposed to a mistake in the call or the configuration. Front doors map them to
 * the infrastructure exit code (3).
 */
export const PROVIDER_TROUBLE_CODES: readonly LlmErrorCode[] = [
  'LLM_RATE_LIMITED',
  'LLM_OVERLOADED',
  'LLM_PROVIDER_ERROR',
  'LLM_TIMEOUT',
  'LLM_CIRCUIT_OPEN',
];

/** True for an error (or a code) that says the provider is in trouble; see PROVIDER_TROUBLE_CODES. */
export function isProviderTrouble(errOrCode: unknown): boolean {
  const code =
    typeof errOrCode === 'string' ? errOrCode : errOrCode instanceof LlmError ? errOrCode.code : undefined;
  return code !== undefined && (PROVIDER_TROUBLE_CODES as readonly string[]).includes(code);
}

/** Guard for LlmError, optionally of one code. */
export function isLlmError(err: unknown, code?: LlmErrorCode): err is LlmError {
  return err instanceof LlmError && (code === undefined || err.code === code);
}

/** Headers as the SDKs hand them over: a fetch `Headers` or a plain record. */
export type HeaderSource =
  | { get(name: string): string | null }
  | Record<string, string | undefined>
  | undefined
  | null;

function header(headers: HeaderSource, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as { get?: unknown }).get === 'function') {
    return (headers as { get(n: string): string | null }).get(name) ?? undefined;
  }
  const rec = headers as Record<string, string | undefined>;
  const key = Object.keys(rec).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : rec[key];
}

/**
 * How long the server asked us to wait, in ms: `retry-after-ms`, then `retry-after` (seconds or an HTTP date),
 * then, for Anthropic, the latest `anthropic-ratelimit-*-reset` among the limits that are exhausted.
 */
export function retryAfterFromHeaders(headers: HeaderSource, nowMs: number): number | undefined {
  const ms = header(headers, 'retry-after-ms');
  if (ms !== undefined) {
    const n = Number.parseFloat(ms);
    if (Number.isFinite(n) && n >= 0) return n;
  }
  const ra = header(headers, 'retry-after');
  if (ra !== undefined) {
    const trimmed = ra.trim();
    if (/^\d+(\.\d+)?$/.test(trimmed)) return Number.parseFloat(trimmed) * 1000;
    const at = Date.parse(trimmed);
    if (Number.isFinite(at)) return Math.max(0, at - nowMs);
  }
  let latest: number | undefined;
  for (const kind of ['requests', 'tokens', 'input-tokens', 'output-tokens']) {
    if (header(headers, `anthropic-ratelimit-${kind}-remaining`) !== '0') continue;
    const reset = header(headers, `anthropic-ratelimit-${kind}-reset`);
    const at = reset === undefined ? Number.NaN : Date.parse(reset);
    if (Number.isFinite(at)) latest = Math.max(latest ?? 0, at - nowMs);
  }
  return latest === undefined ? undefined : Math.max(0, latest);
}

/** Maps an HTTP status to our code and whether a retry may help. */
export function classifyStatus(status: number): { code: LlmErrorCode; retryable: boolean } {
  if (status === 429) return { code: 'LLM_RATE_LIMITED', retryable: true };
  if (status === 529 || status === 503) return { code: 'LLM_OVERLOADED', retryable: true };
  if (status === 408 || status === 504) return { code: 'LLM_TIMEOUT', retryable: true };
  // 409 is Anthropic's lock time-out; it clears on its own.
  if (status === 409 || status >= 500) return { code: 'LLM_PROVIDER_ERROR', retryable: true };
  if (status === 401 || status === 403) return { code: 'LLM_AUTH', retryable: false };
  return { code: 'LLM_BAD_REQUEST', retryable: false };
}

/** Short, key-free text of a provider error body, for messages and logs. */
export function describeBody(body: unknown, max = 300): string {
  let text: string;
  if (typeof body === 'string') text = body;
  else {
    const b = body as { error?: { message?: unknown } | string; message?: unknown } | undefined;
    const inner = typeof b?.error === 'object' ? b.error?.message : (b?.error ?? b?.message);
    text = typeof inner === 'string' ? inner : safeStringify(body);
  }
  text = text.replace(/\s+/g, ' ').trim();
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function safeStringify(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Removes anything that looks like an API key from a message (defence in depth: SDK errors may echo headers). */
export function scrubKeys(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 6) out = out.split(s).join('[redacted]');
  return out
    .replace(/sk-ant-[A-Za-z0-9_-]{8,}/g, '[redacted]')
    .replace(/AIza[0-9A-Za-z_-]{20,}/g, '[redacted]')
    .replace(/([?&]key=)[^&\s"]+/g, '$1[redacted]');
}
