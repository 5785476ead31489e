import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { fieldRows, jsonSchemaOf, typeOf } from './schema-doc.ts';

describe('typeOf', () => {
  it.each([
    [z.string(), 'text'],
    [z.url(), 'URL'],
    [z.number().min(0).max(1), 'number 0–1'],
    [z.number().gt(0).max(1), 'number over 0 up to 1'],
    [z.number().positive(), 'number > 0'],
    [z.int(), 'whole number'],
    [z.int().min(1), 'whole number ≥ 1'],
    [z.int().max(9), 'whole number ≤ 9'],
    [z.boolean(), '`true` | `false`'],
    [z.enum(['day', 'week']), '`day` | `week`'],
    [z.literal('run'), '`run`'],
    [z.array(z.string()), 'list of text'],
    [z.union([z.string(), z.array(z.string())]), 'text or list of text'],
    [z.record(z.string(), z.number()), 'mapping of name → number'],
    [z.strictObject({ a: z.string() }), 'mapping'],
    [z.unknown(), 'any value'],
  ])('%#: a schema reads as %s', (schema, expected) => {
    expect(typeOf(jsonSchemaOf(schema))).toBe(expected);
  });
});

describe('fieldRows', () => {
  const schema = z.strictObject({
    name: z.string().describe('who'),
    size: z.int().min(1).default(3).describe('how many'),
    nested: z.strictObject({ deep: z.boolean().optional().describe('a flag') }).describe('a group'),
    list: z.array(z.strictObject({ at: z.string().describe('where') })).describe('entries'),
    either: z
      .union([z.number(), z.strictObject({ score: z.number().describe('the score') })])
      .describe('a number or a mapping'),
    linked: z.strictObject({ hidden: z.string() }).describe('documented elsewhere'),
  });

  it('flattens nested objects, lists of objects and object forms of a union; a default makes a field optional', () => {
    expect(fieldRows(schema, { linked: 'see below' })).toEqual([
      { path: 'name', type: 'text', required: true, description: 'who' },
      { path: 'size', type: 'whole number ≥ 1', required: false, default: '`3`', description: 'how many' },
      { path: 'nested', type: 'mapping', required: true, description: 'a group' },
      { path: 'nested.deep', type: '`true` | `false`', required: false, description: 'a flag' },
      { path: 'list', type: 'list of mapping', required: true, description: 'entries' },
      { path: 'list[].at', type: 'text', required: true, description: 'where' },
      { path: 'either', type: 'number or mapping', required: true, description: 'a number or a mapping' },
      { path: 'either.score', type: 'number', required: true, description: 'the score' },
      { path: 'linked', type: 'see below', required: true, description: 'documented elsewhere' },
    ]);
  });

  it('lists every form of a top-level union once per field, and leaves a field without description undescribed', () => {
    const ref = z.union([z.string(), z.strictObject({ file: z.string() }), z.strictObject({ url: z.url() })]);
    expect(fieldRows(ref)).toEqual([
      { path: 'file', type: 'text', required: true },
      { path: 'url', type: 'URL', required: true },
    ]);
  });
});
