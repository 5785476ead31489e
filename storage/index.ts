// Public surface of storage/: the document-store port, its two adapters, jobs, leases and the worker loop.
export type { Collection, Doc, DocumentStore, Filter, IndexSpec, Update } from './port.ts';
export { createSqliteStore, migrateNedbToSqlite } from './sqlite.ts';
export { type StoreStats, storeStats } from './stats.ts';
export { retentionRules, startRetention } from './retention.ts';
export { openStore } from './open.ts';
export {
  createJobQueue,
  JobStatusSchema,
  type EnqueueInput,
  type Backlog,
  type Job,
  type JobQueue,
  type JobStatus,
} from './jobs.ts';
export { createLeases, DEFAULT_LEASE_TTL_MS, type LeaseHold, type Leases } from './leases.ts';
export { createWorker, PermanentJobError, type JobContext, type JobHandler, type Worker } from './worker.ts';
export { parseStored, parseStoredJson } from './stored.ts';
