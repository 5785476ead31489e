import { systemClock } from '../config/runtime.ts';
import { describe, expect, it } from 'vitest';
import { isArbiterError } from '../config/index.ts';
import { ENV_VARS } from '../config/env.ts';
import { checkLlmConfig, createLlm } from './create-llm.ts';
import { isLlmError } from './errors.ts';
import { parseModelName } from './model-name.ts';
import { defaultJudgeModel, PROVIDER_NAMES, PROVIDERS, type ProviderSpec } from './providers.ts';
import { createScriptedProvider } from './testing.ts';

const fakeEnv = {
  ANTHROPIC_API_KEY: 'sk-ant-test-0123456789abcdef',
  GEMINI_API_KEY: 'AIzaSyTest-0123456789abcdefghijklmnop',
};

describe('provider registry', () => {
  it.each(PROVIDER_NAMES)('%s is documented and constructible', (name) => {
    const spec: ProviderSpec = PROVIDERS[name];
    expect(spec.doc.length).toBeGreaterThan(20);
    expect(spec.exampleModel.startsWith(`${name}:`)).toBe(true);
    if (spec.keyVar) expect(ENV_VARS[spec.keyVar].secret).toBe(true);
    if (spec.baseUrlVar) expect(ENV_VARS[spec.baseUrlVar]).toBeDefined();
    const built = spec.create({ env: fakeEnv, clock: systemClock });
    expect(built.ok).toBe(true);
    if (!built.ok) return;
    expect(built.provider.name).toBe(name);
    expect(built.provider.heuristic).toBe(spec.heuristic);
    expect(typeof built.provider.complete).toBe('function');
  });

  it('only the offline provider is a heuristic, and it needs no key', () => {
    expect(PROVIDER_NAMES.filter((n) => PROVIDERS[n].heuristic)).toEqual(['offline']);
    const offline: ProviderSpec = PROVIDERS.offline;
    expect(offline.create({ env: {}, clock: systemClock }).ok).toBe(true);
  });

  it('a provider without its key is reported, not built', () => {
    expect(PROVIDERS.anthropic.create({ env: {}, clock: systemClock })).toEqual({
      ok: false,
      error: 'ANTHROPIC_API_KEY is not set',
    });
    expect(PROVIDERS.gemini.create({ env: {}, clock: systemClock })).toEqual({
      ok: false,
      error: 'GEMINI_API_KEY is not set',
    });
  });
});

describe('model names', () => {
  const known = ['anthropic', 'gemini', 'offline'];
  it.each([
    ['anthropic:claude-sonnet-4-5', { provider: 'anthropic', model: 'claude-sonnet-4-5' }],
    ['gemini:gemini-2.5-flash', { provider: 'gemini', model: 'gemini-2.5-flash' }],
    ['offline:heuristic', { provider: 'offline', model: 'heuristic' }],
    ['Anthropic:claude-x', { provider: 'anthropic', model: 'claude-x' }],
    ['gemini:models/gemini-2.5-pro:latest', { provider: 'gemini', model: 'models/gemini-2.5-pro:latest' }],
  ])('parses %s', (name, expected) => {
    const r = parseModelName(name, known);
    expect(r).toMatchObject({ ok: true, value: expected });
  });

  it.each([
    [
      'openai:gpt-5',
      /Unknown LLM provider "openai" in model "openai:gpt-5"; valid providers: anthropic, gemini, offline\./,
    ],
    ['claude-sonnet-4-5', /not of the form provider:model.*valid providers: anthropic, gemini, offline/],
    [':x', /not of the form provider:model/],
    ['anthropic:', /not of the form provider:model/],
  ])('rejects %s naming it and the valid choices', (name, message) => {
    const r = parseModelName(name, known);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(message);
  });
});

describe('createLlm configuration', () => {
  it('an unknown provider at call time is an LLM_UNKNOWN_PROVIDER error listing the choices', async () => {
    const llm = createLlm({});
    const err = await llm
      .complete({ model: 'openai:gpt-5', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(isLlmError(err, 'LLM_UNKNOWN_PROVIDER')).toBe(true);
    expect((err as Error).message).toMatch(/valid providers: anthropic, gemini, offline/);
    expect(llm.check('openai:gpt-5')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/Unknown LLM provider "openai"/),
    });
  });

  it('a provider whose key is missing fails with LLM_NO_KEY naming the variable', async () => {
    const llm = createLlm({});
    const err = await llm
      .complete({ model: 'gemini:gemini-2.5-flash', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(isLlmError(err, 'LLM_NO_KEY')).toBe(true);
    expect(llm.check('gemini:gemini-2.5-flash')).toEqual({
      ok: false,
      error:
        'gemini:gemini-2.5-flash cannot be called: GEMINI_API_KEY is not set. Set GEMINI_API_KEY, or use offline:heuristic.',
    });
    expect(llm.check('offline:anything')).toEqual({ ok: true, heuristic: true });
  });

  it('a judge model without its key is a clear start-up error', () => {
    let caught: unknown;
    try {
      createLlm({ env: { ARBITER_JUDGE_MODEL: 'anthropic:claude-sonnet-5-5' } });
    } catch (err) {
      caught = err;
    }
    expect(isArbiterError(caught, 'CONFIG_INVALID')).toBe(true);
    expect((caught as Error).message).toMatch(
      /ARBITER_JUDGE_MODEL: anthropic:claude-sonnet-5-5 needs ANTHROPIC_API_KEY, which is not set/,
    );
    expect(checkLlmConfig({ ARBITER_JUDGE_MODEL: 'mistral:large' })[0]).toMatch(
      /ARBITER_JUDGE_MODEL: Unknown LLM provider "mistral"/,
    );
    expect(
      checkLlmConfig({
        ARBITER_JUDGE_MODEL: 'anthropic:claude-sonnet-5-5',
        ANTHROPIC_API_KEY: fakeEnv.ANTHROPIC_API_KEY,
      }),
    ).toEqual([]);
  });

  it('picks the judge model from the environment', () => {
    expect(defaultJudgeModel({})).toBe('offline:heuristic');
    expect(defaultJudgeModel({ GEMINI_API_KEY: 'x' })).toBe('gemini:gemini-3.5-flash');
    expect(defaultJudgeModel({ GEMINI_API_KEY: 'x', ANTHROPIC_API_KEY: 'y' })).toBe(
      'anthropic:claude-sonnet-5-5',
    );
    expect(defaultJudgeModel({ ANTHROPIC_API_KEY: 'y', ARBITER_JUDGE_MODEL: 'offline:heuristic' })).toBe(
      'offline:heuristic',
    );
    expect(createLlm({ env: fakeEnv }).judgeModel).toBe('anthropic:claude-sonnet-5-5');
  });

  it('accepts injected providers by name and rejects bad call parameters as LLM_BAD_REQUEST', async () => {
    const stub = createScriptedProvider('stub', [{ text: 'hi', usage: { inputTokens: 3, outputTokens: 1 } }]);
    const llm = createLlm({ providers: { stub: stub.provider } });
    expect(llm.providers).toEqual(['anthropic', 'gemini', 'offline', 'stub']);
    const c = await llm.complete({ model: 'stub:any', messages: [{ role: 'user', content: 'x' }] });
    expect(c).toMatchObject({ text: 'hi', model: 'stub:any', priceKnown: false, costUsd: 0 });
    expect(llm.stats().byModel['stub:any']).toMatchObject({ calls: 1, priceKnown: false, inputTokens: 3 });
    for (const bad of [
      { model: 'stub:any', messages: [] },
      { model: 'stub:any', messages: [{ role: 'system' as const, content: 'only a system prompt' }] },
      { model: 'stub:any', messages: [{ role: 'user' as const, content: 'x' }], temperature: 5 },
      { model: 'stub:any', messages: [{ role: 'user' as const, content: 'x' }], maxTokens: 0 },
    ]) {
      await expect(llm.complete(bad)).rejects.toMatchObject({ code: 'LLM_BAD_REQUEST' });
    }
  });

  it('a provider that hangs and ignores its signal still times out', async () => {
    const hang = { name: 'hang', heuristic: false, complete: () => new Promise<never>(() => {}) };
    const llm = createLlm({
      providers: { hang },
      settings: {
        retry: { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1, budgetMs: 1000 },
      },
    });
    await expect(
      llm.complete({ model: 'hang:x', messages: [{ role: 'user', content: 'x' }], timeoutMs: 30 }),
    ).rejects.toMatchObject({ code: 'LLM_TIMEOUT' });
  });
});
