import { z } from 'zod';
import { durationMs, durationSchema } from '../config/index.ts';
import { errorMessage, errorScore, outputText, passFail } from './score.ts';
import { defineMetric, type Item, type Metric, type Score } from './types.ts';

const text = z.string().min(1, { error: 'expected a non-empty string' });
const textOrList = z.union([text, z.array(text).min(1, { error: 'expected at least one value' })]);

function asList(v: string | readonly string[]): string[] {
  return typeof v === 'string' ? [v] : [...v];
}

/** A metric whose score is a pure function of the item. */
function heuristic(name: string, score: (item: Item) => Score): Metric {
  return { name, kind: 'heuristic', score: async (item) => score(item) };
}

function quoteList(values: readonly string[]): string {
  return values.map((v) => JSON.stringify(v)).join(', ');
}

/** `contains`: the output contains one value, or any/all of a list (substring match). */
export const containsMetric = defineMetric({
  description:
    'Output contains a value, or any/all of a list of values (substring, case-insensitive by default).',
  kind: 'heuristic',
  args: z.strictObject({
    value: textOrList.describe('a string or a list of strings'),
    mode: z.enum(['any', 'all']).default('all').describe('with a list: pass when any / all are present'),
    caseSensitive: z.boolean().default(false).describe('compare with case (default: ignore case)'),
  }),
  example: { value: ['Paris', 'France'], mode: 'any' },
  create(args) {
    const values = asList(args.value);
    const norm = (s: string) => (args.caseSensitive ? s : s.toLowerCase());
    return heuristic('contains', (item) => {
      const out = norm(outputText(item));
      const missing = values.filter((v) => !out.includes(norm(v)));
      const found = values.length - missing.length;
      const pass = args.mode === 'all' ? missing.length === 0 : found > 0;
      const reason = pass
        ? `output contains ${args.mode === 'all' || values.length === 1 ? 'every expected value' : `${found} of ${values.length} values`}`
        : `output is missing ${quoteList(missing)}`;
      return passFail('contains', pass, reason, { found, total: values.length });
    });
  },
});

/** `not-contains`: the output contains none of the given values. */
export const notContainsMetric = defineMetric({
  description:
    'Output contains none of the given values (or, with mode: all, not all of them); case-insensitive by default.',
  kind: 'heuristic',
  args: z.strictObject({
    value: textOrList.describe('a string or a list of strings that must not appear'),
    mode: z
      .enum(['any', 'all'])
      .default('any')
      .describe('with a list: fail when any (default) / all of them are present'),
    caseSensitive: z.boolean().default(false).describe('compare with case (default: ignore case)'),
  }),
  example: { value: ['as an AI language model'] },
  create(args) {
    const values = asList(args.value);
    const norm = (s: string) => (args.caseSensitive ? s : s.toLowerCase());
    return heuristic('not-contains', (item) => {
      const out = norm(outputText(item));
      const present = values.filter((v) => out.includes(norm(v)));
      const fail = args.mode === 'any' ? present.length > 0 : present.length === values.length;
      return passFail(
        'not-contains',
        !fail,
        present.length === 0
          ? 'output contains none of the forbidden values'
          : `output contains forbidden ${quoteList(present)}`,
        { present: present.length, total: values.length },
      );
    });
  },
});

const RegexArgs = z
  .strictObject({
    pattern: text.describe('a JavaScript regular expression, without slashes'),
    flags: z
      .string()
      .regex(/^[imsuv]*$/, { error: 'expected regular-expression flags from i, m, s, u, v' })
      .default('')
      .describe('i, m, s, u or v'),
    expect: z
      .enum(['match', 'no-match'])
      .default('match')
      .describe('`no-match`: pass when the pattern is absent'),
  })
  .superRefine((a, ctx) => {
    try {
      new RegExp(a.pattern, a.flags);
    } catch (err) {
      ctx.addIssue({
        code: 'custom',
        path: ['pattern'],
        message: `invalid regular expression: ${errorMessage(err)}`,
      });
    }
  });

/** `regex`: the output matches (or does not match) a pattern; a bad pattern is rejected when the metric is built. */
export const regexMetric = defineMetric({
  description: 'Output matches a regular expression (or, with expect: no-match, does not).',
  kind: 'heuristic',
  args: RegexArgs,
  example: { pattern: '^\\d{4}-\\d{2}-\\d{2}$', flags: 'm' },
  create(args) {
    // No g/y flags are accepted, so the RegExp keeps no lastIndex state between items.
    const re = new RegExp(args.pattern, args.flags);
    const shown = `/${args.pattern}/${args.flags}`;
    return heuristic('regex', (item) => {
      const matched = re.test(outputText(item));
      const pass = args.expect === 'match' ? matched : !matched;
      return passFail('regex', pass, matched ? `output matches ${shown}` : `output does not match ${shown}`);
    });
  },
});

/** `equals`: the output equals the expected answer (the item's `expected` unless `value` is given). */
export const equalsMetric = defineMetric({
  description:
    "Output equals the item's expected answer (or `value`), optionally ignoring case and whitespace.",
  kind: 'heuristic',
  args: z.strictObject({
    value: z.string().optional().describe("compare with this instead of the item's expected answer"),
    ignoreCase: z.boolean().default(false).describe('compare without case'),
    normalizeWhitespace: z.boolean().default(true).describe('trim and collapse runs of whitespace'),
  }),
  example: { ignoreCase: true },
  create(args) {
    const norm = (s: string) => {
      let r = args.normalizeWhitespace ? s.trim().replace(/\s+/g, ' ') : s;
      if (args.ignoreCase) r = r.toLowerCase();
      return r;
    };
    return heuristic('equals', (item) => {
      const expected = args.value ?? item.expected;
      if (expected === undefined) {
        return errorScore(
          'equals',
          "no expected answer: set the item's `expected` or the metric's `value` argument",
          { errorCause: 'input' },
        );
      }
      const out = outputText(item);
      const pass = norm(out) === norm(expected);
      // The texts themselves stay out of the reason: they can be long, and the item already holds them.
      return passFail(
        'equals',
        pass,
        pass ? 'output equals the expected answer' : 'output differs from the expected answer',
        {
          outputChars: out.length,
          expectedChars: expected.length,
        },
      );
    });
  },
});

const FENCE = /^```[\w-]*\s*\n([\s\S]*?)\n?```$/;

/** Parses output as JSON, allowing one surrounding Markdown code fence. */
export function parseJsonOutput(
  raw: string,
  allowFence: boolean,
): { ok: true; value: unknown } | { ok: false; error: string } {
  let body = raw.trim();
  if (allowFence) {
    const m = FENCE.exec(body);
    if (m?.[1] !== undefined) body = m[1].trim();
  }
  if (body === '') return { ok: false, error: 'output is empty' };
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch (err) {
    return { ok: false, error: `output is not valid JSON: ${truncate(errorMessage(err), 160)}` };
  }
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** `json-valid`: the output parses as JSON. */
export const jsonValidMetric = defineMetric({
  description: 'Output is valid JSON (one surrounding ``` code fence is allowed unless allowFence is false).',
  kind: 'heuristic',
  args: z.strictObject({
    allowFence: z.boolean().default(true).describe('accept one surrounding ``` code fence'),
  }),
  example: {},
  create(args) {
    return heuristic('json-valid', (item) => {
      const parsed = parseJsonOutput(outputText(item), args.allowFence);
      return passFail('json-valid', parsed.ok, parsed.ok ? 'output is valid JSON' : parsed.error);
    });
  },
});

/** Counts words as runs of non-whitespace (one pass, no array of the words: outputs can be megabytes). */
export function countWords(s: string): number {
  let n = 0;
  for (const _ of s.matchAll(/\S+/g)) n++;
  return n;
}

/** Code points of a string: UTF-16 units minus the low halves of surrogate pairs (no array of characters). */
export function countCodePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

const LengthArgs = z
  .strictObject({
    min: z.int().nonnegative().optional().describe('shortest allowed length'),
    max: z.int().nonnegative().optional().describe('longest allowed length'),
    unit: z.enum(['chars', 'words']).default('chars').describe('what the length counts'),
  })
  .superRefine((a, ctx) => {
    if (a.min === undefined && a.max === undefined) {
      ctx.addIssue({ code: 'custom', path: ['min'], message: 'expected min, max or both' });
    } else if (a.min !== undefined && a.max !== undefined && a.min > a.max) {
      ctx.addIssue({ code: 'custom', path: ['max'], message: `expected max ≥ min (${a.min})` });
    }
  });

/** `length`: the output length in characters or words lies within [min, max]. */
export const lengthMetric = defineMetric({
  description: 'Output length in characters or words is within min/max.',
  kind: 'heuristic',
  args: LengthArgs,
  example: { max: 200, unit: 'words' },
  create(args) {
    return heuristic('length', (item) => {
      const out = outputText(item);
      // Code points, not UTF-16 units, so an emoji counts as one character.
      const n = args.unit === 'chars' ? countCodePoints(out) : countWords(out);
      const unit = args.unit === 'chars' ? 'characters' : 'words';
      if (args.min !== undefined && n < args.min)
        return passFail('length', false, `${n} ${unit}, below min ${args.min}`, { length: n });
      if (args.max !== undefined && n > args.max)
        return passFail('length', false, `${n} ${unit}, above max ${args.max}`, { length: n });
      return passFail('length', true, `${n} ${unit}, within limits`, { length: n });
    });
  },
});

/** `latency`: the target answered within `maxDuration` (from `item.latencyMs`). */
export const latencyMetric = defineMetric({
  description: "The target's response time (item.latencyMs) is at most maxDuration.",
  kind: 'heuristic',
  args: z.strictObject({
    maxDuration: durationSchema({ example: '5s' }).describe(
      'slowest allowed response time, e.g. 5s or 1500ms (was `maxMs` in milliseconds)',
    ),
  }),
  example: { maxDuration: '5s' },
  create(args) {
    const maxMs = durationMs(args.maxDuration)!;
    return heuristic('latency', (item) => {
      if (item.latencyMs === undefined)
        return errorScore('latency', 'the item has no latencyMs', { errorCause: 'input' });
      const pass = item.latencyMs <= maxMs;
      return passFail(
        'latency',
        pass,
        `${Math.round(item.latencyMs)} ms, ${pass ? 'within' : 'over'} the ${args.maxDuration} limit`,
        { latencyMs: item.latencyMs },
      );
    });
  },
});

const WORD_CHAR = /[\p{L}\p{N}_]/u;

/** A case-insensitive matcher for a keyword as a whole word or phrase; inner whitespace matches any whitespace. */
export function keywordPattern(keyword: string): RegExp {
  const k = keyword.trim();
  const body = k
    .split(/\s+/)
    // No escape for "-": outside a class it is literal, and the `u` flag refuses `\-` (a keyword like "e-mail" threw).
    .map((w) => w.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))
    .join('\\s+');
  // Boundaries only where the keyword starts/ends with a word character, so "C++" and ".NET" still match.
  const before = WORD_CHAR.test(k[0] ?? '') ? '(?<![\\p{L}\\p{N}_])' : '';
  const after = WORD_CHAR.test(k.at(-1) ?? '') ? '(?![\\p{L}\\p{N}_])' : '';
  return new RegExp(before + body + after, 'iu');
}

/** `keyword-coverage`: the fraction of keywords present as whole words (case-insensitive). */
export const keywordCoverageMetric = defineMetric({
  description: 'Fraction of keywords present in the output as whole words or phrases (case-insensitive).',
  kind: 'heuristic',
  args: z.strictObject({
    keywords: z
      .array(text)
      .min(1, { error: 'expected at least one keyword' })
      .describe('words or phrases the answer should contain (case-insensitive)'),
    minCoverage: z.number().min(0).max(1).optional().describe('label pass/fail at this fraction'),
  }),
  example: { keywords: ['refund', 'order number', '30 days'], minCoverage: 0.66 },
  create(args) {
    const patterns = args.keywords.map((k) => ({ keyword: k, re: keywordPattern(k) }));
    return heuristic('keyword-coverage', (item) => {
      const out = outputText(item);
      const missing = patterns.filter((p) => !p.re.test(out)).map((p) => p.keyword);
      const found = patterns.length - missing.length;
      const value = found / patterns.length;
      const label = args.minCoverage === undefined ? undefined : value >= args.minCoverage ? 'pass' : 'fail';
      return {
        metric: 'keyword-coverage',
        value,
        ...(label ? { label } : {}),
        reason: `${found} of ${patterns.length} keywords present${missing.length ? `; missing ${quoteList(missing)}` : ''}`,
        details: { found, total: patterns.length, missing },
      };
    });
  },
});
