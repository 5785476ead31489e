// The audit trail through the two chat front doors of the running bot: a Slack slash command (signed, over HTTP,
// a local fake Slack Web API) records its Slack user and channel, `/arbiter audit` is for admins and its answer
// escapes user content once; the console prompt records `console` for commands and clicks (review create, vote,
// vote change, close), and vote records name no contender before the close. Each object's report page lists its
// records in a History section (the run launched from Slack; the review before and after its close).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createConsoleTransport } from '../bot/console-transport.ts';
import { signSlackRequest } from '../bot/slack-signature.ts';
import { type RunningBot, startBot } from '../bot/start.ts';
import { parseEnv, reportPaths } from '../config/index.ts';
import { startFakeSlack } from './fixtures/fake-slack.ts';
import { tempDir } from './helpers/tmp.ts';
import { waitUntil } from './helpers/wait.ts';

const SECRET = 'slack-signing-secret-for-tests';
const FORM = 'application/x-www-form-urlencoded';

// A slash command payload as Slack sends it (DESIGN.md: the official signing example's fields).
function commandBody(text: string, user: string, responseUrl: string): string {
  return new URLSearchParams({
    token: 'ignored',
    team_id: 'T1',
    channel_id: 'C1',
    channel_name: 'evals',
    user_id: user,
    user_name: user.toLowerCase(),
    command: '/arbiter',
    text,
    trigger_id: `trig-${Math.random().toString(36).slice(2)}`,
    response_url: responseUrl,
  }).toString();
}

function signed(body: string) {
  const at = Math.floor(Date.now() / 1000);
  return {
    method: 'POST',
    headers: {
      'content-type': FORM,
      'x-slack-request-timestamp': String(at),
      'x-slack-signature': signSlackRequest(SECRET, at, body),
    },
    body,
  };
}

/** The History section of a report page (from its heading to the end of its table). */
function historyOf(page: string): string {
  const start = page.indexOf('<h2>History</h2>');
  expect(start).toBeGreaterThan(-1);
  return page.slice(start, page.indexOf('</table>', start) + '</table>'.length);
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('audit trail: Slack', () => {
  it('a slash command records its Slack user and channel; `audit` is for admins and escapes user content once', async () => {
    const slack = await startFakeSlack();
    const { dir, cleanup } = tempDir();
    const bot = await startBot(
      parseEnv({
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: dir,
        MONITORS_DIR: `${dir}/no-monitors`,
        LOG_LEVEL: 'silent',
        SLACK_BOT_TOKEN: 'xoxb-test-token',
        SLACK_SIGNING_SECRET: SECRET,
        SLACK_API_URL: `${slack.url}/api/`,
        ARBITER_ADMINS: 'UADMIN',
      }),
      { progressEditMs: 0, slackRetries: 2 },
    );
    cleanups.push(
      cleanup,
      () => slack.close(),
      () => bot.stop(),
    );
    const events = `${bot.url}/slack/events`;
    const send = (text: string, user: string, responsePath: string) =>
      fetch(events, signed(commandBody(text, user, `${slack.url}/response/${responsePath}`)));

    expect((await send('run quickstart --limit 2', 'UADMIN', 'r1')).status).toBe(200);
    const runId = await waitUntil(async () => (await bot.runs.listRuns())[0]?._id);
    const launched = await waitUntil(
      async () => (await bot.audit.list({ objectType: 'run', objectId: runId }))[0],
    );
    expect(launched).toMatchObject({
      action: 'run.launch',
      actor: { via: 'slack', user: 'UADMIN', channel: 'C1' },
      summary: 'Launched quickstart (2 items)',
    });
    // The run's report page (a signed link) lists the record in its History: who, from where, what.
    const page = await fetch(`${bot.url}${bot.links.sign(reportPaths.run(runId))}`);
    expect(page.status).toBe(200);
    const history = historyOf(await page.text());
    expect(history).toMatch(
      /<tr><td>\d{4}-\d\d-\d\d \d\d:\d\d UTC<\/td><td>UADMIN<\/td><td>Slack C1<\/td><td>Launched quickstart \(2 items\)<\/td><\/tr>/,
    );

    // User content in a record (a summary is plain text): the answer escapes it once, and pings no one.
    await bot.audit.record({
      actor: { via: 'slack', user: 'UADMIN', channel: 'C1' },
      action: 'run.cancel',
      object: { type: 'run', id: runId },
      summary: 'Stopped <!channel> & friends',
    });

    const refused = await send('audit', 'UNOBODY', 'r2');
    expect(refused.status).toBe(200);
    const refusal = JSON.stringify(await refused.json());
    expect(refusal).toContain('needs the admin role');
    expect(refusal).not.toContain('run.launch');

    expect((await send(`audit --object run:${runId}`, 'UADMIN', 'r3')).status).toBe(200);
    const answer = await waitUntil(() => slack.calls.find((c) => c.method === '/response/r3'));
    const posted = JSON.stringify(answer.args);
    expect(posted).toContain('Audit trail');
    expect(posted).toContain(`UADMIN (Slack in C1)  run.launch  run:${runId}  Launched quickstart (2 items)`);
    expect(posted).toContain('Stopped &lt;!channel&gt; &amp; friends');
    expect(posted).not.toContain('&amp;lt;');
    expect(posted).not.toContain('<!channel>');
    // The refused request reached no response_url: nothing was listed to a non-admin.
    expect(slack.calls.find((c) => c.method === '/response/r2')).toBeUndefined();
  });
});

const QUESTIONS = ['What is 2 + 2?', 'Capital of Italy?'];

function writeSuite(dir: string, name: string, answers: string[]): void {
  const rows = QUESTIONS.map((q, i) => JSON.stringify({ id: `q${i}`, input: q, output: answers[i] }));
  writeFileSync(join(dir, `${name}.jsonl`), `${rows.join('\n')}\n`);
  writeFileSync(
    join(dir, `${name}.yaml`),
    `name: ${name}\ndataset: ./${name}.jsonl\ntarget:\n  type: recorded\nmetrics:\n  - name: refusal\nthreshold:\n  score: 0.5\n`,
  );
}

describe('audit trail: console', () => {
  it('runs, a review, a vote, its change and the close are recorded as the console; votes name no contender', async () => {
    const { dir, cleanup } = tempDir();
    const suites = join(dir, 'suites');
    mkdirSync(suites);
    writeSuite(suites, 'careful', ['4', 'Rome']);
    writeSuite(suites, 'sloppy', ['5', 'Milan']);
    let out = '';
    const bot: RunningBot = await startBot(
      parseEnv({
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: join(dir, 'data'),
        MONITORS_DIR: join(dir, 'no-monitors'),
        DIGESTS_DIR: join(dir, 'no-digests'),
        SUITES_DIR: suites,
        LOG_LEVEL: 'silent',
      }),
      {
        transport: createConsoleTransport({
          write: (t) => {
            out += t;
          },
        }),
        progressEditMs: 0,
      },
    );
    cleanups.push(cleanup, () => bot.stop());

    await bot.submitCommand('run careful');
    await bot.submitCommand('run sloppy');
    await waitUntil(
      async () => (await bot.runs.listRuns()).filter((r) => r.status === 'completed').length === 2,
      20_000,
    );
    const runs = await bot.runs.listRuns();
    const [a, b] = [runs[0]!, runs[1]!];
    const before = out.length;
    await bot.submitCommand(`review ${a._id} ${b._id}`);
    await waitUntil(
      () => (out.slice(before).match(/Blind review: pair/g) ?? []).length === QUESTIONS.length,
      20_000,
    );
    const ballot = out
      .slice(before)
      .split(/(?=── )/)
      .find((m) => m.startsWith('── to #console') && m.includes('Blind review: pair'))!;
    const button = (label: string) => Number(new RegExp(`\\[(\\d+)\\] ${label}`).exec(ballot)![1]);
    expect((await bot.clickButton!(button('A is better'))).ok).toBe(true);
    const review = (await bot.reviews.list())[0]!.review;
    await waitUntil(async () =>
      (await bot.audit.list({ objectId: review._id })).some((r) => r.action === 'review.vote'),
    );
    expect((await bot.clickButton!(button('B is better'))).ok).toBe(true);
    await waitUntil(async () =>
      (await bot.audit.list({ objectId: review._id })).some((r) => r.action === 'review.vote-change'),
    );
    // The review's page before the close: its History lists the create and both votes, and names no contender.
    const reviewPage = async () => {
      const res = await fetch(`${bot.url}${bot.links.sign(reportPaths.review(review._id))}`);
      expect(res.status).toBe(200);
      return historyOf(await res.text());
    };
    const blind = await reviewPage();
    expect(blind).toContain('<td>Opened a blind review of 2 runs</td>');
    expect(blind).toMatch(/<td>Voted &quot;A is better&quot; on pair \d+<\/td>/);
    expect(blind).toMatch(
      /<td>Changed the vote on pair \d+ from &quot;A is better&quot; to &quot;B is better&quot;<\/td>/,
    );
    expect(blind.match(/<tr><td>/g)).toHaveLength(3);
    for (const secret of [a._id, b._id, 'careful', 'sloppy', 'Rome', 'Milan'])
      expect(blind).not.toContain(secret);
    await bot.submitCommand(`review close ${review._id}`);
    await waitUntil(async () =>
      (await bot.audit.list({ objectId: review._id })).some((r) => r.action === 'review.close'),
    );
    expect(await reviewPage()).toMatch(
      /<td>console<\/td><td>console<\/td><td>Closed the review \(by hand\)<\/td>/,
    );

    const consoleActor = { via: 'console', user: 'console' };
    const ofReview = await bot.audit.list({ objectType: 'review', objectId: review._id });
    expect(ofReview.map((r) => [r.action, r.actor])).toEqual([
      ['review.close', consoleActor],
      ['review.vote-change', consoleActor],
      ['review.vote', consoleActor],
      ['review.create', consoleActor],
    ]);
    expect(ofReview[0]!.summary).toBe('Closed the review (by hand)');
    expect(ofReview[1]!.summary).toMatch(
      /^Changed the vote on pair \d+ from "A is better" to "B is better"$/,
    );
    expect(ofReview[3]!.summary).toBe('Opened a blind review of 2 runs');
    for (const r of ofReview.slice(1))
      for (const secret of [a._id, b._id, 'careful', 'sloppy'])
        expect(JSON.stringify(r)).not.toContain(secret);
    const launches = await bot.audit.list({ objectType: 'run' });
    expect(launches.map((r) => [r.action, r.actor])).toEqual([
      ['run.launch', consoleActor],
      ['run.launch', consoleActor],
    ]);

    // `audit` at the console prompt lists them (the console is admin when ARBITER_ADMINS is empty).
    const mark = out.length;
    await bot.submitCommand(`audit --object review:${review._id}`);
    await waitUntil(() => out.slice(mark).includes('review.vote-change'));
    expect(out.slice(mark)).toContain(`console (console)  review.create  review:${review._id}`);
  });
});
