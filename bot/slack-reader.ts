// The `slack` monitor source's reading client (monitors' SlackReader) over the bot's @slack/web-api WebClient: the
// same method names, arguments and answers as Slack's Web API, with the WebClient's thrown errors turned back into
// Slack's `{ ok: false, error, needed }` answers (plus the HTTP status, Retry-After or failure the JSON cannot carry).
// Give it a client that never waits inside a call (createSlackClient with `retries: 0, rejectRateLimitedCalls: true`):
// the source paces itself, waits Retry-After on its clock and keeps its pacing in its cursor. A client watched by
// watchClientScopes tells the admins about a missing_scope once; the error still reaches the monitor.
import type { SlackAnswer, SlackReader } from '../monitors/index.ts';
import { type SlackClient, webApi } from './slack-transport.ts';

/** The WebClient's error as the answer Slack gave (or the failure that kept it from answering). */
function slackAnswerOf(err: unknown): SlackAnswer {
  const codes = webApi().ErrorCode;
  const e = err as {
    code?: unknown;
    data?: { error?: unknown; needed?: unknown };
    retryAfter?: unknown;
    statusCode?: unknown;
    original?: { message?: unknown };
    message?: unknown;
  };
  if (e?.code === codes.PlatformError && typeof e.data?.error === 'string') {
    // A body that was not JSON comes back from the WebClient as `{ ok: false, error: <the text> }`.
    if (!/^[a-z0-9_]+$/.test(e.data.error)) return { ok: false, error: 'invalid_response' };
    return {
      ...(e.data as Record<string, unknown>),
      ok: false,
      error: e.data.error,
      ...(typeof e.data.needed === 'string' ? { needed: e.data.needed } : {}),
    };
  }
  if (e?.code === codes.RateLimitedError)
    return {
      ok: false,
      error: 'ratelimited',
      status: 429,
      ...(typeof e.retryAfter === 'number' ? { retryAfterMs: e.retryAfter * 1000 } : {}),
    };
  // A 429 without a usable Retry-After is refused by the WebClient with this plain Error (no code).
  if (typeof e?.message === 'string' && e.message.startsWith('Retry header did not contain a valid timeout'))
    return { ok: false, error: 'ratelimited', status: 429 };
  if (e?.code === codes.HTTPError && typeof e.statusCode === 'number')
    return { ok: false, error: `http_${e.statusCode}`, status: e.statusCode };
  const detail =
    e?.code === codes.RequestError && typeof e.original?.message === 'string'
      ? e.original.message
      : err instanceof Error
        ? err.message
        : String(err);
  return { ok: false, error: 'request_failed', detail };
}

/** Options of the reading client. */
export interface SlackReaderOptions {
  /** Per-call time-out in ms (default 10 s): a call with no answer by then is `request_failed`. */
  timeoutMs?: number;
}

/** The monitors' Slack reading client over a WebClient (conversations.history and conversations.replies). */
export function createSlackReader(client: SlackClient, options: SlackReaderOptions = {}): SlackReader {
  const timeoutMs = options.timeoutMs ?? 10_000;
  async function answer(call: () => Promise<unknown>): Promise<SlackAnswer> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<SlackAnswer>((resolve) => {
      timer = setTimeout(
        () => resolve({ ok: false, error: 'request_failed', detail: `no answer within ${timeoutMs} ms` }),
        timeoutMs,
      );
      timer.unref?.();
    });
    const called = call().then(
      (result) => ({ ...(result as Record<string, unknown>), ok: true }) as SlackAnswer,
      (err: unknown) => slackAnswerOf(err),
    );
    try {
      return await Promise.race([called, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }
  return {
    conversations: {
      // The WebClient's methods (not apiCall), so watchClientScopes names the method in a missing_scope notice.
      history: (args) => answer(() => client.conversations.history(args)),
      replies: (args) => answer(() => client.conversations.replies(args)),
    },
  };
}
