import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { llmSettingsFromEnv } from './create-llm.ts';
import { classifyStatus, retryAfterFromHeaders, scrubKeys } from './errors.ts';
import { extractJson, parseJsonReply } from './json.ts';
import {
  costOf,
  DEFAULT_PRICES,
  findPrice,
  formatCost,
  loadPriceFile,
  mergePrices,
  PRICES_AS_OF,
} from './prices.ts';
import { tempDir } from '../test/helpers/tmp.ts';

const NOW = Date.parse('2026-01-01T00:00:00Z');

describe('retry-after parsing', () => {
  it.each([
    [{ 'retry-after': '7' }, 7000],
    [{ 'retry-after': '0.5' }, 500],
    [{ 'retry-after': 'Thu, 01 Jan 2026 00:00:30 GMT' }, 30_000],
    [{ 'retry-after': 'Wed, 31 Dec 2025 23:59:00 GMT' }, 0],
    [{ 'retry-after-ms': '1234', 'retry-after': '9' }, 1234],
    [
      {
        'anthropic-ratelimit-requests-remaining': '0',
        'anthropic-ratelimit-requests-reset': '2026-01-01T00:00:20Z',
        'anthropic-ratelimit-tokens-remaining': '500',
        'anthropic-ratelimit-tokens-reset': '2026-01-01T00:00:50Z',
      },
      20_000,
    ],
    [
      {
        'anthropic-ratelimit-input-tokens-remaining': '0',
        'anthropic-ratelimit-input-tokens-reset': '2026-01-01T00:00:05Z',
        'anthropic-ratelimit-output-tokens-remaining': '0',
        'anthropic-ratelimit-output-tokens-reset': '2026-01-01T00:00:08Z',
      },
      8_000,
    ],
    [{ 'retry-after': 'soon' }, undefined],
    [{}, undefined],
  ])('%j → %s ms', (headers, expected) => {
    expect(retryAfterFromHeaders(new Headers(headers), NOW)).toBe(expected);
  });

  it('reads plain header records too', () => {
    expect(retryAfterFromHeaders({ 'Retry-After': '3' }, NOW)).toBe(3000);
  });

  it.each([
    [429, 'LLM_RATE_LIMITED', true],
    [529, 'LLM_OVERLOADED', true],
    [503, 'LLM_OVERLOADED', true],
    [500, 'LLM_PROVIDER_ERROR', true],
    [502, 'LLM_PROVIDER_ERROR', true],
    [504, 'LLM_TIMEOUT', true],
    [408, 'LLM_TIMEOUT', true],
    [409, 'LLM_PROVIDER_ERROR', true],
    [400, 'LLM_BAD_REQUEST', false],
    [404, 'LLM_BAD_REQUEST', false],
    [401, 'LLM_AUTH', false],
    [403, 'LLM_AUTH', false],
  ])('HTTP %i → %s (retryable %s)', (status, code, retryable) => {
    expect(classifyStatus(status)).toEqual({ code, retryable });
  });

  it('scrubs keys from messages', () => {
    expect(
      scrubKeys(
        'bad key sk-ant-api03-abcdefghijkl and AIzaSyA1234567890abcdefghijklmn, url ?key=secret123&x=1',
      ),
    ).toBe('bad key [redacted] and [redacted], url ?key=[redacted]&x=1');
    expect(scrubKeys('token my-custom-key-123 leaked', ['my-custom-key-123'])).toBe(
      'token [redacted] leaked',
    );
  });
});

describe('JSON extraction', () => {
  it.each([
    ['{"a":1}', { a: 1 }],
    ['  [1,2]  ', [1, 2]],
    ['```json\n{"a": 1}\n```', { a: 1 }],
    [
      'Here is my verdict: {"score": 4, "reason": "has } brace"} Thanks!',
      { score: 4, reason: 'has } brace' },
    ],
    ['Sure.\n```\n{"x": [1, {"y": 2}]}\n```', { x: [1, { y: 2 }] }],
  ])('finds JSON in %j', (text, value) => {
    expect(extractJson(text)).toEqual({ ok: true, value });
  });

  it.each([[''], ['no json here'], ['{"a": 1'], ['{"a": }']])('reports %j as malformed', (text) => {
    expect(extractJson(text).ok).toBe(false);
  });

  it('names the failing fields of a schema', () => {
    const r = parseJsonReply('{"score": "high"}', z.object({ score: z.number(), reason: z.string() }));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/JSON does not match the expected shape: score: .*; reason: /);
  });
});

describe('prices', () => {
  let tmp: ReturnType<typeof tempDir> | undefined;
  afterEach(() => tmp?.cleanup());

  it.each([
    ['anthropic:claude-sonnet-5-5', { input: 2, output: 10, cacheWrite: 2.5, cacheRead: 0.1 }],
    ['anthropic:claude-opus-4-8', { input: 5, output: 25, cacheWrite: 6.25, cacheRead: 0.5 }],
    ['anthropic:claude-haiku-4-5-20251001', { input: 1, output: 5, cacheWrite: 1.25, cacheRead: 0.1 }],
    ['anthropic:claude-sonnet-4-5', undefined], // retired 2026-11-30
    ['anthropic:claude-sonnet-4-5-20250929', undefined],
    ['anthropic:claude-3-5-haiku-latest', undefined],
    ['anthropic:claude-sonnet-4-7', undefined], // not claude-sonnet-4
    ['gemini:gemini-3.5-flash', { input: 1.5, output: 9, cacheRead: 0.15 }],
    ['gemini:gemini-2.5-flash-lite', { input: 0.1, output: 0.4, cacheRead: 0.01 }],
    ['gemini:gemini-2.0-flash', undefined], // shut down 2026-06-01
    ['gemini:gemini-2.5-flash-preview-09-2025', undefined],
    ['offline:heuristic', undefined],
  ])('%s → %j', (model, price) => {
    expect(findPrice(DEFAULT_PRICES, model)).toEqual(price);
  });

  it('the table is dated and names the current models', () => {
    expect(PRICES_AS_OF).toBe('2026-12-03');
    for (const m of [
      'claude-fable-5-2',
      'claude-opus-5-5',
      'claude-sonnet-5-5',
      'claude-opus-4-8',
      'claude-opus-4-7',
    ])
      expect(findPrice(DEFAULT_PRICES, `anthropic:${m}`)).toBeDefined();
    expect(findPrice(DEFAULT_PRICES, 'gemini:gemini-3.1-pro')).toBeDefined();
  });

  it('prices cache reads and writes at their own rates', () => {
    // Sonnet 5.5: $2 input, $2.50 5-minute cache write, $0.10 cache read, $10 output per million.
    const usage = {
      inputTokens: 1_000_000 + 2_000_000 + 4_000_000,
      cacheWriteTokens: 2_000_000,
      cacheReadTokens: 4_000_000,
      outputTokens: 100_000,
    };
    expect(costOf(DEFAULT_PRICES, 'anthropic:claude-sonnet-5-5', usage)).toEqual({
      costUsd: 2 + 5 + 0.4 + 1,
      priceKnown: true,
    });
    // Without explicit cache rates: 0.1x input for reads, 1.25x for writes.
    const table = { 'anthropic:claude-x': { input: 4, output: 20 } };
    expect(costOf(table, 'anthropic:claude-x', usage).costUsd).toBeCloseTo(4 + 10 + 1.6 + 2, 9);
  });

  it('prices a long prompt at the long-context rates', () => {
    // Gemini 3.1 Pro: $2 / $12 up to 200k prompt tokens, $4 / $18 past them.
    expect(
      costOf(DEFAULT_PRICES, 'gemini:gemini-3.1-pro', { inputTokens: 100_000, outputTokens: 10_000 }).costUsd,
    ).toBeCloseTo(0.2 + 0.12, 9);
    expect(
      costOf(DEFAULT_PRICES, 'gemini:gemini-3.1-pro', { inputTokens: 300_000, outputTokens: 10_000 }).costUsd,
    ).toBeCloseTo(1.2 + 0.18, 9);
  });

  it('costs per million tokens, and flags unknown models instead of guessing', () => {
    expect(
      costOf(DEFAULT_PRICES, 'anthropic:claude-opus-5-5', { inputTokens: 1_000_000, outputTokens: 100_000 }),
    ).toEqual({ costUsd: 6, priceKnown: true });
    expect(
      costOf(DEFAULT_PRICES, 'anthropic:claude-new-7', { inputTokens: 1000, outputTokens: 1000 }),
    ).toEqual({ costUsd: 0, priceKnown: false });
  });

  it('formats an unknown cost as "price unknown", never $0', () => {
    expect(formatCost(null)).toBe('price unknown');
    expect(formatCost(undefined)).toBe('price unknown');
    expect(formatCost(0)).toBe('$0.0000');
    expect(formatCost(0.01234)).toBe('$0.0123');
    expect(formatCost(4.2)).toBe('$4.20');
  });

  it('LLM_PRICES_FILE overrides and extends the table (YAML or JSON)', () => {
    tmp = tempDir();
    const file = join(tmp.dir, 'prices.yaml');
    writeFileSync(
      file,
      "anthropic:claude-mythos-5-2: { input: 8, output: 40, cacheRead: 0.2 }\n'gemini:gemini-2.5-flash':\n  input: 0.15\n  output: 0.6\n  above: { tokens: 200000, input: 0.3, output: 1.2 }\n",
    );
    const table = mergePrices(DEFAULT_PRICES, loadPriceFile(file));
    expect(findPrice(table, 'anthropic:claude-mythos-5-2')).toEqual({ input: 8, output: 40, cacheRead: 0.2 });
    expect(findPrice(table, 'gemini:gemini-2.5-flash')).toEqual({
      input: 0.15,
      output: 0.6,
      above: { tokens: 200_000, input: 0.3, output: 1.2 },
    });
    expect(llmSettingsFromEnv({ LLM_PRICES_FILE: file }).prices['anthropic:claude-mythos-5-2']).toEqual({
      input: 8,
      output: 40,
      cacheRead: 0.2,
    });
    const json = join(tmp.dir, 'prices.json');
    writeFileSync(json, JSON.stringify({ 'gemini:gemini-3-pro': { input: 2, output: 12 } }));
    expect(loadPriceFile(json)['gemini:gemini-3-pro']).toEqual({ input: 2, output: 12 });
  });

  it('a bad price file names the file, line and field', () => {
    tmp = tempDir();
    const file = join(tmp.dir, 'prices.yaml');
    writeFileSync(file, 'anthropic:claude-x:\n  input: cheap\n  output: 1\n');
    expect(() => loadPriceFile(file)).toThrow(/prices\.yaml.*2.*input/s);
  });
});
