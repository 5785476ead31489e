// Public surface of runs/: suites, datasets, targets, personas, the LangGraph engine, the run service (durable
// jobs), summaries, comparison and JUnit output.
export type { Run, RunItemView, RunProgress } from './types.ts';
export { createLangfusePromptSource, langfuseRunName } from './langfuse.ts';
export { loadSuite } from './suite.ts';
export type { PromptSource } from './targets.ts';
export type { EngineMode } from './engine.ts';
export { createRunRepository, type RunRepository } from './repository.ts';
export { runOutcome, summaryExitCode } from './summary.ts';
export { compareRuns, type RunComparison } from './compare.ts';
export { renderJunit } from './junit.ts';
export { createRunService, RUN_JOB_TYPE, type RunService } from './service.ts';
export { createRunLauncher, createSuiteWatcher } from './watch.ts';
