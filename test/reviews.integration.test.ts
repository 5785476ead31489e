// A blind review end to end through the running bot in console mode: two runs launched by command, `review a b`
// posts blind ballots, `click <n>` votes through the same action jobs Slack clicks use, the review closes by
// itself when every pair has its vote, the reveal is posted, and `leaderboard` pools it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createConsoleTransport } from '../bot/console-transport.ts';
import { type RunningBot, startBot } from '../bot/start.ts';
import { parseEnv } from '../config/index.ts';
import { tempDir } from './helpers/tmp.ts';
import { waitUntil } from './helpers/wait.ts';

const QUESTIONS = ['What is 2 + 2?', 'Capital of Italy?', 'Colour of the sky?', 'Opposite of hot?'];

function writeSuite(dir: string, name: string, answers: string[]): void {
  const rows = QUESTIONS.map((q, i) => JSON.stringify({ id: `q${i}`, input: q, output: answers[i] }));
  writeFileSync(join(dir, `${name}.jsonl`), `${rows.join('\n')}\n`);
  writeFileSync(
    join(dir, `${name}.yaml`),
    `name: ${name}\ndataset: ./${name}.jsonl\ntarget:\n  type: recorded\nmetrics:\n  - name: refusal\nthreshold:\n  score: 0.5\n`,
  );
}

describe('blind review through the console front door', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('review → blind ballots → click votes → reveal → leaderboard', async () => {
    const { dir, cleanup } = tempDir();
    const suites = join(dir, 'suites');
    mkdirSync(suites);
    writeSuite(suites, 'careful', ['4', 'Rome', 'Blue', 'Cold']);
    writeSuite(suites, 'sloppy', ['5', 'Milan', 'Green', 'Warm']);
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
      { transport: createConsoleTransport({ write: (t) => (out += t) }), progressEditMs: 0 },
    );
    cleanups.push(cleanup, () => bot.stop());
    expect(bot.clickButton).toBeDefined();

    await bot.submitCommand('run careful');
    await bot.submitCommand('run sloppy');
    await waitUntil(
      async () => (await bot.runs.listRuns()).filter((r) => r.status === 'completed').length === 2,
      20_000,
    ).catch(async (e) => {
      console.log(out, JSON.stringify(await bot.runs.listRuns()));
      throw e;
    });
    const runs = await bot.runs.listRuns();
    const careful = runs.find((r) => r.suiteName === 'careful')!;
    const sloppy = runs.find((r) => r.suiteName === 'sloppy')!;

    const before = out.length;
    await bot.submitCommand(`review ${careful._id} ${sloppy._id}`);
    await waitUntil(
      () => (out.slice(before).match(/A is better/g) ?? []).length === QUESTIONS.length,
      20_000,
    );
    // Only the creator's ephemeral confirmation names the runs; everything posted in the channel is blind.
    const posted = out
      .slice(before)
      .split(/(?=── )/)
      .filter((m) => m.startsWith('── to #console'));
    for (const secret of [careful._id, sloppy._id, 'careful', 'sloppy'])
      for (const m of posted) expect(m).not.toContain(secret);

    // Vote for the right answer on every ballot: the side that shows it gets the click.
    let clicks = 0;
    for (const ballot of posted.filter((m) => m.includes('Blind review: pair'))) {
      const aText = /Answer A:\n\s+(.*)/.exec(ballot)![1]!;
      const correct = ['4', 'Rome', 'Blue', 'Cold'].includes(aText.trim());
      const side = correct ? 'A' : 'B';
      const n = Number(new RegExp(`\\[(\\d+)\\] ${side} is better`).exec(ballot)![1]);
      const outcome = await bot.clickButton!(n);
      expect(outcome.ok).toBe(true);
      clicks += 1;
    }
    expect(clicks).toBe(QUESTIONS.length);
    await waitUntil(() => out.includes('Blind review closed'), 20_000);
    const report = out.slice(out.indexOf('Blind review closed'));
    expect(report).toContain('careful');
    expect(report).toContain('sloppy');
    // Four votes are below the 10 a contender needs before any claim: the lead is reported, nothing is called.
    // (The console now renders *bold* without its asterisks, so the line may wrap one word later: `\s+` twice.)
    expect(report).toMatch(
      /Not enough votes to call a difference: careful[^\n]* leads sloppy[^\n]* 4 wins\s+to\s+0/,
    );
    expect(report).toContain('not enough votes (4 of 10)');

    const mark = out.length;
    await bot.submitCommand('leaderboard');
    await waitUntil(() => out.slice(mark).includes('closed review'), 10_000);
    const board = out.slice(mark);
    expect(board.indexOf('careful')).toBeLessThan(board.indexOf('sloppy'));
  });
});
