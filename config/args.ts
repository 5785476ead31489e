// The one tokenizer and the one flag parser of every front door: Slack's `/arbiter …` text, the console prompt and
// the `arbiter` CLI's argv. A mistake is an ArbiterError('USAGE') naming the flag and the closest known one, never
// Node's raw parseArgs text.
import { ArbiterError } from './errors.ts';
import { closestName } from './suggest.ts';

/** Splits on whitespace, keeping "double" or 'single' quoted words together; Slack's smart quotes count too. */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|“([^”]*)”|‘([^’]*)’|(\S+)/g;
  for (const m of text.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3] ?? m[4] ?? m[5] ?? '');
  return out;
}

/** One flag a command accepts: a switch (`--dm`) or a flag with a value (`--limit 5`, `--limit=5`). */
export interface FlagOption {
  type: 'boolean' | 'string';
  /** A one-letter form (`-h`). */
  short?: string;
  /** Said when the flag is refused in this front door (e.g. `--json` outside the CLI). */
  refused?: string;
}

/** What parseFlags accepts: flags by name (without `--`) and whether bare words are allowed. */
export interface FlagSpec {
  options: Record<string, FlagOption>;
  allowPositionals?: boolean;
  /** Prefix for messages, e.g. `run` gives "run: unknown option --fast." */
  command?: string;
  /** The usage line shown with a mistake. */
  usage?: string;
}

/** Flags found (strings, or true for switches; a repeated flag keeps its last value) and the bare words in order. */
export interface ParsedFlags {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

function usageError(spec: FlagSpec, message: string): ArbiterError {
  return new ArbiterError('USAGE', message, spec.usage ? { hint: `Usage: ${spec.usage}` } : {});
}

/**
 * Parses words into flags and positionals. `--` ends the flags; `--flag=value` and `--flag value` both work; a
 * value that looks like a flag is refused (it is a forgotten value). Unknown flags get a did-you-mean.
 */
export function parseFlags(words: readonly string[], spec: FlagSpec): ParsedFlags {
  const values: ParsedFlags['values'] = {};
  const positionals: string[] = [];
  const names = Object.keys(spec.options);
  // "run: unknown option --fast." in chat; "Unknown option --fast." where the command is evident (the CLI).
  const say = (text: string) =>
    spec.command ? `${spec.command}: ${text}` : `${text[0]!.toUpperCase()}${text.slice(1)}`;
  let onlyPositionals = false;
  for (let i = 0; i < words.length; i++) {
    const w = words[i] ?? '';
    const isFlag = !onlyPositionals && w.length > 1 && w.startsWith('-') && !/^-\d/.test(w);
    if (!isFlag) {
      if (!spec.allowPositionals) throw usageError(spec, say(`unexpected argument ${w}.`));
      positionals.push(w);
      continue;
    }
    if (w === '--') {
      onlyPositionals = true;
      continue;
    }
    let name: string;
    let inline: string | undefined;
    if (w.startsWith('--')) {
      const eq = w.indexOf('=');
      name = eq < 0 ? w.slice(2) : w.slice(2, eq);
      inline = eq < 0 ? undefined : w.slice(eq + 1);
    } else {
      const short = w.slice(1);
      const found = names.find((n) => spec.options[n]?.short === short);
      if (!found) throw usageError(spec, say(`unknown option ${w}.`));
      name = found;
    }
    const option = spec.options[name];
    if (!option) {
      const guess = closestName(name, names);
      throw usageError(
        spec,
        say(
          `unknown option --${name}.${guess ? ` Did you mean --${guess}?` : names.length ? '' : ' It takes no options.'}`,
        ),
      );
    }
    if (option.refused) throw usageError(spec, say(`--${name} ${option.refused}`));
    if (option.type === 'boolean') {
      if (inline !== undefined) throw usageError(spec, say(`--${name} takes no value.`));
      values[name] = true;
      continue;
    }
    const value = inline ?? words[i + 1];
    if (inline === undefined) i += 1;
    if (value === undefined || value === '' || (inline === undefined && /^--?[A-Za-z]/.test(value)))
      throw usageError(spec, say(`--${name} needs a value.`));
    values[name] = value;
  }
  return { values, positionals };
}

/** `maxErrors` → `max-errors`: how a schema key is typed as a flag. */
export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
