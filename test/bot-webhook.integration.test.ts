import { afterEach, describe, expect, it } from 'vitest';
import { createConsoleTransport } from '../bot/console-transport.ts';
import { type RunningBot, startBot } from '../bot/start.ts';
import { parseEnv } from '../config/index.ts';
import { promptVersionBody, signedHeaders } from '../prompts/testing.ts';
import { tempDir } from './helpers/tmp.ts';

const SECRET = 'lf-whsec_integration-secret';

describe('the bot process serves the Langfuse webhook', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function boot(extra: Record<string, string>): Promise<{ bot: RunningBot; output: () => string }> {
    const { dir, cleanup } = tempDir();
    let out = '';
    const bot = await startBot(
      parseEnv({
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: dir,
        MONITORS_DIR: `${dir}/no-monitors`,
        LOG_LEVEL: 'silent',
        ...extra,
      }),
      {
        transport: createConsoleTransport({ write: (t) => (out += t) }),
        promptSettleMs: 50,
      },
    );
    cleanups.push(cleanup, () => bot.stop());
    return { bot, output: () => out };
  }

  it('a signed prompt change becomes one alert in the configured channel; a retry posts nothing more', async () => {
    const { bot, output } = await boot({
      LANGFUSE_WEBHOOK_SECRET: SECRET,
      PROMPT_ALERTS_CHANNEL: '#prompt-alerts',
    });
    const raw = JSON.stringify(
      promptVersionBody({
        id: 'evt-1',
        action: 'created',
        name: 'checkout-assistant',
        version: 7,
        labels: ['staging'],
        commitMessage: 'tighten refund policy',
      }),
    );
    const send = () =>
      fetch(`${bot.url}/webhooks/langfuse`, {
        method: 'POST',
        headers: signedHeaders(SECRET, raw),
        body: raw,
      });
    const first = await send();
    expect(first.status).toBe(200);
    const deadline = Date.now() + 15_000;
    while (!output().includes('checkout-assistant') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(output()).toContain('to prompt-alerts');
    expect(output()).toContain('checkout-assistant');
    expect(output()).toContain('tighten refund policy');
    const again = await send();
    expect(again.status).toBe(200);
    await new Promise((r) => setTimeout(r, 500));
    expect(output().match(/── to prompt-alerts ·/g)).toHaveLength(1);

    const forged = await fetch(`${bot.url}/webhooks/langfuse`, {
      method: 'POST',
      headers: signedHeaders('lf-whsec_wrong', raw),
      body: raw,
    });
    expect(forged.status).toBe(401);
  });

  it('without LANGFUSE_WEBHOOK_SECRET the webhook accepts nothing (503)', async () => {
    const { bot } = await boot({});
    const raw = JSON.stringify(promptVersionBody({ id: 'evt-2', action: 'created', version: 1 }));
    const res = await fetch(`${bot.url}/webhooks/langfuse`, {
      method: 'POST',
      headers: signedHeaders(SECRET, raw),
      body: raw,
    });
    expect(res.status).toBe(503);
    expect((await bot.queue.list()).length).toBe(0);
  });
});
