// Monitor extractors read the tool calls of a production trace, so agent metrics score traces as they score datasets.
import { describe, expect, it } from 'vitest';
import { createMetric } from '../evaluators/registry.ts';
import { ExtractSchema } from '../monitors/schema.ts';
import { extractItem, extractPaths } from '../monitors/extract.ts';

// A trace record with OpenAI-style tool calls (arguments as JSON text) and expected calls stored by the team.
const record = {
  input: 'Cancel order A-17',
  output: { text: 'Done, it is cancelled.' },
  observations: {
    toolCalls: [
      { id: 'call_1', type: 'function', function: { name: 'lookup_order', arguments: '{"orderId":"A-17"}' } },
      { id: 'call_2', type: 'function', function: { name: 'cancel_order', arguments: '{"orderId":"A-17"}' } },
    ],
  },
  meta: { expected: [{ name: 'lookup_order', args: { orderId: 'A-17' } }, { name: 'cancel_order' }] },
};

describe('extractor: toolCalls and expectedToolCalls paths', () => {
  const spec = ExtractSchema.parse({
    input: 'input',
    output: 'output.text',
    toolCalls: 'observations.toolCalls',
    expectedToolCalls: 'meta.expected',
  });

  it('reads the calls as values in the item shape and asks the source for their fields', () => {
    const r = extractItem(record, spec, 'r1');
    expect(r).toMatchObject({
      ok: true,
      item: {
        toolCalls: [
          { name: 'lookup_order', args: { orderId: 'A-17' } },
          { name: 'cancel_order', args: { orderId: 'A-17' } },
        ],
        expectedToolCalls: [
          { name: 'lookup_order', args: { orderId: 'A-17' } },
          { name: 'cancel_order', args: {} },
        ],
      },
    });
    expect(extractPaths(spec)).toEqual(expect.arrayContaining(['observations.toolCalls', 'meta.expected']));
  });

  it('the extracted item scores with tool-correctness like a dataset row', async () => {
    const r = extractItem(record, spec, 'r1');
    if (!r.ok) throw new Error(r.reason);
    const m = createMetric('tool-correctness', { matchArgs: 'subset' });
    if (!m.ok) throw new Error(m.error);
    expect((await m.metric.score(r.item)).value).toBe(1);
  });

  it('a record without calls at the path is an item without toolCalls; unreadable calls reject the record', () => {
    const none = extractItem({ ...record, observations: {} }, spec, 'r2');
    expect(none.ok && 'toolCalls' in none.item).toBe(false);
    const bad = extractItem({ ...record, observations: { toolCalls: [{ function: {} }] } }, spec, 'r3');
    expect(bad).toEqual({
      ok: false,
      id: 'r3',
      reason: "toolCalls 'observations.toolCalls': tool call 1 has no `name`",
    });
  });
});
