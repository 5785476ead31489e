// Load warnings (old forms of a monitor or digest file) reach the user where they act, not only the start-up log
// (issue 17): `digest` and `monitor run` answers in Slack and at the console carry a short `⚠ file:line:col: …`
// context line (plain text, escaped once by the renderer, within Block Kit limits); `arbiter digest` and
// `arbiter monitor` print them on stderr.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createConsoleTransport } from '../bot/console-transport.ts';
import { SLACK_LIMITS } from '../bot/render-blocks.ts';
import { signSlackRequest } from '../bot/slack-signature.ts';
import { startBot } from '../bot/start.ts';
import { runCli } from '../cli/run-cli.ts';
import { parseEnv, warningNotes } from '../config/index.ts';
import { MAX_WARNING_NOTES } from '../config/upgrade.ts';
import { startFakeSlack } from './fixtures/fake-slack.ts';
import { tempDir } from './helpers/tmp.ts';
import { waitUntil as until } from './helpers/wait.ts';
import { captureCliIo } from './helpers/cli-io.ts';

const SECRET = 'slack-signing-secret-for-tests';

let cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

/** A folder with a monitor and a digest written in an old form (a bare cron string as `schedule`). */
function oldForms(): { dir: string; env: Record<string, string> } {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const { dir } = t;
  mkdirSync(join(dir, 'monitors'));
  mkdirSync(join(dir, 'digests'));
  writeFileSync(join(dir, 'monitors', 'records.jsonl'), '');
  writeFileSync(
    join(dir, 'monitors', 'm.yaml'),
    'name: m\nsource: { type: file, path: records.jsonl }\nextract: { input: q, output: a }\nschedule: "0 * * * *"\nmetrics: [{ metric: pii }]\npublish: { channel: C0GENERAL01 }\n',
  );
  // `&` in the file name: the note must reach Slack escaped exactly once.
  writeFileSync(
    join(dir, 'digests', 'ops&qa.yaml'),
    'name: ops\nschedule: "0 9 * * *"\nchannel: C0GENERAL01\n',
  );
  return {
    dir,
    env: {
      DATA_DIR: join(dir, 'data'),
      MONITORS_DIR: join(dir, 'monitors'),
      DIGESTS_DIR: join(dir, 'digests'),
      LOG_LEVEL: 'silent',
    },
  };
}

const DIGEST_NOTE = '⚠ ops&qa.yaml:2:1: schedule: `schedule: "0 9 * * *"` is the old form';
const MONITOR_NOTE = '⚠ m.yaml:4:1: schedule: `schedule: "0 * * * *"` is the old form';

describe('load warnings where the user acts', () => {
  it('warningNotes: the file by its name, line and column; at most a few, then how many more', () => {
    expect(warningNotes(['/a/b/m.yaml:4:1: schedule: old', 'no location'])).toEqual([
      '⚠ m.yaml:4:1: schedule: old',
      '⚠ no location',
    ]);
    const many = Array.from({ length: MAX_WARNING_NOTES + 2 }, (_, i) => `/x/d.yaml:${i + 1}:1: w`);
    const notes = warningNotes(many);
    expect(notes).toHaveLength(MAX_WARNING_NOTES + 1);
    expect(notes.at(-1)).toBe('⚠ … and 2 more warnings (see the start-up log)');
  });

  it('the CLI: arbiter digest and arbiter monitor print the warnings of their files on stderr', async () => {
    const { env } = oldForms();
    const digest = captureCliIo();
    expect(await runCli(['digest', '--dry-run'], env, digest)).toBe(0);
    expect(digest.err).toMatch(
      /^warning: .*ops&qa\.yaml:2:1: schedule: `schedule: "0 9 \* \* \*"` is the old form/m,
    );
    expect(digest.out).toContain('[dry run → C0GENERAL01]');
    const named = captureCliIo();
    expect(await runCli(['digest', '--dry-run', '--name', 'ops'], env, named)).toBe(0);
    expect(named.err).toContain('ops&qa.yaml:2:1: schedule:');
    const monitor = captureCliIo();
    expect(await runCli(['monitor', 'run', 'm', '--dry-run'], env, monitor)).toBe(0);
    expect(monitor.err).toMatch(
      /^warning: .*m\.yaml:4:1: schedule: `schedule: "0 \* \* \* \*"` is the old form/m,
    );
  });

  it('the console: the digest preview, monitor run and monitor list answers show them', async () => {
    const { env } = oldForms();
    let out = '';
    const bot = await startBot(parseEnv({ ...env, PORT: '0', HOST: '127.0.0.1' }), {
      transport: createConsoleTransport({ write: (t) => (out += t) }),
      progressEditMs: 0,
    });
    cleanups.push(() => bot.stop());
    await bot.submitCommand('digest');
    await until(() => out.includes(DIGEST_NOTE));
    await bot.submitCommand('monitor run m');
    await until(() => out.includes('Nothing new to report'));
    await until(() => out.includes(MONITOR_NOTE));
    await bot.submitCommand('monitor list');
    await until(() => /warning: .*m\.yaml:4:1: schedule:/.test(out));
  });

  it('Slack: /arbiter digest and /arbiter monitor run answer with one context line per warning, escaped once', async () => {
    const { env } = oldForms();
    const slack = await startFakeSlack();
    cleanups.push(() => slack.close());
    const bot = await startBot(
      parseEnv({
        ...env,
        PORT: '0',
        HOST: '127.0.0.1',
        SLACK_BOT_TOKEN: 'xoxb-test-token',
        SLACK_SIGNING_SECRET: SECRET,
        SLACK_API_URL: `${slack.url}/api/`,
        ARBITER_ADMINS: 'UADMIN',
      }),
      { progressEditMs: 0, slackRetries: 2 },
    );
    cleanups.push(() => bot.stop());
    const send = async (text: string) => {
      const body = new URLSearchParams({
        team_id: 'T1',
        channel_id: 'C0GENERAL01',
        user_id: 'UADMIN',
        command: '/arbiter',
        text,
        trigger_id: `trig-${Math.random().toString(36).slice(2)}`,
      }).toString();
      const at = Math.floor(Date.now() / 1000);
      const res = await fetch(`${bot.url}/slack/events`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-slack-request-timestamp': String(at),
          'x-slack-signature': signSlackRequest(SECRET, at, body),
        },
        body,
      });
      expect(res.status).toBe(200);
    };
    type Block = { type: string; elements?: { text?: string }[] };
    const contextTexts = (blocks: Block[]) =>
      blocks.filter((b) => b.type === 'context').flatMap((b) => (b.elements ?? []).map((e) => e.text ?? ''));

    await send('digest');
    const preview = await until(() => slack.calls.find((c) => c.method === 'chat.postEphemeral'));
    const blocks = preview.args.blocks as Block[];
    expect(blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocksPerMessage);
    for (const b of blocks)
      expect((b.elements ?? []).length).toBeLessThanOrEqual(SLACK_LIMITS.contextElements);
    const notes = contextTexts(blocks).filter((t) => t.startsWith('⚠'));
    expect(notes).toHaveLength(1);
    expect(notes[0]).toContain(DIGEST_NOTE.replace('&', '&amp;'));
    expect(notes[0]).not.toContain('&amp;amp;');

    await send('monitor run m');
    const answer = await until(() =>
      slack.calls.find(
        (c) => c.method === 'chat.postEphemeral' && JSON.stringify(c.args).includes('Nothing new to report'),
      ),
    );
    expect(contextTexts(answer.args.blocks as Block[])).toContainEqual(expect.stringContaining(MONITOR_NOTE));
  });
});
