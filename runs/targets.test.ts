import nock from 'nock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSilentLogger } from '../config/index.ts';
import { createLlm } from '../llm/index.ts';
import { anthropicMessage, createScriptedProvider } from '../llm/testing.ts';
import { createLangfuseTracing } from '../llm/otel.ts';
import { startFakeLangfuse } from '../test/fixtures/fake-langfuse.ts';
import { startStubAgent, type StubServer } from '../test/fixtures/runs-stub-server.ts';
import {
  createTarget,
  type PromptRecord,
  type PromptSource,
  promptConfigParams,
  renderPromptMessages,
  resolveModelName,
  TARGET_TYPES,
  targets,
  type TargetRequest,
} from './targets.ts';

const req = (input: string, extra: Partial<TargetRequest> = {}): TargetRequest => ({
  item: { key: 'k', row: 1, input, context: 'ctx', metadata: { product: 'store' } },
  transcript: [{ role: 'user', content: input }],
  turn: 1,
  conversationId: 'run_1::k',
  ...extra,
});

describe('target registry', () => {
  it('every target is documented and constructible from its example', () => {
    const llm = createLlm({ env: {} });
    for (const type of TARGET_TYPES) {
      const def = targets[type];
      expect(def.description.length, type).toBeGreaterThan(20);
      const built = createTarget({ type, ...(def.example as object) }, { env: { AGENT_TOKEN: 't' }, llm });
      expect(built.ok, type).toBe(true);
    }
  });

  it('unknown types and bad arguments are errors naming the argument', () => {
    expect(createTarget({ type: 'htp' }, { env: {} })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/unknown target type 'htp'/),
    });
    expect(createTarget({ type: 'http', url: 'ftp://x' }, { env: {} })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/url/),
    });
    expect(createTarget({ type: 'prompt', name: 'p', label: 'a', version: 2 }, { env: {} })).toMatchObject({
      ok: false,
    });
  });
});

describe('recorded and model targets', () => {
  it('recorded returns the item output, and an error when there is none', async () => {
    const t = createTarget({ type: 'recorded' }, { env: {} });
    if (!t.ok) throw new Error(t.error);
    expect(
      await t.target.respond({ ...req('q'), item: { key: 'k', row: 1, input: 'q', output: 'a' } }),
    ).toMatchObject({ ok: true, text: 'a' });
    expect(await t.target.respond(req('q'))).toMatchObject({
      ok: false,
      error: expect.stringMatching(/no recorded/),
    });
  });

  it('model calls the Llm wrapper with the rendered system prompt', async () => {
    const t = createTarget(
      { type: 'model', model: 'offline:heuristic', system: 'Facts: {{context}}' },
      { env: {}, llm: createLlm({ env: {} }) },
    );
    if (!t.ok) throw new Error(t.error);
    const res = await t.target.respond(req('What is the refund window?'));
    expect(res).toMatchObject({ ok: true, text: expect.stringMatching(/offline heuristic reply/) });
  });

  it('model passes on how the reply ended: a refusal is not an answer', async () => {
    // Response shape: https://platform.claude.com/docs/en/api/messages (stop_reason "refusal").
    nock.disableNetConnect();
    const scope = nock('https://anthropic.test')
      .post('/v1/messages')
      .reply(200, anthropicMessage('', { stopReason: 'refusal', input: 30, output: 2 }));
    try {
      const t = createTarget(
        { type: 'model', model: 'anthropic:claude-sonnet-5-5' },
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
      expect(await t.target.respond(req('x'))).toMatchObject({
        ok: true,
        text: '',
        finish: 'refused',
        finishDetail: 'refusal',
        priceKnown: true,
        usage: { inputTokens: 30, outputTokens: 2 },
      });
      expect(scope.isDone()).toBe(true);
    } finally {
      nock.cleanAll();
      nock.enableNetConnect();
    }
  });

  it('model reports a provider error as a value', async () => {
    const t = createTarget(
      { type: 'model', model: 'anthropic:claude-sonnet-5-5' },
      { env: {}, llm: createLlm({ env: {} }) },
    );
    if (!t.ok) throw new Error(t.error);
    expect(await t.target.respond(req('x'))).toMatchObject({ ok: false });
  });
});

describe('http target against a local agent', () => {
  let stub: StubServer;
  beforeAll(async () => {
    stub = await startStubAgent();
  });
  afterAll(() => stub.close());

  const http = (extra: Record<string, unknown> = {}) => {
    const t = createTarget(
      {
        type: 'http',
        url: `${stub.url}/chat`,
        // biome-ignore lint/suspicious/noTemplateCurlyInString: ${ENV:NAME} is the suite placeholder syntax
        headers: { authorization: 'Bearer ${ENV:AGENT_TOKEN}', 'x-team': { fromEnv: 'TEAM' } },
        body: { message: '{{input}}', history: '{{messages}}', product: '{{metadata.product}}' },
        answer: '$.reply',
        end: 'done',
        ...extra,
      },
      { env: { AGENT_TOKEN: 'sekret', TEAM: 'evals' } },
    );
    if (!t.ok) throw new Error(t.error);
    return t.target;
  };

  it('renders the body, sends env headers and reads the answer path', async () => {
    const res = await http().respond(req('hello "there"'));
    expect(res).toMatchObject({ ok: true, text: 'You asked: hello "there"' });
    const last = stub.requests.at(-1)!;
    expect(last.headers.authorization).toBe('Bearer sekret');
    expect(last.headers['x-team']).toBe('evals');
    expect(last.body).toEqual({
      message: 'hello "there"',
      history: [{ role: 'user', content: 'hello "there"' }],
      product: 'store',
    });
  });

  it('non-2xx, time-outs, missing answers and refused connections are values', async () => {
    expect(await http().respond(req('please FAIL'))).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^HTTP 500/),
    });
    expect(await http({ timeoutMs: 100 }).respond(req('SLOW'))).toMatchObject({
      ok: false,
      error: 'timed out after 100 ms',
    });
    expect(await http({ answer: '$.nope' }).respond(req('x'))).toMatchObject({
      ok: false,
      error: expect.stringMatching(/no answer at \$\.nope/),
    });
    expect(await http({ url: 'http://127.0.0.1:9/chat' }).respond(req('x'))).toMatchObject({
      ok: false,
      error: expect.stringMatching(/request failed/),
    });
  });

  it('the agent can end the conversation', async () => {
    expect(await http().respond(req('bye END'))).toMatchObject({ ok: true, end: true });
  });
});

describe('prompt target (in-memory PromptSource)', () => {
  const chat: PromptRecord = {
    name: 'support',
    version: 3,
    type: 'chat',
    prompt: [
      { role: 'system', content: 'You help with {{product}}. Context: {{context}}' },
      { role: 'user', content: '{{input}}' },
    ],
    config: { model: 'offline:heuristic' },
  };

  it('fetches once per run with the label, renders variables and calls the model', async () => {
    const calls: unknown[] = [];
    const prompts: PromptSource = {
      async getPrompt(name, selector) {
        calls.push([name, selector]);
        return chat;
      },
    };
    const t = createTarget(
      { type: 'prompt', name: 'support', label: 'staging' },
      { env: {}, prompts, llm: createLlm({ env: {} }) },
    );
    if (!t.ok) throw new Error(t.error);
    expect(await t.target.respond(req('refund?'))).toMatchObject({ ok: true });
    expect(await t.target.respond(req('again?'))).toMatchObject({ ok: true });
    expect(calls).toEqual([['support', { label: 'staging' }]]);
  });

  it('renders chat and text prompts with the conversation', () => {
    const vars = { input: 'q1', product: 'store', context: 'c' };
    const transcript = [
      { role: 'user' as const, content: 'q1' },
      { role: 'assistant' as const, content: 'a1' },
      { role: 'user' as const, content: 'q2' },
    ];
    expect(renderPromptMessages(chat, vars, transcript)).toEqual({
      ok: true,
      messages: [
        { role: 'system', content: 'You help with store. Context: c' },
        { role: 'user', content: 'q1' },
        { role: 'assistant', content: 'a1' },
        { role: 'user', content: 'q2' },
      ],
    });
    const text: PromptRecord = { name: 't', version: 1, type: 'text', prompt: 'Be nice about {{product}}.' };
    expect(renderPromptMessages(text, vars, transcript.slice(0, 1))).toEqual({
      ok: true,
      messages: [
        { role: 'system', content: 'Be nice about store.' },
        { role: 'user', content: 'q1' },
      ],
    });
  });

  it('a failing prompt source is an error value', async () => {
    const t = createTarget(
      { type: 'prompt', name: 'gone', model: 'offline:heuristic' },
      { env: {}, prompts: { getPrompt: async () => Promise.reject(new Error('404 not found')) } },
    );
    if (!t.ok) throw new Error(t.error);
    expect(await t.target.respond(req('x'))).toMatchObject({
      ok: false,
      error: "prompt 'gone': 404 not found",
    });
  });
});

describe('prompt target: Langfuse prompt config, placeholders, strict variables', () => {
  const source = (record: PromptRecord): PromptSource => ({ getPrompt: async () => record });

  it.each([
    ['claude-sonnet-5-5', 'anthropic:claude-sonnet-5-5'],
    ['gemini-3-pro', 'gemini:gemini-3-pro'],
    ['anthropic:claude-sonnet-5-5', 'anthropic:claude-sonnet-5-5'],
    ['offline:heuristic', 'offline:heuristic'],
  ])('model %s resolves to %s', (name, model) => {
    expect(resolveModelName(name)).toEqual({ ok: true, model });
  });

  it('a model of no known family is an error that says how to write it', () => {
    expect(resolveModelName('gpt-5')).toEqual({
      ok: false,
      error: expect.stringContaining('provider:model'),
    });
  });

  it.each([
    [{ temperature: 3 }, 'config.temperature must be a number from 0 to 2'],
    [{ max_tokens: 'lots' }, 'config.max_tokens must be a positive whole number'],
    [{ model: 'llama-4' }, "config.model: model 'llama-4' has no known provider"],
  ])('config %j is an error naming the key', (config, error) => {
    expect(promptConfigParams(config)).toEqual({ ok: false, error: expect.stringContaining(error) });
  });

  it("sends the config's plain model name and max_tokens to the provider (temperature where it allows it)", async () => {
    nock.disableNetConnect();
    let body: Record<string, unknown> = {};
    nock('https://anthropic.test')
      .post('/v1/messages', (b) => {
        body = b;
        return true;
      })
      .reply(200, anthropicMessage('Open 9 to 5.'));
    try {
      const llm = createLlm({
        env: {
          ANTHROPIC_API_KEY: 'sk-ant-test-0123456789abcdef',
          ANTHROPIC_BASE_URL: 'https://anthropic.test',
        },
        settings: { cache: false },
      });
      const t = createTarget(
        { type: 'prompt', name: 'support' },
        {
          env: {},
          llm,
          prompts: source({
            name: 'support',
            version: 7,
            type: 'text',
            prompt: 'You support {{product}}.',
            config: { model: 'claude-sonnet-5-5', max_tokens: 321, temperature: 0.3 },
          }),
        },
      );
      if (!t.ok) throw new Error(t.error);
      expect(await t.target.respond(req('hours?'))).toMatchObject({ ok: true, text: 'Open 9 to 5.' });
      expect(body).toMatchObject({
        model: 'claude-sonnet-5-5',
        max_tokens: 321,
        system: 'You support store.',
      });
      // Claude 5 models refuse non-default sampling, so the Anthropic provider leaves the config's temperature out.
      expect(body).not.toHaveProperty('temperature');
    } finally {
      nock.cleanAll();
      nock.enableNetConnect();
    }
  });

  it('a missing variable is an input error on that item naming the variable, never an empty string', async () => {
    const t = createTarget(
      { type: 'prompt', name: 'p', model: 'offline:heuristic' },
      {
        env: {},
        llm: createLlm({ env: {} }),
        prompts: source({ name: 'p', version: 2, type: 'text', prompt: 'Answer in {{language}}: {{input}}' }),
      },
    );
    if (!t.ok) throw new Error(t.error);
    expect(await t.target.respond(req('hi'))).toEqual({
      ok: false,
      error: expect.stringMatching(/^prompt 'p' v2: variable 'language' is not in the item/),
      latencyMs: 0,
      // The dataset's fault: the run says NOT SCORED (exit 1), not an infrastructure failure (exit 3).
      cause: 'input',
    });
  });

  it('fills a chat placeholder from the item, and an unfilled one with the conversation', () => {
    const prompt: PromptRecord = {
      name: 'chat',
      version: 1,
      type: 'chat',
      prompt: [
        { role: 'system', content: 'Be brief.' },
        { type: 'placeholder', name: 'examples' },
        { type: 'placeholder', name: 'history' },
      ],
    };
    const transcript = [
      { role: 'user' as const, content: 'q1' },
      { role: 'assistant' as const, content: 'a1' },
      { role: 'user' as const, content: 'q2' },
    ];
    const examples = [
      { role: 'user', content: 'ex q' },
      { role: 'assistant', content: 'ex a' },
    ];
    expect(renderPromptMessages(prompt, { examples, input: 'q1' }, transcript)).toEqual({
      ok: true,
      messages: [{ role: 'system', content: 'Be brief.' }, ...examples, ...transcript],
    });
    // Two placeholders the item does not fill: the second cannot be guessed.
    expect(renderPromptMessages(prompt, { input: 'q1' }, transcript)).toEqual({
      ok: false,
      error: expect.stringContaining("placeholder 'history' is not filled"),
    });
    expect(renderPromptMessages(prompt, { examples: 'not a list', input: 'q1' }, transcript)).toEqual({
      ok: false,
      error: expect.stringContaining("placeholder 'examples' must be a list"),
    });
  });

  it('links the target generation to the Langfuse prompt name and version it rendered', async () => {
    const lf = await startFakeLangfuse();
    const keys = { publicKey: 'pk-lf-t', secretKey: 'sk-lf-t' };
    const tracing = createLangfuseTracing({ baseUrl: lf.url, ...keys, logger: createSilentLogger() });
    try {
      const agent = createScriptedProvider('agent', [{ text: 'Open 9 to 5.' }]);
      const llm = createLlm({
        env: {
          LLM_TRACE: true,
          LANGFUSE_PUBLIC_KEY: keys.publicKey,
          LANGFUSE_SECRET_KEY: keys.secretKey,
          LANGFUSE_BASE_URL: lf.url,
        },
        providers: { agent: agent.provider },
        settings: { cache: false },
        tracing,
      });
      const t = createTarget(
        { type: 'prompt', name: 'support', version: 7 },
        {
          env: {},
          llm,
          prompts: source({
            name: 'support',
            version: 7,
            type: 'text',
            prompt: 'You support {{product}}.',
            config: { model: 'agent:a1' },
          }),
        },
      );
      if (!t.ok) throw new Error(t.error);
      expect(await t.target.respond(req('hours?'))).toMatchObject({ ok: true, text: 'Open 9 to 5.' });
      await tracing.flush();
      expect(lf.spans.map((s) => [s.name, s.attributes['langfuse.observation.type']])).toEqual([
        ['arbiter.target', 'generation'],
      ]);
      expect(lf.spans[0]!.attributes).toMatchObject({
        'langfuse.observation.prompt.name': 'support',
        'langfuse.observation.prompt.version': 7,
      });
    } finally {
      await tracing.shutdown();
      await lf.close();
    }
  });
});
