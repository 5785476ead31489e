// A Message as plain text: the CLI's view of a report (bot/render-console.ts draws the richer console transport).
import { type Message, plainText } from '../chat/index.ts';

/** A Message as plain text (the CLI view; bot/ has the richer console transport). */
export function messageText(m: Message): string {
  const out: string[] = [m.title, '='.repeat(Math.min(80, m.title.length))];
  for (const s of m.sections) {
    if (s.kind === 'text') out.push(plainText(s.text));
    else if (s.kind === 'fields') {
      const w = Math.max(...s.fields.map((f) => f.label.length));
      for (const f of s.fields) out.push(`${f.label.padEnd(w)}  ${s.mrkdwn ? plainText(f.value) : f.value}`);
    } else if (s.kind === 'code') {
      if (s.label) out.push(`${s.label}:`);
      out.push(...s.text.split('\n').map((l) => `  ${l}`));
    } else if (s.kind === 'context') out.push(...s.items.map((i) => `· ${s.mrkdwn ? plainText(i) : i}`));
    else if (s.kind === 'divider') out.push('---');
  }
  for (const t of m.thread ?? [])
    out.push(
      '',
      ...messageText(t)
        .split('\n')
        .map((l) => `  ${l}`),
    );
  return `${out.join('\n')}\n`;
}
