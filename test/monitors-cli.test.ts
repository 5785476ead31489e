// `arbiter monitor list | run [--dry-run] | backfill --since` through runMonitorCli with the real embedded store.
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseEnv } from '../config/index.ts';
import { createManualClock } from '../config/runtime.ts';
import { type MonitorCliCommand, runMonitorCli } from '../monitors/index.ts';
import { withCliServices } from './helpers/cli-services.ts';
import { tempDir } from './helpers/tmp.ts';
import { viaRegistry } from './helpers/cli-args.ts';

let dir: string;
let cleanup: () => void;
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
});
afterEach(() => cleanup());

function cli(argv: string[], monitorsDir = 'examples/monitors') {
  const out: string[] = [];
  const err: string[] = [];
  const env = parseEnv({ DATA_DIR: join(dir, 'data'), MONITORS_DIR: monitorsDir, LOG_LEVEL: 'silent' });
  const io = { stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t) };
  return viaRegistry(['monitor', ...argv], io, (cmd: MonitorCliCommand) =>
    withCliServices({ env, io, clock: createManualClock('2026-11-20T10:00:00Z') }, (d) =>
      runMonitorCli(cmd, d),
    ),
  ).then((code) => ({ code, out: out.join(''), err: err.join('') }));
}

describe('arbiter monitor', () => {
  it('list shows each monitor and its last tick', async () => {
    const r = await cli(['list']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/support-quality {2}every 30m {2}source=file .*last=never/);
  });

  it('run --dry-run shows what the extractor produces for the latest records', async () => {
    const r = await cli(['run', 'support-quality', '--dry-run', '--records', '3']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Extractor dry run of support-quality');
    expect(r.out).toContain('✓ t-006');
    expect(r.out).toMatch(/✗ t-007: pattern/);
    expect(r.out).toMatch(/✗ line-8: line 8: not valid JSON/);
  });

  it('run scores once; a second run finds nothing new; backfill re-reads but never rescores', async () => {
    const first = await cli(['run', 'support-quality']);
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/read 8, scored 6, failing 2, unmatched 2/);
    expect(first.out).toContain('Monitor support-quality: 6 scored');
    const second = await cli(['run', 'support-quality']);
    // Same second on the manual clock: the tick is already claimed.
    expect(second.err).toMatch(/already claimed/);
    const back = await cli(['backfill', 'support-quality', '--since', '2026-11-01']);
    expect(back.code).toBe(0);
    expect(back.out).toMatch(/scored 0, .*already scored 6/);
    const list = await cli(['list']);
    expect(list.out).toMatch(/last=2026-11-20T10:00:00.000Z succeeded/);
  });

  it('usage and configuration errors exit 2 with one message', async () => {
    expect((await cli(['run', 'nope'])).code).toBe(2);
    expect((await cli(['frobnicate'])).code).toBe(2);
    expect((await cli(['backfill', 'support-quality', '--since', 'yesterday-ish'])).code).toBe(2);
    const bad = join(dir, 'monitors');
    mkdirSync(bad);
    cpSync('examples/monitors/example.yaml', join(bad, 'a.yaml'));
    cpSync('examples/monitors/example.yaml', join(bad, 'b.yaml'));
    const r = await cli(['list'], bad);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/also defined/);
  });

  it('a monitor of a Slack channel is not run from the command line: one message saying where to run it', async () => {
    const monitors = join(dir, 'slack-monitors');
    mkdirSync(monitors);
    writeFileSync(
      join(monitors, 'support.yaml'),
      [
        'name: support-channel',
        'schedule: { every: 1h }',
        'source: { type: slack, channel: C0SUPPORT01, botUserId: U0SUPPORTBOT }',
        'extract: { input: $.question, output: $.answer }',
        'metrics:',
        '  - metric: refusal',
        'publish: { channel: C0QUALITY01 }',
        '',
      ].join('\n'),
    );
    for (const argv of [
      ['run', 'support-channel'],
      ['run', 'support-channel', '--dry-run'],
      ['backfill', 'support-channel', '--since', '2026-11-01'],
    ]) {
      const r = await cli(argv, monitors);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toMatch(/reads a Slack channel, which the arbiter command does not read/);
      expect(r.err).toContain('/arbiter monitor');
      expect(r.err).not.toMatch(/needs SLACK_BOT_TOKEN|\n\s+at /);
    }
    // Listing, pausing and resuming it need no Slack client.
    expect((await cli(['list'], monitors)).code).toBe(0);
    expect((await cli(['pause', 'support-channel'], monitors)).code).toBe(0);
  });
});
