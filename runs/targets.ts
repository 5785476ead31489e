// The target registry: what a suite sends its inputs to. `recorded` scores outputs already in the dataset,
// `model` calls provider:model with an inline system prompt, `http` calls an agent endpoint, `prompt` renders a
// Langfuse prompt and sends it to a model. A target never throws for a failed call: it returns the error.
import { z } from 'zod';
import {
  durationMs,
  durationSchema,
  MODEL_NAME_RE,
  ModelNameSchema,
  msAsDuration,
  registerSecret,
  renameKey,
  scrubSecrets,
  sendHttp,
  viaFetch,
} from '../config/index.ts';
import { isProviderTrouble, readToolCalls, type ToolCall, type Turn } from '../evaluators/index.ts';
import type { ChatMessage, FinishReason, Llm, ToolSpec, Usage } from '../llm/index.ts';
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
      /** False when the model target's price is unknown (`costUsd` is then 0 by convention: "price unknown"). */
      priceKnown?: boolean;
      /**
       * How a `model`/`prompt` target's reply ended (`refused`, `truncated`, …); unset for targets that cannot
       * tell (recorded, http), which means complete as far as we know.
       */
      finish?: FinishReason;
      /** The provider's own stop reason when `finish` is not `complete`, e.g. `refusal`, `SAFETY`. */
      finishDetail?: string;
      /** The target ended the conversation. */
      end?: boolean;
      /** A recorded transcript replaces the conversation as a whole. */
      transcript?: Turn[];
      /** The offline heuristic provider wrote the answer: no language model was called. */
      heuristic?: boolean;
      /** The tool calls the target made for this turn, in order (absent: the target does not report them). */
      toolCalls?: ToolCall[];
    }
  | {
      ok: false;
      error: string;
      latencyMs: number;
      /** `target` (the default: the agent or endpoint failed), `provider` (the model provider or network failed),
       * `input` (the row lacks what the target needs). */
      cause?: 'target' | 'provider' | 'input';
    };

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
  /** A text prompt, or chat messages where `{type: 'placeholder', name}` stands for a list of messages. */
  prompt: string | PromptMessage[];
  config?: unknown;
}

/** One message of a chat prompt: a templated message, or a placeholder for a list of messages. */
export type PromptMessage = { role: string; content: string } | { type: 'placeholder'; name: string };

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

const modelName = ModelNameSchema;

/** Time allowed per call (the one duration type); `timeoutMs` in milliseconds is its old form. */
const timeoutArg = (defaultText?: string) =>
  durationSchema({ example: '30s', max: 3_600_000 }).describe(
    `time allowed per ${defaultText ? 'request' : 'call'}, e.g. 30s (was \`timeoutMs\` in milliseconds)`,
  );

/**
 * Rewrites the old argument names of a target (`timeoutMs: 15000` → `timeout: 15s`), calling `warn` for each: the
 * suite loader warns with the file and line; a suite stored by an older version is upgraded silently.
 */
export function upgradeTargetArgs(
  target: Record<string, unknown>,
  path: readonly (string | number)[],
  warn: (path: readonly PropertyKey[], message: string) => void = () => {},
): void {
  if (target.type === 'http' || target.type === 'model')
    renameKey(target, path, 'timeoutMs', 'timeout', warn, msAsDuration);
}

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
  opts: {
    temperature?: number | undefined;
    maxTokens?: number | undefined;
    timeoutMs?: number | undefined;
    prompt?: { name: string; version: number };
    tools?: ToolSpec[] | undefined;
  },
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
      ...(opts.tools?.length ? { tools: opts.tools } : {}),
      // Arbiter's own call of the system under test; linked to the Langfuse prompt version it rendered.
      trace: { name: 'target', ...(opts.prompt ? { prompt: opts.prompt } : {}) },
      ...(signal ? { signal } : {}),
    });
    return {
      ok: true,
      text: c.text,
      latencyMs: c.latencyMs,
      usage: c.usage,
      costUsd: c.costUsd,
      ...(c.heuristic ? { heuristic: true } : {}),
      priceKnown: c.priceKnown,
      finish: c.finish,
      ...(c.finishDetail ? { finishDetail: c.finishDetail } : {}),
      // With tools offered, the calls the model made (none is an empty list: it chose not to call any).
      ...(opts.tools?.length ? { toolCalls: c.toolCalls ?? [] } : {}),
    };
  } catch (err) {
    return {
      ok: false,
      error: errorText(err),
      latencyMs: Math.round(performance.now() - started),
      cause: isProviderTrouble(err) ? 'provider' : 'target',
    };
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
          return { ok: false, error: 'the row has no recorded `output`', latencyMs: 0, cause: 'input' };
        const calls = item.toolCalls ? { toolCalls: item.toolCalls } : {};
        if (typeof item.output === 'string')
          return { ok: true, text: item.output, latencyMs: 0, end: true, ...calls };
        const last = [...item.output].reverse().find((t) => t.role === 'assistant');
        return {
          ok: true,
          text: last?.content ?? '',
          latencyMs: 0,
          end: true,
          transcript: item.output,
          ...calls,
        };
      },
    };
  },
});

/** Tools a model target offers the model; their calls are recorded on the item as `toolCalls`. */
const ToolsArg = z
  .array(
    z.strictObject({
      name: z
        .string()
        .regex(/^[A-Za-z_][\w.-]{0,63}$/, {
          error: 'expected a tool name of letters, digits, _ . - (64 at most)',
        })
        .describe('the tool name the model calls'),
      description: z.string().optional().describe('what the tool does, for the model'),
      parameters: z
        .record(z.string(), z.unknown())
        .optional()
        .describe('JSON Schema of the arguments (an object schema; default `{type: object}`)'),
    }),
  )
  .optional()
  .describe(
    "tools offered to the model (`[{name, description, parameters}]`); the calls it makes are recorded as the item's `toolCalls` (tools are declared only: nothing runs them)",
  );

/** `model`: a provider:model with an inline system prompt. */
export const modelTarget = defineTarget({
  description:
    'Sends each input (and the conversation so far) to provider:model with an inline system prompt.',
  args: z.strictObject({
    model: modelName.describe('provider:model, e.g. anthropic:claude-sonnet-5-5 or offline:heuristic'),
    system: z.string().optional().describe('system prompt; {{placeholders}} are filled from the item'),
    temperature: z
      .number()
      .min(0)
      .max(2)
      .optional()
      .describe("sampling temperature (the provider's default when absent)"),
    maxTokens: z.number().int().positive().optional().describe('longest answer in tokens'),
    timeout: timeoutArg().optional(),
    tools: ToolsArg,
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
        return callModel(
          deps.llm,
          args.model,
          messages,
          { ...args, ...(args.timeout ? { timeoutMs: durationMs(args.timeout)! } : {}) },
          req.signal,
        );
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
export const httpTarget = defineTarget({
  description:
    'POSTs (or GETs) each turn to an agent endpoint with a JSON body template and reads the answer at a path.',
  args: z.strictObject({
    url: z
      .string()
      .regex(/^https?:\/\//, { error: 'expected an http(s) URL' })
      .describe('the endpoint; may hold {{placeholders}}'),
    method: z
      .enum(['GET', 'POST', 'PUT', 'PATCH'])
      .default('POST')
      .describe('HTTP method (GET sends no body)'),
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
    toolCallsPath: pathArg
      .optional()
      .describe(
        'where the tool calls the agent made are in the response JSON: a list of `{name, args}` (also `{name, arguments}` or OpenAI `{function: {name, arguments}}`)',
      ),
    timeout: timeoutArg('request').default('30s'),
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
    const timeoutMs = durationMs(args.timeout)!;
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
          timeoutMs,
          ...(req.signal ? { signal: req.signal } : {}),
        });
        if (!sent.ok) {
          const f = sent.failure;
          return {
            ok: false,
            error:
              f.kind === 'timeout'
                ? `timed out after ${timeoutMs} ms`
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
        let toolCalls: ToolCall[] | undefined;
        if (args.toolCallsPath) {
          const raw = getPath(json, args.toolCallsPath);
          // Absent (or null) means the agent made no calls this turn; a value that does not read is the agent's error.
          if (raw === undefined || raw === null) toolCalls = [];
          else {
            const read = readToolCalls(raw);
            if (!read.ok)
              return {
                ok: false,
                error: `tool calls at ${args.toolCallsPath}: ${read.error}`,
                latencyMs: elapsed(),
              };
            toolCalls = read.calls;
          }
        }
        return {
          ok: true,
          text: typeof answer === 'string' ? answer : JSON.stringify(answer),
          latencyMs: elapsed(),
          ...(end ? { end } : {}),
          ...(toolCalls ? { toolCalls } : {}),
        };
      },
    };
  },
});

/** Provider of a plain model name as Langfuse prompt configs hold it (`claude-sonnet-5-5`, `gemini-3-pro`). */
const MODEL_FAMILIES: readonly [RegExp, string][] = [
  [/^claude-/, 'anthropic'],
  [/^gemini-/, 'gemini'],
  [/^heuristic$/, 'offline'],
];

/**
 * The `provider:model` of a model name from a prompt config or a suite: `provider:model` is kept; a plain name is
 * resolved by its family (claude-* → anthropic, gemini-* → gemini). Unknown families are an error naming the fix.
 */
export function resolveModelName(name: string): { ok: true; model: string } | { ok: false; error: string } {
  const trimmed = name.trim();
  if (MODEL_NAME_RE.test(trimmed)) return { ok: true, model: trimmed };
  for (const [re, provider] of MODEL_FAMILIES)
    if (re.test(trimmed)) return { ok: true, model: `${provider}:${trimmed}` };
  return {
    ok: false,
    error: `model '${trimmed}' has no known provider (claude-* is anthropic, gemini-* is gemini); write it as provider:model`,
  };
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The call parameters a Langfuse prompt config sets: `model`, `temperature`, `max_tokens` (also `maxTokens`,
 * `max_output_tokens`). Values of the wrong type are an error naming the key.
 */
export function promptConfigParams(
  config: unknown,
): { ok: true; model?: string; temperature?: number; maxTokens?: number } | { ok: false; error: string } {
  if (!isRecord(config)) return { ok: true };
  const out: { model?: string; temperature?: number; maxTokens?: number } = {};
  if (config.model !== undefined) {
    if (typeof config.model !== 'string' || !config.model.trim())
      return { ok: false, error: 'config.model must be a model name' };
    const m = resolveModelName(config.model);
    if (!m.ok) return { ok: false, error: `config.model: ${m.error}` };
    out.model = m.model;
  }
  if (config.temperature !== undefined) {
    const t = config.temperature;
    if (typeof t !== 'number' || t < 0 || t > 2)
      return { ok: false, error: 'config.temperature must be a number from 0 to 2' };
    out.temperature = t;
  }
  for (const key of ['max_tokens', 'maxTokens', 'max_output_tokens'] as const) {
    const v = config[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
      return { ok: false, error: `config.${key} must be a positive whole number` };
    out.maxTokens = v;
    break;
  }
  return { ok: true, ...out };
}

/** `prompt`: a Langfuse prompt (by label or version) rendered with the item's variables, sent to a model. */
export const promptTarget = defineTarget({
  description:
    "Renders a Langfuse prompt (by label or version) with the item's variables and sends it to the model of its config (or `model`).",
  args: z
    .strictObject({
      name: z.string().min(1).describe('the Langfuse prompt name'),
      label: z.string().min(1).optional().describe('the label to fetch (default production)'),
      version: z.number().int().positive().optional().describe('a fixed version instead of a label'),
      model: modelName
        .optional()
        .describe("defaults to the prompt config's `model` (claude-… / gemini-… or provider:model)"),
      temperature: z.number().min(0).max(2).optional().describe("overrides the config's `temperature`"),
      maxTokens: z.number().int().positive().optional().describe("overrides the config's `max_tokens`"),
      tools: ToolsArg,
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
        const where = `prompt '${prompt.name}' v${prompt.version}`;
        const config = promptConfigParams(prompt.config);
        if (!config.ok) return { ok: false, error: `${where}: ${config.error}`, latencyMs: 0 };
        const model = args.model ?? config.model;
        if (!model)
          return {
            ok: false,
            error: `${where} has no model: set \`model\` in its config or the target's \`model\``,
            latencyMs: 0,
          };
        const rendered = renderPromptMessages(prompt, templateVars(req), req.transcript);
        // The row lacks a variable or placeholder the prompt needs: the dataset's fault, not the target's.
        if (!rendered.ok)
          return { ok: false, error: `${where}: ${rendered.error}`, latencyMs: 0, cause: 'input' };
        const temperature = args.temperature ?? config.temperature;
        const maxTokens = args.maxTokens ?? config.maxTokens;
        return callModel(
          deps.llm,
          model,
          rendered.messages,
          {
            ...(temperature !== undefined ? { temperature } : {}),
            ...(maxTokens !== undefined ? { maxTokens } : {}),
            prompt: { name: prompt.name, version: prompt.version },
            tools: args.tools,
          },
          req.signal,
        );
      },
    };
  },
});

const PLACEHOLDER_NAME = /\{\{\s*([\w.-]+)\s*\}\}/g;

/** Renders `{{name}}` strictly: a variable the item does not have is an error naming it (never ""). */
function renderStrict(
  template: string,
  vars: Record<string, unknown>,
): { ok: true; text: string } | { ok: false; missing: string } {
  for (const m of template.matchAll(PLACEHOLDER_NAME)) {
    const name = m[1]!;
    const v = Object.hasOwn(vars, name) ? vars[name] : getPath(vars, name);
    if (v === undefined || v === null) return { ok: false, missing: name };
  }
  return { ok: true, text: renderText(template, vars) };
}

const ROLES = new Set(['system', 'user', 'assistant']);

/** Messages a placeholder is filled with: a list of {role, content} from the item (variables, then metadata). */
function placeholderMessages(
  name: string,
  vars: Record<string, unknown>,
): { ok: true; messages: ChatMessage[] } | { ok: false; error: string } | undefined {
  const value = Object.hasOwn(vars, name) ? vars[name] : getPath(vars, name);
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value))
    return { ok: false, error: `placeholder '${name}' must be a list of {role, content} messages` };
  const messages: ChatMessage[] = [];
  for (const [i, m] of value.entries()) {
    if (!isRecord(m) || typeof m.content !== 'string' || typeof m.role !== 'string' || !ROLES.has(m.role))
      return {
        ok: false,
        error: `placeholder '${name}' message ${i + 1} must be {role: system|user|assistant, content: text}`,
      };
    messages.push({ role: m.role as ChatMessage['role'], content: m.content });
  }
  return { ok: true, messages };
}

/**
 * Turns a text or chat prompt plus the conversation into chat messages. Variables missing from the item are an error
 * naming them. A chat placeholder (`{type: 'placeholder', name}`, as Langfuse's `compile(variables, placeholders)`
 * fills it) takes the item's own list of messages under that name (its variables or metadata, e.g. `messages`);
 * one the item does not fill takes the conversation so far, which is then not appended again.
 *   https://langfuse.com/docs/prompt-management/features/message-placeholders
 */
export function renderPromptMessages(
  prompt: PromptRecord,
  vars: Record<string, unknown>,
  transcript: readonly Turn[],
): { ok: true; messages: ChatMessage[] } | { ok: false; error: string } {
  const conversation = toMessages(transcript);
  const withInput = { ...vars, input: transcript[0]?.content ?? vars.input };
  const missing = (name: string) => ({
    ok: false as const,
    error: `variable '${name}' is not in the item (add it to the item's input object or metadata)`,
  });
  if (typeof prompt.prompt === 'string') {
    const usesInput = placeholders(prompt.prompt).includes('input');
    const text = renderStrict(prompt.prompt, withInput);
    if (!text.ok) return missing(text.missing);
    // A text prompt holding {{input}} is the first user message; otherwise it is the system prompt.
    return {
      ok: true,
      messages: usesInput
        ? [{ role: 'user', content: text.text }, ...conversation.slice(1)]
        : [{ role: 'system', content: text.text }, ...conversation],
    };
  }
  const usesInput = prompt.prompt.some((m) => 'content' in m && placeholders(m.content).includes('input'));
  const rendered: ChatMessage[] = [];
  let conversationPlaced = false;
  for (const m of prompt.prompt) {
    if ('type' in m && m.type === 'placeholder') {
      const filled = placeholderMessages(m.name, vars);
      if (filled && !filled.ok) return filled;
      if (filled) rendered.push(...filled.messages);
      else if (!conversationPlaced) {
        conversationPlaced = true;
        rendered.push(...(usesInput ? conversation.slice(1) : conversation));
      } else
        return {
          ok: false,
          error: `placeholder '${m.name}' is not filled: give the item a list of messages named '${m.name}'`,
        };
      continue;
    }
    if (!('content' in m)) continue;
    const text = renderStrict(m.content, withInput);
    if (!text.ok) return missing(text.missing);
    rendered.push({
      role: m.role === 'system' || m.role === 'assistant' ? m.role : 'user',
      content: text.text,
    });
  }
  if (conversationPlaced) return { ok: true, messages: rendered };
  return { ok: true, messages: [...rendered, ...(usesInput ? conversation.slice(1) : conversation)] };
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
  const upgraded: Record<string, unknown> = { ...spec };
  upgradeTargetArgs(upgraded, []);
  const { type, ...rest } = upgraded as TargetSpec;
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
