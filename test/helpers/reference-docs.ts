// Generates docs/reference.md, the field reference for suites, targets, metrics, datasets, personas, monitors and
// digests, from the zod schemas and registries themselves, so the reference cannot drift from what is loaded.
// `node --import tsx test/helpers/reference-docs.ts --write` rewrites it; test/docs.test.ts checks it is current and
// that every field carries a description.
import { readFileSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import type { z } from 'zod';
import {
  CronScheduleSchema,
  type FieldRow,
  fieldRows,
  type JsonSchema,
  jsonSchemaOf,
  typeOf,
} from '../../config/index.ts';
import { DigestSchema } from '../../digests/schema.ts';
import { describeMetrics, MetricEntrySchema } from '../../evaluators/index.ts';
import {
  AlertRuleSchema,
  BudgetSchema,
  ExtractSchema,
  FileSourceSchema,
  LangfuseSourceSchema,
  MonitorSchema,
  PublishSchema,
  SampleSchema,
  SlackSourceSchema,
} from '../../monitors/schema.ts';
import { DatasetRowSchema } from '../../runs/datasets.ts';
import { PersonaSchema } from '../../runs/personas.ts';
import { ConversationSchema, DatasetRefSchema, SuiteShape, WatchSchema } from '../../runs/suite.ts';
import { TARGET_TYPES, targets } from '../../runs/targets.ts';
import { TEMPLATE_VARIABLES } from '../../runs/template.ts';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function table(rows: FieldRow[]): string {
  const out = ['| Field | Type | Required | Default | What it does |', '|---|---|---|---|---|'];
  for (const r of rows)
    out.push(
      `| \`${r.path}\` | ${cell(r.type)} | ${r.required ? 'yes' : ''} | ${r.default ? cell(r.default) : ''} | ${cell(r.description ?? '')} |`,
    );
  return out.join('\n');
}

function yamlBlock(value: unknown): string {
  return ['```yaml', stringify(value).trimEnd(), '```'].join('\n');
}

/** Every table of the reference with a name, so the test can check that each field is described. */
export function referenceTables(): { name: string; rows: FieldRow[] }[] {
  const tables: { name: string; rows: FieldRow[] }[] = [
    {
      name: 'suite',
      rows: fieldRows(SuiteShape, {
        dataset: 'see [Datasets](#datasets)',
        target: 'see [Targets](#targets)',
        metrics: 'list of [metric entries](#metric-entries)',
        conversation: 'see [Conversations](#conversations)',
        watch: 'see [Watching prompts](#watching-prompts)',
      }),
    },
    { name: 'dataset reference', rows: fieldRows(DatasetRefSchema) },
    { name: 'dataset row', rows: fieldRows(DatasetRowSchema) },
    { name: 'conversation', rows: fieldRows(ConversationSchema) },
    { name: 'persona', rows: fieldRows(PersonaSchema) },
    { name: 'watch', rows: fieldRows(WatchSchema) },
    { name: 'metric entry', rows: fieldRows(MetricEntrySchema) },
    ...TARGET_TYPES.map((t) => ({ name: `target ${t}`, rows: fieldRows(targets[t].args as z.ZodType) })),
    ...describeMetrics().map((m) => ({ name: `metric ${m.name}`, rows: fieldRows(metricArgs(m.name)) })),
    {
      name: 'monitor',
      rows: fieldRows(MonitorSchema, {
        schedule: 'see [Schedules](#schedules)',
        source: 'see [Sources](#sources)',
        extract: 'see [Extracting items](#extracting-items)',
        sample: 'see [Sampling](#sampling)',
        metrics: 'list of [metric entries](#metric-entries)',
        alerts: 'list of [alerts](#alerts)',
        publish: 'see [Publishing](#publishing)',
        budget: 'see [Budget](#budget)',
      }),
    },
    { name: 'schedule', rows: fieldRows(CronScheduleSchema) },
    { name: 'source file', rows: fieldRows(FileSourceSchema) },
    { name: 'source langfuse', rows: fieldRows(LangfuseSourceSchema) },
    { name: 'source slack', rows: fieldRows(SlackSourceSchema) },
    { name: 'extract', rows: fieldRows(ExtractSchema) },
    { name: 'alert', rows: fieldRows(AlertRuleSchema) },
    { name: 'publish', rows: fieldRows(PublishSchema) },
    { name: 'budget', rows: fieldRows(BudgetSchema) },
    { name: 'digest', rows: fieldRows(DigestSchema, { schedule: 'see [Schedules](#schedules)' }) },
  ];
  return tables;
}

function metricArgs(name: string): z.ZodType {
  const m = describeMetrics().find((x) => x.name === name);
  if (!m) throw new Error(`no metric ${name}`);
  return m.argsSchema;
}

let tables: ReturnType<typeof referenceTables> | undefined;

function tableOf(name: string): string {
  tables ??= referenceTables();
  const t = tables.find((x) => x.name === name);
  if (!t) throw new Error(`no reference table ${name}`);
  return t.rows.length ? table(t.rows) : '_No fields._';
}

function sampleStrategies(): string {
  const j = jsonSchemaOf(SampleSchema);
  const out = ['| `strategy` | Fields | What it does |', '|---|---|---|'];
  for (const alt of j.oneOf ?? j.anyOf ?? []) {
    const strategy = alt.properties?.strategy?.const;
    const fields = Object.entries(alt.properties ?? {})
      .filter(([k]) => k !== 'strategy')
      .map(([k, p]) => `\`${k}\`${(alt.required ?? []).includes(k) ? '' : '?'} (${typeOf(p)})`)
      .join(', ');
    out.push(`| \`${String(strategy)}\` | ${cell(fields || '—')} | ${cell(alt.description ?? '')} |`);
  }
  return out.join('\n');
}

/** The whole reference document. */
export function referenceMarkdown(): string {
  const parts: string[] = [
    '# Arbiter configuration reference',
    '',
    '<!-- Generated from the zod schemas and registries by `node --import tsx test/helpers/reference-docs.ts --write`;',
    'test/docs.test.ts fails when it drifts. Edit the descriptions in the schemas, not here. -->',
    '',
    'Every file below is YAML. A mistake is reported at load with the file, the line, the column and the field,',
    'and an unknown key gets a did-you-mean. Durations are written `30s`, `15m`, `2h`, `1d` or `1w`. A model is',
    'written `provider:model` (`anthropic:claude-sonnet-5-5`, `gemini:gemini-3-flash`, `offline:heuristic`).',
    'Paths in a suite (dataset, personas) are relative to the suite file.',
    '',
    '## Suites',
    '',
    'A suite lives in `SUITES_DIR` (default `examples/suites/`) and is started with `arbiter run <file or name>` or',
    '`/arbiter run <name>`.',
    '',
    tableOf('suite'),
    '',
    'A suite with every part:',
    '',
    yamlBlock({
      name: 'support-bot',
      description: 'Answers of the support prompt, scored offline',
      dataset: 'datasets/support.jsonl',
      target: { type: 'model', model: 'offline:heuristic', system: 'You are a concise support assistant.' },
      metrics: [
        { metric: 'pii' },
        { metric: 'contains', args: { value: 'refund' }, threshold: 1, gate: false },
        { metric: 'llm-judge', name: 'helpful', args: { criteria: 'Is the answer helpful?' }, weight: 2 },
      ],
      threshold: { score: 0.7, passRate: 0.9 },
      concurrency: 4,
    }),
    '',
    '### Datasets',
    '',
    '`dataset:` is a path (relative to the suite), `{file, format}` when the extension does not say the format,',
    'or `{langfuse: <dataset name>}` for a Langfuse dataset.',
    '',
    tableOf('dataset reference'),
    '',
    'Each row of a JSONL, CSV or YAML dataset file. In a CSV, columns carry the same names, `metadata` and',
    '`variables` columns hold JSON, and any other column goes into `metadata`. A bad row is reported with its',
    'number and the other rows run.',
    '',
    tableOf('dataset row'),
    '',
    '### Targets',
    '',
    '`target:` says where each input is sent; `type` picks one of the targets below and the other keys are its',
    'arguments.',
    '',
  ];
  for (const t of TARGET_TYPES) {
    parts.push(
      `#### \`${t}\``,
      '',
      targets[t].description,
      '',
      tableOf(`target ${t}`),
      '',
      yamlBlock({ target: { type: t, ...(targets[t].example as object) } }),
      '',
    );
  }
  parts.push(
    '### Template variables',
    '',
    'Text and JSON templates (`system` of a `model` target, `body` and `url` of an `http` target, Langfuse prompt',
    "messages) fill `{{name}}` from the item; the item's `metadata` and `variables` keys are also variables of",
    'their own. In `system`, `body` and `url` an unknown name renders empty; in a Langfuse prompt it is an error on',
    'that item, naming the variable.',
    '',
    '| Variable | Value |',
    '|---|---|',
    ...Object.entries(TEMPLATE_VARIABLES).map(([k, v]) => `| \`{{${k}}}\` | ${cell(v)} |`),
    '',
    '### Conversations',
    '',
    '`conversation:` plays each row as a multi-turn conversation with one or more personas.',
    '',
    tableOf('conversation'),
    '',
    '### Personas',
    '',
    'A persona is a YAML file, or Markdown with YAML front matter whose body adds to `description`',
    '(`examples/personas/`).',
    '',
    tableOf('persona'),
    '',
    yamlBlock({
      name: 'impatient-customer',
      goal: 'Get a refund for a broken order in as few messages as possible',
      traits: ['impatient', 'terse'],
      style: 'short sentences, no greetings',
      turns: ['My order arrived broken. Refund please.', 'Order 1234. How long will it take?'],
    }),
    '',
    '### Watching prompts',
    '',
    tableOf('watch'),
    '',
    '## Metric entries',
    '',
    'Suites and monitors list metrics in one shape. An item passes only when every gating metric reaches its',
    'threshold; its score is the weighted mean. A metric that could not score makes the item errored.',
    '',
    tableOf('metric entry'),
    '',
    '## Metrics',
    '',
    '`arbiter metrics` (or `/arbiter help metrics`) lists them too.',
    '',
  );
  for (const m of describeMetrics()) {
    parts.push(
      `### \`${m.name}\``,
      '',
      `${m.description} (${m.kind === 'judge' ? 'LLM judge' : 'heuristic'})`,
      '',
      tableOf(`metric ${m.name}`),
      '',
      yamlBlock({ metrics: [{ metric: m.name, ...(isEmpty(m.example) ? {} : { args: m.example }) }] }),
      '',
    );
  }
  parts.push(
    '## Monitors',
    '',
    'A monitor lives in `MONITORS_DIR` (default `examples/monitors/`): on its schedule it reads new records from a',
    'source, turns them into items, scores a sample, publishes the scores, posts a threaded report and fires alerts.',
    '',
    tableOf('monitor'),
    '',
    '### Schedules',
    '',
    'A cron schedule (monitors and digests), five fields read in `timezone`:',
    '',
    tableOf('schedule'),
    '',
    'Monitors may instead say `every: <duration>` (at least `1m`), e.g. `schedule: { every: 30m }`.',
    '',
    '### Sources',
    '',
    '`source.type: file` reads one JSON object per line:',
    '',
    tableOf('source file'),
    '',
    '`source.type: langfuse` reads observations from Langfuse (see the README for server versions):',
    '',
    tableOf('source langfuse'),
    '',
    "`source.type: slack` reads a channel's bot answers and the messages they answer:",
    '',
    tableOf('source slack'),
    '',
    '### Extracting items',
    '',
    'Each value is a path into the record (`input`, `metadata.user`, `output.choices[0].text`, `messages[-1]`),',
    'or `$name` for a named group of a `patterns` regex.',
    '',
    tableOf('extract'),
    '',
    '### Sampling',
    '',
    sampleStrategies(),
    '',
    '### Alerts',
    '',
    'An alert names a score (the entry `name`, or the metric when not renamed).',
    '',
    tableOf('alert'),
    '',
    '### Publishing',
    '',
    tableOf('publish'),
    '',
    '### Budget',
    '',
    tableOf('budget'),
    '',
    'A complete monitor:',
    '',
    yamlBlock({
      name: 'support-quality',
      schedule: { cron: '*/30 * * * *', timezone: 'Europe/Paris' },
      source: { type: 'langfuse', observationType: 'GENERATION', lookback: '24h' },
      extract: { input: 'input[-1].content', output: 'output' },
      sample: { strategy: 'random', n: 50 },
      metrics: [{ metric: 'refusal', name: 'no-refusal' }, { metric: 'pii' }],
      alerts: [{ metric: 'no-refusal', below: 0.9, severity: 'warning' }],
      publish: { channel: 'C0123456789', langfuse: true },
    }),
    '',
    '## Digests',
    '',
    'A digest lives in `DIGESTS_DIR` (default `examples/digests/`) and posts a summary of the last period.',
    '',
    tableOf('digest'),
    '',
  );
  return `${parts.join('\n')}\n`;
}

function isEmpty(v: unknown): boolean {
  return v === undefined || (typeof v === 'object' && v !== null && Object.keys(v).length === 0);
}

if (process.argv.includes('--write')) {
  writeFileSync('docs/reference.md', referenceMarkdown());
  console.log('docs/reference.md written');
} else if (process.argv[1]?.endsWith('reference-docs.ts')) {
  const current = readFileSync('docs/reference.md', 'utf8');
  console.log(
    current === referenceMarkdown() ? 'docs/reference.md is current' : 'docs/reference.md is stale',
  );
}
