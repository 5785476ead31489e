// The chat front door's parser: the words after `/arbiter` (Slack) or typed at the console prompt, through the one
// tokenizer, the one flag parser and each command's schema in the registry. Bad input becomes a usage problem
// (what was wrong, a did-you-mean, the relevant usage line), never a throw.
import type { Role } from '../chat/index.ts';
import { tokenize } from '../config/index.ts';
import { parseWords } from './registry.ts';
import { type Command, chatHelp, COMMANDS } from './table.ts';

export { tokenize } from '../config/index.ts';
export type { Command } from './table.ts';

/** Usage text of chat (Slack and the console): every command, generated from the registry. */
export const COMMAND_USAGE = chatHelp();

/** Result of parsing: a command, or a usage error with the relevant usage lines (`usage` is the whole help). */
export type ParseResult =
  | { ok: true; command: Command }
  | { ok: false; error: string; lines: string[]; usage: string };

/** Parses command text such as `run quickstart --limit 5`; a leading `/arbiter` (any slash word) is ignored. */
export function parseCommand(text: string): ParseResult {
  const words = tokenize(text.trim());
  if (words[0]?.startsWith('/')) words.shift();
  if (words.length === 0) words.push('help');
  const parsed = parseWords(COMMANDS, words, 'chat');
  if (!parsed.ok) return { ok: false, error: parsed.error, lines: parsed.usage, usage: COMMAND_USAGE };
  return { ok: true, command: parsed.args as Command };
}

/** The role a command needs, from its registry entry: launching is for admins, reading for everyone. */
export function requiredRole(command: Command): Role {
  const role = COMMANDS[command.name].role as Role | ((args: unknown) => Role);
  return typeof role === 'function' ? role(command) : role;
}
