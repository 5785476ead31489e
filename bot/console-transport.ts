import type { Message } from '../commands/message.ts';
import type { PostedRef, Transport } from '../commands/transport.ts';
import { renderConsole } from './render-console.ts';

/** Options of the console transport. */
export interface ConsoleTransportOptions {
  write?: (text: string) => void;
  color?: boolean;
  width?: number;
}

/**
 * The embedded default transport (no SLACK_BOT_TOKEN): every message Slack would get is printed to the terminal,
 * channel and thread included, so a newcomer sees the same flow Slack users see.
 */
export function createConsoleTransport(options: ConsoleTransportOptions = {}): Transport {
  const write = options.write ?? ((t: string) => process.stdout.write(t));
  const render = (m: Message) =>
    renderConsole(m, { color: options.color ?? false, width: options.width ?? 100 });
  let seq = 0;
  const nextTs = () => {
    seq += 1;
    return `${Math.floor(Date.now() / 1000)}.${String(seq).padStart(6, '0')}`;
  };
  return {
    name: 'console',
    async post(target, message) {
      const ts = nextTs();
      const where = target.threadTs ? `${target.channel} (thread ${target.threadTs})` : target.channel;
      write(`\n── to ${where} · ${ts}\n${render(message)}\n`);
      return { channel: target.channel, ts };
    },
    async update(ref: PostedRef, message) {
      write(`\n── updated ${ref.channel} · ${ref.ts}\n${render(message)}\n`);
    },
    async postEphemeral(target, message) {
      write(`\n── only ${target.user} sees this, in ${target.channel}\n${render(message)}\n`);
    },
    async uploadFile(target, file) {
      write(`\n── file for ${target.channel}: ${file.title} → ${file.path}\n`);
    },
  };
}
