// The digest YAML format (DIGESTS_DIR): zod schema and loader. Errors name file, line and field.
import { z } from 'zod';
import { CronScheduleSchema, type Loaded, loadNamedYamlDir, loadYamlFile } from '../config/index.ts';

/** The parts a digest can show; all by default. */
export const DIGEST_SECTIONS = ['monitors', 'alerts', 'runs', 'reviews', 'chart'] as const;
export type DigestSection = (typeof DIGEST_SECTIONS)[number];

/** When a digest posts: a 5-field cron expression read in a timezone. */
export const DigestScheduleSchema = CronScheduleSchema;
export type DigestSchedule = z.infer<typeof DigestScheduleSchema>;

/** One digest file. */
export const DigestSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]*$/, 'use lower-case letters, digits, - and _')
    .describe("the digest's name (`arbiter digest <name>`); lower-case letters, digits, - and _"),
  description: z.string().optional().describe('one line shown in the digest'),
  schedule: DigestScheduleSchema.describe('when it posts'),
  channel: z.string().min(1).describe('Slack channel the digest is posted to (the console prints it)'),
  period: z
    .enum(['day', 'week'])
    .default('day')
    .describe("the last complete day, or week (Monday to Monday), in the schedule's timezone"),
  include: z
    .array(z.enum(DIGEST_SECTIONS, { error: `expected one of ${DIGEST_SECTIONS.join(', ')}` }))
    .min(1)
    .default([...DIGEST_SECTIONS])
    .describe('the parts shown'),
  monitors: z.array(z.string().min(1)).optional().describe('only these monitors (all when absent)'),
  worst: z
    .number()
    .int()
    .min(1)
    .max(10)
    .default(5)
    .describe('worst items and regressions shown in the thread'),
});
/** A validated digest. */
export type Digest = z.infer<typeof DigestSchema>;

/** Loads every digest of a folder; throws YAML_INVALID (file:line:col: field: reason) or on duplicate names. */
export function loadDigests(dir: string): Loaded<Digest>[] {
  return loadNamedYamlDir(dir, DigestSchema, 'digest');
}

/** Loads one digest file. */
export function loadDigestFile(file: string): Digest {
  return loadYamlFile(file, DigestSchema);
}
