// The run page of a 10,000-item run: a real run (recorded target, offline metrics) in an embedded store, the report
// routes on a real HTTP server. Server side: time to first byte and page weight (raw and gzip), median of 5. In
// Chromium (when /usr/bin/chromium is there): each filter button clicked and timed until the next frame has been
// laid out (rAF, then a task), median and worst of 5 rounds, plus the script's own filter time for a search.
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { chromium } from 'playwright-core';
import { createReportLinks, reportPaths } from '../../config/index.ts';
import { loadSuite } from '../../runs/index.ts';
import { createWorker } from '../../storage/index.ts';
import { createEmbeddedStore } from '../../storage/open.ts';
import { createReportRoutes } from '../../web/index.ts';
import { offlineRunService } from '../helpers/runs.ts';
import { tempDir } from '../helpers/tmp.ts';
import { isMain, median, report } from './util.ts';

const ITEMS = 10_000;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function dataset(): string {
  const rows: string[] = [];
  for (let i = 0; i < ITEMS; i++) {
    const refuse = i % 7 === 0;
    rows.push(
      JSON.stringify({
        id: `item-${i}`,
        input: `Customer ${i} asks: how do I change the delivery address of order ${1000 + i} after it shipped?`,
        expected: 'Contact support within 24 hours; the carrier can redirect the parcel.',
        // Every 97th row has no output: the recorded target errors on it.
        ...(i % 97 === 0
          ? {}
          : {
              output: refuse
                ? 'I cannot help with that request.'
                : `You can change the address of order ${1000 + i} by contacting support within 24 hours; the carrier can usually redirect the parcel to a new address.`,
            }),
      }),
    );
  }
  return `${rows.join('\n')}\n`;
}

function timeRequest(
  url: string,
  gzip: boolean,
): Promise<{ ttfbMs: number; totalMs: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let ttfb = 0;
    let bytes = 0;
    const req = http.get(url, { headers: gzip ? { 'accept-encoding': 'gzip' } : {} }, (res) => {
      res.once('data', () => {
        ttfb = performance.now() - t0;
      });
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
        else resolve({ ttfbMs: ttfb, totalMs: performance.now() - t0, bytes });
      });
    });
    req.on('error', reject);
  });
}

export async function run(): Promise<Record<string, number | string>> {
  const { dir, cleanup } = tempDir('arbiter-bench-web-');
  writeFileSync(join(dir, 'data.jsonl'), dataset());
  writeFileSync(
    join(dir, 'suite.yaml'),
    'name: web-bench\ndataset: ./data.jsonl\ntarget:\n  type: recorded\nmetrics:\n  - metric: refusal\n  - metric: length\n    args: { max: 140 }\nthreshold:\n  score: 0.5\n',
  );
  const store = await createEmbeddedStore({ dir: join(dir, 'data'), autocompactMs: 0 });
  const server = { close: () => {} } as { close: () => void };
  try {
    const { queue, svc } = await offlineRunService(store);
    const t0 = performance.now();
    const { runId } = await svc.startRun(loadSuite(join(dir, 'suite.yaml')));
    const worker = createWorker({
      queue,
      handlers: svc.handlers,
      concurrency: 1,
      leaseMs: 120_000,
      pollMs: 5,
    });
    worker.start();
    for (;;) {
      const r = await svc.getRun(runId);
      if (r && ['completed', 'failed', 'cancelled'].includes(r.status)) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    await worker.stop(0);
    const runSeconds = (performance.now() - t0) / 1000;

    const links = createReportLinks({ secret: 'bench-secret-of-enough-length', ttlMs: 3_600_000 });
    const app = createReportRoutes({
      links,
      runs: {
        getRun: (id) => svc.getRun(id),
        items: (id) => svc.items(id),
        listRuns: (o) => svc.listRuns(o),
      },
      reviews: {
        get: async () => null,
        pairs: async () => [],
        votes: async () => [],
        list: async () => [],
        standings: async () => {
          throw new Error('not used');
        },
      },
      monitors: {
        list: () => [],
        getState: async () => {
          throw new Error('not used');
        },
        ticks: async () => [],
        latestScored: async () => [],
      },
    });
    const s = await new Promise<ReturnType<typeof serve>>((resolve) => {
      const srv = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(srv));
    });
    server.close = () => s.close();
    const base = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    const url = `${base}${links.sign(reportPaths.run(runId))}`;

    await timeRequest(url, false); // warm-up (ECharts loads on first use)
    const raw: Awaited<ReturnType<typeof timeRequest>>[] = [];
    const gz: Awaited<ReturnType<typeof timeRequest>>[] = [];
    for (let i = 0; i < 5; i++) {
      raw.push(await timeRequest(url, false));
      gz.push(await timeRequest(url, true));
    }
    const figures: Record<string, number | string> = {
      items: ITEMS,
      'run of 10,000 recorded items (s)': runSeconds,
      'server TTFB, median of 5 (ms)': median(raw.map((r) => r.ttfbMs)),
      'server full response, median of 5 (ms)': median(raw.map((r) => r.totalMs)),
      'page weight raw (MiB)': raw[0]!.bytes / 1024 / 1024,
      'page weight gzip (MiB)': gz[0]!.bytes / 1024 / 1024,
      'server TTFB with gzip, median of 5 (ms)': median(gz.map((r) => r.ttfbMs)),
    };

    if (!existsSync(CHROMIUM)) {
      figures['browser filter'] = `skipped: no Chromium at ${CHROMIUM}`;
      return report('web: run page of a 10,000-item run', figures);
    }
    const context = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
      viewport: { width: 1280, height: 900 },
    });
    try {
      const page = await context.newPage();
      const tLoad = performance.now();
      await page.goto(url, { waitUntil: 'load', timeout: 300_000 });
      figures['browser load to "load" event (ms)'] = performance.now() - tLoad;
      const times: Record<string, number[]> = { failing: [], errored: [], review: [], all: [] };
      const scriptTimes: Record<string, number[]> = { failing: [], errored: [], review: [], all: [] };
      for (let round = 0; round < 5; round++) {
        for (const filter of Object.keys(times)) {
          // From the click to the next frame laid out with the new visibility.
          const ms = await page.evaluate(
            `new Promise((resolve) => {
              const t0 = performance.now();
              document.querySelector('button[data-filter="${filter}"]').click();
              requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0), 0));
            })`,
          );
          times[filter]!.push(ms as number);
          scriptTimes[filter]!.push(
            Number(await page.evaluate(`document.getElementById('items').getAttribute('data-filter-ms')`)),
          );
        }
      }
      for (const [filter, list] of Object.entries(times)) {
        figures[`filter "${filter}" click→next frame, median (ms)`] = median(list);
        figures[`filter "${filter}" click→next frame, worst (ms)`] = Math.max(...list);
        figures[`filter "${filter}" script time, median (ms)`] = median(scriptTimes[filter]!);
      }
      // *Show more* puts the next 200 matching items on screen.
      const moreMs = await page.evaluate(
        `new Promise((resolve) => {
          const t0 = performance.now();
          document.getElementById('more').click();
          requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0), 0));
        })`,
      );
      figures['"show more" click→next frame (ms)'] = moreMs as number;
      figures['items on screen after "show more"'] = Number(
        await page.evaluate(`document.querySelectorAll('#items > .item:not([hidden])').length`),
      );
      const shown = await page.evaluate(`document.getElementById('count').textContent`);
      figures['count after "all"'] = String(shown);
      // A search: the script's own time to apply it (the input is debounced 120 ms before that).
      await page.fill('input[data-search]', 'order 1234 ');
      // Polled with evaluate: waitForFunction compiles its predicate in the page, which the CSP refuses (no eval).
      for (;;) {
        const count = String(await page.evaluate(`document.getElementById('count').textContent`));
        if (count !== `Showing ${ITEMS} of ${ITEMS} items`) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      figures['search apply, script time (ms)'] = Number(
        await page.evaluate(`document.getElementById('items').getAttribute('data-filter-ms')`),
      );
      figures['count after search'] = String(
        await page.evaluate(`document.getElementById('count').textContent`),
      );
    } finally {
      await context.close();
    }
    return report('web: run page of a 10,000-item run', figures);
  } finally {
    server.close();
    await store.close();
    cleanup();
  }
}

if (isMain(import.meta.url)) await run();
