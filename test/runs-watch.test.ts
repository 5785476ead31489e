// Prompt-change seams over a suites folder: which suites watch a prompt, and launching a suite by name with its
// prompt target pinned to a version. Real store, queue and worker; Langfuse faked with nock in its API shapes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSilentLogger, isArbiterError, type Logger } from '../config/index.ts';
import { createLangfuseClient } from '../langfuse/client.ts';
import {
  createLangfusePromptSource,
  createRunLauncher,
  createSuiteWatcher,
  loadSuite,
} from '../runs/index.ts';
import { parseSuite } from '../runs/suite.ts';
import { createWorker } from '../storage/index.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { tempDir } from './helpers/tmp.ts';
import { offlineRunService } from './helpers/runs.ts';

const LF = 'https://langfuse.test';

const watching = (name: string, prompt: string, watch: string) => `name: ${name}
dataset: data.jsonl
target: { type: prompt, name: ${prompt}, label: production, model: "offline:heuristic" }
metrics: [{ name: length, args: { max: 200 } }]
threshold: 0.1
watch: ${watch}
`;

function suitesDir() {
  const { dir, cleanup } = tempDir();
  const suites = join(dir, 'suites');
  mkdirSync(suites);
  writeFileSync(
    join(suites, 'data.jsonl'),
    '{"input":"When is support open?","context":"Support is open 9 to 5."}\n{"input":"Do you ship abroad?"}\n',
  );
  writeFileSync(
    join(suites, 'answer-auto.yaml'),
    watching(
      'answer-auto',
      'support-answer',
      '{ prompts: [support-answer], labels: [production, staging], onChange: run }',
    ),
  );
  writeFileSync(
    join(suites, 'answer-button.yml'),
    watching('answer-button', 'support-answer', '{ prompts: [support-answer] }'),
  );
  writeFileSync(join(suites, 'other.yaml'), watching('other', 'triage', '{ prompts: [triage] }'));
  writeFileSync(
    join(suites, 'plain.yaml'),
    'name: plain\ndataset: data.jsonl\ntarget: { type: recorded }\nmetrics: [{ name: pii }]\nthreshold: 0.5\n',
  );
  writeFileSync(join(suites, 'broken.yaml'), 'name: broken\ndataset: [\n');
  return { dir, suites, cleanup };
}

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const base = createSilentLogger();
  return Object.assign(Object.create(base) as Logger, {
    warnings,
    warn: (...args: unknown[]) => {
      warnings.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
    },
  });
}

describe('suite `watch:`', () => {
  it('loads watch settings and rejects watching without a prompt target, naming line and field', () => {
    const ok = parseSuite(
      watching('s', 'support-answer', '{ prompts: [support-answer], onChange: run }'),
      '/x/s.yaml',
    );
    expect(ok.ok && ok.suite.watch).toEqual({ prompts: ['support-answer'], onChange: 'run' });

    const http = parseSuite(
      'name: h\ndataset: d.jsonl\ntarget: { type: recorded }\nmetrics: [{ name: pii }]\nthreshold: 0.5\nwatch: { prompts: [p] }\n',
      '/x/h.yaml',
    );
    expect(!http.ok && http.problems[0]).toMatchObject({
      line: 6,
      field: 'watch',
      message: expect.stringContaining('prompt'),
    });

    const other = parseSuite(watching('s', 'support-answer', '{ prompts: [triage] }'), '/x/s.yaml');
    expect(!other.ok && other.problems[0]).toMatchObject({
      field: 'watch.prompts',
      message: expect.stringContaining("'support-answer'"),
    });

    const bad = parseSuite(
      watching('s', 'support-answer', '{ prompts: [support-answer], onChange: post }'),
      '/x/s.yaml',
    );
    expect(!bad.ok && bad.problems[0]).toMatchObject({ line: 6, field: 'watch.onChange' });
  });

  it('the shipped Langfuse prompt example watches its prompt', () => {
    const suite = loadSuite('examples/suites/langfuse-prompt.yaml');
    expect(suite.watch).toEqual({ prompts: ['support-answer'], labels: ['production'], onChange: 'run' });
  });

  it('suitesWatching lists the suites of SUITES_DIR that watch a prompt; broken files are logged and skipped', () => {
    const { suites, cleanup } = suitesDir();
    try {
      const logger = recordingLogger();
      const watcher = createSuiteWatcher({ suitesDir: suites, env: {}, logger });
      const found = watcher.suitesWatching('support-answer');
      expect(found).toEqual([
        {
          name: 'answer-auto',
          file: join(suites, 'answer-auto.yaml'),
          onChange: 'run',
          labels: ['production', 'staging'],
        },
        { name: 'answer-button', file: join(suites, 'answer-button.yml') },
      ]);
      expect(watcher.suitesWatching('triage').map((s) => s.name)).toEqual(['other']);
      expect(watcher.suitesWatching('nobody')).toEqual([]);
      expect(logger.warnings.filter((w) => w.includes('broken.yaml'))).toHaveLength(1);
      // Unchanged files are not parsed (or logged) again.
      watcher.suitesWatching('support-answer');
      expect(logger.warnings.filter((w) => w.includes('broken.yaml'))).toHaveLength(1);
      // A suite edited to stop watching drops out.
      writeFileSync(
        join(suites, 'answer-button.yml'),
        watching('answer-button', 'triage', '{ prompts: [triage] }'),
      );
      expect(watcher.suitesWatching('support-answer').map((s) => s.name)).toEqual(['answer-auto']);
    } finally {
      cleanup();
    }
  });
});

describe('RunLauncher over SUITES_DIR', () => {
  beforeEach(() => nock.disableNetConnect());
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('runs the suite by name with its prompt target pinned to the version, once per idempotency key', async () => {
    const { dir, suites, cleanup } = suitesDir();
    const store = await createEmbeddedStore({ dir: join(dir, 'data'), autocompactMs: 0 });
    try {
      const client = createLangfuseClient({ baseUrl: LF, publicKey: 'pk-lf-1', secretKey: 'sk-lf-1' });
      const { queue, svc: runs } = await offlineRunService(store, {
        prompts: createLangfusePromptSource(client),
        progressIntervalMs: 0,
      });
      // Only version 7 is ever asked for: the `production` label of the suite file is overridden.
      const prompt = nock(LF)
        .get('/api/public/v2/prompts/support-answer')
        .query({ version: '7' })
        .reply(200, {
          id: 'p7',
          name: 'support-answer',
          version: 7,
          type: 'chat',
          prompt: [
            { role: 'system', content: 'Answer from this context: {{context}}' },
            { role: 'user', content: '{{input}}' },
          ],
          config: {},
          labels: ['staging'],
          tags: [],
        });
      const launcher = createRunLauncher({
        suitesDir: suites,
        env: {},
        logger: createSilentLogger(),
        runs: () => runs,
      });
      const options = {
        prompt: { name: 'support-answer', version: 7 },
        reason: 'button' as const,
        idempotencyKey: 'prompt-button:pa_1',
        requestedBy: 'U123',
      };
      const { runId } = await launcher.startRun('answer-button', options);
      expect((await launcher.startRun('answer-button', options)).runId).toBe(runId);

      const worker = createWorker({
        queue,
        handlers: runs.handlers,
        concurrency: 1,
        leaseMs: 5000,
        pollMs: 10,
      });
      worker.start();
      const deadline = Date.now() + 20_000;
      while (!['completed', 'failed'].includes((await runs.getRun(runId))!.status) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      await worker.stop(1000);

      const run = (await runs.getRun(runId))!;
      expect(run.status).toBe('completed');
      expect(run.trigger).toEqual({
        reason: 'button',
        prompt: { name: 'support-answer', version: 7 },
        requestedBy: 'U123',
      });
      expect(JSON.parse(run.suiteJson).target).toEqual({
        type: 'prompt',
        name: 'support-answer',
        version: 7,
        model: 'offline:heuristic',
      });
      const items = await runs.items(runId);
      expect(items).toHaveLength(2);
      expect(items.every((v) => v.doc.status === 'done')).toBe(true);
      prompt.done();
      expect((await runs.listRuns()).filter((r) => r.suiteName === 'answer-button')).toHaveLength(1);
    } finally {
      await store.close();
      cleanup();
    }
  });

  it.each([
    ['nope', 'NOT_FOUND', /No suite named "nope"/],
    ['plain', 'USAGE', /only a `prompt` target/],
    ['other', 'USAGE', /evaluates prompt 'triage', not 'support-answer'/],
  ])('launching %s fails with %s', async (suite, code, message) => {
    const { suites, cleanup } = suitesDir();
    try {
      const launcher = createRunLauncher({
        suitesDir: suites,
        env: {},
        logger: createSilentLogger(),
        runs: () => {
          throw new Error('not reached');
        },
      });
      const err = await launcher
        .startRun(suite, {
          prompt: { name: 'support-answer', version: 2 },
          reason: 'auto',
          idempotencyKey: 'k',
        })
        .catch((e: unknown) => e);
      expect(isArbiterError(err) && err.code).toBe(code);
      expect((err as Error).message).toMatch(message);
    } finally {
      cleanup();
    }
  });
});
