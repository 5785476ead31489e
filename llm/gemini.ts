// The `gemini` provider: generateContent (POST /v1beta/models/{model}:generateContent) through @google/genai.
// The SDK does not retry unless given retryOptions, and we give none: the wrapper owns retries.
import { type Clock, systemClock } from '../config/index.ts';
import type { ThinkingConfig, ThinkingLevel } from '@google/genai';
import { z } from 'zod';
import { classifyStatus, describeBody, LlmError, retryAfterFromHeaders, scrubKeys } from './errors.ts';
import type {
  CallParams,
  Effort,
  FinishReason,
  LlmProvider,
  ModelToolCall,
  ProviderReply,
  Usage,
} from './types.ts';

/** Options of the Gemini provider. */
export interface GeminiProviderOptions {
  apiKey: string;
  /** Defaults to https://generativelanguage.googleapis.com (GEMINI_BASE_URL overrides it). */
  baseUrl?: string;
  /** Injected fetch (tests, proxies); the global fetch otherwise. */
  fetch?: typeof fetch;
  /** The wrapper's clock (epoch ms for Retry-After dates); the system clock by default. */
  clock?: Pick<Clock, 'nowMs'>;
}

/** Default Gemini API host. */
export const GEMINI_DEFAULT_BASE_URL = 'https://generativelanguage.googleapis.com';

// Shape: GenerateContentResponse, https://ai.google.dev/api/generate-content#generatecontentresponse
// (candidates[].finishReason, promptFeedback.blockReason, usageMetadata).
const ResponseSchema = z.object({
  candidates: z
    .array(
      z.object({
        content: z
          .object({
            // A tool call is a `functionCall: {name, args, id?}` part:
            // https://ai.google.dev/api/caching#FunctionCall
            parts: z
              .array(
                z.object({
                  text: z.string().optional(),
                  thought: z.boolean().optional(),
                  functionCall: z
                    .object({ name: z.string(), args: z.record(z.string(), z.unknown()).optional() })
                    .optional(),
                }),
              )
              .optional(),
          })
          .optional(),
        finishReason: z.string().optional(),
      }),
    )
    .optional(),
  promptFeedback: z.object({ blockReason: z.string().optional() }).optional(),
  usageMetadata: z
    .object({
      promptTokenCount: z.number().optional(),
      candidatesTokenCount: z.number().optional(),
      thoughtsTokenCount: z.number().optional(),
      cachedContentTokenCount: z.number().optional(),
    })
    .optional(),
});

// https://ai.google.dev/api/generate-content#FinishReason
const FINISH_REASONS: Record<string, FinishReason> = {
  STOP: 'complete',
  MAX_TOKENS: 'truncated',
  SAFETY: 'refused',
  RECITATION: 'refused',
  BLOCKLIST: 'refused',
  PROHIBITED_CONTENT: 'refused',
  SPII: 'refused',
  IMAGE_SAFETY: 'refused',
  IMAGE_PROHIBITED_CONTENT: 'refused',
  IMAGE_RECITATION: 'refused',
  MALFORMED_FUNCTION_CALL: 'malformed',
  UNEXPECTED_TOOL_CALL: 'malformed',
  TOO_MANY_TOOL_CALLS: 'malformed',
};

/** How a Gemini `finishReason` reads as a finish reason (LANGUAGE, OTHER, unknown and missing ones are `other`). */
export function geminiFinish(finishReason: string | undefined): FinishReason {
  return (finishReason && FINISH_REASONS[finishReason]) || 'other';
}

// Gemini 3 models take a thinking level; 2.5 models a token budget (Pro cannot turn thinking off, so none is 0).
const THINKING_BUDGET: Record<Effort, number> = { low: 1024, medium: 4096, high: -1 };

function thinkingConfig(model: string, effort: Effort | undefined): ThinkingConfig | undefined {
  if (!effort) return undefined;
  if (/^gemini-[3-9]/.test(model)) return { thinkingLevel: effort.toUpperCase() as ThinkingLevel };
  if (/^gemini-2\.5/.test(model)) return { thinkingBudget: THINKING_BUDGET[effort] };
  return undefined;
}

// Gemini reports how long to wait in the error body (google.rpc.RetryInfo) rather than in a header.
const RetryInfoSchema = z.object({
  error: z.object({
    details: z
      .array(z.object({ '@type': z.string().optional(), retryDelay: z.string().optional() }).loose())
      .optional(),
  }),
});

function retryDelayFromBody(message: string): number | undefined {
  try {
    const parsed = RetryInfoSchema.safeParse(JSON.parse(message));
    if (!parsed.success) return undefined;
    for (const d of parsed.data.error.details ?? []) {
      const m = d.retryDelay ? /^(\d+(?:\.\d+)?)s$/.exec(d.retryDelay) : null;
      if (m) return Number.parseFloat(m[1]!) * 1000;
    }
  } catch {
    // not JSON: no hint
  }
  return undefined;
}

type Sdk = typeof import('@google/genai');

// The SDK is loaded on first use: start-up (and every process without a Gemini key) does not pay for it.
let sdkLoading: Promise<Sdk> | undefined;
const loadSdk = () => {
  sdkLoading ??= import('@google/genai');
  return sdkLoading;
};

/** Creates the Gemini provider. */
export function createGeminiProvider(options: GeminiProviderOptions): LlmProvider {
  const baseFetch = options.fetch ?? fetch;
  const clock = options.clock ?? systemClock;
  let client: InstanceType<Sdk['GoogleGenAI']> | undefined;
  const clientFor = (sdk: Sdk) => {
    client ??= new sdk.GoogleGenAI({
      vertexai: false,
      apiKey: options.apiKey,
      httpOptions: { baseUrl: options.baseUrl ?? GEMINI_DEFAULT_BASE_URL, fetch: baseFetch },
    });
    return client;
  };
  const secrets = [options.apiKey];

  return {
    name: 'gemini',
    heuristic: false,
    async complete(params: CallParams & { modelName: string }, signal: AbortSignal) {
      const system = params.messages
        .filter((m) => m.role === 'system')
        .map((m) => m.content)
        .join('\n\n');
      // An empty turn carries nothing and empty parts are refused, so it is left out.
      const contents = params.messages
        .filter((m) => m.role !== 'system' && m.content.trim() !== '')
        .map((m) => ({ role: m.role === 'assistant' ? 'model' : 'user', parts: [{ text: m.content }] }));
      // ApiError carries only the status, so this call's own fetch keeps the headers for retry-after.
      let lastHeaders: Headers | undefined;
      const capturingFetch: typeof fetch = async (input, init) => {
        const res = await baseFetch(input, init);
        lastHeaders = res.headers;
        return res;
      };
      const thinking = thinkingConfig(params.modelName, params.effort);
      let raw: unknown;
      const sdk = await loadSdk();
      try {
        raw = await clientFor(sdk).models.generateContent({
          model: params.modelName,
          contents,
          config: {
            ...(system ? { systemInstruction: system } : {}),
            ...(params.temperature !== undefined ? { temperature: params.temperature } : {}),
            maxOutputTokens: params.maxTokens ?? 4096,
            ...(params.json ? { responseMimeType: 'application/json' } : {}),
            ...(params.json && params.jsonSchema ? { responseJsonSchema: params.jsonSchema } : {}),
            ...(thinking ? { thinkingConfig: thinking } : {}),
            // Function declarations with JSON Schema parameters: https://ai.google.dev/api/caching#FunctionDeclaration
            ...(params.tools?.length
              ? {
                  tools: [
                    {
                      functionDeclarations: params.tools.map((t) => ({
                        name: t.name,
                        ...(t.description ? { description: t.description } : {}),
                        parametersJsonSchema: t.parameters ?? { type: 'object' },
                      })),
                    },
                  ],
                }
              : {}),
            abortSignal: signal,
            httpOptions: { fetch: capturingFetch },
          },
        });
      } catch (err) {
        throw toLlmError(sdk, err, signal, secrets, lastHeaders, clock.nowMs());
      }
      const parsed = ResponseSchema.safeParse(raw);
      if (!parsed.success) {
        throw new LlmError(
          'LLM_PROVIDER_ERROR',
          'gemini: the response is not a generateContent response (unreadable body)',
          {
            provider: 'gemini',
            retryable: true,
          },
        );
      }
      const res = parsed.data;
      const meta = res.usageMetadata ?? {};
      // promptTokenCount includes the cached part; thinking tokens are billed as output.
      const cacheRead = meta.cachedContentTokenCount ?? 0;
      const usage: Usage = {
        inputTokens: meta.promptTokenCount ?? 0,
        outputTokens: (meta.candidatesTokenCount ?? 0) + (meta.thoughtsTokenCount ?? 0),
        ...(cacheRead > 0 ? { cacheReadTokens: cacheRead } : {}),
      };
      const candidate = res.candidates?.[0];
      const blocked = res.promptFeedback?.blockReason;
      if (!candidate || blocked) {
        // A blocked prompt is an answer too (a refusal to answer), not a failed call: the caller records it.
        return {
          text: '',
          usage,
          finish: blocked ? 'refused' : 'other',
          finishDetail: blocked ? `prompt blocked: ${blocked}` : 'no candidate in the response',
        };
      }
      const text = (candidate.content?.parts ?? [])
        .filter((p) => !p.thought && typeof p.text === 'string')
        .map((p) => p.text)
        .join('');
      const toolCalls: ModelToolCall[] = (candidate.content?.parts ?? [])
        .filter((p) => p.functionCall !== undefined)
        .map((p) => ({ name: p.functionCall!.name, args: p.functionCall!.args ?? {} }));
      const finish = geminiFinish(candidate.finishReason);
      const reply: ProviderReply = { text, usage, finish, ...(toolCalls.length ? { toolCalls } : {}) };
      if (finish !== 'complete') reply.finishDetail = candidate.finishReason ?? 'no finishReason';
      return reply;
    },
    // On the Gemini API the SDK's embedContent posts to models/{model}:batchEmbedContents and reads
    // `{embeddings: [{values}]}`, one per text in order: https://ai.google.dev/api/embeddings#method:-models.batchembedcontents
    async embed(params, signal) {
      let lastHeaders: Headers | undefined;
      const capturingFetch: typeof fetch = async (input, init) => {
        const res = await baseFetch(input, init);
        lastHeaders = res.headers;
        return res;
      };
      const sdk = await loadSdk();
      let raw: unknown;
      try {
        raw = await clientFor(sdk).models.embedContent({
          model: params.modelName,
          contents: [...params.texts],
          config: { abortSignal: signal, httpOptions: { fetch: capturingFetch } },
        });
      } catch (err) {
        throw toLlmError(sdk, err, signal, secrets, lastHeaders, clock.nowMs());
      }
      const parsed = EmbeddingsSchema.safeParse(raw);
      if (!parsed.success || parsed.data.embeddings.length !== params.texts.length)
        throw new LlmError(
          'LLM_PROVIDER_ERROR',
          `gemini: the response does not hold ${params.texts.length} embeddings (unreadable body)`,
          { provider: 'gemini', retryable: true },
        );
      return parsed.data.embeddings.map((e) => e.values);
    },
  };
}

const EmbeddingsSchema = z.object({ embeddings: z.array(z.object({ values: z.array(z.number()) })) });

function toLlmError(
  sdk: Sdk,
  err: unknown,
  signal: AbortSignal,
  secrets: readonly string[],
  headers: Headers | undefined,
  nowMs: number,
): LlmError {
  const { ApiError } = sdk;
  if (signal.aborted) {
    const reason = signal.reason;
    if (reason instanceof LlmError) return reason;
    return new LlmError('LLM_TIMEOUT', 'gemini: the call was aborted', {
      provider: 'gemini',
      retryable: true,
      cause: reason,
    });
  }
  if (err instanceof ApiError) {
    const { code, retryable } = classifyStatus(err.status);
    const retryAfterMs = retryAfterFromHeaders(headers, nowMs) ?? retryDelayFromBody(err.message);
    let detail = err.message;
    try {
      detail = describeBody(JSON.parse(err.message));
    } catch {
      detail = describeBody(err.message);
    }
    return new LlmError(
      code,
      `gemini: HTTP ${err.status}${detail ? ` – ${scrubKeys(detail, secrets)}` : ''}`,
      {
        provider: 'gemini',
        status: err.status,
        retryable,
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
        ...(code === 'LLM_AUTH' || (err.status === 400 && /API key/i.test(err.message))
          ? { hint: 'Check GEMINI_API_KEY (and GEMINI_BASE_URL if you use a proxy).' }
          : {}),
      },
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  const name = err instanceof Error ? err.name : '';
  if (name === 'AbortError' || name === 'TimeoutError') {
    return new LlmError('LLM_TIMEOUT', 'gemini: the request timed out', {
      provider: 'gemini',
      retryable: true,
    });
  }
  // fetch failures (TypeError: fetch failed) and bodies that are not JSON (SyntaxError) land here.
  return new LlmError(
    'LLM_PROVIDER_ERROR',
    `gemini: ${name === 'SyntaxError' ? 'unreadable response' : 'request failed'} (${scrubKeys(message, secrets).slice(0, 200)})`,
    {
      provider: 'gemini',
      retryable: true,
      cause: err,
    },
  );
}
