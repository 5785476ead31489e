import { describe, expect, it } from 'vitest';
import { createManualClock } from '../config/runtime.ts';
import {
  LangfuseError,
  type LangfusePrompt,
  type LangfuseResult,
  type PromptSelector,
} from '../langfuse/index.ts';
import { createPromptCache } from './prompt-cache.ts';

function prompt(version: number, text = `v${version}`): LangfusePrompt {
  return { name: 'p', version, type: 'text', prompt: text, config: {}, labels: ['production'], tags: [] };
}

function fakeClient() {
  const calls: { name: string; selector: PromptSelector | undefined }[] = [];
  let next: () => Promise<LangfuseResult<LangfusePrompt>> = async () => ({ ok: true, value: prompt(1) });
  return {
    calls,
    respond(fn: () => Promise<LangfuseResult<LangfusePrompt>>) {
      next = fn;
    },
    client: {
      getPrompt(name: string, selector?: PromptSelector) {
        calls.push({ name, selector });
        return next();
      },
    },
  };
}

const down = async (): Promise<LangfuseResult<LangfusePrompt>> => ({
  ok: false,
  error: new LangfuseError('LANGFUSE_UNAVAILABLE', 'Langfuse answered 503'),
});

describe('prompt cache', () => {
  it('serves within the TTL without asking Langfuse again', async () => {
    const clock = createManualClock();
    const f = fakeClient();
    const cache = createPromptCache({ client: f.client, clock, ttlMs: 60_000 });
    expect((await cache.get('p')).ok && (await cache.get('p'))).toMatchObject({
      ok: true,
      value: { source: 'cache', stale: false },
    });
    expect(f.calls).toHaveLength(1);
    expect(f.calls[0]!.selector).toEqual({});
  });

  it('after the TTL serves the stale value at once and refreshes in the background', async () => {
    const clock = createManualClock();
    const f = fakeClient();
    const cache = createPromptCache({ client: f.client, clock, ttlMs: 1000, staleWhileRevalidateMs: 10_000 });
    await cache.get('p');
    f.respond(async () => ({ ok: true, value: prompt(2) }));
    clock.advance(1500);
    const stale = await cache.get('p');
    expect(stale).toMatchObject({
      ok: true,
      value: { source: 'revalidating', stale: true, prompt: { version: 1 } },
    });
    await cache.settled();
    expect(await cache.get('p')).toMatchObject({
      ok: true,
      value: { source: 'cache', prompt: { version: 2 } },
    });
  });

  it('serves the last good version, flagged, when Langfuse is down; a 404 is not papered over', async () => {
    const clock = createManualClock();
    const f = fakeClient();
    const cache = createPromptCache({ client: f.client, clock, ttlMs: 1000, staleWhileRevalidateMs: 1000 });
    await cache.get('p');
    clock.advance(5000);
    f.respond(down);
    expect(await cache.get('p')).toMatchObject({
      ok: true,
      value: { source: 'fallback', stale: true, prompt: { version: 1 } },
    });
    expect(cache.stats().fallbacks).toBe(1);
    f.respond(async () => ({ ok: false, error: new LangfuseError('LANGFUSE_NOT_FOUND', 'gone') }));
    const gone = await cache.get('p');
    expect(!gone.ok && gone.error.code).toBe('LANGFUSE_NOT_FOUND');
    f.respond(down);
    const nothing = await cache.get('p');
    expect(!nothing.ok && nothing.error.code).toBe('LANGFUSE_UNAVAILABLE');
  });

  it('invalidate forces a fetch of every selector of that prompt, and only that prompt', async () => {
    const f = fakeClient();
    const cache = createPromptCache({ client: f.client, clock: createManualClock() });
    await cache.get('p');
    await cache.get('p', { version: 1 });
    await cache.get('other');
    expect(cache.invalidate('p')).toBe(2);
    f.respond(async () => ({ ok: true, value: prompt(2) }));
    expect(await cache.get('p')).toMatchObject({
      ok: true,
      value: { source: 'fresh', prompt: { version: 2 } },
    });
    expect(await cache.get('other')).toMatchObject({ ok: true, value: { source: 'cache' } });
    f.respond(down);
    // Invalidated but Langfuse is down: the last good version is still better than nothing.
    expect(await cache.get('p', { version: 1 })).toMatchObject({ ok: true, value: { source: 'fallback' } });
  });

  it('shares one request between concurrent readers, and an invalidation beats a fetch already in flight', async () => {
    const f = fakeClient();
    const cache = createPromptCache({ client: f.client, clock: createManualClock() });
    let release!: () => void;
    f.respond(() => new Promise((r) => (release = () => r({ ok: true, value: prompt(1) }))));
    const a = cache.get('p');
    const b = cache.get('p');
    release();
    await Promise.all([a, b]);
    expect(f.calls).toHaveLength(1);

    cache.invalidate('p');
    f.respond(() => new Promise((r) => (release = () => r({ ok: true, value: prompt(1, 'old') }))));
    const before = cache.get('p');
    cache.invalidate('p'); // the webhook lands while the old answer is on its way
    const oldRelease = release;
    f.respond(async () => ({ ok: true, value: prompt(2) }));
    const after = await cache.get('p');
    oldRelease();
    await before;
    expect(after).toMatchObject({ ok: true, value: { prompt: { version: 2 } } });
    expect(await cache.get('p')).toMatchObject({
      ok: true,
      value: { source: 'cache', prompt: { version: 2 } },
    });
  });

  it('keeps at most maxEntries', async () => {
    const f = fakeClient();
    const cache = createPromptCache({ client: f.client, clock: createManualClock(), maxEntries: 2 });
    for (const v of [1, 2, 3]) await cache.get('p', { version: v });
    await cache.get('p', { version: 1 });
    expect(f.calls).toHaveLength(4);
  });
});
