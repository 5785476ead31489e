// Digests: a weekly digest over 1,000,000 stored scores. The scores are seeded into `monitor_scored` and the tick
// log docs are computed from the very same items with `summarizeTick` (what a real tick records), then a weekly
// digest (data + message, and the chart PNG) is built from the tick log and timed: median of 5 builds.
import { join } from 'node:path';
import { createDigestInputs } from '../../commands/digest.ts';
import { mulberry32 } from '../../config/index.ts';
import { buildDigest } from '../../digests/build.ts';
import { DigestSchema } from '../../digests/schema.ts';
import { renderChartPng } from '../../digests/chart.ts';
import {
  createMonitorStore,
  createTickLog,
  type ScoredItemDoc,
  type TickLogDoc,
} from '../../monitors/index.ts';
import { scoredKey } from '../../monitors/store.ts';
import { summarizeTick } from '../../monitors/tick-log.ts';
import { createRunRepository } from '../../runs/index.ts';
import { createEmbeddedStore } from '../../storage/open.ts';
import { tempDir } from '../helpers/tmp.ts';
import { isMain, median, peakRssMiB, report } from './util.ts';

const SCORES = 1_000_000;
const MONITORS = ['support-quality', 'billing-bot', 'search-answers'];
const METRICS = ['helpful', 'no-refusal'];
const TICK_MS = 10 * 60_000;
/** Two weeks (the digest's week and the one before it, for the arrows). */
const WEEKS = 2;
const RUNS = 5;

/** Runs the digests benchmark and returns its figures. */
export async function run(): Promise<Record<string, number | string>> {
  const { dir, cleanup } = tempDir('arbiter-bench-');
  const store = await createEmbeddedStore({ dir: join(dir, 'data'), autocompactMs: 0 });
  try {
    const monitorStore = await createMonitorStore(store);
    const tickLog = await createTickLog(store);
    const weekStart = Date.parse('2026-11-09T00:00:00Z'); // Monday: the week before is the previous period
    const start = weekStart - 7 * 86_400_000;
    const ticksPerMonitor = (WEEKS * 7 * 86_400_000) / TICK_MS;
    const totalTicks = ticksPerMonitor * MONITORS.length;
    const itemsTotal = SCORES / METRICS.length;
    const random = mulberry32(42);
    const seedStart = performance.now();
    let items = 0;
    let scores = 0;
    let batch: ScoredItemDoc[] = [];
    const tickDocs: TickLogDoc[] = [];
    const thresholds = new Map(METRICS.map((m) => [m, 0.5]));
    for (let k = 0; k < ticksPerMonitor; k++) {
      for (const [mi, monitor] of MONITORS.entries()) {
        const tickIndex = k * MONITORS.length + mi;
        // Spread the items evenly over the ticks, so exactly `itemsTotal` items are stored.
        const n =
          Math.floor(((tickIndex + 1) * itemsTotal) / totalTicks) -
          Math.floor((tickIndex * itemsTotal) / totalTicks);
        const tickTime = new Date(start + k * TICK_MS);
        // Quality drifts by monitor and time of day, so the digest has trends to show.
        const base =
          0.55 +
          0.1 * mi +
          0.15 * Math.sin((k / 144) * 2 * Math.PI) -
          (k > ticksPerMonitor / 2 ? 0.05 * mi : 0);
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
        items += n;
        scores += n * METRICS.length;
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
              ...(d.url ? { url: d.url } : {}),
            })),
            thresholds,
            events:
              k % 288 === 100
                ? [{ rule: 'mean helpful < 0.5', kind: 'fired', severity: 'warning', value: 0.45 }]
                : [],
          }),
        );
        if (batch.length >= 20_000) {
          await monitorStore.seedScored(batch);
          batch = [];
        }
      }
    }
    if (batch.length) await monitorStore.seedScored(batch);
    await tickLog.seedTicks(tickDocs);
    const seedMs = performance.now() - seedStart;
    const stored = (await Promise.all(MONITORS.map((m) => monitorStore.countScored(m)))).reduce(
      (a, b) => a + b,
      0,
    );

    const spec = DigestSchema.parse({
      name: 'weekly',
      schedule: { cron: '0 9 * * 1', timezone: 'UTC' },
      channel: '#bench',
      period: 'week',
    });
    const inputs = createDigestInputs({ tickLog, runs: await createRunRepository(store) });
    const now = new Date('2026-11-16T09:00:00Z');
    const rssBefore = peakRssMiB();
    const heapBefore = process.memoryUsage().heapUsed;
    const buildMs: number[] = [];
    const chartMs: number[] = [];
    let built: Awaited<ReturnType<typeof buildDigest>> | undefined;
    let pngBytes = 0;
    for (let r = 0; r < RUNS; r++) {
      const t0 = performance.now();
      built = await buildDigest(inputs, spec, now);
      const t1 = performance.now();
      pngBytes = (await renderChartPng(built.chart!)).length;
      buildMs.push(t1 - t0);
      chartMs.push(performance.now() - t1);
    }
    const heapAfter = process.memoryUsage().heapUsed;
    const totals = buildMs.map((b, i) => b + chartMs[i]!);
    return report(
      'digests: weekly digest over 1,000,000 stored scores (3 monitors, 10-minute ticks, 2 weeks)',
      {
        'scores stored (items × 2 metrics)': scores,
        'scored items in monitor_scored': stored,
        'tick log docs': tickDocs.length,
        'items generated': items,
        'seed (ms)': seedMs,
        'build: data + message, median of 5 (ms)': median(buildMs),
        'chart PNG render, median of 5 (ms)': median(chartMs),
        'first chart render incl. lazy load (ms)': chartMs[0]!,
        'weekly digest total, median (ms)': median(totals),
        'target (ms)': 3000,
        'items in the digest week': built!.data.scored,
        'metric trends': built!.data.trends.length,
        'chart PNG (bytes)': pngBytes,
        'heap growth during builds (MiB)': Math.round(((heapAfter - heapBefore) / 1048576) * 10) / 10,
        'peak RSS before builds, after seeding (MiB)': rssBefore,
        'peak RSS after builds (MiB)': peakRssMiB(),
      },
    );
  } finally {
    await store.close();
    cleanup();
  }
}

if (isMain(import.meta.url)) await run();
