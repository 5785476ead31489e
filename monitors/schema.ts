// The monitor YAML format (MONITORS_DIR): zod schemas and the loader. Errors name file, line and field.
import {
  checkMetricEntry,
  duplicateScoreNames,
  MetricEntrySchema,
  toMetricSpec,
} from '../evaluators/index.ts';
import { z } from 'zod';
import {
  CronScheduleSchema,
  loadNamedYamlDir,
  loadYamlFile,
  type Loaded,
  parseDuration,
} from '../config/index.ts';

/** When a monitor ticks: a 5-field cron expression (minute resolution) with a timezone, or a fixed interval. */
export const ScheduleSchema = z.union([
  CronScheduleSchema,
  z.strictObject({
    every: z.string().refine((d) => (parseDuration(d) ?? 0) >= 60_000, {
      message: 'expected a duration of at least 1m, e.g. 30m, 2h, 1d',
    }),
  }),
]);
export type ScheduleSpec = z.infer<typeof ScheduleSchema>;

/** A file source: one JSON object per line. */
export const FileSourceSchema = z.strictObject({
  type: z.literal('file'),
  path: z.string().min(1),
  /** Dot path of each record's stable id; the line number when absent. */
  idPath: z.string().default('id'),
});

/** A Langfuse source: new observations through the v2 observations API, grouped per trace by default. */
export const LangfuseSourceSchema = z.strictObject({
  type: z.literal('langfuse'),
  observationType: z.string().optional(),
  traceId: z.string().optional(),
  /** The v2 `filter` parameter, passed through as JSON. */
  filter: z.array(z.record(z.string(), z.unknown())).optional(),
  groupBy: z.enum(['trace', 'observation']).default('trace'),
  pageSize: z.number().int().min(1).max(1000).default(100),
  /** Where to start on the first tick, e.g. `24h` before the first tick. */
  lookback: z
    .string()
    .refine((d) => parseDuration(d) !== undefined, { message: 'expected a duration like 24h' })
    .default('24h'),
  /** Each tick re-reads this far behind the last tick, for data Langfuse makes visible late (up to ~15 min). */
  lag: z
    .string()
    .refine((d) => parseDuration(d) !== undefined, { message: 'expected a duration like 15m' })
    .default('15m'),
  /** With `groupBy: trace`, a trace is scored once no observation of it has started or ended for this long. */
  settle: z
    .string()
    .refine((d) => parseDuration(d) !== undefined, { message: 'expected a duration like 5m' })
    .default('5m'),
  /** Extra v2 field groups to read (the extractor's paths already pick io, metadata, usage, model, prompt…). */
  fields: z
    .array(
      z.enum([
        'core',
        'basic',
        'time',
        'io',
        'metadata',
        'model',
        'usage',
        'prompt',
        'metrics',
        'trace_context',
      ]),
    )
    .optional(),
  /** Extra metadata keys to read in full (keys the extractor's `metadata.<key>` paths name are added). */
  expandMetadata: z.array(z.string().min(1)).optional(),
});

const durationText = (example: string) =>
  z
    .string()
    .refine((d) => parseDuration(d) !== undefined, { message: `expected a duration like ${example}` });

/**
 * A Slack source: a channel's bot answers and the user messages they reply to (conversations.history/replies).
 * Tier-1 limits for non-Marketplace apps: 1 request per minute, at most 15 messages per page.
 */
export const SlackSourceSchema = z
  .strictObject({
    type: z.literal('slack'),
    /** Channel id (C…/G…), not a #name: ids survive renames and need no extra API call. */
    channel: z.string().regex(/^[CGD][A-Z0-9]{2,}$/, 'expected a channel id such as C0123456789'),
    /** The bot whose answers are scored: its user id (U…) and/or its bot id (B…). */
    botUserId: z
      .string()
      .regex(/^[UW][A-Z0-9]{2,}$/, 'expected a user id such as U0123456789')
      .optional(),
    botId: z
      .string()
      .regex(/^B[A-Z0-9]{2,}$/, 'expected a bot id such as B0123456789')
      .optional(),
    /** Also read thread replies (conversations.replies) of threads started in the scanned range. */
    threads: z.boolean().default(true),
    /** Record 👍/👎 reactions on the bot's answers as a `human_feedback` score (1 = up, 0 = down). */
    reactions: z.boolean().default(false),
    /** Messages per page; Slack allows at most 15 for non-Marketplace apps. */
    pageSize: z.number().int().min(1).max(15).default(15),
    /** Least seconds between two Slack API calls (Tier-1: 60). */
    minIntervalSeconds: z.number().min(0).max(3600).default(60),
    /** API calls one tick may make; the rest of the scan continues next tick from the stored cursor. */
    maxCallsPerTick: z.number().int().min(1).max(100).default(5),
    /** 429s retried within a tick (after Retry-After) before the tick fails. */
    maxRetries: z.number().int().min(0).max(5).default(2),
    /** Where to start on the first tick. */
    lookback: durationText('24h').default('24h'),
    /** Leave messages younger than this for a later tick, so reactions and thread replies can arrive first. */
    settle: durationText('10m').optional(),
    /** Workspace URL (https://acme.slack.com) for links to messages in reports. */
    workspaceUrl: z.url().optional(),
  })
  .refine((s) => s.botUserId !== undefined || s.botId !== undefined, {
    message: 'a slack source needs botUserId (U…) or botId (B…) to tell the bot answers apart',
  });

export const SourceSchema = z.discriminatedUnion('type', [
  FileSourceSchema,
  LangfuseSourceSchema,
  SlackSourceSchema,
]);
export type SourceSpec = z.infer<typeof SourceSchema>;

/** Maps a source record to an Item: dot paths, and named regex patterns over a text field. */
export const ExtractSchema = z.strictObject({
  input: z.string().min(1),
  output: z.string().min(1),
  context: z.string().optional(),
  expected: z.string().optional(),
  id: z.string().optional(),
  metadata: z.record(z.string(), z.string()).optional(),
  /** Named-group regexes applied to a field's text; groups become `$name` values usable in the paths above. */
  patterns: z
    .array(
      z.strictObject({
        from: z.string().min(1),
        regex: z.string().refine(
          (r) => {
            try {
              new RegExp(r, 's');
              return true;
            } catch {
              return false;
            }
          },
          { message: 'invalid regular expression' },
        ),
      }),
    )
    .default([]),
});
export type ExtractSpec = z.infer<typeof ExtractSchema>;

export const SampleSchema = z.discriminatedUnion('strategy', [
  z.strictObject({ strategy: z.literal('all') }),
  z
    .strictObject({
      strategy: z.literal('random'),
      n: z.number().int().min(1).optional(),
      rate: z.number().gt(0).max(1).optional(),
      seed: z.number().int().optional(),
    })
    .refine((s) => (s.n === undefined) !== (s.rate === undefined), {
      message: 'random sampling needs exactly one of n or rate',
    }),
  z.strictObject({ strategy: z.literal('most_recent'), n: z.number().int().min(1) }),
  z.strictObject({ strategy: z.literal('oldest'), n: z.number().int().min(1) }),
  z.strictObject({ strategy: z.literal('deterministic'), rate: z.number().gt(0).max(1) }),
]);
export type SampleSpec = z.infer<typeof SampleSchema>;

/** A monitor's metric entry: the one shape suites use too (`metric`, `name`, `args`, `threshold`, `weight`, `gate`). */
export const MonitorMetricSchema = MetricEntrySchema;
export type MonitorMetricSpec = z.infer<typeof MonitorMetricSchema>;

export const AlertRuleSchema = z
  .strictObject({
    name: z.string().optional(),
    metric: z.string().optional(),
    /** `mean` of a metric over the tick (or `window` ticks), or the `failing` count of items. */
    on: z.enum(['mean', 'failing']).default('mean'),
    below: z.number().optional(),
    above: z.number().optional(),
    window: z.number().int().min(1).default(1),
    severity: z.enum(['info', 'warning', 'critical']).default('warning'),
  })
  .refine((r) => (r.below === undefined) !== (r.above === undefined), {
    message: 'an alert needs exactly one of below or above',
  })
  .refine((r) => r.on === 'failing' || r.metric !== undefined, { message: 'a mean alert needs a metric' });
export type AlertRuleSpec = z.infer<typeof AlertRuleSchema>;

export const PublishSchema = z.strictObject({
  /** Channel for the tick report (the console transport prints it). */
  channel: z.string().default('#monitors'),
  langfuse: z.boolean().default(false),
  worst: z.number().int().min(0).max(20).default(3),
  /** Post a report even when a tick found nothing new. */
  reportEmpty: z.boolean().default(false),
});

export const BudgetSchema = z.strictObject({
  maxItems: z.number().int().min(1).optional(),
  maxJudgeCost: z.number().min(0).optional(),
});

/** One monitor file. */
export const MonitorSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'use lower-case letters, digits, - and _'),
    description: z.string().optional(),
    schedule: ScheduleSchema,
    source: SourceSchema,
    extract: ExtractSchema,
    sample: SampleSchema.default({ strategy: 'all' }),
    metrics: z.array(MonitorMetricSchema).min(1),
    alerts: z.array(AlertRuleSchema).default([]),
    publish: PublishSchema.default({ channel: '#monitors', langfuse: false, worst: 3, reportEmpty: false }),
    budget: BudgetSchema.default({}),
  })
  .superRefine((m, ctx) => {
    // Checked at load, so a mistyped metric or alert reference names its file and line instead of failing at a tick.
    const specs = m.metrics.map((entry, i) => {
      for (const issue of checkMetricEntry(entry))
        ctx.addIssue({ code: 'custom', path: ['metrics', i, ...issue.path], message: issue.message });
      return toMetricSpec(entry);
    });
    for (const dup of duplicateScoreNames(specs))
      ctx.addIssue({
        code: 'custom',
        path: ['metrics', dup.index],
        message: `two metrics write scores named '${dup.name}'; give one a different \`name\``,
      });
    const names = specs.map((s) => s.name);
    m.alerts.forEach((a, i) => {
      if (a.metric !== undefined && !names.includes(a.metric)) {
        const renamed = specs.find((s) => s.metric === a.metric && s.name !== a.metric);
        ctx.addIssue({
          code: 'custom',
          path: ['alerts', i, 'metric'],
          message: renamed
            ? `alerts name the score, and metric '${a.metric}' writes its scores as '${renamed.name}': write \`metric: ${renamed.name}\``
            : `no metric of this monitor writes scores named '${a.metric}'; valid: ${names.join(', ')}`,
        });
      }
    });
  });
/** A validated monitor. */
export type Monitor = z.infer<typeof MonitorSchema>;

/** Loads every monitor of a folder; throws YAML_INVALID (file:line:col: field: reason) or on duplicate names. */
export function loadMonitors(dir: string): Loaded<Monitor>[] {
  return loadNamedYamlDir(dir, MonitorSchema, 'monitor');
}

/** Loads one monitor file. */
export function loadMonitorFile(file: string): Monitor {
  return loadYamlFile(file, MonitorSchema);
}
