// Secrets an http target sends (`${ENV:…}` / `fromEnv` headers) never reach stored run items, Slack messages or logs,
// in any form: verbatim, without the auth scheme, base64 (also inside a Basic credential an upstream builds),
// decoded from a Basic credential, URL-encoded. The agent is a real local HTTP server that echoes what it got.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSlackClient, createSlackTransport } from '../bot/slack-transport.ts';
import { renderRunSummary } from '../commands/run-messages.ts';
import { createLogger, scrubSecrets } from '../config/index.ts';
import { createSecretRegistry, REDACTED, secretForms } from '../config/redact.ts';
import { loadSuite } from '../runs/index.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { startFakeSlack } from './fixtures/fake-slack.ts';
import { drainRun, offlineRunService } from './helpers/runs.ts';
import { tempDir } from './helpers/tmp.ts';

const TOKEN = 'agt_S3cr3t+Tok/en=42xyz';
const UPSTREAM_USER = 'svc-upstream';
const UPSTREAM_PASS = 'upstr3am-Pa55word';
const UPSTREAM_BASIC = `Basic ${Buffer.from(`${UPSTREAM_USER}:${UPSTREAM_PASS}`).toString('base64')}`;
/** What an upstream builds from the bearer token and echoes back: a Basic credential with it as the password. */
const ECHOED_BASIC = Buffer.from(`agent:${TOKEN}`).toString('base64');

/** Every way the secrets could leak into a text; none may appear. */
const LEAKS = [
  TOKEN,
  encodeURIComponent(TOKEN),
  Buffer.from(TOKEN).toString('base64').replace(/=+$/, ''),
  ECHOED_BASIC,
  // The token's bytes inside the echoed Basic credential, whatever the alignment.
  ECHOED_BASIC.slice(8, 30),
  UPSTREAM_BASIC.slice('Basic '.length),
  `${UPSTREAM_USER}:${UPSTREAM_PASS}`,
  UPSTREAM_PASS,
];

function expectNoSecret(text: string) {
  for (const leak of LEAKS) expect(text).not.toContain(leak);
}

let agent: Server;
let agentUrl = '';
const seen: string[] = [];
beforeAll(async () => {
  // An agent behind an auth proxy that refuses every request and echoes what it was sent, in several forms.
  agent = createServer((req, res) => {
    const auth = req.headers.authorization ?? '';
    const upstream = String(req.headers['x-upstream-auth'] ?? '');
    seen.push(auth);
    const token = auth.replace(/^Bearer /, '');
    const decodedUpstream = Buffer.from(upstream.replace(/^Basic /, ''), 'base64').toString('utf8');
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        error: `invalid credentials: got "${auth}" (upstream ${Buffer.from(`agent:${token}`).toString('base64')}, ${decodedUpstream}, query token=${encodeURIComponent(token)})`,
      }),
    );
  });
  await new Promise<void>((r) => agent.listen(0, '127.0.0.1', () => r()));
  agentUrl = `http://127.0.0.1:${(agent.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => agent.close(() => r())));

describe('secret forms', () => {
  it('covers the secret, its credential without scheme, its password, base64 (any alignment), decoded and URL forms', () => {
    const registry = createSecretRegistry();
    registry.register(`Bearer ${TOKEN}`);
    registry.register(UPSTREAM_BASIC);
    const text = [
      `Authorization: Bearer ${TOKEN}`,
      `token=${encodeURIComponent(TOKEN)}`,
      `b64 ${Buffer.from(TOKEN).toString('base64')}`,
      `basic ${ECHOED_BASIC}`,
      `basic2 ${Buffer.from(`x:${TOKEN}`).toString('base64')}`,
      `basic3 ${Buffer.from(`xy:${TOKEN}`).toString('base64url')}`,
      `decoded ${UPSTREAM_USER}:${UPSTREAM_PASS}`,
      `just the password ${UPSTREAM_PASS}`,
      `json "${JSON.stringify(TOKEN).slice(1, -1)}"`,
    ].join('\n');
    const out = registry.scrub(text);
    expectNoSecret(out);
    expect(out).toContain('Authorization: Bearer [redacted]');
    expect(out.split(REDACTED).length - 1).toBeGreaterThanOrEqual(9);
    // Ordinary text is left alone, and short values are never registered.
    expect(registry.scrub('HTTP 401: invalid credentials')).toBe('HTTP 401: invalid credentials');
    registry.register('abc');
    expect(registry.scrub('abc abc')).toBe('abc abc');
  });

  it('lists the decoded credential of a Basic header among its forms', () => {
    expect(secretForms(UPSTREAM_BASIC)).toEqual(
      expect.arrayContaining([
        UPSTREAM_BASIC.slice('Basic '.length),
        `${UPSTREAM_USER}:${UPSTREAM_PASS}`,
        UPSTREAM_PASS,
      ]),
    );
  });
});

describe('an http target that echoes its credentials', () => {
  it('stored run item errors, the Slack report and the logs carry none of them', async () => {
    const { dir, cleanup } = tempDir();
    const store = await createEmbeddedStore({ dir, autocompactMs: 0 });
    const slack = await startFakeSlack();
    const lines: string[] = [];
    try {
      const env = { AGENT_TOKEN: TOKEN, UPSTREAM_AUTH: UPSTREAM_BASIC };
      const logger = createLogger(
        { LOG_LEVEL: 'debug', LOG_FORMAT: 'json' },
        { write: (l) => lines.push(l) },
      );
      const { queue, svc } = await offlineRunService(store, { env, logger, progressIntervalMs: 0 });
      writeFileSync(join(dir, 'data.jsonl'), '{"input": "hello"}\n{"input": "again"}\n');
      const file = join(dir, 'echo.yaml');
      writeFileSync(
        file,
        `name: echo
dataset: data.jsonl
target:
  type: http
  url: ${agentUrl}/chat
  headers:
    authorization: "Bearer \${ENV:AGENT_TOKEN}"
    x-upstream-auth: { fromEnv: UPSTREAM_AUTH }
  body: { message: "{{input}}" }
  answer: $.reply
metrics:
  - name: contains
    args: { value: "x" }
threshold: 0.5
`,
      );
      const { runId } = await svc.startRun(loadSuite(file, env));
      await drainRun(queue, svc, runId);
      // The agent really got the secrets (so there was something to leak).
      expect(seen).toContain(`Bearer ${TOKEN}`);

      const items = await svc.items(runId);
      expect(items).toHaveLength(2);
      for (const v of items) {
        expect(v.doc.status).toBe('error');
        expect(v.doc.error).toMatch(/^HTTP 401: .*invalid credentials: got \\"Bearer \[redacted\]\\"/);
        expectNoSecret(JSON.stringify(v.doc));
      }

      // The report as it goes to Slack (parent and thread replies with each target error).
      const transport = createSlackTransport(
        createSlackClient({ token: 'xoxb-test-token', apiUrl: `${slack.url}/api`, retries: 0 }),
        logger,
      );
      const run = (await svc.getRun(runId))!;
      await transport.post({ channel: 'C0RUNS' }, renderRunSummary(run, items));
      const posts = slack.of('chat.postMessage');
      expect(posts.length).toBeGreaterThanOrEqual(2);
      const posted = posts.map((c) => c.raw.toString('utf8')).join('\n');
      expect(decodeURIComponent(posted)).toContain('Why it errored');
      expectNoSecret(posted);
      expectNoSecret(decodeURIComponent(posted));

      // A message built from the raw echo (a path that forgot to scrub) is scrubbed by the transport itself.
      const raw = `agent said: Bearer ${TOKEN} / ${ECHOED_BASIC} / ${UPSTREAM_USER}:${UPSTREAM_PASS}`;
      await transport.post({ channel: 'C0RUNS' }, { title: 'Raw', sections: [{ kind: 'text', text: raw }] });
      const last = slack.of('chat.postMessage').at(-1)!.raw.toString('utf8');
      expect(decodeURIComponent(last)).toContain('agent said: Bearer [redacted]');
      expectNoSecret(last);
      expectNoSecret(decodeURIComponent(last));

      // Logs: whatever is logged, error objects with the echo included.
      logger.warn({ err: new Error(raw), body: raw }, `target answered: ${raw}`);
      expect(lines.join('\n')).toContain('agent said: Bearer [redacted]');
      expectNoSecret(lines.join('\n'));
      expect(scrubSecrets(raw)).not.toContain(TOKEN);
    } finally {
      await slack.close();
      await store.close();
      cleanup();
    }
  });
});
