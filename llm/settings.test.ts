// Settings on their own: call validation and provider:model resolution against configured providers.
import { describe, expect, it } from 'vitest';
import { createModelResolver, type ProviderEntry, validateCallParams } from './settings.ts';
import type { LlmProvider } from './types.ts';

const provider: LlmProvider = {
  name: 'fake',
  heuristic: false,
  complete: async () => ({ text: '', usage: { inputTokens: 0, outputTokens: 0 } }),
};

describe('validateCallParams', () => {
  it('accepts a plain call and names the first bad field otherwise', () => {
    expect(() =>
      validateCallParams({ model: 'a:b', messages: [{ role: 'user', content: 'x' }] }),
    ).not.toThrow();
    expect(() =>
      validateCallParams({ model: 'a:b', messages: [{ role: 'user', content: 'x' }], temperature: 3 }),
    ).toThrow(/^Invalid model call: temperature: /);
    expect(() => validateCallParams({ model: 'a:b', messages: [{ role: 'system', content: 'x' }] })).toThrow(
      'Invalid model call: messages: needs at least one user or assistant message',
    );
  });
});

describe('createModelResolver', () => {
  const entries = new Map<string, ProviderEntry>([
    ['fake', { ok: true, provider }],
    ['anthropic', { ok: false, error: 'ANTHROPIC_API_KEY is not set' }],
  ]);
  const resolve = createModelResolver(entries);

  it('resolves provider:model to the provider', () => {
    const { name, provider: p } = resolve('fake:model-1');
    expect(name).toMatchObject({ provider: 'fake', model: 'model-1', full: 'fake:model-1' });
    expect(p).toBe(provider);
  });

  it('refuses an unknown provider and a provider without its key, saying what to set', () => {
    expect(() => resolve('nosuch:model')).toThrow(expect.objectContaining({ code: 'LLM_UNKNOWN_PROVIDER' }));
    expect(() => resolve('anthropic:claude-x')).toThrow(
      expect.objectContaining({
        code: 'LLM_NO_KEY',
        message: 'anthropic:claude-x cannot be called: ANTHROPIC_API_KEY is not set.',
        hint: 'Set ANTHROPIC_API_KEY, or use offline:heuristic.',
      }),
    );
  });
});
