// Test doubles for digests/: a recording Transport (our own port, not Slack) that records uploads and post keys
// (and finds posts by key), can fail the next calls as Slack being down would, and can hang a call as a replica
// killed mid-post would.
import type { Message } from '../chat/index.ts';
import type { PostedRef, Transport } from '../chat/index.ts';

/** A recorded post or upload. */
export type Recorded =
  | { kind: 'post'; channel: string; threadTs?: string; message: Message; ts: string; key?: string }
  | { kind: 'upload'; channel: string; threadTs?: string; path: string; title: string };

/** A Transport that records what it is asked to do; `failNext` and `hangNext` inject faults. */
export function createDigestTransport(tsBase = 1_700_000_000) {
  const calls: Recorded[] = [];
  let failures = 0;
  let hangs = 0;
  let n = 0;
  const gate = async () => {
    if (failures > 0) {
      failures -= 1;
      throw new Error('slack unavailable (simulated)');
    }
    if (hangs > 0) {
      hangs -= 1;
      await new Promise(() => {});
    }
  };
  const transport: Transport & {
    calls: Recorded[];
    posts(): Extract<Recorded, { kind: 'post' }>[];
    uploads(): Extract<Recorded, { kind: 'upload' }>[];
    failNext(count: number): void;
    hangNext(count: number): void;
  } = {
    name: 'recording',
    calls,
    posts: () => calls.filter((c) => c.kind === 'post'),
    uploads: () => calls.filter((c) => c.kind === 'upload'),
    failNext(count) {
      failures = count;
    },
    hangNext(count) {
      hangs = count;
    },
    async post(target, message, options = {}): Promise<PostedRef> {
      await gate();
      n += 1;
      const ts = `${tsBase}.${String(n).padStart(6, '0')}`;
      calls.push({
        kind: 'post',
        channel: target.channel,
        ...(target.threadTs ? { threadTs: target.threadTs } : {}),
        message,
        ts,
        ...(options.key ? { key: options.key } : {}),
      });
      return { channel: target.channel, ts };
    },
    // Looks through what this transport recorded, as Slack's history would (`since` is not applied: the recorded
    // ts are synthetic). Slack down fails the lookup too.
    async findPosted(target, key) {
      await gate();
      const hit = calls.find(
        (c) =>
          c.kind === 'post' &&
          c.key === key &&
          c.channel === target.channel &&
          c.threadTs === target.threadTs,
      );
      return hit ? { channel: hit.channel, ts: (hit as { ts: string }).ts } : undefined;
    },
    async update() {},
    async postEphemeral() {},
    async findUploaded(target, filename) {
      await gate();
      const hit = calls.find(
        (c) =>
          c.kind === 'upload' &&
          c.channel === target.channel &&
          c.threadTs === target.threadTs &&
          c.path.endsWith(`/${filename}`),
      );
      return hit ? { channel: hit.channel, ts: hit.threadTs ?? '' } : undefined;
    },
    async uploadFile(target, file) {
      await gate();
      calls.push({
        kind: 'upload',
        channel: target.channel,
        ...(target.threadTs ? { threadTs: target.threadTs } : {}),
        path: file.path,
        title: file.title,
      });
    },
  };
  return transport;
}
