// Monitors over real-shaped Langfuse data: one tick over 10,000 v2 observations whose input (JSON chat text) and
// output are raw strings of about 4 KB each, served by a local fake Langfuse in the real shapes
// (test/fixtures/fake-langfuse.ts), 1,000 per page. Measures the read alone (fetch + decode + own-filter) and the
// whole tick (fetch + extract + dedup against 2,000 already-scored items + sample 100 + score + store), with
// records/s and peak RSS (of the whole process: the fake's rows and rendered pages, ~160 MB, live in it too).
// Medians of 3 runs.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createManualClock } from '../../config/index.ts';
import { createLangfuseClient, fieldsFor, readObservations } from '../../langfuse/index.ts';
import {
  createMonitorStore,
  extractPaths,
  MonitorSchema,
  runTick,
  type ScoredItemDoc,
  scoredKey,
} from '../../monitors/index.ts';
import { createRecordingTransport } from '../../prompts/testing.ts';
import { createEmbeddedStore, createLeases } from '../../storage/index.ts';
import { answerObservations, type FakeObservation } from '../fixtures/fake-langfuse.ts';
import { tempDir } from '../helpers/tmp.ts';
import { isMain, median, peakRssMiB, report } from './util.ts';

const N = 10_000;
const PAGE = 1000;
const ALREADY = 2_000;
const RUNS = 3;

function rows(t0: number): FakeObservation[] {
  const filler = 'The customer asked about their order and the assistant looked it up in the order system. ';
  return Array.from({ length: N }, (_, n) => {
    const question = `Question ${n}: ${filler.repeat(40)}`.slice(0, 3900);
    const answer = `Answer ${n}: ${filler.repeat(46)}`.slice(0, 4096);
    return {
      id: `obs-${n}`,
      traceId: `tr-${n}`,
      startTime: new Date(t0 + n * 300).toISOString(),
      name: 'chat',
      // Already JSON text, as the v2 API returns it (the fake passes strings through).
      input: JSON.stringify([
        { role: 'system', content: 'You are Acme support.' },
        { role: 'user', content: question },
      ]),
      output: answer,
      metadata: { env: 'prod', plan: n % 3 === 0 ? 'pro' : 'free' },
    };
  });
}

/** Runs the benchmark and returns its figures. */
export async function run(): Promise<Record<string, number | string>> {
  const t0 = Date.parse('2026-11-20T09:00:00Z');
  const data = rows(t0);
  const until = new Date('2026-11-20T10:00:00Z');
  let requests = 0;
  let bytes = 0;
  // Pages are built once and then served from memory, so the timings are Arbiter's side, not the fake's.
  const rendered = new Map<string, { status: number; body: string }>();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests += 1;
    let page = rendered.get(req.url ?? '');
    if (!page) {
      const answer = answerObservations('v4', data, url.pathname, url.searchParams, until.getTime());
      page = { status: answer.status, body: JSON.stringify(answer.body) };
      rendered.set(req.url ?? '', page);
    }
    bytes += page.body.length;
    res.writeHead(page.status, { 'content-type': 'application/json' });
    res.end(page.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const monitor = MonitorSchema.parse({
    name: 'bench-lf',
    schedule: { every: '1h' },
    source: { type: 'langfuse', pageSize: PAGE, groupBy: 'observation', lookback: '2h' },
    extract: { input: 'input[-1].content', output: 'output', metadata: { plan: 'metadata.plan' } },
    sample: { strategy: 'most_recent', n: 100 },
    metrics: [{ metric: 'length', args: { max: 2000 } }, { metric: 'refusal' }],
    publish: { channel: '#bench' },
  });
  const client = () =>
    createLangfuseClient({ baseUrl: base, publicKey: 'pk', secretKey: 'sk', timeoutMs: 60_000 });
  const readMs: number[] = [];
  const tickMs: number[] = [];
  let lastTick: Awaited<ReturnType<typeof runTick>> | undefined;
  const rssStart = peakRssMiB();
  const wanted = fieldsFor(extractPaths(monitor.extract));
  // The same window and query as the tick's first read (lookback 2h before the tick).
  const read = () =>
    readObservations(client(), {
      from: new Date(until.getTime() - 2 * 3600_000),
      until,
      pageSize: PAGE,
      fields: wanted.fields,
      expandMetadata: wanted.expandMetadata,
    });
  try {
    await read(); // renders the fake's pages
    for (let r = 0; r < RUNS; r++) {
      requests = 0;
      bytes = 0;
      const s = performance.now();
      const got = await read();
      readMs.push(performance.now() - s);
      if (!got.ok || got.value.observations.length !== N) throw new Error('read failed');
    }
    const readBytes = bytes;
    const readRequests = requests;
    const rssAfterRead = peakRssMiB();
    for (let r = 0; r < RUNS; r++) {
      const { dir, cleanup } = tempDir('arbiter-bench-lf-');
      const store = await createEmbeddedStore({ dir, autocompactMs: 0 });
      try {
        const monitorStore = await createMonitorStore(store);
        const now = new Date(t0);
        const seeded: ScoredItemDoc[] = [];
        for (let i = 0; i < ALREADY; i++) {
          const itemId = `obs-${i * 5}`;
          seeded.push({
            _id: scoredKey('langfuse', monitor.name, itemId),
            monitor: monitor.name,
            source: 'langfuse',
            itemId,
            tickTime: now,
            scoredAt: now,
            scores: [],
            published: true,
            input: '',
            output: '',
          });
        }
        await monitorStore.seedScored(seeded);
        const clock = createManualClock(until);
        const s = performance.now();
        lastTick = await runTick(monitor, until, {
          store: monitorStore,
          leases: await createLeases(store, { clock }),
          transport: createRecordingTransport(),
          clock,
          owner: 'bench',
          langfuse: client(),
          langfuseBaseUrl: base,
        });
        tickMs.push(performance.now() - s);
        if (lastTick.status !== 'succeeded') throw new Error(`tick ${lastTick.status}`);
      } finally {
        await store.close();
        cleanup();
      }
    }
    const tick = lastTick?.status === 'succeeded' ? lastTick : undefined;
    return report(
      'monitors: one Langfuse tick, 10,000 real-shaped v2 observations (~8 KB of string I/O each)',
      {
        'pages per read (1,000 each)': readRequests,
        'MiB of JSON per read': readBytes / 1024 / 1024,
        'read only, median (ms)': median(readMs),
        'read only: records/s (fetch+decode+own-filter)': (N / median(readMs)) * 1000,
        'whole tick, median (ms)': median(tickMs),
        'whole tick: records/s (fetch+extract+dedup+sample 100+score)': (N / median(tickMs)) * 1000,
        'tick / read': median(tickMs) / median(readMs),
        'records read': tick?.read ?? 0,
        'already scored (dedup)': tick?.alreadyScored ?? 0,
        'items scored': tick?.scored ?? 0,
        'peak RSS at start (MiB)': rssStart,
        'peak RSS after reads (MiB)': rssAfterRead,
        'peak RSS after ticks (MiB)': peakRssMiB(),
      },
    );
  } finally {
    server.close();
  }
}

if (isMain(import.meta.url)) await run();
