// Embedded store engines side by side (SQLite, the default, against nedb), each in a fresh child process so peak RSS
// is its own. Per engine: SCORES monitor scores stored (items × 2 metrics in `monitor_scored`, with the tick log a
// real tick records), then the weekly digest query (median of 5), unique-key lookups (jobs by idempotency key),
// job claims (claim + complete, 10,000 queued), reopening the store, peak RSS and DATA_DIR size.
// Then, on SQLite only: two worker processes on one DATA_DIR, each enqueuing JOBS_PER_PROCESS jobs and both
// claiming from the shared queue; every job must run exactly once.
// BENCH_SCORES sets the number of scores (default 1,000,000); BENCH_ENGINES=sqlite skips nedb.
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDigestInputs } from '../../commands/digest.ts';
import { mulberry32 } from '../../config/index.ts';
import { buildDigest } from '../../digests/build.ts';
import { DigestSchema } from '../../digests/schema.ts';
import {
  createMonitorStore,
  createTickLog,
  type ScoredItemDoc,
  type TickLogDoc,
} from '../../monitors/index.ts';
import { scoredKey } from '../../monitors/store.ts';
import { summarizeTick } from '../../monitors/tick-log.ts';
import { createRunRepository } from '../../runs/index.ts';
import { createJobQueue, createWorker, type Job, retentionRules } from '../../storage/index.ts';
import { createEmbeddedStore, type EmbeddedEngine } from '../../storage/open.ts';
import { retentionIndex, retentionPreview, sweepRetention } from '../../storage/retention.ts';
import { parseEnv } from '../../config/index.ts';
import { tempDir } from '../helpers/tmp.ts';
import { isMain, median, peakRssMiB, report } from './util.ts';

const SCORES = Number(process.env.BENCH_SCORES ?? 1_000_000);
const MONITORS = ['support-quality', 'billing-bot', 'search-answers'];
const METRICS = ['helpful', 'no-refusal'];
const TICK_MS = 10 * 60_000;
const LOOKUPS = 10_000;
const CLAIMS = 10_000;
const JOBS_PER_PROCESS = 5_000;

function duMiB(dir: string): number {
  const kib = Number(execFileSync('du', ['-sk', dir], { encoding: 'utf8' }).split('\t')[0]);
  return Math.round((kib / 1024) * 10) / 10;
}

/** One engine, in this (child) process: the figures as JSON on stdout. */
async function engineChild(engine: EmbeddedEngine): Promise<void> {
  const { dir, cleanup } = tempDir('arbiter-bench-');
  const data = join(dir, 'data');
  try {
    let store = await createEmbeddedStore({ dir: data, engine, autocompactMs: 0 });
    // The retention indexes, as the bot opens them at start (scores are inserted with them in place).
    const rules = retentionRules(parseEnv({}));
    for (const rule of rules) await store.collection(rule.collection, [retentionIndex(rule)]);
    const monitorStore = await createMonitorStore(store);
    const tickLog = await createTickLog(store);
    const weekStart = Date.parse('2026-11-09T00:00:00Z');
    const start = weekStart - 7 * 86_400_000;
    const ticksPerMonitor = (2 * 7 * 86_400_000) / TICK_MS;
    const totalTicks = ticksPerMonitor * MONITORS.length;
    const itemsTotal = SCORES / METRICS.length;
    const random = mulberry32(42);
    const thresholds = new Map(METRICS.map((m) => [m, 0.5]));
    let batch: ScoredItemDoc[] = [];
    const tickDocs: TickLogDoc[] = [];
    let insertMs = 0;
    for (let k = 0; k < ticksPerMonitor; k++) {
      for (const [mi, monitor] of MONITORS.entries()) {
        const t = k * MONITORS.length + mi;
        const n = Math.floor(((t + 1) * itemsTotal) / totalTicks) - Math.floor((t * itemsTotal) / totalTicks);
        const tickTime = new Date(start + k * TICK_MS);
        const base = 0.55 + 0.1 * mi + 0.15 * Math.sin((k / 144) * 2 * Math.PI);
        const tickItems: ScoredItemDoc[] = [];
        for (let i = 0; i < n; i++) {
          const itemId = `${monitor}-${k}-${i}`;
          const doc: ScoredItemDoc = {
            _id: scoredKey('langfuse', monitor, itemId),
            monitor,
            source: 'langfuse',
            itemId,
            tickTime,
            scoredAt: tickTime,
            scores: METRICS.map((metric) => ({
              metric,
              value: Math.min(1, Math.max(0, base + (random() - 0.5) * 0.6)),
              reason: '',
            })),
            published: true,
            input: `question ${i}`,
            output: `answer ${i}`,
            url: `https://langfuse.example/project/p/traces/${itemId}`,
          };
          tickItems.push(doc);
          batch.push(doc);
        }
        tickDocs.push(
          summarizeTick({
            monitor,
            tickTime,
            finishedAt: tickTime,
            read: n,
            items: tickItems.map((d) => ({
              id: d.itemId,
              input: d.input,
              output: d.output,
              scores: d.scores,
            })),
            thresholds,
            events: [],
          }),
        );
        if (batch.length >= 5_000) {
          const t0 = performance.now();
          await monitorStore.seedScored(batch);
          insertMs += performance.now() - t0;
          batch = [];
        }
      }
    }
    let t0 = performance.now();
    if (batch.length) await monitorStore.seedScored(batch);
    await tickLog.seedTicks(tickDocs);
    insertMs += performance.now() - t0;
    const scoredItems = (await Promise.all(MONITORS.map((m) => monitorStore.countScored(m)))).reduce(
      (a, b) => a + b,
      0,
    );

    // The digest query: a weekly digest built from the tick log.
    const spec = DigestSchema.parse({
      name: 'weekly',
      schedule: { cron: '0 9 * * 1', timezone: 'UTC' },
      channel: '#bench',
      period: 'week',
    });
    const inputs = createDigestInputs({ tickLog, runs: await createRunRepository(store) });
    const digestMs: number[] = [];
    let digestItems = 0;
    for (let r = 0; r < 5; r++) {
      t0 = performance.now();
      digestItems = (await buildDigest(inputs, spec, new Date('2026-11-16T09:00:00Z'))).data.scored;
      digestMs.push(performance.now() - t0);
    }

    // Jobs: CLAIMS queued with idempotency keys; unique-key lookups, then claims.
    const queue = await createJobQueue(store);
    t0 = performance.now();
    for (let i = 0; i < CLAIMS; i++)
      await queue.enqueue({ type: 'work', payload: { i }, idempotencyKey: `k${i}` });
    const enqueueS = (performance.now() - t0) / 1000;
    const jobs = await store.collection<Job>('jobs');
    t0 = performance.now();
    let found = 0;
    for (let i = 0; i < LOOKUPS; i++) {
      const k = (i * 7919) % CLAIMS;
      if ((await jobs.findOne({ idempotencyKey: `k${k}` }))?.idempotencyKey === `k${k}`) found++;
    }
    const lookupS = (performance.now() - t0) / 1000;
    t0 = performance.now();
    let claimed = 0;
    for (;;) {
      const job = await queue.claim('bench', 60_000);
      if (!job) break;
      await queue.complete(job._id, 'bench');
      claimed++;
    }
    const claimS = (performance.now() - t0) / 1000;
    const rssLoaded = peakRssMiB();
    await store.close();
    const sizeMiB = duMiB(data);

    t0 = performance.now();
    store = await createEmbeddedStore({ dir: data, engine, autocompactMs: 0 });
    const reopenedCount = await (await createMonitorStore(store)).countScored(MONITORS[0]!);
    const reopenS = (performance.now() - t0) / 1000;
    // Retention 180 days after the first week: stats' preview, then the sweep removes that week's scores.
    const sweepAt = new Date(start + 7 * 86_400_000 + 180 * 86_400_000);
    t0 = performance.now();
    const preview = await retentionPreview(store, rules, sweepAt);
    const previewMs = performance.now() - t0;
    t0 = performance.now();
    const swept = await sweepRetention(store, rules, sweepAt);
    const sweepS = (performance.now() - t0) / 1000;
    const removed = swept.find((r) => r.collection === 'monitor_scored')?.removed ?? 0;
    const expected = preview.find((p) => p.collection === 'monitor_scored')?.expired ?? 0;
    await store.close();
    process.stdout.write(
      `${JSON.stringify({
        'scores stored (items × 2 metrics)': scoredItems * METRICS.length,
        'insert scores/s (batches of 5,000 items)': (scoredItems * METRICS.length) / (insertMs / 1000),
        'digest query: weekly digest, median of 5 (ms)': median(digestMs),
        'items in the digest week': digestItems,
        'enqueue jobs/s (10,000, idempotency keys)': CLAIMS / enqueueS,
        'unique-key lookups/s (10,000)': LOOKUPS / lookupS,
        'lookups that found the right job': `${found}/${LOOKUPS}`,
        'job claims/s (claim + complete, 10,000 queued)': claimed / claimS,
        'jobs claimed': claimed,
        'reopen + count one monitor (s)': reopenS,
        'scored items of one monitor after reopen': reopenedCount,
        'retention preview, every rule (ms)': previewMs,
        'retention sweep: scored items removed (first week)': `${removed} (preview said ${expected})`,
        'retention sweep: items removed/s (batches of 500)': removed / sweepS,
        'peak RSS (MiB)': rssLoaded,
        'DATA_DIR size (MiB)': sizeMiB,
      })}\n`,
    );
  } finally {
    cleanup();
  }
}

/** One of the two job processes: enqueues its share, then runs the shared queue until every job is done. */
async function jobsChild(dir: string, name: string): Promise<void> {
  const store = await createEmbeddedStore({ dir, engine: 'sqlite' });
  const queue = await createJobQueue(store);
  const ran = await store.collection<{ _id: string; by: string }>('ran');
  for (let i = 0; i < JOBS_PER_PROCESS; i++)
    await queue.enqueue({ type: 'work', payload: { i }, idempotencyKey: `${name}-${i}` });
  await store.collection<{ _id: string }>('enqueued').then((c) => c.insertOne({ _id: name }));
  let mine = 0;
  const worker = createWorker({
    queue,
    concurrency: 4,
    leaseMs: 60_000,
    pollMs: 5,
    workerId: name,
    handlers: {
      work: {
        run: async (_p, ctx) => {
          await ran.insertOne({ _id: ctx.job._id, by: name });
          mine++;
        },
      },
    },
  });
  worker.start();
  const enqueued = await store.collection<{ _id: string }>('enqueued');
  // Done once both processes have enqueued everything and no job is claimable or running (the claim index counts).
  const jobs = await store.collection<Job>('jobs');
  for (;;) {
    await new Promise((r) => setTimeout(r, 200));
    if ((await enqueued.count({})) === 2 && (await jobs.count({ claimableAt: { $gte: 0 } })) === 0) break;
  }
  await worker.stop(5000);
  await store.close();
  process.stdout.write(`${JSON.stringify({ name, ran: mine, rss: peakRssMiB() })}\n`);
}

function runChild(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('exit', (code) =>
      code === 0 ? resolve(out.trim().split('\n').at(-1)!) : reject(new Error(`${args[0]} exited ${code}`)),
    );
  });
}

/** Runs the benchmark and returns its figures. */
export async function run(): Promise<Record<string, number | string>> {
  const engines = (process.env.BENCH_ENGINES ?? 'sqlite,nedb').split(',') as EmbeddedEngine[];
  const figures: Record<string, number | string> = {};
  for (const engine of engines) {
    const result = JSON.parse(await runChild(['--engine', engine])) as Record<string, number | string>;
    for (const [k, v] of Object.entries(result)) figures[`${engine}: ${k}`] = v;
  }
  const { dir, cleanup } = tempDir('arbiter-bench-');
  try {
    const t0 = performance.now();
    const outs = await Promise.all(['a', 'b'].map((n) => runChild(['--jobs', dir, n])));
    const wallS = (performance.now() - t0) / 1000;
    const results = outs.map((o) => JSON.parse(o) as { name: string; ran: number; rss: number });
    const store = await createEmbeddedStore({ dir, engine: 'sqlite' });
    const ran = await store.collection<{ _id: string }>('ran');
    const queue = await createJobQueue(store);
    const total = await ran.count({});
    const succeeded = (await queue.list({ status: 'succeeded', limit: 20_000 })).filter(
      (j) => j.attempts === 1,
    );
    await store.close();
    figures['jobs: processes × jobs each'] = `2 × ${JOBS_PER_PROCESS}`;
    figures['jobs: runs recorded (each job once: unique _id)'] = total;
    figures['jobs: succeeded on the first attempt'] = succeeded.length;
    figures['jobs: run by a / by b'] = results.map((r) => r.ran).join(' / ');
    figures['jobs: every job exactly once'] =
      total === 2 * JOBS_PER_PROCESS && succeeded.length === total ? 'yes' : 'NO';
    figures['jobs: wall time incl. start-up and enqueue (s)'] = wallS;
    figures['jobs: jobs/s over the wall time'] = (2 * JOBS_PER_PROCESS) / wallS;
    figures['jobs: peak RSS per process (MiB)'] = results.map((r) => r.rss).join(' / ');
  } finally {
    cleanup();
  }
  return report(
    `embedded store engines: ${SCORES.toLocaleString('en')} scores, digest, lookups, claims; 2 processes × ${JOBS_PER_PROCESS} jobs`,
    figures,
  );
}

if (isMain(import.meta.url)) {
  const [mode, a, b] = process.argv.slice(2);
  if (mode === '--engine') await engineChild(a as EmbeddedEngine);
  else if (mode === '--jobs') await jobsChild(a!, b!);
  else await run();
}
