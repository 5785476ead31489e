import { z } from 'zod';
import { closestName, fieldRows, yamlLib } from '../config/index.ts';
import { toolCorrectnessMetric, trajectoryMetric } from './agent.ts';
import { checkCustomMetricFile, createCustomMetric, isCustomMetricPath } from './custom.ts';
import {
  containsMetric,
  equalsMetric,
  jsonValidMetric,
  keywordCoverageMetric,
  latencyMetric,
  lengthMetric,
  notContainsMetric,
  regexMetric,
} from './heuristics.ts';
import { taskCompletionMetric } from './agent-judges.ts';
import {
  conversationCompletenessMetric,
  goalAchievedMetric,
  knowledgeRetentionMetric,
  roleAdherenceMetric,
} from './conversation-judges.ts';
import { gEvalMetric } from './g-eval.ts';
import { llmJudgeMetric, resolveJudge } from './llm-judge.ts';
import {
  answerRelevancyMetric,
  contextPrecisionMetric,
  contextRecallMetric,
  contextRelevancyMetric,
  faithfulnessMetric,
  hallucinationMetric,
} from './rag.ts';
import { leakMetric, policyViolationMetric } from './redteam.ts';
import { booleanJudgeMetric, categoricalJudgeMetric } from './verdict-judges.ts';
import { pairwiseJudgeMetric } from './pairwise-judge.ts';
import { piiMetric } from './pii.ts';
import { refusalMetric } from './refusal.ts';
import { errorMessage, errorScore } from './score.ts';
import {
  containsJsonMetric,
  isSqlMetric,
  isXmlMetric,
  jsonSchemaMetric,
  startsWithMetric,
} from './structure.ts';
import { bleuMetric, levenshteinMetric, rougeLMetric, similarityMetric } from './text-similarity.ts';
import { costMetric, finishReasonMetric, tokensMetric } from './usage-metrics.ts';
import {
  type Metric,
  type MetricDefinition,
  type MetricDeps,
  type MetricKind,
  ScoreSchema,
} from './types.ts';

export { closestName };

/** Every metric a suite or monitor can name, keyed by that name. */
export const metrics = {
  contains: containsMetric,
  'not-contains': notContainsMetric,
  regex: regexMetric,
  equals: equalsMetric,
  'json-valid': jsonValidMetric,
  'json-schema': jsonSchemaMetric,
  length: lengthMetric,
  latency: latencyMetric,
  refusal: refusalMetric,
  pii: piiMetric,
  'keyword-coverage': keywordCoverageMetric,
  'contains-json': containsJsonMetric,
  'starts-with': startsWithMetric,
  'is-sql': isSqlMetric,
  'is-xml': isXmlMetric,
  levenshtein: levenshteinMetric,
  'rouge-l': rougeLMetric,
  bleu: bleuMetric,
  similarity: similarityMetric,
  'tool-correctness': toolCorrectnessMetric,
  trajectory: trajectoryMetric,
  cost: costMetric,
  tokens: tokensMetric,
  'finish-reason': finishReasonMetric,
  'llm-judge': llmJudgeMetric,
  'pairwise-judge': pairwiseJudgeMetric,
  'g-eval': gEvalMetric,
  'boolean-judge': booleanJudgeMetric,
  'categorical-judge': categoricalJudgeMetric,
  faithfulness: faithfulnessMetric,
  'answer-relevancy': answerRelevancyMetric,
  'context-precision': contextPrecisionMetric,
  'context-recall': contextRecallMetric,
  'context-relevancy': contextRelevancyMetric,
  hallucination: hallucinationMetric,
  'task-completion': taskCompletionMetric,
  'role-adherence': roleAdherenceMetric,
  'knowledge-retention': knowledgeRetentionMetric,
  'conversation-completeness': conversationCompletenessMetric,
  'goal-achieved': goalAchievedMetric,
  leak: leakMetric,
  'policy-violation': policyViolationMetric,
} satisfies Record<string, MetricDefinition<z.ZodType>>;

/** Name of a registered metric. */
export type MetricName = keyof typeof metrics;

/** Registered metric names in registry order. */
export const METRIC_NAMES = Object.keys(metrics) as MetricName[];

/** Guard for registered metric names. */
export function isMetricName(name: string): name is MetricName {
  return Object.hasOwn(metrics, name);
}

function argNames(schema: z.ZodType): string[] {
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

function formatArgIssues(name: string, schema: z.ZodType, error: z.ZodError): string {
  const valid = argNames(schema);
  const parts = error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys
        .map((k) => {
          const guess = closestName(k, valid);
          return `unknown argument '${k}'${guess ? ` (did you mean '${guess}'?)` : ''}`;
        })
        .join('; ');
    }
    if (issue.path.length === 0) return `arguments ${issue.message.replace(/^Invalid input: /, '')}`;
    return `argument '${issue.path.map(String).join('.')}': ${issue.message}`;
  });
  return `metric '${name}': ${parts.join('; ')}${valid.length ? `; valid arguments: ${valid.join(', ')}` : ''}`;
}

/** Keeps the "a metric never throws and always returns a valid Score" promise even if a metric has a bug. */
function guard(metric: Metric): Metric {
  return {
    name: metric.name,
    kind: metric.kind,
    async score(item, ctx) {
      try {
        const score = await metric.score(item, ctx);
        const checked = ScoreSchema.safeParse(score);
        if (checked.success) return checked.data;
        return errorScore(
          metric.name,
          `metric produced an invalid score: ${checked.error.issues[0]?.message ?? 'unknown'}`,
        );
      } catch (err) {
        return errorScore(metric.name, `metric failed: ${errorMessage(err)}`);
      }
    },
  };
}

/** Result of building a metric from its name and arguments (e.g. from a suite YAML file). */
export type CreateMetricResult = { ok: true; metric: Metric } | { ok: false; error: string };

/** Builds a metric by name; unknown names and bad arguments come back as an error naming the metric and argument. */
export function createMetric(name: string, args: unknown = {}, deps: MetricDeps = {}): CreateMetricResult {
  if (isCustomMetricPath(name)) {
    if (args !== undefined && args !== null && (typeof args !== 'object' || Array.isArray(args)))
      return { ok: false, error: `custom metric ${name}: arguments must be a mapping` };
    const missing = checkCustomMetricFile(name, deps.baseDir);
    if (missing) return { ok: false, error: missing };
    return {
      ok: true,
      metric: guard(createCustomMetric(name, (args ?? {}) as Record<string, unknown>, deps)),
    };
  }
  if (!isMetricName(name)) {
    const guess = closestName(name, METRIC_NAMES);
    return {
      ok: false,
      error: `unknown metric '${name}'${guess ? ` (did you mean '${guess}'?)` : ''}; valid: ${METRIC_NAMES.join(', ')}, or a module file such as ./metrics/my-metric.ts`,
    };
  }
  // Widened on purpose: each entry's own types were checked by `satisfies` above.
  const def: MetricDefinition<z.ZodType> = metrics[name];
  const parsed = def.args.safeParse(args ?? {});
  if (!parsed.success) return { ok: false, error: formatArgIssues(name, def.args, parsed.error) };
  if (def.kind === 'judge') {
    // A jury's first judge stands in for `model`.
    const data = parsed.data as { model?: string; judges?: string[] };
    const model = data.judges?.[0] ?? data.model;
    const judge = resolveJudge(deps, model);
    if (!judge.ok) return { ok: false, error: `metric '${name}' ${judge.error}` };
  }
  try {
    return { ok: true, metric: guard(def.create(parsed.data, deps)) };
  } catch (err) {
    return { ok: false, error: `metric '${name}': ${errorMessage(err)}` };
  }
}

/** One argument in the help text. */
export interface ArgHelp {
  name: string;
  optional: boolean;
  description?: string;
}

/** One metric in the help text. */
export interface MetricHelp {
  name: MetricName;
  kind: MetricKind;
  description: string;
  args: ArgHelp[];
  /** The arguments' schema, for the generated reference. */
  argsSchema: z.ZodType;
  example: unknown;
}

/** Every metric with its one-line description, arguments and an example, for `/arbiter help metrics`. */
export function describeMetrics(): MetricHelp[] {
  return METRIC_NAMES.map((name) => {
    const def: MetricDefinition<z.ZodType> = metrics[name];
    const shape = def.args instanceof z.ZodObject ? (def.args.shape as Record<string, z.ZodType>) : {};
    const args = Object.entries(shape).map(([argName, s]) => ({
      name: argName,
      optional: s.safeParse(undefined).success,
      ...(s.description ? { description: s.description } : {}),
    }));
    return {
      name,
      kind: def.kind,
      description: def.description,
      args,
      argsSchema: def.args,
      example: def.example,
    };
  });
}

/** The help text as plain lines: `name — description (args: a, b?)`. */
export function formatMetricsHelp(): string {
  return describeMetrics()
    .map((m) => {
      const args = m.args.map((a) => (a.optional ? `${a.name}?` : a.name)).join(', ');
      return `${m.name} — ${m.description}${args ? ` (args: ${args})` : ''}`;
    })
    .join('\n');
}

/** The reference of every metric (or one) as plain text, with each argument's type, default and meaning. */
export function formatMetricReference(only?: MetricName): string {
  return describeMetrics()
    .filter((m) => only === undefined || m.name === only)
    .map((m) => {
      const lines = [`${m.name} (${m.kind === 'judge' ? 'LLM judge' : 'heuristic'}): ${m.description}`];
      for (const r of fieldRows(m.argsSchema)) {
        const facts = [
          r.type,
          r.required ? 'required' : undefined,
          r.default ? `default ${r.default}` : undefined,
        ]
          .filter(Boolean)
          .join(', ');
        lines.push(`  ${r.path} (${facts})${r.description ? `: ${r.description}` : ''}`);
      }
      if (only !== undefined) {
        const hasArgs = m.example && typeof m.example === 'object' && Object.keys(m.example).length > 0;
        const entry = { metric: m.name, ...(hasArgs ? { args: m.example } : {}) };
        lines.push(
          '  example:',
          ...yamlLib()
            .stringify([entry])
            .trimEnd()
            .split('\n')
            .map((l) => `    ${l}`),
        );
      }
      return lines.join('\n');
    })
    .join('\n\n');
}
