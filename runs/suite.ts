// Suites: YAML files naming a dataset, a target, optional conversation settings, metrics and a pass threshold.
// Loaded through config/'s YAML loader, so every problem names the file, the line and the field; target and metric
// arguments are checked against their registries at load time, before anything runs.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { ArbiterError, parseYaml, type YamlProblem } from '../config/index.ts';
import {
  checkMetricEntry,
  duplicateScoreNames,
  LegacyMetricEntrySchema,
  legacyEntryHint,
  MetricEntrySchema,
  type MetricSpec,
  toMetricSpec,
} from '../evaluators/index.ts';
import { loadPersonaFile, type Persona } from './personas.ts';
import { headerEnvRefs, isTargetType, TARGET_TYPES, targets } from './targets.ts';

const modelName = z.string().regex(/^[a-z][a-z0-9-]*:[\w.:/-]+$/, {
  error: 'expected provider:model, e.g. anthropic:claude-sonnet-5-5 or offline:heuristic',
});

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
    langfuse: z.string().min(1).describe('name of a Langfuse dataset (its archived items are skipped)'),
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
  name: z
    .string()
    .regex(/^[\w.-]{1,80}$/, { error: 'expected a name of letters, digits, - _ or .' })
    .describe("the suite's name: `arbiter run <name>` finds it, reports and the leaderboard show it"),
  description: z.string().optional().describe('one line shown with the run'),
  dataset: DatasetRefSchema.describe('the rows to run'),
  target: z
    .looseObject({ type: z.string({ error: 'expected a target `type`' }) })
    .describe('where each input is sent: `type` and its arguments'),
  conversation: ConversationSchema.optional().describe('play rows as multi-turn conversations with personas'),
  // Each entry is checked in superRefine: the shared shape (`metric:`), or the old suite form (`name:`) with a warning.
  metrics: z
    .array(z.record(z.string(), z.unknown(), { error: 'expected a metric entry such as `- metric: pii`' }))
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
    s.metrics.forEach((raw, i) => {
      const entry = parseMetricEntry(raw);
      if (!entry.ok) {
        for (const issue of entry.issues)
          ctx.addIssue({ code: 'custom', path: ['metrics', i, ...issue.path], message: issue.message });
        return;
      }
      const issues = checkMetricEntry(entry.entry, dir);
      for (const issue of issues)
        ctx.addIssue({
          code: 'custom',
          // An old-form entry's registry name sits under `name`.
          path: ['metrics', i, ...(entry.legacy && issue.path[0] === 'metric' ? ['name'] : issue.path)],
          message: issue.message,
        });
      if (issues.length === 0) specs.push(toMetricSpec(entry.entry));
    });
    for (const dup of duplicateScoreNames(specs))
      ctx.addIssue({
        code: 'custom',
        path: ['metrics', dup.index],
        message: `two metrics write scores named '${dup.name}'; give one a different \`name\``,
      });
  });
}

type ParsedEntry =
  | { ok: true; entry: z.infer<typeof MetricEntrySchema>; legacy: boolean; hint?: string }
  | { ok: false; issues: { path: (string | number)[]; message: string }[] };

/** Reads one metric entry: the shared shape, or the old suite form `- name: <registry name>`. */
function parseMetricEntry(raw: Record<string, unknown>): ParsedEntry {
  const legacy = !('metric' in raw) && 'name' in raw;
  const parsed = legacy ? LegacyMetricEntrySchema.safeParse(raw) : MetricEntrySchema.safeParse(raw);
  if (!parsed.success)
    return {
      ok: false,
      issues: parsed.error.issues.map((issue) => ({
        path: issue.path.map((p) => (typeof p === 'number' ? p : String(p))),
        message:
          issue.code === 'unrecognized_keys'
            ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}; a metric entry has metric, name, args, threshold, weight, gate`
            : issue.message,
      })),
    };
  if ('metric' in parsed.data) return { ok: true, entry: parsed.data, legacy: false };
  const old = parsed.data as z.infer<typeof LegacyMetricEntrySchema>;
  return {
    ok: true,
    entry: { metric: old.name, ...(old.args ? { args: old.args } : {}) },
    legacy: true,
    hint: legacyEntryHint(old),
  };
}

function formatProblems(problems: YamlProblem[]): string {
  return problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.field}: ${p.message}`).join('\n');
}

/** Parses suite text; pure except for reading persona files named by the suite. */
export function parseSuite(
  text: string,
  file: string,
  env: Record<string, string | undefined> = {},
): { ok: true; suite: Suite } | { ok: false; problems: YamlProblem[] } {
  const parsed = parseYaml(text, suiteSchema(env, dirname(resolve(file))), file);
  if (!parsed.ok) return parsed;
  return { ok: true, suite: normalize(parsed.value, resolve(file)) };
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
    metrics: s.metrics.map((raw) => {
      const parsed = parseMetricEntry(raw);
      // superRefine has rejected any entry that does not parse.
      if (!parsed.ok) throw new Error('unreachable: metric entry was validated');
      return toMetricSpec(parsed.entry);
    }),
    ...(legacyWarnings(s.metrics, file).length ? { warnings: legacyWarnings(s.metrics, file) } : {}),
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

function legacyWarnings(entries: readonly Record<string, unknown>[], file: string): string[] {
  const out: string[] = [];
  entries.forEach((raw, i) => {
    const parsed = parseMetricEntry(raw);
    if (parsed.ok && parsed.legacy)
      out.push(
        `${file}: metrics[${i}]: \`- name: ${String(raw.name)}\` is the old form and will stop working in a later release; write \`${parsed.hint}\``,
      );
  });
  return out;
}

/** Reads the metric entries of a suite stored by an older version (`{name, args}`) as specs. */
export function storedSuiteMetrics(metrics: readonly unknown[] | undefined): MetricSpec[] {
  return (metrics ?? []).map((m) => {
    const e = m as Partial<MetricSpec> & { name: string; args?: Record<string, unknown> };
    if (typeof e.metric === 'string' && typeof e.threshold === 'number') return e as MetricSpec;
    return toMetricSpec({ metric: e.name, ...(e.args ? { args: e.args } : {}) });
  });
}

/** A suite stored on a run (`suiteJson`), read back with the metric entries of older versions upgraded. */
export function parseStoredSuite(json: string): Suite {
  const suite = JSON.parse(json) as Suite;
  return { ...suite, metrics: storedSuiteMetrics(suite.metrics as unknown[] | undefined) };
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
