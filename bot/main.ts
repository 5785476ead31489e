// Entry point of `npm start`: parse the environment once, start the bot, stop gracefully on signals.
import { randomUUID } from 'node:crypto';
import { createScrubber, formatUserError, isArbiterError, parseEnv, secretValues } from '../config/index.ts';
import { startConsolePrompt } from './console-prompt.ts';
import { startBot } from './start.ts';

function fail(err: unknown, scrub: (s: string) => string = (s) => s): never {
  if (isArbiterError(err)) {
    process.stderr.write(`${scrub(formatUserError(err))}\n`);
    process.exit(err.exitCode);
  }
  const ref = randomUUID().slice(0, 8);
  process.stderr.write(`Arbiter stopped on an unexpected error (reference ${ref}).\n`);
  process.stderr.write(`${scrub(err instanceof Error ? (err.stack ?? err.message) : String(err))}\n`);
  process.exit(3);
}

let env: ReturnType<typeof parseEnv>;
try {
  env = parseEnv(process.env);
} catch (err) {
  fail(err);
}
const scrub = createScrubber(secretValues(env));

try {
  const bot = await startBot(env, { environment: process.env });
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      bot.logger.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    bot.logger.info(`${signal} received`);
    bot.stop().then(
      () => process.exit(0),
      (err: unknown) => fail(err, scrub),
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // The embedded default: on a terminal, offer the same commands Slack users type.
  if (!env.SLACK_BOT_TOKEN && process.stdin.isTTY) {
    const prompt = startConsolePrompt({
      submit: (text) => bot.submitCommand(text),
      ...(bot.clickButton ? { click: bot.clickButton } : {}),
      input: process.stdin,
      output: process.stdout,
      command: env.SLACK_COMMAND,
      onInterrupt: () => onSignal('SIGINT'),
      onClose: () => onSignal('SIGTERM'),
    });
    // Reports arriving while someone types are printed above the prompt, which is then drawn again.
    bot.console?.redirect((text) => prompt.print(text));
  }
} catch (err) {
  fail(err, scrub);
}
