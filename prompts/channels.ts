// Which Slack channel gets the alert for a prompt: a per-prompt map (exact names or `*` globs, first match wins),
// else PROMPT_ALERTS_CHANNEL.
import { z } from 'zod';

/** One `pattern=channel` rule of PROMPT_ALERTS_MAP. */
export interface PromptChannelRule {
  pattern: string;
  channel: string;
}

const RULE = /^([^=\s]+)\s*=\s*([#@]?[A-Za-z0-9._-]+)$/;

/** Parses `support-*=#support-alerts, billing=C0123ABCD` (commas or newlines); errors name the bad entry. */
export function parsePromptAlertsMap(
  raw: string | undefined,
): { ok: true; value: PromptChannelRule[] } | { ok: false; error: string } {
  if (!raw || raw.trim() === '') return { ok: true, value: [] };
  const rules: PromptChannelRule[] = [];
  for (const part of raw
    .split(/[,\n]/)
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = RULE.exec(part);
    if (!m)
      return {
        ok: false,
        error: `"${part}": expected prompt-name-or-glob=channel, e.g. support-*=#support-alerts`,
      };
    rules.push({ pattern: m[1]!, channel: m[2]!.replace(/^#/, '') });
  }
  return { ok: true, value: rules };
}

/** zod schema for the PROMPT_ALERTS_MAP environment variable (for config/env.ts). */
export const PromptAlertsMapSchema = z.string().transform((s, ctx) => {
  const res = parsePromptAlertsMap(s);
  if (!res.ok) {
    ctx.addIssue({ code: 'custom', message: res.error });
    return z.NEVER;
  }
  return res.value;
});

function globToRegExp(glob: string): RegExp {
  return new RegExp(
    `^${glob
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
}

/** Returns the channel for a prompt name, or undefined when no alert channel is configured for it. */
export function createChannelResolver(options: {
  defaultChannel?: string | undefined;
  rules?: readonly PromptChannelRule[];
}): (promptName: string) => string | undefined {
  const compiled = (options.rules ?? []).map((r) => ({ re: globToRegExp(r.pattern), channel: r.channel }));
  const fallback = options.defaultChannel?.replace(/^#/, '');
  return (name) => compiled.find((r) => r.re.test(name))?.channel ?? fallback;
}
