// Tool calls from targets: the http target reads them at `toolCallsPath` from a local agent; the model target offers
// `tools` and records the provider's tool-use blocks (Anthropic Messages API `tool_use` content blocks, faked at the
// HTTP boundary in the current shape: https://platform.claude.com/docs/en/agents-and-tools/tool-use/overview).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import nock from 'nock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLlm } from '../llm/index.ts';
import { parseDataset } from './datasets.ts';
import { createTarget, type TargetRequest } from './targets.ts';

const req = (input: string): TargetRequest => ({
  item: { key: 'k', row: 1, input },
  transcript: [{ role: 'user', content: input }],
  turn: 1,
  conversationId: 'run_1::k',
});

describe('http target: toolCallsPath', () => {
  let server: Server;
  let url = '';
  beforeAll(async () => {
    // A local agent: the reply and the tool calls it made, in OpenAI-style and plain shapes by the input.
    server = createServer((r, res) => {
      let body = '';
      r.on('data', (c) => {
        body += c;
      });
      r.on('end', () => {
        const input = (JSON.parse(body) as { input: string }).input;
        const out: Record<string, unknown> = { reply: `ok: ${input}` };
        if (input === 'openai')
          out.trace = {
            tool_calls: [
              { id: 'call_1', type: 'function', function: { name: 'search', arguments: '{"q":"paris"}' } },
              { id: 'call_2', type: 'function', function: { name: 'book', arguments: '{}' } },
            ],
          };
        if (input === 'plain') out.trace = { tool_calls: [{ name: 'search', args: { q: 'rome' } }] };
        if (input === 'broken') out.trace = { tool_calls: [{ args: {} }] };
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(out));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/chat`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const target = (extra: Record<string, unknown> = {}) => {
    const t = createTarget({ type: 'http', url, answer: '$.reply', ...extra }, { env: {} });
    if (!t.ok) throw new Error(t.error);
    return t.target;
  };

  it.each([
    [
      'openai',
      [
        { name: 'search', args: { q: 'paris' } },
        { name: 'book', args: {} },
      ],
    ],
    ['plain', [{ name: 'search', args: { q: 'rome' } }]],
    ['none', []],
  ])('%s: reads the calls at the path', async (input, toolCalls) => {
    const res = await target({ toolCallsPath: '$.trace.tool_calls' }).respond(req(input));
    expect(res).toMatchObject({ ok: true, text: `ok: ${input}`, toolCalls });
  });

  it('without toolCallsPath the target reports no tool calls (metrics then say so)', async () => {
    const res = await target().respond(req('openai'));
    expect(res.ok && res.toolCalls).toBeUndefined();
  });

  it('calls that do not read are the target error, naming the path', async () => {
    expect(await target({ toolCallsPath: 'trace.tool_calls' }).respond(req('broken'))).toMatchObject({
      ok: false,
      error: 'tool calls at trace.tool_calls: tool call 1 has no `name`',
    });
  });

  it('a bad path is rejected when the target is built', () => {
    const t = createTarget({ type: 'http', url, toolCallsPath: '$..[' }, { env: {} });
    expect(t.ok).toBe(false);
  });
});

describe('model target: tools', () => {
  it('offers the tools and records the tool_use blocks as toolCalls', async () => {
    nock.disableNetConnect();
    let sent: Record<string, unknown> = {};
    const scope = nock('https://anthropic.test')
      .post('/v1/messages', (b) => {
        sent = b;
        return true;
      })
      .reply(200, {
        id: 'msg_01Tools',
        type: 'message',
        role: 'assistant',
        model: 'claude-sonnet-5-5',
        content: [{ type: 'tool_use', id: 'toolu_01', name: 'lookup_order', input: { orderId: 'A-17' } }],
        stop_reason: 'tool_use',
        stop_sequence: null,
        usage: { input_tokens: 200, output_tokens: 40 },
      });
    try {
      const tools = [
        {
          name: 'lookup_order',
          description: 'Finds an order',
          parameters: { type: 'object', properties: { orderId: { type: 'string' } } },
        },
      ];
      const t = createTarget(
        { type: 'model', model: 'anthropic:claude-sonnet-5-5', tools },
        {
          env: {},
          llm: createLlm({
            env: {
              ANTHROPIC_API_KEY: 'sk-ant-test-0123456789abcdef',
              ANTHROPIC_BASE_URL: 'https://anthropic.test',
            },
            settings: { cache: false },
          }),
        },
      );
      if (!t.ok) throw new Error(t.error);
      const res = await t.target.respond(req('Where is order A-17?'));
      expect(res).toMatchObject({
        ok: true,
        finish: 'complete',
        toolCalls: [{ name: 'lookup_order', args: { orderId: 'A-17' } }],
        usage: { inputTokens: 200, outputTokens: 40 },
      });
      expect(sent.tools).toEqual([
        { name: 'lookup_order', description: 'Finds an order', input_schema: tools[0]!.parameters },
      ]);
      expect(scope.isDone()).toBe(true);
    } finally {
      nock.cleanAll();
      nock.enableNetConnect();
    }
  });

  it('a model target without tools reports no toolCalls; a bad tool name is rejected when built', async () => {
    const t = createTarget(
      { type: 'model', model: 'offline:heuristic' },
      { env: {}, llm: createLlm({ env: {} }) },
    );
    if (!t.ok) throw new Error(t.error);
    const res = await t.target.respond(req('hi'));
    expect(res.ok && res.toolCalls).toBeUndefined();
    const bad = createTarget(
      { type: 'model', model: 'offline:heuristic', tools: [{ name: 'has space' }] },
      { env: {} },
    );
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error).toContain('tools.0.name');
  });
});

describe('recorded target and datasets: tool calls', () => {
  it('JSONL and CSV rows carry toolCalls and expectedToolCalls (CSV as JSON cells)', () => {
    const jsonl = parseDataset(
      [
        JSON.stringify({
          input: 'a',
          output: 'x',
          toolCalls: [{ name: 'search', args: { q: 1 } }],
          expectedToolCalls: [{ name: 'search' }],
        }),
        JSON.stringify({ input: 'b', toolCalls: [{ args: {} }] }),
      ].join('\n'),
      'jsonl',
    );
    expect(jsonl.items[0]).toMatchObject({
      toolCalls: [{ name: 'search', args: { q: 1 } }],
      expectedToolCalls: [{ name: 'search', args: {} }],
    });
    expect(jsonl.errors).toEqual([{ row: 2, reason: expect.stringContaining('toolCalls[0].name') }]);
    const csv = parseDataset(
      'input,expectedToolCalls,toolCalls\nq,"[{""name"":""book"",""args"":{""n"":2}}]",\nr,not json,\n',
      'csv',
    );
    expect(csv.items[0]).toMatchObject({ expectedToolCalls: [{ name: 'book', args: { n: 2 } }] });
    expect(csv.items[0]).not.toHaveProperty('toolCalls');
    expect(csv.errors).toEqual([{ row: 3, reason: 'column expectedToolCalls: not valid JSON' }]);
  });

  it('the recorded target returns the row’s tool calls with its output', async () => {
    const t = createTarget({ type: 'recorded' }, { env: {} });
    if (!t.ok) throw new Error(t.error);
    const res = await t.target.respond({
      ...req('q'),
      item: { key: 'k', row: 1, input: 'q', output: 'done', toolCalls: [{ name: 'search', args: {} }] },
    });
    expect(res).toMatchObject({ ok: true, text: 'done', toolCalls: [{ name: 'search', args: {} }] });
  });
});
