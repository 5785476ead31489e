// The report pages served by a running bot (real store, real HTTP server, real runs, review and monitor tick):
// signed links (forged, tampered, expired → 403; missing object → 404), user content escaped exactly once, the
// strict CSP, a review blind until it closes, and the *Open report* buttons on the messages when PUBLIC_URL is set.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReportLinks, reportPaths } from '../config/index.ts';
import { LINK_REFUSED, REPORT_CSP } from '../web/routes.ts';
import { getPage, HOSTILE, HOSTILE_ESCAPED, startWebBot, type WebBot } from './helpers/web-bot.ts';
import { waitUntil } from './helpers/wait.ts';

const PUBLIC_URL = 'https://arbiter.example.test';

describe('report pages on the running bot', () => {
  let w: WebBot;
  beforeAll(async () => {
    w = await startWebBot({ PUBLIC_URL });
  }, 120_000);
  afterAll(async () => {
    await w?.stop();
  });

  it('the run page shows every item with its scores and reasons, hostile content escaped exactly once', async () => {
    const page = await getPage(w.bot, reportPaths.run(w.sloppy._id));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBe(REPORT_CSP);
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    // Six items, each in the list, with the metrics' reasons.
    expect(page.text.match(/<details class="item"/g)).toHaveLength(6);
    expect(page.text).toContain('data-state="errored"');
    expect(page.text).toContain('data-state="failed"');
    expect(page.text).toContain('the row has no recorded `output`');
    // The hostile answer and expected text, escaped once: no live markup, no double escaping.
    expect(page.text).toContain(HOSTILE_ESCAPED);
    expect(page.text).not.toContain('<script>window');
    expect(page.text).not.toContain('<img src=x');
    expect(page.text).not.toContain('&amp;lt;');
    expect(page.text.includes('\u0007') || page.text.includes('\u001b')).toBe(false);
    // Scripts only from the bot: the one script tag is ours, no inline script or style.
    expect(page.text.match(/<script/g)).toHaveLength(1);
    expect(page.text).toContain('<script src="/assets/report.js" defer></script>');
    expect(page.text).not.toMatch(/ style="/);
    // Per-metric distributions drawn on the server.
    expect(page.text.match(/<img class="chart" alt="Distribution of /g)?.length).toBeGreaterThanOrEqual(2);
    // A signed link to the comparison with the other run of the suite is there only when the suite has one.
    expect(page.text).not.toContain('/compare/');
    // History: the run's audit records, here its launch from the console prompt.
    expect(page.text).toMatch(
      /<h2>History<\/h2>.*<tr><td>[^<]+ UTC<\/td><td>console<\/td><td>console<\/td><td>Launched sloppy \(6 items\)<\/td><\/tr>/s,
    );
  });

  it('the comparison page lists regressions first', async () => {
    const page = await getPage(w.bot, reportPaths.compare(w.sloppy._id, w.careful._id));
    expect(page.status).toBe(200);
    expect(page.text.indexOf('<h2>Regressions</h2>')).toBeLessThan(
      page.text.indexOf('<h2>Improvements</h2>'),
    );
    expect(page.text).toContain('id="regressions"');
    expect(page.text).toContain('Capital of Italy?');
  });

  it('a forged, tampered, expired or unsigned link gets 403 and only says so; a missing object gets 404', async () => {
    const path = reportPaths.run(w.careful._id);
    const signed = w.bot.links.sign(path);
    const sig = new URL(`http://x${signed}`).searchParams.get('sig')!;
    const exp = new URL(`http://x${signed}`).searchParams.get('exp')!;
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    const cases = [
      path, // unsigned
      `${path}?exp=${exp}&sig=${flip(sig)}`, // forged signature
      `${reportPaths.run(w.sloppy._id)}?exp=${exp}&sig=${sig}`, // another object with this link's signature
      `${path}?exp=${Number(exp) + 1}&sig=${sig}`, // expiry pushed
      `${path}?exp=${exp}`, // signature removed
      createReportLinks({ secret: 'another-secret-of-enough-length', ttlMs: 60_000 }).sign(path), // another key
    ];
    for (const url of cases) {
      const page = await getPage(w.bot, url, { raw: true });
      expect(page.status, url).toBe(403);
      expect(page.text).toContain(LINK_REFUSED);
      expect(page.text).not.toContain(w.careful._id);
      expect(page.text).not.toContain('careful');
    }
    // Expired: signed with a validity already over.
    const expired = w.bot.links.sign(path, -1000);
    const page = await getPage(w.bot, expired, { raw: true });
    expect(page.status).toBe(403);
    expect(page.text).toContain(LINK_REFUSED);
    // A good link to nothing: 404.
    const missing = await getPage(w.bot, reportPaths.run('run_does_not_exist'));
    expect(missing.status).toBe(404);
    expect(missing.text).toContain('There is no run at this link');
    // Assets are public and carry the same policy.
    const js = await getPage(w.bot, '/assets/report.js', { raw: true });
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
  });

  it('a review page is blind until the review closes, then shows the reveal, the ratings chart and the votes', async () => {
    const before = w.out().length;
    await w.bot.submitCommand(`review ${w.careful._id} ${w.sloppy._id}`);
    const review = await waitUntil(async () =>
      (await w.bot.reviews.list()).find((r) => r.review.status === 'open'),
    );
    const id = review.review._id;
    // Vote A on every ballot but the last (so the review stays open), as a reviewer clicking would.
    const ballots = await waitUntil(() => {
      const found = [
        ...w
          .out()
          .slice(before)
          .matchAll(/\[(\d+)\] A is better/g),
      ].map((m) => Number(m[1]));
      return found.length === 5 ? found : undefined;
    });
    for (const n of ballots.slice(0, 4)) expect((await w.bot.clickButton!(n)).ok).toBe(true);
    const votes = await waitUntil(async () => {
      const v = await w.bot.reviews.repository.votes(id);
      return v.length === 4 ? v : undefined;
    });
    const pair = (await w.bot.reviews.repository.pairs(id)).find((p) => p._id === votes[0]!.pairId)!;
    await w.bot.reviews.addReason(pair.token, votes[0]!.user, `because ${HOSTILE}`);
    const blind = await getPage(w.bot, reportPaths.review(id));
    expect(blind.status).toBe(200);
    expect(blind.text).toContain(`Blind review ${id}`);
    for (const secret of [
      w.careful._id,
      w.sloppy._id,
      'careful',
      'sloppy',
      HOSTILE_ESCAPED,
      'Rome',
      'Jupiter',
    ])
      expect(blind.text, secret).not.toContain(secret);
    // Its History is there (the create and four votes) and, like the rest of the blind page, names no contender.
    expect(blind.text).toContain('<td>Opened a blind review of 2 runs</td>');
    expect(blind.text.match(/<td>Voted &quot;A is better&quot; on pair \d+<\/td>/g)).toHaveLength(4);
    // Closed by hand: the same page now reveals.
    await w.bot.submitCommand(`review close ${id}`);
    await waitUntil(async () => (await w.bot.reviews.get(id))?.status === 'closed');
    const open = await getPage(w.bot, reportPaths.review(id));
    expect(open.status).toBe(200);
    expect(open.text).toContain('id="reveal"');
    expect(open.text).toContain('careful');
    expect(open.text).toContain('sloppy');
    expect(open.text).toContain(w.bot.links.sign(reportPaths.run(w.careful._id)).split('?')[0]);
    expect(open.text).toMatch(/<img class="chart" alt="Ratings with intervals/);
    expect(open.text).not.toContain('<script>window');
    expect(open.text).toContain(`because ${HOSTILE_ESCAPED}`);
    expect(open.text).toContain('<b>4 of 5</b><span>votes</span>');
    const board = await getPage(w.bot, reportPaths.leaderboard());
    expect(board.status).toBe(200);
    expect(board.text).toContain('careful');
    expect(board.text).toContain('Pooled over 1 closed review');
  });

  it('the monitor page shows the trend, the alert firing and the latest items, escaped', async () => {
    await w.bot.submitCommand('monitor run web-mon');
    await waitUntil(() => w.out().includes('web-mon'), 30_000);
    const page = await waitUntil(async () => {
      const p = await getPage(w.bot, reportPaths.monitor('web-mon'));
      return p.text.includes('id="latest"') ? p : undefined;
    }, 30_000);
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/<img class="chart" alt="Mean score per tick of no-refusal/);
    expect(page.text).toContain('id="firing"');
    expect(page.text).toContain('I cannot help with that.');
    expect(page.text).toContain(HOSTILE_ESCAPED);
    expect(page.text).not.toContain('<script>window');
    expect((await getPage(w.bot, reportPaths.monitor('no-such-monitor'))).status).toBe(404);
  });

  it('run, review and monitor messages carry an Open report button with a signed PUBLIC_URL link that opens', async () => {
    const out = w.out();
    const urls = [...out.matchAll(/\[ Open report \] (https:\/\/arbiter\.example\.test\/r\/\S+)/g)].map(
      (m) => m[1]!,
    );
    // Two run reports, the review's close report, the monitor's tick report.
    expect(urls.some((u) => u.includes(`/r/runs/${w.careful._id}?`))).toBe(true);
    expect(urls.some((u) => u.includes(`/r/runs/${w.sloppy._id}?`))).toBe(true);
    expect(urls.some((u) => u.includes('/r/reviews/'))).toBe(true);
    expect(urls.some((u) => u.includes('/r/monitors/web-mon?'))).toBe(true);
    for (const u of urls) {
      const local = u.replace(PUBLIC_URL, '');
      const page = await getPage(w.bot, local, { raw: true });
      expect(page.status, local).toBe(200);
    }
    expect(HOSTILE).toContain('<script>');
  });
});
