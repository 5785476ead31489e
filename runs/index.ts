// Public surface of runs/: suites, datasets, targets, personas, the LangGraph engine, the run service (durable
// jobs), summaries, comparison and JUnit output.
export {
  DatasetItemSchema,
  ItemResultSchema,
  MetricSummarySchema,
  RowErrorSchema,
  RunItemSchema,
  RunProgressSchema,
  RunSchema,
  RunStatusSchema,
  RunSummarySchema,
  RunLangfuseSchema,
  RunTriggerSchema,
  type DatasetItem,
  type ItemResult,
  type MetricSummary,
  type RowError,
  type Run,
  type RunItem,
  type RunItemView,
  type RunProgress,
  type RunStatus,
  type RunSummary,
  type RunLangfuse,
  type RunTrigger,
} from './types.ts';
export {
  createLangfuseDatasetSource,
  createLangfusePromptSource,
  fromLangfuseItem,
  itemPublication,
  itemSpanIds,
  langfuseExperimentId,
  langfuseRunName,
  langfuseScoreId,
  langfuseScoreValue,
  langfuseTraceId,
  publishRunToLangfuse,
  traceRunItem,
  type ItemSpanResult,
  type DatasetSourceResult,
  type LangfusePublisherDeps,
  type PublishOutcome,
} from './langfuse.ts';
export {
  DatasetRowSchema,
  formatOf,
  hashKey,
  loadDatasetFile,
  parseCsv,
  parseDataset,
  type DatasetFormat,
  type ParsedDataset,
} from './datasets.ts';
export { DatasetRefSchema, loadSuite, parseSuite, suiteHash, type Suite } from './suite.ts';
export { describePersona, loadPersonaFile, parsePersona, PersonaSchema, type Persona } from './personas.ts';
export {
  createTarget,
  headerEnvRefs,
  isTargetType,
  renderPromptMessages,
  TARGET_TYPES,
  targets,
  templateVars,
  type PromptRecord,
  type PromptSource,
  type Target,
  type TargetDefinition,
  type TargetDeps,
  type TargetRequest,
  type TargetResponse,
  type TargetSpec,
  type TargetType,
} from './targets.ts';
export { getPath, parsePath, renderJson, renderJsonText, renderText } from './template.ts';
export {
  CHECKPOINT_WRITES_COLLECTION,
  CHECKPOINTS_COLLECTION,
  createStoreCheckpointer,
  type StoreCheckpointSaver,
  threadGroup,
} from './checkpointer.ts';
export {
  createItemGraph,
  durabilityOf,
  runItem,
  type EngineDeps,
  type EngineMode,
  type ItemEngine,
  type ItemOutcome,
  type ItemUsage,
  type StopReason,
} from './engine.ts';
export { limitTarget, Permits } from './permits.ts';
export { createRunRepository, type FinishFields, type RunRepository } from './repository.ts';
export {
  INFRA_CAUSES,
  runOutcome,
  summarize,
  summaryExitCode,
  type GateSettings,
  type SummaryInput,
} from './summary.ts';
export {
  compareRuns,
  pairedTInterval,
  pairingInput,
  signTest,
  studentTCdf,
  studentTQuantile,
  type ItemDelta,
  type MetricDelta,
  type RunComparison,
} from './compare.ts';
export { escapeXml, renderJunit } from './junit.ts';
export {
  createRunService,
  expandPersonas,
  RUN_JOB_TYPE,
  RunJobPayloadSchema,
  type DatasetSource,
  type RunService,
  type RunServiceDeps,
  type RunActionOptions,
  type StartRunOptions,
} from './service.ts';
export {
  createRunLauncher,
  createSuiteCatalog,
  createSuiteWatcher,
  findSuite,
  pinPromptVersion,
  type LaunchOptions,
  type SuitesDirDeps,
  type WatchingSuiteInfo,
} from './watch.ts';
