// Public surface of monitors/: scheduled monitors (YAML, sources, extractors, dedup, sampling, alerts, ticks).
export {
  AlertRuleSchema,
  ExtractSchema,
  loadMonitorFile,
  loadMonitors,
  MonitorSchema,
  parseDuration,
  SampleSchema,
  ScheduleSchema,
  SourceSchema,
  type AlertRuleSpec,
  type ExtractSpec,
  type Monitor,
  type SampleSpec,
  type ScheduleSpec,
  type SourceSpec,
} from './schema.ts';
export { asText, extractItem, getPath, type ExtractResult } from './extract.ts';
export { hashUnit, sampleItems, type Sampleable } from './sampling.ts';
export {
  evaluateAlerts,
  ruleName,
  ruleValue,
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
  metricLine,
  type ReportItem,
  type TickReport,
} from './report.ts';
export {
  buildMetrics,
  runDueTick,
  runTick,
  scoreId,
  tickLeaseName,
  type MonitorDeps,
  type TickOptions,
  type TickOutcome,
} from './tick.ts';
export {
  describeSchedule,
  dryRunExtractor,
  findMonitor,
  listMonitors,
  runMonitorNow,
  setMonitorPaused,
  startMonitors,
} from './service.ts';
export { messageToText, runMonitorCli, type MonitorCliDeps } from './cli.ts';
