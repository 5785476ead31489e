// Start-up with Langfuse configured: the bot says once which Langfuse server it talks to and what it reads and writes
// there (detected, not assumed), against the loopback fake Langfuse answering as a v4 and as a self-hosted v3 server.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startBot } from '../bot/start.ts';
import { parseEnv } from '../config/index.ts';
import { createConsoleTransport } from '../bot/console-transport.ts';
import { type FakeLangfuse, type FakeServer, startFakeLangfuse } from './fixtures/fake-langfuse.ts';
import { tempDir } from './helpers/tmp.ts';
import { waitUntil } from './helpers/wait.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function boot(lf: FakeLangfuse) {
  const { dir, cleanup } = tempDir();
  const lines: { level: number; msg: string }[] = [];
  const bot = await startBot(
    parseEnv({
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: join(dir, 'data'),
      MONITORS_DIR: join(dir, 'no-monitors'),
      DIGESTS_DIR: join(dir, 'no-digests'),
      SUITES_DIR: join(dir, 'no-suites'),
      LANGFUSE_PUBLIC_KEY: 'pk-lf-start',
      LANGFUSE_SECRET_KEY: 'sk-lf-start-secret',
      LANGFUSE_BASE_URL: lf.url,
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
    }),
    {
      transport: createConsoleTransport({ write: () => {} }),
      logSink: { write: (l) => void lines.push(JSON.parse(l)) },
    },
  );
  cleanups.push(cleanup, () => bot.stop());
  return lines;
}

describe('start-up with Langfuse', () => {
  it.each([
    [
      'v4',
      '4.0.0',
      'observations through GET /api/public/v2/observations; traces through OpenTelemetry (POST /api/public/otel/v1/traces)',
    ],
    [
      'v3',
      '3.140.0',
      'observations through GET /api/public/observations (no v2 observations: self-hosted v3); traces through OpenTelemetry',
    ],
  ] as [FakeServer, string, string][])(
    'a %s server: one line with its version and the reads and writes in use, no warning',
    async (server, version, said) => {
      const lf = await startFakeLangfuse({ server, version });
      cleanups.push(() => lf.close());
      const lines = await boot(lf);
      const line = await waitUntil(() => lines.find((l) => l.msg.startsWith('Langfuse ')), 10_000);
      expect(line.msg).toContain(`Langfuse ${version} at ${lf.url}: ${said}`);
      expect(lines.filter((l) => l.level >= 40 && l.msg.startsWith('Langfuse'))).toEqual([]);
      // The probe wrote nothing: the OTLP export it sent was empty.
      expect(lf.spans).toEqual([]);
      expect(lines.map((l) => JSON.stringify(l)).join('\n')).not.toContain('sk-lf-start-secret');
    },
  );
});
