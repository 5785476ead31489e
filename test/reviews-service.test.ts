// Blind reviews end to end on the real embedded store, job queue, worker, run service (recorded target) and the
// offline pairwise judge; only Slack is replaced, by a recording Transport.
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ActionResult } from '../chat/actions.ts';
import type { Message } from '../chat/message.ts';
import {
  createReviewRunSource,
  leaderboardCommand,
  reviewCloseCommand,
  reviewCommand,
  reviewListCommand,
  reviewReasonCommand,
} from '../commands/reviews.ts';
import { createSilentLogger, isArbiterError, systemClock, systemIds } from '../config/index.ts';
import { createManualClock } from '../config/runtime.ts';
import { createLlm } from '../llm/index.ts';
import { createRecordingTransport } from '../prompts/testing.ts';
import { createReviewService, type ReviewService, votesAsOfClose } from '../reviews/index.ts';
import type { Choice } from '../reviews/types.ts';
import { voteId } from '../reviews/repository.ts';
import { createRunService, loadSuite, type RunService } from '../runs/index.ts';
import {
  createJobQueue,
  createWorker,
  type DocumentStore,
  type JobQueue,
  type Worker,
} from '../storage/index.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { tempDir } from './helpers/tmp.ts';
import { waitUntil } from './helpers/wait.ts';

const REVIEWERS = ['U_R1', 'U_R2', 'U_R3'];
const JUDGE = 'offline:heuristic';

const QUESTIONS = [
  'How long do I have to ask for a refund?',
  'Can I change the delivery address after ordering?',
  'Do you ship to Canada?',
  'How do I reset my password?',
  'What payment methods do you accept?',
  'Can I cancel my subscription at any time?',
];

const GOOD = [
  'You can ask for a refund within 30 days of purchase.',
  'Yes, you can change the delivery address until the order ships.',
  'Yes, we ship to Canada; delivery takes 5 to 7 business days.',
  'Use the Forgot password link on the sign-in page to reset your password.',
  'We accept credit cards, debit cards and bank transfers.',
  'Yes, you can cancel your subscription at any time from your account settings.',
];

const TERSE = ['Soon.', 'Maybe.', 'Sometimes.', 'Try again.', 'Several.', 'Perhaps.'];

interface Harness {
  dir: string;
  store: DocumentStore;
  queue: JobQueue;
  runs: RunService;
  reviews: ReviewService;
  transport: ReturnType<typeof createRecordingTransport>;
  worker: Worker;
  makeRun(
    suite: string,
    outputs: readonly string[],
    opts?: { wait?: boolean; questions?: readonly string[] },
  ): Promise<string>;
  settle(): Promise<void>;
  close(): Promise<void>;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function harness(
  opts: {
    dir?: string;
    start?: boolean;
    clock?: ReturnType<typeof createManualClock>;
    waitPollMs?: number;
  } = {},
): Promise<Harness> {
  let dir = opts.dir;
  if (!dir) {
    const t = tempDir('arbiter-reviews-');
    dir = t.dir;
    cleanups.push(t.cleanup);
  }
  const store = await createEmbeddedStore({ dir: join(dir, 'data'), autocompactMs: 0 });
  const queue = await createJobQueue(store, opts.clock ? { clock: opts.clock } : {});
  const logger = createSilentLogger();
  const llm = createLlm({ store });
  const runs = await createRunService({
    store,
    queue,
    clock: systemClock,
    ids: systemIds,
    logger,
    env: {},
    llm,
    judgeModel: JUDGE,
    engine: 'direct',
    progressIntervalMs: 0,
  });
  const transport = createRecordingTransport();
  let worker: Worker | undefined;
  const reviews = await createReviewService({
    store,
    runs: createReviewRunSource(runs),
    judge: { llm, judgeModel: JUDGE },
    transport,
    queue,
    clock: opts.clock ?? systemClock,
    ids: systemIds,
    logger,
    reviewers: REVIEWERS,
    bootstrap: 200,
    waitPollMs: opts.waitPollMs ?? 20,
    notify: () => worker?.notify(),
  });
  worker = createWorker({
    queue,
    handlers: { ...runs.handlers, ...reviews.handlers },
    concurrency: 4,
    leaseMs: 10_000,
    pollMs: 10,
  });
  if (opts.start !== false) worker.start();
  let closed = false;
  const h: Harness = {
    dir,
    store,
    queue,
    runs,
    reviews,
    transport,
    worker,
    async makeRun(suite, outputs, o = {}) {
      const questions = o.questions ?? QUESTIONS;
      const data = questions
        .map((q, i) => JSON.stringify({ id: `q${i}`, input: q, output: outputs[i] }))
        .join('\n');
      writeFileSync(join(dir, `${suite}.jsonl`), data);
      const file = join(dir, `${suite}.yaml`);
      writeFileSync(
        file,
        `name: ${suite}\ndataset: ${suite}.jsonl\ntarget:\n  type: recorded\nmetrics:\n  - name: refusal\nthreshold:\n  score: 0.5\n`,
      );
      const { runId } = await runs.startRun(loadSuite(file), { resume: false });
      if (o.wait !== false)
        await waitUntil(async () => (await runs.getRun(runId))?.status === 'completed', 20_000, 10);
      return runId;
    },
    async settle() {
      worker?.notify();
      await worker!.idle();
    },
    async close() {
      if (closed) return;
      closed = true;
      await worker!.stop(2000);
      await llm.flush();
      await store.close();
    },
  };
  cleanups.push(() => h.close());
  return h;
}

function ballots(h: Harness) {
  return h.transport.posts.filter((p) => p.message.title.startsWith('Blind review: pair'));
}

function tokenOf(message: Message): string {
  for (const s of message.sections) if (s.kind === 'buttons') return s.buttons[0]!.value;
  throw new Error('no buttons in message');
}

function vote(
  h: Harness,
  token: string,
  choice: Choice,
  user: string,
  key: string = randomUUID(),
): Promise<ActionResult> {
  return h.reviews.actionHandler.handle(
    { actionId: `review:vote:${choice}`, value: token },
    { user, key, channel: 'C_REVIEW' },
  );
}

async function openTwoRunReview(
  h: Harness,
  extra: { pairs?: number; reviewersPerPair?: number; deadlineMs?: number } = {},
) {
  const good = await h.makeRun('zetasuite', GOOD);
  const terse = await h.makeRun('omegasuite', TERSE);
  const { review } = await h.reviews.create({
    runs: [good, terse],
    channel: 'C_REVIEW',
    user: 'U_ADMIN',
    ...extra,
  });
  await h.settle();
  return { good, terse, review };
}

describe('creating a review', () => {
  it('posts a parent and one blind ballot per shared item in its thread; nothing visible names a run', async () => {
    const h = await harness();
    const { good, terse, review } = await openTwoRunReview(h);
    expect(review.status).toBe('open');
    expect(review.pairCount).toBe(QUESTIONS.length);
    const parent = h.transport.posts.find((p) => p.message.title === 'Blind review open')!;
    expect(parent.channel).toBe('C_REVIEW');
    const posted = ballots(h);
    expect(posted).toHaveLength(QUESTIONS.length);
    for (const b of posted) expect(b.threadTs).toBe(parent.ts);

    // Everything a reviewer can see, including the answers to their clicks.
    const visible: unknown[] = [parent.message, ...posted.map((p) => p.message)];
    const token = tokenOf(posted[0]!.message);
    visible.push(await vote(h, token, 'a', 'U_R1'));
    visible.push(
      await h.reviews.actionHandler.handle(
        { actionId: 'review:reason', value: token },
        { user: 'U_R1', key: 'k-reason' },
      ),
    );
    const pairs = await h.reviews.repository.pairs(review._id);
    const forbidden = [
      good,
      terse,
      review._id,
      'zetasuite',
      'omegasuite',
      'recorded',
      ...review.contenders.map((c) => c.label),
      ...pairs.map((p) => p._id),
      'aRunId',
      'bRunId',
      String(review.seed),
    ];
    for (const m of visible) {
      const json = JSON.stringify(m);
      for (const f of forbidden) expect(json, `"${f}" leaked`).not.toContain(f);
    }
    // Buttons carry the opaque token only; each pair has its own.
    for (const b of posted) {
      const buttons = b.message.sections.flatMap((s) => (s.kind === 'buttons' ? s.buttons : []));
      expect(buttons.map((x) => x.actionId)).toEqual([
        'review:vote:a',
        'review:vote:b',
        'review:vote:tie',
        'review:vote:both_bad',
        'review:reason',
      ]);
      expect(new Set(buttons.map((x) => x.value)).size).toBe(1);
      expect(buttons[0]!.value).toMatch(/^bt_[A-Za-z0-9_-]{22}$/);
    }
    expect(new Set(posted.map((b) => tokenOf(b.message))).size).toBe(posted.length);
    // The ballot shows the answers of the runs the hidden order says.
    for (const p of pairs) {
      const ballot = posted.find((b) => tokenOf(b.message) === p.token)!.message;
      const codes = ballot.sections.flatMap((s) => (s.kind === 'code' ? [s.text] : []));
      expect(codes).toEqual([p.input, p.answerA, p.answerB]);
      expect(GOOD.includes(p.answerA)).toBe(p.aRunId === good);
    }
  });

  it('refuses unknown runs, one contender, unfinished runs, runs with nothing in common, and DMs without reviewers', async () => {
    const h = await harness();
    const good = await h.makeRun('zetasuite', GOOD);
    const other = await h.makeRun('othersuite', ['x', 'y'], {
      questions: ['Unrelated one?', 'Unrelated two?'],
    });
    const expectError = async (p: Promise<unknown>, code: string, text: RegExp) => {
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isArbiterError(err), String(err)).toBe(true);
      if (isArbiterError(err)) {
        expect(err.code).toBe(code);
        expect(err.message).toMatch(text);
      }
    };
    await expectError(h.reviews.create({ runs: [good, 'run_nope'], channel: 'C' }), 'NOT_FOUND', /run_nope/);
    await expectError(
      h.reviews.create({ runs: [good, good], channel: 'C' }),
      'USAGE',
      /at least 2 different runs/,
    );
    await expectError(h.reviews.create({ runs: [good, other], channel: 'C' }), 'USAGE', /share no items/);
    await h.worker.stop(1000);
    const pending = await h.makeRun('omegasuite', TERSE, { wait: false });
    await expectError(h.reviews.create({ runs: [good, pending], channel: 'C' }), 'USAGE', /is queued/);
    const noReviewers = await createReviewService({
      store: h.store,
      runs: createReviewRunSource(h.runs),
      transport: h.transport,
      queue: h.queue,
      clock: systemClock,
      ids: systemIds,
      logger: createSilentLogger(),
    });
    await expectError(
      noReviewers.create({ runs: [good, other], channel: 'C', dm: true }),
      'USAGE',
      /no reviewers/,
    );
    expect(await h.reviews.list()).toEqual([]);
  });

  it('draws pairs evenly over every matchup of three runs', async () => {
    const h = await harness();
    const a = await h.makeRun('zetasuite', GOOD);
    const b = await h.makeRun('omegasuite', TERSE);
    const c = await h.makeRun(
      'midsuite',
      GOOD.map((g) => `${g} Thanks for asking.`),
    );
    const { review } = await h.reviews.create({ runs: [a, b, c], pairs: 9, channel: 'C' });
    const pairs = await h.reviews.repository.pairs(review._id);
    expect(pairs).toHaveLength(9);
    const matchups = new Map<string, number>();
    for (const p of pairs) {
      const k = [p.aRunId, p.bRunId].sort().join('|');
      matchups.set(k, (matchups.get(k) ?? 0) + 1);
    }
    expect([...matchups.values()]).toEqual([3, 3, 3]);
  });

  it('a redelivered command with the same key opens one review', async () => {
    const h = await harness();
    const a = await h.makeRun('zetasuite', GOOD);
    const b = await h.makeRun('omegasuite', TERSE);
    const first = await h.reviews.create({ runs: [a, b], channel: 'C', idempotencyKey: 'cmd-1' });
    const second = await h.reviews.create({ runs: [a, b], channel: 'C', idempotencyKey: 'cmd-1' });
    expect(first.created).toBe(true);
    expect(second).toMatchObject({ created: false, review: { _id: first.review._id } });
    await h.settle();
    expect(ballots(h)).toHaveLength(QUESTIONS.length);
  });
});

describe('votes', () => {
  it('records a vote, changes it on a second click (and says so), ignores a redelivery, keeps the history', async () => {
    const h = await harness();
    const { review } = await openTwoRunReview(h, { reviewersPerPair: 2 });
    const token = tokenOf(ballots(h)[0]!.message);
    // App Home: every pair waits for this reviewer; the entry names no contender.
    const waiting = await h.reviews.openFor('U_R1');
    expect(waiting).toEqual([
      {
        id: review._id,
        title: expect.stringMatching(/^Blind review opened /),
        pending: QUESTIONS.length,
        // Where its thread is, so App Home shows it only to members of that channel.
        channel: review.channel,
        dm: false,
      },
    ]);
    const first = await vote(h, token, 'a', 'U_R1', 'click-1');
    expect((await h.reviews.openFor('U_R1'))[0]!.pending).toBe(QUESTIONS.length - 1);
    expect((await h.reviews.openFor('U_R2'))[0]!.pending).toBe(QUESTIONS.length);
    expect(JSON.stringify(first.update)).toContain('1 of 2 votes in on this pair');
    expect(JSON.stringify(first.ephemeral)).toMatch(/Your vote: \*A is better\*/);
    // The next pending pair is offered with its buttons.
    expect(first.ephemeral?.title).toBe(`Blind review: pair 2 of ${QUESTIONS.length}`);
    expect(first.ephemeral?.ephemeral).toBe(true);

    const redelivered = await vote(h, token, 'b', 'U_R1', 'click-1');
    expect(JSON.stringify(redelivered)).not.toMatch(/Changed/);
    const changed = await vote(h, token, 'b', 'U_R1', 'click-2');
    expect(JSON.stringify(changed.ephemeral)).toContain(
      'Changed your vote from *A is better* to *B is better*',
    );

    const pair = (await h.reviews.repository.pairs(review._id)).find((p) => p.token === token)!;
    const votes = await h.reviews.repository.votes(review._id);
    expect(votes).toHaveLength(1);
    expect(votes[0]).toMatchObject({ _id: voteId(pair._id, 'U_R1'), choice: 'b', user: 'U_R1' });
    expect(votes[0]!.history.map((x) => [x.choice, x.key])).toEqual([
      ['a', 'click-1'],
      ['b', 'click-2'],
    ]);
  });

  it('two clicks handled out of order keep the later click', async () => {
    const h = await harness();
    const { review } = await openTwoRunReview(h);
    const token = tokenOf(ballots(h)[0]!.message);
    const click = (choice: Choice, key: string, clickedAt: number) =>
      h.reviews.actionHandler.handle(
        { actionId: `review:vote:${choice}`, value: token },
        { user: 'U_R1', key, clickedAt, channel: 'C_REVIEW' },
      );
    await click('b', 'late-click', 2_000);
    // The earlier click's job ran second: it changes nothing.
    const stale = await click('a', 'early-click', 1_000);
    expect(JSON.stringify(stale)).not.toMatch(/Changed/);
    const [v] = await h.reviews.repository.votes(review._id);
    expect(v).toMatchObject({ choice: 'b', clickedAt: 2_000 });
    expect(v!.history.map((x) => x.key)).toEqual(['late-click']);
    // A genuinely later click still changes the vote.
    await click('tie', 'later-click', 3_000);
    expect((await h.reviews.repository.votes(review._id))[0]).toMatchObject({ choice: 'tie' });
  });

  it('50 concurrent clicks never lose or double-count a vote', async () => {
    const h = await harness();
    const { review } = await openTwoRunReview(h, { reviewersPerPair: 20 });
    const tokens = ballots(h).map((b) => tokenOf(b.message));
    const choices: Choice[] = ['a', 'b', 'tie', 'both_bad'];
    // 50 distinct reviewers, each voting once on a pair, every click delivered twice (Slack retry) at the same time.
    const clicks = Array.from({ length: 50 }, (_, i) => ({
      user: `U_C${i}`,
      token: tokens[i % tokens.length]!,
      choice: choices[i % 4]!,
      key: `key-${i}`,
    }));
    await Promise.all([...clicks, ...clicks].map((c) => vote(h, c.token, c.choice, c.user, c.key)));
    const votes = await h.reviews.repository.votes(review._id);
    expect(votes).toHaveLength(50);
    for (const c of clicks) {
      const v = votes.find((x) => x.user === c.user)!;
      expect(v.choice).toBe(c.choice);
      expect(v.history).toHaveLength(1);
    }
    // One reviewer clicking 50 times at once on one pair: one vote, 50 history entries.
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => vote(h, tokens[0]!, choices[i % 4]!, 'U_SPAM', `spam-${i}`)),
    );
    const spam = (await h.reviews.repository.votes(review._id)).filter((v) => v.user === 'U_SPAM');
    expect(spam).toHaveLength(1);
    expect(spam[0]!.history).toHaveLength(50);
    expect(spam[0]!.choice).toBe(spam[0]!.history.at(-1)!.choice);
  });

  it('refuses a vote on a closed review with a clear ephemeral message', async () => {
    const h = await harness();
    const { review } = await openTwoRunReview(h);
    const token = tokenOf(ballots(h)[0]!.message);
    await h.reviews.close(review._id, { reason: 'manual', by: 'U_ADMIN' });
    const res = await vote(h, token, 'a', 'U_R1');
    expect(res.ephemeral?.title).toBe('Review closed');
    expect(res.ephemeral?.ephemeral).toBe(true);
    expect(JSON.stringify(res.ephemeral)).toMatch(/not counted/);
    expect(res.update?.sections.some((s) => s.kind === 'buttons')).toBe(false);
    expect(await h.reviews.repository.votes(review._id)).toEqual([]);
    const unknown = await vote(h, 'bt_unknownunknownunknown', 'a', 'U_R1');
    expect(unknown.ephemeral?.summary).toMatch(/unknown or has expired/);
  });

  it('a vote racing the close: stored after it, left out of the result, and the voter is told', async () => {
    const h = await harness();
    const { review } = await openTwoRunReview(h);
    const [first, second] = await h.reviews.repository.pairs(review._id);
    expect(await vote(h, first!.token, 'a', 'U_R1')).toMatchObject({ update: expect.anything() });
    // The close lands between the click's "is it open?" check and the storing of its vote.
    const repo = h.reviews.repository;
    const record = repo.recordVote.bind(repo);
    repo.recordVote = async (args) => {
      await h.reviews.close(review._id, { reason: 'manual', by: 'U_ADMIN' });
      return record({ ...args, now: new Date(Date.now() + 1000) });
    };
    const late = await vote(h, second!.token, 'b', 'U_R2');
    expect(late.ephemeral?.title).toBe('Review closed');
    expect(JSON.stringify(late.ephemeral)).toMatch(/closed before your vote arrived, so it was not counted/);
    expect(late.update?.sections.some((s) => s.kind === 'buttons')).toBe(false);
    // A change of mind stored after the close does not change the result either.
    await record({
      pair: first!,
      user: 'U_R1',
      choice: 'b',
      key: 'late-change',
      now: new Date(Date.now() + 2000),
    });
    expect((await repo.votes(review._id)).map((v) => [v.user, v.choice]).sort()).toEqual([
      ['U_R1', 'b'],
      ['U_R2', 'b'],
    ]);
    const closedReview = (await h.reviews.get(review._id))!;
    const asOfClose = votesAsOfClose(closedReview, await repo.votes(review._id));
    expect(asOfClose.map((v) => [v.user, v.choice])).toEqual([['U_R1', 'a']]);
    const report = JSON.stringify(await h.reviews.report(review._id));
    expect(report).toContain('<@U_R1> 1');
    expect(report).not.toContain('<@U_R2>');
  });

  it('DM mode refuses a click on a ballot that was sent to another reviewer', async () => {
    const h = await harness();
    const a = await h.makeRun('zetasuite', GOOD);
    const b = await h.makeRun('omegasuite', TERSE);
    const { review } = await h.reviews.create({ runs: [a, b], dm: true, channel: 'C_REVIEW' });
    await h.settle();
    const theirs = ballots(h).find((d) => d.channel === 'U_R1')!;
    const res = await vote(h, tokenOf(theirs.message), 'a', 'U_R2');
    expect(res.ephemeral?.title).toBe('Not your ballot');
    expect(JSON.stringify(res.ephemeral)).toMatch(/sent to another reviewer/);
    expect(res.update).toBeUndefined();
    expect(await h.reviews.repository.votes(review._id)).toEqual([]);
  });

  it('keeps reasons given with `review reason <token> <text>`', async () => {
    const h = await harness();
    const { review } = await openTwoRunReview(h);
    const token = tokenOf(ballots(h)[0]!.message);
    const before = await reviewReasonCommand({ token, reason: 'too vague' }, { user: 'U_R1' }, h.reviews);
    expect(before.summary).toMatch(/Vote on this pair first/);
    await vote(h, token, 'b', 'U_R1');
    const saved = await reviewReasonCommand(
      { token, reason: 'A is vague, B cites the policy' },
      { user: 'U_R1' },
      h.reviews,
    );
    expect(saved.title).toBe('Reason saved');
    expect((await h.reviews.repository.votes(review._id))[0]!.reason).toBe('A is vague, B cites the policy');
  });

  it('DM mode sends each reviewer their first ballot and offers the next one after a vote', async () => {
    const h = await harness();
    const a = await h.makeRun('zetasuite', GOOD);
    const b = await h.makeRun('omegasuite', TERSE);
    const { review } = await h.reviews.create({ runs: [a, b], dm: true, channel: 'C_REVIEW' });
    await h.settle();
    const dms = ballots(h);
    expect(dms.map((d) => d.channel).sort()).toEqual([...REVIEWERS].sort());
    const mine = dms.find((d) => d.channel === 'U_R1')!;
    const res = await vote(h, tokenOf(mine.message), 'a', 'U_R1');
    const pairs = await h.reviews.repository.pairs(review._id);
    const assigned = pairs.filter((p) => p.assignees.includes('U_R1'));
    expect(assigned).toHaveLength(QUESTIONS.length / REVIEWERS.length);
    expect(JSON.stringify(res.update)).toContain(`You have voted on 1 of ${assigned.length} pairs`);
    expect(res.reply && tokenOf(res.reply)).toBe(assigned[1]!.token);
  });
});

describe('closing', () => {
  it('closes by hand: posts the reveal, ratings, verdict, participation and judge agreement in the thread', async () => {
    const h = await harness();
    const a = await h.makeRun('zetasuite', GOOD);
    const b = await h.makeRun('omegasuite', TERSE);
    const c = await h.makeRun(
      'midsuite',
      GOOD.map((g) => `${g} Anything else?`),
    );
    const { review } = await h.reviews.create({ runs: [a, b, c], pairs: 12, channel: 'C_REVIEW' });
    await h.settle();
    const pairs = await h.reviews.repository.pairs(review._id);
    expect(pairs.every((p) => p.judge !== undefined)).toBe(true);
    // Humans vote only on the a–b matchup, for the good run, so c has no votes at all.
    const ab = pairs.filter((p) => p.aRunId !== c && p.bRunId !== c);
    expect(ab.length).toBe(4);
    for (const [i, p] of ab.entries()) {
      await vote(h, p.token, p.aRunId === a ? 'a' : 'b', REVIEWERS[i % 2]!);
    }
    const closed = await reviewCloseCommand(
      { name: 'review.close', id: review._id },
      { user: 'U_ADMIN' },
      h.reviews,
    );
    expect(closed.summary).toMatch(/Closed review/);
    await h.settle();
    const parent = h.transport.posts.find((p) => p.message.title === 'Blind review open')!;
    const result = h.transport.posts.find((p) => p.message.title.startsWith('Blind review closed'))!;
    expect(result.threadTs).toBe(parent.ts);
    const text = JSON.stringify(result.message);
    for (const id of [a, b, c]) expect(text).toContain(id);
    expect(text).toContain('midsuite · recorded  unrated (no votes)');
    expect(text).not.toMatch(/midsuite · recorded +1000/);
    // Four votes: no claim, no interval, no rank for anyone.
    expect(text).toContain(
      'Not enough votes to compare the contenders: each needs at least 10 before any claim is made (zetasuite · recorded has 4 votes, omegasuite · recorded has 4 votes, midsuite · recorded has none).',
    );
    expect(text).toMatch(/— {2}zetasuite · recorded {2}\d+ not enough votes \(4 of 10\)/);
    expect(text).not.toMatch(/is best|significant|intervals do not overlap/);
    expect(text).toMatch(/Cohen's kappa/);
    expect(text).toMatch(/offline heuristic/);
    expect(text).toContain('<@U_R1> 2');
    expect(text).toContain('4 of 12 expected');
    // The judge agreement is computed over the 4 human votes.
    expect(text).toMatch(/agreement over 4 votes/);
    const again = await reviewCloseCommand(
      { name: 'review.close', id: review._id },
      { user: 'U_ADMIN' },
      h.reviews,
    );
    expect(again.summary).toMatch(/already closed/);
    await h.settle();
    expect(h.transport.posts.filter((p) => p.message.title.startsWith('Blind review closed'))).toHaveLength(
      1,
    );
  });

  it('closes by itself when every pair has its votes, and the leaderboard pools closed reviews', async () => {
    const h = await harness();
    const { good, review } = await openTwoRunReview(h);
    const pairs = await h.reviews.repository.pairs(review._id);
    for (const p of pairs) await vote(h, p.token, p.aRunId === good ? 'a' : 'b', 'U_R1');
    await h.settle();
    expect((await h.reviews.get(review._id))?.status).toBe('closed');
    expect((await h.reviews.get(review._id))?.closedReason).toBe('complete');
    const report = JSON.stringify(
      h.transport.posts.find((p) => p.message.title.startsWith('Blind review closed'))!.message,
    );
    // Six votes, all for one side: no interval, no rank, no "significant", no "intervals do not overlap".
    expect(report).toContain(
      'Not enough votes to call a difference: zetasuite · recorded leads omegasuite · recorded 6 wins to 0, from 6 votes; each contender needs at least 10 before any claim is made.',
    );
    expect(report).toContain('not enough votes (6 of 10)');
    expect(report).not.toMatch(/significant|intervals do not overlap|\[\d+, \d+\]/);
    const board = await leaderboardCommand(h.reviews);
    const rows = JSON.stringify(board);
    expect(rows.indexOf('zetasuite · recorded')).toBeLessThan(rows.indexOf('omegasuite · recorded'));
    expect(rows).toMatch(/6 votes from 1 closed review/);
    const list = await reviewListCommand(h.reviews);
    expect(JSON.stringify(list)).toMatch(new RegExp(`${review._id} +closed +6 pairs +6 votes`));
    // Digests read the standings before and after a period, and the reviews closed in it.
    const closedAt = (await h.reviews.get(review._id))!.closedAt!;
    expect((await h.reviews.standings(closedAt)).contenders).toEqual([]);
    const after = await h.reviews.standings(new Date(closedAt.getTime() + 1));
    expect(after.contenders.map((c) => c.name)).toEqual(['zetasuite · recorded', 'omegasuite · recorded']);
    const closed = await h.reviews.closedBetween(
      new Date(closedAt.getTime() - 1),
      new Date(closedAt.getTime() + 1),
    );
    // No winner for digests either: the report called none.
    expect(closed).toEqual([
      {
        id: review._id,
        title: expect.stringContaining('zetasuite · recorded'),
        closedAt,
        ballots: 6,
      },
    ]);
    expect(
      await h.reviews.closedBetween(new Date(closedAt.getTime() + 1), new Date(closedAt.getTime() + 2)),
    ).toEqual([]);
  });

  it('with enough votes the report calls the difference, the sign test and intervals agree, and digests get the winner', async () => {
    const h = await harness();
    const { good, review } = await openTwoRunReview(h, { reviewersPerPair: 2 });
    const pairs = await h.reviews.repository.pairs(review._id);
    for (const user of ['U_R1', 'U_R2'])
      for (const p of pairs) await vote(h, p.token, p.aRunId === good ? 'a' : 'b', user);
    await h.settle();
    const report = JSON.stringify(
      h.transport.posts.find((p) => p.message.title.startsWith('Blind review closed'))!.message,
    );
    expect(report).toContain(
      'zetasuite · recorded is better than omegasuite · recorded: 12 wins to 0 (win rate 100%), significant: two-sided sign test p = 0.000 and the 95% intervals do not overlap.',
    );
    expect(report).toMatch(/ 1 {2}zetasuite · recorded {2}\d+ \[\d+, \d+\]/);
    expect(report).toMatch(/ 2 {2}omegasuite · recorded {2}-?\d+ \[-?\d+, -?\d+\]/);
    const closedAt = (await h.reviews.get(review._id))!.closedAt!;
    const closed = await h.reviews.closedBetween(closedAt, new Date(closedAt.getTime() + 1));
    expect(closed.map((c) => c.winner)).toEqual(['zetasuite · recorded']);
  });

  it('the leaderboard pools runs of one contender into one row, and leaves out votes between them', async () => {
    const h = await harness();
    // Review 1: zetasuite (run 1) against omegasuite. Review 2: two more zetasuite runs against each other,
    // which the review tells apart as "zetasuite · recorded [<run id>]".
    const { good, review: first } = await openTwoRunReview(h, { reviewersPerPair: 2 });
    for (const user of ['U_R1', 'U_R2'])
      for (const p of await h.reviews.repository.pairs(first._id))
        await vote(h, p.token, p.aRunId === good ? 'a' : 'b', user);
    const again = await h.makeRun('zetasuite', GOOD);
    const third = await h.makeRun('zetasuite', GOOD);
    const { review: second } = await h.reviews.create({ runs: [again, third], channel: 'C_REVIEW' });
    await h.settle();
    expect((await h.reviews.get(second._id))!.contenders.map((c) => c.label)).toEqual([
      `zetasuite · recorded [${again}]`,
      `zetasuite · recorded [${third}]`,
    ]);
    for (const p of await h.reviews.repository.pairs(second._id)) await vote(h, p.token, 'a', 'U_R1');
    await h.settle();
    expect((await h.reviews.get(second._id))?.status).toBe('closed');
    const board = await leaderboardCommand(h.reviews);
    const rows = (board.sections[0] as { text: string }).text.split('\n');
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/^ 1 {2}zetasuite · recorded {2}\d+ \[\d+, \d+\] {2}W12 L0 /);
    expect(rows[1]).toMatch(/^ 2 {2}omegasuite · recorded {2}-?\d+ \[-?\d+, -?\d+\] {2}W0 L12 /);
    const notes = JSON.stringify(board.sections[1]);
    expect(notes).toContain('12 votes from 2 closed reviews');
    expect(notes).toContain('6 votes between two runs of the same contender are not counted here.');
    const standings = await h.reviews.standings();
    expect(standings.contenders.map((c) => c.name)).toEqual([
      'zetasuite · recorded',
      'omegasuite · recorded',
    ]);
    expect(standings.unrated).toEqual([]);
  });

  it('queues the deadline close at open + deadline and closes when it is due', async () => {
    const clock = createManualClock(Date.now());
    const h = await harness({ clock });
    const { review } = await openTwoRunReview(h, { deadlineMs: 3_600_000 });
    const [job] = await h.queue.list({ type: 'review.close' });
    expect(job?.runAt.getTime()).toBe(review.openedAt!.getTime() + 3_600_000);
    expect((await h.reviews.get(review._id))?.status).toBe('open');
    clock.advance(3_600_001);
    await h.settle();
    await waitUntil(async () => (await h.reviews.get(review._id))?.status === 'closed');
    expect((await h.reviews.get(review._id))?.closedReason).toBe('deadline');
    await waitUntil(() => h.transport.posts.find((p) => p.message.title.startsWith('Blind review closed')));
  });
});

describe('restart', () => {
  it('keeps every vote and the hidden order across a restart of the store', async () => {
    const first = await harness();
    const { review } = await openTwoRunReview(first);
    const pairsBefore = await first.reviews.repository.pairs(review._id);
    await vote(first, pairsBefore[0]!.token, 'a', 'U_R1');
    await vote(first, pairsBefore[1]!.token, 'tie', 'U_R2');
    const votesBefore = await first.reviews.repository.votes(review._id);
    const reviewBefore = await first.reviews.get(review._id);
    await first.close();

    const second = await harness({ dir: first.dir });
    const reopened = await second.reviews.get(review._id);
    expect(reopened).toEqual(reviewBefore);
    expect(reopened?.seed).toBe(review.seed);
    const pairsAfter = await second.reviews.repository.pairs(review._id);
    expect(pairsAfter.map((p) => [p.token, p.aRunId, p.bRunId, p.answerA])).toEqual(
      pairsBefore.map((p) => [p.token, p.aRunId, p.bRunId, p.answerA]),
    );
    expect(await second.reviews.repository.votes(review._id)).toEqual(votesBefore);
    // Voting goes on with the tokens already posted; a change is recognised as such.
    const res = await vote(second, pairsBefore[0]!.token, 'b', 'U_R1');
    expect(JSON.stringify(res.ephemeral)).toContain('Changed your vote from *A is better* to *B is better*');
  });
});

describe('openBlindReview', () => {
  it('waits while the runs are running and opens once both have finished', async () => {
    const h = await harness({ start: false });
    const a = await h.makeRun('zetasuite', GOOD, { wait: false });
    const b = await h.makeRun('omegasuite', TERSE, { wait: false });
    const { reviewId } = await h.reviews.openBlindReview({
      suite: 'zetasuite',
      runA: a,
      runB: b,
      prompt: 'support',
      channel: 'C_PROMPTS',
    });
    expect((await h.reviews.get(reviewId))?.status).toBe('waiting');
    // The same request again (a retried button job) returns the same review.
    expect(
      await h.reviews.openBlindReview({
        suite: 'zetasuite',
        runA: a,
        runB: b,
        prompt: 'support',
        channel: 'C_PROMPTS',
      }),
    ).toEqual({ reviewId });
    h.worker.start();
    await waitUntil(async () => (await h.reviews.get(reviewId))?.status === 'open');
    await h.settle();
    expect(ballots(h)).toHaveLength(QUESTIONS.length);
    expect(ballots(h)[0]!.channel).toBe('C_PROMPTS');
    const checks = await h.queue.list({ type: 'review.open_when_ready', limit: 1000 });
    expect(checks.length).toBeGreaterThanOrEqual(1);
  });

  it('gives up with a note when a run is cancelled', async () => {
    const h = await harness({ start: false });
    const a = await h.makeRun('zetasuite', GOOD, { wait: false });
    const b = await h.makeRun('omegasuite', TERSE, { wait: false });
    await h.runs.cancelRun(b);
    const { reviewId } = await h.reviews.openBlindReview({
      suite: 'zetasuite',
      runA: a,
      runB: b,
      prompt: 'support',
      channel: 'C_PROMPTS',
    });
    h.worker.start();
    await waitUntil(async () => (await h.reviews.get(reviewId))?.status === 'abandoned');
    const msg = h.transport.posts.find((p) => p.message.title === 'Blind review not opened')!;
    expect(msg.channel).toBe('C_PROMPTS');
    expect(JSON.stringify(msg.message)).toContain(`run ${b} ended cancelled`);
  });
});

describe('review command', () => {
  it('answers the creator only, with the id and contenders', async () => {
    const h = await harness();
    const a = await h.makeRun('zetasuite', GOOD);
    const b = await h.makeRun('omegasuite', TERSE);
    const msg = await reviewCommand(
      { name: 'review', runs: [a, b], pairs: 3 },
      { user: 'U_ADMIN', channel: 'C_REVIEW', idempotencyKey: 'k1' },
      h.reviews,
    );
    expect(msg.ephemeral).toBe(true);
    const [summary] = await h.reviews.list();
    expect(JSON.stringify(msg)).toContain(summary!.review._id);
    expect(JSON.stringify(msg)).toContain('3 pairs of zetasuite · recorded');
  });
});
