// The suite a run stored (`runs.suiteJson`) read back with its schema: a document written by another version or
// edited by hand is a clear STORE_INVALID_DOCUMENT naming the run, not a crash in the summary or the JUnit report.
import { z } from 'zod';
import { parseStoredJson } from '../storage/index.ts';
import { PersonaSchema } from './personas.ts';
import { type Suite, storedSuiteMetrics } from './suite.ts';

const StoredMetricSchema = z
  .looseObject({ metric: z.string().optional(), name: z.string().optional() })
  .refine((m) => m.metric !== undefined || m.name !== undefined, {
    error: 'a metric entry needs `metric` (or, in the old form, `name`)',
  });

/** A suite as `runs.suiteJson` holds it: the `Suite` a run started with (unknown fields are kept). */
export const StoredSuiteSchema = z.looseObject({
  name: z.string(),
  description: z.string().optional(),
  file: z.string(),
  dataset: z.union([
    z.looseObject({
      kind: z.literal('file'),
      path: z.string(),
      format: z.enum(['jsonl', 'csv', 'yaml']).optional(),
    }),
    z.looseObject({ kind: z.literal('langfuse'), name: z.string() }),
  ]),
  target: z.looseObject({ type: z.string() }),
  conversation: z
    .looseObject({
      personas: z.array(PersonaSchema),
      maxTurns: z.number(),
      simulator: z.string().optional(),
      goalCheck: z.boolean(),
      goalModel: z.string().optional(),
    })
    .optional(),
  metrics: z.array(StoredMetricSchema),
  warnings: z.array(z.string()).optional(),
  threshold: z.looseObject({ score: z.number(), passRate: z.number().optional() }),
  concurrency: z.number().optional(),
  watch: z
    .looseObject({
      prompts: z.array(z.string()),
      labels: z.array(z.string()).optional(),
      onChange: z.literal('run').optional(),
    })
    .optional(),
});

/**
 * The suite stored on run `run._id`, parsed with `StoredSuiteSchema` and with the metric entries of older versions
 * upgraded. Throws STORE_INVALID_DOCUMENT naming `runs/<id> (field suiteJson)` and the first bad field.
 */
export function readRunSuite(run: { _id: string; suiteJson: string }): Suite {
  const stored = parseStoredJson(StoredSuiteSchema, run.suiteJson, {
    collection: 'runs',
    id: run._id,
    field: 'suiteJson',
  });
  const { metrics, ...rest } = stored;
  return { ...rest, metrics: storedSuiteMetrics(metrics) };
}

const StoredGateSchema = z.looseObject({
  metrics: z.array(StoredMetricSchema).default([]),
  threshold: StoredSuiteSchema.shape.threshold,
});

/**
 * Only what grading a finished run reads from its stored suite (the gate and the metric entries), checked the same
 * way: for readers such as the JUnit report that need no dataset or target.
 */
export function readRunGate(run: { _id: string; suiteJson: string }): Pick<Suite, 'threshold' | 'metrics'> {
  const stored = parseStoredJson(StoredGateSchema, run.suiteJson, {
    collection: 'runs',
    id: run._id,
    field: 'suiteJson',
  });
  return { threshold: stored.threshold, metrics: storedSuiteMetrics(stored.metrics) };
}
