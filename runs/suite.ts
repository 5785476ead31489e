// Suites: YAML files naming a dataset, a target, optional conversation settings, metrics and a pass threshold.
// Loaded through config/'s YAML loader, so every problem names the file, the line and the field; target and metric
// arguments are checked against their registries at load time, before anything runs.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import {
  ArbiterError,
  formatProblems,
  isMapping,
  mappingsAt,
  ModelNameSchema,
  NAME_RE,
  oldFormMessage,
  parseYaml,
  toName,
  type Upgrade,
  type YamlProblem,
} from '../config/index.ts';
import {
  checkMetricEntry,
  duplicateScoreNames,
  MetricEntrySchema,
  type MetricSpec,
  toMetricSpec,
  upgradeMetricEntries,
} from '../evaluators/index.ts';
import { loadPersonaFile, type Persona } from './personas.ts';
import { headerEnvRefs, isTargetType, TARGET_TYPES, targets, upgradeTargetArgs } from './targets.ts';

const modelName = ModelNameSchema;

const unit = z.number().min(0, { error: 'expected a number from 0 to 1' }).max(1, {
  error: 'expected a number from 0 to 1',
});

/** A dataset reference: a file path (relative to the suite), or a Langfuse dataset by name. */
export const DatasetRefSchema = z.union([
  z.string().min(1),
  z.strictObject({
    file: z.string().min(1).describe('dataset file, relative to the suite file'),
    format: z
      .enum(['jsonl', 'csv', 'yaml'])
      .optional()
      .describe('file format when the extension (.jsonl, .csv, .yaml) does not say it'),
  }),
  z.strictObject({
    langfuse: z
      .string()
      .min(1)
      .describe(
        'name of a Langfuse dataset (its archived items are skipped; expected tool calls are read from `expectedOutput.toolCalls` or `metadata.expectedToolCalls`, recorded ones from `metadata.toolCalls`)',
      ),
  }),
]);

/** Conversation settings: personas play each row as a multi-turn conversation. */
export const ConversationSchema = z.strictObject({
  personas: z
    .array(z.string().min(1))
    .min(1)
    .describe(
      'persona files (YAML or Markdown), relative to the suite file; each row is played by each persona',
    ),
  maxTurns: z.number().int().min(1).max(50).default(4).describe('user turns per conversation at most'),
  simulator: modelName
    .optional()
    .describe("provider:model playing the user; without it, personas' scripted `turns` are played"),
  goalCheck: z
    .boolean()
    .default(true)
    .describe("judge after each answer whether the persona's goal was met, and end the conversation then"),
  goalModel: modelName
    .optional()
    .describe('provider:model for the goal check (default: the simulator; without either, no goal check)'),
});

/** Prompt changes in Langfuse that concern a suite: buttons on the alert, or a run by itself (`onChange: run`). */
export const WatchSchema = z.strictObject({
  prompts: z
    .array(z.string().min(1))
    .min(1, { error: 'expected at least one prompt name' })
    .describe('Langfuse prompt names whose changes concern this suite (needs a `prompt` target)'),
  labels: z
    .array(z.string().min(1))
    .min(1)
    .optional()
    .describe('labels whose moves start the suite by itself with `onChange: run` (default [production])'),
  onChange: z
    .literal('run', { error: 'expected `run` (or leave `onChange` out)' })
    .optional()
    .describe('`run`: start the suite on the new version by itself; absent: the alert offers buttons'),
});

/** The suite file's schema before its registries are consulted. */
export const SuiteShape = z.strictObject({
  // The old rule (upper case allowed) still loads, with a warning (see upgradeSuite); new names follow the one rule.
  name: z
    .string()
    .regex(/^[\w.-]{1,80}$/, {
      error: 'expected a lower-case name of letters, digits, -, _ and ., e.g. support-bot',
    })
    .describe(
      "the suite's name: `arbiter run <name>` finds it, reports and the leaderboard show it; lower-case letters, digits, -, _ and .",
    ),
  description: z.string().optional().describe('one line shown with the run'),
  dataset: DatasetRefSchema.describe('the rows to run'),
  target: z
    .looseObject({ type: z.string({ error: 'expected a target `type`' }) })
    .describe('where each input is sent: `type` and its arguments'),
  conversation: ConversationSchema.optional().describe('play rows as multi-turn conversations with personas'),
  // The shared entry shape; the old suite form (`- name: pii`) is rewritten to it with a warning before validation.
  metrics: z
    .array(MetricEntrySchema)
    .min(1, { error: 'expected at least one metric' })
    .describe('how each answer is scored'),
  threshold: z
    .union([
      unit,
      z.strictObject({
        score: unit.default(0.5).describe('the run passes when the mean item score reaches this'),
        passRate: unit
          .optional()
          .describe('when given, the run passes on the share of passed items reaching this instead'),
      }),
    ])
    .describe('the run gate: a number (mean item score), or `{score, passRate}`'),
  concurrency: z
    .number()
    .int()
    .min(1)
    .max(256)
    .optional()
    .describe('requests to the target at once (default 4; `--concurrency` overrides)'),
  watch: WatchSchema.optional().describe('Langfuse prompt changes that concern this suite'),
});

type SuiteShapeT = z.infer<typeof SuiteShape>;

/** A suite ready to run: paths resolved, personas loaded, threshold normalized. */
export interface Suite {
  name: string;
  description?: string;
  /** Absolute path of the suite file. */
  file: string;
  dataset:
    | { kind: 'file'; path: string; format?: 'jsonl' | 'csv' | 'yaml' }
    | { kind: 'langfuse'; name: string };
  target: { type: string } & Record<string, unknown>;
  conversation?: {
    personas: Persona[];
    maxTurns: number;
    simulator?: string;
    goalCheck: boolean;
    goalModel?: string;
  };
  /** Metric entries with their defaults applied (score name, threshold, weight, gate). */
  metrics: MetricSpec[];
  /** Notes on old forms that still load (shown by `arbiter run`), e.g. `- name: pii` → `- metric: pii`. */
  warnings?: string[];
  /** The run passes on the mean item score reaching `score`, or on the pass rate reaching `passRate` if given. */
  threshold: { score: number; passRate?: number };
  concurrency?: number;
  /** Prompt changes that concern this suite. */
  watch?: { prompts: string[]; labels?: string[]; onChange?: 'run' };
}

function suiteSchema(env: Record<string, string | undefined>, dir?: string) {
  return SuiteShape.superRefine((s, ctx) => {
    const { type, ...args } = s.target;
    if (!isTargetType(type)) {
      ctx.addIssue({
        code: 'custom',
        path: ['target', 'type'],
        message: `unknown target type '${type}'; valid: ${TARGET_TYPES.join(', ')}`,
      });
    } else {
      const parsed = (targets[type].args as z.ZodType).safeParse(args);
      if (!parsed.success) {
        for (const issue of parsed.error.issues)
          ctx.addIssue({
            code: 'custom',
            path: ['target', ...issue.path.map(String)],
            message: issue.message,
          });
      } else if (type === 'http') {
        const headers = (parsed.data as { headers: Parameters<typeof headerEnvRefs>[0] }).headers;
        for (const ref of headerEnvRefs(headers)) {
          if (!env[ref.name])
            ctx.addIssue({
              code: 'custom',
              path: ['target', 'headers', ref.header],
              message: `environment variable ${ref.name} is not set`,
            });
        }
      }
    }
    if (s.watch) {
      // A prompt change is evaluated by pinning the suite's prompt target to the new version.
      if (type !== 'prompt')
        ctx.addIssue({
          code: 'custom',
          path: ['watch'],
          message: `watching prompts needs a \`prompt\` target (this suite's target is '${type}')`,
        });
      else if (typeof s.target.name === 'string' && !s.watch.prompts.includes(s.target.name))
        ctx.addIssue({
          code: 'custom',
          path: ['watch', 'prompts'],
          message: `expected the target's prompt '${s.target.name}' among the watched prompts`,
        });
    }
    const specs: MetricSpec[] = [];
    s.metrics.forEach((entry, i) => {
      const issues = checkMetricEntry(entry, dir);
      for (const issue of issues)
        ctx.addIssue({ code: 'custom', path: ['metrics', i, ...issue.path], message: issue.message });
      if (issues.length === 0) specs.push(toMetricSpec(entry));
    });
    for (const dup of duplicateScoreNames(specs))
      ctx.addIssue({
        code: 'custom',
        path: ['metrics', dup.index],
        message: `two metrics write scores named '${dup.name}'; give one a different \`name\``,
      });
  });
}

/**
 * The old forms of a suite file, rewritten with a warning for one release: the old metric entry `- name: pii`,
 * old metric arguments (`latency`'s `maxMs`), and old target arguments (`timeoutMs`).
 */
export const upgradeSuite: Upgrade = (data, warn) => {
  // A name with upper case keeps working for one release (runs are stored under it), with the lower-case name shown.
  if (
    isMapping(data) &&
    typeof data.name === 'string' &&
    /^[\w.-]{1,80}$/.test(data.name) &&
    !NAME_RE.test(data.name)
  )
    warn(['name'], oldFormMessage(`name: ${data.name}`, `name: ${toName(data.name)}`));
  upgradeMetricEntries(data, warn);
  for (const { obj, path } of mappingsAt(data, ['target'])) upgradeTargetArgs(obj, path, warn);
};

/** Parses suite text; pure except for reading persona files named by the suite. */
export function parseSuite(
  text: string,
  file: string,
  env: Record<string, string | undefined> = {},
): { ok: true; suite: Suite } | { ok: false; problems: YamlProblem[] } {
  const parsed = parseYaml(text, suiteSchema(env, dirname(resolve(file))), file, { upgrade: upgradeSuite });
  if (!parsed.ok) return parsed;
  const suite = normalize(parsed.value, resolve(file));
  const warnings = formatProblems(parsed.warnings ?? []);
  return { ok: true, suite: warnings ? { ...suite, warnings: warnings.split('\n') } : suite };
}

function normalize(s: SuiteShapeT, file: string): Suite {
  const dir = dirname(file);
  const dataset: Suite['dataset'] =
    typeof s.dataset === 'string'
      ? { kind: 'file', path: resolve(dir, s.dataset) }
      : 'langfuse' in s.dataset
        ? { kind: 'langfuse', name: s.dataset.langfuse }
        : {
            kind: 'file',
            path: resolve(dir, s.dataset.file),
            ...(s.dataset.format ? { format: s.dataset.format } : {}),
          };
  const threshold = typeof s.threshold === 'number' ? { score: s.threshold } : s.threshold;
  const c = s.conversation;
  return {
    name: s.name,
    ...(s.description ? { description: s.description } : {}),
    file,
    dataset,
    target: s.target,
    ...(c
      ? {
          conversation: {
            personas: c.personas.map((p) => loadPersonaFile(resolve(dir, p))),
            maxTurns: c.maxTurns,
            goalCheck: c.goalCheck,
            ...(c.simulator ? { simulator: c.simulator } : {}),
            ...(c.goalModel ? { goalModel: c.goalModel } : {}),
          },
        }
      : {}),
    metrics: s.metrics.map(toMetricSpec),
    threshold: {
      score: threshold.score,
      ...(threshold.passRate !== undefined ? { passRate: threshold.passRate } : {}),
    },
    ...(s.concurrency ? { concurrency: s.concurrency } : {}),
    ...(s.watch
      ? {
          watch: {
            prompts: s.watch.prompts,
            ...(s.watch.labels ? { labels: s.watch.labels } : {}),
            ...(s.watch.onChange ? { onChange: s.watch.onChange } : {}),
          },
        }
      : {}),
  };
}

/** Reads the metric entries of a suite stored by an older version (`{name, args}`) as specs. */
export function storedSuiteMetrics(metrics: readonly unknown[] | undefined): MetricSpec[] {
  // Old argument names (`latency`'s `maxMs`) are upgraded silently: the stored suite is not the user's file.
  const entries = structuredClone([...(metrics ?? [])]);
  upgradeMetricEntries({ metrics: entries }, () => {});
  return entries.map((m) => {
    const e = m as Partial<MetricSpec> & { name?: string; args?: Record<string, unknown> };
    if (typeof e.metric === 'string' && typeof e.threshold === 'number') return e as MetricSpec;
    return toMetricSpec({ metric: e.metric ?? e.name ?? '', ...(e.args ? { args: e.args } : {}) });
  });
}

/** Loads a suite file; throws YAML_INVALID naming file, line and field (exit code 2). */
export function loadSuite(file: string, env: Record<string, string | undefined> = {}): Suite {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ArbiterError(
      'YAML_INVALID',
      `${file}: cannot read suite (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      { hint: 'Pass the path of a suite YAML file, e.g. examples/suites/quickstart.yaml.' },
    );
  }
  const parsed = parseSuite(text, file, env);
  if (!parsed.ok)
    throw new ArbiterError('YAML_INVALID', formatProblems(parsed.problems), { details: parsed.problems });
  return parsed.suite;
}

/** Content hash of a suite and its dataset file: equal hashes mean "the same run" for resuming. */
export function suiteHash(suite: Suite, extra = ''): string {
  const h = createHash('sha256').update(JSON.stringify(suite)).update(extra);
  if (suite.dataset.kind === 'file') {
    try {
      h.update(readFileSync(suite.dataset.path));
    } catch {
      // A missing dataset is reported when the run starts.
    }
  }
  return h.digest('hex').slice(0, 20);
}
