// The port through which CLI handlers reach the configured store and services. app/ composes it once per
// invocation (lazily: a command that reads only the store never builds the model client); cli/ closes it once.
import type { AuditLog } from '../audit/index.ts';
import type { Transport } from '../chat/index.ts';
import type { Logger } from '../config/index.ts';
import type { Llm } from '../llm/index.ts';
import type { DigestDeps } from '../digests/index.ts';
import type { ReviewService } from '../reviews/index.ts';
import type { RunRepository, RunService } from '../runs/index.ts';
import type { DocumentStore, JobQueue } from '../storage/index.ts';

/** The run service of a CLI invocation, with what executing a run in-process needs. */
export interface CliRuns {
  service: RunService;
  queue: JobQueue;
  logger: Logger;
  /** Sends the spans still batched (bounded wait; never throws). */
  flushTraces(): Promise<void>;
}

/** The configured store and services, each built on first use. */
export interface CliServices {
  store(): Promise<DocumentStore>;
  queue(): Promise<JobQueue>;
  audit(): Promise<AuditLog>;
  /** The model client (its response cache in the store); built once, shared with the run service. */
  llm(): Promise<Llm>;
  /** Runs as stored (listing and showing runs needs no model client). */
  runReader(): Promise<Pick<RunRepository, 'getRun' | 'items' | 'listRuns'>>;
  /** The run service with the model client, the tracing pipeline and Langfuse (as the bot builds them). */
  runs(): Promise<CliRuns>;
  /** The review service; whatever it would post is queued for the bot's worker (the CLI never posts). */
  reviews(): Promise<ReviewService>;
  /** What posting or previewing a digest needs, writing through `transport`. */
  digests(transport: Transport): Promise<DigestDeps>;
  /** The signed URL of a run's or a review's report page (under PUBLIC_URL, else the bot's local address). */
  reportUrl(kind: 'run' | 'review', id: string): Promise<string>;
  /** Flushes what was built and closes the store if this invocation opened it. */
  close(): Promise<void>;
}
