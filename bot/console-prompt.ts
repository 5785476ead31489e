// The console prompt of the embedded default: on a terminal, `npm start` accepts the same `/arbiter …` words a
// Slack user types, runs them through the same commands/ dispatcher and job, and prints what Slack would show.
import { createInterface, type Interface } from 'node:readline';

/** What the prompt needs. */
export interface ConsolePromptOptions {
  submit(text: string): Promise<unknown>;
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
    `\nType ${command} help (or just: help) to see the commands, e.g. ${command} run examples/suites/quickstart.yaml\n`,
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
