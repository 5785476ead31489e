// Fast start: `arbiter help`, `arbiter metrics` and `arbiter config` load the command table but none of the heavy
// packages (LangChain, the OpenTelemetry SDK, the LLM SDKs, the databases, charts, browser, Ajv, and the YAML and CSV
// parsers, Hono, pino, node-cron): those load where they are used (a run, a judge call, a tracing pipeline, a store, a
// chart, a file read, a server, a logger, a schedule). A top-level import of one of them on
// the way to the command table fails this test. Runs the TypeScript sources (tsx), as every test does.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/tmp.ts';

/** Packages a help-like command must not load (matched against `node_modules/<name>/` in module URLs). */
const HEAVY = [
  '@langchain/core',
  '@langchain/langgraph',
  'langsmith',
  '@opentelemetry/sdk-trace-node',
  '@opentelemetry/sdk-trace-base',
  '@opentelemetry/exporter-trace-otlp-http',
  '@langfuse/otel',
  '@langfuse/tracing',
  '@opentelemetry/api',
  '@slack/bolt',
  '@google/genai',
  '@anthropic-ai/sdk',
  'mongodb',
  'better-sqlite3',
  'echarts',
  '@resvg/resvg-js',
  'playwright-core',
  'ajv',
  'fast-xml-parser',
  // Lighter, but together about a third of `arbiter help`'s time: each loads where it is used.
  'yaml',
  'csv-parse',
  '@seald-io/nedb',
  'hono',
  'pino',
  'pino-pretty',
  'node-cron',
  'fastest-levenshtein',
];

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** Runs `arbiter <args>` from the sources with the module recorder and returns the loaded packages and own files. */
function loadedBy(
  args: string[],
  script = 'cli/main.ts',
  extraEnv: Record<string, string> = {},
  expectStatus = 0,
) {
  const { dir, cleanup } = tempDir('arbiter-startup-');
  cleanups.push(cleanup);
  const out = join(dir, 'modules.txt');
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--import', './test/helpers/record-modules.mjs', script, ...args],
    {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        RECORD_MODULES_TO: out,
        DATA_DIR: dir,
        ...extraEnv,
      },
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  if (expectStatus === 0) expect(result.stderr).toBe('');
  expect(result.status).toBe(expectStatus);
  const urls = readFileSync(out, 'utf8').split('\n').filter(Boolean);
  const packages = new Set(
    urls.flatMap((u) => {
      const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u);
      return m ? [m[1]!] : [];
    }),
  );
  return { packages, urls, stdout: result.stdout };
}

describe('start-up: commands that only describe load no heavy package', () => {
  it.each([[['help']], [['metrics']], [['config']]])('arbiter %j', (args) => {
    const { packages, urls, stdout } = loadedBy(args);
    expect(stdout.length).toBeGreaterThan(0);
    // The recorder works: it saw the command table (an ES module) and zod, which the table uses.
    expect(urls.some((u) => u.endsWith('/commands/table.ts'))).toBe(true);
    expect(packages.has('zod')).toBe(true);
    expect(HEAVY.filter((p) => packages.has(p))).toEqual([]);
  });

  it('the recorder sees a heavy package loaded through require (the check can fail)', () => {
    const { packages } = loadedBy([], 'test/helpers/load-heavy.ts');
    expect(packages.has('@langchain/langgraph')).toBe(true);
    expect(packages.has('ajv')).toBe(true);
  });
});

describe('the CLI services are built on first use (app/cli.ts)', () => {
  // Langfuse configured: building the run service starts the tracing pipeline (the OpenTelemetry SDK). No request is
  // sent: nothing is traced by these commands.
  const langfuse = {
    LANGFUSE_PUBLIC_KEY: 'pk-lf-startup',
    LANGFUSE_SECRET_KEY: 'sk-lf-startup',
    LANGFUSE_BASE_URL: 'http://127.0.0.1:9',
  };
  const tracingSdk = ['@opentelemetry/sdk-trace-base', '@langfuse/otel'];

  it('`arbiter runs list` opens the store and builds neither the model client nor its tracing', () => {
    const { packages, stdout } = loadedBy(['runs', 'list'], 'cli/main.ts', langfuse);
    expect(stdout).toBe('No runs.\n');
    expect(packages.has('better-sqlite3')).toBe(true);
    expect(tracingSdk.filter((p) => packages.has(p))).toEqual([]);
  });

  it('`arbiter runs compare` builds the run service, and with it the tracing pipeline (the check can fail)', () => {
    const { packages } = loadedBy(['runs', 'compare', 'run_a', 'run_b'], 'cli/main.ts', langfuse, 2);
    expect(tracingSdk.some((p) => packages.has(p))).toBe(true);
  });
});
