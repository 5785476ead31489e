// The `anthropic` provider: the Messages API (POST /v1/messages) through @anthropic-ai/sdk. The SDK's own
// retries are off (maxRetries: 0) because the wrapper owns retries, back-off and the breaker.
import { type Clock, systemClock } from '../config/index.ts';
import { z } from 'zod';
import { classifyStatus, describeBody, LlmError, retryAfterFromHeaders, scrubKeys } from './errors.ts';
import type { CallParams, FinishReason, LlmProvider, ModelToolCall, ProviderReply, Usage } from './types.ts';

/** Options of the Anthropic provider. */
export interface AnthropicProviderOptions {
  apiKey: string;
  /** Defaults to https://api.anthropic.com (ANTHROPIC_BASE_URL overrides it). */
  baseUrl?: string;
  /** Injected fetch (tests, proxies); the global fetch otherwise. */
  fetch?: typeof fetch;
  /** The wrapper's clock (epoch ms for Retry-After dates); the system clock by default. */
  clock?: Pick<Clock, 'nowMs'>;
}

/** Default Anthropic API host. */
export const ANTHROPIC_DEFAULT_BASE_URL = 'https://api.anthropic.com';

// The response is parsed at the edge: only what we use, so new fields never break us. Shape: the Messages API
// response, https://platform.claude.com/docs/en/api/messages (stop_reason values: StopReason in the SDK types).
// A tool call is a `{type: 'tool_use', id, name, input}` content block and the turn ends with stop_reason
// `tool_use`: https://platform.claude.com/docs/en/agents-and-tools/tool-use/overview
const MessageSchema = z.object({
  content: z.array(
    z.object({
      type: z.string(),
      text: z.string().optional(),
      name: z.string().optional(),
      input: z.unknown().optional(),
    }),
  ),
  stop_reason: z.string().nullable().optional(),
  usage: z.object({
    input_tokens: z.number(),
    output_tokens: z.number(),
    cache_creation_input_tokens: z.number().nullable().optional(),
    cache_read_input_tokens: z.number().nullable().optional(),
  }),
});

const JSON_INSTRUCTION = 'Reply with one JSON object only: no prose before or after it and no code fences.';

// https://platform.claude.com/docs/en/build-with-claude/handling-stop-reasons
const STOP_REASONS: Record<string, FinishReason> = {
  end_turn: 'complete',
  stop_sequence: 'complete',
  tool_use: 'complete',
  max_tokens: 'truncated',
  refusal: 'refused',
  model_context_window_exceeded: 'context-overflow',
  pause_turn: 'paused',
};

/** How an Anthropic `stop_reason` reads as a finish reason (unknown and missing reasons are `other`). */
export function anthropicFinish(stopReason: string | null | undefined): FinishReason {
  return (stopReason && STOP_REASONS[stopReason]) || 'other';
}

// Claude 4.5 and later take structured outputs (output_config.format, GA) and the effort setting; these older
// models do not (and Sonnet 4.5 / Haiku 4.5 reject `effort`). Names outside this list are assumed current.
const BEFORE_STRUCTURED = /^claude-(?:\d|instant|(?:opus|sonnet|haiku)-4(?:-[01])?(?:-\d{8})?$)/;
const NO_EFFORT = /^claude-(?:\d|instant|(?:opus|sonnet|haiku)-4(?:-[01])?(?:-\d{8})?$|sonnet-4-5|haiku-4-5)/;

/** Whether the model takes `output_config.format` (structured JSON output). */
export function anthropicSupportsStructuredOutput(model: string): boolean {
  return !BEFORE_STRUCTURED.test(model);
}

/** Whether the model takes `output_config.effort`. */
export function anthropicSupportsEffort(model: string): boolean {
  return !NO_EFFORT.test(model);
}

type Sdk = typeof import('@anthropic-ai/sdk');

// The SDK is loaded on first use: start-up (and every process without an Anthropic key) does not pay for it.
let sdkLoading: Promise<Sdk> | undefined;
const loadSdk = () => {
  sdkLoading ??= import('@anthropic-ai/sdk');
  return sdkLoading;
};

/** Creates the Anthropic provider. */
export function createAnthropicProvider(options: AnthropicProviderOptions): LlmProvider {
  let client: InstanceType<Sdk['default']> | undefined;
  const clientFor = (sdk: Sdk) => {
    client ??= new sdk.default({
      apiKey: options.apiKey,
      baseURL: options.baseUrl ?? ANTHROPIC_DEFAULT_BASE_URL,
      maxRetries: 0,
      // The wrapper's AbortSignal is the real per-call time-out; this only stops the SDK from refusing large
      // max_tokens values for non-streaming calls.
      timeout: 10 * 60_000,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    return client;
  };
  const secrets = [options.apiKey];
  const clock = options.clock ?? systemClock;

  return {
    name: 'anthropic',
    heuristic: false,
    async complete(params: CallParams & { modelName: string }, signal: AbortSignal) {
      const system = params.messages
        .filter((m) => m.role === 'system')
        .map((m) => m.content)
        .concat(params.json ? [JSON_INSTRUCTION] : [])
        .join('\n\n');
      // The API rejects empty text blocks; consecutive turns of one role are merged by the API itself.
      const messages = params.messages
        .filter((m) => m.role !== 'system' && m.content.trim() !== '')
        .map((m) => ({ role: m.role as 'user' | 'assistant', content: m.content }));
      const structured =
        params.json && params.jsonSchema && anthropicSupportsStructuredOutput(params.modelName);
      const effort = params.effort && anthropicSupportsEffort(params.modelName) ? params.effort : undefined;
      const outputConfig = {
        ...(structured ? { format: { type: 'json_schema' as const, schema: params.jsonSchema! } } : {}),
        ...(effort ? { effort } : {}),
      };
      // No `temperature`: the SDK dropped it and Claude 5 models reject non-default sampling with a 400. It still
      // belongs to the cache key, so callers can keep passing it for the other providers.
      let raw: unknown;
      const sdk = await loadSdk();
      try {
        raw = await clientFor(sdk).messages.create(
          {
            model: params.modelName,
            max_tokens: params.maxTokens ?? 4096,
            messages,
            ...(system ? { system } : {}),
            ...(Object.keys(outputConfig).length > 0 ? { output_config: outputConfig } : {}),
            // Client tools: https://platform.claude.com/docs/en/agents-and-tools/tool-use/overview
            ...(params.tools?.length
              ? {
                  tools: params.tools.map((t) => ({
                    name: t.name,
                    ...(t.description ? { description: t.description } : {}),
                    input_schema: (t.parameters ?? { type: 'object' }) as { type: 'object' },
                  })),
                }
              : {}),
          },
          { signal },
        );
      } catch (err) {
        throw toLlmError(sdk, err, signal, secrets, clock.nowMs());
      }
      const parsed = MessageSchema.safeParse(raw);
      if (!parsed.success) {
        throw new LlmError(
          'LLM_PROVIDER_ERROR',
          'anthropic: the response is not a Messages API message (unreadable body)',
          {
            provider: 'anthropic',
            retryable: true,
          },
        );
      }
      const msg = parsed.data;
      const text = msg.content
        .filter((b) => b.type === 'text' && typeof b.text === 'string')
        .map((b) => b.text)
        .join('');
      // input_tokens counts only the uncached part of the prompt; Usage.inputTokens counts all of it.
      const cacheWrite = msg.usage.cache_creation_input_tokens ?? 0;
      const cacheRead = msg.usage.cache_read_input_tokens ?? 0;
      const usage: Usage = {
        inputTokens: msg.usage.input_tokens + cacheWrite + cacheRead,
        outputTokens: msg.usage.output_tokens,
        ...(cacheRead > 0 ? { cacheReadTokens: cacheRead } : {}),
        ...(cacheWrite > 0 ? { cacheWriteTokens: cacheWrite } : {}),
      };
      const toolCalls: ModelToolCall[] = msg.content
        .filter((b) => b.type === 'tool_use' && typeof b.name === 'string')
        .map((b) => ({
          name: b.name!,
          args:
            b.input && typeof b.input === 'object' && !Array.isArray(b.input)
              ? (b.input as Record<string, unknown>)
              : {},
        }));
      const finish = anthropicFinish(msg.stop_reason);
      const reply: ProviderReply = { text, usage, finish, ...(toolCalls.length ? { toolCalls } : {}) };
      if (finish !== 'complete') reply.finishDetail = msg.stop_reason ?? 'no stop_reason';
      return reply;
    },
  };
}

function toLlmError(
  sdk: Sdk,
  err: unknown,
  signal: AbortSignal,
  secrets: readonly string[],
  nowMs: number,
): LlmError {
  const { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } = sdk;
  if (signal.aborted) {
    const reason = signal.reason;
    if (reason instanceof LlmError) return reason;
    return new LlmError('LLM_TIMEOUT', 'anthropic: the call was aborted', {
      provider: 'anthropic',
      retryable: true,
      cause: reason,
    });
  }
  if (err instanceof APIConnectionTimeoutError) {
    return new LlmError('LLM_TIMEOUT', 'anthropic: the request timed out', {
      provider: 'anthropic',
      retryable: true,
    });
  }
  if (err instanceof APIUserAbortError) {
    return new LlmError('LLM_TIMEOUT', 'anthropic: the call was aborted', {
      provider: 'anthropic',
      retryable: true,
    });
  }
  if (err instanceof APIConnectionError) {
    return new LlmError(
      'LLM_PROVIDER_ERROR',
      `anthropic: connection failed (${scrubKeys(err.message, secrets)})`,
      {
        provider: 'anthropic',
        retryable: true,
      },
    );
  }
  if (err instanceof APIError && typeof err.status === 'number') {
    const { code, retryable } = classifyStatus(err.status);
    const detail = scrubKeys(describeBody(err.error ?? err.message), secrets);
    const retryAfterMs = retryAfterFromHeaders(err.headers, nowMs);
    return new LlmError(code, `anthropic: HTTP ${err.status}${detail ? ` – ${detail}` : ''}`, {
      provider: 'anthropic',
      status: err.status,
      retryable,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      ...(code === 'LLM_AUTH'
        ? { hint: 'Check ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL if you use a proxy).' }
        : {}),
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  // A body that is not JSON (a proxy's HTML page, a truncated reply) ends up here.
  return new LlmError(
    'LLM_PROVIDER_ERROR',
    `anthropic: unreadable response (${scrubKeys(message, secrets).slice(0, 200)})`,
    {
      provider: 'anthropic',
      retryable: true,
      cause: err,
    },
  );
}
