import { createRequire } from 'node:module';
import type pinoLib from 'pino';
import type { Env } from './env.ts';
import { isUserMistake } from './errors.ts';
import { createScrubber, registerEnvSecrets, secretValues } from './redact.ts';

/** Structured logger used everywhere (pino's interface). */
export type Logger = pinoLib.Logger;

/** pino loads when the first logger is made, not when `arbiter help` starts (test/startup.test.ts). */
function loadPino(): typeof pinoLib {
  return createRequire(import.meta.url)('pino') as typeof pinoLib;
}

/** Where log lines go; tests pass a collecting sink. */
export interface LogSink {
  write(line: string): void;
}

/**
 * Creates the process logger. Every line passes through a scrubber that replaces secret values from the environment
 * and every secret registered since (http target headers: see config/redact.ts), in all their forms, so a secret
 * never reaches a log even inside an error message. Also registers the environment's secrets process-wide.
 */
export function createLogger(
  env: Pick<Env, 'LOG_LEVEL' | 'LOG_FORMAT'> & Partial<Env>,
  sink?: LogSink,
): Logger {
  registerEnvSecrets(env);
  const scrub = createScrubber(secretValues(env as Env));
  const usePretty =
    env.LOG_FORMAT === 'pretty' || (env.LOG_FORMAT === 'auto' && !sink && process.stdout.isTTY);
  // pino-pretty is loaded only for a terminal; JSON logging (servers, CI) never pays for it.
  const target: LogSink =
    sink ??
    (usePretty
      ? (createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty'))({
          colorize: true,
          translateTime: 'HH:MM:ss',
          ignore: 'pid,hostname',
          sync: true,
        })
      : process.stdout);
  const destination = { write: (line: string) => target.write(scrub(line)) };
  return loadPino()(
    {
      level: env.LOG_LEVEL,
      base: undefined,
      redact: {
        paths: [
          '*.token',
          '*.apiKey',
          '*.password',
          '*.secret',
          'headers.authorization',
          '*.headers.authorization',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

/** A logger that drops everything, for tests and library defaults. */
export function createSilentLogger(): Logger {
  return loadPino()({ level: 'silent' });
}

/**
 * Logs a failure where a front door catches it: a user's mistake (see isUserMistake) at info with its code and
 * message only, no stack trace; anything unexpected at error with the whole error.
 */
export function logFailure(
  logger: Logger,
  err: unknown,
  fields: Record<string, unknown>,
  message: string,
): void {
  if (isUserMistake(err)) logger.info({ ...fields, code: err.code, reason: err.message }, message);
  else logger.error({ ...fields, err }, message);
}
