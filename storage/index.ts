// Public surface of storage/: the document-store port, its two adapters, jobs, leases and the worker loop.
export type {
  Collection,
  Doc,
  DocumentStore,
  Filter,
  FindOptions,
  IndexSpec,
  Sort,
  StoreHealth,
  Update,
  UpdateResult,
} from './port.ts';
export { createNedbStore, repairTornTail, type EmbeddedStoreOptions } from './embedded.ts';
export {
  createSqliteStore,
  migrateNedbToSqlite,
  type NedbMigration,
  SQLITE_FILE,
  type SqliteStoreOptions,
} from './sqlite.ts';
export { type CollectionStats, type StoreStats, storeStats } from './stats.ts';
export {
  expiredFilter,
  parseRetentionAge,
  RETENTION_LEASE,
  type Retention,
  type RetentionEnv,
  type RetentionOptions,
  type RetentionPreview,
  type RetentionRule,
  retentionIndex,
  retentionPreview,
  retentionRules,
  type SweepResult,
  startRetention,
  sweepRetention,
} from './retention.ts';
export type { MongoStoreOptions } from './mongo.ts';
export {
  createEmbeddedStore,
  DEFAULT_EMBEDDED_ENGINE,
  type EmbeddedEngine,
  type OpenEmbeddedOptions,
  openStore,
} from './open.ts';
export {
  createJobQueue,
  JobSchema,
  JobStatusSchema,
  type EnqueueInput,
  type Backlog,
  type FailOutcome,
  type Job,
  type JobProgress,
  type JobQueue,
  type JobQueueOptions,
  type JobStatus,
} from './jobs.ts';
export {
  createLeases,
  DEFAULT_LEASE_TTL_MS,
  TickSchema,
  type HoldOptions,
  type LeaseHold,
  type Leases,
  type Tick,
} from './leases.ts';
export {
  createWorker,
  PermanentJobError,
  type JobContext,
  type JobHandler,
  type Worker,
  type WorkerOptions,
  type WorkerStats,
} from './worker.ts';
export { parseStored, parseStoredJson, type StoredAt } from './stored.ts';
