// CLI handlers read no argv: the command registry parses `arbiter <words>` once and hands them typed arguments.
// Tests that call a handler in-process (with their own store, clock or transport) get those arguments here; a usage
// mistake is written to stderr with exit code 2, as the `arbiter` front door writes it.
import { usageError } from '../../cli/run-cli.ts';
import { COMMANDS, parseWords } from '../../commands/index.ts';
import { formatUserError } from '../../config/index.ts';

/** Parses `arbiter <words>` with the registry and runs `handler` with the typed arguments (`name` is the command id). */
export async function viaRegistry<A>(
  words: readonly string[],
  io: { stderr(text: string): void },
  handler: (args: A) => Promise<number> | number,
): Promise<number> {
  const parsed = parseWords(COMMANDS, words, 'cli');
  if (!parsed.ok) {
    io.stderr(`${formatUserError(usageError(parsed))}\n`);
    return 2;
  }
  return handler(parsed.args as A);
}
