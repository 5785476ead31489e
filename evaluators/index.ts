// Public surface of evaluators/: the metric registry, heuristics, the rubric and pairwise judges, and Item/Score.
export {
  ScoreSchema,
  ToolCallListSchema,
  TurnSchema,
  type Item,
  type JudgeDeps,
  type Metric,
  type Score,
  type ToolCall,
  type Turn,
} from './types.ts';
export {
  closestName,
  describeMetrics,
  formatMetricsHelp,
  formatMetricReference,
  isMetricName,
  METRIC_NAMES,
} from './registry.ts';
export {
  checkMetricEntry,
  createMetricFromSpec,
  DEFAULT_METRIC_THRESHOLD,
  duplicateScoreNames,
  gradeItem,
  MetricEntrySchema,
  toMetricSpec,
  upgradeMetricEntries,
  type ItemGrade,
  type MetricSpec,
} from './entry.ts';
export { errorScore, isProviderTrouble, renderTranscript } from './score.ts';
export { readToolCalls } from './tool-calls.ts';
export { maskPii } from './pii.ts';
export { judgePair } from './pairwise-judge.ts';
