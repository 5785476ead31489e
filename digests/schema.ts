// The digest YAML format (DIGESTS_DIR): zod schema and loader. Errors name file, line and field.
import { z } from 'zod';
import {
  closestName,
  isCronExpression,
  isMapping,
  type Loaded,
  loadNamedYamlDir,
  NameSchema,
  oldFormMessage,
  readYamlFile,
  SCHEDULE_FORMS,
  ScheduleSchema,
  type Upgrade,
  worstSchema,
} from '../config/index.ts';

/** The parts a digest can show; all by default. */
export const DIGEST_SECTIONS = ['monitors', 'alerts', 'runs', 'reviews', 'chart'] as const;
export type DigestSection = (typeof DIGEST_SECTIONS)[number];

/** When a digest posts: `{every: 1d}` or `{cron, timezone}` (the one schedule type of monitors and digests). */
export const DigestScheduleSchema = ScheduleSchema;
export type DigestSchedule = z.infer<typeof DigestScheduleSchema>;

/** One digest file. */
export const DigestSchema = z.strictObject({
  name: NameSchema.describe(
    "the digest's name (`arbiter digest <name>`); lower-case letters, digits, -, _ and .",
  ),
  description: z.string().optional().describe('one line shown in the digest'),
  schedule: DigestScheduleSchema.describe(
    'when it posts: `{cron, timezone}`, or `{every, timezone?}` (the period is the one before the scheduled time)',
  ),
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
  monitors: z
    .array(z.string().min(1))
    .optional()
    .describe('only these monitors, by `name` (all when absent); each must name a monitor of MONITORS_DIR'),
  worst: worstSchema(
    5,
    'worst items and worst regressions shown in the thread',
    'a digest posts once a period, so it sums up more',
  ),
});
/** A validated digest. */
export type Digest = z.infer<typeof DigestSchema>;

/** The old forms of a digest file, rewritten with a warning for one release: a bare cron string as `schedule`. */
export const upgradeDigest: Upgrade = (data, warn) => {
  if (!isMapping(data) || typeof data.schedule !== 'string' || !isCronExpression(data.schedule)) return;
  const text = data.schedule;
  data.schedule = { cron: text, timezone: 'UTC' };
  warn(
    ['schedule'],
    `${oldFormMessage(`schedule: "${text}"`, `schedule: {cron: "${text}", timezone: UTC}`)} (a bare cron string is read in UTC); the two forms are ${SCHEDULE_FORMS}`,
  );
};

/** The digest schema, checking with `monitorNames` that `monitors` names existing monitors (with did-you-mean). */
export function digestSchemaFor(monitorNames?: readonly string[]) {
  if (!monitorNames) return DigestSchema;
  return DigestSchema.superRefine((d, ctx) => {
    (d.monitors ?? []).forEach((name, i) => {
      if (monitorNames.includes(name)) return;
      const guess = closestName(name, monitorNames);
      ctx.addIssue({
        code: 'custom',
        path: ['monitors', i],
        message: `no monitor is named '${name}'${guess ? ` (did you mean '${guess}'?)` : ''}; monitors: ${monitorNames.join(', ') || '(none)'}`,
      });
    });
  });
}

/**
 * Loads every digest of a folder; throws YAML_INVALID (file:line:col: field: reason) or on duplicate names. With
 * `monitorNames`, a digest's `monitors` must name monitors among them.
 */
export function loadDigests(
  dir: string,
  options: { monitorNames?: readonly string[] } = {},
): Loaded<Digest>[] {
  return loadNamedYamlDir(dir, digestSchemaFor(options.monitorNames), 'digest', { upgrade: upgradeDigest });
}

/** Loads one digest file with its warnings (old forms still accepted). */
export function readDigestFile(
  file: string,
  options: { monitorNames?: readonly string[] } = {},
): Loaded<Digest> {
  return readYamlFile(file, digestSchemaFor(options.monitorNames), { upgrade: upgradeDigest });
}

/** Loads one digest file. */
export function loadDigestFile(file: string): Digest {
  return readDigestFile(file).value;
}
