import type { Message, MessageButton } from '../chat/index.ts';
import { scrubSecrets } from '../config/index.ts';
import type { PostedRef, Transport } from '../chat/index.ts';
import { renderConsole } from './render-console.ts';

/** Options of the console transport. */
export interface ConsoleTransportOptions {
  write?: (text: string) => void;
  color?: boolean;
  width?: number;
  /** How many recent buttons stay clickable (default 100). */
  keepButtons?: number;
}

/** A button the console printed with a number, and where its message lives (what a Slack click would carry). */
export interface ConsoleButton {
  n: number;
  text: string;
  actionId: string;
  value: string;
  channel: string;
  /** Absent for ephemeral messages (they cannot be replaced). */
  messageTs?: string;
  threadTs?: string;
  ephemeral?: boolean;
}

/** The console transport, which also remembers the buttons it printed so `click <n>` can press them. */
export interface ConsoleTransport extends Transport {
  readonly name: 'console';
  /** The button printed as `[n]`, if it is still recent. */
  button(n: number): ConsoleButton | undefined;
  /** Sends what it prints through `write` from now on (the prompt's `print`, which redraws the typed line). */
  redirect(write: (text: string) => void): void;
}

/** Whether a transport is the console transport (it has clickable buttons). */
export function isConsoleTransport(t: Transport): t is ConsoleTransport {
  return t.name === 'console' && typeof (t as Partial<ConsoleTransport>).button === 'function';
}

/**
 * The embedded default transport (no SLACK_BOT_TOKEN): every message Slack would get is printed to the terminal,
 * channel and thread included, so a newcomer sees the same flow Slack users see. Buttons are numbered across the
 * session (`[3] A is better`) so the prompt's `click 3` reaches the same action handlers a Slack click does.
 */
export function createConsoleTransport(options: ConsoleTransportOptions = {}): ConsoleTransport {
  let out = options.write ?? ((t: string) => process.stdout.write(t));
  // What Slack would get is scrubbed of known secrets; so is what the terminal gets.
  const write = (t: string) => out(scrubSecrets(t));
  const keep = options.keepButtons ?? 100;
  const buttons = new Map<number, ConsoleButton>();
  // The same button of the same message keeps its number when the message is printed again (an update, a
  // redraw): `click 2` means what the screen said, however often it was redrawn.
  const numberOf = new Map<string, number>();
  let lastButton = 0;
  const render = (m: Message, where: Omit<ConsoleButton, 'n' | 'text' | 'actionId' | 'value'>) =>
    renderConsole(m, {
      color: options.color ?? false,
      width: options.width ?? 100,
      buttonNumber: (b: MessageButton) => {
        const key = `${where.channel}\u0000${where.messageTs ?? 'ephemeral'}\u0000${b.actionId}\u0000${b.value}`;
        const known = numberOf.get(key);
        const n = known !== undefined && buttons.has(known) ? known : ++lastButton;
        numberOf.set(key, n);
        buttons.set(n, { n, text: b.text, actionId: b.actionId, value: b.value, ...where });
        if (n === lastButton) {
          const old = buttons.get(lastButton - keep);
          buttons.delete(lastButton - keep);
          if (old)
            numberOf.delete(
              `${old.channel}\u0000${old.messageTs ?? 'ephemeral'}\u0000${old.actionId}\u0000${old.value}`,
            );
        }
        return n;
      },
    });
  let seq = 0;
  const nextTs = () => {
    seq += 1;
    return `${Math.floor(Date.now() / 1000)}.${String(seq).padStart(6, '0')}`;
  };
  return {
    name: 'console',
    button: (n) => buttons.get(n),
    redirect(write) {
      out = write;
    },
    async post(target, message) {
      const ts = nextTs();
      const where = target.threadTs ? `${target.channel} (thread ${target.threadTs})` : target.channel;
      const text = render(message, {
        channel: target.channel,
        messageTs: ts,
        ...(target.threadTs ? { threadTs: target.threadTs } : {}),
      });
      write(`\n── to ${where} · ${ts}\n${text}\n`);
      return { channel: target.channel, ts };
    },
    async update(ref: PostedRef, message) {
      write(
        `\n── updated ${ref.channel} · ${ref.ts}\n${render(message, { channel: ref.channel, messageTs: ref.ts })}\n`,
      );
    },
    async postEphemeral(target, message) {
      const text = render(message, { channel: target.channel, ephemeral: true });
      write(`\n── only ${target.user} sees this, in ${target.channel}\n${text}\n`);
    },
    async uploadFile(target, file) {
      const where = target.threadTs ? `${target.channel} (thread ${target.threadTs})` : target.channel;
      write(`\n── file for ${where}: ${file.title}\n   chart saved: ${file.path}\n`);
    },
  };
}
