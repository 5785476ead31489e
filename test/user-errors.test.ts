// No raw validation text reaches a user (issue 16, problem 11): zod's JSON dump becomes one readable line, and a
// stored document failing its schema is shown to a chat user as a reference only.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { errorMessage } from '../commands/dispatch.ts';
import { renderBlocks } from '../bot/render-blocks.ts';
import { ArbiterError, describeError } from '../config/index.ts';

const Schema = z.object({ items: z.array(z.object({ score: z.number(), label: z.string() })) });

describe('describeError', () => {
  it('turns a ZodError into its first issue with its path, never the JSON dump', () => {
    const r = Schema.safeParse({ items: [{ score: 'high', label: 3 }] });
    expect(r.success).toBe(false);
    const text = describeError(r.error);
    expect(text).toMatch(/^invalid data at items\.0\.score: .+ \(and 1 more problem\(s\)\)$/);
    expect(text).not.toContain('[');
    expect(text).not.toContain('"code"');
    // A thrown parse error reads the same.
    let thrown: unknown;
    try {
      Schema.parse({ items: 'x' });
    } catch (err) {
      thrown = err;
    }
    expect(describeError(thrown)).toMatch(/^invalid data at items: /);
  });

  it('keeps our own messages whole and other errors to their first line', () => {
    expect(describeError(new ArbiterError('USAGE', 'line one\nline two'))).toBe('line one\nline two');
    expect(describeError(new Error('boom\n    at stack (file.ts:1:1)'))).toBe('boom');
    expect(describeError('plain')).toBe('plain');
  });
});

describe('errorMessage for chat users', () => {
  it('shows a stored-document schema failure as a reference only', () => {
    const err = new ArbiterError(
      'STORE_INVALID_DOCUMENT',
      'A stored review does not match its schema: Invalid input: expected string, received undefined',
    );
    const shown = JSON.stringify(renderBlocks(errorMessage(err, 'err_42')));
    expect(shown).toContain('err_42');
    expect(shown).not.toContain('Invalid input');
    expect(shown).not.toContain('schema');
  });

  it('still tells a user their own mistake', () => {
    const shown = JSON.stringify(
      renderBlocks(errorMessage(new ArbiterError('NOT_FOUND', 'No run r_1.'), 'err_1')),
    );
    expect(shown).toContain('No run r_1.');
  });
});
