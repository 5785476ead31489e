import { describe, expect, it } from 'vitest';
import { createChannelResolver, parsePromptAlertsMap, PromptAlertsMapSchema } from './channels.ts';

describe('prompt alert channels', () => {
  it.each([
    ['', []],
    [
      'support-*=#support-alerts, billing=C0123ABCD',
      [
        { pattern: 'support-*', channel: 'support-alerts' },
        { pattern: 'billing', channel: 'C0123ABCD' },
      ],
    ],
    [
      'a=b\nc = d',
      [
        { pattern: 'a', channel: 'b' },
        { pattern: 'c', channel: 'd' },
      ],
    ],
  ])('parses %j', (raw, expected) => {
    expect(parsePromptAlertsMap(raw)).toEqual({ ok: true, value: expected });
  });

  it('names the bad entry', () => {
    expect(parsePromptAlertsMap('ok=c1, broken')).toEqual({
      ok: false,
      error: expect.stringContaining('"broken"'),
    });
    expect(PromptAlertsMapSchema.safeParse('broken').success).toBe(false);
  });

  it.each([
    ['support-bot', 'support-alerts'],
    ['billing', 'C0123'],
    ['billing-v2', 'prompt-alerts'],
  ])('routes %s to %s (first match wins, then the default)', (name, channel) => {
    const resolve = createChannelResolver({
      defaultChannel: '#prompt-alerts',
      rules: [
        { pattern: 'support-*', channel: 'support-alerts' },
        { pattern: 'billing', channel: 'C0123' },
        { pattern: 'support-bot', channel: 'never' },
      ],
    });
    expect(resolve(name)).toBe(channel);
  });

  it('returns undefined with nothing configured', () => {
    expect(createChannelResolver({})('x')).toBeUndefined();
  });
});
