// The prompt-change flow end to end through the running bot in console mode: a signed Langfuse `prompt-version`
// webhook (production moved v3 → v4, delivered as Langfuse does: one "updated" for the version gaining the label,
// one for the version losing it) becomes one alert with a diff and buttons; a suite with `watch.onChange: run`
// starts by itself on v4; `click <n>` on Run <suite> starts a run, on Compare with production starts v4 and v3
// and opens a blind review whose ballots are posted once both finish. Replays and forgeries change nothing.
// Langfuse's prompt API is faked with nock at the HTTP boundary, in its real shapes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createConsoleTransport } from '../bot/console-transport.ts';
import { type RunningBot, startBot } from '../bot/start.ts';
import { parseEnv } from '../config/index.ts';
import { promptVersionBody, signedHeaders } from '../prompts/testing.ts';
import type { Run } from '../runs/index.ts';
import { tempDir } from './helpers/tmp.ts';
import { waitUntil } from './helpers/wait.ts';

const LF = 'https://langfuse.test';
const SECRET = 'lf-whsec_prompt-flow-secret';
const PROMPT = 'support-answer';
const SUITE = 'answer-check';

const TEXT: Record<number, string> = {
  3: 'You are a support agent.\nAnswer briefly: {{input}}\nContext: {{context}}',
  4: 'You are a friendly support agent.\nAnswer in one sentence: {{input}}\nContext: {{context}}\nNever guess.',
};

/** `GET /api/public/v2/prompts/{name}` as Langfuse answers it (a text prompt version). */
function promptResponse(version: number) {
  return {
    id: `prm_${version}`,
    name: PROMPT,
    version,
    type: 'text',
    prompt: TEXT[version],
    config: { temperature: 0.2 },
    labels: version === 4 ? ['production', 'latest'] : [],
    tags: [],
    commitMessage: version === 4 ? 'friendlier tone' : null,
    createdBy: 'alice',
    projectId: 'proj_1',
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-02T00:00:00.000Z',
  };
}

/**
 * Fakes the prompt API: by version (3 or 4) or by label (production → v4); records each request's query. Answers
 * after `delayMs`, so a run stays unfinished for a while (a run fetches its prompt once).
 */
function fakeLangfuse(requests: string[], delayMs: number) {
  nock(LF)
    .persist()
    .get(`/api/public/v2/prompts/${PROMPT}`)
    .query(true)
    .delay(delayMs)
    .reply(function reply(uri) {
      const auth = this.req.headers.authorization;
      const expected = `Basic ${Buffer.from('pk-lf-test:sk-lf-test').toString('base64')}`;
      if (auth !== expected) return [401, { message: 'Invalid credentials' }];
      const q = new URL(uri, LF).searchParams;
      requests.push(q.toString());
      const version = q.has('version') ? Number(q.get('version')) : q.get('label') === 'production' ? 4 : 0;
      if (!TEXT[version]) return [404, { message: 'Prompt not found' }];
      return [200, promptResponse(version)];
    });
}

function writeSuites(dir: string): string {
  const suites = join(dir, 'suites');
  mkdirSync(suites);
  writeFileSync(
    join(suites, 'support.jsonl'),
    [
      { id: 'hours', input: 'When is support open?', context: 'Support is open 9 to 5 on weekdays.' },
      { id: 'ship', input: 'Do you ship abroad?', context: 'We ship to the EU and the UK.' },
      { id: 'refund', input: 'Can I get a refund?', context: 'Refunds within 30 days.' },
    ]
      .map((r) => JSON.stringify(r))
      .join('\n'),
  );
  writeFileSync(
    join(suites, `${SUITE}.yaml`),
    `name: ${SUITE}
dataset: ./support.jsonl
target:
  type: prompt
  name: ${PROMPT}
  label: production
  model: offline:heuristic
metrics:
  - name: length
    args: { max: 200, unit: words }
threshold:
  score: 0.1
watch:
  prompts: [${PROMPT}]
  onChange: run
`,
  );
  return suites;
}

/** The messages the console printed, split at each `── ` header. */
function messages(out: string): string[] {
  return out.split(/\n(?=── )/).filter((m) => m.startsWith('── '));
}

describe('prompt-change flow through the running bot', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  beforeEach(() => {
    nock.disableNetConnect();
    nock.enableNetConnect('127.0.0.1');
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    nock.cleanAll();
    nock.enableNetConnect();
  });

  async function boot(
    langfuseDelayMs = 0,
  ): Promise<{ bot: RunningBot; out: () => string; requests: string[] }> {
    const { dir, cleanup } = tempDir();
    const requests: string[] = [];
    fakeLangfuse(requests, langfuseDelayMs);
    let out = '';
    const bot = await startBot(
      parseEnv({
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: join(dir, 'data'),
        MONITORS_DIR: join(dir, 'no-monitors'),
        DIGESTS_DIR: join(dir, 'no-digests'),
        SUITES_DIR: writeSuites(dir),
        LANGFUSE_PUBLIC_KEY: 'pk-lf-test',
        LANGFUSE_SECRET_KEY: 'sk-lf-test',
        LANGFUSE_BASE_URL: LF,
        LANGFUSE_WEBHOOK_SECRET: SECRET,
        PROMPT_ALERTS_CHANNEL: '#prompts',
        LOG_LEVEL: 'silent',
      }),
      {
        transport: createConsoleTransport({ write: (t) => (out += t) }),
        promptSettleMs: 300,
        progressEditMs: 0,
      },
    );
    cleanups.push(cleanup, () => bot.stop());
    return { bot, out: () => out, requests };
  }

  /** The two deliveries of "production moved from v3 to v4" (Langfuse sends one per version touched). */
  function labelMove(): string[] {
    return [
      promptVersionBody({
        id: 'evt-v4-gains',
        action: 'updated',
        name: PROMPT,
        version: 4,
        labels: ['production', 'latest'],
        prompt: TEXT[4],
        commitMessage: 'friendlier tone',
        timestamp: '2026-01-02T10:00:00.000Z',
        user: 'alice',
      }),
      promptVersionBody({
        id: 'evt-v3-loses',
        action: 'updated',
        name: PROMPT,
        version: 3,
        labels: [],
        prompt: TEXT[3],
        timestamp: '2026-01-02T10:00:00.050Z',
        user: 'alice',
      }),
    ].map((b) => JSON.stringify(b));
  }

  const deliver = (bot: RunningBot, raw: string, secret = SECRET) =>
    fetch(`${bot.url}/webhooks/langfuse`, { method: 'POST', headers: signedHeaders(secret, raw), body: raw });

  const alertsIn = (out: string) =>
    messages(out).filter((m) => /^── to #?prompts · /.test(m) && m.includes(`Prompt changed: ${PROMPT}`));

  const pinned = (run: Run) => JSON.parse(run.suiteJson).target as Record<string, unknown>;

  const finished = (runs: Run[]) => runs.every((r) => r.status === 'completed' || r.status === 'failed');

  it('a label move → one alert with a diff and buttons, and one run on v4 started by `onChange: run`', async () => {
    const { bot, out, requests } = await boot();
    for (const raw of labelMove()) {
      const res = await deliver(bot, raw);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: 'accepted' });
    }
    await waitUntil(() => alertsIn(out()).length > 0);
    const runs = await waitUntil(async () => {
      const r = await bot.runs.listRuns();
      return r.length > 0 && finished(r) ? r : undefined;
    });
    // Settle: nothing more is posted or started after the batch closed.
    await new Promise((r) => setTimeout(r, 600));

    const alerts = alertsIn(out());
    expect(alerts).toHaveLength(1);
    const alert = alerts[0]!;
    expect(alert).toContain('production: v3 → v4');
    expect(alert).toContain('friendly support agent');
    expect(alert).toMatch(/Diff v3 → v4/);
    expect(alert).toMatch(/\[\d+\] Run answer-check/);
    expect(alert).toMatch(/\[\d+\] Compare with production/);
    // The full diff goes to the alert's thread.
    const ts = /^── to #?prompts · (\S+)/.exec(alert)![1]!;
    expect(messages(out()).some((m) => m.includes(`(thread ${ts})`) && m.includes('Full diff v3 → v4'))).toBe(
      true,
    );

    expect(await bot.runs.listRuns()).toHaveLength(1);
    const [run] = runs;
    expect(run).toMatchObject({
      suiteName: SUITE,
      status: 'completed',
      trigger: { reason: 'auto', prompt: { name: PROMPT, version: 4 } },
    });
    expect(pinned(run!)).toMatchObject({ type: 'prompt', name: PROMPT, version: 4 });
    expect(pinned(run!)).not.toHaveProperty('label');
    expect(run!.progress).toMatchObject({ total: 3 });
    // The run read exactly the pinned version from Langfuse, never the label.
    expect(requests).toContain('version=4');
    expect(requests).not.toContain('label=production');

    // A replayed delivery (same payload id, even freshly signed) is acknowledged and changes nothing.
    const again = await deliver(bot, labelMove()[0]!);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ status: 'duplicate' });
    // A forged signature is refused.
    const forgedBody = JSON.stringify(
      promptVersionBody({
        id: 'evt-forged',
        action: 'updated',
        name: PROMPT,
        version: 3,
        labels: ['production'],
      }),
    );
    const forged = await deliver(bot, forgedBody, 'lf-whsec_not-the-secret');
    expect(forged.status).toBe(401);
    await new Promise((r) => setTimeout(r, 800));
    expect(alertsIn(out())).toHaveLength(1);
    expect(await bot.runs.listRuns()).toHaveLength(1);
  });

  it('click Run <suite> starts one run per click; Compare with production runs v4 and v3 and opens a blind review', async () => {
    const { bot, out } = await boot(1000);
    for (const raw of labelMove()) expect((await deliver(bot, raw)).status).toBe(200);
    await waitUntil(() => alertsIn(out()).length > 0);
    await waitUntil(async () => {
      const r = await bot.runs.listRuns();
      return r.length === 1 && finished(r);
    });
    const alert = alertsIn(out())[0]!;
    const runButton = Number(/\[(\d+)\] Run answer-check/.exec(alert)![1]);
    const compareButton = Number(/\[(\d+)\] Compare with production/.exec(alert)![1]);

    // Run <suite>: a run of the suite pinned to v4, announced in the alert's thread.
    const mark = out().length;
    expect(await bot.clickButton!(runButton)).toEqual({ ok: true });
    const buttonRun = await waitUntil(async () =>
      (await bot.runs.listRuns()).find((r) => r.trigger?.reason === 'button'),
    );
    expect(buttonRun).toMatchObject({
      suiteName: SUITE,
      trigger: { prompt: { name: PROMPT, version: 4 }, requestedBy: 'console' },
    });
    expect(pinned(buttonRun)).toMatchObject({ version: 4 });
    expect(await bot.runs.listRuns()).toHaveLength(2);

    // Compare with production while that run is still going (Langfuse answers slowly): two runs of their own,
    // v4 (the change) and v3 (production before it), then a blind review of the two.
    const before = out().length;
    expect((await bot.runs.getRun(buttonRun._id))?.status).toMatch(/^(queued|running)$/);
    expect(await bot.clickButton!(compareButton)).toEqual({ ok: true });
    const compared = await waitUntil(async () => {
      const r = (await bot.runs.listRuns()).filter((x) => x.trigger?.reason === 'compare');
      return r.length === 2 ? r : undefined;
    }).catch(async (e) => {
      console.log(
        out().slice(before),
        (await bot.runs.listRuns()).map((r) => [r._id, r.status, r.trigger]),
      );
      throw e;
    });
    expect(compared.map((r) => pinned(r).version).sort()).toEqual([3, 4]);
    expect(compared.map((r) => r.trigger?.prompt.version).sort()).toEqual([3, 4]);
    expect(compared.map((r) => r._id)).not.toContain(buttonRun._id);
    await waitUntil(() => out().slice(before).includes('Comparing v4 with production v3'));
    await waitUntil(() =>
      out().slice(mark).includes(`Started ${SUITE} on ${PROMPT} v4 (run ${buttonRun._id})`),
    );

    // The same Run button clicked again is a double-click: it names the same run and starts nothing new.
    expect(await bot.clickButton!(runButton)).toEqual({ ok: true });
    await waitUntil(
      () => out().slice(mark).split(`Started ${SUITE} on ${PROMPT} v4 (run ${buttonRun._id})`).length === 3,
    );
    expect(await bot.runs.listRuns()).toHaveLength(4);

    const [summary] = await waitUntil(async () => {
      const list = await bot.reviews.list();
      return list.length === 1 ? list : undefined;
    });
    expect(summary!.review).toMatchObject({ source: 'prompt-change', prompt: PROMPT, channel: '#prompts' });
    expect(summary!.review.contenders.map((c) => c.runId).sort()).toEqual(compared.map((r) => r._id).sort());
    // The review opens when the second run finishes (the run job nudges it), not at its 30 s poll.
    const open = await waitUntil(async () => {
      const r = await bot.reviews.get(summary!.review._id);
      return r?.status === 'open' ? r : undefined;
    }, 15_000);
    expect(open.pairCount).toBe(3);
    const ballots = await waitUntil(() => {
      const b = messages(out().slice(before)).filter((m) => m.includes('Blind review: pair'));
      return b.length === 3 ? b : undefined;
    });
    for (const b of ballots) {
      expect(b).toMatch(/^── to #?prompts/);
      expect(b).toMatch(/\[\d+\] A is better/);
      // Blind: no run id or version shows on a ballot.
      for (const secret of compared.map((r) => r._id)) expect(b).not.toContain(secret);
    }

    // Clicking Compare again (same token), now that every run has finished, reuses the runs and the review.
    await waitUntil(async () => finished(await bot.runs.listRuns()));
    expect(await bot.clickButton!(compareButton)).toEqual({ ok: true });
    await waitUntil(
      () =>
        (
          out()
            .slice(before)
            .match(/Comparing v4 with production v3/g) ?? []
        ).length === 2,
    );
    expect((await bot.runs.listRuns()).filter((x) => x.trigger?.reason === 'compare')).toHaveLength(2);
    expect(await bot.runs.listRuns()).toHaveLength(4);
    expect(await bot.reviews.list()).toHaveLength(1);
  }, 90_000);
});
