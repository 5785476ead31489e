// Public surface of monitors/: scheduled monitors (YAML, sources, extractors, dedup, sampling, alerts, ticks).
export { loadMonitors, type Monitor } from './schema.ts';
export { createMonitorStore, type MonitorStateDoc, type MonitorStore, type ScoredItemDoc } from './store.ts';
export { createTickLog, type TickLog, type TickLogDoc } from './tick-log.ts';
export type { MonitorDeps } from './tick.ts';
export {
  DRY_RUN_RECORDS,
  describeSchedule,
  findMonitor,
  listMonitors,
  runMonitorNow,
  setMonitorPaused,
  startMonitors,
} from './service.ts';
export { type MonitorCliCommand, runMonitorCli } from './cli.ts';
export type { SlackAnswer, SlackReader } from './slack-reader.ts';
export {
  createMonitorReviewActions,
  createMonitorReviewStore,
  humanAdjustments,
  type MonitorReviewStore,
} from './review.ts';
