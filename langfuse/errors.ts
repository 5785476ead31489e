// Errors of the langfuse/ module. config/errors.ts is shared and closed, so langfuse/ carries its own stable
// codes; callers branch on `code` and `retryable`, never on message wording. It has the shared coded-error shape.
import type { CodedError } from '../config/index.ts';

/** Stable codes of failed Langfuse API calls. */
export type LangfuseErrorCode =
  | 'LANGFUSE_UNAUTHORIZED'
  | 'LANGFUSE_NOT_FOUND'
  | 'LANGFUSE_RATE_LIMITED'
  | 'LANGFUSE_UNAVAILABLE'
  | 'LANGFUSE_BAD_REQUEST'
  | 'LANGFUSE_BAD_RESPONSE';

/** A failed Langfuse API call: a stable code, whether repeating it may help, and the HTTP status if any. */
export class LangfuseError extends Error implements CodedError {
  readonly code: LangfuseErrorCode;
  /** True for 429, 5xx, time-outs and dropped connections: the same call may succeed later. */
  readonly retryable: boolean;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly hint: string | undefined;

  constructor(
    code: LangfuseErrorCode,
    message: string,
    options: { status?: number; retryAfterMs?: number; hint?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LangfuseError';
    this.code = code;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.retryable = code === 'LANGFUSE_RATE_LIMITED' || code === 'LANGFUSE_UNAVAILABLE';
    this.hint =
      options.hint ??
      (code === 'LANGFUSE_UNAUTHORIZED'
        ? 'Check LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY and LANGFUSE_BASE_URL.'
        : undefined);
  }

  /** A failed Langfuse call is infrastructure (exit 3). */
  get exitCode(): number {
    return 3;
  }
}

/** Guard for LangfuseError, optionally of one code. */
export function isLangfuseError(err: unknown, code?: LangfuseErrorCode): err is LangfuseError {
  return err instanceof LangfuseError && (code === undefined || err.code === code);
}

/** Maps an HTTP status of the Langfuse API to our code (exported for the table test). */
export function codeForStatus(status: number): LangfuseErrorCode {
  if (status === 401 || status === 403) return 'LANGFUSE_UNAUTHORIZED';
  if (status === 404) return 'LANGFUSE_NOT_FOUND';
  if (status === 429) return 'LANGFUSE_RATE_LIMITED';
  if (status >= 500 || status === 408) return 'LANGFUSE_UNAVAILABLE';
  return 'LANGFUSE_BAD_REQUEST';
}

/** Outcome of a Langfuse call: expected failures are values, not throws. */
export type LangfuseResult<T> = { ok: true; value: T } | { ok: false; error: LangfuseError };

/** The Langfuse hosts of each Cloud region, named in hints about keys and hosts. */
export const LANGFUSE_CLOUD_HOSTS =
  'EU https://cloud.langfuse.com, US https://us.cloud.langfuse.com, JP https://jp.cloud.langfuse.com, HIPAA https://hipaa.cloud.langfuse.com';

/** The OTLP endpoint Arbiter sends traces to (Langfuse Cloud; self-hosted 3.22 or later). */
export const LANGFUSE_OTEL_PATH = '/api/public/otel/v1/traces';

/**
 * What to check when Langfuse answers `status` to `what` (`METHOD /path`), or '' when the status says nothing about
 * the set-up: keys of another project or region answer 401, and a server too old for an endpoint answers 404.
 */
export function langfuseFix(status: number, what: string): string {
  if (status === 401 || status === 403)
    return `check LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY (a key pair belongs to one project) and that LANGFUSE_BASE_URL is the host of the region they were made in (${LANGFUSE_CLOUD_HOSTS}, or your self-hosted URL)`;
  if (status === 404 && what.includes(LANGFUSE_OTEL_PATH))
    return 'this server has no OpenTelemetry endpoint: Arbiter needs Langfuse Cloud or self-hosted Langfuse 3.22 or later; check that LANGFUSE_BASE_URL is the Langfuse host, without /api';
  return '';
}
