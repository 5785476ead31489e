// Verdicts that cannot lie: per-metric gates, errored items, provider trouble as exit 3, offline said out loud,
// --retry-errors and cancel, end to end through `arbiter run` on the real store, queue, worker and graph.
// Provider fakes answer at the HTTP boundary with the Anthropic Messages API shapes
// (https://docs.anthropic.com/en/api/messages, errors: https://docs.anthropic.com/en/api/errors).
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHttpApp } from '../bot/http.ts';
import { renderBlocks } from '../bot/render-blocks.ts';
import { type RunningBot, startBot } from '../bot/start.ts';
import { createConsoleTransport } from '../bot/console-transport.ts';
import { renderRunSummary } from '../commands/run-messages.ts';
import { runRunsCommand } from '../commands/runs-cli.ts';
import { withCliServices } from './helpers/cli-services.ts';
import { runsCli } from './helpers/runs-cli.ts';
import { runCli } from '../cli/run-cli.ts';
import { createLogger, parseEnv } from '../config/index.ts';
import { createLlm, type Llm } from '../llm/index.ts';
import { anthropicError, anthropicMessage } from '../llm/testing.ts';
import { loadMonitorFile } from '../monitors/schema.ts';
import { loadSuite, type Run, runOutcome } from '../runs/index.ts';
import { createWorker } from '../storage/index.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { startStubAgent } from './fixtures/runs-stub-server.ts';
import { offlineRunService } from './helpers/runs.ts';
import { tempDir } from './helpers/tmp.ts';
import { waitUntil } from './helpers/wait.ts';

const BASE = 'https://anthropic.verdicts.test';
const KEY = 'sk-ant-test-verdicts-0123456789';

function anthropicLlm(): Llm {
  return createLlm({
    env: { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: BASE },
    settings: {
      cache: false,
      limits: {},
      retry: { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1, budgetMs: 5000 },
      breaker: { failureThreshold: 1000, cooldownMs: 1000 },
    },
  });
}

const cleanups: (() => void | Promise<void>)[] = [];
beforeEach(() => {
  nock.disableNetConnect();
  nock.enableNetConnect('127.0.0.1');
});
afterEach(async () => {
  nock.cleanAll();
  nock.enableNetConnect();
  for (const c of cleanups.splice(0).reverse()) await c();
});

function setup(suiteYaml: string, rows: string[], llm?: Llm) {
  const t = tempDir();
  cleanups.push(t.cleanup);
  writeFileSync(join(t.dir, 'data.jsonl'), `${rows.join('\n')}\n`);
  const suite = join(t.dir, 'suite.yaml');
  writeFileSync(suite, `name: verdicts\ndataset: data.jsonl\n${suiteYaml}`);
  const c = runsCli({
    env: parseEnv({ DATA_DIR: join(t.dir, 'data'), LOG_LEVEL: 'silent' }),
    ...(llm ? { llm } : {}),
  });
  // Assigned onto the harness, not spread: its `out` and `err` are getters.
  return Object.assign(c, { suite, dir: t.dir });
}

const leak = JSON.stringify({
  input: 'How do I reach support?',
  output: 'Write to jane.doe@example.com, call +1 415 555 0134, my SSN is 123-45-6789. Support is open 9-5.',
});
const clean = JSON.stringify({ input: 'When is support open?', output: 'Support is open 9-5 on weekdays.' });

describe('per-metric gates', () => {
  it('an answer that leaks PII fails its item and the run, though the mean is above the threshold', async () => {
    const c = setup(
      `target: { type: recorded }
metrics:
  - metric: pii
  - metric: contains
    args: { value: "Support" }
  - metric: length
    args: { max: 200, unit: words }
threshold: 0.6
`,
      [leak],
    );
    expect(await c.run([c.suite, '--json'])).toBe(1);
    const run = JSON.parse(c.out) as {
      summary: { meanScore: number; passed: number; failed: number; gate: { passed: boolean } };
    };
    expect(run.summary.meanScore).toBeCloseTo(2 / 3, 6);
    expect(run.summary).toMatchObject({ passed: 0, failed: 1, gate: { passed: false } });
  });

  it('gate: false makes a metric advisory; weights shape the item score', async () => {
    const c = setup(
      `target: { type: recorded }
metrics:
  - metric: pii
    gate: false
    weight: 3
  - metric: contains
    args: { value: "Support" }
threshold: 0.2
`,
      [leak, clean],
    );
    expect(await c.run([c.suite, '--json'])).toBe(0);
    const run = JSON.parse(c.out) as { summary: { meanScore: number; passed: number } };
    // leak: (3·0 + 1·1) / 4 = 0.25; clean: 1.
    expect(run.summary.meanScore).toBeCloseTo((0.25 + 1) / 2, 6);
    expect(run.summary.passed).toBe(2);
  });

  it('a per-metric threshold is the bar for that metric', async () => {
    const c = setup(
      `target: { type: recorded }
metrics:
  - metric: length
    args: { max: 5, unit: words }
    threshold: 0.99
threshold: 0
`,
      [clean],
    );
    // 6 words against a 5-word maximum scores below 1, so the 0.99 bar fails the item.
    expect(await c.run([c.suite])).toBe(1);
    expect(c.out).toMatch(/FAILED: pass rate 0\.000 < threshold 1 \(every item must pass; 1 failed\)/);
  });

  it('the old `- name:` form still loads, with a warning that shows the new form', () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    writeFileSync(join(t.dir, 'd.jsonl'), `${clean}\n`);
    const file = join(t.dir, 's.yaml');
    writeFileSync(
      file,
      'name: old\ndataset: d.jsonl\ntarget: { type: recorded }\nmetrics:\n  - name: contains\n    args: { value: x }\nthreshold: 0.5\n',
    );
    const suite = loadSuite(file);
    expect(suite.metrics).toEqual([
      { metric: 'contains', name: 'contains', args: { value: 'x' }, threshold: 0.5, weight: 1, gate: true },
    ]);
    expect(suite.warnings?.[0]).toMatch(
      /metrics\[0\]: `- name: contains` is the old form.*`- metric: contains, args: \{"value":"x"\}`/,
    );
  });

  it('the old form warning reaches the user: on stderr and in the report from `arbiter run`, in the Slack thread from `/arbiter run`', async () => {
    const c = setup(
      'target: { type: recorded }\nmetrics:\n  - name: contains\n    args: { value: "Support" }\nthreshold: 0.5\n',
      [clean],
    );
    expect(await c.run([c.suite])).toBe(0);
    expect(c.err).toMatch(
      /warning: .*metrics\[0\]: `- name: contains` is the old form.*`- metric: contains, args: \{"value":"Support"\}`/,
    );
    expect(c.out).toMatch(/· Warning: .*metrics\[0\]: `- name: contains` is the old form/);

    // The Slack front door: the same dispatcher and run reporter, on the console transport (what Slack is sent).
    let posted = '';
    const bot: RunningBot = await startBot(
      parseEnv({
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: join(c.dir, 'bot-data'),
        SUITES_DIR: c.dir,
        MONITORS_DIR: join(c.dir, 'no-monitors'),
        LOG_LEVEL: 'silent',
      }),
      { transport: createConsoleTransport({ write: (t) => (posted += t) }), progressEditMs: 0 },
    );
    cleanups.push(() => bot.stop());
    await bot.submitCommand('run suite');
    await waitUntil(() => /PASSED/.test(posted));
    await bot.reporter.idle();
    // In the parent while it runs and in the final report (the console wraps long lines).
    const report = posted.slice(posted.lastIndexOf('PASSED'));
    expect(report).toMatch(
      /Warning: .*metrics\[0\]: `- name: contains` is the old form[\s\S]*`- metric: contains/,
    );
  });

  it('a misspelt metric is refused at load with the line and a suggestion', () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    writeFileSync(join(t.dir, 'd.jsonl'), `${clean}\n`);
    const file = join(t.dir, 's.yaml');
    writeFileSync(
      file,
      'name: typo\ndataset: d.jsonl\ntarget: { type: recorded }\nmetrics:\n  - metric: refusl\nthreshold: 0.5\n',
    );
    expect(() => loadSuite(file)).toThrow(
      /s\.yaml:5:\d+: metrics\[0\]\.metric: unknown metric 'refusl' \(did you mean 'refusal'\?\)/,
    );
  });
});

describe('a metric that could not score is an error, never an omission', () => {
  it('a revoked judge key (401 on every call) errors every item: exit 3, never PASSED', async () => {
    nock(BASE)
      .post('/v1/messages')
      .times(10)
      .reply(401, anthropicError('authentication_error', 'invalid x-api-key'), { 'request-id': 'req_1' });
    const c = setup(
      `target: { type: recorded }
metrics:
  - metric: contains
    args: { value: "Support" }
  - metric: llm-judge
    name: helpfulness
    args: { model: "anthropic:claude-sonnet-5-5", criteria: "Is the answer helpful?" }
threshold: 0.5
`,
      [clean, clean.replace('When', 'Until when')],
      anthropicLlm(),
    );
    const code = await c.run([c.suite, '--junit', 'out.xml']);
    if (code !== 3) console.log(c.out, c.err);
    expect(code).toBe(3);
    expect(c.out).toMatch(
      /ERROR: 2 of 2 items errored \(2 model provider failed\), more than the 0 tolerated/,
    );
    expect(c.out).not.toMatch(/PASSED/);
    expect(c.out).toMatch(/helpfulness could not score: judge call failed/);
    expect(c.files['out.xml']).toMatch(/errors="2"/);
    expect(c.files['out.xml']).toMatch(
      /<error message="helpfulness could not score: [^"]*" type="provider-error"\/>/,
    );
    expect(c.err).toMatch(/--retry-errors run_/);
    expect(c.out).not.toContain(KEY);
  });

  it('--max-errors tolerates some errored items; a metric missing its input errors as input', async () => {
    const c = setup(
      `target: { type: recorded }
metrics:
  - metric: equals
threshold: 0.5
`,
      [
        JSON.stringify({ input: 'q', output: 'a', expected: 'a' }),
        JSON.stringify({ input: 'q2', output: 'b' }),
      ],
    );
    expect(await c.run([c.suite, '--json'])).toBe(1);
    const strict = JSON.parse(c.out) as {
      summary: {
        errors: number;
        errorCauses: Record<string, number>;
        gate: { verdict: string; errorKind: string };
      };
    };
    expect(strict.summary).toMatchObject({
      errors: 1,
      errorCauses: { input: 1 },
      gate: { verdict: 'errored', errorKind: 'scoring' },
    });
    c.reset();
    expect(await c.run([c.suite, '--new', '--max-errors', '1'])).toBe(0);
    expect(c.out).toMatch(/PASSED: .*; 1 errored item\(s\) tolerated/);
  });

  it('a provider outage on the model target is exit 3, not a quality failure', async () => {
    nock(BASE).post('/v1/messages').times(10).reply(529, anthropicError('overloaded_error', 'Overloaded'));
    const c = setup(
      `target: { type: model, model: "anthropic:claude-sonnet-5-5", system: "Be brief." }
metrics:
  - metric: contains
    args: { value: "x" }
threshold: 0.5
`,
      [JSON.stringify({ input: 'hi' }), JSON.stringify({ input: 'ho' })],
      anthropicLlm(),
    );
    expect(await c.run([c.suite])).toBe(3);
    expect(c.out).toMatch(/ERROR: 2 of 2 items errored \(2 model provider failed\)/);
    expect(c.out).not.toMatch(/FAILED: mean score 0\.000/);
  });

  it('--retry-errors runs only the errored items again, and the run is summarized anew', async () => {
    let failing = true;
    const seen: string[] = [];
    const server: Server = createServer((req, res) => {
      let raw = '';
      req.on('data', (d: Buffer) => {
        raw += d.toString();
      });
      req.on('end', () => {
        const message = String((JSON.parse(raw || '{}') as { message?: string }).message);
        seen.push(message);
        if (failing && message === 'two') {
          res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"unavailable"}');
          return;
        }
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ reply: `ok ${message}` }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/chat`;
    const c = setup(
      `target: { type: http, url: "${url}", body: { message: "{{input}}" }, answer: reply }
metrics:
  - metric: contains
    args: { value: "ok" }
threshold: 0.5
`,
      ['one', 'two', 'three'].map((input) => JSON.stringify({ input })),
    );
    expect(await c.run([c.suite, '--json'])).toBe(3);
    const first = JSON.parse(c.out) as {
      _id: string;
      summary: { errors: number; errorCauses: { target: number } };
    };
    expect(first.summary.errors).toBe(1);
    expect(first.summary.errorCauses.target).toBe(1);
    failing = false;
    seen.length = 0;
    c.reset();
    expect(await c.run(['--retry-errors', first._id, '--json'])).toBe(0);
    expect(seen).toEqual(['two']);
    const again = JSON.parse(c.out) as { _id: string; summary: { errors: number; passed: number } };
    expect(again._id).toBe(first._id);
    expect(again.summary).toMatchObject({ errors: 0, passed: 3 });
    c.reset();
    expect(await c.run(['--retry-errors', first._id])).toBe(2);
    expect(c.err).toMatch(/has no errored items to retry/);
  });

  it('--retry-errors refuses a run that stopped early: its never-run items would run too', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const store = await createEmbeddedStore({ dir: join(t.dir, 'data'), autocompactMs: 0 });
    cleanups.push(() => store.close());
    const { queue, svc } = await offlineRunService(store);
    writeFileSync(
      join(t.dir, 'd.jsonl'),
      `${['a', 'b', 'c'].map((input) => JSON.stringify({ input })).join('\n')}\n`,
    );
    const file = join(t.dir, 's.yaml');
    writeFileSync(
      file,
      'name: early\ndataset: d.jsonl\ntarget: { type: recorded }\nmetrics: [{ metric: contains, args: { value: x } }]\nthreshold: 0.5\n',
    );
    const { runId, jobId } = await svc.startRun(loadSuite(file));
    // One item errored (no recorded output), the others never ran: the run was cancelled before its worker came.
    await svc.repository.finishItem(runId, (await svc.repository.pendingItems(runId))[0]!.doc.itemKey, {
      status: 'error',
      result: { scores: [], stopReason: 'target-error', turns: 0 },
      score: null,
      passed: false,
      needsReview: false,
      error: 'the row has no recorded `output`',
      errorCause: 'input',
      latencyMs: 0,
      costUsd: 0,
      inputTokens: 0,
      outputTokens: 0,
      finishedAt: new Date(),
    });
    await svc.cancelRun(runId);
    expect((await svc.getRun(runId))?.status).toBe('cancelled');
    await expect(svc.retryErrors(runId)).rejects.toThrow(
      /ended cancelled with 2 item\(s\) that never ran; --retry-errors runs only errored items/,
    );
    expect(await svc.repository.countItems(runId, { status: 'error' })).toBe(1);
    expect((await queue.get(jobId))?.status).toBe('cancelled');
  });
});

describe('offline is said out loud', () => {
  it('an offline model target says no language model was called, in the verdict', async () => {
    const c = setup(
      `target: { type: model, model: "offline:heuristic", system: "Be brief." }
metrics:
  - metric: length
    args: { max: 500, unit: words }
threshold: 0.5
`,
      [JSON.stringify({ input: 'hi' }), JSON.stringify({ input: 'ho' })],
    );
    const code = await c.run([c.suite]);
    expect(code).toBe(0);
    expect(c.out).toMatch(/PASSED: .*\(offline: no language model was called for 2 answers\)/);
    expect(c.out).toMatch(/Offline target: no language model was called for 2 answer\(s\)/);
    c.reset();
    await c.runs(['list', '--json']);
    const [listed] = JSON.parse(c.out) as { _id: string }[];
    c.reset();
    await c.runs(['show', listed!._id, '--json']);
    const shown = JSON.parse(c.out) as { run: Run; items: { heuristicOutput?: boolean }[] };
    // Marked on each item…
    expect(shown.items.map((i) => i.heuristicOutput)).toEqual([true, true]);
    // …and Slack gets the same Message: the verdict line and the note are in its blocks.
    const slack = JSON.stringify(renderBlocks(renderRunSummary(shown.run)).blocks);
    expect(slack).toMatch(/PASSED: [^"]*\(offline: no language model was called for 2 answers\)/);
    expect(slack).toContain('Offline target: no language model was called for 2 answer(s)');
  });
});

describe('monitors share the metric entry shape', () => {
  it('an alert on the registry name of a renamed metric is refused at load with the fix', () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const file = join(t.dir, 'm.yaml');
    writeFileSync(
      file,
      `name: renamed
schedule: { every: 1h }
source: { type: file, path: ${join(t.dir, 'records.jsonl')} }
extract: { input: input, output: output }
metrics:
  - metric: refusal
    name: no-refusal
    gate: false
alerts:
  - metric: refusal
    below: 0.9
`,
    );
    expect(() => loadMonitorFile(file)).toThrow(
      /alerts\[0\]\.metric: alerts name the score, and metric 'refusal' writes its scores as 'no-refusal': write `metric: no-refusal`/,
    );
  });
});

describe('cancel', () => {
  it('stops sending within about a second; the run and its job are cancelled, never passed or failed', async () => {
    const agent = await startStubAgent({ latencyMs: 100, keepRequests: true });
    cleanups.push(() => agent.close());
    const t = tempDir();
    cleanups.push(t.cleanup);
    const store = await createEmbeddedStore({ dir: join(t.dir, 'data'), autocompactMs: 0 });
    cleanups.push(() => store.close());
    const { queue, svc } = await offlineRunService(store, { progressIntervalMs: 0 });
    writeFileSync(
      join(t.dir, 'd.jsonl'),
      `${Array.from({ length: 200 }, (_, i) => JSON.stringify({ input: `q${i}` })).join('\n')}\n`,
    );
    const file = join(t.dir, 's.yaml');
    writeFileSync(
      file,
      `name: cancel\ndataset: d.jsonl\ntarget: { type: http, url: "${agent.url}/chat", body: { message: "{{input}}" }, answer: reply }\nmetrics: [{ metric: contains, args: { value: "You asked" } }]\nthreshold: 0.5\nconcurrency: 2\n`,
    );
    const { runId, jobId } = await svc.startRun(loadSuite(file));
    // A long lease: the cancel must not wait for the lease renewal to notice it.
    const logs: string[] = [];
    const worker = createWorker({
      queue,
      handlers: svc.handlers,
      concurrency: 1,
      leaseMs: 60_000,
      pollMs: 10,
      logger: createLogger({ LOG_LEVEL: 'info', LOG_FORMAT: 'json' }, { write: (l: string) => logs.push(l) }),
    });
    worker.start();
    cleanups.push(() => worker.stop(1000));
    while (((await svc.getRun(runId))?.progress.done ?? 0) < 4) await new Promise((r) => setTimeout(r, 20));
    await svc.cancelRun(runId);
    const asked = Date.now();
    let run = await svc.getRun(runId);
    while (run?.status !== 'cancelled' && Date.now() - asked < 5000) {
      await new Promise((r) => setTimeout(r, 20));
      run = await svc.getRun(runId);
    }
    const stoppedAfter = Date.now() - asked;
    expect(run?.status).toBe('cancelled');
    expect(stoppedAfter).toBeLessThan(2500);
    const sentAtCancel = agent.requests.length;
    await new Promise((r) => setTimeout(r, 400));
    expect(agent.requests.length).toBe(sentAtCancel);
    expect(sentAtCancel).toBeLessThan(200);
    expect(runOutcome(run!)).toBe('cancelled');
    expect((await queue.get(jobId))?.status).toBe('cancelled');
    await worker.idle();
    expect(worker.stats()).toMatchObject({ cancelled: 1, failed: 0 });
    // Logged as cancelled at info, never as a failed job.
    expect(logs.join('\n')).toMatch(/"msg":"cancelled"/);
    expect(logs.join('\n')).not.toMatch(/job failed/);
    expect(logs.filter((l) => /"level":(50|"error")/.test(l))).toEqual([]);
    // /healthz counts it as cancelled, not failed.
    const app = createHttpApp({ store, worker, queue, startedAt: new Date(), version: 't' });
    const health = (await (await app.request('/healthz')).json()) as { worker: Record<string, number> };
    expect(health.worker).toMatchObject({ cancelled: 1, failed: 0, succeeded: 0 });
    // `arbiter runs list` says cancelled and gives no verdict.
    let listed = '';
    const io = {
      stdout: (t: string) => {
        listed += t;
      },
      stderr: () => {},
    };
    await withCliServices(
      {
        env: parseEnv({ DATA_DIR: join(t.dir, 'unused'), LOG_LEVEL: 'silent' }),
        environment: {},
        io,
        store,
      },
      (d) => runRunsCommand({ name: 'runs.list' }, d),
    );
    expect(listed).toMatch(new RegExp(`${runId}\\s+cancelled\\s+cancel`));
    expect(listed).not.toMatch(/passed|failed/);
  });

  it('`arbiter jobs cancel` on a run that has not started makes the run cancelled too (runs list, jobs list)', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const dataDir = join(t.dir, 'data');
    writeFileSync(join(t.dir, 'd.jsonl'), `${JSON.stringify({ input: 'q', output: 'a' })}\n`);
    const file = join(t.dir, 's.yaml');
    writeFileSync(
      file,
      'name: queued\ndataset: d.jsonl\ntarget: { type: recorded }\nmetrics: [{ metric: contains, args: { value: a } }]\nthreshold: 0.5\n',
    );
    const store = await createEmbeddedStore({ dir: dataDir, autocompactMs: 0 });
    const { svc } = await offlineRunService(store);
    const { runId, jobId } = await svc.startRun(loadSuite(file));
    await store.close();
    let out = '';
    const io = {
      stdout: (x: string) => {
        out += x;
      },
      stderr: (x: string) => {
        out += x;
      },
      readFile: async () => '',
    };
    expect(await runCli(['jobs', 'cancel', jobId], { DATA_DIR: dataDir, LOG_LEVEL: 'silent' }, io)).toBe(0);
    expect(out).toMatch(/Cancelled/);
    out = '';
    expect(await runCli(['runs', 'list'], { DATA_DIR: dataDir, LOG_LEVEL: 'silent' }, io)).toBe(0);
    expect(out).toMatch(new RegExp(`${runId}\\s+cancelled`));
    out = '';
    expect(await runCli(['jobs', 'list'], { DATA_DIR: dataDir, LOG_LEVEL: 'silent' }, io)).toBe(0);
    expect(out).toMatch(new RegExp(`${jobId}\\s+cancelled`));
  });
});

describe('tokens and replies', () => {
  it('judge tokens count in the run summary, split from the target', async () => {
    nock(BASE)
      .post('/v1/messages')
      .times(2)
      .reply(
        200,
        anthropicMessage('{"reason": "Answers the question.", "score": 5, "confidence": 0.9}', {
          input: 1000,
          output: 200,
        }),
      );
    const c = setup(
      `target: { type: recorded }
metrics:
  - metric: llm-judge
    name: helpfulness
    args: { model: "anthropic:claude-sonnet-5-5", criteria: "Is the answer helpful?" }
threshold: 0.5
`,
      [clean, clean.replace('When', 'Until when')],
      anthropicLlm(),
    );
    expect(await c.run([c.suite, '--json'])).toBe(0);
    const run = JSON.parse(c.out) as {
      summary: {
        tokens: { input: number; output: number; byRole: Record<string, { input: number; output: number }> };
      };
    };
    expect(run.summary.tokens.byRole.judge).toEqual({ input: 2000, output: 400 });
    expect(run.summary.tokens.byRole.target).toEqual({ input: 0, output: 0 });
    expect(run.summary.tokens).toMatchObject({ input: 2000, output: 400 });
  });

  it('a user simulator without a known price makes the run cost "price unknown", never $0', async () => {
    // The simulator's replies in the Messages API response shape (stop_reason, usage with cache fields), as in
    // https://platform.claude.com/docs/en/api/messages (checked 2026-12-03).
    nock(BASE)
      .post('/v1/messages')
      .times(20)
      .reply(200, anthropicMessage('I need a refund for order 42.', { input: 300, output: 12 }));
    const c = setup(
      `target: { type: model, model: "offline:heuristic", system: "Be brief." }
conversation:
  personas: [buyer.yaml]
  maxTurns: 2
  simulator: "anthropic:claude-unpriced-9"
metrics:
  - metric: length
    args: { max: 500, unit: words }
threshold: 0.5
`,
      [JSON.stringify({ input: '' })],
      anthropicLlm(),
    );
    writeFileSync(join(c.dir, 'buyer.yaml'), 'name: buyer\ngoal: get a refund\n');
    await c.run([c.suite, '--json']);
    const run = JSON.parse(c.out) as {
      _id: string;
      summary: {
        costUsd: number;
        costUnknown: boolean;
        tokens: { byRole: { simulator: { input: number } } };
      };
    };
    expect(run.summary.tokens.byRole.simulator.input).toBeGreaterThanOrEqual(300);
    expect(run.summary.costUnknown).toBe(true);
    c.reset();
    await c.runs(['show', run._id]);
    expect(c.out).toMatch(/Cost\s+price unknown/);
    expect(c.out).not.toMatch(/Cost\s+\$0\.0000/);
  });

  it('a refused target reply is recorded as refused on the item, and the refusal metric fails it', async () => {
    nock(BASE)
      .post('/v1/messages')
      .reply(200, anthropicMessage('', { stopReason: 'refusal' }));
    const c = setup(
      `target: { type: model, model: "anthropic:claude-sonnet-5-5", system: "Be brief." }
metrics:
  - metric: refusal
threshold: 0.5
`,
      [JSON.stringify({ input: 'hi' })],
      anthropicLlm(),
    );
    const code = await c.run([c.suite, '--json']);
    const run = JSON.parse(c.out) as { _id: string; summary: { passed: number } };
    c.reset();
    await c.runs(['show', run._id, '--json']);
    const shown = JSON.parse(c.out) as { items: { targetFinish?: { reason: string } }[] };
    expect(shown.items[0]?.targetFinish?.reason).toBe('refused');
    expect(run.summary.passed).toBe(0);
    expect(code).toBe(1);
  });
});
