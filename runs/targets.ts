// The target registry: what a suite sends its inputs to. `recorded` scores outputs already in the dataset,
// `model` calls provider:model with an inline system prompt, `http` calls an agent endpoint, `prompt` renders a
// Langfuse prompt and sends it to a model. A target never throws for a failed call: it returns the error.
import { z } from 'zod';
import { registerSecret, scrubSecrets } from '../config/index.ts';
import type { Turn } from '../evaluators/index.ts';
import type { ChatMessage, Llm, Usage } from '../llm/index.ts';
import { type HttpResult, sendHttp } from './http-client.ts';
import { getPath, parsePath, placeholders, renderJson, renderJsonText, renderText } from './template.ts';
import type { DatasetItem } from './types.ts';

/** What a target is asked: the item and the conversation so far (the last turn is the user's). */
export interface TargetRequest {
  item: DatasetItem;
  transcript: readonly Turn[];
  /** 1-based turn number. */
  turn: number;
  /** Identifies the conversation for stateful agents (stable across resumes). */
  conversationId: string;
  signal?: AbortSignal;
}

/** A target's answer, or why there is none; failures are values. */
export type TargetResponse =
  | {
      ok: true;
      text: string;
      latencyMs: number;
      usage?: Usage;
      costUsd?: number;
      /** The target ended the conversation. */
      end?: boolean;
      /** A recorded transcript replaces the conversation as a whole. */
      transcript?: Turn[];
    }
  | { ok: false; error: string; latencyMs: number };

/** A configured target. */
export interface Target {
  readonly type: string;
  /** True when the target needs nothing but the dataset (no key, no network). */
  readonly recorded: boolean;
  respond(req: TargetRequest): Promise<TargetResponse>;
}

/** A Langfuse prompt as the `prompt` target needs it; the langfuse/ module provides the real source. */
export interface PromptRecord {
  name: string;
  version: number;
  type: 'text' | 'chat';
  prompt: string | { role: string; content: string }[];
  config?: unknown;
}

/** Where `prompt` targets fetch prompts from (Langfuse by name with a label or a version). */
export interface PromptSource {
  getPrompt(name: string, selector: { label?: string; version?: number }): Promise<PromptRecord>;
}

/** What targets may need from the outside. */
export interface TargetDeps {
  llm?: Llm;
  /** Environment for `${ENV:NAME}` header values; injected so only the shell reads process.env. */
  env: Record<string, string | undefined>;
  prompts?: PromptSource;
  fetch?: typeof fetch;
}

/** One registry entry: documentation, argument schema, example and factory. */
export interface TargetDefinition<S extends z.ZodType = z.ZodType> {
  description: string;
  args: S;
  example: z.input<S>;
  create(args: z.output<S>, deps: TargetDeps): Target;
}

function defineTarget<S extends z.ZodType>(def: TargetDefinition<S>): TargetDefinition<S> {
  return def;
}

const modelName = z.string().regex(/^[a-z][a-z0-9-]*:[\w.:/-]+$/, {
  error: 'expected provider:model, e.g. anthropic:claude-sonnet-4-5 or offline:heuristic',
});

const errorText = (err: unknown) => (err instanceof Error ? err.message || err.name : String(err));

/** Variables every template can use. */
export function templateVars(req: TargetRequest): Record<string, unknown> {
  const lastUser = [...req.transcript].reverse().find((t) => t.role === 'user');
  return {
    ...(req.item.metadata ?? {}),
    ...(req.item.variables ?? {}),
    input: lastUser?.content ?? req.item.input,
    firstInput: req.item.input,
    expected: req.item.expected ?? '',
    context: req.item.context ?? '',
    metadata: req.item.metadata ?? {},
    vars: req.item.variables ?? {},
    messages: req.transcript.map((t) => ({ role: t.role, content: t.content })),
    turn: req.turn,
    conversationId: req.conversationId,
    itemKey: req.item.key,
  };
}

function toMessages(transcript: readonly Turn[]): ChatMessage[] {
  return transcript
    .filter((t) => t.role === 'user' || t.role === 'assistant')
    .map((t) => ({ role: t.role as 'user' | 'assistant', content: t.content }));
}

async function callModel(
  llm: Llm | undefined,
  model: string,
  messages: ChatMessage[],
  opts: { temperature?: number | undefined; maxTokens?: number | undefined; timeoutMs?: number | undefined },
  signal?: AbortSignal,
): Promise<TargetResponse> {
  const started = performance.now();
  if (!llm) return { ok: false, error: 'no LLM is configured for this target', latencyMs: 0 };
  try {
    const c = await llm.complete({
      model,
      messages,
      ...(opts.temperature !== undefined ? { temperature: opts.temperature } : {}),
      ...(opts.maxTokens !== undefined ? { maxTokens: opts.maxTokens } : {}),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      ...(signal ? { signal } : {}),
    });
    return { ok: true, text: c.text, latencyMs: c.latencyMs, usage: c.usage, costUsd: c.costUsd };
  } catch (err) {
    return { ok: false, error: errorText(err), latencyMs: Math.round(performance.now() - started) };
  }
}

/** `recorded`: the output already in each item (scores existing logs; needs no key). */
export const recordedTarget = defineTarget({
  description: 'Scores the output already in each dataset row (existing logs); needs no key or network.',
  args: z.strictObject({}),
  example: {},
  create() {
    return {
      type: 'recorded',
      recorded: true,
      async respond({ item }) {
        if (item.output === undefined)
          return { ok: false, error: 'the row has no recorded `output`', latencyMs: 0 };
        if (typeof item.output === 'string') return { ok: true, text: item.output, latencyMs: 0, end: true };
        const last = [...item.output].reverse().find((t) => t.role === 'assistant');
        return { ok: true, text: last?.content ?? '', latencyMs: 0, end: true, transcript: item.output };
      },
    };
  },
});

/** `model`: a provider:model with an inline system prompt. */
export const modelTarget = defineTarget({
  description:
    'Sends each input (and the conversation so far) to provider:model with an inline system prompt.',
  args: z.strictObject({
    model: modelName,
    system: z.string().optional().describe('system prompt; {{placeholders}} are filled from the item'),
    temperature: z.number().min(0).max(2).optional(),
    maxTokens: z.number().int().positive().optional(),
    timeoutMs: z.number().int().positive().optional(),
  }),
  example: { model: 'offline:heuristic', system: 'You are a concise support assistant.' },
  create(args, deps) {
    return {
      type: 'model',
      recorded: false,
      respond(req) {
        const system = args.system ? renderText(args.system, templateVars(req)) : undefined;
        const messages: ChatMessage[] = [
          ...(system ? [{ role: 'system' as const, content: system }] : []),
          ...toMessages(req.transcript),
        ];
        return callModel(deps.llm, args.model, messages, args, req.signal);
      },
    };
  },
});

const HeaderValue = z.union([z.string(), z.strictObject({ fromEnv: z.string().min(1) })]);
const ENV_REF = /\$\{ENV:([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Environment variables a header map refers to (for load-time checks). */
export function headerEnvRefs(headers: Record<string, z.infer<typeof HeaderValue>>): {
  header: string;
  name: string;
}[] {
  const out: { header: string; name: string }[] = [];
  for (const [header, v] of Object.entries(headers)) {
    if (typeof v === 'string') for (const m of v.matchAll(ENV_REF)) out.push({ header, name: m[1]! });
    else out.push({ header, name: v.fromEnv });
  }
  return out;
}

/** Header names whose values are credentials even when written inline in a suite. */
const CREDENTIAL_HEADER =
  /^(?:authorization|proxy-authorization|cookie|x-api-key|api-key)$|token|secret|key|auth/i;

/**
 * Resolves `${ENV:NAME}` / `{fromEnv}` header values and registers every value taken from the environment, and the
 * whole value of a credential header, as a known secret: an agent that echoes its headers (a 401 body) must not
 * put them in stored errors, chat messages or logs.
 */
function resolveHeaders(
  headers: Record<string, z.infer<typeof HeaderValue>>,
  env: Record<string, string | undefined>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [header, v] of Object.entries(headers)) {
    let fromEnv = false;
    const value =
      typeof v === 'string'
        ? v.replace(ENV_REF, (_, name: string) => {
            fromEnv = true;
            registerSecret(env[name]);
            return env[name] ?? '';
          })
        : (env[v.fromEnv] ?? '');
    if (typeof v !== 'string') fromEnv = true;
    if (fromEnv || CREDENTIAL_HEADER.test(header)) registerSecret(value);
    out[header] = value;
  }
  return out;
}

const pathArg = z.string().refine((p) => parsePath(p) !== null, {
  error: 'expected a dot path (a.b.0.c) or a JSONPath like $.a.b[0].c',
});

/** `http`: an agent endpoint. */
/** The same contract as sendHttp over an injected fetch (tests, embedders with their own HTTP stack). */
function viaFetch(doFetch: typeof fetch): typeof sendHttp {
  return async (url, init): Promise<HttpResult> => {
    const timeout = AbortSignal.timeout(init.timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    try {
      const res = await doFetch(url, {
        method: init.method,
        headers: init.headers,
        ...(init.body !== undefined ? { body: init.body } : {}),
        signal,
      });
      return { ok: true, status: res.status, text: await res.text() };
    } catch (err) {
      if (timeout.aborted && !init.signal?.aborted) return { ok: false, failure: { kind: 'timeout' } };
      if (init.signal?.aborted) return { ok: false, failure: { kind: 'aborted' } };
      return { ok: false, failure: { kind: 'error', message: errorText(err) } };
    }
  };
}

export const httpTarget = defineTarget({
  description:
    'POSTs (or GETs) each turn to an agent endpoint with a JSON body template and reads the answer at a path.',
  args: z.strictObject({
    url: z.string().regex(/^https?:\/\//, { error: 'expected an http(s) URL' }),
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH']).default('POST'),
    headers: z
      .record(z.string(), HeaderValue)
      .default({})
      // biome-ignore lint/suspicious/noTemplateCurlyInString: ${ENV:NAME} is the suite placeholder syntax
      .describe('values may use ${ENV:NAME} or {fromEnv: NAME}; resolved when the run starts, never logged'),
    body: z
      .unknown()
      .optional()
      .describe(
        'JSON template: {{input}}, {{messages}}, {{context}}, {{expected}}, {{metadata.x}}, {{conversationId}}',
      ),
    answer: pathArg.default('$').describe('where the answer is in the response JSON'),
    end: pathArg.optional().describe('path to a boolean that is true when the agent ends the conversation'),
    timeoutMs: z.number().int().positive().default(30_000),
  }),
  example: {
    url: 'http://127.0.0.1:8787/chat',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: ${ENV:NAME} is the suite placeholder syntax
    headers: { authorization: 'Bearer ${ENV:AGENT_TOKEN}' },
    body: { message: '{{input}}', history: '{{messages}}' },
    answer: '$.reply',
  },
  create(args, deps) {
    const headers = resolveHeaders(args.headers, deps.env);
    // Tests and embedders may pass a fetch; otherwise the lean node:http client (keep-alive) does the requests.
    const send = deps.fetch ? viaFetch(deps.fetch) : sendHttp;
    const bodyTemplate = args.body ?? { input: '{{input}}' };
    return {
      type: 'http',
      recorded: false,
      async respond(req) {
        const vars = templateVars(req);
        const started = performance.now();
        const elapsed = () => Math.round(performance.now() - started);
        const url = renderText(args.url, vars);
        const body =
          args.method === 'GET'
            ? undefined
            : typeof bodyTemplate === 'string' && /^\s*[[{]/.test(bodyTemplate)
              ? renderJsonText(bodyTemplate, vars)
              : JSON.stringify(renderJson(bodyTemplate, vars));
        const sent = await send(url, {
          method: args.method,
          headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
          ...(body !== undefined ? { body } : {}),
          timeoutMs: args.timeoutMs,
          ...(req.signal ? { signal: req.signal } : {}),
        });
        if (!sent.ok) {
          const f = sent.failure;
          return {
            ok: false,
            error:
              f.kind === 'timeout'
                ? `timed out after ${args.timeoutMs} ms`
                : f.kind === 'aborted'
                  ? 'request failed: aborted'
                  : `request failed: ${f.message}`,
            latencyMs: elapsed(),
          };
        }
        const text = sent.text;
        if (sent.status < 200 || sent.status > 299) {
          // Scrubbed before it is cut: a secret the agent echoes must not survive as a prefix the scrubber cannot match.
          return {
            ok: false,
            error: `HTTP ${sent.status}: ${scrubSecrets(text).slice(0, 200)}`,
            latencyMs: elapsed(),
          };
        }
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          if (args.answer === '$') return { ok: true, text, latencyMs: elapsed() };
          return { ok: false, error: 'response is not JSON', latencyMs: elapsed() };
        }
        const answer = getPath(json, args.answer);
        if (answer === undefined || answer === null)
          return { ok: false, error: `no answer at ${args.answer} in the response`, latencyMs: elapsed() };
        const end = args.end ? getPath(json, args.end) === true : false;
        return {
          ok: true,
          text: typeof answer === 'string' ? answer : JSON.stringify(answer),
          latencyMs: elapsed(),
          ...(end ? { end } : {}),
        };
      },
    };
  },
});

/** `prompt`: a Langfuse prompt (by label or version) rendered with the item's variables, sent to a model. */
export const promptTarget = defineTarget({
  description:
    "Renders a Langfuse prompt (by label or version) with the item's variables and sends it to provider:model.",
  args: z
    .strictObject({
      name: z.string().min(1),
      label: z.string().min(1).optional(),
      version: z.number().int().positive().optional(),
      model: modelName.optional().describe("defaults to the prompt config's `model` as provider:model"),
      temperature: z.number().min(0).max(2).optional(),
      maxTokens: z.number().int().positive().optional(),
    })
    .refine((a) => !(a.label && a.version), { error: 'give either `label` or `version`, not both' }),
  example: { name: 'support-answer', label: 'production', model: 'offline:heuristic' },
  create(args, deps) {
    let fetched: Promise<PromptRecord> | undefined;
    const selector = args.version ? { version: args.version } : { label: args.label ?? 'production' };
    return {
      type: 'prompt',
      recorded: false,
      async respond(req) {
        if (!deps.prompts)
          return { ok: false, error: 'no prompt source: configure Langfuse (LANGFUSE_* keys)', latencyMs: 0 };
        let prompt: PromptRecord;
        try {
          // One fetch per run: every item sees the same prompt version.
          fetched ??= deps.prompts.getPrompt(args.name, selector);
          prompt = await fetched;
        } catch (err) {
          fetched = undefined;
          return { ok: false, error: `prompt '${args.name}': ${errorText(err)}`, latencyMs: 0 };
        }
        const configModel = (prompt.config as { model?: unknown } | undefined)?.model;
        const model = args.model ?? (typeof configModel === 'string' ? configModel : undefined);
        if (!model)
          return {
            ok: false,
            error: `prompt '${args.name}' has no model: set the target's \`model\``,
            latencyMs: 0,
          };
        const vars = templateVars(req);
        const messages = renderPromptMessages(prompt, vars, req.transcript);
        return callModel(deps.llm, model, messages, args, req.signal);
      },
    };
  },
});

/** Turns a text or chat prompt plus the conversation into chat messages. */
export function renderPromptMessages(
  prompt: PromptRecord,
  vars: Record<string, unknown>,
  transcript: readonly Turn[],
): ChatMessage[] {
  const conversation = toMessages(transcript);
  if (typeof prompt.prompt === 'string') {
    const usesInput = placeholders(prompt.prompt).includes('input');
    const text = renderText(prompt.prompt, { ...vars, input: transcript[0]?.content ?? vars.input });
    // A text prompt holding {{input}} is the first user message; otherwise it is the system prompt.
    return usesInput
      ? [{ role: 'user', content: text }, ...conversation.slice(1)]
      : [{ role: 'system', content: text }, ...conversation];
  }
  const usesInput = prompt.prompt.some((m) => placeholders(m.content).includes('input'));
  const rendered: ChatMessage[] = prompt.prompt.map((m) => ({
    role: m.role === 'system' || m.role === 'assistant' ? m.role : 'user',
    content: renderText(m.content, { ...vars, input: transcript[0]?.content ?? vars.input }),
  }));
  return [...rendered, ...(usesInput ? conversation.slice(1) : conversation)];
}

/** Every target a suite can name, keyed by that name. */
export const targets = {
  recorded: recordedTarget,
  model: modelTarget,
  http: httpTarget,
  prompt: promptTarget,
} satisfies Record<string, TargetDefinition<z.ZodType>>;

/** Name of a registered target. */
export type TargetType = keyof typeof targets;

/** Registered target names. */
export const TARGET_TYPES = Object.keys(targets) as TargetType[];

/** Guard for registered target names. */
export function isTargetType(name: string): name is TargetType {
  return Object.hasOwn(targets, name);
}

/** A target as written in a suite: `type` plus that target's arguments. */
export type TargetSpec = { type: string } & Record<string, unknown>;

/** Builds a target from its suite entry; bad arguments come back as an error naming the argument. */
export function createTarget(
  spec: TargetSpec,
  deps: TargetDeps,
): { ok: true; target: Target } | { ok: false; error: string } {
  const { type, ...rest } = spec;
  if (!isTargetType(type))
    return { ok: false, error: `unknown target type '${type}'; valid: ${TARGET_TYPES.join(', ')}` };
  const def: TargetDefinition<z.ZodType> = targets[type];
  const parsed = def.args.safeParse(rest);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, error: `target '${type}': ${issue.path.join('.') || 'arguments'}: ${issue.message}` };
  }
  return { ok: true, target: scrubbedTarget(def.create(parsed.data, deps)) };
}

/** A target whose answers and errors never carry a known secret (see config/redact.ts) into a run's records. */
function scrubbedTarget(target: Target): Target {
  return {
    type: target.type,
    recorded: target.recorded,
    async respond(req) {
      const res = await target.respond(req);
      if (!res.ok) return { ...res, error: scrubSecrets(res.error) };
      const text = scrubSecrets(res.text);
      return text === res.text ? res : { ...res, text };
    },
  };
}
