import { z } from 'zod';
import { durationMs, durationSchema, formatDuration, parseDuration } from './duration.ts';
import { ArbiterError } from './errors.ts';
import { ModelNameSchema } from './model-name.ts';
import { DEFAULT_FIELD_MAX_BYTES } from './limits.ts';
import { closestName } from './suggest.ts';

const intIn = (min: number, max: number) =>
  z.coerce
    .number({ error: `expected a whole number from ${min} to ${max}` })
    .int({ error: `expected a whole number from ${min} to ${max}` })
    .min(min, { error: `expected a whole number from ${min} to ${max}` })
    .max(max, { error: `expected a whole number from ${min} to ${max}` });

const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL, e.g. https://example.com' });

const userIdList = z
  .string()
  .transform((s) =>
    s
      .split(/[\s,]+/)
      .map((x) => x.trim())
      .filter(Boolean),
  )
  .pipe(
    z.array(
      z.string().regex(/^[UWS][A-Z0-9]{2,}$/, {
        error: 'expected comma-separated Slack ids such as U012ABCDEF (users) or S012ABCDEF (user groups)',
      }),
    ),
  );

/** A retention age: a duration of at least an hour (`30d`, `12w`, `36h`) or `keep` (never removed by age). */
const retentionAge = (fallback: string) =>
  z
    .string()
    .trim()
    .refine((s) => s.toLowerCase() === 'keep' || (parseDuration(s) ?? 0) >= 3_600_000, {
      error: 'expected `keep` or a duration of at least an hour, e.g. 30d, 12w or 36h',
    })
    .default(fallback);

/** Marks the schema of a time variable: its value is read in the duration syntax and parsed to milliseconds. */
const DURATION_META = { format: 'duration-ms' } as const;

/**
 * A time variable in the one duration syntax of the YAML files (`30s`, `5m`, `1h`), bounded in ms, parsed to
 * milliseconds; the error names the range and an example.
 */
const durationVar = (fallback: string, bounds: { min: number; max: number }) =>
  durationSchema({ example: fallback, ...bounds })
    .default(fallback)
    .transform((s) => durationMs(s) ?? 0)
    .meta(DURATION_META);

/** One entry per environment variable: its schema, whether it is a secret, and what it is for (README). */
export const ENV_VARS = {
  PORT: {
    schema: intIn(0, 65535).default(3000),
    secret: false,
    doc: 'HTTP port for /healthz, Slack events and webhooks (0 = any free port).',
  },
  HOST: {
    schema: z.string().min(1).default('0.0.0.0'),
    secret: false,
    doc: 'Interface the HTTP server binds to.',
  },
  HTTP_MAX_BODY_BYTES: {
    schema: intIn(1024, 100 * 1024 * 1024).default(1024 * 1024),
    secret: false,
    doc: 'Largest request body accepted on any HTTP route (Slack events, Langfuse webhook); a larger one is refused with 413 before it is read in full.',
  },
  PUBLIC_URL: {
    schema: httpUrl.optional(),
    secret: false,
    doc: 'Public base URL of this bot (e.g. https://arbiter.example.com). With it, run, review, monitor and digest messages carry an *Open report* button with a signed link; without it the console prints the local link.',
  },
  REPORT_LINK_SECRET: {
    schema: z.string().min(16, { error: 'expected at least 16 characters of random text' }).optional(),
    secret: true,
    doc: 'HMAC key of signed report links. Unset: a random key is created once and kept in the store, so links survive restarts (set it to share links between stores).',
  },
  REPORT_LINK_TTL: {
    schema: z
      .string()
      .trim()
      .refine((s) => (parseDuration(s) ?? 0) >= 60_000, {
        error: 'expected a duration of at least a minute, e.g. 30d, 12h or 90m',
      })
      .default('30d'),
    secret: false,
    doc: 'How long a signed report link stays valid (30d, 12h, 90m, …); an expired link answers 403.',
  },
  LOG_LEVEL: {
    schema: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    secret: false,
    doc: 'Log level: trace, debug, info, warn, error, fatal or silent.',
  },
  LOG_FORMAT: {
    schema: z.enum(['pretty', 'json', 'auto']).default('auto'),
    secret: false,
    doc: '`pretty` (human), `json` (one object per line), or `auto` (pretty on a terminal, JSON otherwise).',
  },
  DATA_DIR: {
    schema: z.string().min(1).default('./data'),
    secret: false,
    doc: 'Folder of the embedded store (used when MONGODB_URI is unset) and of generated files.',
  },
  EMBEDDED_STORE: {
    schema: z.enum(['sqlite', 'nedb']).default('sqlite'),
    secret: false,
    doc:
      'Engine of the embedded store in DATA_DIR (when MONGODB_URI is unset): `sqlite` (one database file, shared by the bot, ' +
      'the CLI and other replicas; an existing nedb folder is migrated on first start) or `nedb` (in memory, one process per folder).',
  },
  RETENTION_JOBS: {
    schema: retentionAge('30d'),
    secret: false,
    doc: 'How long a finished job (succeeded, failed or cancelled) is kept after it finished (`30d`, `12w`, …) or `keep`; a periodic sweep (embedded store) or a TTL index (MongoDB) removes older ones.',
  },
  RETENTION_RUN_ITEMS: {
    schema: retentionAge('keep'),
    secret: false,
    doc: 'How long the items of evaluation runs are kept after they finished, or `keep` (the default: `runs show`, comparisons with a baseline and reviews read them; the run summaries are always kept).',
  },
  RETENTION_MONITOR_SCORES: {
    schema: retentionAge('180d'),
    secret: false,
    doc: 'How long a monitor keeps each scored item (input, output, scores) after scoring it, or `keep`; the per-tick summaries that digests and trends read are always kept. The LLM cache is kept for LLM_CACHE_TTL.',
  },
  RECORD_FIELD_MAX_BYTES: {
    schema: intIn(1024, 64 * 1024 * 1024).default(DEFAULT_FIELD_MAX_BYTES),
    secret: false,
    doc: 'Largest field (input, output, context, expected, …) of a dataset row or a monitor source record, in bytes of UTF-8; a larger one is reported with its row or record and field and is not run.',
  },
  MONGODB_URI: {
    schema: z
      .string()
      .regex(/^mongodb(\+srv)?:\/\//, {
        error: 'expected a MongoDB connection string starting with mongodb:// or mongodb+srv://',
      })
      .optional(),
    secret: true,
    doc: 'MongoDB connection string; when set, MongoDB replaces the embedded store.',
  },
  MONGODB_DB: {
    schema: z
      .string()
      .regex(/^[^/\\. "$]{1,63}$/, { error: 'expected a MongoDB database name (no / \\ . " $ or spaces)' })
      .default('arbiter'),
    secret: false,
    doc: 'MongoDB database name.',
  },
  MONGODB_CONNECT_TIMEOUT: {
    schema: durationVar('5s', { min: 100, max: 120_000 }),
    secret: false,
    doc: 'How long start-up waits for MongoDB before giving up (`5s`, `500ms`, … up to 2m).',
  },

  WORKER_CONCURRENCY: {
    schema: intIn(1, 256).default(4),
    secret: false,
    doc: 'Jobs one process runs at once.',
  },
  JOB_LEASE: {
    schema: durationVar('30s', { min: 1000, max: 3_600_000 }),
    secret: false,
    doc: 'Lease on a claimed job (`30s`, `2m`, … from 1s to 1h); a job whose worker stops renewing it is retried after this long.',
  },
  JOB_MAX_ATTEMPTS: {
    schema: intIn(1, 100).default(3),
    secret: false,
    doc: 'Attempts before a job ends as failed.',
  },
  SHUTDOWN_GRACE: {
    schema: durationVar('10s', { min: 0, max: 600_000 }),
    secret: false,
    doc: 'On SIGTERM/SIGINT, how long running jobs may finish before they are released for another worker (`10s`, `1m`, … up to 10m; `0s` releases them at once).',
  },

  SLACK_BOT_TOKEN: {
    schema: z.string().startsWith('xoxb-', { error: 'expected a bot token starting with xoxb-' }).optional(),
    secret: true,
    doc: 'Slack bot token; without it Arbiter uses the console transport.',
  },
  SLACK_SIGNING_SECRET: {
    schema: z
      .string()
      .min(8, { error: "expected the signing secret from your Slack app's Basic Information page" })
      .optional(),
    secret: true,
    doc: 'Verifies requests from Slack (HTTP mode). Required with SLACK_BOT_TOKEN unless SLACK_APP_TOKEN is set.',
  },
  SLACK_APP_TOKEN: {
    schema: z
      .string()
      .startsWith('xapp-', { error: 'expected an app-level token starting with xapp-' })
      .optional(),
    secret: true,
    doc: 'App-level token; when set, Arbiter connects with Socket Mode instead of HTTP.',
  },
  SLACK_API_URL: {
    schema: httpUrl.optional(),
    secret: false,
    doc: 'Overrides the Slack Web API base URL (proxies, tests).',
  },
  SLACK_COMMAND: {
    schema: z
      .string()
      .regex(/^\/[a-z0-9_-]{1,31}$/, { error: 'expected a slash command such as /arbiter' })
      .default('/arbiter'),
    secret: false,
    doc: 'Slash command name.',
  },
  SLACK_QUEUE_MAX: {
    schema: intIn(1, 1_000_000).default(1000),
    secret: false,
    doc: 'Slash commands and button clicks waiting or running, all users together, beyond which a new one is refused at once with an ephemeral "busy, try again in N s".',
  },
  SLACK_QUEUE_MAX_PER_USER: {
    schema: intIn(1, 1_000_000).default(20),
    secret: false,
    doc: 'The same limit for one Slack user.',
  },
  ARBITER_ADMINS: {
    schema: userIdList.default([]),
    secret: false,
    doc: 'Slack user ids or user-group ids (S…) allowed to launch runs, reviews and monitor changes (comma-separated).',
  },
  ARBITER_REVIEWERS: {
    schema: userIdList.default([]),
    secret: false,
    doc: 'Slack user ids or user-group ids (S…) allowed to vote in reviews and decide needs_review scores (comma-separated).',
  },
  ARBITER_USER: {
    schema: z.string().trim().min(1).max(100).optional(),
    secret: false,
    doc: 'Who the `arbiter` CLI records in the audit trail as having acted (default: the OS user name).',
  },
  AUDIT_RETENTION: {
    schema: z
      .string()
      .trim()
      .refine((s) => s.toLowerCase() === 'keep' || (parseDuration(s) ?? 0) >= 86_400_000, {
        error: 'expected `keep` or a duration of at least a day, e.g. 365d or 52w',
      })
      .default('365d'),
    secret: false,
    doc: 'How long audit records (who launched, cancelled, voted, paused, migrated what) are kept after they were written (`365d`, `52w`, … at least a day) or `keep`; a periodic sweep (embedded store) or a TTL index (MongoDB) removes older ones.',
  },

  ANTHROPIC_API_KEY: {
    schema: z.string().min(10, { error: 'expected an Anthropic API key' }).optional(),
    secret: true,
    doc: 'Enables the `anthropic` provider.',
  },
  ANTHROPIC_BASE_URL: {
    schema: httpUrl.optional(),
    secret: false,
    doc: 'Overrides the Anthropic API base URL.',
  },
  GEMINI_API_KEY: {
    schema: z.string().min(10, { error: 'expected a Gemini API key' }).optional(),
    secret: true,
    doc: 'Enables the `gemini` provider.',
  },
  GEMINI_BASE_URL: { schema: httpUrl.optional(), secret: false, doc: 'Overrides the Gemini API base URL.' },
  ARBITER_JUDGE_MODEL: {
    schema: ModelNameSchema.optional(),
    secret: false,
    doc: 'Default judge model as provider:model; defaults to the first configured provider, else offline:heuristic.',
  },
  ANTHROPIC_RPM: {
    schema: intIn(0, 1_000_000).default(50),
    secret: false,
    doc: "Requests per minute sent to Anthropic, spaced evenly (0 = unlimited); raise it to your tier's limit.",
  },
  ANTHROPIC_TPM: {
    schema: intIn(0, 1_000_000_000).default(0),
    secret: false,
    doc: 'Tokens (input + output) per minute sent to Anthropic (0 = unlimited).',
  },
  GEMINI_RPM: {
    schema: intIn(0, 1_000_000).default(50),
    secret: false,
    doc: "Requests per minute sent to Gemini, spaced evenly (0 = unlimited); raise it to your tier's limit.",
  },
  GEMINI_TPM: {
    schema: intIn(0, 1_000_000_000).default(0),
    secret: false,
    doc: 'Tokens (input + output) per minute sent to Gemini (0 = unlimited).',
  },
  LLM_TIMEOUT: {
    schema: durationVar('1m', { min: 1000, max: 600_000 }),
    secret: false,
    doc: 'Time-out of one model call attempt (`1m`, `90s`, … from 1s to 10m); a timed-out attempt is retried.',
  },
  LLM_MAX_RETRIES: {
    schema: intIn(0, 10).default(3),
    secret: false,
    doc: 'Retries of a model call after a 429, 529, 5xx or time-out (exponential back-off with jitter, honouring retry-after).',
  },
  LLM_RETRY_BUDGET: {
    schema: durationVar('2m', { min: 1000, max: 3_600_000 }),
    secret: false,
    doc: 'Total time one model call may spend on attempts and waits before its error is returned (`2m`, `30s`, … from 1s to 1h).',
  },
  LLM_BREAKER_FAILURES: {
    schema: intIn(1, 1000).default(5),
    secret: false,
    doc: "Failed calls in a row (a call = one request with all its retries) that open a provider's circuit breaker; calls then wait for its cool-down, each within its own retry budget.",
  },
  LLM_BREAKER_COOLDOWN: {
    schema: durationVar('30s', { min: 1000, max: 3_600_000 }),
    secret: false,
    doc: 'How long an open circuit breaker waits before letting one probe attempt through (`30s`, `2m`, … from 1s to 1h); waiting calls follow once it succeeds.',
  },
  LLM_CACHE: {
    schema: z.stringbool({ error: 'expected true or false' }).default(true),
    secret: false,
    doc: 'Cache model responses in the store; an identical call is then answered at no cost.',
  },
  LLM_CACHE_TTL: {
    schema: z
      .string()
      .trim()
      .refine((s) => (parseDuration(s) ?? 0) >= 60_000, {
        error: 'expected a duration of at least a minute, e.g. 30d, 12h or 90m',
      })
      .default('30d'),
    secret: false,
    doc: 'How long a cached model response is reused (30d, 12h, 90m, …); older entries are asked again. Only complete replies are cached.',
  },
  LLM_PRICES_FILE: {
    schema: z.string().min(1).optional(),
    secret: false,
    doc: 'YAML or JSON file of model prices (provider:model: {input, output} in USD per million tokens) overriding the built-in table.',
  },
  LLM_TRACE: {
    schema: z.stringbool({ error: 'expected true or false' }).default(false),
    secret: false,
    doc: 'Record each model call as a Langfuse generation (OpenTelemetry) with usage and cost (needs the LANGFUSE_* keys).',
  },

  LANGFUSE_PUBLIC_KEY: {
    schema: z
      .string()
      .startsWith('pk-lf-', { error: 'expected a Langfuse public key starting with pk-lf-' })
      .optional(),
    secret: false,
    doc: 'Langfuse public key; with LANGFUSE_SECRET_KEY enables Langfuse.',
  },
  LANGFUSE_SECRET_KEY: {
    schema: z
      .string()
      .startsWith('sk-lf-', { error: 'expected a Langfuse secret key starting with sk-lf-' })
      .optional(),
    secret: true,
    doc: 'Langfuse secret key.',
  },
  LANGFUSE_BASE_URL: {
    schema: httpUrl.default('https://cloud.langfuse.com'),
    secret: false,
    doc: 'Langfuse host, without /api: the region your keys were made in (EU https://cloud.langfuse.com by default, US https://us.cloud.langfuse.com, JP https://jp.cloud.langfuse.com, HIPAA https://hipaa.cloud.langfuse.com) or your self-hosted URL (v4, or v3 from 3.22).',
  },
  LANGFUSE_ENVIRONMENT: {
    schema: z
      .string()
      .regex(/^(?!langfuse)[a-z0-9_-]{1,40}$/, {
        error:
          'expected lowercase letters, digits, - or _ (at most 40, not starting with "langfuse"), e.g. production',
      })
      .optional(),
    secret: false,
    doc: 'Langfuse environment of the traces and scores Arbiter writes (default: default); run items go to sdk-experiment, as the Langfuse SDK does.',
  },
  LANGFUSE_WEBHOOK_SECRET: {
    schema: z.string().min(8, { error: 'expected the webhook signing secret (lf-whsec_…)' }).optional(),
    secret: true,
    doc: 'Verifies Langfuse prompt-change webhooks on POST /webhooks/langfuse.',
  },
  PROMPT_ALERTS_CHANNEL: {
    schema: z.string().min(1).optional(),
    secret: false,
    doc: 'Slack channel for prompt-change alerts.',
  },

  PROMPT_ALERTS_MAP: {
    schema: z
      .string()
      .regex(/^\s*[^=\s,]+\s*=\s*[#@]?[A-Za-z0-9._-]+\s*([,\n]\s*[^=\s,]+\s*=\s*[#@]?[A-Za-z0-9._-]+\s*)*$/, {
        error: 'expected prompt-or-glob=channel pairs, e.g. support-*=#support-alerts,billing=C0123ABCD',
      })
      .optional(),
    secret: false,
    doc: 'Per-prompt alert channels (prompt name or * glob = channel, comma-separated); first match wins, else PROMPT_ALERTS_CHANNEL.',
  },
  SUITES_DIR: {
    schema: z.string().min(1).default('examples/suites'),
    secret: false,
    doc: 'Folder of evaluation suites (YAML).',
  },
  MONITORS_DIR: {
    schema: z.string().min(1).default('examples/monitors'),
    secret: false,
    doc: 'Folder of monitors (YAML).',
  },
  DIGESTS_DIR: {
    schema: z.string().min(1).default('examples/digests'),
    secret: false,
    doc: 'Folder of digests (YAML).',
  },
} satisfies Record<string, { schema: z.ZodType; secret: boolean; doc: string }>;

/** Name of an environment variable Arbiter reads. */
export type EnvVarName = keyof typeof ENV_VARS;

type Shape = { [K in EnvVarName]: (typeof ENV_VARS)[K]['schema'] };

const shape = Object.fromEntries(Object.entries(ENV_VARS).map(([k, v]) => [k, v.schema])) as Shape;

/** The environment schema: every variable Arbiter reads, in one zod object. */
export const EnvSchema = z.object(shape);

/** The parsed, typed environment. */
export type Env = z.infer<typeof EnvSchema>;

/** Names of variables whose values must never be printed. */
export const SECRET_VARS: readonly EnvVarName[] = (Object.keys(ENV_VARS) as EnvVarName[]).filter(
  (k) => ENV_VARS[k].secret,
);

/** Prefix reserved for Arbiter: an unknown ARBITER_* variable is a typo, not someone else's setting. */
const OWN_PREFIX = 'ARBITER_';

/**
 * Time variables renamed to their unit-free form, which takes the duration syntax (`JOB_LEASE=1m`). The old names
 * take milliseconds and are still read for one release, with a warning naming the new variable and value.
 */
export const RENAMED_ENV_VARS = {
  MONGODB_CONNECT_TIMEOUT_MS: 'MONGODB_CONNECT_TIMEOUT',
  JOB_LEASE_MS: 'JOB_LEASE',
  SHUTDOWN_GRACE_MS: 'SHUTDOWN_GRACE',
  LLM_TIMEOUT_MS: 'LLM_TIMEOUT',
  LLM_RETRY_BUDGET_MS: 'LLM_RETRY_BUDGET',
  LLM_BREAKER_COOLDOWN_MS: 'LLM_BREAKER_COOLDOWN',
} as const satisfies Record<string, EnvVarName>;

/** True for a variable read in the duration syntax and parsed to milliseconds (JOB_LEASE, LLM_TIMEOUT, …). */
function isDurationVar(name: EnvVarName): boolean {
  return (ENV_VARS[name].schema as z.ZodType).meta()?.format === DURATION_META.format;
}

/** A parsed value as it is written in the environment: `30s` for a duration, `a,b` for a list. */
export function envValueText(name: EnvVarName, value: unknown): string {
  if (typeof value === 'number' && isDurationVar(name)) return formatDuration(value);
  return Array.isArray(value) ? value.join(',') : String(value);
}

/** Options of `parseEnv`. */
export interface ParseEnvOptions {
  /** Receives each start-up warning (an old variable name); default: a `warning:` line on stderr. */
  warn?: (message: string) => void;
}

/**
 * Parses the environment once. Empty strings count as unset (as in most .env files). Old names of renamed
 * variables (`JOB_LEASE_MS`) are read with a warning.
 * Throws a CONFIG_INVALID ArbiterError listing every problem, naming each variable, never echoing a secret.
 */
export function parseEnv(source: Record<string, string | undefined>, options: ParseEnvOptions = {}): Env {
  const names = Object.keys(ENV_VARS) as EnvVarName[];
  const input: Record<string, string> = {};
  for (const name of names) {
    const raw = source[name];
    if (raw !== undefined && raw.trim() !== '') input[name] = raw.trim();
  }
  const problems: string[] = [];
  const warnings: string[] = [];
  /** New name → how the value was written under its old name, for errors about it. */
  const readAs: Partial<Record<EnvVarName, { old: string; raw: string }>> = {};
  for (const [old, now] of Object.entries(RENAMED_ENV_VARS) as [string, EnvVarName][]) {
    const raw = source[old]?.trim();
    if (!raw) continue;
    if (input[now] !== undefined) {
      warnings.push(`${old}=${raw} and ${now}=${input[now]} are both set: ${now} wins; remove ${old}`);
      continue;
    }
    const ms = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isSafeInteger(ms)) {
      const example = envValueText(now, ENV_VARS[now].schema.safeParse(undefined).data);
      problems.push(
        `${old}: expected a whole number of milliseconds (got "${truncate(raw)}"); better, use ${now} with a duration, e.g. ${now}=${example}`,
      );
      continue;
    }
    const text = formatDuration(ms);
    input[now] = text;
    readAs[now] = { old, raw };
    warnings.push(`${old}=${raw} is deprecated: use ${now}=${text}`);
  }
  for (const key of Object.keys(source)) {
    if (key.startsWith(OWN_PREFIX) && !(key in ENV_VARS)) {
      const guess = closestName(key, names);
      problems.push(`${key}: not a variable Arbiter knows${guess ? ` (did you mean ${guess}?)` : ''}`);
    }
  }
  const result = EnvSchema.safeParse(input);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const name = String(issue.path[0] ?? '(environment)') as EnvVarName;
      const shown = ENV_VARS[name]?.secret
        ? ''
        : input[name] !== undefined
          ? ` (got "${truncate(input[name]!)}")`
          : '';
      const via = readAs[name];
      problems.push(
        via
          ? `${via.old} (read as ${name}): ${issue.message} (got ${via.old}=${via.raw})`
          : `${name}: ${issue.message}${shown}`,
      );
    }
  }
  if (result.success) problems.push(...crossChecks(result.data));
  if (problems.length > 0) {
    throw new ArbiterError(
      'CONFIG_INVALID',
      `Arbiter cannot start: ${problems.length === 1 ? 'one problem' : `${problems.length} problems`} in the environment:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      { hint: 'See .env.example and the Configuration section of the README.', details: problems },
    );
  }
  const warn = options.warn ?? ((m: string) => process.stderr.write(`warning: ${m}\n`));
  for (const w of warnings) warn(w);
  return result.data!;
}

function crossChecks(env: Env): string[] {
  const out: string[] = [];
  if (env.SLACK_BOT_TOKEN && !env.SLACK_APP_TOKEN && !env.SLACK_SIGNING_SECRET) {
    out.push('SLACK_SIGNING_SECRET: required in HTTP mode (SLACK_BOT_TOKEN is set, SLACK_APP_TOKEN is not)');
  }
  if ((env.SLACK_APP_TOKEN || env.SLACK_SIGNING_SECRET) && !env.SLACK_BOT_TOKEN) {
    out.push('SLACK_BOT_TOKEN: required when SLACK_APP_TOKEN or SLACK_SIGNING_SECRET is set');
  }
  if (Boolean(env.LANGFUSE_PUBLIC_KEY) !== Boolean(env.LANGFUSE_SECRET_KEY)) {
    out.push(
      `${env.LANGFUSE_PUBLIC_KEY ? 'LANGFUSE_SECRET_KEY' : 'LANGFUSE_PUBLIC_KEY'}: Langfuse needs both LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY`,
    );
  }
  return out;
}

function truncate(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
