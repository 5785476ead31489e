// The GitHub Actions workflow a team forking Arbiter gets: the README's test command on Node 20 and 22, and the store
// contract suite against MongoDB 7 and 8 with MONGODB_URI set. It cannot run here (no MongoDB server, no Actions), so
// this checks what it says.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = join(import.meta.dirname, '..');
type Step = { uses?: string; run?: string; with?: Record<string, unknown> };
type Job = {
  'runs-on': string;
  strategy?: { matrix?: Record<string, unknown[]> };
  services?: Record<string, { image: string; ports?: string[]; options?: string }>;
  env?: Record<string, string>;
  steps: Step[];
};
const workflow = parse(readFileSync(join(root, '.github/workflows/ci.yml'), 'utf8')) as {
  on: Record<string, unknown>;
  jobs: Record<string, Job>;
};

describe('.github/workflows/ci.yml', () => {
  it('runs on every push and pull request', () => {
    expect(Object.keys(workflow.on).sort()).toEqual(['pull_request', 'push']);
  });

  it('runs the README test command (`npm test`) after `npm ci` on Node 20 and 22', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(readme).toMatch(/^npm test\s+#/m);
    const job = workflow.jobs.test!;
    expect(job.strategy?.matrix?.node).toEqual([20, 22]);
    const setup = job.steps.find((s) => s.uses?.startsWith('actions/setup-node@'));
    expect(setup?.uses).toBe('actions/setup-node@v4');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, not a JS template
    expect(setup?.with?.['node-version']).toBe('${{ matrix.node }}');
    expect(job.steps[0]?.uses).toBe('actions/checkout@v4');
    const runs = job.steps.filter((s) => s.run).map((s) => s.run);
    expect(runs).toEqual(['npm ci', 'npm test']);
  });

  it('runs the store contract suite against MongoDB 7 and 8 service containers with MONGODB_URI set', () => {
    const job = workflow.jobs.mongodb!;
    expect(job.strategy?.matrix?.mongodb).toEqual(['7', '8']);
    const service = job.services?.mongodb;
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, not a JS template
    expect(service?.image).toBe('mongo:${{ matrix.mongodb }}');
    expect(service?.ports).toEqual(['27017:27017']);
    // The job waits for the server to answer before the tests start.
    expect(service?.options).toMatch(/--health-cmd "mongosh --quiet --eval/);
    expect(job.env?.MONGODB_URI).toBe('mongodb://localhost:27017');
    const test = job.steps.find((s) => s.run?.startsWith('npm test'));
    const files = test?.run?.replace(/^npm test -- /, '').split(/\s+/) ?? [];
    expect(files).toContain('storage/store-contract.test.ts');
    // Every file it names exists and reads MONGODB_URI (a renamed file would silently test nothing).
    for (const f of files) {
      expect(existsSync(join(root, f)), f).toBe(true);
      expect(readFileSync(join(root, f), 'utf8'), f).toMatch(/process\.env\.MONGODB_URI/);
    }
  });
});
