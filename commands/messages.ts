// The chat front door's one error handler and its short notes: a usage mistake is one message (what was wrong, a
// did-you-mean, the one usage line); a coded error is its message and hint; anything else is a reference id.
import { escapeMrkdwn, type Message } from '../chat/index.ts';
import { isCodedError } from '../config/index.ts';

/** A short ephemeral note; `text` is plain (echoed input, error text): escaped once here, backticks still format. */
export function notice(title: string, text: string, extra: Message['sections'] = []): Message {
  return {
    title,
    summary: text,
    sections: [{ kind: 'text', text: escapeMrkdwn(text) }, ...extra],
    ephemeral: true,
  };
}

/** `items` as one context section beneath a message, or no section when there are none. */
export function contextSection(items: readonly string[]): Message['sections'] {
  return items.length ? [{ kind: 'context', items: [...items] }] : [];
}

/**
 * The answer to a usage mistake: titled by what went wrong (never "unknown command" for a known one), the error
 * with its did-you-mean, and only the relevant usage lines (none for an unknown command: it lists the commands).
 */
export function usageMessage(error: string, usage: readonly string[] = []): Message {
  const unknown = /^Unknown command /.test(error);
  return notice(
    unknown ? 'Arbiter: unknown command' : 'Arbiter: check the command',
    error,
    usage.length
      ? [{ kind: 'code', text: usage.join('\n') }]
      : [{ kind: 'context', items: ['`help` lists every command.'] }],
  );
}

/** Our errors whose message is written for the person who typed the command (the rest may carry internals). */
const TOLD_TO_USERS = new Set([
  'CONFIG_INVALID',
  'YAML_INVALID',
  'USAGE',
  'NOT_FOUND',
  'STORE_UNAVAILABLE',
  'STORE_LOCKED',
  // Other modules' codes whose messages we write ourselves (a model name, a missing key, Langfuse refusing the keys).
  'LLM_NO_KEY',
  'LLM_UNKNOWN_PROVIDER',
  'LANGFUSE_UNAUTHORIZED',
]);

/**
 * An error as an ephemeral message: our own errors meant for users say what and why; anything else (a stored
 * document failing its schema, a bug) only a reference id, never a stack trace or a validation library's text.
 */
export function errorMessage(err: unknown, ref: string): Message {
  if (isCodedError(err) && TOLD_TO_USERS.has(err.code))
    return notice('Arbiter could not do that', `${err.message}${err.hint ? `\n${err.hint}` : ''}`, [
      { kind: 'context', items: [`Reference ${ref}`] },
    ]);
  return notice(
    'Arbiter hit an error',
    `Something went wrong. Reference ${ref} (it appears in the bot's logs).`,
  );
}
