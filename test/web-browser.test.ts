// The report pages in a real browser: Debian's Chromium driven by playwright-core against a bot started here (real
// store, real HTTP server, real runs). A person opens the run page, clicks the filters and searches; the review,
// comparison, monitor, leaderboard and overview pages open with their charts drawn; hostile answers never run; the
// CSP refuses nothing of ours; the run page fits a phone. A screenshot of each page is written under the test's
// temporary folder. Without Chromium the tests are skipped with a line saying so.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportPaths } from '../config/index.ts';
import { tempDir } from './helpers/tmp.ts';
import { waitUntil } from './helpers/wait.ts';
import { startWebBot, type WebBot } from './helpers/web-bot.ts';

/** Where Debian's chromium package puts the browser (CHROMIUM_PATH overrides). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM_PATH);
if (!hasChromium)
  console.log(
    `web-browser tests skipped: no Chromium at ${CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH)`,
  );

/** The flags a closed network needs: no sandbox (root in CI), no GPU, nothing phoning home. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** A fresh Chromium profile in `dir`. */
export function launchChromium(dir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
  });
}

describe.skipIf(!hasChromium)('report pages in Chromium', () => {
  let w: WebBot;
  let context: BrowserContext;
  let shots: string;
  let cleanup: () => void;
  const problems: string[] = [];

  beforeAll(async () => {
    const tmp = tempDir('arbiter-web-browser-');
    cleanup = tmp.cleanup;
    shots = join(tmp.dir, 'screenshots');
    mkdirSync(shots);
    w = await startWebBot();
    context = await launchChromium(tmp.dir);
    // Anything the page logs as an error (a CSP refusal, a script error) or any request leaving the bot.
    context.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    context.on('weberror', (e) => problems.push(String(e.error())));
    context.on('response', (r) => {
      if (r.status() >= 400) problems.push(`${r.status()} from ${r.url()}`);
    });
    context.on('request', (r) => {
      if (!r.url().startsWith(w.bot.url) && !r.url().startsWith('data:'))
        problems.push(`request to ${r.url()}`);
    });
  }, 120_000);
  afterAll(async () => {
    await context?.close();
    await w?.stop();
    console.log(`web-browser screenshots were in ${shots} (removed with the temporary folder)`);
    cleanup?.();
  });

  async function open(path: string, shot: string): Promise<Page> {
    const page = await context.newPage();
    const res = await page.goto(`${w.bot.url}${w.bot.links.sign(path)}`);
    expect(res?.status()).toBe(200);
    await page.waitForLoadState('load');
    await page.screenshot({ path: join(shots, `${shot}.png`), fullPage: true });
    // Every chart image decoded (a broken data URI has no natural width).
    const charts = await page.$$eval('img.chart', (imgs) =>
      imgs.map((i) => (i as unknown as { naturalWidth: number }).naturalWidth),
    );
    for (const width of charts) expect(width).toBeGreaterThan(0);
    return page;
  }

  const visibleStates = (page: Page) =>
    page.$$eval('#items > .item', (rows) =>
      rows
        .filter((r) => !(r as unknown as { hidden: boolean }).hidden)
        .map((r) => r.getAttribute('data-state')),
    );

  it('the run page: click a filter, search, and see only the matching items', async () => {
    const page = await open(reportPaths.run(w.sloppy._id), 'run');
    await expect(page.locator('h1').textContent()).resolves.toBe('sloppy');
    await expect(page.locator('#count').textContent()).resolves.toBe('Showing 6 of 6 items');
    expect(await visibleStates(page)).toHaveLength(6);

    await page.getByRole('button', { name: 'Errored' }).click();
    await expect(page.locator('#count').textContent()).resolves.toBe('Showing 1 of 6 items');
    expect(await visibleStates(page)).toEqual(['errored']);
    // Open the errored item: its error is what a person reads.
    await page.locator('#items > .item:not([hidden]) > summary').click();
    await expect(page.getByText('the row has no recorded `output`').isVisible()).resolves.toBe(true);
    await page.screenshot({ path: join(shots, 'run-errored.png'), fullPage: true });

    await page.getByRole('button', { name: 'Failing' }).click();
    const failing = await visibleStates(page);
    expect(failing.length).toBeGreaterThan(0);
    expect(new Set(failing)).toEqual(new Set(['failed']));
    await expect(page.getByRole('button', { name: 'Failing' }).getAttribute('aria-pressed')).resolves.toBe(
      'true',
    );

    await page.getByRole('button', { name: 'All' }).click();
    await page.getByRole('searchbox', { name: 'Search' }).fill('italy');
    await waitUntil(
      async () => (await page.locator('#count').textContent()) === 'Showing 1 of 6 items',
      5000,
    );
    await expect(page.locator('#items > .item:not([hidden]) .key').textContent()).resolves.toContain('q1');

    // The metric filter keeps the items the metric scored.
    await page.getByRole('searchbox', { name: 'Search' }).fill('');
    await waitUntil(
      async () => (await page.locator('#count').textContent()) === 'Showing 6 of 6 items',
      5000,
    );
    await page.getByRole('combobox', { name: 'Metric' }).selectOption('refusal');
    await expect(page.locator('#count').textContent()).resolves.toBe('Showing 5 of 6 items');
    await page.screenshot({ path: join(shots, 'run-filtered.png'), fullPage: true });

    // The hostile answer is shown as text and never ran.
    await page.getByRole('combobox', { name: 'Metric' }).selectOption('');
    await page.getByRole('searchbox', { name: 'Search' }).fill('pwned');
    await waitUntil(
      async () => (await page.locator('#count').textContent()) === 'Showing 1 of 6 items',
      5000,
    );
    await page.locator('#items > .item:not([hidden]) > summary').click();
    await expect(page.locator('#items > .item:not([hidden]) pre').first().textContent()).resolves.toContain(
      '<script>window.__pwned=1</script>',
    );
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    await page.close();
  });

  it('the run page fits a phone', async () => {
    const page = await context.newPage();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${w.bot.url}${w.bot.links.sign(reportPaths.run(w.sloppy._id))}`);
    await page.screenshot({ path: join(shots, 'run-phone.png'), fullPage: true });
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(1);
    await page.close();
  });

  it('the comparison, review, monitor, leaderboard and overview pages open with their charts', async () => {
    const compare = await open(reportPaths.compare(w.sloppy._id, w.careful._id), 'compare');
    await expect(compare.locator('#regressions').isVisible()).resolves.toBe(true);
    await compare.close();

    await w.bot.submitCommand(`review ${w.careful._id} ${w.sloppy._id}`);
    const { review } = await waitUntil(async () =>
      (await w.bot.reviews.list()).find((r) => r.review.status === 'open'),
    );
    const blind = await open(reportPaths.review(review._id), 'review-blind');
    const blindText = (await blind.locator('body').textContent()) ?? '';
    for (const secret of ['careful', 'sloppy', w.careful._id, w.sloppy._id])
      expect(blindText).not.toContain(secret);
    await blind.close();
    await w.bot.submitCommand(`review close ${review._id}`);
    await waitUntil(async () => (await w.bot.reviews.get(review._id))?.status === 'closed');
    const closed = await open(reportPaths.review(review._id), 'review');
    await expect(closed.locator('#reveal').textContent()).resolves.toContain('careful');
    // A revealed contender links to its run's page, which opens.
    await closed.locator('#reveal a').first().click();
    await closed.waitForLoadState('load');
    await expect(closed.locator('h1').textContent()).resolves.toMatch(/careful|sloppy/);
    await closed.close();

    await w.bot.submitCommand('monitor run web-mon');
    await waitUntil(
      async () => (await w.bot.store.collection('monitor_ticks').then((c) => c.count({}))) > 0,
      30_000,
    );
    const monitor = await open(reportPaths.monitor('web-mon'), 'monitor');
    await expect(monitor.locator('img.chart').count()).resolves.toBe(1);
    await expect(monitor.locator('#latest .item').count()).resolves.toBe(3);
    await monitor.close();

    const board = await open(reportPaths.leaderboard(), 'leaderboard');
    await expect(board.locator('#ratings').textContent()).resolves.toContain('careful');
    await board.close();
    const overview = await open(reportPaths.overview(), 'overview');
    await expect(overview.locator('#runs a').count()).resolves.toBe(2);
    await overview.close();

    expect(problems).toEqual([]);
    // This bot has no PUBLIC_URL: its messages carry no Open report button.
    expect(w.out()).not.toContain('Open report');
  });
});
