// Signed report links and the one HTML escape: a link verifies only for its path and expiry under its key, expires,
// and cannot be bent to another object; the stored key survives a restart; `--link` prints a URL the bot accepts;
// hostile text is escaped exactly once with control characters made visible.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../cli/run-cli.ts';
import { dispatch, type DispatchDeps, parseCommand } from '../commands/index.ts';
import { loadSuite } from '../runs/index.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { drainRun, offlineRunService } from './helpers/runs.ts';
import { OPEN_REPORT_ACTION_ID } from '../chat/index.ts';
import { createReportLinks, createSilentLogger, parseEnv, reportPaths } from '../config/index.ts';
import { openStore } from '../storage/index.ts';
import { createReportRoutes } from '../web/index.ts';
import { escapeHtml, html } from '../web/html.ts';
import { resolveLinkSecret } from '../web/secret.ts';
import { tempDir } from './helpers/tmp.ts';
import { captureCliIo } from './helpers/cli-io.ts';

const SECRET = 'a-test-secret-of-enough-length';

describe('signed report links', () => {
  it('verify for their own path and expiry only, and expire', () => {
    let now = 1_800_000_000_000;
    const links = createReportLinks({ secret: SECRET, ttlMs: 60_000, clock: { nowMs: () => now } });
    const path = reportPaths.run('run_1');
    const signed = links.sign(path);
    const q = new URL(`http://x${signed}`).searchParams;
    expect(q.get('exp')).toBe(String((now + 60_000) / 1000));
    expect(links.verify(path, q.get('exp')!, q.get('sig')!)).toBe('ok');
    expect(links.verify(reportPaths.run('run_2'), q.get('exp')!, q.get('sig')!)).toBe('invalid');
    expect(links.verify(path, String(Number(q.get('exp')) + 1), q.get('sig')!)).toBe('invalid');
    expect(links.verify(path, q.get('exp')!, `${q.get('sig')!.slice(0, -1)}A`)).not.toBe('ok');
    expect(links.verify(path, q.get('exp')!, undefined)).toBe('invalid');
    expect(links.verify(path, undefined, q.get('sig')!)).toBe('invalid');
    expect(links.verify(path, '1e99', q.get('sig')!)).toBe('invalid');
    expect(links.verify(path, q.get('exp')!, 'short')).toBe('invalid');
    const other = createReportLinks({
      secret: `${SECRET}-other`,
      ttlMs: 60_000,
      clock: { nowMs: () => now },
    });
    expect(other.verify(path, q.get('exp')!, q.get('sig')!)).toBe('invalid');
    // One second before the expiry it is good; at the expiry it has expired.
    now += 59_000;
    expect(links.verify(path, q.get('exp')!, q.get('sig')!)).toBe('ok');
    now += 1000;
    expect(links.verify(path, q.get('exp')!, q.get('sig')!)).toBe('expired');
  });

  it('are absolute under PUBLIC_URL only; the local form uses the given base', () => {
    const withPublic = createReportLinks({
      secret: SECRET,
      ttlMs: 1000,
      publicUrl: 'https://a.example.test/',
    });
    expect(withPublic.publicUrl('/r/leaderboard')).toMatch(
      /^https:\/\/a\.example\.test\/r\/leaderboard\?exp=\d+&sig=/,
    );
    const without = createReportLinks({ secret: SECRET, ttlMs: 1000 });
    expect(without.publicUrl('/r/leaderboard')).toBeUndefined();
    expect(without.url('/r/leaderboard', 'http://127.0.0.1:3000')).toMatch(
      /^http:\/\/127\.0\.0\.1:3000\/r\/leaderboard\?/,
    );
    // Ids are path segments, encoded: a slash or a query in an id cannot reach another route.
    expect(reportPaths.run('a/b?c')).toBe('/r/runs/a%2Fb%3Fc');
  });
});

describe('the link key and arbiter … --link', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  it('a random key is created once in the store and kept across restarts; a configured one wins', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const env = parseEnv({ DATA_DIR: join(dir, 'data') });
    const first = await openStore(env, { logger: createSilentLogger() });
    const key = await resolveLinkSecret(first);
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await resolveLinkSecret(first)).toBe(key);
    await first.close();
    const second = await openStore(env, { logger: createSilentLogger() });
    expect(await resolveLinkSecret(second)).toBe(key);
    expect(await resolveLinkSecret(second, 'configured-secret-value')).toBe('configured-secret-value');
    await second.close();
  });

  it('runs show <id> --link prints a signed URL for the run; a missing run is exit 2', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const suites = join(dir, 'suites');
    mkdirSync(suites);
    writeFileSync(
      join(suites, 's.jsonl'),
      `${JSON.stringify({ id: 'q0', input: 'Hi?', output: 'Hello' })}\n`,
    );
    writeFileSync(
      join(suites, 's.yaml'),
      'name: s\ndataset: ./s.jsonl\ntarget:\n  type: recorded\nmetrics:\n  - metric: refusal\nthreshold:\n  score: 0.5\n',
    );
    const env = { DATA_DIR: join(dir, 'data'), PORT: '4010', HOST: '0.0.0.0' };
    const ran = captureCliIo();
    expect(await runCli(['run', join(suites, 's.yaml'), '--json'], env, ran)).toBe(0);
    const id = (JSON.parse(ran.out) as { _id: string })._id;
    expect(id).toMatch(/^run_/);

    const local = captureCliIo();
    expect(await runCli(['runs', 'show', id, '--link'], env, local)).toBe(0);
    expect(local.out.trim()).toMatch(
      new RegExp(`^http://127\\.0\\.0\\.1:4010/r/runs/${id}\\?exp=\\d+&sig=[\\w-]{43}$`),
    );
    expect(local.err).toContain('PUBLIC_URL is not set');

    const both = captureCliIo();
    expect(await runCli(['runs', 'show', id, '--link', '--json'], env, both)).toBe(2);
    expect(both.err).toContain('--json does not go with --link.');
    expect(both.out).toBe('');

    const shared = captureCliIo();
    const withPublic = { ...env, PUBLIC_URL: 'https://arbiter.example.test', REPORT_LINK_SECRET: SECRET };
    expect(await runCli(['runs', 'show', id, '--link'], withPublic, shared)).toBe(0);
    const url = new URL(shared.out.trim());
    expect(url.origin).toBe('https://arbiter.example.test');
    const links = createReportLinks({ secret: SECRET, ttlMs: 1 });
    expect(links.verify(url.pathname, url.searchParams.get('exp')!, url.searchParams.get('sig')!)).toBe('ok');

    // `arbiter run` ends its summary with the run's page: local without PUBLIC_URL (said so), signed under it.
    const summary = captureCliIo();
    expect(await runCli(['run', join(suites, 's.yaml')], env, summary)).toBe(0);
    expect(summary.out).toMatch(
      /\nReport: http:\/\/127\.0\.0\.1:4010\/r\/runs\/run_\S+\?exp=\d+&sig=[\w-]{43} \(local address; set PUBLIC_URL for a shareable link\)\n$/,
    );
    const publicSummary = captureCliIo();
    expect(await runCli(['run', join(suites, 's.yaml'), '--new'], withPublic, publicSummary)).toBe(0);
    const line = publicSummary.out.trim().split('\n').at(-1)!;
    expect(line).toMatch(/^Report: https:\/\/arbiter\.example\.test\/r\/runs\/run_/);
    const reported = new URL(line.slice('Report: '.length));
    expect(
      links.verify(reported.pathname, reported.searchParams.get('exp')!, reported.searchParams.get('sig')!),
    ).toBe('ok');

    const missing = captureCliIo();
    expect(await runCli(['runs', 'show', 'run_nope', '--link'], env, missing)).toBe(2);
    expect(missing.err).toContain('No run with id run_nope');
    const review = captureCliIo();
    expect(await runCli(['review', 'report', 'rev_nope', '--link'], env, review)).toBe(2);
    expect(review.err).toContain('No review with id rev_nope');
  });
});

describe('escapeHtml and the html template', () => {
  const hostile = `<script>alert("x")</script><img src=x onerror='y'> & &amp; \u0000\u0007\u001b[31m\u007f\u0085 ok\r\nline`;

  it('escape markup, quotes and entities once and make control characters visible', () => {
    const out = escapeHtml(hostile);
    expect(out).toBe(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=&#39;y&#39;&gt; &amp; &amp;amp; \u2400\u2407\u241b[31m\ufffd\ufffd ok\nline',
    );
    expect(out).not.toMatch(/[<>"']/);
  });

  it('escape every interpolated value exactly once, and nest without escaping twice', () => {
    const inner = html`<b>${hostile}</b>`;
    const outer = html`<p title="${hostile}">${inner}${[hostile, 1, null, undefined, false]}</p>`;
    expect(outer.text.split(escapeHtml(hostile)).length - 1).toBe(3);
    expect(outer.text).not.toContain('&amp;lt;');
    expect(outer.text.startsWith('<p title="&lt;script&gt;')).toBe(true);
    expect(outer.text).toContain('<b>&lt;script&gt;');
    expect(outer.text.endsWith('1</p>')).toBe(true);
  });
});

describe('the History section (the audit trail through its read interface)', () => {
  it('lists who did what, when and from where, escaped, newest first as the trail gives them', async () => {
    const links = createReportLinks({ secret: SECRET, ttlMs: 60_000 });
    const queries: unknown[] = [];
    const app = createReportRoutes({
      links,
      runs: { getRun: async () => null, items: async () => [], listRuns: async () => [] },
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
        list: () => [{ name: 'm', schedule: 'every 30m' }],
        getState: async () => ({ _id: 'm', alerts: {}, history: [], failing: false }),
        ticks: async () => [],
        latestScored: async () => [],
      },
      audit: {
        async list(query) {
          queries.push(query);
          return [
            {
              id: 'a2',
              at: new Date('2026-12-01T10:05:00Z'),
              actor: { via: 'slack', user: 'U123', channel: 'C9' },
              action: 'monitor.resume',
              object: { type: 'monitor', id: 'm' },
              summary: 'resumed <script>x</script>',
            },
            {
              id: 'a1',
              at: new Date('2026-12-01T10:00:00Z'),
              actor: { via: 'cli', user: 'ops' },
              action: 'monitor.pause',
              object: { type: 'monitor', id: 'm' },
              summary: 'paused',
            },
          ];
        },
      },
    });
    const res = await app.request(links.sign(reportPaths.monitor('m')));
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(queries).toEqual([{ objectType: 'monitor', objectId: 'm', limit: 200 }]);
    expect(text).toContain(
      '<tr><td>2026-12-01 10:05 UTC</td><td>U123</td><td>Slack C9</td><td>resumed &lt;script&gt;x&lt;/script&gt;</td></tr>',
    );
    expect(text.indexOf('resumed')).toBeLessThan(text.indexOf('<td>paused</td>'));
    expect(text).toContain('<td>ops</td><td>CLI</td>');
  });
});

describe('chat `runs show` carries the Open report button when PUBLIC_URL is set', () => {
  it('adds the button with the signed URL of the run page; without PUBLIC_URL, none', async () => {
    const { dir, cleanup } = tempDir();
    const store = await createEmbeddedStore({ dir: join(dir, 'data'), autocompactMs: 0 });
    try {
      const { svc, queue } = await offlineRunService(store);
      writeFileSync(join(dir, 'd.jsonl'), `${JSON.stringify({ input: 'Hi?', output: 'Hello' })}\n`);
      writeFileSync(
        join(dir, 's.yaml'),
        'name: s\ndataset: d.jsonl\ntarget: { type: recorded }\nmetrics: [{ metric: refusal }]\nthreshold: 0.5\n',
      );
      const { runId } = await svc.startRun(loadSuite(join(dir, 's.yaml')));
      await drainRun(queue, svc, runId);
      const links = createReportLinks({
        secret: SECRET,
        ttlMs: 60_000,
        publicUrl: 'https://arbiter.example.test',
      });
      const show = async (reportUrl?: (path: string) => string | undefined) => {
        const parsed = parseCommand(`runs show ${runId}`);
        if (!parsed.ok) throw new Error(parsed.error);
        const deps: DispatchDeps = {
          runs: svc,
          suitesDir: dir,
          environment: {},
          roles: { admins: [], reviewers: [] },
          ...(reportUrl ? { reportUrl } : {}),
        };
        return (await dispatch(parsed.command, { user: 'U1' }, deps)).message;
      };
      const withButton = await show((path) => links.publicUrl(path));
      const last = withButton.sections.at(-1);
      if (last?.kind !== 'buttons') throw new Error(`expected the button last, got ${JSON.stringify(last)}`);
      expect(last.buttons[0]).toMatchObject({ text: 'Open report', actionId: OPEN_REPORT_ACTION_ID });
      const url = new URL(last.buttons[0]!.url!);
      expect(url.origin).toBe('https://arbiter.example.test');
      expect(url.pathname).toBe(reportPaths.run(runId));
      expect(links.verify(url.pathname, url.searchParams.get('exp')!, url.searchParams.get('sig')!)).toBe(
        'ok',
      );
      // Without PUBLIC_URL the bot's reportUrl answers undefined: the same summary, no button.
      const without = await show(() => undefined);
      expect(JSON.stringify(without)).not.toContain('Open report');
      expect(without.sections).toEqual(withButton.sections.slice(0, -1));
    } finally {
      await store.close();
      cleanup();
    }
  });
});
