// Monitors over real-shaped Langfuse data: one tick over 10,000 v2 observations whose input (JSON chat text) and
// output are raw strings of about 4 KB each, served by a local fake Langfuse in the real shapes
// (test/fixtures/fake-langfuse.ts), 1,000 per page. Measures the read alone (fetch + decode + own-filter) and the
// whole tick (fetch + extract + dedup against 2,000 already-scored items + sample 100 + score + store), with
// records/s and peak RSS. The fake runs in a child process (its rows and rendered pages, ~80 MB of JSON, would
// otherwise count in Arbiter's peak RSS), as the real Langfuse is another service. Medians of 3 runs.
import { fork } from 'node:child_process';
import nock from 'nock';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { createManualClock } from '../../config/runtime.ts';
import { fieldsFor, readObservations } from '../../langfuse/index.ts';
import { createLangfuseClient } from '../../langfuse/client.ts';
import { createMonitorStore, type ScoredItemDoc } from '../../monitors/index.ts';
import { extractPaths } from '../../monitors/extract.ts';
import { MonitorSchema } from '../../monitors/schema.ts';
import { runTick } from '../../monitors/tick.ts';
import { scoredKey } from '../../monitors/store.ts';
import { createRecordingTransport } from '../../prompts/testing.ts';
import { createLeases } from '../../storage/index.ts';
import { createEmbeddedStore } from '../../storage/open.ts';
import { answerObservations, type FakeObservation } from '../fixtures/fake-langfuse.ts';
import { tempDir } from '../helpers/tmp.ts';
import { isMain, median, peakRssMiB, report } from './util.ts';

// The fixture module also holds nock fakes, and importing nock patches the global fetch and http for interception
// (about 3x the CPU per request), which Arbiter in production never pays: switch it off for the measurement.
nock.restore();

const N = 10_000;
const PAGE = 1000;
const ALREADY = 2_000;
const RUNS = 3;
const FAKE_FLAG = 'ARBITER_BENCH_FAKE_LANGFUSE_OBSERVATIONS';
const T0 = Date.parse('2026-11-20T09:00:00Z');
const UNTIL = new Date('2026-11-20T10:00:00Z');

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

/** Serves the rows in the shapes of Langfuse's v2 read; pages are built once, then served from memory. */
async function serveFake(): Promise<string> {
  const data = rows(T0);
  const rendered = new Map<string, { status: number; body: string }>();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    let page = rendered.get(req.url ?? '');
    if (!page) {
      const answer = answerObservations('v4', data, url.pathname, url.searchParams, UNTIL.getTime());
      page = { status: answer.status, body: JSON.stringify(answer.body) };
      rendered.set(req.url ?? '', page);
    }
    res.writeHead(page.status, { 'content-type': 'application/json', 'x-bytes': String(page.body.length) });
    res.end(page.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function startFakeProcess(): Promise<{ url: string; close(): Promise<void> }> {
  const child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, [FAKE_FLAG]: '1' } });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { url: string }).url));
    child.once('error', reject);
  });
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Runs the benchmark and returns its figures. */
export async function run(): Promise<Record<string, number | string>> {
  const t0 = T0;
  const until = UNTIL;
  const rssStart = peakRssMiB();
  const fake = await startFakeProcess();
  const base = fake.url;
  let requests = 0;
  let bytes = 0;
  // Counts what Arbiter fetched (requests and JSON bytes) at the fetch boundary.
  const countingFetch: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    requests += 1;
    bytes += Number(res.headers.get('x-bytes') ?? 0);
    return res;
  };
  const monitor = MonitorSchema.parse({
    name: 'bench-lf',
    schedule: { every: '1h' },
    source: { type: 'langfuse', pageSize: PAGE, groupBy: 'observation', lookback: '2h' },
    extract: { input: 'input[-1].content', output: 'output', metadata: { plan: 'metadata.plan' } },
    sample: { strategy: 'most-recent', n: 100 },
    metrics: [{ metric: 'length', args: { max: 2000 } }, { metric: 'refusal' }],
    publish: { channel: '#bench' },
  });
  const client = () =>
    createLangfuseClient({
      baseUrl: base,
      publicKey: 'pk',
      secretKey: 'sk',
      timeoutMs: 60_000,
      fetch: countingFetch,
    });
  const readMs: number[] = [];
  const tickMs: number[] = [];
  let lastTick: Awaited<ReturnType<typeof runTick>> | undefined;
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
        'peak RSS at start (MiB, Arbiter process)': rssStart,
        'peak RSS after reads (MiB)': rssAfterRead,
        'peak RSS after ticks (MiB)': peakRssMiB(),
      },
    );
  } finally {
    await fake.close();
  }
}

if (process.env[FAKE_FLAG]) {
  const url = await serveFake();
  process.send?.({ url });
  process.once('SIGTERM', () => process.exit(0));
} else if (isMain(import.meta.url)) await run();
