// The console prompt of the embedded default: on a terminal, `npm start` accepts the same `/arbiter …` words a
// Slack user types, runs them through the same commands/ dispatcher and job, and prints what Slack would show.
import { clearLine, createInterface, cursorTo, type Interface } from 'node:readline';
import type { Ids } from '../config/index.ts';
import type { ActionHandler } from '../chat/index.ts';
import type { RolePolicy } from '../chat/index.ts';
import type { JobQueue } from '../storage/index.ts';
import { checkAction, enqueueAction } from './action-jobs.ts';
import type { ConsoleTransport } from './console-transport.ts';

/** What a console click led to: queued as a job, answered at once (refused, unknown), or no such button. */
export type ClickOutcome = { ok: true; jobId?: string } | { ok: false; reason: string };

/** What the console clicker needs: the same handlers, roles and job queue as Slack clicks. */
export interface ConsoleClickerDeps {
  transport: ConsoleTransport;
  queue: JobQueue;
  actions: () => readonly ActionHandler[];
  roles: RolePolicy;
  ids: Ids;
  /** Wakes the worker after an enqueue. */
  onEnqueued: () => void;
  /** Who clicks (default `console`). */
  user?: string;
}

/**
 * Presses the console button printed as `[n]`: the same checks as a Slack click (unknown button, role), then the
 * same `chat.action` job, so the answer arrives through the transport exactly as in Slack.
 */
export function createConsoleClicker(deps: ConsoleClickerDeps): (n: number) => Promise<ClickOutcome> {
  const user = deps.user ?? 'console';
  return async (n) => {
    const button = deps.transport.button(n);
    if (!button)
      return { ok: false, reason: `No button [${n}] on screen (only recent buttons can be clicked).` };
    const refusal = checkAction(deps.actions(), deps.roles, { actionId: button.actionId, user });
    if (refusal) {
      await deps.transport.postEphemeral({ channel: button.channel, user }, refusal);
      return { ok: false, reason: refusal.title };
    }
    const key = `console:action:${deps.ids.newId('click')}`;
    const clickedAt = Date.now();
    const created = await enqueueAction(deps.queue, {
      actionId: button.actionId,
      value: button.value,
      user,
      channel: button.channel,
      key,
      clickedAt,
      via: 'console',
      ...(button.messageTs ? { messageTs: button.messageTs } : {}),
      ...(button.threadTs ? { threadTs: button.threadTs } : {}),
      ...(button.ephemeral ? { ephemeralSource: true } : {}),
    });
    if (created) deps.onEnqueued();
    return { ok: true };
  };
}

/** What the prompt needs. */
export interface ConsolePromptOptions {
  submit(text: string): Promise<unknown>;
  /** Presses the button printed as `[n]` (`click <n>`); without it the prompt says clicks are not wired. */
  click?(n: number): Promise<ClickOutcome>;
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  /** Ctrl-C at the prompt (readline swallows the signal otherwise). */
  onInterrupt?: () => void;
  /** Ctrl-D, or `exit` confirmed: stops the bot. */
  onClose?: () => void;
  command?: string;
  /** Line editing on a terminal (default: whether output is a TTY); tests turn it on over plain streams. */
  terminal?: boolean;
}

/** The prompt: readline, plus `print`, which shows a report without breaking the line being typed. */
export interface ConsolePrompt extends Interface {
  /** Prints text above the prompt, then redraws `arbiter>` and what the user had typed so far. */
  print(text: string): void;
}

const EXIT_EXPLAINED =
  '`exit` stops the Arbiter bot: the worker, the schedules and the HTTP server (unfinished jobs resume at the next start). Type exit again to stop it, or anything else to keep it running.\n';

/** Starts the prompt; call only when process.stdin.isTTY (tests pass streams). */
export function startConsolePrompt(options: ConsolePromptOptions): ConsolePrompt {
  const command = options.command ?? '/arbiter';
  const output = options.output;
  const rl = createInterface({
    input: options.input,
    output,
    prompt: 'arbiter> ',
    ...(options.terminal !== undefined ? { terminal: options.terminal } : {}),
  });
  let closed = false;
  let exitAsked = false;
  const print = (text: string) => {
    if (closed) {
      output.write(text);
      return;
    }
    // Clear the half-typed line, print above it, then draw the prompt and the typed text again.
    clearLine(output, 0);
    cursorTo(output, 0);
    output.write(text.endsWith('\n') ? text : `${text}\n`);
    rl.prompt(true);
  };
  output.write(
    `\nType ${command} help (or just: help) to see the commands, e.g. ${command} run quickstart\n${options.click ? 'Buttons show as [n] Label: type click <n> to press one.\n' : ''}Type exit to stop the bot.\n`,
  );
  rl.prompt();
  rl.on('line', (line) => {
    const text = line.trim();
    const wasAsked = exitAsked;
    exitAsked = false;
    if (text === 'exit' || text === 'quit') {
      if (wasAsked) {
        output.write('Stopping the bot…\n');
        rl.close();
        return;
      }
      exitAsked = true;
      output.write(EXIT_EXPLAINED);
      rl.prompt();
      return;
    }
    if (wasAsked) output.write('The bot keeps running.\n');
    if (text === '') {
      rl.prompt();
      return;
    }
    const click = /^click\s+\[?(\d+)\]?$/i.exec(text);
    if (click) {
      const n = Number(click[1]);
      if (!options.click) {
        output.write('Buttons cannot be clicked in this console.\n');
        rl.prompt();
        return;
      }
      options.click(n).then(
        (outcome) => {
          if (!outcome.ok) print(`${outcome.reason}\n`);
          else rl.prompt(true);
        },
        (err: unknown) => print(`Could not click: ${err instanceof Error ? err.message : String(err)}\n`),
      );
      return;
    }
    options.submit(text).then(
      // The answer arrives from the worker a moment later, through print, which redraws the prompt.
      () => rl.prompt(true),
      (err: unknown) =>
        print(`Could not queue the command: ${err instanceof Error ? err.message : String(err)}\n`),
    );
  });
  if (options.onInterrupt) rl.on('SIGINT', options.onInterrupt);
  rl.on('close', () => {
    closed = true;
    options.onClose?.();
  });
  return Object.assign(rl, { print });
}
