// Pacing of chat.postMessage per channel. Slack allows about one message per second per channel, with short bursts,
// and answers 429 beyond that; the client retries after Retry-After, but a review posting 40 ballots into one
// thread would collect a 429 per message. A token bucket per channel (a burst, then one message per second) keeps
// the bot under the limit instead. Waiters of one channel go in order; channels do not wait for each other.
import type { Clock } from '../config/index.ts';

/** Waits for a channel's next posting slot. */
export interface ChannelPacer {
  wait(channel: string): Promise<void>;
}

/** Creates a pacer: `burst` messages at once per channel, then `perSecond`. */
export function createChannelPacer(options: {
  perSecond: number;
  burst: number;
  clock: Pick<Clock, 'nowMs' | 'sleep'>;
}): ChannelPacer {
  const { perSecond, burst, clock } = options;
  if (!(perSecond > 0) || !(burst >= 1))
    throw new Error('channel pacer: perSecond > 0 and burst >= 1 needed');
  const rate = perSecond / 1000; // tokens per ms
  const channels = new Map<string, { tokens: number; at: number; tail: Promise<void> }>();
  const refill = (s: { tokens: number; at: number }) => {
    const now = clock.nowMs();
    s.tokens = Math.min(burst, s.tokens + (now - s.at) * rate);
    s.at = now;
  };
  return {
    wait(channel) {
      let s = channels.get(channel);
      if (!s) {
        s = { tokens: burst, at: clock.nowMs(), tail: Promise.resolve() };
        channels.set(channel, s);
      }
      const state = s;
      const turn = state.tail.then(async () => {
        refill(state);
        if (state.tokens < 1) {
          await clock.sleep((1 - state.tokens) / rate);
          refill(state);
        }
        state.tokens -= 1;
      });
      // A failed wait (it cannot fail today) must not stall the channel's later waiters.
      state.tail = turn.catch(() => undefined);
      return turn;
    },
  };
}
