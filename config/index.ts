// Public surface of config/: environment, YAML loading, errors, logging, clock and ids, the lean HTTP client.
export { EnvSchema, ENV_VARS, SECRET_VARS, parseEnv, type Env, type EnvVarName } from './env.ts';
export { parseDuration } from './duration.ts';
export { DEFAULT_FIELD_MAX_BYTES, formatBytes, oversizedField } from './limits.ts';
export {
  ArbiterError,
  describeError,
  EXIT_CODES,
  formatUserError,
  isArbiterError,
  isUserMistake,
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
  CronScheduleSchema,
  formatFieldPath,
  latestCronTime,
  loadNamedYamlDir,
  loadYamlDir,
  loadYamlFile,
  parseYaml,
  type Loaded,
  type YamlProblem,
} from './yaml.ts';
export { type FieldRow, fieldRows, type JsonSchema, jsonSchemaOf, typeOf } from './schema-doc.ts';
export { closestName } from './suggest.ts';
export { type HttpFailure, type HttpHeaders, type HttpResult, sendHttp, viaFetch } from './http-client.ts';
