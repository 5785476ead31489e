// A Message as plain text: the one renderer of the CLI's output (bot/render-console.ts draws the interactive console
// transport, with colours and numbered buttons). Two layouts of the same walk over the sections: `report` (a run's
// report: the title underlined, one field per line, one note per line, the thread indented below, a final newline)
// and `compact` (monitor, digest and review output: the fields on one line, the notes joined, thread replies marked
// ↳). Mrkdwn is turned into plain text where the section says it is mrkdwn.
import { type Message, type MessageSection, plainText } from './message.ts';
import type { PostedRef, Transport } from './transport.ts';

/** How {@link messageToText} lays a Message out. */
export interface TextLayout {
  /** Default `compact`. */
  layout?: 'compact' | 'report';
  /** Put before every line (`compact`; thread replies add `  ↳ `). */
  indent?: string;
}

const text = (s: { mrkdwn?: boolean | undefined }, value: string) => (s.mrkdwn ? plainText(value) : value);

function reportLines(s: MessageSection): string[] {
  if (s.kind === 'text') return [plainText(s.text)];
  if (s.kind === 'fields') {
    const w = Math.max(...s.fields.map((f) => f.label.length));
    return s.fields.map((f) => `${f.label.padEnd(w)}  ${text(s, f.value)}`);
  }
  if (s.kind === 'code')
    return [...(s.label ? [`${s.label}:`] : []), ...s.text.split('\n').map((l) => `  ${l}`)];
  if (s.kind === 'context') return s.items.map((i) => `· ${text(s, i)}`);
  if (s.kind === 'divider') return ['---'];
  return [];
}

function compactLines(s: MessageSection, indent: string): string[] {
  if (s.kind === 'text') return [`${indent}${plainText(s.text)}`];
  if (s.kind === 'fields')
    return [`${indent}${s.fields.map((f) => `${f.label}: ${text(s, f.value)}`).join(' | ')}`];
  if (s.kind === 'code')
    return [
      `${s.label ? `${indent}${s.label}:\n` : ''}${s.text
        .split('\n')
        .map((l) => `${indent}  ${l}`)
        .join('\n')}`,
    ];
  if (s.kind === 'context') return [`${indent}${s.items.map((i) => text(s, i)).join(' · ')}`];
  return [];
}

/** A Message as plain text in the given layout. */
export function messageToText(m: Message, options: TextLayout = {}): string {
  if (options.layout === 'report') {
    const out = [m.title, '='.repeat(Math.min(80, m.title.length)), ...m.sections.flatMap(reportLines)];
    for (const t of m.thread ?? [])
      out.push(
        '',
        ...messageToText(t, { layout: 'report' })
          .split('\n')
          .map((l) => `  ${l}`),
      );
    return `${out.join('\n')}\n`;
  }
  const indent = options.indent ?? '';
  const out = [`${indent}${m.title}`, ...m.sections.flatMap((s) => compactLines(s, indent))];
  for (const t of m.thread ?? []) out.push(messageToText(t, { indent: `${indent}  ↳ ` }));
  return out.join('\n');
}

/**
 * A `Transport` that prints each message as plain text (the CLI's stand-in for Slack): a top-level post is headed by
 * its channel when `channels` is set, a thread reply is indented under it, an upload prints its path.
 */
export function createTextTransport(
  write: (text: string) => void,
  options: { channels?: boolean } = {},
): Transport {
  let n = 0;
  const post = async (
    target: { channel: string; threadTs?: string },
    message: Message,
  ): Promise<PostedRef> => {
    n += 1;
    const head = options.channels && !target.threadTs && target.channel ? `[${target.channel}]\n` : '';
    write(`${head}${messageToText(message, { indent: target.threadTs ? '  ↳ ' : '' })}\n`);
    return { channel: target.channel, ts: `cli.${n}` };
  };
  return {
    name: 'console',
    post,
    update: async (_ref, message) => void (await post({ channel: '' }, message)),
    postEphemeral: async (target, message) => void (await post(target, message)),
    uploadFile: async (_t, file) => write(`  ↳ chart: ${file.path}\n`),
  };
}
