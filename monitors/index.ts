// Public surface of monitors/: scheduled monitors (YAML, sources, extractors, dedup, sampling, alerts, ticks).
export {
  AlertRuleSchema,
  ExtractSchema,
  loadMonitorFile,
  loadMonitors,
  MonitorSchema,
  SampleSchema,
  ScheduleSchema,
  SlackSourceSchema,
  SourceSchema,
  type AlertRuleSpec,
  type ExtractSpec,
  type Monitor,
  type SampleSpec,
  type ScheduleSpec,
  type SourceSpec,
} from './schema.ts';
export { asText, extractItem, extractPaths, getPath, type ExtractResult } from './extract.ts';
export { hashUnit, sampleItems, type Sampleable } from './sampling.ts';
export {
  evaluateAlerts,
  ruleName,
  ruleValue,
  withHumanDecisions,
  type AlertEvent,
  type AlertState,
  type TickStats,
} from './alerts.ts';
export {
  dueTick,
  latestScheduled,
  startSchedules,
  wakeExpression,
  type MonitorScheduler,
} from './schedule.ts';
export {
  createSource,
  MAX_TRACE_HOLD_MS,
  sources,
  traceUrl,
  type Source,
  type SourceBatch,
  type SourceDeps,
  type SourceRecord,
  type SourceResult,
} from './sources.ts';
export {
  createMonitorStore,
  scoredKey,
  type MonitorStateDoc,
  type MonitorStore,
  type ScoredItemDoc,
} from './store.ts';
export {
  buildFailingMessage,
  buildTickReport,
  excerpt,
  buildReviewedItemMessage,
  metricLine,
  reviewSections,
  type ReportItem,
  type ReportReview,
  type TickReport,
} from './report.ts';
export { createTickLog, summarizeTick, type TickLog, type TickLogDoc } from './tick-log.ts';
export {
  runDueTick,
  runTick,
  tickLeaseName,
  type MonitorDeps,
  type TickOptions,
  type TickOutcome,
} from './tick.ts';
export { buildMetrics, historyWithDecisions } from './tick-phases.ts';
export { scoreId } from './tick-sinks.ts';
export {
  describeSchedule,
  dryRunExtractor,
  findMonitor,
  listMonitors,
  auditManualTick,
  runMonitorNow,
  setMonitorPaused,
  startMonitors,
} from './service.ts';
export { DRY_RUN_RECORDS, type MonitorCliCommand, type MonitorCliDeps, runMonitorCli } from './cli.ts';
export {
  compareTs,
  createSlackSource,
  feedbackScore,
  HUMAN_FEEDBACK_METRIC,
  messageUrl,
  msToTs,
  nextTs,
  SlackCursorSchema,
  tsToMs,
  type SlackCursor,
  type SlackSourceSpec,
} from './slack-source.ts';
export type { SlackAnswer, SlackReader } from './slack-reader.ts';
export {
  attachReviewButtons,
  createMonitorReviewActions,
  createMonitorReviewStore,
  describeDecision,
  humanAdjustments,
  humanScoreId,
  humanScoreName,
  publishPendingReviews,
  REVIEW_ACTION_PREFIX,
  reviewableScores,
  reviewToken,
  type HumanAdjustment,
  type HumanAdjustments,
  type MonitorReviewDeps,
  type MonitorReviewStore,
  type ReviewDecision,
  type ReviewDecisionKind,
  type ReviewTokenDoc,
} from './review.ts';
