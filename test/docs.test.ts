import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYamlText } from 'yaml';
import type { z } from 'zod';
import { METRIC_NAMES } from '../evaluators/index.ts';
import { createMetric } from '../evaluators/registry.ts';
import { createStubLlm } from '../evaluators/stub-llm.ts';
import { loadMonitors, MonitorSchema } from '../monitors/schema.ts';
import type { DatasetItem } from '../runs/types.ts';
import { loadDatasetFile } from '../runs/datasets.ts';
import { loadPersonaFile, parsePersona } from '../runs/personas.ts';
import { loadSuite, parseSuite } from '../runs/suite.ts';
import { loadDigests } from '../digests/schema.ts';
import { TARGET_TYPES, targets, templateVars } from '../runs/targets.ts';
import { TEMPLATE_VARIABLES } from '../runs/template.ts';
import { envExample, readmeWithTable } from './helpers/env-docs.ts';
import { referenceMarkdown, referenceTables } from './helpers/reference-docs.ts';

const readme = readFileSync('README.md', 'utf8');

describe('documentation stays true', () => {
  it('the README table lists every environment variable as config/ defines it', () => {
    // Regenerate with: node --import tsx test/helpers/env-docs.ts --write
    expect(readme).toBe(readmeWithTable(readme));
  });

  it('.env.example names every variable with its default', () => {
    expect(readFileSync('.env.example', 'utf8')).toBe(envExample());
  });

  it('the README gives the two commands for a fresh machine', () => {
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm test');
  });

  it('.ci/run runs the README test command and ends with the tests line', () => {
    const ci = readFileSync('.ci/run', 'utf8');
    expect(ci).toMatch(/npm test\b/);
    expect(ci).toMatch(/tests: \$\{r\.numPassedTests\} passed, \$\{r\.numFailedTests\} failed/);
  });
});

describe('the configuration reference (docs/reference.md)', () => {
  it('is the one generated from the schemas and registries', () => {
    // Regenerate with: node --import tsx test/helpers/reference-docs.ts --write
    expect(readFileSync('docs/reference.md', 'utf8')).toBe(referenceMarkdown());
  });

  it('describes every field of every table (a new field needs a .describe() in its schema)', () => {
    const undescribed = referenceTables().flatMap((t) =>
      t.rows.filter((r) => !r.description?.trim()).map((r) => `${t.name}: ${r.path}`),
    );
    expect(undescribed).toEqual([]);
  });

  it('has a table for every target and every metric of the registries', () => {
    const names = referenceTables().map((t) => t.name);
    for (const t of TARGET_TYPES) expect(names).toContain(`target ${t}`);
    for (const m of METRIC_NAMES) expect(names).toContain(`metric ${m}`);
  });

  it('lists exactly the template variables the targets fill', () => {
    const vars = templateVars({
      item: { key: 'k', input: 'hi' } as DatasetItem,
      transcript: [],
      turn: 1,
      conversationId: 'c',
    });
    expect(Object.keys(vars).sort()).toEqual(Object.keys(TEMPLATE_VARIABLES).sort());
  });

  it('shows YAML examples that load: the suite, the persona, the monitor and every metric entry', () => {
    const blocks = [...referenceMarkdown().matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
    const suiteText = blocks.find((b) => b.startsWith('name: support-bot'));
    const personaText = blocks.find((b) => b.startsWith('name: impatient-customer'));
    const monitorText = blocks.find((b) => b.startsWith('name: support-quality'));
    if (!suiteText || !personaText || !monitorText)
      throw new Error('an example is missing from the reference');
    const suite = parseSuite(suiteText, 'examples/suites/reference-example.yaml');
    expect(suite.ok ? [] : suite.problems).toEqual([]);
    const persona = parsePersona(personaText, 'persona.yaml');
    expect(persona.ok ? [] : persona.problems).toEqual([]);
    expect(MonitorSchema.safeParse(parseYamlText(monitorText)).error?.issues ?? []).toEqual([]);
    const entries = blocks
      .filter((b) => b.startsWith('metrics:'))
      .flatMap((b) => (parseYamlText(b) as { metrics: { metric: string; args?: unknown }[] }).metrics);
    expect(entries.map((e) => e.metric).sort()).toEqual([...METRIC_NAMES].sort());
    for (const e of entries) {
      const made = createMetric(e.metric, e.args ?? {}, {
        llm: createStubLlm(() => '{}'),
        judgeModel: 'offline:heuristic',
      });
      expect(made.ok ? '' : made.error).toBe('');
    }
    for (const t of TARGET_TYPES) {
      const block = blocks.find((b) => b.startsWith(`target:\n  type: ${t}\n`));
      if (!block) throw new Error(`no example for target ${t}`);
      const { type: _type, ...args } = (parseYamlText(block) as { target: Record<string, unknown> }).target;
      expect((targets[t].args as z.ZodType).safeParse(args).error?.issues ?? []).toEqual([]);
    }
  });
});

describe('examples/', () => {
  it('every shipped suite, persona, dataset, monitor and digest loads without a problem', () => {
    const files = (dir: string) => readdirSync(dir).map((f) => join(dir, f));
    const suites = files('examples/suites').map((f) => loadSuite(f, { AGENT_TOKEN: 'example-token' }));
    expect(suites.length).toBeGreaterThan(0);
    for (const s of suites) expect(s.warnings ?? []).toEqual([]);
    // Persona packs live in subfolders (examples/personas/redteam/).
    const personas = files('examples/personas').flatMap((f) => (statSync(f).isDirectory() ? files(f) : [f]));
    expect(personas.length).toBeGreaterThan(4);
    for (const f of personas) expect(loadPersonaFile(f).name).not.toBe('');
    for (const f of files('examples/datasets')) {
      const parsed = loadDatasetFile(f);
      expect({ file: f, errors: parsed.errors }).toEqual({ file: f, errors: [] });
      expect(parsed.items.length).toBeGreaterThan(0);
    }
    // In the current forms: no old form that loads only with a warning.
    const monitors = loadMonitors('examples/monitors');
    expect(monitors.length).toBeGreaterThan(0);
    const digests = loadDigests('examples/digests', { monitorNames: monitors.map((m) => m.value.name) });
    expect(digests.length).toBeGreaterThan(0);
    for (const l of [...monitors, ...digests])
      expect({ file: l.file, warnings: l.warnings }).toEqual({ file: l.file, warnings: [] });
  });
});
