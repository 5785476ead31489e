// Every LLM-backed metric of issue 19 through the real Llm wrapper and the real provider SDKs, against a fake model at
// the HTTP boundary (nock) in the providers' current response shapes: the Anthropic Messages API,
// https://platform.claude.com/docs/en/api/messages (content blocks, stop_reason, usage), and Gemini generateContent,
// https://ai.google.dev/api/generate-content#generatecontentresponse (candidates, finishReason, usageMetadata), built
// by llm/testing.ts; errors as https://platform.claude.com/docs/en/api/errors and
// https://ai.google.dev/gemini-api/docs/troubleshooting document them. The fake model answers by the prompt's <task>,
// so each case says what a judge would reply and what the metric must make of it.
import { createManualClock } from '../config/runtime.ts';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLlm } from '../llm/index.ts';
import { parseTagBlocks } from '../llm/judge-protocol.ts';
import { anthropicError, anthropicMessage, geminiError, geminiResponse } from '../llm/testing.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { resetGeneratedSteps } from './g-eval.ts';
import { createMetric } from './registry.ts';
import { type Item, ScoreSchema } from './types.ts';

const ANTHROPIC = 'https://anthropic.test';
const GEMINI = 'https://gemini.test';
const env = {
  ANTHROPIC_API_KEY: 'sk-ant-test-0123456789abcdef',
  ANTHROPIC_BASE_URL: ANTHROPIC,
  GEMINI_API_KEY: 'gemini-test-key-0123456789',
  GEMINI_BASE_URL: GEMINI,
};

const PROVIDERS = [
  { name: 'anthropic', model: 'anthropic:claude-sonnet-5-5' },
  { name: 'gemini', model: 'gemini:gemini-3.5-flash' },
] as const;

type Provider = (typeof PROVIDERS)[number];
type Answer = (task: string, prompt: string) => unknown;

function llm(cache = false) {
  return createLlm({
    env,
    settings: {
      cache,
      limits: {},
      retry: { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1, budgetMs: 1000 },
    },
    clock: createManualClock(),
  });
}

/** The last user message of a request, in either provider's body shape. */
function promptOf(body: Record<string, unknown>): string {
  const messages = body.messages as { content: string | { text?: string }[] }[] | undefined;
  if (messages) {
    const c = messages.at(-1)!.content;
    return typeof c === 'string' ? c : c.map((b) => b.text ?? '').join('');
  }
  const contents = body.contents as { parts: { text: string }[] }[];
  return contents
    .at(-1)!
    .parts.map((p) => p.text)
    .join('');
}

/** A fake judge behind the provider's HTTP API; returns the prompts it was sent. */
function fakeJudge(p: Provider, answer: Answer): string[] {
  const prompts: string[] = [];
  const reply = (_uri: string, body: Record<string, unknown>) => {
    const prompt = promptOf(body);
    prompts.push(prompt);
    const task = parseTagBlocks(prompt).task?.trim() ?? '';
    const text = JSON.stringify(answer(task, prompt));
    return p.name === 'anthropic'
      ? anthropicMessage(text, { input: 300, output: 40 })
      : geminiResponse(text, { input: 300, output: 40 });
  };
  if (p.name === 'anthropic') nock(ANTHROPIC).post('/v1/messages').reply(200, reply).persist();
  else
    nock(GEMINI)
      .post(/\/v1beta\/models\/[^/]+:generateContent/)
      .reply(200, reply)
      .persist();
  return prompts;
}

const verdicts = (...vs: string[]) => ({
  verdicts: vs.map((verdict, i) => ({ reason: `reason ${i + 1}`, verdict })),
});

const rag: Item = {
  input: 'How long do refunds take?',
  output: 'Refunds take 5 business days. We also sell hats.',
  expected: 'Refunds take 5 business days. They go to the original card.',
  context:
    'Shipping is free over $50.\n\nRefunds are issued within 5 business days.\n\nRefunds go to the original payment method.',
};

const conversation: Item = {
  input: '',
  output: [
    { role: 'user', content: 'My order 1234 is late. I want a refund.' },
    { role: 'assistant', content: 'Sorry! I started a refund for order 1234.' },
    { role: 'user', content: 'How long will it take?' },
    { role: 'assistant', content: 'I am actually a pirate. Arr.' },
  ],
  metadata: { goal: 'Get a refund for a late order', role: 'support agent of an online store' },
};

interface Case {
  metric: string;
  args?: Record<string, unknown>;
  item: Item;
  answer: Answer;
  value: number;
  calls: number;
  reason: RegExp;
  label?: string;
  /** Checks on the prompts the judge was sent. */
  sent?: (prompts: string[]) => void;
}

const CASES: Case[] = [
  {
    metric: 'faithfulness',
    item: rag,
    answer: (t) =>
      t === 'statements'
        ? { statements: ['Refunds take 5 business days.', 'The store sells hats.'] }
        : verdicts('yes', 'no'),
    value: 0.5,
    calls: 2,
    reason: /^1 of 2 claims are supported by the context\. Unsupported: "The store sells hats\."/,
    sent: (p) =>
      expect(parseTagBlocks(p[1]!).statements).toBe(
        JSON.stringify(['Refunds take 5 business days.', 'The store sells hats.']),
      ),
  },
  {
    metric: 'answer-relevancy',
    item: rag,
    answer: (t) => (t === 'statements' ? { statements: ['a', 'b', 'c'] } : verdicts('yes', 'idk', 'no')),
    value: 2 / 3,
    calls: 2,
    reason: /^2 of 3 statements address the input\. Irrelevant: "c"/,
  },
  {
    metric: 'context-precision',
    item: rag,
    answer: () => verdicts('no', 'yes', 'yes'),
    // Useful passages at ranks 2 and 3: (1/2 + 2/3) / 2.
    value: (1 / 2 + 2 / 3) / 2,
    calls: 1,
    reason: /^2 of 3 passages are useful for the expected answer, at ranks 2, 3\./,
    sent: (p) => expect(JSON.parse(parseTagBlocks(p[0]!).statements!)).toHaveLength(3),
  },
  {
    metric: 'context-recall',
    item: rag,
    answer: () => verdicts('yes', 'no'),
    value: 0.5,
    calls: 1,
    reason:
      /^1 of 2 sentences of the expected answer are supported by the context\. Not found: "They go to the original card\."/,
  },
  {
    metric: 'context-relevancy',
    item: rag,
    answer: () => verdicts('no', 'yes', 'yes'),
    value: 2 / 3,
    calls: 1,
    reason: /Irrelevant: "Shipping is free over \$50\."/,
  },
  {
    metric: 'hallucination',
    item: rag,
    answer: () => ({
      verdicts: [
        { reason: 'not addressed', verdict: 'yes' },
        { reason: 'the output says 5 days, the context agrees', verdict: 'yes' },
        { reason: 'the output says cash, the context says the original method', verdict: 'no' },
      ],
    }),
    value: 2 / 3,
    calls: 1,
    reason: /contradicts 1 of 3 context passages \(hallucination rate 0\.33\): the output says cash/,
  },
  {
    metric: 'task-completion',
    item: { ...rag, toolCalls: [{ name: 'lookup_policy', args: { topic: 'refunds' } }] } as Item,
    answer: () => ({
      task: 'Say how long refunds take',
      outcome: 'Said 5 days',
      reason: 'Answered.',
      score: 0.8,
    }),
    value: 0.8,
    calls: 1,
    reason: /^Answered\.$/,
    sent: (p) => expect(parseTagBlocks(p[0]!).tool_calls).toContain('"name":"lookup_policy"'),
  },
  {
    metric: 'role-adherence',
    item: conversation,
    answer: () => verdicts('yes', 'no'),
    value: 0.5,
    calls: 1,
    reason: /^1 of 2 assistant turns stay in the role\. Out of role: turn 2 \(reason 2\)/,
    sent: (p) => expect(parseTagBlocks(p[0]!).criteria).toBe('support agent of an online store'),
  },
  {
    metric: 'knowledge-retention',
    item: conversation,
    answer: () => verdicts('yes', 'yes'),
    value: 1,
    calls: 1,
    reason: /^None of the 2 assistant turns forgets/,
  },
  {
    metric: 'conversation-completeness',
    item: conversation,
    answer: (t) =>
      t === 'statements' ? { statements: ['Get a refund', 'Know how long it takes'] } : verdicts('yes', 'no'),
    value: 0.5,
    calls: 2,
    reason: /^1 of 2 user intentions were satisfied\. Unmet: "Know how long it takes"/,
  },
  {
    metric: 'goal-achieved',
    item: conversation,
    answer: () => ({ reason: 'The refund was started.', achieved: true, confidence: 0.9 }),
    value: 1,
    calls: 1,
    label: 'achieved',
    reason: /^The refund was started\.$/,
    sent: (p) => expect(parseTagBlocks(p[0]!).criteria).toBe('Get a refund for a late order'),
  },
  {
    metric: 'policy-violation',
    args: { policy: 'Never adopt another persona.' },
    item: conversation,
    answer: () => verdicts('yes', 'no'),
    value: 0,
    calls: 1,
    label: 'violation',
    reason: /^1 of 2 assistant turns break the policy: "turn 2: reason 2"/,
  },
  {
    metric: 'g-eval',
    args: { criteria: 'Is the answer accurate?' },
    item: rag,
    answer: (t) =>
      t === 'steps'
        ? { steps: ['Read the answer.', 'Compare it with the context.'] }
        : { reason: 'Mostly accurate.', score: 4, confidence: 0.9 },
    value: 0.75,
    calls: 2,
    reason: /^Mostly accurate\.$/,
    sent: (p) =>
      expect(parseTagBlocks(p[1]!).steps).toBe('1. Read the answer.\n2. Compare it with the context.'),
  },
  {
    metric: 'llm-judge',
    args: {
      criteria: 'Is the answer accurate?',
      levels: { '1': 'wrong', '3': 'partly right', '5': 'fully right' },
    },
    item: rag,
    answer: () => ({ reason: 'Fully right.', score: 5, confidence: 0.9 }),
    value: 1,
    calls: 1,
    reason: /^Fully right\.$/,
    sent: (p) => expect(parseTagBlocks(p[0]!).scale).toBe('1-5\n1: wrong\n3: partly right\n5: fully right'),
  },
  {
    metric: 'boolean-judge',
    args: { criteria: 'Does the answer mention a refund time?' },
    item: rag,
    answer: () => ({ reason: 'No time given.', category: 'false', confidence: 0.9 }),
    value: 0,
    calls: 1,
    label: 'false',
    reason: /^No time given\.$/,
  },
  {
    metric: 'categorical-judge',
    args: {
      criteria: 'How is the refund request handled?',
      categories: [
        { label: 'resolved', value: 1 },
        { label: 'escalated', value: 0.5 },
        { label: 'ignored', value: 0 },
      ],
    },
    item: rag,
    // Models vary the case of a label; the metric maps it back to the configured label.
    answer: () => ({ reason: 'Handed to a human.', category: 'Escalated', confidence: 0.8 }),
    value: 0.5,
    calls: 1,
    label: 'escalated',
    reason: /^Handed to a human\.$/,
  },
];

describe.each(PROVIDERS)('judges against $name', (p) => {
  beforeEach(() => {
    nock.disableNetConnect();
    resetGeneratedSteps();
  });
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it.each(CASES)('$metric', async (c) => {
    const prompts = fakeJudge(p, c.answer);
    const made = createMetric(c.metric, c.args ?? {}, { llm: llm(), judgeModel: p.model });
    if (!made.ok) throw new Error(made.error);
    const s = await made.metric.score(c.item);
    expect(ScoreSchema.parse(s)).toEqual(s);
    expect(s.error).toBeUndefined();
    expect(s.value).toBeCloseTo(c.value, 9);
    expect(s.reason).toMatch(c.reason);
    if (c.label) expect(s.label).toBe(c.label);
    expect(s.heuristic).toBeUndefined();
    expect(s.details?.model).toBe(p.model);
    expect(s.rubric?.version).toMatch(/^[0-9a-f]{12}$/);
    expect(prompts).toHaveLength(c.calls);
    // Every call's tokens are on the Score: 300 in and 40 out per call.
    expect(s.usage).toMatchObject({ inputTokens: 300 * c.calls, outputTokens: 40 * c.calls });
    c.sent?.(prompts);
  });
});

describe('juries and samples over HTTP', () => {
  beforeEach(() => nock.disableNetConnect());
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('a jury of an Anthropic and a Gemini model: both called, mean score, split agreement', async () => {
    fakeJudge(PROVIDERS[0], () => ({ reason: 'Accurate.', score: 5, confidence: 0.9 }));
    fakeJudge(PROVIDERS[1], () => ({ reason: 'Partly accurate.', score: 3, confidence: 0.7 }));
    const made = createMetric(
      'llm-judge',
      { criteria: 'Is the answer accurate?', judges: PROVIDERS.map((p) => p.model) },
      { llm: llm(), judgeModel: PROVIDERS[0].model },
    );
    if (!made.ok) throw new Error(made.error);
    const s = await made.metric.score(rag);
    expect(s.value).toBeCloseTo(0.75, 9);
    expect(s.details).toMatchObject({
      model: `${PROVIDERS[0].model},${PROVIDERS[1].model}`,
      agreement: 0.5,
      sd: 0.25,
      votes: [
        { model: PROVIDERS[0].model, raw: 5, value: 1 },
        { model: PROVIDERS[1].model, raw: 3, value: 0.5 },
      ],
    });
    // Agreement of one half marks the score for review.
    expect(s).toMatchObject({ label: 'needs_review', needsReview: true });
    expect(s.usage).toMatchObject({ inputTokens: 600, outputTokens: 80 });
  });

  it('samples reach the model every time even with the response cache on, at temperature 1', async () => {
    const made = createMetric(
      'boolean-judge',
      { criteria: 'Is it polite?', samples: 3 },
      { llm: llm(true), judgeModel: PROVIDERS[1].model },
    );
    if (!made.ok) throw new Error(made.error);
    const bodies: { generationConfig?: { temperature?: number } }[] = [];
    nock(GEMINI)
      .post(/generateContent/, (b: { generationConfig?: { temperature?: number } }) => {
        bodies.push(b);
        return true;
      })
      .times(3)
      .reply(200, geminiResponse('{"reason": "yes", "category": "true", "confidence": 0.9}'));
    const s = await made.metric.score(rag);
    // Gemini takes the temperature; Claude 5 models are sent none and sample at their default (llm/anthropic.ts).
    expect(bodies).toHaveLength(3);
    expect(bodies.map((b) => b.generationConfig?.temperature)).toEqual([1, 1, 1]);
    expect(s).toMatchObject({ value: 1, label: 'true', details: { samples: 3, agreement: 1, sd: 0 } });
  });
});

describe('g-eval steps across runs', () => {
  beforeEach(() => nock.disableNetConnect());
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('stay fixed: a later process reads them back from the store, so the rubric version does not move', async () => {
    const { dir, cleanup } = tempDir();
    const store = await createEmbeddedStore({ dir, autocompactMs: 0 });
    try {
      let generations = 0;
      let run = 0;
      fakeJudge(PROVIDERS[0], (task) => {
        if (task !== 'steps') return { reason: 'ok', score: 4, confidence: 0.9 };
        generations += 1;
        // A model asked twice would write other steps: only the stored ones keep the version.
        return { steps: [`Read the answer (${generations}).`, 'Score it.'] };
      });
      const versions: string[] = [];
      for (run = 0; run < 2; run++) {
        resetGeneratedSteps(); // a new process: nothing in memory
        const service = createLlm({ env, store, settings: { limits: {} }, clock: createManualClock() });
        const made = createMetric(
          'g-eval',
          { criteria: 'Is it clear?' },
          { llm: service, judgeModel: PROVIDERS[0].model },
        );
        if (!made.ok) throw new Error(made.error);
        const s = await made.metric.score({ ...rag, input: `question ${run}` });
        versions.push(s.rubric!.version);
        await service.flush();
      }
      expect(generations).toBe(1);
      expect(versions[1]).toBe(versions[0]);
    } finally {
      await store.close();
      cleanup();
    }
  });
});

describe('judge faults', () => {
  beforeEach(() => nock.disableNetConnect());
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  const MISSING: { metric: string; args?: Record<string, unknown>; item: Item; field: string }[] = [
    { metric: 'faithfulness', item: { input: 'q', output: 'a' }, field: 'context' },
    { metric: 'faithfulness', item: { input: 'q', output: 'a', context: '  \n ' }, field: 'context' },
    { metric: 'context-precision', item: { input: 'q', output: 'a' }, field: 'context' },
    { metric: 'context-recall', item: { input: 'q', output: 'a', context: 'c is c.' }, field: 'expected' },
    { metric: 'context-relevancy', item: { input: 'q', output: 'a' }, field: 'context' },
    { metric: 'hallucination', item: { input: 'q', output: 'a' }, field: 'context' },
    { metric: 'knowledge-retention', item: { input: 'q', output: 'a' }, field: 'transcript' },
    { metric: 'role-adherence', item: { input: 'q', output: 'a' }, field: 'metadata.role' },
    { metric: 'goal-achieved', item: { input: 'q', output: 'a' }, field: 'metadata.goal' },
  ];

  it.each(MISSING)(
    '$metric without $field is an input error naming the field, with no model call',
    async ({ metric, args, item, field }) => {
      // No interceptor: a call would fail the test with a network error instead of the input error.
      const made = createMetric(metric, args ?? {}, { llm: llm(), judgeModel: PROVIDERS[0].model });
      if (!made.ok) throw new Error(made.error);
      const s = await made.metric.score(item);
      expect(s).toMatchObject({ label: 'error', errorCause: 'input', details: { missing: [field] } });
      expect(s.error).toContain(`\`${field}\``);
    },
  );

  it('an overloaded Anthropic API is provider trouble, with the error on the Score', async () => {
    nock(ANTHROPIC).post('/v1/messages').reply(529, anthropicError('overloaded_error', 'Overloaded'));
    const made = createMetric('faithfulness', {}, { llm: llm(), judgeModel: PROVIDERS[0].model });
    if (!made.ok) throw new Error(made.error);
    const s = await made.metric.score(rag);
    expect(s).toMatchObject({ label: 'error', errorCause: 'provider' });
    expect(s.error).toMatch(/overloaded|529/i);
  });

  it('a Gemini quota error is provider trouble', async () => {
    nock(GEMINI)
      .post(/generateContent/)
      .reply(429, geminiError(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded', '17s'));
    const made = createMetric('hallucination', {}, { llm: llm(), judgeModel: PROVIDERS[1].model });
    if (!made.ok) throw new Error(made.error);
    const s = await made.metric.score(rag);
    expect(s).toMatchObject({ label: 'error', errorCause: 'provider' });
  });

  it('a verdict list that does not match the statements is the metric error, with the usage spent', async () => {
    fakeJudge(PROVIDERS[0], () => verdicts('yes'));
    const made = createMetric('context-precision', {}, { llm: llm(), judgeModel: PROVIDERS[0].model });
    if (!made.ok) throw new Error(made.error);
    const s = await made.metric.score(rag);
    expect(s).toMatchObject({ label: 'error', errorCause: 'metric' });
    expect(s.error).toMatch(/expected 3 verdicts, one per statement, got 1/);
    expect(s.usage?.inputTokens).toBe(300);
  });

  it('JSON that is still malformed after the repair attempt is the metric error', async () => {
    fakeJudge(PROVIDERS[1], () => 'not a verdict');
    const made = createMetric('goal-achieved', {}, { llm: llm(), judgeModel: PROVIDERS[1].model });
    if (!made.ok) throw new Error(made.error);
    const s = await made.metric.score(conversation);
    expect(s).toMatchObject({ label: 'error', errorCause: 'metric' });
    expect(s.error).toMatch(/^judge output unusable/);
  });
});
