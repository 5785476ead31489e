// Reading stored documents back with their schema: a corrupt document is an error naming where it lives.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isArbiterError } from '../config/index.ts';
import { parseStored, parseStoredJson } from './stored.ts';

const Doc = z.object({ _id: z.string(), count: z.number(), tags: z.array(z.string()) });

describe('parseStored', () => {
  it('returns the parsed document when it matches', () => {
    expect(parseStored(Doc, { _id: 'a', count: 1, tags: [] }, { collection: 'things' })).toEqual({
      _id: 'a',
      count: 1,
      tags: [],
    });
  });

  it('names the collection, the id and the bad field of a corrupt document', () => {
    const err = (() => {
      try {
        parseStored(Doc, { _id: 'th_7', count: 'three', tags: [] }, { collection: 'things' });
      } catch (e) {
        return e;
      }
    })();
    expect(isArbiterError(err, 'STORE_INVALID_DOCUMENT')).toBe(true);
    expect((err as Error).message).toMatch(
      /^Stored document things\/th_7 does not match its schema: count: /,
    );
    expect((err as { hint?: string }).hint).toContain('another version of Arbiter');
  });

  it('names the field a JSON string came from, and reports unreadable JSON the same way', () => {
    const at = { collection: 'runs', id: 'run_1', field: 'suiteJson' };
    expect(() => parseStoredJson(Doc, '{"_id":"x","count":1}', at)).toThrow(
      /^Stored document runs\/run_1 \(field suiteJson\) does not match its schema: tags: /,
    );
    expect(() => parseStoredJson(Doc, '{"_id": "x", "cou', at)).toThrow(
      /^Stored document runs\/run_1 \(field suiteJson\) holds unreadable JSON: /,
    );
  });
});
