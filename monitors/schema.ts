// The monitor YAML format (MONITORS_DIR): zod schemas and the loader. Errors name file, line and field.
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import {
  checkMetricEntry,
  duplicateScoreNames,
  MetricEntrySchema,
  toMetricSpec,
  upgradeMetricEntries,
} from '../evaluators/index.ts';
import { z } from 'zod';
import {
  closestName,
  durationSchema,
  isCronExpression,
  isMapping,
  type Loaded,
  loadNamedYamlDir,
  mappingsAt,
  NameSchema,
  oldFormMessage,
  PATH_FORMS,
  parseFieldPath,
  readYamlFile,
  renameKey,
  renameValue,
  SCHEDULE_FORMS,
  ScheduleSchema,
  secondsAsDuration,
  type Upgrade,
  clampOldWorst,
  worstSchema,
} from '../config/index.ts';

export { ScheduleSchema };
/** When a monitor ticks: `{every: 15m}` or `{cron, timezone}` (the one schedule type, config/). */
export type ScheduleSpec = z.infer<typeof ScheduleSchema>;

/** A path of the one path grammar (config/): `$.a.b[0].c`, `a.b.0.c`, `messages[-1].content`, `$group`. */
const FieldPathSchema = z
  .string()
  .min(1)
  .refine((p) => parseFieldPath(p) !== null, { message: PATH_FORMS });

/** A file source: one JSON object per line. */
export const FileSourceSchema = z.strictObject({
  type: z.literal('file').describe('`file`'),
  path: z
    .string()
    .min(1)
    .describe(
      'a JSON Lines file, relative to the monitor file (a path relative to the working directory still works, with a warning)',
    ),
  idPath: FieldPathSchema.default('id').describe(
    "dot path of each record's stable id (the dedup key); the line number when absent",
  ),
});

/** A Langfuse source: new observations through the v2 observations API, grouped per trace by default. */
export const LangfuseSourceSchema = z.strictObject({
  type: z.literal('langfuse').describe('`langfuse`'),
  observationType: z
    .string()
    .optional()
    .describe('only observations of this type, e.g. GENERATION, SPAN, EVENT'),
  traceId: z.string().optional().describe('only observations of this trace'),
  filter: z
    .array(z.record(z.string(), z.unknown()))
    .optional()
    .describe("Langfuse's v2 `filter` parameter (a list of conditions), passed through as JSON"),
  groupBy: z
    .enum(['trace', 'observation'])
    .default('trace')
    .describe(
      '`trace`: one item per trace (its observations together); `observation`: one item per observation',
    ),
  pageSize: z.number().int().min(1).max(1000).default(100).describe('observations per API page'),
  lookback: durationSchema({ example: '24h' }).default('24h').describe('how far back the first tick reads'),
  lag: durationSchema({ example: '15m' })
    .default('15m')
    .describe('each tick re-reads this far behind the last one, for data Langfuse makes visible late'),
  settle: durationSchema({ example: '5m' })
    .default('5m')
    .describe(
      'with `groupBy: trace`, a trace is scored once none of its observations started or ended for this long',
    ),
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
    .optional()
    .describe(
      "extra v2 field groups to read (the groups the extractor's paths need are read anyway); Langfuse's own names, so `trace_context` keeps its underscore",
    ),
  expandMetadata: z
    .array(z.string().min(1))
    .optional()
    .describe(
      "metadata keys read in full past 200 characters (the extractor's `metadata.<key>` paths are added)",
    ),
});

/**
 * A Slack source: a channel's bot answers and the user messages they reply to (conversations.history/replies).
 * Tier-1 limits for non-Marketplace apps: 1 request per minute, at most 15 messages per page.
 */
export const SlackSourceSchema = z
  .strictObject({
    type: z.literal('slack').describe('`slack`'),
    channel: z
      .string()
      .regex(/^[CGD][A-Z0-9]{2,}$/, 'expected a channel id such as C0123456789')
      .describe('channel id (C…/G…; in Slack: channel details → About), not a #name'),
    botUserId: z
      .string()
      .regex(/^[UW][A-Z0-9]{2,}$/, 'expected a user id such as U0123456789')
      .optional()
      .describe('user id (U…) of the bot whose answers are scored (this or `botId` is needed)'),
    botId: z
      .string()
      .regex(/^B[A-Z0-9]{2,}$/, 'expected a bot id such as B0123456789')
      .optional()
      .describe('bot id (B…) of the bot whose answers are scored'),
    threads: z
      .boolean()
      .default(true)
      .describe('also read thread replies (conversations.replies) of threads started in the scanned range'),
    reactions: z
      .boolean()
      .default(false)
      .describe("record 👍/👎 reactions on the bot's answers as a `human_feedback` score (1 up, 0 down)"),
    pageSize: z
      .number()
      .int()
      .min(1)
      .max(15)
      .default(15)
      .describe('messages per page; Slack allows at most 15 for non-Marketplace apps'),
    minInterval: durationSchema({ example: '1m', min: 0, max: 3_600_000 })
      .default('1m')
      .describe('least time between two Slack API calls, 0s to 1h (Tier 1 for non-Marketplace apps: 1m)'),
    maxCallsPerTick: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(5)
      .describe('API calls one tick may make; the scan continues next tick from the stored cursor'),
    maxRetries: z
      .number()
      .int()
      .min(0)
      .max(5)
      .default(2)
      .describe('429 answers retried within a tick (after Retry-After) before the tick fails'),
    lookback: durationSchema({ example: '24h' }).default('24h').describe('how far back the first tick reads'),
    settle: durationSchema({ example: '10m' })
      .optional()
      .describe('leave messages younger than this for a later tick, so reactions and replies arrive first'),
    workspaceUrl: z
      .url()
      .optional()
      .describe('workspace URL (https://acme.slack.com) for links to messages in reports'),
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
  input: FieldPathSchema.describe(
    "path to the item's input, e.g. `$.input[-1].content` for the last message, or `$question` for a named group",
  ),
  output: FieldPathSchema.describe("path to the item's output (the answer scored)"),
  context: FieldPathSchema.optional().describe('path to retrieved context, for judges'),
  expected: FieldPathSchema.optional().describe('path to a reference answer, if the records carry one'),
  toolCalls: FieldPathSchema.optional().describe(
    'path to the tool calls the traced agent made: a list of `{name, args}` (also `{name, arguments}`, Anthropic `{name, input}`, OpenAI `{function: {name, arguments}}`)',
  ),
  expectedToolCalls: FieldPathSchema.optional().describe(
    'path to the tool calls expected, if the records carry them (same shapes as `toolCalls`)',
  ),
  id: FieldPathSchema.optional().describe(
    "path to the item's id (the dedup key; the source's own id by default)",
  ),
  metadata: z
    .record(z.string(), FieldPathSchema)
    .optional()
    .describe('item metadata: name → path; shown in reports'),
  patterns: z
    .array(
      z.strictObject({
        from: FieldPathSchema.describe('path to the text the regex reads'),
        regex: z
          .string()
          .refine(
            (r) => {
              try {
                new RegExp(r, 's');
                return true;
              } catch {
                return false;
              }
            },
            { message: 'invalid regular expression' },
          )
          .describe('a regex with named groups, e.g. `Customer: (?<question>.*)`'),
      }),
    )
    .default([])
    .describe(
      'named-group regexes over a text field; each group becomes a `$name` value usable in the paths above',
    ),
});
export type ExtractSpec = z.infer<typeof ExtractSchema>;

export const SampleSchema = z.discriminatedUnion('strategy', [
  z.strictObject({ strategy: z.literal('all') }).describe('every new item (the default)'),
  z
    .strictObject({
      strategy: z.literal('random'),
      n: z.number().int().min(1).optional(),
      rate: z.number().gt(0).max(1).optional(),
      seed: z.number().int().optional(),
    })
    .refine((s) => (s.n === undefined) !== (s.rate === undefined), {
      message: 'random sampling needs exactly one of n or rate',
    })
    .describe('`n` items, or a `rate` share of them, drawn at random (`seed` makes the draw repeatable)'),
  z
    .strictObject({ strategy: z.literal('most-recent'), n: z.number().int().min(1) })
    .describe('the `n` newest items'),
  z
    .strictObject({ strategy: z.literal('oldest'), n: z.number().int().min(1) })
    .describe('the `n` oldest items'),
  z
    .strictObject({ strategy: z.literal('deterministic'), rate: z.number().gt(0).max(1) })
    .describe('a `rate` share picked by a hash of the item id: the same items whichever replica looks'),
]);
export type SampleSpec = z.infer<typeof SampleSchema>;

/** A monitor's metric entry: the one shape suites use too (`metric`, `name`, `args`, `threshold`, `weight`, `gate`). */
export const MonitorMetricSchema = MetricEntrySchema;
export type MonitorMetricSpec = z.infer<typeof MonitorMetricSchema>;

/** How loud an alert is: a rule's `severity`, shown on its alerts (and kept on stored alert events). */
export const AlertSeveritySchema = z.enum(['info', 'warning', 'critical']);

export const AlertRuleSchema = z
  .strictObject({
    name: z.string().optional().describe('shown in the alert (default: a description of the rule)'),
    metric: z
      .string()
      .optional()
      .describe("the score the rule watches: the metric entry's `name` (the metric's own when not renamed)"),
    on: z
      .enum(['mean', 'failing'])
      .default('mean')
      .describe('`mean` of the score over the tick (or `window` ticks), or the `failing` count of items'),
    below: z.number().optional().describe('fire when the value falls below this (give this or `above`)'),
    above: z.number().optional().describe('fire when the value rises above this'),
    window: z.number().int().min(1).default(1).describe('ticks the mean is taken over'),
    severity: AlertSeveritySchema.default('warning').describe('shown on the alert'),
  })
  .refine((r) => (r.below === undefined) !== (r.above === undefined), {
    message: 'an alert needs exactly one of below or above',
  })
  .refine((r) => r.on === 'failing' || r.metric !== undefined, { message: 'a mean alert needs a metric' });
export type AlertRuleSpec = z.infer<typeof AlertRuleSchema>;

export const PublishSchema = z.strictObject({
  channel: z
    .string()
    .default('#monitors')
    .describe('Slack channel for the tick report (the console transport prints it)'),
  langfuse: z
    .boolean()
    .default(false)
    .describe('publish scores to Langfuse on the scored traces (needs LANGFUSE_* keys)'),
  worst: worstSchema(
    3,
    'worst items shown in the report thread, one reply each',
    'a monitor reports every tick, often hourly, so it shows a few',
  ),
  reportEmpty: z.boolean().default(false).describe('post a report even when a tick found nothing new'),
});

export const BudgetSchema = z.strictObject({
  maxItems: z.number().int().min(1).optional().describe('items scored per tick at most (after sampling)'),
  maxJudgeCost: z
    .number()
    .min(0)
    .optional()
    .describe('US dollars of judge calls per tick at most; the tick stops scoring past it'),
});

/** The fields of a monitor file. */
const MonitorShape = z.strictObject({
  name: NameSchema.describe(
    "the monitor's name (`arbiter monitor run <name>`); lower-case letters, digits, -, _ and .",
  ),
  description: z.string().optional().describe('one line shown in reports'),
  schedule: ScheduleSchema.describe('when it ticks'),
  source: SourceSchema.describe('where records come from'),
  extract: ExtractSchema.describe('how a record becomes an item'),
  sample: SampleSchema.default({ strategy: 'all' }).describe('which new items are scored'),
  metrics: z.array(MonitorMetricSchema).min(1).describe('how each item is scored'),
  alerts: z
    .array(AlertRuleSchema)
    .default([])
    .describe('threshold alerts, posted with the tick report when they fire and when they resolve'),
  publish: PublishSchema.default({
    channel: '#monitors',
    langfuse: false,
    worst: 3,
    reportEmpty: false,
  }).describe('where scores and reports go'),
  budget: BudgetSchema.default({}).describe('caps per tick'),
});

/**
 * One monitor file. With the file's folder (`dir`), the files its metrics name (a custom metric module, a
 * `json-schema` metric's `schemaPath`) are resolved against it and checked at load, as a suite's are.
 */
export function monitorSchema(dir?: string) {
  return MonitorShape.superRefine((m, ctx) => {
    // Checked at load, so a mistyped metric or alert reference names its file and line instead of failing at a tick.
    const specs = m.metrics.map((entry, i) => {
      for (const issue of checkMetricEntry(entry, dir))
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
        const guess = closestName(a.metric, names);
        ctx.addIssue({
          code: 'custom',
          path: ['alerts', i, 'metric'],
          message: renamed
            ? `alerts name the score, and metric '${a.metric}' writes its scores as '${renamed.name}': write \`metric: ${renamed.name}\``
            : `no metric of this monitor writes scores named '${a.metric}'${guess ? ` (did you mean '${guess}'?)` : ''}; valid: ${names.join(', ')}`,
        });
      }
    });
    // `$name` paths read the named groups of `extract.patterns`: each must be defined by one of the regexes.
    const groups = new Set(
      m.extract.patterns.flatMap((p) => [...p.regex.matchAll(/\(\?<([A-Za-z_]\w*)>/g)].map((g) => g[1]!)),
    );
    const refs: [PropertyKey[], string][] = [
      ...(['input', 'output', 'context', 'expected', 'id'] as const).flatMap(
        (k): [PropertyKey[], string][] =>
          m.extract[k] !== undefined ? [[['extract', k], m.extract[k]]] : [],
      ),
      ...Object.entries(m.extract.metadata ?? {}).map(([k, v]): [PropertyKey[], string] => [
        ['extract', 'metadata', k],
        v,
      ]),
      ...m.extract.patterns.map((p, i): [PropertyKey[], string] => [
        ['extract', 'patterns', i, 'from'],
        p.from,
      ]),
    ];
    for (const [path, text] of refs) {
      const parsed = parseFieldPath(text);
      if (parsed?.kind !== 'group' || groups.has(parsed.name)) continue;
      const guess = closestName(parsed.name, [...groups]);
      ctx.addIssue({
        code: 'custom',
        path,
        message: groups.size
          ? `no pattern defines a group named '${parsed.name}'${guess ? ` (did you mean '$${guess}'?)` : ''}; groups: ${[...groups].map((g) => `$${g}`).join(', ')}`
          : `'$${parsed.name}' reads a named group of \`extract.patterns\`, and this monitor has no patterns; for a field of the record write \`$.${parsed.name}\``,
      });
    }
  });
}

/** One monitor file, checked without its folder (metric files are resolved when the monitor runs). */
export const MonitorSchema = monitorSchema();

/**
 * A validated monitor, with the warnings of the old forms its file still uses (shown with its status) and the
 * folder of its file (`dir`), against which its metrics' files are resolved.
 */
export type Monitor = z.infer<typeof MonitorSchema> & { warnings?: string[]; dir?: string };

/**
 * The old forms of a monitor file, rewritten with a warning for one release: a bare cron string as `schedule`,
 * `minIntervalSeconds`, `most_recent`; and a file source's `path` resolved against the monitor file (a path that
 * exists only relative to the working directory, as before, is used with a warning).
 */
export const upgradeMonitor: Upgrade = (data, warn, file) => {
  if (!isMapping(data)) return;
  upgradeMetricEntries(data, warn);
  for (const { obj, path } of mappingsAt(data, ['publish'])) {
    const clamped = clampOldWorst(obj.worst);
    if (!clamped) continue;
    obj.worst = clamped.value;
    warn([...path, 'worst'], clamped.message);
  }
  if (typeof data.schedule === 'string') {
    const text = data.schedule;
    if (isCronExpression(text)) {
      data.schedule = { cron: text, timezone: 'UTC' };
      warn(
        ['schedule'],
        `${oldFormMessage(`schedule: "${text}"`, `schedule: {cron: "${text}", timezone: UTC}`)} (a bare cron string is read in UTC); the two forms are ${SCHEDULE_FORMS}`,
      );
    }
  }
  for (const { obj, path } of mappingsAt(data, ['source']))
    if (obj.type === 'slack')
      renameKey(obj, path, 'minIntervalSeconds', 'minInterval', warn, secondsAsDuration);
  for (const { obj, path } of mappingsAt(data, ['sample']))
    renameValue(obj, path, 'strategy', 'most_recent', 'most-recent', warn);
  for (const { obj, path } of mappingsAt(data, ['source'])) {
    if (obj.type !== 'file' || typeof obj.path !== 'string' || obj.path === '' || isAbsolute(obj.path))
      continue;
    const beside = resolve(dirname(file), obj.path);
    const fromCwd = resolve(obj.path);
    if (!existsSync(beside) && existsSync(fromCwd)) {
      warn(
        [...path, 'path'],
        `'${obj.path}' is read relative to the working directory, the old rule that will stop working in a later release; paths are relative to the monitor file: write \`path: ${relative(dirname(file), fromCwd)}\``,
      );
      obj.path = fromCwd;
    } else obj.path = beside;
  }
};

/** Loads every monitor of a folder; throws YAML_INVALID (file:line:col: field: reason) or on duplicate names. */
export function loadMonitors(dir: string): Loaded<Monitor>[] {
  return loadNamedYamlDir(dir, monitorSchemaFor, 'monitor', { upgrade: upgradeMonitor }).map(withWarnings);
}

const monitorSchemaFor = (file: string) => monitorSchema(dirname(resolve(file)));

function withWarnings(l: Loaded<Monitor>): Loaded<Monitor> {
  const dir = dirname(resolve(l.file));
  return { ...l, value: { ...l.value, dir, ...(l.warnings.length ? { warnings: l.warnings } : {}) } };
}

/** Loads one monitor file with its warnings (old forms still accepted). */
export function readMonitorFile(file: string): Loaded<Monitor> {
  return withWarnings(readYamlFile(file, monitorSchemaFor, { upgrade: upgradeMonitor }));
}

/** Loads one monitor file. */
export function loadMonitorFile(file: string): Monitor {
  return readMonitorFile(file).value;
}
