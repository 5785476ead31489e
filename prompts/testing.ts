// Test doubles for prompts/: a recording Transport (our own port, not Slack) and webhook payload builders.
import type { Message } from '../chat/index.ts';
import type { PostedRef, Transport } from '../chat/index.ts';
import { signLangfuseWebhook } from './signature.ts';

/** A Transport that records posts; `failNext(n)` makes the next n posts throw, as Slack being down would. */
export function createRecordingTransport() {
  const posts: { channel: string; threadTs?: string; message: Message; ts: string }[] = [];
  let failures = 0;
  let n = 0;
  const transport: Transport & { posts: typeof posts; failNext(count: number): void; attempts: number } = {
    name: 'recording',
    posts,
    attempts: 0,
    failNext(count) {
      failures = count;
    },
    async post(target, message): Promise<PostedRef> {
      transport.attempts += 1;
      if (failures > 0) {
        failures -= 1;
        throw new Error('slack unavailable (simulated)');
      }
      n += 1;
      const ts = `1700000000.${String(n).padStart(6, '0')}`;
      posts.push({
        channel: target.channel,
        ...(target.threadTs ? { threadTs: target.threadTs } : {}),
        message,
        ts,
      });
      return { channel: target.channel, ts };
    },
    async update() {},
    async postEphemeral() {},
    async uploadFile() {},
  };
  return transport;
}

/** A prompt-version webhook body as Langfuse sends it. */
export function promptVersionBody(input: {
  id: string;
  action: 'created' | 'updated' | 'deleted';
  name?: string;
  version: number;
  labels?: string[];
  prompt?: string;
  commitMessage?: string | null;
  timestamp?: string;
  user?: string;
}): Record<string, unknown> {
  return {
    id: input.id,
    timestamp: input.timestamp ?? '2026-01-01T00:00:00.000Z',
    type: 'prompt-version',
    apiVersion: 'v1',
    action: input.action,
    ...(input.user ? { user: input.user } : {}),
    prompt: {
      id: `prm_${input.version}`,
      name: input.name ?? 'support-bot',
      version: input.version,
      projectId: 'proj_1',
      createdBy: 'alice',
      labels: input.labels ?? [],
      prompt: input.prompt ?? `You are helpful.\nVersion ${input.version}.`,
      type: 'text',
      config: { temperature: 0.2 },
      commitMessage: input.commitMessage ?? null,
      tags: [],
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
    },
  };
}

/** Headers of a signed delivery for a raw body string. */
export function signedHeaders(
  secret: string,
  rawBody: string,
  now: Date = new Date(),
): Record<string, string> {
  return {
    'content-type': 'application/json',
    'user-agent': 'Langfuse/1.0',
    'x-langfuse-signature': signLangfuseWebhook(secret, Math.floor(now.getTime() / 1000), rawBody),
  };
}
