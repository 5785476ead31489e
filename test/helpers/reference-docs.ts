// Generates docs/reference.md, the field reference for suites, targets, metrics, datasets, personas, monitors and
// digests, from the zod schemas and registries themselves, so the reference cannot drift from what is loaded.
// `node --import tsx test/helpers/reference-docs.ts --write` rewrites it; test/docs.test.ts checks it is current and
// that every field carries a description.
import { readFileSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import type { z } from 'zod';
import { fieldRows } from '../../config/index.ts';
import { CronScheduleSchema, EveryScheduleSchema } from '../../config/schedule.ts';
import { type FieldRow, jsonSchemaOf, typeOf } from '../../config/schema-doc.ts';
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
    { name: 'schedule every', rows: fieldRows(EveryScheduleSchema) },
    { name: 'schedule cron', rows: fieldRows(CronScheduleSchema) },
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

/** The rules every file shares, and the old forms that still load with a warning. */
function vocabulary(): string[] {
  return [
    '## One vocabulary',
    '',
    'Suites, monitors and digests are written in one vocabulary:',
    '',
    "- **Names** (`name` of a suite, monitor or digest, a metric entry's `name`): lower-case letters, digits, `-`,",
    '  `_` and `.`, e.g. `support-quality`.',
    '- **Keys** are camelCase (`maxTurns`, `groupBy`, `reportEmpty`). **Values** chosen from a list, metric',
    '  names and target types are lower-case kebab-case (`most-recent`, `not-contains`, `llm-judge`); values passed',
    "  to Langfuse as they are keep Langfuse's spelling (`fields: [trace_context]`, `observationType: GENERATION`).",
    '- **Durations** (every time field: `timeout`, `maxDuration`, `minInterval`, `lookback`, `lag`, `settle`,',
    '  `every`) are a whole number and a unit: `ms`, `s`, `m` (or `min`), `h`, `d`, `w` — `500ms`, `30s`, `10m`,',
    '  `24h`, `2d`.',
    '- **Schedules** (monitors and digests) are `{every: 15m}` or `{cron: "0 9 * * 1-5", timezone: Europe/Paris}`;',
    '  see [Schedules](#schedules).',
    '- **Models** are written `provider:model` (`anthropic:claude-sonnet-5-5`, `gemini:gemini-3-flash`,',
    '  `offline:heuristic`) wherever a model is named (targets, judges, simulators, `ARBITER_JUDGE_MODEL`, prices).',
    "- **Files** named in a file (datasets, personas, a monitor's `file` source) are relative to that file.",
    '- **Metric entries** have one shape in suites and monitors: see [Metric entries](#metric-entries).',
    '- **References** are checked at load, with a did-you-mean: a metric entry names a registered metric, an',
    "  alert names a score of its monitor (the entry's `name`), a `$name` path names a group of the monitor's",
    "  `patterns`, and a digest's `monitors` name monitors.",
    '',
    '### Paths',
    '',
    'One grammar picks a value out of a JSON value, in suites (`answer` and `end` of an `http` target,',
    "`{{metadata.x}}` placeholders) and monitors (`extract`, a file source's `idPath`):",
    '',
    '| Path | Reads |',
    '|---|---|',
    '| `$` | the whole value |',
    '| `$.a.b` or `a.b` | key `b` of key `a` |',
    '| `$.items[0]` or `items.0` | the first element of a list |',
    '| `messages[-1].content` | `content` of the last element (`-2` the one before) |',
    "| `$['x.y'].z` | a key with dots in it |",
    "| `$question` | a named group of a monitor's `extract.patterns` (`(?<question>…)`), not a path |",
    '',
    '### Warnings and errors at load',
    '',
    'A file with a mistake is refused, each problem on a line of its own:',
    "`examples/monitors/m.yaml:12:13: metrics[0].metric: unknown metric 'refusl' (did you mean 'refusal'?)`.",
    'A suite is checked when it is run (`arbiter run`, `/arbiter run`). Monitor and digest files are checked when',
    'the bot starts: one bad file stops `npm start` with exit code 2 and every problem of every file listed,',
    'so no monitor shows "active" and then fails at its first tick; `arbiter monitor …` refuses the same way.',
    '',
    'The old forms below still load for one release, each with a warning that names the file, line, column and',
    'the form to write. The warnings are printed on stderr by `arbiter run`, `arbiter monitor …` and `arbiter digest`,',
    'shown in the run report (the Slack thread of `/arbiter run`), in the answers of `digest` and `monitor run` (a',
    '`⚠ file:line:column: …` line, in Slack and at the console), listed under the monitor in `monitor list`, and',
    'logged when the bot starts.',
    '',
    '| Old form | Write instead |',
    '|---|---|',
    '| `- name: pii` (a suite metric entry) | `- metric: pii` |',
    '| `timeoutMs: 15000` (`http` and `model` targets) | `timeout: 15s` |',
    '| `maxMs: 5000` (`latency` metric) | `maxDuration: 5s` |',
    '| `minIntervalSeconds: 60` (`slack` source) | `minInterval: 1m` |',
    '| `strategy: most_recent` | `strategy: most-recent` |',
    '| `publish: {worst: 15}` (a monitor; 11 to 20, read as 10) | `publish: {worst: 10}` (monitors and digests: 0 to 10) |',
    '| `schedule: "0 * * * *"` (read in UTC) | `schedule: {cron: "0 * * * *", timezone: UTC}` or `{every: 1h}` |',
    '| a monitor `file` source path relative to the working directory | the path relative to the monitor file |',
    '| a suite `name` with upper case | the lower-case name |',
    '',
  ];
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
    'and an unknown key or name gets a did-you-mean.',
    '',
    ...vocabulary(),
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
    'Two rows of a JSONL dataset:',
    '',
    '```jsonl',
    '{"input": "Where is my parcel?", "expected": "tracking", "metadata": {"product": "store"}}',
    '{"input": "Cancel my order", "context": "Orders can be cancelled within 24h.", "variables": {"user": "ana"}}',
    '```',
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
    'Monitors and digests share one schedule type with two forms. A fixed interval, counted from 00:00 UTC',
    '(`every: 1h` ticks on the hour):',
    '',
    tableOf('schedule every'),
    '',
    yamlBlock({ schedule: { every: '15m' } }),
    '',
    'Or a cron expression, five fields read in `timezone`:',
    '',
    tableOf('schedule cron'),
    '',
    yamlBlock({ schedule: { cron: '0 9 * * 1-5', timezone: 'Europe/Paris' } }),
    '',
    'A bare cron string (`schedule: "0 * * * *"`, the old form) still loads, read in UTC, with a warning that',
    'shows both forms; any other text is refused with both forms shown.',
    '',
    '### Sources',
    '',
    '`source.type: file` reads one JSON object per line:',
    '',
    tableOf('source file'),
    '',
    yamlBlock({ source: { type: 'file', path: 'data/support-traffic.jsonl', idPath: 'id' } }),
    '',
    '`source.type: langfuse` reads observations from Langfuse (see the README for server versions):',
    '',
    tableOf('source langfuse'),
    '',
    yamlBlock({
      source: {
        type: 'langfuse',
        observationType: 'GENERATION',
        groupBy: 'trace',
        lookback: '24h',
        lag: '15m',
      },
    }),
    '',
    "`source.type: slack` reads a channel's bot answers and the messages they answer:",
    '',
    tableOf('source slack'),
    '',
    yamlBlock({
      source: {
        type: 'slack',
        channel: 'C0123456789',
        botUserId: 'U0123456789',
        reactions: true,
        minInterval: '1m',
        settle: '10m',
      },
    }),
    '',
    '### Extracting items',
    '',
    'Each value is a path into the record in the [one path grammar](#paths) (`$.input`, `metadata.user`,',
    '`$.output.choices[0].text`, `messages[-1].content`), or `$name` for a named group of a `patterns` regex; a',
    '`$name` no pattern defines is refused at load.',
    '',
    tableOf('extract'),
    '',
    yamlBlock({
      extract: {
        patterns: [{ from: '$.prompt', regex: 'Customer question: (?<question>.+)$' }],
        input: '$question',
        output: '$.response.text',
        context: '$.retrieval.context',
        metadata: { plan: '$.user.plan' },
      },
    }),
    '',
    '### Sampling',
    '',
    sampleStrategies(),
    '',
    '### Alerts',
    '',
    "An alert names a score: the metric entry's `name`, or the metric when not renamed. After renaming",
    '`refusal` to `no-refusal`, an alert on `refusal` is refused at load, naming the score to write.',
    '',
    tableOf('alert'),
    '',
    yamlBlock({
      alerts: [
        { metric: 'no-refusal', below: 0.9, window: 3, severity: 'warning' },
        { on: 'failing', above: 2, severity: 'critical' },
      ],
    }),
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
    'Its `monitors` must name monitors of `MONITORS_DIR` (checked when the bot starts).',
    '',
    tableOf('digest'),
    '',
    yamlBlock({
      name: 'daily',
      description: "Yesterday's quality at a glance",
      schedule: { cron: '0 9 * * *', timezone: 'Europe/Paris' },
      channel: '#llm-quality',
      period: 'day',
      include: ['monitors', 'alerts', 'runs', 'reviews', 'chart'],
      monitors: ['support-quality'],
      worst: 5,
    }),
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
