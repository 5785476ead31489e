// Public surface of config/: environment, YAML loading, errors, logging, clock and ids, the lean HTTP client.
export { EnvSchema, parseEnv, type Env } from './env.ts';
export { durationMs, durationSchema, formatDuration, parseDuration } from './duration.ts';
export { PATH_FORMS, parseFieldPath, type PathSegment, pathSegments, readPath } from './field-path.ts';
export { MODEL_NAME_RE, ModelNameSchema } from './model-name.ts';
export { NAME_RE, NameSchema, toName } from './names.ts';
export { clampOldWorst, worstSchema } from './worst.ts';
export {
  isCronExpression,
  latestScheduledTime,
  SCHEDULE_FORMS,
  ScheduleSchema,
  scheduleTimezone,
  wakeExpression,
} from './schedule.ts';
export {
  isMapping,
  mappingsAt,
  msAsDuration,
  oldFormMessage,
  renameKey,
  renameValue,
  secondsAsDuration,
  warningNotes,
} from './upgrade.ts';
export { DEFAULT_FIELD_MAX_BYTES, oversizedField } from './limits.ts';
export {
  ArbiterError,
  describeError,
  formatUserError,
  isArbiterError,
  isCodedError,
  type CodedError,
} from './errors.ts';
export { createLogger, createSilentLogger, logFailure, type Logger, type LogSink } from './logger.ts';
export {
  createScrubber,
  describeEnv,
  registerEnvSecrets,
  registerSecret,
  scrubDeep,
  scrubSecrets,
  secretValues,
} from './redact.ts';
export { createWakeableSleep, mulberry32, systemClock, systemIds, type Clock, type Ids } from './runtime.ts';
export {
  formatFieldPath,
  formatProblems,
  loadNamedYamlDir,
  loadYamlFile,
  parseYaml,
  yamlLib,
  readYamlFile,
  type Loaded,
  type Upgrade,
  type YamlProblem,
} from './yaml.ts';
export { fieldRows } from './schema-doc.ts';
export { closestName } from './suggest.ts';
export { type HttpHeaders, sendHttp, viaFetch } from './http-client.ts';
export { createReportLinks, type ReportLinks, reportPaths, type ReportUrl } from './links.ts';
export { type FlagOption, flagName, parseFlags, tokenize } from './args.ts';
