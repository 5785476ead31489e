// Monitors: one tick over 10,000 new observations (100 pages from a local fake Langfuse) against 200,000
// already-scored keys in the embedded store, sampling 500, offline metrics, scores published to the fake.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createManualClock } from '../../config/runtime.ts';
import { createLangfuseClient } from '../../langfuse/client.ts';
import { createMonitorStore, type ScoredItemDoc } from '../../monitors/index.ts';
import { MonitorSchema } from '../../monitors/schema.ts';
import { runTick } from '../../monitors/tick.ts';
import { scoredKey } from '../../monitors/store.ts';
import { createRecordingTransport } from '../../prompts/testing.ts';
import { createLeases } from '../../storage/index.ts';
import { createEmbeddedStore } from '../../storage/open.ts';
import { tempDir } from '../helpers/tmp.ts';
import { isMain, peakRssMiB, report } from './util.ts';

const PAGES = 100;
const PER_PAGE = 100;
const SCORED = 200_000;
/** Of the 10,000 observations, this many were scored by an earlier tick. */
const OVERLAP = 2_000;

/** Runs the monitors benchmark and returns its figures. */
export async function run(): Promise<Record<string, number | string>> {
  const { dir, cleanup } = tempDir('arbiter-bench-');
  const t0 = Date.parse('2026-11-20T09:00:00Z');
  let getRequests = 0;
  let postRequests = 0;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'POST') {
      postRequests += 1;
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: JSON.parse(body).id }));
      });
      return;
    }
    getRequests += 1;
    const page = Number(url.searchParams.get('cursor') ?? 0);
    const data = Array.from({ length: PER_PAGE }, (_, i) => {
      const n = page * PER_PAGE + i;
      return {
        id: `obs-${n}`,
        traceId: `tr-${n}`,
        type: 'GENERATION',
        startTime: new Date(t0 + n * 100).toISOString(),
        endTime: null,
        projectId: 'p',
        parentObservationId: null,
        // v2 returns input/output as raw strings (JSON text for structured values).
        input: JSON.stringify([
          { role: 'user', content: `Question number ${n}: how do I reset my password?` },
        ]),
        output:
          n % 17 === 0
            ? "I'm sorry, I can't help with that."
            : `Answer ${n}: use the reset link on the sign-in page.`,
      };
    });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ data, meta: page + 1 < PAGES ? { cursor: String(page + 1) } : {} }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const store = await createEmbeddedStore({ dir, autocompactMs: 0 });
  try {
    const monitorStore = await createMonitorStore(store);
    const seedStart = performance.now();
    const batch: ScoredItemDoc[] = [];
    const now = new Date(t0);
    for (let i = 0; i < SCORED; i++) {
      const itemId = i < OVERLAP ? `obs-${i * 5}` : `old-${i}`;
      batch.push({
        _id: scoredKey('langfuse', 'bench', itemId),
        monitor: 'bench',
        source: 'langfuse',
        itemId,
        tickTime: now,
        scoredAt: now,
        scores: [],
        published: true,
        input: '',
        output: '',
      });
      if (batch.length === 10_000) await monitorStore.seedScored(batch.splice(0));
    }
    const seedMs = performance.now() - seedStart;
    const monitor = MonitorSchema.parse({
      name: 'bench',
      schedule: { every: '1h' },
      source: { type: 'langfuse', pageSize: PER_PAGE, groupBy: 'observation', lookback: '2h' },
      extract: { input: 'input[-1].content', output: 'output' },
      sample: { strategy: 'random', n: 500 },
      metrics: [{ metric: 'refusal' }, { metric: 'pii' }, { metric: 'length', args: { max: 200 } }],
      publish: { channel: '#bench', langfuse: true },
    });
    const clock = createManualClock('2026-11-20T10:00:00Z');
    const rssBefore = peakRssMiB();
    const start = performance.now();
    const out = await runTick(monitor, clock.now(), {
      store: monitorStore,
      leases: await createLeases(store, { clock }),
      transport: createRecordingTransport(),
      clock,
      owner: 'bench',
      langfuse: createLangfuseClient({ baseUrl: base, publicKey: 'pk', secretKey: 'sk' }),
      langfuseBaseUrl: base,
      concurrency: 8,
    });
    const ms = performance.now() - start;
    if (out.status !== 'succeeded') throw new Error(`tick ${out.status}: ${'error' in out ? out.error : ''}`);
    return report('monitors: one tick, 10,000 observations vs 200,000 scored keys, sample 500', {
      'seed 200k scored keys (ms)': seedMs,
      'tick duration (ms)': ms,
      'observations read': out.read,
      'already scored (skipped)': out.alreadyScored,
      'items scored': out.scored,
      'scores published': out.published,
      'observations/s (read+dedup+sample+score)': (out.read / ms) * 1000,
      'GET pages': getRequests,
      'POST scores': postRequests,
      'peak RSS before tick (MiB)': rssBefore,
      'peak RSS after tick (MiB)': peakRssMiB(),
    });
  } finally {
    await store.close();
    server.close();
    cleanup();
  }
}

if (isMain(import.meta.url)) await run();
