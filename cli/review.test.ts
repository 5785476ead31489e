// `arbiter review …` and `arbiter leaderboard` on a real embedded store: two runs made with `arbiter run`, a review
// created from the CLI (its ballots are queued for the bot, not posted), listed, closed, reported, pooled.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createJobQueue } from '../storage/index.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { runCli } from './run-cli.ts';
import { captureCliIo } from '../test/helpers/cli-io.ts';

function suite(dir: string, name: string, answers: string[]): string {
  const rows = answers.map((a, i) => JSON.stringify({ id: `q${i}`, input: `Question ${i}?`, output: a }));
  writeFileSync(join(dir, `${name}.jsonl`), `${rows.join('\n')}\n`);
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}\ndataset: ./${name}.jsonl\ntarget:\n  type: recorded\nmetrics:\n  - name: refusal\nthreshold:\n  score: 0.5\n`,
  );
  return file;
}

describe('arbiter review', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  it('create queues the ballots for the bot; list, close, report and leaderboard read the store', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    mkdirSync(join(dir, 'suites'));
    const env = { DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'silent' };
    const a = suite(join(dir, 'suites'), 'alpha', ['one', 'two', 'three']);
    const b = suite(join(dir, 'suites'), 'beta', ['uno', 'dos', 'tres']);
    for (const file of [a, b]) expect(await runCli(['run', file, '--json'], env, captureCliIo())).toBe(0);
    const listed = captureCliIo();
    expect(await runCli(['runs', 'list', '--json'], env, listed)).toBe(0);
    const ids = (JSON.parse(listed.out) as { _id: string }[]).map((r) => r._id);
    expect(ids).toHaveLength(2);

    const usage = captureCliIo();
    expect(await runCli(['review', 'create', ids[0]!, ids[1]!], env, usage)).toBe(2);
    expect(usage.err).toMatch(/--channel/);
    const unknown = captureCliIo();
    expect(await runCli(['review', 'create', ids[0]!, 'run_nope', '--channel', 'C1'], env, unknown)).toBe(2);
    expect(unknown.err).toMatch(/run_nope/);

    const created = captureCliIo();
    expect(
      await runCli(['review', 'create', ...ids, '--channel', 'C1', '--deadline', '2d'], env, created),
    ).toBe(0);
    const reviewId = /`?(rev_[A-Za-z0-9]+)`?/.exec(created.out)![1]!;
    expect(created.err).toMatch(/bot posts the ballots/);

    // Nothing was posted: the ballots wait in the job queue for the bot's worker.
    const store = await createEmbeddedStore({ dir: env.DATA_DIR, autocompactMs: 0 });
    const jobs = await (await createJobQueue(store)).list({ status: 'queued' });
    await store.close();
    expect(jobs.map((j) => j.type)).toEqual(expect.arrayContaining(['review.post']));

    const list = captureCliIo();
    expect(await runCli(['review', 'list'], env, list)).toBe(0);
    expect(list.out).toContain(reviewId);

    const closed = captureCliIo();
    expect(await runCli(['review', 'close', reviewId], env, closed)).toBe(0);
    const report = captureCliIo();
    expect(await runCli(['review', 'report', reviewId], env, report)).toBe(0);
    expect(report.out).toMatch(/alpha/);
    expect(report.out).toMatch(/beta/);
    const board = captureCliIo();
    expect(await runCli(['leaderboard'], env, board)).toBe(0);
    expect(board.out).toMatch(/unrated|no votes/i);
  });
});
