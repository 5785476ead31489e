// The console prompt of the embedded default: on a terminal, `npm start` accepts the same `/arbiter …` words a
// Slack user types, runs them through the same commands/ dispatcher and job, and prints what Slack would show.
import { createInterface, type Interface } from 'node:readline';
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
  /** Ctrl-D or `exit`. */
  onClose?: () => void;
  command?: string;
}

/** Starts the prompt; call only when process.stdin.isTTY (tests pass streams). */
export function startConsolePrompt(options: ConsolePromptOptions): Interface {
  const command = options.command ?? '/arbiter';
  const rl = createInterface({ input: options.input, output: options.output, prompt: 'arbiter> ' });
  options.output.write(
    `\nType ${command} help (or just: help) to see the commands, e.g. ${command} run examples/suites/quickstart.yaml\n${options.click ? 'Buttons show as [n] Label: type click <n> to press one.\n' : ''}`,
  );
  rl.prompt();
  rl.on('line', (line) => {
    const text = line.trim();
    if (text === 'exit' || text === 'quit') {
      rl.close();
      return;
    }
    if (text === '') {
      rl.prompt();
      return;
    }
    const click = /^click\s+\[?(\d+)\]?$/i.exec(text);
    if (click) {
      const n = Number(click[1]);
      if (!options.click) {
        options.output.write('Buttons cannot be clicked in this console.\n');
        rl.prompt();
        return;
      }
      options.click(n).then(
        (outcome) => {
          if (!outcome.ok) options.output.write(`${outcome.reason}\n`);
          setTimeout(() => rl.prompt(), 300);
        },
        (err: unknown) => {
          options.output.write(`Could not click: ${err instanceof Error ? err.message : String(err)}\n`);
          rl.prompt();
        },
      );
      return;
    }
    options.submit(text).then(
      // The answer arrives from the worker a moment later; show the prompt again after it.
      () => setTimeout(() => rl.prompt(), 300),
      (err: unknown) => {
        options.output.write(
          `Could not queue the command: ${err instanceof Error ? err.message : String(err)}\n`,
        );
        rl.prompt();
      },
    );
  });
  if (options.onInterrupt) rl.on('SIGINT', options.onInterrupt);
  rl.on('close', () => options.onClose?.());
  return rl;
}
