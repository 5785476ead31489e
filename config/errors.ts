/** Stable error codes; one handler per front door maps them to a user message and exit code. */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'YAML_INVALID'
  | 'STORE_UNAVAILABLE'
  | 'STORE_LOCKED'
  | 'STORE_DUPLICATE_KEY'
  | 'STORE_INVALID_DOCUMENT'
  | 'JOB_NOT_FOUND'
  | 'JOB_LEASE_LOST'
  | 'JOB_HANDLER_MISSING'
  | 'USAGE'
  | 'NOT_FOUND'
  | 'INTERNAL';

/** Exit codes shared by the CLI and the bot process: 2 for usage/config, 3 for infrastructure. */
export const EXIT_CODES: Record<ErrorCode, number> = {
  CONFIG_INVALID: 2,
  YAML_INVALID: 2,
  USAGE: 2,
  NOT_FOUND: 2,
  STORE_UNAVAILABLE: 3,
  STORE_LOCKED: 3,
  STORE_DUPLICATE_KEY: 3,
  STORE_INVALID_DOCUMENT: 3,
  JOB_NOT_FOUND: 3,
  JOB_LEASE_LOST: 3,
  JOB_HANDLER_MISSING: 3,
  INTERNAL: 3,
};

/**
 * The one shape of every error Arbiter throws on purpose, whatever its module (ArbiterError here; LlmError,
 * LangfuseError, SlackPostError, PermanentJobError in theirs): a stable `code`, a message fit for the person who
 * reads it, an optional `hint` saying how to fix it, and the CLI exit code (2 usage or configuration, 3
 * infrastructure). Each front door has one handler that turns it into a user message.
 */
export interface CodedError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly exitCode: number;
}

/** Guard for any of our coded errors (a Node system error has a code but no exit code: it is not one of ours). */
export function isCodedError(err: unknown): err is CodedError {
  const e = err as Partial<CodedError> | undefined;
  return (
    err instanceof Error &&
    typeof e?.code === 'string' &&
    /^[A-Z][A-Z0-9_]+$/.test(e.code) &&
    typeof e.exitCode === 'number'
  );
}

/** An error Arbiter throws on purpose: a stable `code`, a message fit for a user, an optional hint. */
export class ArbiterError extends Error implements CodedError {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: unknown;

  constructor(
    code: ErrorCode,
    message: string,
    options: { hint?: string; details?: unknown; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ArbiterError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
  }

  get exitCode(): number {
    return EXIT_CODES[this.code];
  }
}

/** Guard for errors carrying one of our stable codes. */
export function isArbiterError(err: unknown, code?: ErrorCode): err is ArbiterError {
  return err instanceof ArbiterError && (code === undefined || err.code === code);
}

/** A validation error (zod) seen duck-typed: its `message` is a JSON dump of the issues, never fit for a user. */
function isValidationError(err: unknown): err is { issues: { path: PropertyKey[]; message: string }[] } {
  const e = err as { name?: unknown; issues?: unknown } | undefined;
  return e?.name === 'ZodError' && Array.isArray(e.issues);
}

/**
 * One line describing any error for a person reading a report or a reply: our messages as they are; a validation
 * error as its first issue (`at items[2].score: expected number`), never zod's JSON dump; other errors' messages
 * (first line only, so no stack trace or multi-line dump reaches Slack).
 */
export function describeError(err: unknown): string {
  if (isValidationError(err)) {
    const [first] = err.issues;
    const where = first?.path.length ? ` at ${first.path.map(String).join('.')}` : '';
    const more = err.issues.length > 1 ? ` (and ${err.issues.length - 1} more problem(s))` : '';
    return `invalid data${where}: ${first?.message ?? 'does not match the expected shape'}${more}`;
  }
  if (err instanceof ArbiterError) return err.message;
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]!.trim() || 'unknown error';
}

/** Message and hint of an error as one user-facing string, never a stack trace. */
export function formatUserError(err: unknown): string {
  if (isCodedError(err)) return err.hint ? `${err.message}\n${err.hint}` : err.message;
  return 'Unexpected internal error (details are in the logs).';
}

/**
 * True for a mistake of the person using Arbiter (a bad suite name, a path outside the suites folder, an unknown
 * id, bad YAML): an ArbiterError with a usage/config exit code (2). Those are logged at info without a stack trace;
 * anything else is unexpected and logged as an error.
 */
export function isUserMistake(err: unknown): err is ArbiterError {
  return isArbiterError(err) && EXIT_CODES[err.code] === 2;
}
