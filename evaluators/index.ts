// Public surface of evaluators/: the metric registry, heuristics, the rubric and pairwise judges, and Item/Score.
export {
  ItemSchema,
  RubricRefSchema,
  ScoreErrorCauseSchema,
  ScoreSchema,
  ScoreUsageSchema,
  SourceRefSchema,
  TurnSchema,
  type Item,
  type JudgeDeps,
  type Metric,
  type MetricDefinition,
  type MetricDeps,
  type MetricKind,
  type RubricRef,
  type Score,
  type ScoreContext,
  type ScoreErrorCause,
  type ScoreUsage,
  type SourceRef,
  type Turn,
} from './types.ts';
export {
  closestName,
  createMetric,
  describeMetrics,
  formatMetricsHelp,
  formatMetricReference,
  isMetricName,
  METRIC_NAMES,
  metrics,
  type ArgHelp,
  type CreateMetricResult,
  type MetricHelp,
  type MetricName,
} from './registry.ts';
export {
  checkMetricEntry,
  createMetricFromSpec,
  DEFAULT_METRIC_THRESHOLD,
  duplicateScoreNames,
  gradeItem,
  legacyEntryHint,
  MetricEntrySchema,
  toMetricSpec,
  upgradeMetricEntries,
  type GradedMetric,
  type ItemGrade,
  type MetricEntry,
  type MetricSpec,
  type ScoreError,
} from './entry.ts';
export {
  addScoreUsage,
  errorScore,
  isProviderTrouble,
  outputText,
  renderTranscript,
  usageOf,
} from './score.ts';
export { detectRefusal } from './refusal.ts';
export { maskPii, scanPii, PII_KINDS, type PiiFinding, type PiiKind } from './pii.ts';
export {
  DEFAULT_REVIEW_BELOW,
  HEURISTIC_PREFIX,
  heuristicReason,
  judgeWithRubric,
  type RubricJudgeOptions,
} from './llm-judge.ts';
export {
  DEFAULT_PAIRWISE_CRITERIA,
  judgePair,
  type PairwiseOptions,
  type PairwiseRequest,
  type PairwiseVerdict,
  type Winner,
} from './pairwise-judge.ts';
export {
  buildPairwiseMessages,
  buildRubricMessages,
  JUDGE_PROMPT_VERSION,
  pairwiseJudgePrompt,
  rubricJudgePrompt,
  rubricRef,
  rubricText,
  type Rubric,
  type Scale,
} from './judge-prompt.ts';
