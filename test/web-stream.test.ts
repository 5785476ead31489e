// The run page is streamed: its head (title, heading, run line) reaches the browser before the run's items are read,
// and the rest follows a chunk at a time; a failure after the head ends the page with a message instead of hanging.
// Real store, real run, real report routes on a real HTTP server; only the items read is held back by the test.
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { afterEach, describe, expect, it } from 'vitest';
import { createReportLinks, reportPaths } from '../config/index.ts';
import { loadSuite, type RunItemView } from '../runs/index.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { createReportRoutes } from '../web/index.ts';
import { drainRun, offlineRunService } from './helpers/runs.ts';
import { tempDir } from './helpers/tmp.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(items: (real: () => Promise<RunItemView[]>) => Promise<RunItemView[]>) {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const store = await createEmbeddedStore({ dir: join(dir, 'data'), autocompactMs: 0 });
  cleanups.push(() => store.close());
  const { svc, queue } = await offlineRunService(store);
  writeFileSync(
    join(dir, 'd.jsonl'),
    Array.from({ length: 600 }, (_, i) =>
      JSON.stringify({ input: `Question ${i}?`, output: `Answer ${i}` }),
    ).join('\n'),
  );
  writeFileSync(
    join(dir, 's.yaml'),
    'name: streamed\ndataset: d.jsonl\ntarget: { type: recorded }\nmetrics: [{ metric: refusal }]\nthreshold: 0.5\n',
  );
  const { runId } = await svc.startRun(loadSuite(join(dir, 's.yaml')));
  await drainRun(queue, svc, runId);
  const links = createReportLinks({ secret: 'a-test-secret-of-enough-length', ttlMs: 60_000 });
  const app = createReportRoutes({
    links,
    runs: {
      getRun: (id) => svc.getRun(id),
      items: (id) => items(() => svc.items(id)),
      listRuns: (o) => svc.listRuns(o),
    },
    reviews: {
      get: async () => null,
      pairs: async () => [],
      votes: async () => [],
      list: async () => [],
      standings: async () => ({ entries: [] }) as never,
    },
    monitors: {
      list: () => [],
      getState: async () => ({}) as never,
      ticks: async () => [],
      latestScored: async () => [],
    },
  });
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((r) => server.once('listening', () => r()));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}${links.sign(reportPaths.run(runId))}`, runId };
}

/** GETs a page, calling `onChunk` with the text received so far after each chunk. */
function get(url: string, onChunk: (soFar: string) => void): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
          onChunk(text);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

describe('the run page is streamed', () => {
  it('sends the head before the items are read, then the whole page', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let itemsRead = false;
    const { url, runId } = await setup(async (real) => {
      await gate;
      itemsRead = true;
      return real();
    });
    let headSeenBeforeItems = false;
    // A page built whole would never send its head while the items are held: let them go after 3 s so the test
    // fails on its assertion instead of timing out.
    const fallback = setTimeout(() => release(), 3000);
    const page = await get(url, (soFar) => {
      if (!itemsRead && soFar.includes('<main>')) {
        headSeenBeforeItems = true;
        expect(soFar).toContain(`Run ${runId}`);
        expect(soFar).not.toContain('<details class="item"');
        release();
      }
    });
    clearTimeout(fallback);
    expect(headSeenBeforeItems).toBe(true);
    expect(page.status).toBe(200);
    expect(page.text.match(/<details class="item"/g)).toHaveLength(600);
    expect(page.text.indexOf('<h1>')).toBeLessThan(page.text.indexOf('<div class="cards">'));
    expect(page.text.trimEnd().endsWith('</body></html>')).toBe(true);
  });

  it('a failure after the head ends the page with a message, not a hang or a half page', async () => {
    const { url } = await setup(async () => {
      throw new Error('store went away');
    });
    const page = await get(url, () => {});
    expect(page.status).toBe(200);
    expect(page.text).toContain('<h1>streamed</h1>');
    expect(page.text).toContain('This page could not be finished');
    expect(page.text).not.toContain('store went away');
    expect(page.text.trimEnd().endsWith('</body></html>')).toBe(true);
  });
});
