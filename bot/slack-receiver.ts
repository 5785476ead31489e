// A Bolt Receiver that takes Slack's HTTP requests from our own hono app (POST /slack/events, on the same server
// as /healthz): raw body verified with the signing secret, payload parsed and checked with zod, then handed to
// App.processEvent; the HTTP response is whatever the listener passes to ack().
import type { App, Receiver, ReceiverEvent } from '@slack/bolt';
import { z } from 'zod';
import { type Logger, logFailure, type Clock, systemClock } from '../config/index.ts';
import { verifySlackSignature } from './slack-signature.ts';

/** Slash command form fields Arbiter relies on (Slack sends more; they pass through). */
export const SlashCommandBodySchema = z.looseObject({
  command: z.string().min(1),
  text: z.string(),
  user_id: z.string().min(1),
  channel_id: z.string().min(1),
  trigger_id: z.string().min(1),
  team_id: z.string().optional(),
  response_url: z.string().url().optional(),
});

const UrlVerificationSchema = z.looseObject({ type: z.literal('url_verification'), challenge: z.string() });
const EventCallbackSchema = z.looseObject({
  type: z.literal('event_callback'),
  event_id: z.string().min(1),
  event: z.looseObject({ type: z.string() }),
});
const TypedPayloadSchema = z.looseObject({
  type: z.string().min(1),
  user: z.looseObject({ id: z.string() }).optional(),
});

/** Any payload the receiver accepts: a slash command, or a typed envelope (events, interactivity). */
export const SlackEnvelopeSchema = z.union([
  SlashCommandBodySchema,
  UrlVerificationSchema,
  EventCallbackSchema,
  TypedPayloadSchema,
]);

/**
 * Checks a payload against the one schema its shape calls for; accepts exactly what SlackEnvelopeSchema accepts,
 * without trying every member of the union on the hot path (a slash command is checked once).
 */
export function parseEnvelope(body: unknown): Record<string, unknown> | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const b = body as Record<string, unknown>;
  const schema =
    typeof b.command === 'string' && SlashCommandBodySchema.safeParse(b).success
      ? undefined
      : b.type === 'url_verification'
        ? UrlVerificationSchema
        : b.type === 'event_callback'
          ? EventCallbackSchema
          : TypedPayloadSchema;
  if (!schema) return b;
  // A payload that fails its own schema may still pass a looser member (as the union would accept it).
  const r = schema.safeParse(b);
  if (r.success) return r.data as Record<string, unknown>;
  return schema === TypedPayloadSchema ? undefined : (TypedPayloadSchema.safeParse(b).data ?? undefined);
}

/** Options of the receiver. */
export interface SlackHttpReceiverOptions {
  signingSecret: string;
  logger: Logger;
  clock?: Pick<Clock, 'now'>;
  /** Answer 200 empty if no listener acked by then (Slack gives up at 3 s). */
  ackTimeoutMs?: number;
}

const NO_ACK = Symbol('no-ack');

/** The receiver; `handle` is mounted at POST /slack/events. */
export class SlackHttpReceiver implements Receiver {
  private app: App | undefined;
  constructor(private readonly options: SlackHttpReceiverOptions) {}

  init(app: App): void {
    this.app = app;
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  /** Handles one HTTP request from Slack. */
  handle = async (req: Request): Promise<Response> => {
    const { logger } = this.options;
    const raw = new Uint8Array(await req.arrayBuffer());
    const contentType = req.headers.get('content-type') ?? '';
    // Slack checks a slash command's certificate with an unsigned `ssl_check=1` form and expects 200. Answered
    // before the signature check, as Bolt does, and with nothing else read from the body: whatever else it
    // carries is never processed unsigned.
    if (isSslCheck(contentType, raw)) return new Response(null, { status: 200 });
    const verified = verifySlackSignature({
      signingSecret: this.options.signingSecret,
      timestamp: req.headers.get('x-slack-request-timestamp'),
      signature: req.headers.get('x-slack-signature'),
      rawBody: raw,
      now: (this.options.clock ?? systemClock).now(),
    });
    if (!verified.ok) {
      logger.warn({ reason: verified.reason }, 'slack request rejected: bad signature');
      return new Response('invalid signature', { status: 401 });
    }
    const body = parseBody(contentType, Buffer.from(raw).toString('utf8'));
    const data = parseEnvelope(body);
    if (!data) {
      logger.warn('slack request rejected: malformed payload');
      return new Response('malformed payload', { status: 400 });
    }
    if (data.type === 'url_verification') return Response.json({ challenge: data.challenge });
    if (!this.app) return new Response('not ready', { status: 503 });

    let acked = false;
    let resolveAck: (v: unknown) => void = () => {};
    const ackPromise = new Promise<unknown>((r) => {
      resolveAck = r;
    });
    const retryNum = Number(req.headers.get('x-slack-retry-num') ?? '');
    const retryReason = req.headers.get('x-slack-retry-reason');
    const event: ReceiverEvent = {
      body: data,
      ...(Number.isInteger(retryNum) && req.headers.has('x-slack-retry-num') ? { retryNum } : {}),
      ...(retryReason ? { retryReason } : {}),
      ack: async (response?: unknown) => {
        if (acked) return;
        acked = true;
        resolveAck(response);
      },
    };
    if (data.type === 'event_callback') return this.handleEvent(event);
    const processing = this.app.processEvent(event).then(
      () => (acked ? ackPromise : NO_ACK),
      (err: unknown) => {
        logFailure(logger, err, {}, 'slack listener failed');
        return acked ? ackPromise : err instanceof Error ? err : new Error(String(err));
      },
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<typeof NO_ACK>((r) => {
      timer = setTimeout(() => r(NO_ACK), this.options.ackTimeoutMs ?? 2500);
    });
    const result = await Promise.race([ackPromise, processing, timeout]);
    clearTimeout(timer);
    if (result instanceof Error) return new Response('internal error', { status: 500 });
    if (result === NO_ACK || result === undefined || result === '')
      return new Response(null, { status: 200 });
    if (typeof result === 'string') return new Response(result, { status: 200 });
    return Response.json(result);
  };

  /**
   * Events API: Bolt acks an event before its listeners run, so answering at the ack would tell Slack "received"
   * before the listener recorded anything. Answer once the listeners are done instead: 200 when they succeeded,
   * 500 when one failed (an enqueue the store refused), so that Slack retries it (X-Slack-Retry-Num); the event is
   * not marked seen then (slack-app.ts). Listeners only enqueue, well within Slack's 3 s.
   */
  private async handleEvent(event: ReceiverEvent): Promise<Response> {
    const { logger } = this.options;
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      this.app!.processEvent(event).then(
        () => 'ok' as const,
        (err: unknown) => {
          logger.error({ err }, 'slack event listener failed; answering 500 so that Slack retries');
          return 'failed' as const;
        },
      ),
      new Promise<'late'>((r) => {
        timer = setTimeout(() => r('late'), this.options.ackTimeoutMs ?? 2500);
      }),
    ]);
    clearTimeout(timer);
    if (outcome === 'failed') return new Response('internal error', { status: 500 });
    // Still running: let Slack retry; a retry of an event that did get recorded is deduplicated by its id.
    if (outcome === 'late') return new Response('still processing', { status: 503 });
    return new Response(null, { status: 200 });
  }
}

/** Slack's unsigned certificate check: a form body with `ssl_check=1`. */
export function isSslCheck(contentType: string, raw: Uint8Array): boolean {
  if (!contentType.includes('application/x-www-form-urlencoded')) return false;
  return new URLSearchParams(Buffer.from(raw).toString('utf8')).get('ssl_check') === '1';
}

/** Parses a Slack body: JSON (events), form with `payload=` JSON (interactivity) or a plain form (commands). */
export function parseBody(contentType: string, text: string): unknown {
  try {
    if (contentType.includes('application/json')) return JSON.parse(text);
    if (contentType.includes('application/x-www-form-urlencoded')) {
      const params = new URLSearchParams(text);
      const payload = params.get('payload');
      return payload !== null ? JSON.parse(payload) : Object.fromEntries(params);
    }
  } catch {
    return undefined;
  }
  return undefined;
}
