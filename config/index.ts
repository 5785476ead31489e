// Public surface of config/: environment, YAML loading, errors, logging, clock and ids, the lean HTTP client.
export {
  EnvSchema,
  ENV_VARS,
  envValueText,
  RENAMED_ENV_VARS,
  SECRET_VARS,
  parseEnv,
  type Env,
  type EnvVarName,
  type ParseEnvOptions,
} from './env.ts';
export { durationMs, durationSchema, formatDuration, parseDuration } from './duration.ts';
export {
  type FieldPath,
  PATH_FORMS,
  parseFieldPath,
  type PathSegment,
  pathSegments,
  readPath,
} from './field-path.ts';
export { MODEL_NAME_RE, ModelNameSchema } from './model-name.ts';
export { NAME_RE, NameSchema, toName } from './names.ts';
export { clampOldWorst, WORST_MAX, worstSchema } from './worst.ts';
export {
  CronScheduleSchema,
  EveryScheduleSchema,
  isCronExpression,
  latestCronTime,
  latestScheduledTime,
  type Schedule,
  SCHEDULE_FORMS,
  ScheduleSchema,
  scheduleTimezone,
  wakeExpression,
} from './schedule.ts';
export {
  isMapping,
  MAX_WARNING_NOTES,
  mappingsAt,
  msAsDuration,
  oldFormMessage,
  renameKey,
  renameValue,
  secondsAsDuration,
  warningNotes,
  yamlText,
} from './upgrade.ts';
export { DEFAULT_FIELD_MAX_BYTES, formatBytes, oversizedField } from './limits.ts';
export {
  ArbiterError,
  describeError,
  EXIT_CODES,
  formatUserError,
  isArbiterError,
  isCodedError,
  isUserMistake,
  type CodedError,
  type ErrorCode,
} from './errors.ts';
export { createLogger, createSilentLogger, logFailure, type Logger, type LogSink } from './logger.ts';
export {
  createScrubber,
  createSecretRegistry,
  describeEnv,
  knownSecrets,
  REDACTED,
  registerEnvSecrets,
  registerSecret,
  scrubDeep,
  scrubSecrets,
  secretForms,
  secretValues,
  type SecretRegistry,
} from './redact.ts';
export {
  createManualClock,
  createSequentialIds,
  createWakeableSleep,
  mulberry32,
  systemClock,
  systemIds,
  type Clock,
  type Ids,
} from './runtime.ts';
export {
  formatFieldPath,
  formatProblems,
  loadNamedYamlDir,
  loadYamlDir,
  loadYamlFile,
  parseYaml,
  yamlLib,
  readYamlFile,
  type Loaded,
  type Upgrade,
  type YamlOptions,
  type YamlProblem,
} from './yaml.ts';
export { type FieldRow, fieldRows, type JsonSchema, jsonSchemaOf, typeOf } from './schema-doc.ts';
export { closestName } from './suggest.ts';
export { type HttpFailure, type HttpHeaders, type HttpResult, sendHttp, viaFetch } from './http-client.ts';
export {
  createReportLinks,
  type LinkCheck,
  type ReportLinkOptions,
  type ReportLinks,
  reportPaths,
  type ReportUrl,
} from './links.ts';
export { type FlagOption, type FlagSpec, flagName, parseFlags, type ParsedFlags, tokenize } from './args.ts';
